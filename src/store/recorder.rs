//! The recorder keeps the promise of a `submission_id`: a batch is committed to the database
//! within a short bound, or else appended to the fsynced [`Spool`] before the response leaves;
//! a background task replays the spool once the database answers again.
//!
//! While anything waits in the spool, new batches go straight to the spool too instead of each
//! waiting out the bound on a database that is known to be away; the replayer probes it and
//! switches direct writes back on when the spool is empty. Inserts skip ids already stored, so
//! a batch that reached both the database (a commit that finished just after its deadline) and
//! the spool is stored once.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

use super::spool::{Spool, SpoolError};
use super::{Store, StoreError, Submission};

/// The longest wait between replay attempts while the database stays away.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(2);
/// The first wait after a failed replay.
const MIN_RETRY_DELAY: Duration = Duration::from_millis(100);
/// How often an idle replayer checks that it is still wanted.
const IDLE_CHECK: Duration = Duration::from_secs(1);
/// The longest a readiness probe waits for the database.
const PING_TIMEOUT: Duration = Duration::from_secs(1);

/// Where a batch was made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Database,
    Spooled,
}

/// What readiness reports about storage.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RecorderHealth {
    pub backend: &'static str,
    pub database_reachable: bool,
    /// Submissions acknowledged but still waiting in the spool for the database.
    pub spool_backlog: u64,
}

#[derive(Debug)]
pub struct Recorder {
    store: Store,
    spool: Arc<Spool>,
    bound: Duration,
    spooling: AtomicBool,
    backlog: AtomicU64,
    wake: Arc<Notify>,
}

impl Recorder {
    /// Opens the spool in `spool_dir`; what an earlier process left there is replayed first.
    /// `bound` is the longest a write waits for the database before spooling.
    pub fn open(store: Store, spool_dir: &Path, bound: Duration) -> Result<Arc<Self>, StoreError> {
        let spool = Spool::open(spool_dir)?;
        let backlog = spool.backlog()?;
        if backlog > 0 {
            tracing::info!(rows = backlog, "found spooled submissions; replaying them");
        }
        Ok(Arc::new(Self {
            store,
            spool: Arc::new(spool),
            bound,
            spooling: AtomicBool::new(backlog > 0),
            backlog: AtomicU64::new(backlog),
            wake: Arc::new(Notify::new()),
        }))
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The longest a write waits for the database.
    pub fn bound(&self) -> Duration {
        self.bound
    }

    /// Makes `rows` durable: in the database within the bound, else in the spool. An error
    /// means neither took them, so no id of the batch may be handed out.
    pub async fn record(&self, rows: Vec<Submission>) -> Result<Stored, StoreError> {
        if rows.is_empty() {
            return Ok(Stored::Database);
        }
        if !self.spooling.load(Ordering::Acquire) {
            match tokio::time::timeout(self.bound, self.store.insert_submissions(&rows)).await {
                Ok(Ok(_)) => return Ok(Stored::Database),
                Ok(Err(error)) => {
                    tracing::warn!(error = %chain(&error), "database write failed; spooling")
                }
                Err(_) => tracing::warn!(bound = ?self.bound, "database write too slow; spooling"),
            }
            self.spooling.store(true, Ordering::Release);
        }
        let count = rows.len() as u64;
        let spool = self.spool.clone();
        tokio::task::spawn_blocking(move || spool.append(&rows))
            .await
            .map_err(|error| SpoolError::Io {
                path: "spool".into(),
                source: std::io::Error::other(error),
            })??;
        self.backlog.fetch_add(count, Ordering::AcqRel);
        self.wake.notify_one();
        Ok(Stored::Spooled)
    }

    /// Submissions acknowledged but not yet in the database.
    pub fn backlog(&self) -> u64 {
        self.backlog.load(Ordering::Acquire)
    }

    pub async fn health(&self) -> RecorderHealth {
        let reachable = matches!(
            tokio::time::timeout(PING_TIMEOUT, self.store.ping()).await,
            Ok(Ok(()))
        );
        RecorderHealth {
            backend: self.store.backend(),
            database_reachable: reachable,
            spool_backlog: self.backlog(),
        }
    }

    /// Starts the replayer. It stops by itself once the recorder is dropped (server stopped);
    /// whatever is still spooled then is replayed by the next start.
    pub fn spawn_replayer(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(self);
        let wake = self.wake.clone();
        tokio::spawn(async move {
            let mut delay = MIN_RETRY_DELAY;
            loop {
                let pause = {
                    let Some(recorder) = weak.upgrade() else { return };
                    match recorder.replay_once().await {
                        Ok(true) => {
                            delay = MIN_RETRY_DELAY;
                            continue;
                        }
                        Ok(false) => IDLE_CHECK,
                        Err(error) => {
                            tracing::warn!(error = %chain(&error), retry_in = ?delay, "spool replay failed");
                            let pause = delay;
                            delay = (delay * 2).min(MAX_RETRY_DELAY);
                            pause
                        }
                    }
                };
                tokio::select! {
                    () = wake.notified() => {}
                    () = tokio::time::sleep(pause) => {}
                }
            }
        })
    }

    /// Moves what waits in the spool into the database, for at most `deadline`; at shutdown,
    /// so that a stopped replica leaves nothing behind when the database answers. Returns the
    /// backlog left (kept safely on disk for the next start).
    pub async fn flush(&self, deadline: Duration) -> u64 {
        let until = tokio::time::Instant::now() + deadline;
        while self.backlog() > 0 && tokio::time::Instant::now() < until {
            match tokio::time::timeout_at(until, self.replay_once()).await {
                Ok(Ok(true)) => {}
                Ok(Ok(false)) | Err(_) => break,
                Ok(Err(error)) => {
                    tracing::warn!(error = %chain(&error), "spool flush failed; retrying");
                    tokio::time::sleep(MIN_RETRY_DELAY).await;
                }
            }
        }
        self.backlog()
    }

    /// Replays one spool file into the database. `Ok(true)` when it moved rows (look again at
    /// once), `Ok(false)` when there was nothing to do.
    pub async fn replay_once(&self) -> Result<bool, StoreError> {
        if !self.spooling.load(Ordering::Acquire) && self.backlog() == 0 {
            return Ok(false);
        }
        let spool = self.spool.clone();
        let taken = blocking(move || spool.take()).await?;
        let Some(replay) = taken else {
            // Nothing on disk: direct writes again, decided under the append lock so that no
            // batch lands in the spool unnoticed in between.
            let spool = self.spool.clone();
            let resumed = blocking(move || {
                let mut resumed = false;
                spool.is_empty_then(|empty| resumed = empty)?;
                Ok(resumed)
            })
            .await?;
            if resumed && self.spooling.swap(false, Ordering::AcqRel) {
                tracing::info!("spool drained; writing to the database directly again");
            }
            return Ok(false);
        };
        for batch in &replay.batches {
            match tokio::time::timeout(self.bound, self.store.insert_submissions(batch)).await {
                Ok(Ok(_)) => {}
                Ok(Err(error)) if is_data_error(&error) => {
                    // Retrying cannot help a batch the database refuses as data; keep it on disk
                    // for a person and let the rest through.
                    let spool = self.spool.clone();
                    let batch = batch.clone();
                    let path = blocking(move || spool.reject(&batch)).await?;
                    tracing::error!(
                        error = %chain(&error), path = %path.display(),
                        "the database refused a spooled batch; set aside"
                    );
                }
                Ok(Err(error)) => return Err(error),
                Err(_) => return Err(StoreError::Timeout(self.bound)),
            }
        }
        let spool = self.spool.clone();
        blocking(move || spool.finish()).await?;
        let rows = replay.rows() as u64;
        let _ = self
            .backlog
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                Some(n.saturating_sub(rows))
            });
        tracing::info!(
            rows,
            skipped_lines = replay.skipped_lines,
            "replayed spooled submissions"
        );
        Ok(true)
    }
}

