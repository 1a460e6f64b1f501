//! PostgreSQL SQL of datasets and re-check jobs (see `evaluation.rs` for the types).

use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{Postgres, QueryBuilder, Row};

use super::evaluation::{DatasetVersion, JobBatch, Registered, ReverifyJob, StoredEntry, Transition};
use super::postgres::{
    COLUMNS, PgStore, REVERIFICATION_COLUMNS, decode_reverification, decode_submission, json, text,
};
use super::{INSERT_CHUNK, Reverification, StoreError, Submission, now_ms};

const JOB_COLUMNS: &str =
    "job_id, run_id, status, total, processed, changed, drifted, cursor, error, created_at, updated_at";

impl PgStore {
    pub async fn insert_dataset(
        &self,
        version: &DatasetVersion,
        entries: &[StoredEntry],
    ) -> Result<Registered, StoreError> {
        let mut tx = self.pool.begin().await?;
        let created = sqlx::query(
            "insert into datasets (name, version, shape, entries, created_at) values ($1, $2, $3, $4, $5) \
             on conflict (name, version) do nothing",
        )
        .bind(version.name.clone())
        .bind(version.version.clone())
        .bind(version.shape.clone())
        .bind(i64::try_from(version.entries).unwrap_or(i64::MAX))
        .bind(version.created_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if created == 0 {
            return Ok(Registered::Existing);
        }
        let mut position = 0_i64;
        for chunk in entries.chunks(INSERT_CHUNK) {
            let mut query = QueryBuilder::<Postgres>::new(
                "insert into dataset_entries (name, version, entry_id, position, prompt, task, metadata) ",
            );
            query.push_values(chunk, |mut row, entry| {
                row.push_bind(version.name.clone())
                    .push_bind(version.version.clone())
                    .push_bind(text(&entry.id))
                    .push_bind(position)
                    .push_bind(entry.prompt.as_deref().map(text))
                    .push_bind(json(&entry.task))
                    .push_bind(json(&serde_json::to_value(&entry.metadata).unwrap_or_default()));
                position += 1;
            });
            query.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(Registered::Created)
    }

    pub async fn dataset_versions(&self, name: Option<&str>) -> Result<Vec<DatasetVersion>, StoreError> {
        let mut query = QueryBuilder::<Postgres>::new(
            "select name, version, shape, entries, created_at from datasets where 1 = 1",
        );
        if let Some(name) = name {
            query.push(" and name = ").push_bind(name.to_owned());
        }
        query.push(" order by created_at desc, name, version");
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(DatasetVersion {
                    name: row.try_get("name")?,
                    version: row.try_get("version")?,
                    shape: row.try_get("shape")?,
                    entries: u64::try_from(row.try_get::<i64, _>("entries")?).unwrap_or(0),
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    pub async fn dataset_entries(&self, name: &str, version: &str) -> Result<Vec<StoredEntry>, StoreError> {
        let rows = sqlx::query(
            "select entry_id, prompt, task, metadata from dataset_entries \
             where name = $1 and version = $2 order by position",
        )
        .bind(name.to_owned())
        .bind(version.to_owned())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StoredEntry {
                    id: row.try_get("entry_id")?,
                    prompt: row.try_get("prompt")?,
                    task: row.try_get::<Json<serde_json::Value>, _>("task")?.0,
                    metadata: row
                        .try_get::<Json<std::collections::BTreeMap<String, serde_json::Value>>, _>(
                            "metadata",
                        )?
                        .0,
                })
            })
            .collect()
    }

    pub async fn create_reverify_job(&self, job: &ReverifyJob) -> Result<(), StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "insert into reverify_jobs ({JOB_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        )))
        .bind(job.job_id.clone())
        .bind(job.run_id.clone())
        .bind(job.status.clone())
        .bind(count(job.total))
        .bind(count(job.processed))
        .bind(count(job.changed))
        .bind(count(job.drifted))
        .bind(job.cursor.clone())
        .bind(job.error.clone())
        .bind(job.created_at)
        .bind(job.updated_at)
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
        row.as_ref().map(decode_job).transpose()
    }

    pub async fn reverify_jobs(
        &self,
        run_id: Option<&str>,
        status: Option<&str>,
    ) -> Result<Vec<ReverifyJob>, StoreError> {
        let mut query =
            QueryBuilder::<Postgres>::new(format!("select {JOB_COLUMNS} from reverify_jobs where 1 = 1"));
        if let Some(run_id) = run_id {
            query.push(" and run_id = ").push_bind(run_id.to_owned());
        }
        if let Some(status) = status {
            query.push(" and status = ").push_bind(status.to_owned());
        }
        query.push(" order by job_id desc");
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter().map(decode_job).collect()
    }

    pub async fn run_submissions_after(
        &self,
        run_id: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Submission>, StoreError> {
        let mut query =
            QueryBuilder::<Postgres>::new(format!("select {COLUMNS} from submissions where run_id = "));
        query.push_bind(run_id.to_owned());
        if let Some(after) = after {
            query.push(" and submission_id > ").push_bind(after.to_owned());
        }
        query
            .push(" order by submission_id limit ")
            .push_bind(i64::from(limit));
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter().map(decode_submission).collect()
    }

    pub async fn commit_job_batch(&self, batch: &JobBatch<'_>) -> Result<bool, StoreError> {
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
             drifted = drifted + $4, updated_at = $5 where job_id = $6 and status = 'running' and cursor is not distinct from $7",
        )
        .bind(batch.to.to_owned())
        .bind(batch.checks.len() as i64)
        .bind(changed as i64)
        .bind(drifted as i64)
        .bind(now_ms())
        .bind(batch.job_id.to_owned())
        .bind(batch.from.map(str::to_owned))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved == 0 {
            return Ok(false);
        }
        for chunk in batch.checks.chunks(INSERT_CHUNK) {
            let mut query = QueryBuilder::<Postgres>::new(
                "insert into reverifications (reverification_id, submission_id, policy_version, \
                 service_version, old_verdict, old_reward, new_verdict, new_reward, drifted, details, \
                 created_at, job_id) ",
            );
            query.push_values(chunk, |mut row, r| {
                row.push_bind(r.reverification_id.clone())
                    .push_bind(r.submission_id.clone())
                    .push_bind(r.policy_version.clone())
                    .push_bind(r.service_version.clone())
                    .push_bind(r.old_verdict.clone())
                    .push_bind(r.old_reward)
                    .push_bind(r.new_verdict.clone())
                    .push_bind(r.new_reward)
                    .push_bind(r.drifted)
                    .push_bind(json(&r.details))
                    .push_bind(r.created_at)
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
        status: &str,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query("update reverify_jobs set status = $1, error = $2, updated_at = $3 where job_id = $4")
            .bind(status.to_owned())
            .bind(error.map(str::to_owned))
            .bind(now_ms())
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
        rows.iter()
            .map(|row| decode_reverification(row).map_err(StoreError::from))
            .collect()
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
                    count: u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0),
                })
            })
            .collect()
    }
}

fn count(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn decode_job(row: &PgRow) -> Result<ReverifyJob, StoreError> {
    let count = |name: &str| -> Result<u64, StoreError> {
        Ok(u64::try_from(row.try_get::<i64, _>(name)?).unwrap_or(0))
    };
    Ok(ReverifyJob {
        job_id: row.try_get("job_id")?,
        run_id: row.try_get("run_id")?,
        status: row.try_get("status")?,
        total: count("total")?,
        processed: count("processed")?,
        changed: count("changed")?,
        drifted: count("drifted")?,
        cursor: row.try_get("cursor")?,
        error: row.try_get("error")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}
