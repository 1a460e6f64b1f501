//! `GET /v1/runs/{run_id}/metrics`: pass@k, mean@k and majority@k over a run's stored
//! verdicts, overall and per metadata field of the dataset entries it used.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::query::{ApiQuery, FromQuery, QueryPairs};
use crate::eval::load::{RunMetrics, problems, run_metrics};
use crate::wire::parse_ks;

#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "describes the query parameter; the handler decodes it")]
pub struct MetricsQuery {
    /// Comma-separated sample counts from 1 to 1024, at most 16 of them, e.g. `1,4,8`
    /// (default `1`).
    #[param(
        pattern = "^(?:[1-9][0-9]{0,2}|10[01][0-9]|102[0-4])(?:,(?:[1-9][0-9]{0,2}|10[01][0-9]|102[0-4])){0,15}$"
    )]
    k: Option<String>,
}

/// The `k`s of pass@k (default 1).
pub struct Ks(Vec<u64>);

impl FromQuery for Ks {
    fn from_query(params: &mut QueryPairs) -> Result<Self, ApiError> {
        let ks = match params.take("k") {
            None => vec![1],
            Some(value) => parse_ks(&value).map_err(|message| ApiError::invalid_field("k", message))?,
        };
        Ok(Ks(ks))
    }
}

/// Evaluation metrics of a run. Problems are dataset entries (else groups, else identical
/// tasks); samples are the run's submissions for them in the order they were judged.
#[utoipa::path(
    get,
    tag = "evaluation",
    operation_id = "run_metrics",
    path = "/v1/runs/{run_id}/metrics",
    params(("run_id" = String, Path, description = "The run to evaluate"), MetricsQuery),
    responses(
        (status = 200, description = "Metrics overall and by dataset, subject, level and other metadata", body = RunMetrics),
        (status = 404, description = "No submission carries this run id", body = ErrorBody),
        (status = 422, description = "`k` is invalid", body = ErrorBody),
    )
)]
pub async fn metrics(
    State(state): State<AppState>,
    Path(run_id): Path<String>,
    ApiQuery(Ks(ks)): ApiQuery<Ks>,
) -> Result<Json<RunMetrics>, ApiError> {
    let problems = problems(state.grader.recorder.store(), &run_id).await?;
    if problems.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no run `{run_id}`"),
        ));
    }
    Ok(Json(run_metrics(&run_id, &problems, &ks)))
}
