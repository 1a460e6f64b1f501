//! The audit store: every judged item as one durable row, in SQLite (the embedded default) or
//! PostgreSQL (by URL), plus the queries auditors run over them. All SQL of the service lives
//! under this module.
//!
//! Two concrete backends sit behind the small [`Store`] enum rather than sqlx's `Any` driver,
//! which cannot carry PostgreSQL's `timestamptz` or `jsonb`. Each backend owns its SQL and its
//! migrations folder (`migrations/sqlite`, `migrations/postgres`), embedded in the binary and
//! applied at start-up. The [`Recorder`] in front of the store keeps the durability promise of a
//! `submission_id` when the database is slow or gone, through the on-disk [`spool`].

/// Calls the same method on whichever backend this is. Defined before the modules so that
/// `evaluation` can use it too.
macro_rules! dispatch {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            Store::Sqlite($store) => $call,
            Store::Postgres($store) => $call,
        }
    };
}

mod evaluation;
mod postgres;
mod postgres_eval;
mod recorder;
pub mod spool;
mod sqlite;
mod sqlite_eval;
mod timeline;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

pub use evaluation::{DatasetVersion, JobBatch, Registered, ReverifyJob, StoredEntry, Transition};
pub use postgres::PgStore;
pub use recorder::{Recorder, RecorderHealth, Stored, chain as error_chain};
pub use sqlite::SqliteStore;
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

/// One judged item, as stored and as read back. Items that failed with an `error` are never
/// submissions: they were not scored, so there is nothing to audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Submission {
    /// Sortable (ULID): newest first is descending id order.
    pub submission_id: String,
    pub run_id: Option<String>,
    /// The caller's id for the item.
    pub item_id: Option<String>,
    pub policy: String,
    /// `name@hash` of the policy's settings at judging time.
    pub policy_version: String,
    pub kind: String,
    /// The task as the caller sent it.
    #[schema(value_type = Object)]
    pub task: Value,
    pub prompt: Option<String>,
    pub completion: String,
    pub extracted: Option<String>,
    pub verdict: String,
    pub format_ok: bool,
    pub reward: f64,
    #[schema(value_type = Object)]
    pub components: Value,
    #[schema(value_type = Object)]
    pub details: Value,
    pub elapsed_ms: f64,
    pub service_version: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// The dataset entry judged against, `name@version:id`, when the item named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    /// The caller's group of completions (GRPO: the samples of one prompt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// The client said the completion was cut at its length limit.
    #[serde(default)]
    pub truncated: bool,
    /// The completion's length in tokens as the client counted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_tokens: Option<i64>,
}

/// Which submissions a listing or export wants; every field narrows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubmissionFilter {
    pub run_id: Option<String>,
    pub kind: Option<String>,
    pub verdict: Option<String>,
    pub policy: Option<String>,
    pub min_reward: Option<f64>,
    pub max_reward: Option<f64>,
    /// Inclusive.
    pub since: Option<OffsetDateTime>,
    /// Exclusive.
    pub until: Option<OffsetDateTime>,
}

/// Per-run aggregates for auditors.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RunStats {
    pub run_id: String,
    pub count: u64,
    pub mean_reward: f64,
    /// Share of items judged `correct` (math) or `accepted` (code).
    pub accuracy_rate: f64,
    /// Share of items whose format earned the format reward.
    pub format_rate: f64,
    pub verdicts: BTreeMap<String, u64>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub first_seen: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_seen: OffsetDateTime,
    /// Retention (`verdict prune`) never deletes a kept run.
    pub keep: bool,
}

/// A re-judging of a stored submission with the code and policy of the day.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Reverification {
    pub reverification_id: String,
    pub submission_id: String,
    pub policy_version: String,
    pub service_version: String,
    pub old_verdict: String,
    pub old_reward: f64,
    pub new_verdict: String,
    pub new_reward: f64,
    pub drifted: bool,
    #[schema(value_type = Object)]
    pub details: Value,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
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

    /// Writes `rows` in one transaction. Rows whose id is already stored are skipped, so a
    /// replayed batch is written exactly once. Returns how many rows were new.
    pub async fn insert_submissions(&self, rows: &[Submission]) -> Result<u64, StoreError> {
        if rows.is_empty() {
            return Ok(0);
        }
        dispatch!(self, s => s.insert_submissions(rows).await)
    }

    pub async fn submission(&self, id: &str) -> Result<Option<Submission>, StoreError> {
        dispatch!(self, s => s.submission(id).await)
    }

    /// Up to `limit` matching submissions, newest first, strictly older than `before` (the
    /// cursor: the last id of the previous page).
    pub async fn submissions(
        &self,
        filter: &SubmissionFilter,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Submission>, StoreError> {
        dispatch!(self, s => s.submissions(filter, before, limit.clamp(1, MAX_PAGE)).await)
    }

    /// How many submissions match.
    pub async fn count_submissions(&self, filter: &SubmissionFilter) -> Result<u64, StoreError> {
        dispatch!(self, s => s.count_submissions(filter).await)
    }

    /// Aggregates of every run (or only `run_id`), most recently active first.
    pub async fn runs(&self, run_id: Option<&str>) -> Result<Vec<RunStats>, StoreError> {
        let groups = dispatch!(self, s => s.run_groups(run_id).await)?;
        let kept = dispatch!(self, s => s.kept_runs().await)?;
        Ok(fold_runs(groups, &kept))
    }

    /// Marks a run kept (or not); retention never deletes a kept run's submissions.
    pub async fn set_keep(&self, run_id: &str, keep: bool) -> Result<(), StoreError> {
        dispatch!(self, s => s.set_keep(run_id, keep).await)
    }

    /// Deletes submissions created before `cutoff` that belong to no kept run, with their
    /// re-checks. Returns how many submissions were deleted.
    pub async fn prune(&self, cutoff: OffsetDateTime) -> Result<u64, StoreError> {
        dispatch!(self, s => s.prune(cutoff).await)
    }

    pub async fn insert_reverification(&self, row: &Reverification) -> Result<(), StoreError> {
        dispatch!(self, s => s.insert_reverification(row).await)
    }

    pub async fn reverifications(&self, submission_id: &str) -> Result<Vec<Reverification>, StoreError> {
        dispatch!(self, s => s.reverifications(submission_id).await)
    }

    pub async fn stats(&self) -> Result<DbStats, StoreError> {
        dispatch!(self, s => s.stats().await)
    }

    /// `run_id`'s span cut into `buckets` equal slices with each slice's mean reward and
    /// rates; `None` when no submission carries the run id.
    pub async fn timeline(&self, run_id: &str, buckets: u32) -> Result<Option<Timeline>, StoreError> {
        let Some((first, last)) = dispatch!(self, s => s.run_span(run_id).await)? else {
            return Ok(None);
        };
        let first_ms = timeline::epoch_ms(first);
        let width = timeline::bucket_width_ms(first_ms, timeline::epoch_ms(last), buckets);
        let groups = dispatch!(self, s => s.timeline_groups(run_id, first_ms, width).await)?;
        Ok(Some(timeline::assemble(run_id, first, last, width, groups)))
    }
}

