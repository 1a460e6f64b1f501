//! The PostgreSQL backend, for production and for several replicas sharing one database.
//! Timestamps are `timestamptz`, JSON is `jsonb`. The pool tests each connection before use so
//! that connections killed by a database restart are replaced rather than reported as errors.

use std::str::FromStr;
use std::time::Duration;

use serde_json::Value;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::types::Json;
use sqlx::{Postgres, QueryBuilder, Row};
use time::OffsetDateTime;

use super::timeline::BucketGroup;
use super::{DbStats, INSERT_CHUNK, Reverification, RunGroup, StoreError, Submission, SubmissionFilter};

static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

const BACKEND: &str = "postgres";

pub(super) const COLUMNS: &str = "submission_id, run_id, item_id, policy, policy_version, kind, task, prompt, \
     completion, extracted, verdict, format_ok, reward, components, details, elapsed_ms, \
     service_version, created_at, entry, group_id, truncated, completion_tokens";

#[derive(Debug, Clone)]
pub struct PgStore {
    pub(super) pool: PgPool,
}

impl PgStore {
    pub async fn connect(url: &str, timeout: Duration) -> Result<Self, StoreError> {
        let connect = |source| StoreError::Connect {
            backend: BACKEND,
            source,
        };
        let options = PgConnectOptions::from_str(url).map_err(connect)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(timeout)
            .test_before_acquire(true)
            .connect_with(options)
            .await
            .map_err(connect)?;
        Ok(Self { pool })
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|source| StoreError::Migrate {
                backend: BACKEND,
                source,
            })
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("select 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn insert_submissions(&self, rows: &[Submission]) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut inserted = 0;
        for chunk in rows.chunks(INSERT_CHUNK) {
            let mut query = QueryBuilder::<Postgres>::new(format!("insert into submissions ({COLUMNS}) "));
            query.push_values(chunk, |mut row, s| {
                row.push_bind(s.submission_id.clone())
                    .push_bind(s.run_id.as_deref().map(text))
                    .push_bind(s.item_id.as_deref().map(text))
                    .push_bind(s.policy.clone())
                    .push_bind(s.policy_version.clone())
                    .push_bind(s.kind.clone())
                    .push_bind(json(&s.task))
                    .push_bind(s.prompt.as_deref().map(text))
                    .push_bind(text(&s.completion))
                    .push_bind(s.extracted.as_deref().map(text))
                    .push_bind(s.verdict.clone())
                    .push_bind(s.format_ok)
                    .push_bind(s.reward)
                    .push_bind(json(&s.components))
                    .push_bind(json(&s.details))
                    .push_bind(s.elapsed_ms)
                    .push_bind(s.service_version.clone())
                    .push_bind(s.created_at)
                    .push_bind(s.entry.as_deref().map(text))
                    .push_bind(s.group_id.as_deref().map(text))
                    .push_bind(s.truncated)
                    .push_bind(s.completion_tokens);
            });
            query.push(" on conflict (submission_id) do nothing");
            inserted += query.build().execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(inserted)
    }

    pub async fn submission(&self, id: &str) -> Result<Option<Submission>, StoreError> {
        let mut query = QueryBuilder::<Postgres>::new(format!(
            "select {COLUMNS} from submissions where submission_id = "
        ));
        query.push_bind(id.to_owned());
        let row = query.build().fetch_optional(&self.pool).await?;
        row.as_ref().map(decode_submission).transpose()
    }

    pub async fn submissions(
        &self,
        filter: &SubmissionFilter,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Submission>, StoreError> {
        let mut query =
            QueryBuilder::<Postgres>::new(format!("select {COLUMNS} from submissions where 1 = 1"));
        push_filter(&mut query, filter);
        if let Some(before) = before {
            query.push(" and submission_id < ").push_bind(before.to_owned());
        }
        query
            .push(" order by submission_id desc limit ")
            .push_bind(i64::from(limit));
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter().map(decode_submission).collect()
    }

    pub async fn count_submissions(&self, filter: &SubmissionFilter) -> Result<u64, StoreError> {
        let mut query = QueryBuilder::<Postgres>::new("select count(*) from submissions where 1 = 1");
        push_filter(&mut query, filter);
        let count: i64 = query.build().fetch_one(&self.pool).await?.try_get(0)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    pub(super) async fn run_groups(&self, run_id: Option<&str>) -> Result<Vec<RunGroup>, StoreError> {
        let rows = match run_id {
            Some(run_id) => {
                sqlx::query(
                    "select run_id, verdict, count(*) as n, sum(reward) as reward_sum, \
                     sum(case when format_ok then 1 else 0 end) as format_n, \
                     min(created_at) as first_seen, max(created_at) as last_seen \
                     from submissions where run_id = $1 group by run_id, verdict",
                )
                .bind(run_id.to_owned())
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(
                    "select run_id, verdict, count(*) as n, sum(reward) as reward_sum, \
                     sum(case when format_ok then 1 else 0 end) as format_n, \
                     min(created_at) as first_seen, max(created_at) as last_seen \
                     from submissions where run_id is not null group by run_id, verdict",
                )
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter()
            .map(|row| {
                Ok(RunGroup {
                    run_id: row.try_get("run_id")?,
                    verdict: row.try_get("verdict")?,
                    count: row.try_get("n")?,
                    reward_sum: row.try_get("reward_sum")?,
                    format_count: row.try_get("format_n")?,
                    first_seen: row.try_get("first_seen")?,
                    last_seen: row.try_get("last_seen")?,
                })
            })
            .collect()
    }

    pub(super) async fn kept_runs(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar("select run_id from runs where keep")
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn set_keep(&self, run_id: &str, keep: bool) -> Result<(), StoreError> {
        sqlx::query(
            "insert into runs (run_id, keep, updated_at) values ($1, $2, $3) \
             on conflict (run_id) do update set keep = excluded.keep, updated_at = excluded.updated_at",
        )
        .bind(run_id.to_owned())
        .bind(keep)
        .bind(OffsetDateTime::now_utc())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn prune(&self, cutoff: OffsetDateTime) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "delete from submissions where created_at < $1 \
             and (run_id is null or run_id not in (select run_id from runs where keep))",
        )
        .bind(cutoff)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }

    pub async fn insert_reverification(&self, r: &Reverification) -> Result<(), StoreError> {
        sqlx::query(
            "insert into reverifications (reverification_id, submission_id, policy_version, \
             service_version, old_verdict, old_reward, new_verdict, new_reward, drifted, details, \
             created_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(r.reverification_id.clone())
        .bind(r.submission_id.clone())
        .bind(r.policy_version.clone())
        .bind(r.service_version.clone())
        .bind(r.old_verdict.clone())
        .bind(r.old_reward)
        .bind(r.new_verdict.clone())
        .bind(r.new_reward)
        .bind(r.drifted)
        .bind(json(&r.details))
        .bind(r.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn reverifications(&self, submission_id: &str) -> Result<Vec<Reverification>, StoreError> {
        // Only constants go into the text; values are bound.
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "select {REVERIFICATION_COLUMNS} from reverifications where submission_id = $1 \
             order by reverification_id"
        )))
        .bind(submission_id.to_owned())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| decode_reverification(row).map_err(StoreError::from))
            .collect()
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
        let count = |name: &str| -> Result<u64, StoreError> {
            Ok(u64::try_from(row.try_get::<i64, _>(name)?).unwrap_or(0))
        };
        Ok(DbStats {
            backend: BACKEND,
            submissions: count("submissions")?,
            runs: count("runs")?,
            kept_runs: count("kept_runs")?,
            reverifications: count("reverifications")?,
            oldest: row.try_get("oldest")?,
            newest: row.try_get("newest")?,
        })
    }
}

impl PgStore {
    /// The first and last creation time of `run_id`'s submissions.
    pub(super) async fn run_span(
        &self,
        run_id: &str,
    ) -> Result<Option<(OffsetDateTime, OffsetDateTime)>, StoreError> {
        let row = sqlx::query("select min(created_at), max(created_at) from submissions where run_id = $1")
            .bind(run_id.to_owned())
            .fetch_one(&self.pool)
            .await?;
        let first: Option<OffsetDateTime> = row.try_get(0)?;
        let last: Option<OffsetDateTime> = row.try_get(1)?;
        Ok(first.zip(last))
    }

    /// `run_id`'s submissions grouped into buckets of `width_ms` from `first_ms`. The epoch
    /// arithmetic is done in `numeric`, exact, so a row on a bucket boundary lands in the same
    /// bucket as on SQLite's integer division. The accurate verdicts are those of `ACCURATE`
    /// in the store module.
    pub(super) async fn timeline_groups(
        &self,
        run_id: &str,
        first_ms: i64,
        width_ms: i64,
    ) -> Result<Vec<BucketGroup>, StoreError> {
        let rows = sqlx::query(
            "select floor((extract(epoch from created_at) * 1000 - $2) / $3)::bigint as bucket, \
             count(*) as n, sum(reward) as reward_sum, \
             sum(case when verdict in ('correct', 'accepted') then 1 else 0 end)::bigint as accurate_n, \
             sum(case when format_ok then 1 else 0 end)::bigint as format_n \
             from submissions where run_id = $1 group by bucket order by bucket",
        )
        .bind(run_id.to_owned())
        .bind(first_ms)
        .bind(width_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(BucketGroup {
                    index: row.try_get("bucket")?,
                    count: row.try_get("n")?,
                    reward_sum: row.try_get("reward_sum")?,
                    accurate: row.try_get("accurate_n")?,
                    formatted: row.try_get("format_n")?,
                })
            })
            .collect()
    }
}

fn push_filter(query: &mut QueryBuilder<Postgres>, filter: &SubmissionFilter) {
    let text = [
        ("run_id", &filter.run_id),
        ("kind", &filter.kind),
        ("verdict", &filter.verdict),
        ("policy", &filter.policy),
    ];
    for (column, value) in text {
        if let Some(value) = value {
            query
                .push(format_args!(" and {column} = "))
                .push_bind(value.clone());
        }
    }
    if let Some(min) = filter.min_reward {
        query.push(" and reward >= ").push_bind(min);
    }
    if let Some(max) = filter.max_reward {
        query.push(" and reward <= ").push_bind(max);
    }
    if let Some(since) = filter.since {
        query.push(" and created_at >= ").push_bind(since);
    }
    if let Some(until) = filter.until {
        query.push(" and created_at < ").push_bind(until);
    }
}

pub(super) fn decode_submission(row: &PgRow) -> Result<Submission, StoreError> {
    Ok(Submission {
        submission_id: row.try_get("submission_id")?,
        run_id: row.try_get("run_id")?,
        item_id: row.try_get("item_id")?,
        policy: row.try_get("policy")?,
        policy_version: row.try_get("policy_version")?,
        kind: row.try_get("kind")?,
        task: row.try_get::<Json<serde_json::Value>, _>("task")?.0,
        prompt: row.try_get("prompt")?,
        completion: row.try_get("completion")?,
        extracted: row.try_get("extracted")?,
        verdict: row.try_get("verdict")?,
        format_ok: row.try_get("format_ok")?,
        reward: row.try_get("reward")?,
        components: row.try_get::<Json<serde_json::Value>, _>("components")?.0,
        details: row.try_get::<Json<serde_json::Value>, _>("details")?.0,
        elapsed_ms: row.try_get("elapsed_ms")?,
        service_version: row.try_get("service_version")?,
        created_at: row.try_get("created_at")?,
        entry: row.try_get("entry")?,
        group_id: row.try_get("group_id")?,
        truncated: row.try_get("truncated")?,
        completion_tokens: row.try_get("completion_tokens")?,
    })
}

/// PostgreSQL's `text` and `jsonb` cannot hold U+0000, which a model may well emit; it is
/// stored as U+FFFD instead (SQLite keeps it as sent).
pub(super) fn text(value: &str) -> String {
    value.replace('\0', "\u{FFFD}")
}

pub(super) fn json(value: &Value) -> Json<Value> {
    fn clean(value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(text(s)),
            Value::Array(items) => Value::Array(items.iter().map(clean).collect()),
            Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (text(k), clean(v))).collect()),
            other => other.clone(),
        }
    }
    Json(clean(value))
}

/// The columns [`decode_reverification`] reads.
pub(super) const REVERIFICATION_COLUMNS: &str = "reverification_id, submission_id, policy_version, \
     service_version, old_verdict, old_reward, new_verdict, new_reward, drifted, details, created_at";

/// A re-check as stored, from a row with [`REVERIFICATION_COLUMNS`].
pub(super) fn decode_reverification(row: &PgRow) -> Result<Reverification, sqlx::Error> {
    Ok(Reverification {
        reverification_id: row.try_get("reverification_id")?,
        submission_id: row.try_get("submission_id")?,
        policy_version: row.try_get("policy_version")?,
        service_version: row.try_get("service_version")?,
        old_verdict: row.try_get("old_verdict")?,
        old_reward: row.try_get("old_reward")?,
        new_verdict: row.try_get("new_verdict")?,
        new_reward: row.try_get("new_reward")?,
        drifted: row.try_get("drifted")?,
        details: row.try_get::<Json<serde_json::Value>, _>("details")?.0,
        created_at: row.try_get("created_at")?,
    })
}
