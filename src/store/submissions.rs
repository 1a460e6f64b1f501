//! The audit trail: judged items (submissions), the runs they belong to (aggregates, the keep
//! flag, retention) and re-checks of single submissions. The types, the [`Store`] entry points,
//! and the one body of SQL both dialects run.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{ColumnIndex, Executor, QueryBuilder, Row};
use time::OffsetDateTime;

use super::backend::{Backend, count};
use super::dialect::{Codec, Dialect, FreeText, JsonDoc, Timestamp};
use super::{INSERT_CHUNK, MAX_PAGE, Store, StoreError};

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

impl Store {
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
}

/// The columns [`Backend::decode_submission`] reads, in the order `insert_submissions` binds.
pub(super) const COLUMNS: &str = "submission_id, run_id, item_id, policy, policy_version, kind, task, prompt, \
     completion, extracted, verdict, format_ok, reward, components, details, elapsed_ms, \
     service_version, created_at, entry, group_id, truncated, completion_tokens";

/// The columns [`Backend::decode_reverification`] reads.
pub(super) const REVERIFICATION_COLUMNS: &str = "reverification_id, submission_id, policy_version, \
     service_version, old_verdict, old_reward, new_verdict, new_reward, drifted, details, created_at";

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
    pub async fn insert_submissions(&self, rows: &[Submission]) -> Result<u64, StoreError> {
        let _writing = self.writing().await;
        let mut tx = self.pool.begin().await?;
        let mut inserted = 0;
        for chunk in rows.chunks(INSERT_CHUNK) {
            let mut query = QueryBuilder::<DB>::new(format!("insert into submissions ({COLUMNS}) "));
            query.push_values(chunk, |mut row, s| {
                row.push_bind(&s.submission_id)
                    .push_bind(FreeText::from(&s.run_id))
                    .push_bind(FreeText::from(&s.item_id))
                    .push_bind(&s.policy)
                    .push_bind(&s.policy_version)
                    .push_bind(&s.kind)
                    .push_bind(JsonDoc(&s.task))
                    .push_bind(FreeText::from(&s.prompt))
                    .push_bind(FreeText::from(&s.completion))
                    .push_bind(FreeText::from(&s.extracted))
                    .push_bind(&s.verdict)
                    .push_bind(s.format_ok)
                    .push_bind(s.reward)
                    .push_bind(JsonDoc(&s.components))
                    .push_bind(JsonDoc(&s.details))
                    .push_bind(s.elapsed_ms)
                    .push_bind(&s.service_version)
                    .push_bind(Timestamp(s.created_at))
                    .push_bind(FreeText::from(&s.entry))
                    .push_bind(FreeText::from(&s.group_id))
                    .push_bind(s.truncated)
                    .push_bind(s.completion_tokens);
            });
            query.push(" on conflict (submission_id) do nothing");
            inserted += DB::rows_affected(&query.build().execute(&mut *tx).await?);
        }
        tx.commit().await?;
        Ok(inserted)
    }

    pub async fn submission(&self, id: &str) -> Result<Option<Submission>, StoreError> {
        let mut query = QueryBuilder::<DB>::new(format!(
            "select {COLUMNS} from submissions where submission_id = "
        ));
        query.push_bind(id.to_owned());
        let row = query.build().fetch_optional(&self.pool).await?;
        row.as_ref().map(Self::decode_submission).transpose()
    }

    pub async fn submissions(
        &self,
        filter: &SubmissionFilter,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Submission>, StoreError> {
        let mut query = QueryBuilder::<DB>::new(format!("select {COLUMNS} from submissions where 1 = 1"));
        Self::push_filter(&mut query, filter);
        if let Some(before) = before {
            query.push(" and submission_id < ").push_bind(before.to_owned());
        }
        query
            .push(" order by submission_id desc limit ")
            .push_bind(i64::from(limit));
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter().map(Self::decode_submission).collect()
    }

    pub async fn count_submissions(&self, filter: &SubmissionFilter) -> Result<u64, StoreError> {
        let mut query = QueryBuilder::<DB>::new("select count(*) as n from submissions where 1 = 1");
        Self::push_filter(&mut query, filter);
        let row = query.build().fetch_one(&self.pool).await?;
        Ok(count(row.try_get("n")?))
    }

    async fn run_groups(&self, run_id: Option<&str>) -> Result<Vec<RunGroup>, StoreError> {
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
                    first_seen: row.try_get::<Timestamp, _>("first_seen")?.0,
                    last_seen: row.try_get::<Timestamp, _>("last_seen")?.0,
                })
            })
            .collect()
    }

    async fn kept_runs(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("select run_id from runs where keep")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|row| Ok(row.try_get("run_id")?)).collect()
    }

    pub async fn set_keep(&self, run_id: &str, keep: bool) -> Result<(), StoreError> {
        let _writing = self.writing().await;
        sqlx::query(
            "insert into runs (run_id, keep, updated_at) values ($1, $2, $3) \
             on conflict (run_id) do update set keep = excluded.keep, updated_at = excluded.updated_at",
        )
        .bind(run_id.to_owned())
        .bind(keep)
        .bind(Timestamp(OffsetDateTime::now_utc()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn prune(&self, cutoff: OffsetDateTime) -> Result<u64, StoreError> {
        let _writing = self.writing().await;
        let result = sqlx::query(
            "delete from submissions where created_at < $1 \
             and (run_id is null or run_id not in (select run_id from runs where keep))",
        )
        .bind(Timestamp(cutoff))
        .execute(&self.pool)
        .await?;
        Ok(DB::rows_affected(&result))
    }

    pub async fn insert_reverification(&self, r: &Reverification) -> Result<(), StoreError> {
        let _writing = self.writing().await;
        sqlx::query(
            "insert into reverifications (reverification_id, submission_id, policy_version, \
             service_version, old_verdict, old_reward, new_verdict, new_reward, drifted, details, \
             created_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&r.reverification_id)
        .bind(&r.submission_id)
        .bind(&r.policy_version)
        .bind(&r.service_version)
        .bind(&r.old_verdict)
        .bind(r.old_reward)
        .bind(&r.new_verdict)
        .bind(r.new_reward)
        .bind(r.drifted)
        .bind(JsonDoc(&r.details))
        .bind(Timestamp(r.created_at))
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
        rows.iter().map(Self::decode_reverification).collect()
    }

    fn push_filter(query: &mut QueryBuilder<DB>, filter: &SubmissionFilter) {
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
            query.push(" and created_at >= ").push_bind(Timestamp(since));
        }
        if let Some(until) = filter.until {
            query.push(" and created_at < ").push_bind(Timestamp(until));
        }
    }

    /// A submission as stored, from a row with [`COLUMNS`].
    pub(super) fn decode_submission(row: &DB::Row) -> Result<Submission, StoreError> {
        Ok(Submission {
            submission_id: row.try_get("submission_id")?,
            run_id: row.try_get("run_id")?,
            item_id: row.try_get("item_id")?,
            policy: row.try_get("policy")?,
            policy_version: row.try_get("policy_version")?,
            kind: row.try_get("kind")?,
            task: row.try_get::<Json<Value>, _>("task")?.0,
            prompt: row.try_get("prompt")?,
            completion: row.try_get("completion")?,
            extracted: row.try_get("extracted")?,
            verdict: row.try_get("verdict")?,
            format_ok: row.try_get("format_ok")?,
            reward: row.try_get("reward")?,
            components: row.try_get::<Json<Value>, _>("components")?.0,
            details: row.try_get::<Json<Value>, _>("details")?.0,
            elapsed_ms: row.try_get("elapsed_ms")?,
            service_version: row.try_get("service_version")?,
            created_at: row.try_get::<Timestamp, _>("created_at")?.0,
            entry: row.try_get("entry")?,
            group_id: row.try_get("group_id")?,
            truncated: row.try_get("truncated")?,
            completion_tokens: row.try_get("completion_tokens")?,
        })
    }

    /// A re-check as stored, from a row with [`REVERIFICATION_COLUMNS`].
    pub(super) fn decode_reverification(row: &DB::Row) -> Result<Reverification, StoreError> {
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
            details: row.try_get::<Json<Value>, _>("details")?.0,
            created_at: row.try_get::<Timestamp, _>("created_at")?.0,
        })
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
}