/// One `(run, verdict)` group as the backends aggregate it; [`fold_runs`] merges them per run.
/// Grouping by verdict in SQL and folding here gives the histogram and the totals from one
/// query that reads the same on both dialects.
#[derive(Debug)]
struct RunGroup {
    run_id: String,
    verdict: String,
    count: i64,
    reward_sum: f64,
    format_count: i64,
    first_seen: OffsetDateTime,
    last_seen: OffsetDateTime,
}

/// Verdicts that count as an accurate answer in the accuracy rate.
const ACCURATE: [&str; 2] = ["correct", "accepted"];

fn fold_runs(groups: Vec<RunGroup>, kept: &[String]) -> Vec<RunStats> {
    let mut by_run: BTreeMap<String, (RunStats, f64, u64, u64)> = BTreeMap::new();
    for group in groups {
        let count = u64::try_from(group.count).unwrap_or(0);
        let entry = by_run.entry(group.run_id.clone()).or_insert_with(|| {
            (
                RunStats {
                    keep: kept.contains(&group.run_id),
                    run_id: group.run_id.clone(),
                    count: 0,
                    mean_reward: 0.0,
                    accuracy_rate: 0.0,
                    format_rate: 0.0,
                    verdicts: BTreeMap::new(),
                    first_seen: group.first_seen,
                    last_seen: group.last_seen,
                },
                0.0,
                0,
                0,
            )
        });
        let (stats, reward_sum, accurate, formatted) = entry;
        stats.count += count;
        *reward_sum += group.reward_sum;
        *formatted += u64::try_from(group.format_count).unwrap_or(0);
        if ACCURATE.contains(&group.verdict.as_str()) {
            *accurate += count;
        }
        *stats.verdicts.entry(group.verdict).or_default() += count;
        stats.first_seen = stats.first_seen.min(group.first_seen);
        stats.last_seen = stats.last_seen.max(group.last_seen);
    }
    let mut runs: Vec<RunStats> = by_run
        .into_values()
        .map(|(mut stats, reward_sum, accurate, formatted)| {
            if stats.count > 0 {
                let n = stats.count as f64;
                stats.mean_reward = reward_sum / n;
                stats.accuracy_rate = accurate as f64 / n;
                stats.format_rate = formatted as f64 / n;
            }
            stats
        })
        .collect();
    runs.sort_by(|a, b| {
        b.last_seen
            .cmp(&a.last_seen)
            .then_with(|| a.run_id.cmp(&b.run_id))
    });
    runs
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

    fn group(run: &str, verdict: &str, count: i64, reward_sum: f64, format_count: i64, at: i64) -> RunGroup {
        RunGroup {
            run_id: run.into(),
            verdict: verdict.into(),
            count,
            reward_sum,
            format_count,
            first_seen: OffsetDateTime::from_unix_timestamp(at).unwrap(),
            last_seen: OffsetDateTime::from_unix_timestamp(at + 10).unwrap(),
        }
    }

    #[test]
    fn run_groups_fold_into_rates_and_a_histogram() {
        let runs = fold_runs(
            vec![
                group("a", "correct", 3, 6.0, 3, 100),
                group("a", "incorrect", 1, 1.0, 1, 50),
                group("b", "no_answer", 2, 0.0, 0, 500),
            ],
            &["a".to_owned()],
        );
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].run_id, "b", "most recently active first");
        let a = &runs[1];
        assert_eq!(a.count, 4);
        assert_eq!(a.mean_reward, 7.0 / 4.0);
        assert_eq!(a.accuracy_rate, 0.75);
        assert_eq!(a.format_rate, 1.0);
        assert_eq!(a.verdicts["correct"], 3);
        assert_eq!(a.first_seen.unix_timestamp(), 50);
        assert_eq!(a.last_seen.unix_timestamp(), 110);
        assert!(a.keep);
        assert!(!runs[0].keep);
    }

    #[test]
    fn ids_sort_by_creation_time() {
        let first = new_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = new_id();
        assert!(first < second);
        assert_eq!(first.len(), 26);
    }
}
