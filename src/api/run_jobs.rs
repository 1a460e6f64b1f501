//! Whole-run re-checks: `POST /v1/runs/{run_id}/reverify` starts a background job that judges
//! every stored submission of the run again with today's verifier and policies, and
//! `GET /v1/runs/{run_id}/reverify` reports its progress and the verdicts that flipped.
//!
//! The job walks the run in submission-id order. Each batch's re-checks are committed in one
//! transaction together with the job's new cursor, and only if the cursor is still where the
//! batch began: a job interrupted by a restart resumes at the next start-up from its last
//! committed batch, and a batch committed twice (two replicas resuming the same job) is
//! impossible, so every submission is re-checked exactly once per job.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::rewards::{judge_one, parse_item};
use crate::reward;
use crate::store::{self, JobBatch, Reverification, ReverifyJob, Submission, SubmissionFilter, Transition};

/// Changed submissions listed in a report; the counts are always complete.
const MAX_LISTED: u32 = 10_000;
/// Flips shown with their completions.
const EXAMPLES: usize = 10;
/// Characters of a completion shown in an example.
const EXCERPT_CHARS: usize = 400;
/// Wait before retrying a batch the database refused.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// How fast re-check jobs go: rows per committed batch, and an optional pause between
/// batches so that a re-check does not crowd out the training traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReverifyPace {
    pub batch: u32,
    pub pause: Duration,
}

impl Default for ReverifyPace {
    fn default() -> Self {
        Self {
            batch: 200,
            pause: Duration::ZERO,
        }
    }
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
}

/// Resumes every job left `running` in the database (by a stop or a crash).
pub async fn resume_jobs(state: &AppState) -> Result<usize, store::StoreError> {
    let jobs = state
        .recorder
        .store()
        .reverify_jobs(None, Some("running"))
        .await?;
    for job in &jobs {
        tracing::info!(job_id = %job.job_id, run_id = %job.run_id, processed = job.processed, "resuming re-check job");
        spawn(state.clone(), job.job_id.clone());
    }
    Ok(jobs.len())
}

fn spawn(state: AppState, job_id: String) {
    if !state.jobs.claim(&job_id) {
        return;
    }
    tokio::spawn(async move {
        work(&state, &job_id).await;
        state.jobs.release(&job_id);
    });
}

