//! `GET /v1/runs/{run_id}/metrics`: pass@k, mean@k and majority@k over a run's stored
//! verdicts, overall and per metadata field of the dataset entries it used.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;

use super::AppState;
use super::error::{ApiError, ErrorBody};
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

/// Evaluation metrics of a run. Problems are dataset entries (else groups, else identical
/// tasks); samples are the run's submissions for them in the order they were judged.
#[utoipa::path(
    get,
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
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<RunMetrics>, ApiError> {
    let Query(pairs) = query.map_err(|rejection| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", rejection.body_text())
    })?;
    let mut ks = vec![1];
    for (key, value) in pairs {
        match key.as_str() {
            "k" => ks = parse_ks(&value).map_err(|message| ApiError::invalid_field("k", message))?,
            other => {
                return Err(ApiError::invalid_field(
                    other,
                    format!("unknown query parameter `{other}`"),
                ));
            }
        }
    }
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
