//! The PostgreSQL backend, for production and for several replicas sharing one database.
//! Timestamps are `timestamptz`, JSON is `jsonb` (the column types a Grafana dashboard reads),
//! and U+0000, which neither `text` nor `jsonb` can hold, is stored as U+FFFD. The pool tests
//! each connection before use so that connections killed by a database restart are replaced
//! rather than reported as errors.

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use sqlx::Postgres;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgQueryResult};
use time::OffsetDateTime;

use super::StoreError;
use super::backend::{Backend, connect_error};
use super::dialect::Dialect;

/// The store on a PostgreSQL database.
pub type PgStore = Backend<Postgres>;

impl Dialect for Postgres {
    const BACKEND: &'static str = "postgres";

    const MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

    /// The epoch arithmetic is done in `numeric`, exact, so a row on a bucket boundary lands in
    /// the same bucket as on SQLite's integer division.
    const BUCKET_INDEX: &'static str = "floor((extract(epoch from created_at) * 1000 - $2) / $3)::bigint";

    type Stamp = OffsetDateTime;

    fn stamp(at: OffsetDateTime) -> OffsetDateTime {
        at
    }

    fn unstamp(at: OffsetDateTime) -> OffsetDateTime {
        at
    }

    /// A model may well emit U+0000; it is stored as U+FFFD rather than failing the batch.
    fn clean(text: &str) -> Cow<'_, str> {
        if text.contains('\0') {
            Cow::Owned(text.replace('\0', "\u{FFFD}"))
        } else {
            Cow::Borrowed(text)
        }
    }

    fn rows_affected(result: &PgQueryResult) -> u64 {
        result.rows_affected()
    }
}

impl Backend<Postgres> {
    pub async fn connect(url: &str, timeout: Duration) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(connect_error::<Postgres>)?;
        let pool = PgPoolOptions::new().max_connections(16).test_before_acquire(true);
        // Writers do not lock each other out: no queue in front of them.
        Self::open(pool, options, timeout, false).await
    }
}
