//! Whole-run re-checks: a background job judges
//! every stored submission of a run again with today's verifier and policies, and the report
//! of its progress and the verdicts that flipped (`/v1/runs/{run_id}/reverify`, `verdict reverify`).
//!
//! The job walks the run in submission-id order. Each batch's re-checks are committed in one
//! transaction together with the job's new cursor, and only if the cursor is still where the
//! batch began: a job interrupted by a restart resumes at the next start-up from its last
//! committed batch, and a batch committed twice (two replicas resuming the same job) is
//! impossible, so every submission is re-checked exactly once per job.

mod recheck;
mod report;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

pub use recheck::recheck;
pub use report::{FlipExample, ReverifyReport, report};

use crate::grading::Grader;
use crate::store::{self, JobBatch, JobStatus, ReverifyJob, SubmissionFilter};

/// Wait before retrying a batch the database refused.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Why a job could not be started or followed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("no run `{0}`")]
    NoSuchRun(String),
    #[error("the job vanished")]
    Vanished,
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

/// A job as `start` left it: newly started, or the run's job that was already running.
pub struct Started {
    pub job: ReverifyJob,
    pub already_running: bool,
}

/// The jobs this process is running, and the signal that stops them at shutdown (they stay
/// `running` in the database and resume at the next start).
pub struct JobRunner {
    stop: watch::Sender<bool>,
    active: Mutex<HashSet<String>>,
}

impl Default for JobRunner {
    fn default() -> Self {
        Self {
            stop: watch::channel(false).0,
            active: Mutex::new(HashSet::new()),
        }
    }
}

impl JobRunner {
    /// Stops every job after its current batch.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    fn claim(&self, job_id: &str) -> bool {
        self.active
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(job_id.to_owned())
    }

    fn release(&self, job_id: &str) {
        self.active
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(job_id);
    }

    /// Resumes every job left `running` in the database (by a stop or a crash).
    pub async fn resume(self: &Arc<Self>, grader: &Grader) -> Result<usize, store::StoreError> {
        let jobs = grader
            .recorder
            .store()
            .reverify_jobs(None, Some(JobStatus::Running))
            .await?;
        for job in &jobs {
            tracing::info!(job_id = %job.job_id, run_id = %job.run_id, processed = job.processed, "resuming re-check job");
            self.spawn(grader.clone(), job.job_id.clone());
        }
        Ok(jobs.len())
    }

    /// Starts re-judging every stored submission of a run in the background, or (while a job
    /// of the run is running) makes sure that one is being worked on and answers it.
    pub async fn start(self: &Arc<Self>, grader: &Grader, run_id: &str) -> Result<Started, JobError> {
        let store = grader.recorder.store();
        if let Some(running) = store
            .reverify_jobs(Some(run_id), Some(JobStatus::Running))
            .await?
            .into_iter()
            .next()
        {
            self.spawn(grader.clone(), running.job_id.clone());
            return Ok(Started {
                job: running,
                already_running: true,
            });
        }
        let total = store
            .count_submissions(&SubmissionFilter {
                run_id: Some(run_id.to_owned()),
                ..SubmissionFilter::default()
            })
            .await?;
        if total == 0 {
            return Err(JobError::NoSuchRun(run_id.to_owned()));
        }
        let now = store::now_ms();
        let job = ReverifyJob {
            job_id: store::new_id(),
            run_id: run_id.to_owned(),
            status: JobStatus::Running,
            total,
            processed: 0,
            changed: 0,
            drifted: 0,
            cursor: None,
            error: None,
            created_at: now,
            updated_at: now,
        };
        store.create_reverify_job(&job).await?;
        self.spawn(grader.clone(), job.job_id.clone());
        Ok(Started {
            job,
            already_running: false,
        })
    }

    /// Starts or resumes the run's job and waits for it, reporting progress: `verdict reverify`.
    pub async fn run_to_completion(
        self: &Arc<Self>,
        grader: &Grader,
        run_id: &str,
        mut progress: impl FnMut(&ReverifyJob),
    ) -> Result<ReverifyReport, JobError> {
        let job_id = self.start(grader, run_id).await?.job.job_id;
        let store = grader.recorder.store();
        loop {
            let job = store.reverify_job(&job_id).await?.ok_or(JobError::Vanished)?;
            progress(&job);
            if job.status != JobStatus::Running {
                return Ok(report(grader, job).await?);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn spawn(self: &Arc<Self>, grader: Grader, job_id: String) {
        if !self.claim(&job_id) {
            return;
        }
        let runner = self.clone();
        tokio::spawn(async move {
            runner.work(&grader, &job_id).await;
            runner.release(&job_id);
        });
    }

    async fn work(&self, grader: &Grader, job_id: &str) {
        let mut stop = self.stop.subscribe();
        let pace = grader.config.reverify;
        loop {
            if *stop.borrow() {
                return;
            }
            match step(grader, job_id, pace.batch).await {
                Ok(Step::More) => {}
                Ok(Step::Finished) => return,
                Err(error) => {
                    tracing::error!(job_id, error = %store::error_chain(&error), "re-check batch failed; retrying");
                    let _ = tokio::time::timeout(RETRY_AFTER, stop.changed()).await;
                    continue;
                }
            }
            if !pace.pause.is_zero() {
                let _ = tokio::time::timeout(pace.pause, stop.changed()).await;
            }
        }
    }
}

enum Step {
    More,
    Finished,
}

/// One batch: read, judge, commit with the cursor. A batch whose commit is refused (the job
/// moved meanwhile) is dropped and the next step starts from the new cursor.
async fn step(grader: &Grader, job_id: &str, batch: u32) -> Result<Step, store::StoreError> {
    let store = grader.recorder.store();
    let Some(job) = store.reverify_job(job_id).await? else {
        return Ok(Step::Finished);
    };
    if job.status != JobStatus::Running {
        return Ok(Step::Finished);
    }
    let page = store
        .run_submissions_after(&job.run_id, job.cursor.as_deref(), batch)
        .await?;
    let Some(last) = page.last().map(|s| s.submission_id.clone()) else {
        store.finish_reverify_job(job_id, JobStatus::Done, None).await?;
        tracing::info!(job_id, run_id = %job.run_id, processed = job.processed, changed = job.changed, "re-check job done");
        return Ok(Step::Finished);
    };
    let checks = futures_util::future::join_all(page.iter().map(|s| recheck(grader, s))).await;
    store
        .commit_job_batch(&JobBatch {
            job_id,
            from: job.cursor.as_deref(),
            to: &last,
            checks: &checks,
        })
        .await?;
    Ok(Step::More)
}