async fn work(state: &AppState, job_id: &str) {
    let mut stop = state.jobs.stop.subscribe();
    let pace = state.config.reverify;
    loop {
        if *stop.borrow() {
            return;
        }
        match step(state, job_id, pace.batch).await {
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

enum Step {
    More,
    Finished,
}

/// One batch: read, judge, commit with the cursor. A batch whose commit is refused (the job
/// moved meanwhile) is dropped and the next step starts from the new cursor.
async fn step(state: &AppState, job_id: &str, batch: u32) -> Result<Step, store::StoreError> {
    let store = state.recorder.store();
    let Some(job) = store.reverify_job(job_id).await? else {
        return Ok(Step::Finished);
    };
    if job.status != "running" {
        return Ok(Step::Finished);
    }
    let page = store
        .run_submissions_after(&job.run_id, job.cursor.as_deref(), batch)
        .await?;
    let Some(last) = page.last().map(|s| s.submission_id.clone()) else {
        store.finish_reverify_job(job_id, "done", None).await?;
        tracing::info!(job_id, run_id = %job.run_id, processed = job.processed, changed = job.changed, "re-check job done");
        return Ok(Step::Finished);
    };
    let checks = futures_util::future::join_all(page.iter().map(|s| recheck(state, s))).await;
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

/// Judges a stored submission again as it was sent (task, completion and the client's length
/// signals) under today's policy of the same name.
pub(super) async fn recheck(state: &AppState, old: &Submission) -> Reverification {
    let raw = json!({
        "id": old.item_id,
        "prompt": old.prompt,
        "completion": old.completion,
        "task": old.task,
        "truncated": old.truncated,
        "completion_tokens": old.completion_tokens,
    });
    let policy = state.config.policies.get(&old.policy);
    let outcome = match (&policy, parse_item(raw)) {
        (None, _) => Err(json!({ "error": { "code": "policy_gone",
            "message": format!("policy `{}` is no longer configured", old.policy) } })),
        (Some(policy), Ok(item)) => judge_one(state, item, policy.clone())
            .await
            .map(|mut judgement| {
                reward::carry_group_terms(&mut judgement, &old.components, policy);
                judgement
            })
            .map_err(|error| json!({ "error": error })),
        (Some(_), Err(error)) => Err(json!({ "error": error })),
    };
    // An item today's code cannot judge is reported as verdict `error`, never as a reward of
    // 0 that was earned.
    let (new_verdict, new_reward, details) = match outcome {
        Ok(judgement) => (
            judgement.verdict.as_str().to_owned(),
            judgement.reward,
            json!({ "extracted": judgement.extracted, "format_ok": judgement.format_ok,
                    "components": judgement.components, "details": judgement.details }),
        ),
        Err(details) => ("error".to_owned(), 0.0, details),
    };
    Reverification {
        reverification_id: store::new_id(),
        submission_id: old.submission_id.clone(),
        policy_version: policy.map_or_else(|| "gone".to_owned(), |p| p.version()),
        service_version: env!("CARGO_PKG_VERSION").to_owned(),
        drifted: new_verdict != old.verdict || (new_reward - old.reward).abs() > 1e-9,
        old_verdict: old.verdict.clone(),
        old_reward: old.reward,
        new_verdict,
        new_reward,
        details,
        created_at: store::now_ms(),
    }
}

/// A job with what it found so far.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReverifyReport {
    #[serde(flatten)]
    pub job: ReverifyJob,
    /// `processed / total`, 1 when done.
    pub progress: f64,
    /// Re-checks from a success (`correct`, `accepted`) to anything else.
    pub flips_to_failure: u64,
    /// Re-checks from anything else to a success.
    pub flips_to_success: u64,
    /// Every verdict change by old and new verdict.
    pub transitions: Vec<Transition>,
    /// The submissions whose verdict changed, in id order (at most 10,000 listed).
    pub changed_submissions: Vec<String>,
    /// A few of them with their completions.
    pub examples: Vec<FlipExample>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FlipExample {
    pub submission_id: String,
    pub item_id: Option<String>,
    pub old_verdict: String,
    pub new_verdict: String,
    pub old_reward: f64,
    pub new_reward: f64,
    pub stored_extracted: Option<String>,
    /// What today's verifier extracted and why it decided.
    #[schema(value_type = Object)]
    pub new_details: Value,
    /// The completion's first 400 characters.
    pub completion: String,
}

/// The report's query: a job of the run other than its newest.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "describes the query parameter; the handler decodes it")]
pub struct ReportQuery {
    /// A job id from `POST`; the run's newest job when absent.
    #[param(pattern = "^[0-9A-HJKMNP-TV-Z]{26}$")]
    job_id: Option<String>,
}

/// Starts re-judging every stored submission of a run in the background; answers at once
/// with the job (202). While a job of the run is running, answers that job (200).
#[utoipa::path(
    post,
    operation_id = "start_run_reverify",
    path = "/v1/runs/{run_id}/reverify",
    params(("run_id" = String, Path, description = "The run to re-check")),
    responses(
        (status = 202, description = "A job started", body = ReverifyReport),
        (status = 200, description = "A job of this run is already running", body = ReverifyReport),
        (status = 404, description = "No submission carries this run id", body = ErrorBody),
    )
)]
pub async fn start(State(state): State<AppState>, Path(run_id): Path<String>) -> Result<Response, ApiError> {
    let store = state.recorder.store();
    if let Some(running) = store
        .reverify_jobs(Some(&run_id), Some("running"))
        .await?
        .into_iter()
        .next()
    {
        spawn(state.clone(), running.job_id.clone());
        return Ok((StatusCode::OK, Json(report(&state, running).await?)).into_response());
    }
    let total = store
        .count_submissions(&SubmissionFilter {
            run_id: Some(run_id.clone()),
            ..SubmissionFilter::default()
        })
        .await?;
    if total == 0 {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no run `{run_id}`"),
        ));
    }
    let now = store::now_ms();
    let job = ReverifyJob {
        job_id: store::new_id(),
        run_id,
        status: "running".to_owned(),
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
    spawn(state.clone(), job.job_id.clone());
    Ok((StatusCode::ACCEPTED, Json(report(&state, job).await?)).into_response())
}

/// The progress and findings of the run's newest re-check job (or `job_id`).
#[utoipa::path(
    get,
    operation_id = "run_reverify_status",
    path = "/v1/runs/{run_id}/reverify",
    params(("run_id" = String, Path, description = "The re-checked run"), ReportQuery),
    responses(
        (status = 200, description = "Progress, flips and examples", body = ReverifyReport),
        (status = 404, description = "No such job for this run", body = ErrorBody),
        (status = 422, description = "A parameter is invalid; `field` names it", body = ErrorBody),
    )
)]
pub async fn status(
    State(state): State<AppState>,
    Path(run_id): Path<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<ReverifyReport>, ApiError> {
    let Query(pairs) = query.map_err(|rejection| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", rejection.body_text())
    })?;
    let mut job_id = None;
    for (key, value) in pairs {
        match key.as_str() {
            "job_id" => job_id = Some(value),
            other => {
                return Err(ApiError::invalid_field(
                    other,
                    format!("unknown query parameter `{other}`"),
                ));
            }
        }
    }
    let store = state.recorder.store();
    let job = match job_id {
        Some(id) => store.reverify_job(&id).await?.filter(|job| job.run_id == run_id),
        None => store.reverify_jobs(Some(&run_id), None).await?.into_iter().next(),
    };
    let job = job.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no re-check job for run `{run_id}`"),
        )
    })?;
    Ok(Json(report(&state, job).await?))
}

