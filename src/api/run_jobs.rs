//! Whole-run re-checks over HTTP: `POST /v1/runs/{run_id}/reverify` starts the background job
//! ([`crate::jobs`]) and `GET` reports its progress and the verdicts that flipped.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::query::{ApiQuery, FromQuery, QueryPairs};
use crate::jobs::{self, JobError, ReverifyReport};

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
    tag = "run_jobs",
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
    let started = state.jobs.start(&state.grader, &run_id).await?;
    let status = if started.already_running {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let report = jobs::report(&state.grader, started.job).await?;
    Ok((status, Json(report)).into_response())
}

/// Which job of the run (the newest when absent).
pub struct JobChoice(Option<String>);

impl FromQuery for JobChoice {
    fn from_query(params: &mut QueryPairs) -> Result<Self, ApiError> {
        Ok(JobChoice(params.take("job_id")))
    }
}

/// The progress and findings of the run's newest re-check job (or `job_id`).
#[utoipa::path(
    get,
    tag = "run_jobs",
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
    ApiQuery(JobChoice(job_id)): ApiQuery<JobChoice>,
) -> Result<Json<ReverifyReport>, ApiError> {
    let store = state.grader.recorder.store();
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
    Ok(Json(jobs::report(&state.grader, job).await?))
}

impl From<JobError> for ApiError {
    fn from(error: JobError) -> Self {
        match error {
            JobError::NoSuchRun(_) | JobError::Vanished => {
                Self::new(StatusCode::NOT_FOUND, "not_found", error.to_string())
            }
            JobError::Store(error) => error.into(),
        }
    }
}
