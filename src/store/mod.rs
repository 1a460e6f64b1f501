//! The audit store: every judged item as one durable row, in SQLite (the embedded default) or
//! PostgreSQL (by URL), plus the queries auditors run over them. All SQL of the service lives
//! under this module.
//!
//! Two concrete backends sit behind the small [`Store`] enum rather than sqlx's `Any` driver,
//! which cannot carry PostgreSQL's `timestamptz` or `jsonb`. Both are one body of code,
//! `Backend` generic over a `Dialect`: the hooks and column encodings
//! that differ between the databases are in `dialect.rs`, `sqlite.rs` and `postgres.rs`, and
//! each concept's types and queries are written once, in `submissions.rs`, `datasets.rs`,
//! `jobs.rs` and `timeline.rs`. Each backend keeps its migrations folder (`migrations/sqlite`,
//! `migrations/postgres`), embedded in the binary and applied at start-up. The [`Recorder`] in
//! front of the store keeps the durability promise of a `submission_id` when the database is
//! slow or gone, through the on-disk [`spool`].

/// Calls the same method on whichever backend this is. Defined before the modules so that
/// they can use it too.
macro_rules! dispatch {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            Store::Sqlite($store) => $call,
            Store::Postgres($store) => $call,
        }
    };
}

mod backend;
mod datasets;
mod dialect;
mod jobs;
mod postgres;
mod recorder;
pub mod spool;
mod sqlite;
mod submissions;
mod timeline;

use serde::Serialize;
use time::OffsetDateTime;

pub use datasets::{DatasetVersion, Registered, StoredEntry};
pub use jobs::{JobBatch, JobStatus, ReverifyJob, Transition, UnknownJobStatus};
pub use postgres::PgStore;
pub use recorder::{Recorder, RecorderHealth, Stored, chain as error_chain};
pub use sqlite::SqliteStore;
pub use submissions::{Reverification, RunStats, Submission, SubmissionFilter};
pub use timeline::{MAX_BUCKETS, Timeline, TimelineBucket};

/// Rows written per `insert` statement: well under SQLite's 32,766 bind parameters.
const INSERT_CHUNK: usize = 500;

/// The most rows one listing query returns, whatever the caller asked for.
pub const MAX_PAGE: u32 = 10_000;

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL `{0}`: expected sqlite:… or postgres://…")]
    UnsupportedUrl(String),
    #[error("cannot connect to the {backend} database")]
    Connect {
        backend: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot apply the {backend} migrations")]
    Migrate {
        backend: &'static str,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    #[error("database query failed")]
    Query(#[from] sqlx::Error),
    #[error("the database did not answer within {0:?}")]
    Timeout(std::time::Duration),
    #[error(transparent)]
    Spool(#[from] spool::SpoolError),
    #[error("a background task over stored rows failed: {0}")]
    Task(String),
}

/// Table sizes and time span, for `verdict db stats`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DbStats {
    pub backend: &'static str,
    pub submissions: u64,
    pub runs: u64,
    pub kept_runs: u64,
    pub reverifications: u64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub oldest: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub newest: Option<OffsetDateTime>,
}

/// The audit database, SQLite or PostgreSQL. Cheap to clone (a pool handle).
#[derive(Debug, Clone)]
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl Store {
    /// Opens a pool for `url` (`sqlite:…` or `postgres://…`); a SQLite file is created if
    /// missing. `timeout` bounds the wait for a connection.
    pub async fn connect(url: &str, timeout: std::time::Duration) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Store::Sqlite(SqliteStore::connect(url, timeout).await?))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Store::Postgres(PgStore::connect(url, timeout).await?))
        } else {
            Err(StoreError::UnsupportedUrl(url.to_owned()))
        }
    }

    /// Applies the embedded migrations of this backend that have not run yet.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        dispatch!(self, s => s.migrate().await)
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self, s => s.ping().await)
    }

    pub async fn stats(&self) -> Result<DbStats, StoreError> {
        dispatch!(self, s => s.stats().await)
    }
}

/// A new sortable id for a submission or a re-check.
pub fn new_id() -> String {
    ulid::Ulid::new().to_string()
}

/// Now, truncated to whole milliseconds so that both backends store it exactly.
pub fn now_ms() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(now.millisecond() as u32 * 1_000_000)
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_creation_time() {
        let first = new_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = new_id();
        assert!(first < second);
        assert_eq!(first.len(), 26);
    }
}
