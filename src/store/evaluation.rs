//! The records of evaluation work: registered datasets and their entries, and whole-run
//! re-check jobs with their progress. The SQL is in `sqlite_eval.rs` and `postgres_eval.rs`;
//! this file holds the shared types and the backend-independent entry points.
use serde::Serialize;
use time::OffsetDateTime;

use super::{Reverification, Store, StoreError, Submission};

/// One registered dataset version.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DatasetVersion {
    pub name: String,
    /// The content hash of the entries: the same content always has the same version.
    pub version: String,
    /// The source shape the entries were imported from (`native`, `math500`, `gsm8k`, `humaneval`).
    pub shape: String,
    pub entries: u64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

/// Dataset entries are the dataset module's type; the store only keeps them.
pub use crate::dataset::StoredEntry;

/// The state of a whole-run re-check.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReverifyJob {
    pub job_id: String,
    pub run_id: String,
    /// `running`, `done` or `failed`.
    pub status: String,
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

/// Whether a dataset upload created a version or found it already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    Created,
    Existing,
}

impl Store {
    /// Stores a dataset version and its entries in one transaction; a version already stored
    /// is left as it is (its content is the same: the version is the content hash).
    pub async fn insert_dataset(
        &self,
        version: &DatasetVersion,
        entries: &[StoredEntry],
    ) -> Result<Registered, StoreError> {
        dispatch!(self, s => s.insert_dataset(version, entries).await)
    }

    /// Every stored version (of `name` only, when given), newest first.
    pub async fn dataset_versions(&self, name: Option<&str>) -> Result<Vec<DatasetVersion>, StoreError> {
        dispatch!(self, s => s.dataset_versions(name).await)
    }

    /// Every entry of one version, in upload order.
    pub async fn dataset_entries(&self, name: &str, version: &str) -> Result<Vec<StoredEntry>, StoreError> {
        dispatch!(self, s => s.dataset_entries(name, version).await)
    }

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
        status: Option<&str>,
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

    /// Marks a job `done` or `failed`.
    pub async fn finish_reverify_job(
        &self,
        job_id: &str,
        status: &str,
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
