//! Retried requests get the first attempt's results instead of being judged again.
//!
//! Trainers' clients give up on a slow request and send it again (OpenRLHF retries five times,
//! slime ten). Without this, every retry of a whole rollout starts the work over while the
//! abandoned attempts still hold the sandbox, so a request that timed out once never finishes.
//! Here the work of a keyed request runs in its own task, which outlives a client that hangs
//! up; a retry with the same key waits for that task (or reads its finished result) and gets
//! the same rewards and submission ids — each completion is stored once.
//!
//! The cache is per process and bounded (entries and age). Failures are not kept: a request
//! that failed (storage away, bad input) is judged again on retry.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::error::ApiError;

/// The header a client may send to name a request and its retries.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

/// Results kept per process; older keys are forgotten first.
const MAX_ENTRIES: usize = 1024;
/// How long a finished result is replayed: longer than any client's retry schedule.
const TIME_TO_LIVE: Duration = Duration::from_secs(30 * 60);

type SharedResult = Shared<BoxFuture<'static, Result<Arc<Value>, ApiError>>>;

/// Identifies a request: its route and either the client's key or a digest of the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReplayKey([u8; 32]);

impl ReplayKey {
    /// A key from the client's `Idempotency-Key`, scoped to the route and query.
    pub fn from_client_key(route: &str, query: &str, key: &str) -> Self {
        Self::digest(&[b"key", route.as_bytes(), query.as_bytes(), key.as_bytes()])
    }

    /// A key from the request itself: the same route, query and body bytes.
    pub fn from_body(route: &str, query: &str, body: &[u8]) -> Self {
        Self::digest(&[b"body", route.as_bytes(), query.as_bytes(), body])
    }

    fn digest(parts: &[&[u8]]) -> Self {
        let mut hasher = Sha256::new();
        for part in parts {
            // Length-prefixed, so no two different splits of the same bytes collide.
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
        Self(hasher.finalize().into())
    }
}

struct Entry {
    result: SharedResult,
    created: Instant,
}

/// The per-process table of keyed requests in flight or recently finished.
#[derive(Default)]
pub struct ReplayCache {
    inner: Mutex<Table>,
}

#[derive(Default)]
struct Table {
    entries: HashMap<ReplayKey, Entry>,
    order: VecDeque<ReplayKey>,
}

impl ReplayCache {
    /// Runs `work` once per key: the first request with a key spawns it; later requests with
    /// the same key, while it runs or after it succeeded, share its result.
    pub async fn run<F>(self: &Arc<Self>, key: ReplayKey, work: F) -> Result<Arc<Value>, ApiError>
    where
        F: Future<Output = Result<Value, ApiError>> + Send + 'static,
    {
        let shared = {
            let mut table = self.lock();
            table.expire(Instant::now());
            match table.entries.get(&key) {
                Some(entry) => entry.result.clone(),
                None => {
                    let handle = tokio::spawn(work);
                    let shared = async move {
                        match handle.await {
                            Ok(result) => result.map(Arc::new),
                            Err(error) => Err(ApiError::internal(&error)),
                        }
                    }
                    .boxed()
                    .shared();
                    table.insert(key, shared.clone());
                    shared
                }
            }
        };
        let result = shared.await;
        if result.is_err() {
            // A failure is not a result to replay: the next attempt judges again.
            self.lock().remove(&key);
        }
        result
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        // A panic while holding the lock leaves the table consistent (every step is one
        // map or queue operation), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Table {
    fn insert(&mut self, key: ReplayKey, result: SharedResult) {
        while self.entries.len() >= MAX_ENTRIES {
            match self.order.pop_front() {
                Some(oldest) => {
                    self.entries.remove(&oldest);
                }
                None => break,
            }
        }
        self.entries.insert(
            key,
            Entry {
                result,
                created: Instant::now(),
            },
        );
        self.order.push_back(key);
    }

    fn remove(&mut self, key: &ReplayKey) {
        self.entries.remove(key);
        self.order.retain(|queued| queued != key);
    }

    fn expire(&mut self, now: Instant) {
        while let Some(oldest) = self.order.front().copied() {
            match self.entries.get(&oldest) {
                Some(entry) if now.duration_since(entry.created) < TIME_TO_LIVE => break,
                _ => {
                    self.order.pop_front();
                    self.entries.remove(&oldest);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::http::StatusCode;

    use super::*;

    fn key(name: &str) -> ReplayKey {
        ReplayKey::from_client_key("/get_reward", "", name)
    }

    #[tokio::test]
    async fn a_retry_shares_the_first_result_and_the_work_runs_once() {
        let cache = Arc::new(ReplayCache::default());
        let runs = Arc::new(AtomicUsize::new(0));
        for _ in 0..3 {
            let runs = runs.clone();
            let result = cache
                .run(key("a"), async move {
                    Ok(Value::from(runs.fetch_add(1, Ordering::SeqCst)))
                })
                .await
                .unwrap();
            assert_eq!(*result, Value::from(0));
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn the_work_finishes_after_its_first_caller_hangs_up() {
        let cache = Arc::new(ReplayCache::default());
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let (started, has_started) = tokio::sync::oneshot::channel::<()>();
        let first = {
            let cache = cache.clone();
            tokio::spawn(async move {
                cache
                    .run(key("slow"), async move {
                        started.send(()).ok();
                        released.await.ok();
                        Ok(Value::from("done"))
                    })
                    .await
            })
        };
        has_started.await.unwrap();
        first.abort();
        release.send(()).unwrap();
        let again = cache
            .run(key("slow"), async { Ok(Value::from("judged twice")) })
            .await
            .unwrap();
        assert_eq!(*again, Value::from("done"));
    }

    #[tokio::test]
    async fn failures_are_not_replayed() {
        let cache = Arc::new(ReplayCache::default());
        let failed = cache
            .run(key("f"), async {
                Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable", "away"))
            })
            .await;
        assert!(failed.is_err());
        let retried = cache.run(key("f"), async { Ok(Value::from(1)) }).await.unwrap();
        assert_eq!(*retried, Value::from(1));
    }

    #[test]
    fn body_and_client_keys_differ_by_route_and_content() {
        assert_ne!(
            ReplayKey::from_body("/get_reward", "", b"{}"),
            ReplayKey::from_body("/v1/rewards", "", b"{}")
        );
        assert_ne!(
            ReplayKey::from_body("/get_reward", "run_id=a", b"{}"),
            ReplayKey::from_body("/get_reward", "run_id=b", b"{}")
        );
        assert_eq!(key("x"), key("x"));
        assert_ne!(key("x"), ReplayKey::from_body("/get_reward", "", b"x"));
    }
}
