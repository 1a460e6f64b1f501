//! `POST /v1/rewards`: the training hot path. The batch is judged and recorded by the
//! application layer ([`crate::grading`]); this answers one result per item, in order, each
//! judged one with its `submission_id`, and the per-group statistics when items have groups.

use axum::Json;
use axum::extract::State;

use super::AppState;
use super::error::{ApiError, ApiJson, ErrorBody};
use crate::wire::{ItemResult, RewardRequest, RewardResponse};

#[utoipa::path(
    post,
    tag = "rewards",
    path = "/v1/rewards",
    request_body = RewardRequest,
    responses(
        (status = 200, description = "One result per item, in order", body = RewardResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 413, description = "Body over the size limit", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json", body = ErrorBody),
        (status = 422, description = "Body of the wrong shape, unknown policy or too many items", body = ErrorBody),
        (status = 503, description = "Neither the database nor the spool could store the results", body = ErrorBody),
    )
)]
pub async fn rewards(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RewardRequest>,
) -> Result<Json<RewardResponse>, ApiError> {
    let results = state
        .grader
        .judge_batch(
            request.run_id.as_deref(),
            request.policy.as_deref(),
            request.items,
        )
        .await?;
    let grouped = results
        .iter()
        .any(|result| matches!(result, ItemResult::Judged(item) if item.group.is_some()));
    // Clustering a group's answers runs the math verifier: off the async workers, and only
    // for batches that have groups, so the ungrouped hot path pays nothing.
    let (results, groups) = if grouped {
        tokio::task::spawn_blocking(move || crate::grading::annotate_groups(results))
            .await
            .map_err(|error| ApiError::internal(&error))?
    } else {
        (results, None)
    };
    Ok(Json(RewardResponse {
        run_id: request.run_id,
        policy: state.policy_name(request.policy.as_deref()),
        results,
        groups,
    }))
}
