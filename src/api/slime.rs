//! `POST /slime/reward`: slime's remote reward model (`--rm-type remote_rm --rm-url …`). slime
//! posts one sample as `{prompt, response, label}` and keeps the JSON answer as the sample's
//! reward; with `--reward-key reward` it reads the number under `reward`. Judged and stored
//! like a `/v1/rewards` item (docs/trainers.md).
//!
//! slime retries any failed call (an HTTP error included) ten times and then stops the job,
//! so a sample verdict cannot judge is still a 200: the fallback reward with `judged: 0` and
//! the reason under `error`.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, ApiJson, ErrorBody};
use super::openrlhf::GetRewardParams;
use crate::reward::ItemError;
use crate::reward::ItemErrorCode;
use crate::wire::SampleScore;

/// slime's sample. Unknown fields are ignored.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SlimeRequest {
    /// The prompt as the rollout rendered it (a string), or its chat messages.
    #[serde(default)]
    pub prompt: Value,
    /// The model's response, without the prompt.
    pub response: String,
    /// The sample's label: a math answer, a task, or a code label (see `/get_reward`).
    #[serde(default)]
    pub label: Value,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SlimeResponse {
    /// The reward (`--reward-key reward`); the fallback when not judged.
    pub reward: f64,
    /// Accuracy in [0, 1].
    pub accuracy: f64,
    /// 1 when the R1 format holds.
    pub format: f64,
    /// 1 when judged, 0 when `reward` is the fallback.
    pub judged: f64,
    pub verdict: Option<&'static str>,
    pub extracted: Option<String>,
    pub submission_id: Option<String>,
    /// Why the sample was not judged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ItemError>,
}

#[utoipa::path(
    post,
    tag = "slime",
    path = "/slime/reward",
    params(GetRewardParams),
    request_body = SlimeRequest,
    responses(
        (status = 200, description = "The sample's reward", body = SlimeResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 413, description = "Body over the size limit", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json", body = ErrorBody),
        (status = 422, description = "A wrong shape or an unknown policy", body = ErrorBody),
    )
)]
pub async fn reward(
    State(state): State<AppState>,
    Query(params): Query<GetRewardParams>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<SlimeRequest>,
) -> Result<Json<SlimeResponse>, ApiError> {
    let run_id = match params.run_id {
        Some(run_id) => Some(run_id),
        None => headers
            .get(super::openrlhf::RUN_ID_HEADER)
            .map(|value| {
                value.to_str().map(str::to_owned).map_err(|_| {
                    ApiError::invalid_field(super::openrlhf::RUN_ID_HEADER, "must be visible ASCII")
                })
            })
            .transpose()?,
    };
    let policy = state.grader.policy(params.policy.as_deref())?;
    let fallback = state.grader.config.unjudged_reward;
    let score = match crate::wire::task_from_label(&request.label) {
        Err(error) => SampleScore::unjudged(error, fallback),
        Ok(task) => {
            // Only a rendered prompt can show a `<think>` its chat template opened.
            let prompt = request.prompt.as_str();
            let item = json!({ "prompt": prompt, "completion": request.response, "task": task });
            let result = state
                .grader
                .judge_batch(run_id.as_deref(), params.policy.as_deref(), vec![item])
                .await?
                .into_iter()
                .next();
            let mut score = match result {
                Some(result) => SampleScore::of(result, &policy, fallback),
                None => SampleScore::unjudged(
                    ItemError {
                        code: ItemErrorCode::InternalError,
                        message: "the sample was not judged".into(),
                        field: None,
                    },
                    fallback,
                ),
            };
            if let Some(error) = &mut score.error {
                // `items[0].task.x` → `label.x`: the sample's own field names.
                error.field = error.field.take().map(|field| {
                    let inner = field
                        .strip_prefix("items[0]")
                        .unwrap_or(&field)
                        .trim_start_matches('.');
                    match inner.strip_prefix("task") {
                        Some(rest) => format!("label{rest}"),
                        None if inner.is_empty() => "response".to_owned(),
                        None => inner.to_owned(),
                    }
                });
            }
            score
        }
    };
    Ok(Json(SlimeResponse {
        reward: score.reward,
        accuracy: score.accuracy,
        format: score.format,
        judged: score.judged,
        verdict: score.verdict,
        extracted: score.extracted,
        submission_id: score.submission_id,
        error: score.error,
    }))
}
