//! `POST /get_reward`: OpenRLHF's remote reward-model protocol, so an OpenRLHF job points its
//! `remote_rm_url` at verdict with no adapter. Items are judged and stored exactly like
//! `/v1/rewards` items.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, ApiJson, ErrorBody};
use super::rewards::{ItemResult, judge_batch};

/// The header that names the run when the URL does not.
pub const RUN_ID_HEADER: &str = "x-verdict-run-id";

/// OpenRLHF's request. Unknown fields are ignored: the peer's protocol grows.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct GetRewardRequest {
    /// Prompt and response as one string each.
    pub query: Vec<String>,
    /// The prompt of each query, used to cut the response out of it.
    pub prompts: Vec<String>,
    /// The reference of each query: a math answer, or a task (JSON-encoded in the string, or
    /// as an object).
    pub labels: Vec<Label>,
}

/// One query's reference. Anything else (a list, `null`, a boolean) is refused with 422: a
/// label verdict cannot read would otherwise come back as an unjudged query.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Label {
    /// A math answer, or a JSON-encoded task object with a `kind`.
    Text(String),
    /// A math answer sent as a JSON number. Before `Task`: under serde_json's
    /// `arbitrary_precision` a buffered number is a map to serde.
    #[schema(value_type = f64)]
    Number(serde_json::Number),
    /// A task object, as `/v1/rewards` items carry it.
    #[schema(value_type = Object)]
    Task(serde_json::Map<String, Value>),
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GetRewardParams {
    /// The run these rewards belong to (or the `x-verdict-run-id` header).
    pub run_id: Option<String>,
    /// Reward policy; `r1` when absent.
    pub policy: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GetRewardResponse {
    /// One reward per query, in order; `null` where the query could not be judged (never 0).
    pub rewards: Vec<Option<f64>>,
    /// The same numbers (OpenRLHF reads either).
    pub scores: Vec<Option<f64>>,
    /// Per-query reward components for OpenRLHF's logs.
    #[schema(value_type = Object)]
    pub extra_logs: Value,
    /// The audit id of each judged query.
    pub submission_ids: Vec<Option<String>>,
}

#[utoipa::path(
    post,
    path = "/get_reward",
    params(GetRewardParams),
    request_body = GetRewardRequest,
    responses(
        (status = 200, description = "One reward per query, in order", body = GetRewardResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 413, description = "Body over the size limit", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json", body = ErrorBody),
        (status = 422, description = "Lists of different lengths or a wrong shape", body = ErrorBody),
    )
)]
pub async fn get_reward(
    State(state): State<AppState>,
    Query(params): Query<GetRewardParams>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<GetRewardRequest>,
) -> Result<Json<GetRewardResponse>, ApiError> {
    for (field, len) in [
        ("prompts", request.prompts.len()),
        ("labels", request.labels.len()),
    ] {
        if len != request.query.len() {
            return Err(ApiError::invalid_field(
                field,
                format!("has {len} entries but `query` has {}", request.query.len()),
            ));
        }
    }
    let run_id = match params.run_id {
        Some(run_id) => Some(run_id),
        None => headers
            .get(RUN_ID_HEADER)
            .map(|value| {
                value
                    .to_str()
                    .map(str::to_owned)
                    .map_err(|_| ApiError::invalid_field(RUN_ID_HEADER, "must be visible ASCII"))
            })
            .transpose()?,
    };
    // Queries whose prompt cannot be found fail alone; the rest are judged as one batch.
    let mut items = Vec::with_capacity(request.query.len());
    let mut judged_slots = Vec::with_capacity(request.query.len());
    for (index, ((query, prompt), label)) in request
        .query
        .iter()
        .zip(&request.prompts)
        .zip(request.labels)
        .enumerate()
    {
        match to_item(index, query, prompt, label) {
            Some(item) => {
                judged_slots.push(index);
                items.push(item);
            }
            None => tracing::warn!(index, "query does not contain its prompt; not judged"),
        }
    }
    let judged = judge_batch(&state, run_id.as_deref(), params.policy.as_deref(), items).await?;
    let mut results: Vec<Option<ItemResult>> = (0..request.query.len()).map(|_| None).collect();
    for (slot, result) in judged_slots.into_iter().zip(judged) {
        results[slot] = Some(result);
    }

    let mut rewards = Vec::with_capacity(results.len());
    let mut accuracy = Vec::with_capacity(results.len());
    let mut format = Vec::with_capacity(results.len());
    let mut submission_ids = Vec::with_capacity(results.len());
    for result in &results {
        match result {
            Some(ItemResult::Judged(item)) => {
                rewards.push(Some(item.reward));
                accuracy.push(item.components.get("accuracy").copied());
                format.push(item.components.get("format").copied());
                submission_ids.push(Some(item.submission_id.clone()));
            }
            failed => {
                if let Some(ItemResult::Failed(failed)) = failed {
                    tracing::warn!(code = failed.error.code, message = %failed.error.message, "query not judged");
                }
                rewards.push(None);
                accuracy.push(None);
                format.push(None);
                submission_ids.push(None);
            }
        }
    }
    Ok(Json(GetRewardResponse {
        scores: rewards.clone(),
        rewards,
        extra_logs: json!({ "accuracy": accuracy, "format": format }),
        submission_ids,
    }))
}

/// One query as a `/v1/rewards` item: the response is what follows the prompt, and the label
/// is a math answer unless it is a JSON object with a `kind`.
fn to_item(index: usize, query: &str, prompt: &str, label: Label) -> Option<Value> {
    let completion = match query.strip_prefix(prompt) {
        Some(rest) => rest,
        // Detokenisation can change the prompt's edges (special tokens dropped): fall back to
        // the text after the prompt's last occurrence.
        None => &query[query.rfind(prompt).filter(|_| !prompt.is_empty())? + prompt.len()..],
    };
    let task = match label {
        Label::Text(text) if text.trim_start().starts_with('{') => match serde_json::from_str::<Value>(&text)
        {
            Ok(task @ Value::Object(_)) if task.get("kind").is_some() => task,
            _ => json!({ "kind": "math", "answer": text }),
        },
        Label::Text(text) => json!({ "kind": "math", "answer": text }),
        Label::Number(number) => json!({ "kind": "math", "answer": number.to_string() }),
        Label::Task(task) => Value::Object(task),
    };
    Some(json!({ "id": index.to_string(), "prompt": prompt, "completion": completion, "task": task }))
}