/// Reads a job's findings. Shared with `verdict reverify`.
pub async fn report(state: &AppState, job: ReverifyJob) -> Result<ReverifyReport, store::StoreError> {
    let store = state.recorder.store();
    let transitions = store.job_transitions(&job.job_id).await?;
    let success = |verdict: &str| matches!(verdict, "correct" | "accepted");
    let (mut to_failure, mut to_success) = (0, 0);
    for t in &transitions {
        match (success(&t.old_verdict), success(&t.new_verdict)) {
            (true, false) => to_failure += t.count,
            (false, true) => to_success += t.count,
            _ => {}
        }
    }
    let changes = store.job_changes(&job.job_id, MAX_LISTED).await?;
    let mut examples = Vec::new();
    for change in changes.iter().take(EXAMPLES) {
        let stored = store.submission(&change.submission_id).await?;
        examples.push(FlipExample {
            submission_id: change.submission_id.clone(),
            item_id: stored.as_ref().and_then(|s| s.item_id.clone()),
            old_verdict: change.old_verdict.clone(),
            new_verdict: change.new_verdict.clone(),
            old_reward: change.old_reward,
            new_reward: change.new_reward,
            stored_extracted: stored.as_ref().and_then(|s| s.extracted.clone()),
            new_details: change.details.clone(),
            completion: stored
                .map(|s| s.completion.chars().take(EXCERPT_CHARS).collect())
                .unwrap_or_default(),
        });
    }
    let progress = if job.status == "done" || job.total == 0 {
        1.0
    } else {
        (job.processed as f64 / job.total as f64).min(1.0)
    };
    Ok(ReverifyReport {
        progress,
        flips_to_failure: to_failure,
        flips_to_success: to_success,
        transitions,
        changed_submissions: changes.into_iter().map(|c| c.submission_id).collect(),
        examples,
        job,
    })
}

/// Starts or resumes the run's job and waits for it, reporting progress: `verdict reverify`.
pub async fn run_to_completion(
    state: &AppState,
    run_id: &str,
    mut progress: impl FnMut(&ReverifyJob),
) -> Result<ReverifyReport, ApiError> {
    let response = start(State(state.clone()), Path(run_id.to_owned())).await?;
    if !response.status().is_success() {
        return Err(ApiError::new(
            response.status(),
            "reverify_failed",
            "the job did not start",
        ));
    }
    let store = state.recorder.store();
    let job_id = store
        .reverify_jobs(Some(run_id), Some("running"))
        .await?
        .into_iter()
        .next()
        .map(|job| job.job_id);
    let job_id = match job_id {
        Some(id) => id,
        // Finished before we looked: the newest job is ours.
        None => store
            .reverify_jobs(Some(run_id), None)
            .await?
            .into_iter()
            .next()
            .map(|job| job.job_id)
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "the job vanished"))?,
    };
    loop {
        let job = store
            .reverify_job(&job_id)
            .await?
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "the job vanished"))?;
        progress(&job);
        if job.status != "running" {
            return Ok(report(state, job).await?);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
