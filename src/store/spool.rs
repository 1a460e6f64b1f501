//! The write spool: an append-only, fsynced file in the data directory that holds batches the
//! database could not take in time, so a `submission_id` already answered stays a promise.
//!
//! Format: one batch per line, a JSON array of [`Submission`]s. A line is acknowledged only
//! after `fsync` returns; a failed append is cut off again, so a partial line can only be the
//! last one, left by a crash before the acknowledgement, and is dropped on replay.
//!
//! Replay never races appends: [`Spool::take`] renames the pending file to `replaying.jsonl`
//! under the append lock and opens a fresh pending file; the replayer deletes `replaying.jsonl`
//! only after the database committed every batch in it. A crash in between replays it again,
//! which the idempotent insert (`on conflict do nothing`) turns into exactly once.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::Submission;

const PENDING: &str = "pending.jsonl";
const REPLAYING: &str = "replaying.jsonl";
/// Batches the database refused as data (not for being away); kept for a person to look at.
const REJECTED: &str = "rejected.jsonl";

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("spool I/O on {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot encode a spooled batch")]
    Encode(#[source] serde_json::Error),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SpoolError + '_ {
    move |source| SpoolError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The spool folder: the pending file batches are appended to, and the file being replayed.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    pending: Mutex<File>,
}

/// Batches read back from a spool file, and what could not be read.
#[derive(Debug, Default, PartialEq)]
pub struct Replay {
    pub batches: Vec<Vec<Submission>>,
    /// Lines that were not a batch (a torn tail from a crash, or damage), skipped.
    pub skipped_lines: usize,
}

impl Replay {
    pub fn rows(&self) -> usize {
        self.batches.iter().map(Vec::len).sum()
    }
}

impl Spool {
    /// Opens (creating) the spool folder `dir`.
    pub fn open(dir: &Path) -> Result<Self, SpoolError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let path = dir.join(PENDING);
        let file = open_append(&path)?;
        sync_dir(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
            pending: Mutex::new(file),
        })
    }

    /// Appends one batch as one line and waits until it is on disk.
    pub fn append(&self, batch: &[Submission]) -> Result<(), SpoolError> {
        let mut line = serde_json::to_vec(batch).map_err(SpoolError::Encode)?;
        line.push(b'\n');
        let path = self.dir.join(PENDING);
        let mut file = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let before = file.metadata().map_err(io(&path))?.len();
        let written = file.write_all(&line).and_then(|()| file.sync_data());
        if let Err(source) = written {
            // Cut a partial line off again so the next batch does not get glued to it. If even
            // that fails, a later replay skips the damaged line; this batch is reported failed.
            let _ = file.set_len(before);
            return Err(SpoolError::Io { path, source });
        }
        Ok(())
    }

    /// Moves the pending batches aside for replay and returns them, or the batches of an
    /// earlier replay that did not finish. `None` when there is nothing to replay.
    pub fn take(&self) -> Result<Option<Replay>, SpoolError> {
        let replaying = self.dir.join(REPLAYING);
        if !replaying.exists() {
            let pending = self.dir.join(PENDING);
            let mut file = self
                .pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if file.metadata().map_err(io(&pending))?.len() == 0 {
                return Ok(None);
            }
            std::fs::rename(&pending, &replaying).map_err(io(&replaying))?;
            *file = open_append(&pending)?;
            sync_dir(&self.dir)?;
        }
        read_batches(&replaying).map(Some)
    }

    /// Forgets the batches handed out by [`take`](Self::take): call only after they committed.
    pub fn finish(&self) -> Result<(), SpoolError> {
        let replaying = self.dir.join(REPLAYING);
        std::fs::remove_file(&replaying).map_err(io(&replaying))?;
        sync_dir(&self.dir)
    }

    /// Sets aside a batch the database refused as data, so it no longer blocks the replay.
    pub fn reject(&self, batch: &[Submission]) -> Result<PathBuf, SpoolError> {
        let path = self.dir.join(REJECTED);
        let mut line = serde_json::to_vec(batch).map_err(SpoolError::Encode)?;
        line.push(b'\n');
        let mut file = open_append(&path)?;
        file.write_all(&line)
            .and_then(|()| file.sync_data())
            .map_err(io(&path))?;
        Ok(path)
    }

    /// Rows waiting in the spool (pending and being replayed), read from disk.
    pub fn backlog(&self) -> Result<u64, SpoolError> {
        let _guard = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut rows = 0;
        for name in [PENDING, REPLAYING] {
            let path = self.dir.join(name);
            if path.exists() {
                rows += read_batches(&path)?.rows() as u64;
            }
        }
        Ok(rows)
    }

    /// Whether nothing waits for replay. Holding the append lock while asking lets the caller
    /// switch back to direct writes without a batch slipping in between.
    pub fn is_empty_then(&self, then: impl FnOnce(bool)) -> Result<(), SpoolError> {
        let file = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let pending = self.dir.join(PENDING);
        let empty = file.metadata().map_err(io(&pending))?.len() == 0 && !self.dir.join(REPLAYING).exists();
        then(empty);
        Ok(())
    }
}

