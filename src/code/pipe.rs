//! A capped in-memory output pipe for a guest's stdout or stderr.
//!
//! wasmtime-wasi's `MemoryOutputPipe` caps its buffer too, but cannot say whether a write was
//! refused without copying the buffer. This pipe keeps at most `limit` bytes, and the first
//! write that does not fit sets a flag: the guest sees an I/O error from then on, the epoch
//! callback stops the run at its next tick (QuickJS ignores write errors and would otherwise
//! print until its time limit), and the run's status is `output_limit_exceeded`.
//!
//! An assert-based test is a conversation between two instances (`judged.rs`): the host
//! watches each one's stdout as it grows ([`CappedPipe::changed`]) and answers through the
//! other's stdin, a [`FeedPipe`] it writes to without ever waiting, so a guest that stops
//! reading can never block the task that also drives both guests and their deadlines.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::sync::Notify;
use wasmtime_wasi::cli::{IsTerminal, StdinStream, StdoutStream};
use wasmtime_wasi::p2::{InputStream, OutputStream, Pollable, StreamError, StreamResult};

#[derive(Clone)]
pub(super) struct CappedPipe {
    shared: Arc<Shared>,
}

struct Shared {
    bytes: Mutex<Vec<u8>>,
    limit: usize,
    overflowed: AtomicBool,
    /// Woken on every write, so a host watching the output need not poll.
    written: Notify,
}

impl CappedPipe {
    pub(super) fn new(limit: usize) -> Self {
        let shared = Shared {
            bytes: Mutex::new(Vec::new()),
            limit,
            overflowed: AtomicBool::new(false),
            written: Notify::new(),
        };
        CappedPipe {
            shared: Arc::new(shared),
        }
    }

    /// Whether the guest tried to write past the limit.
    pub(super) fn overflowed(&self) -> bool {
        self.shared.overflowed.load(Ordering::Relaxed)
    }

    /// The bytes kept (at most the limit).
    pub(super) fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.lock())
    }

    /// A copy of what was written from `offset` on.
    pub(super) fn read_from(&self, offset: usize) -> Vec<u8> {
        self.lock().get(offset..).map(<[u8]>::to_vec).unwrap_or_default()
    }

    /// Resolves after the next write (at once if one happened since the last call).
    pub(super) async fn changed(&self) {
        self.shared.written.notified().await;
    }

    fn lock(&self) -> MutexGuard<'_, Vec<u8>> {
        // A poisoned lock only means another writer panicked mid-copy; the bytes are still
        // a prefix of the output.
        self.shared.bytes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends what fits; returns false when something had to be dropped.
    fn append(&self, data: &[u8]) -> bool {
        let fitted = self.append_locked(data);
        self.shared.written.notify_one();
        fitted
    }

    fn append_locked(&self, data: &[u8]) -> bool {
        let mut bytes = self.lock();
        let room = self.shared.limit.saturating_sub(bytes.len());
        if data.len() <= room {
            bytes.extend_from_slice(data);
            return true;
        }
        bytes.extend_from_slice(&data[..room]);
        self.shared.overflowed.store(true, Ordering::Relaxed);
        false
    }
}

fn limit_error() -> std::io::Error {
    std::io::Error::other("output limit exceeded")
}

