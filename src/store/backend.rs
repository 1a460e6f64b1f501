//! The one store body: [`Backend`], generic over the [`Dialect`], holds a pool of either
//! database (and SQLite's writer queue) and does the whole-database work (migrations, ping,
//! table sizes). The queries of each concept live beside its types, as further `impl` blocks
//! of [`Backend`]: `submissions.rs`, `datasets.rs`, `jobs.rs`, `timeline.rs`.
//!
//! [`SqliteStore`](super::SqliteStore) and [`PgStore`](super::PgStore) are this type at one
//! database each; only their `connect` differs.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sqlx::pool::PoolOptions;
use sqlx::types::Json;
use sqlx::{ColumnIndex, Connection, Database, Executor, Pool, Row};
use tokio::sync::{Mutex, MutexGuard};

use super::dialect::{Codec, Dialect, Timestamp};
use super::{DbStats, StoreError};

/// The audit database on one dialect. Cheap to clone (a pool handle).
#[derive(Debug)]
pub struct Backend<DB: Database> {
    pub(super) pool: Pool<DB>,
    /// Taken around every write when the database takes one writer at a time (SQLite; see its
    /// `connect`), `None` where writers do not lock each other out (PostgreSQL).
    writer: Option<Arc<Mutex<()>>>,
}

impl<DB: Database> Clone for Backend<DB> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            writer: self.writer.clone(),
        }
    }
}

impl<DB: Dialect> Backend<DB> {
    /// Opens a pool with `pool`'s settings, waiting at most `timeout` for a connection.
    /// `one_writer`: queue writes in this process rather than let them collide in the database.
    pub(super) async fn open(
        pool: PoolOptions<DB>,
        options: <DB::Connection as Connection>::Options,
        timeout: Duration,
        one_writer: bool,
    ) -> Result<Self, StoreError> {
        let pool = pool
            .acquire_timeout(timeout)
            .connect_with(options)
            .await
            .map_err(connect_error::<DB>)?;
        Ok(Self {
            pool,
            writer: one_writer.then(|| Arc::new(Mutex::new(()))),
        })
    }

    /// Waits for this process's turn to write, where writes are queued; hold the guard for the
    /// whole write (its transaction included).
    pub(super) async fn writing(&self) -> Option<MutexGuard<'_, ()>> {
        match &self.writer {
            Some(writer) => Some(writer.lock().await),
            None => None,
        }
    }
}

impl<DB: Dialect> Backend<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'n> &'n str: ColumnIndex<DB::Row>,
    String: Codec<DB>,
    Option<String>: Codec<DB>,
    i64: Codec<DB>,
    Option<i64>: Codec<DB>,
    f64: Codec<DB>,
    bool: Codec<DB>,
    Json<Value>: Codec<DB>,
{
    /// Applies the embedded migrations of this backend that have not run yet.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        DB::MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|source| StoreError::Migrate {
                backend: DB::BACKEND,
                source,
            })
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("select 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn stats(&self) -> Result<DbStats, StoreError> {
        let row = sqlx::query(
            "select (select count(*) from submissions) as submissions, \
             (select count(distinct run_id) from submissions) as runs, \
             (select count(*) from runs where keep) as kept_runs, \
             (select count(*) from reverifications) as reverifications, \
             (select min(created_at) from submissions) as oldest, \
             (select max(created_at) from submissions) as newest",
        )
        .fetch_one(&self.pool)
        .await?;
        let counted = |name: &str| -> Result<u64, StoreError> { Ok(count(row.try_get(name)?)) };
        Ok(DbStats {
            backend: DB::BACKEND,
            submissions: counted("submissions")?,
            runs: counted("runs")?,
            kept_runs: counted("kept_runs")?,
            reverifications: counted("reverifications")?,
            oldest: row.try_get::<Option<Timestamp>, _>("oldest")?.map(|at| at.0),
            newest: row.try_get::<Option<Timestamp>, _>("newest")?.map(|at| at.0),
        })
    }
}

/// Why a backend could not open its pool (or parse its URL).
pub(super) fn connect_error<DB: Dialect>(source: sqlx::Error) -> StoreError {
    StoreError::Connect {
        backend: DB::BACKEND,
        source,
    }
}

/// A stored count as the API reports it (a negative count cannot happen; it reads as zero).
pub(super) fn count(stored: i64) -> u64 {
    u64::try_from(stored).unwrap_or(0)
}

/// A count as stored (`bigint` / `integer`).
pub(super) fn stored_count(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}