/// A refusal of the data itself (constraint, encoding), as opposed to the database being away.
fn is_data_error(error: &StoreError) -> bool {
    let StoreError::Query(sqlx::Error::Database(db)) = error else {
        return false;
    };
    !matches!(db.kind(), sqlx::error::ErrorKind::Other)
        || db.code().is_some_and(|code| code.starts_with("22"))
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, SpoolError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| SpoolError::Io {
            path: "spool".into(),
            source: std::io::Error::other(error),
        })?
        .map_err(StoreError::from)
}

/// An error with its causes, for one log line (shared with the rest of the service).
pub use crate::telemetry::error_chain as chain;

#[cfg(test)]
mod tests {
    use sqlx::Connection;

    use super::*;
    use crate::store::{SubmissionFilter, new_id, now_ms};

    fn row() -> Submission {
        Submission {
            submission_id: new_id(),
            run_id: Some("run".into()),
            item_id: None,
            policy: "r1".into(),
            policy_version: "r1@0".into(),
            kind: "math".into(),
            task: serde_json::json!({"kind": "math", "answer": "1"}),
            prompt: None,
            completion: "\\boxed{1}".into(),
            extracted: Some("1".into()),
            verdict: "correct".into(),
            format_ok: false,
            reward: 1.0,
            components: serde_json::json!({"accuracy": 1.0}),
            details: serde_json::json!({}),
            elapsed_ms: 0.1,
            service_version: "test".into(),
            created_at: now_ms(),
            entry: None,
            group_id: None,
            truncated: false,
            completion_tokens: None,
        }
    }

    #[tokio::test]
    async fn a_locked_database_spools_within_the_bound_and_replays_exactly_once() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("audit.db").display());
        let store = Store::connect(&url, Duration::from_secs(2)).await.unwrap();
        store.migrate().await.unwrap();
        let bound = Duration::from_millis(200);
        let recorder = Recorder::open(store.clone(), &dir.path().join("spool"), bound).unwrap();

        assert_eq!(recorder.record(vec![row()]).await.unwrap(), Stored::Database);

        // Another process holds the write lock: the database is there but does not answer.
        let mut locker = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("begin exclusive").execute(&mut locker).await.unwrap();
        let started = std::time::Instant::now();
        let first = vec![row(), row()];
        assert_eq!(recorder.record(first.clone()).await.unwrap(), Stored::Spooled);
        assert!(started.elapsed() < bound * 3, "waited {:?}", started.elapsed());
        // Known to be away: the next batch does not wait out the bound again.
        let started = std::time::Instant::now();
        assert_eq!(recorder.record(vec![row()]).await.unwrap(), Stored::Spooled);
        assert!(started.elapsed() < bound, "waited {:?}", started.elapsed());
        assert_eq!(recorder.backlog(), 3);
        assert!(recorder.replay_once().await.is_err(), "still locked");
        // A batch that reached the database and the spool both is stored once.
        sqlx::query("rollback").execute(&mut locker).await.unwrap();
        store.insert_submissions(&first).await.unwrap();

        assert!(recorder.replay_once().await.unwrap());
        assert!(!recorder.replay_once().await.unwrap());
        assert_eq!(recorder.backlog(), 0);
        assert_eq!(
            store
                .count_submissions(&SubmissionFilter::default())
                .await
                .unwrap(),
            4
        );
        assert_eq!(recorder.record(vec![row()]).await.unwrap(), Stored::Database);
    }
}
