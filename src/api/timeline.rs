//! `GET /v1/runs/{run_id}/timeline`: a run's reward and accuracy over time, for the audit UI's
//! chart and for scripts that plot a run.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::query::{ApiQuery, FromQuery, QueryPairs};
use crate::store::{MAX_BUCKETS, Timeline};

/// Buckets when the caller gives none: enough points for a readable line on a laptop screen.
const DEFAULT_BUCKETS: u32 = 50;

/// The query of the timeline.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "describes the query parameter; the handler decodes it")]
pub struct TimelineQuery {
    /// How many equal slices the run's span is cut into (default 50).
    #[param(minimum = 1, maximum = 1000)]
    buckets: Option<u32>,
}

/// How many buckets the timeline has.
pub struct Buckets(u32);

impl FromQuery for Buckets {
    fn from_query(params: &mut QueryPairs) -> Result<Self, ApiError> {
        Ok(Buckets(
            params
                .whole("buckets", 1..=MAX_BUCKETS)?
                .unwrap_or(DEFAULT_BUCKETS),
        ))
    }
}

/// A run's span, first to last submission, cut into equal buckets with each bucket's count,
/// mean reward, accuracy and format rates. Empty buckets are left out.
#[utoipa::path(
    get,
    tag = "timeline",
    path = "/v1/runs/{run_id}/timeline",
    params(("run_id" = String, Path, description = "The `run_id` sent with `/v1/rewards`"), TimelineQuery),
    responses(
        (status = 200, description = "The run's buckets, oldest first", body = Timeline),
        (status = 404, description = "No submission carries this run id", body = ErrorBody),
        (status = 422, description = "A parameter is invalid; `field` names it", body = ErrorBody),
    )
)]
pub async fn timeline(
    State(state): State<AppState>,
    Path(run_id): Path<String>,
    ApiQuery(Buckets(buckets)): ApiQuery<Buckets>,
) -> Result<Json<Timeline>, ApiError> {
    state
        .grader
        .recorder
        .store()
        .timeline(&run_id, buckets)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no run `{run_id}`")))
}
