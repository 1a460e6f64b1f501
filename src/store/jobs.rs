//! Whole-run re-checks run as background jobs whose progress survives a restart: the job rows,
//! their batches (re-checks committed with the job's cursor) and their reports. The types, the
//! [`Store`] entry points, and the one body of SQL both dialects run.

use serde::Serialize;
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{ColumnIndex, Executor, QueryBuilder, Row};
use time::OffsetDateTime;

use super::backend::{Backend, count, stored_count};
use super::dialect::{Codec, Dialect, JsonDoc, Timestamp};
use super::submissions::{COLUMNS, REVERIFICATION_COLUMNS};
use super::{INSERT_CHUNK, Reverification, Store, StoreError, Submission, now_ms};

/// Where a whole-run re-check stands. Stored as its name; a job is `running` until every
/// submission of the run is re-judged (a failing batch is retried, never given up).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Running,
    Done,
}

impl JobStatus {
    pub const ALL: [JobStatus; 2] = [JobStatus::Running, JobStatus::Done];

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Running => "running",
            JobStatus::Done => "done",
        }
    }
}

/// A stored job status that is not one of [`JobStatus`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown job status `{0}`")]
pub struct UnknownJobStatus(pub String);

impl std::str::FromStr for JobStatus {
    type Err = UnknownJobStatus;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| UnknownJobStatus(text.to_owned()))
    }
}

/// The state of a whole-run re-check.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReverifyJob {
    pub job_id: String,
    pub run_id: String,
    pub status: JobStatus,
    /// Submissions of the run when the job started.
    pub total: u64,
    pub processed: u64,
    /// Re-checks whose verdict differs from the stored one.
    pub changed: u64,
    /// Re-checks whose verdict or reward differs from the stored one.
    pub drifted: u64,
    /// The last submission re-judged: where a resumed job continues.
    pub cursor: Option<String>,
    pub error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

/// How many re-checks of a job went from one verdict to another.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Transition {
    pub old_verdict: String,
    pub new_verdict: String,
    pub count: u64,
}

/// One batch of a re-check job, committed at once with the job's new cursor.
#[derive(Debug, Clone)]
pub struct JobBatch<'a> {
    pub job_id: &'a str,
    /// The cursor the batch started from; the commit is refused when the job moved meanwhile
    /// (another replica, or this one before a restart, already committed it).
    pub from: Option<&'a str>,
    pub to: &'a str,
    pub checks: &'a [Reverification],
}

impl Store {
    pub async fn create_reverify_job(&self, job: &ReverifyJob) -> Result<(), StoreError> {
        dispatch!(self, s => s.create_reverify_job(job).await)
    }

    pub async fn reverify_job(&self, job_id: &str) -> Result<Option<ReverifyJob>, StoreError> {
        dispatch!(self, s => s.reverify_job(job_id).await)
    }

    /// Jobs of `run_id` (or every run), newest first.
    pub async fn reverify_jobs(
        &self,
        run_id: Option<&str>,
        status: Option<JobStatus>,
    ) -> Result<Vec<ReverifyJob>, StoreError> {
        dispatch!(self, s => s.reverify_jobs(run_id, status).await)
    }

    /// Up to `limit` submissions of a run after `after`, oldest first: the order re-check jobs
    /// walk a run in, so that a cursor is one id.
    pub async fn run_submissions_after(
        &self,
        run_id: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Submission>, StoreError> {
        dispatch!(self, s => s.run_submissions_after(run_id, after, limit).await)
    }

    /// Writes a batch's re-checks and moves the job's cursor in one transaction, only if the
    /// cursor is still where the batch started. Returns whether it was committed.
    pub async fn commit_job_batch(&self, batch: &JobBatch<'_>) -> Result<bool, StoreError> {
        dispatch!(self, s => s.commit_job_batch(batch).await)
    }

    /// Marks a job finished with `status`.
    pub async fn finish_reverify_job(
        &self,
        job_id: &str,
        status: JobStatus,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        dispatch!(self, s => s.finish_reverify_job(job_id, status, error).await)
    }

    /// The job's re-checks whose verdict changed, in submission order, at most `limit`.
    pub async fn job_changes(&self, job_id: &str, limit: u32) -> Result<Vec<Reverification>, StoreError> {
        dispatch!(self, s => s.job_changes(job_id, limit).await)
    }

    /// Verdict transitions of a job's re-checks whose verdict changed.
    pub async fn job_transitions(&self, job_id: &str) -> Result<Vec<Transition>, StoreError> {
        dispatch!(self, s => s.job_transitions(job_id).await)
    }
}

/// The columns [`Backend::decode_job`] reads, in the order `create_reverify_job` binds.
const JOB_COLUMNS: &str =
    "job_id, run_id, status, total, processed, changed, drifted, cursor, error, created_at, updated_at";

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
    pub async fn create_reverify_job(&self, job: &ReverifyJob) -> Result<(), StoreError> {
        let _writing = self.writing().await;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "insert into reverify_jobs ({JOB_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        )))
        .bind(&job.job_id)
        .bind(&job.run_id)
        .bind(job.status.as_str().to_owned())
        .bind(stored_count(job.total))
        .bind(stored_count(job.processed))
        .bind(stored_count(job.changed))
        .bind(stored_count(job.drifted))
        .bind(&job.cursor)
        .bind(&job.error)
        .bind(Timestamp(job.created_at))
        .bind(Timestamp(job.updated_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn reverify_job(&self, job_id: &str) -> Result<Option<ReverifyJob>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "select {JOB_COLUMNS} from reverify_jobs where job_id = $1"
        )))
        .bind(job_id.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(Self::decode_job).transpose()
    }