fn open_append(path: &Path) -> Result<File, SpoolError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io(path))
}

/// Makes a created, renamed or removed file's directory entry durable too.
fn sync_dir(dir: &Path) -> Result<(), SpoolError> {
    #[cfg(unix)]
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Reads every complete batch of a spool file; undecodable lines are counted and skipped.
pub fn read_batches(path: &Path) -> Result<Replay, SpoolError> {
    let file = File::open(path).map_err(io(path))?;
    let mut replay = Replay::default();
    for line in BufReader::new(file).split(b'\n') {
        let line = line.map_err(io(path))?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Vec<Submission>>(&line) {
            Ok(batch) => replay.batches.push(batch),
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "skipping an unreadable spool line");
                replay.skipped_lines += 1;
            }
        }
    }
    Ok(replay)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(id: &str) -> Submission {
        Submission {
            submission_id: id.into(),
            run_id: Some("run".into()),
            item_id: Some("i".into()),
            policy: "r1".into(),
            policy_version: "r1@0000".into(),
            kind: "math".into(),
            task: json!({"kind": "math", "answer": "1/2"}),
            prompt: None,
            completion: "<think>x</think> \\boxed{\\frac12}\n\"quoted\"".into(),
            extracted: Some("\\frac12".into()),
            verdict: "correct".into(),
            format_ok: true,
            reward: 2.0,
            components: json!({"accuracy": 1.0, "format": 1.0}),
            details: json!({"gold": "1/2"}),
            elapsed_ms: 0.25,
            service_version: "0.1.0".into(),
            created_at: super::super::now_ms(),
            entry: None,
            group_id: None,
            truncated: false,
            completion_tokens: None,
        }
    }

    #[test]
    fn appended_batches_come_back_whole_and_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        spool.append(&[row("a"), row("b")]).unwrap();
        spool.append(&[row("c")]).unwrap();
        assert_eq!(spool.backlog().unwrap(), 3);

        let replay = spool.take().unwrap().unwrap();
        let ids: Vec<Vec<&str>> = replay
            .batches
            .iter()
            .map(|b| b.iter().map(|s| s.submission_id.as_str()).collect())
            .collect();
        assert_eq!(ids, vec![vec!["a", "b"], vec!["c"]]);
        let expected = row("a");
        let got = &replay.batches[0][0];
        assert_eq!(
            (&got.completion, &got.task, got.reward),
            (&expected.completion, &expected.task, expected.reward)
        );
        assert_eq!(replay.skipped_lines, 0);
    }

    #[test]
    fn appends_during_a_replay_wait_for_the_next_one() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        spool.append(&[row("a")]).unwrap();
        let first = spool.take().unwrap().unwrap();
        spool.append(&[row("b")]).unwrap();
        assert_eq!(first.rows(), 1);
        assert_eq!(spool.backlog().unwrap(), 2);

        // Until finished, the same batches are handed out again (the replay did not commit).
        assert_eq!(spool.take().unwrap().unwrap(), first);
        spool.finish().unwrap();
        let second = spool.take().unwrap().unwrap();
        assert_eq!(second.batches[0][0].submission_id, "b");
        spool.finish().unwrap();
        assert!(spool.take().unwrap().is_none());
        assert_eq!(spool.backlog().unwrap(), 0);
    }

    #[test]
    fn a_torn_last_line_is_skipped_and_the_rest_replays() {
        let dir = tempfile::tempdir().unwrap();
        {
            let spool = Spool::open(dir.path()).unwrap();
            spool.append(&[row("a")]).unwrap();
        }
        // A crash mid-append leaves half a line without its newline.
        let mut file = OpenOptions::new()
            .append(true)
            .open(dir.path().join(PENDING))
            .unwrap();
        file.write_all(br#"[{"submission_id":"b","run"#).unwrap();
        drop(file);

        let spool = Spool::open(dir.path()).unwrap();
        let replay = spool.take().unwrap().unwrap();
        assert_eq!(replay.rows(), 1);
        assert_eq!(replay.skipped_lines, 1);
    }

    #[test]
    fn the_spool_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        Spool::open(dir.path()).unwrap().append(&[row("a")]).unwrap();
        let reopened = Spool::open(dir.path()).unwrap();
        assert_eq!(reopened.backlog().unwrap(), 1);
        let _ = reopened.take().unwrap().unwrap();
        // Restart in the middle of a replay: the file being replayed is found again.
        let again = Spool::open(dir.path()).unwrap();
        assert_eq!(again.take().unwrap().unwrap().rows(), 1);
    }
}