impl OutputStream for CappedPipe {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        if self.append(&bytes) {
            Ok(())
        } else {
            Err(StreamError::LastOperationFailed(limit_error().into()))
        }
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    /// Permits everything that still fits plus one byte. The guest must see the whole write
    /// accepted or refused: the CPython runner's `sys.stdout` reports a partial write as
    /// complete, so a smaller permit silently lost the rest (measured: 70,000 bytes written,
    /// 65,536 kept, no overflow). The extra byte makes an oversized write overflow, and so be
    /// flagged, instead of being cut to the room left.
    fn check_write(&mut self) -> StreamResult<usize> {
        if self.overflowed() {
            return Err(StreamError::Closed);
        }
        let room = self.shared.limit.saturating_sub(self.lock().len());
        Ok(room.saturating_add(1))
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CappedPipe {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for CappedPipe {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Poll::Ready(if self.append(buf) {
            Ok(buf.len())
        } else {
            Err(limit_error())
        })
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl IsTerminal for CappedPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CappedPipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

/// A guest's stdin that the host feeds while the guest runs: writes never wait (the buffer is
/// bounded by what the other guest could print, itself capped), reads wait for data, and
/// closing gives the guest end-of-file once the buffer is drained.
#[derive(Clone, Default)]
pub(super) struct FeedPipe {
    shared: Arc<Mutex<Feed>>,
}

#[derive(Default)]
struct Feed {
    bytes: std::collections::VecDeque<u8>,
    closed: bool,
    reader: Option<std::task::Waker>,
}

impl FeedPipe {
    fn lock(&self) -> MutexGuard<'_, Feed> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends `data` for the guest to read; ignored once closed.
    pub(super) fn push(&self, data: &[u8]) {
        let mut feed = self.lock();
        if feed.closed {
            return;
        }
        feed.bytes.extend(data);
        if let Some(reader) = feed.reader.take() {
            reader.wake();
        }
    }

    /// No more data: the guest reads what is left, then end-of-file.
    pub(super) fn close(&self) {
        let mut feed = self.lock();
        feed.closed = true;
        if let Some(reader) = feed.reader.take() {
            reader.wake();
        }
    }
}

impl FeedPipe {
    /// Takes up to `size` bytes; empty when none are there yet; `None` once closed and drained.
    fn take_up_to(&self, size: usize) -> Option<Vec<u8>> {
        let mut feed = self.lock();
        if feed.bytes.is_empty() && feed.closed {
            return None;
        }
        let count = size.min(feed.bytes.len());
        Some(feed.bytes.drain(..count).collect())
    }
}

// The guest reads the feed directly (no reader task between them): a push wakes the very
// task that drives the guest, so a call crosses with no extra scheduling hop.
impl InputStream for FeedPipe {
    fn read(&mut self, size: usize) -> StreamResult<Bytes> {
        match self.take_up_to(size) {
            Some(bytes) => Ok(Bytes::from(bytes)),
            None => Err(StreamError::Closed),
        }
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for FeedPipe {
    async fn ready(&mut self) {
        std::future::poll_fn(|cx| {
            let mut feed = self.lock();
            if !feed.bytes.is_empty() || feed.closed {
                Poll::Ready(())
            } else {
                feed.reader = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await;
    }
}

impl IsTerminal for FeedPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdinStream for FeedPipe {
    fn p2_stream(&self) -> Box<dyn InputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncRead + Send + Sync> {
        Box::new(self.clone())
    }
}

impl tokio::io::AsyncRead for FeedPipe {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let mut feed = self.lock();
        if feed.bytes.is_empty() {
            if feed.closed {
                return Poll::Ready(Ok(()));
            }
            feed.reader = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let count = buf.remaining().min(feed.bytes.len());
        let (front, back) = feed.bytes.as_slices();
        let from_front = count.min(front.len());
        buf.put_slice(&front[..from_front]);
        buf.put_slice(&back[..count - from_front]);
        feed.bytes.drain(..count);
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_feed_gives_what_was_pushed_then_end_of_file_once_closed() {
        use tokio::io::AsyncReadExt;
        let feed = FeedPipe::default();
        feed.push(b"ab");
        let mut reader = feed.clone();
        let mut buf = [0u8; 8];
        assert_eq!(AsyncReadExt::read(&mut reader, &mut buf).await.unwrap(), 2);
        let pusher = feed.clone();
        let waiting = tokio::spawn(async move {
            let mut buf = [0u8; 8];
            AsyncReadExt::read(&mut reader, &mut buf)
                .await
                .map(|n| buf[..n].to_vec())
        });
        tokio::task::yield_now().await;
        pusher.push(b"cd");
        assert_eq!(waiting.await.unwrap().unwrap(), b"cd");
        feed.close();
        let mut reader = feed.clone();
        assert_eq!(AsyncReadExt::read(&mut reader, &mut buf).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn the_guest_side_reads_what_is_there_waits_when_empty_and_ends_once_closed() {
        let mut feed = FeedPipe::default();
        feed.push(b"abc");
        assert_eq!(&InputStream::read(&mut feed, 2).unwrap()[..], b"ab");
        assert_eq!(&InputStream::read(&mut feed, 8).unwrap()[..], b"c");
        // Nothing there yet: an empty read, not the end.
        assert!(InputStream::read(&mut feed, 8).unwrap().is_empty());
        let (mut waiting, pusher) = (feed.clone(), feed.clone());
        let ready = tokio::spawn(async move { waiting.ready().await });
        tokio::task::yield_now().await;
        pusher.push(b"d");
        ready.await.unwrap();
        feed.close();
        assert_eq!(&InputStream::read(&mut feed, 8).unwrap()[..], b"d");
        assert!(matches!(
            InputStream::read(&mut feed, 8),
            Err(StreamError::Closed)
        ));
    }

    #[tokio::test]
    async fn a_watcher_is_woken_by_a_write_and_reads_from_its_offset() {
        let pipe = CappedPipe::new(16);
        pipe.append(b"abc");
        pipe.changed().await;
        assert_eq!(pipe.read_from(1), b"bc");
        assert!(pipe.read_from(10).is_empty());
    }

    #[test]
    fn output_up_to_the_limit_is_kept_and_not_flagged() {
        let pipe = CappedPipe::new(4);
        assert!(pipe.append(b"ab") && pipe.append(b"cd"));
        assert!(!pipe.overflowed());
        assert_eq!(pipe.take(), b"abcd");
    }

    #[test]
    fn the_permit_covers_the_room_left_and_one_byte_more() {
        let mut pipe = CappedPipe::new(10);
        assert_eq!(pipe.check_write().unwrap(), 11);
        pipe.write(Bytes::from_static(b"abcd")).unwrap();
        assert_eq!(pipe.check_write().unwrap(), 7);
        assert!(pipe.write(Bytes::from_static(b"efghijk")).is_err());
        assert!(pipe.overflowed());
    }

    #[test]
    fn a_write_past_the_limit_keeps_the_prefix_and_closes_the_stream() {
        let mut pipe = CappedPipe::new(4);
        assert!(pipe.write(Bytes::from_static(b"abcdef")).is_err());
        assert!(pipe.overflowed());
        assert!(matches!(pipe.check_write(), Err(StreamError::Closed)));
        assert_eq!(pipe.take(), b"abcd");
    }
}