    pub async fn reverify_jobs(
        &self,
        run_id: Option<&str>,
        status: Option<JobStatus>,
    ) -> Result<Vec<ReverifyJob>, StoreError> {
        let mut query =
            QueryBuilder::<DB>::new(format!("select {JOB_COLUMNS} from reverify_jobs where 1 = 1"));
        if let Some(run_id) = run_id {
            query.push(" and run_id = ").push_bind(run_id.to_owned());
        }
        if let Some(status) = status {
            query.push(" and status = ").push_bind(status.as_str().to_owned());
        }
        query.push(" order by job_id desc");
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter().map(Self::decode_job).collect()
    }

    pub async fn run_submissions_after(
        &self,
        run_id: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Submission>, StoreError> {
        let mut query = QueryBuilder::<DB>::new(format!("select {COLUMNS} from submissions where run_id = "));
        query.push_bind(run_id.to_owned());
        if let Some(after) = after {
            query.push(" and submission_id > ").push_bind(after.to_owned());
        }
        query
            .push(" order by submission_id limit ")
            .push_bind(i64::from(limit));
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter().map(Self::decode_submission).collect()
    }

    pub async fn commit_job_batch(&self, batch: &JobBatch<'_>) -> Result<bool, StoreError> {
        let _writing = self.writing().await;
        let mut tx = self.pool.begin().await?;
        let changed = batch
            .checks
            .iter()
            .filter(|c| c.old_verdict != c.new_verdict)
            .count();
        let drifted = batch.checks.iter().filter(|c| c.drifted).count();
        // `is not distinct from` compares NULL too: a job that has not started yet has no cursor.
        let moved = sqlx::query(
            "update reverify_jobs set cursor = $1, processed = processed + $2, changed = changed + $3, \
             drifted = drifted + $4, updated_at = $5 \
             where job_id = $6 and status = 'running' and cursor is not distinct from $7",
        )
        .bind(batch.to.to_owned())
        .bind(batch.checks.len() as i64)
        .bind(changed as i64)
        .bind(drifted as i64)
        .bind(Timestamp(now_ms()))
        .bind(batch.job_id.to_owned())
        .bind(batch.from.map(str::to_owned))
        .execute(&mut *tx)
        .await?;
        if DB::rows_affected(&moved) == 0 {
            return Ok(false);
        }
        for chunk in batch.checks.chunks(INSERT_CHUNK) {
            let mut query = QueryBuilder::<DB>::new(
                "insert into reverifications (reverification_id, submission_id, policy_version, \
                 service_version, old_verdict, old_reward, new_verdict, new_reward, drifted, details, \
                 created_at, job_id) ",
            );
            query.push_values(chunk, |mut row, r| {
                row.push_bind(&r.reverification_id)
                    .push_bind(&r.submission_id)
                    .push_bind(&r.policy_version)
                    .push_bind(&r.service_version)
                    .push_bind(&r.old_verdict)
                    .push_bind(r.old_reward)
                    .push_bind(&r.new_verdict)
                    .push_bind(r.new_reward)
                    .push_bind(r.drifted)
                    .push_bind(JsonDoc(&r.details))
                    .push_bind(Timestamp(r.created_at))
                    .push_bind(batch.job_id.to_owned());
            });
            query.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    pub async fn finish_reverify_job(
        &self,
        job_id: &str,
        status: JobStatus,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let _writing = self.writing().await;
        sqlx::query("update reverify_jobs set status = $1, error = $2, updated_at = $3 where job_id = $4")
            .bind(status.as_str().to_owned())
            .bind(error.map(str::to_owned))
            .bind(Timestamp(now_ms()))
            .bind(job_id.to_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn job_changes(&self, job_id: &str, limit: u32) -> Result<Vec<Reverification>, StoreError> {
        // Only constants go into the text; values are bound.
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "select {REVERIFICATION_COLUMNS} from reverifications \
             where job_id = $1 and old_verdict <> new_verdict order by submission_id limit $2"
        )))
        .bind(job_id.to_owned())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Self::decode_reverification).collect()
    }

    pub async fn job_transitions(&self, job_id: &str) -> Result<Vec<Transition>, StoreError> {
        let rows = sqlx::query(
            "select old_verdict, new_verdict, count(*) as n from reverifications \
             where job_id = $1 and old_verdict <> new_verdict group by old_verdict, new_verdict \
             order by n desc, old_verdict, new_verdict",
        )
        .bind(job_id.to_owned())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Transition {
                    old_verdict: row.try_get("old_verdict")?,
                    new_verdict: row.try_get("new_verdict")?,
                    count: count(row.try_get("n")?),
                })
            })
            .collect()
    }

    /// A job as stored, from a row with [`JOB_COLUMNS`].
    fn decode_job(row: &DB::Row) -> Result<ReverifyJob, StoreError> {
        Ok(ReverifyJob {
            job_id: row.try_get("job_id")?,
            run_id: row.try_get("run_id")?,
            status: row
                .try_get::<String, _>("status")?
                .parse()
                .map_err(|unknown| sqlx::Error::Decode(Box::new(unknown)))?,
            total: count(row.try_get("total")?),
            processed: count(row.try_get("processed")?),
            changed: count(row.try_get("changed")?),
            drifted: count(row.try_get("drifted")?),
            cursor: row.try_get("cursor")?,
            error: row.try_get("error")?,
            created_at: row.try_get::<Timestamp, _>("created_at")?.0,
            updated_at: row.try_get::<Timestamp, _>("updated_at")?.0,
        })
    }
}
