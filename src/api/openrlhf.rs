//! `POST /get_reward`: OpenRLHF's remote reward-model protocol (`--reward.remote_url`), so an
//! OpenRLHF job points at verdict with no adapter. Queries are judged and stored exactly like
//! `/v1/rewards` items; the protocol's details are in docs/trainers.md.
//!
//! What the protocol demands, and why:
//! - every list in the answer holds numbers only (OpenRLHF makes tensors of them): a query
//!   that cannot be judged gets the configured fallback reward, `extra_logs.judged = 0` and an
//!   entry in `errors`;
//! - `scores` is the accuracy in [0, 1], the value OpenRLHF's dynamic filtering compares with
//!   its range;
//! - the query is the prompt and the response decoded with special tokens kept, so the prompt
//!   is cut off here (and the end-of-turn tokens are left out of the answer by the verifiers);
//! - a whole rollout may come in one request: any number of queries is judged, in chunks of the
//!   batch limit, and a retried request gets the first attempt's results (`replay`).

use axum::Json;
use axum::extract::{Query, RawQuery, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, ApiJsonBytes, ErrorBody};
use super::replay::{IDEMPOTENCY_KEY_HEADER, ReplayKey};
use crate::reward::ItemError;
use crate::reward::ItemErrorCode;
use crate::wire::{SampleError, SampleScore};

/// The header that names the run when the URL does not.
pub const RUN_ID_HEADER: &str = "x-verdict-run-id";

/// OpenRLHF's request. Unknown fields are ignored: the peer's protocol grows.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct GetRewardRequest {
    /// Prompt and response as one string each, special tokens kept.
    pub query: Vec<String>,
    /// The prompt of each query, used to cut the response out of it.
    #[serde(default)]
    pub prompts: Vec<String>,
    /// The reference of each query: a math answer (string or number), a task object (or its
    /// JSON text), an APPS-style `{inputs, outputs, fn_name?}` or an open-r1
    /// `verification_info`. A label verdict cannot read makes that query unjudged, not the
    /// request invalid.
    #[serde(default)]
    pub labels: Vec<Value>,
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
    /// One reward per query, in order; the configured fallback (default 0) where the query
    /// could not be judged (see `extra_logs.judged` and `errors`).
    pub rewards: Vec<f64>,
    /// Accuracy in [0, 1] per query: OpenRLHF's dynamic-filtering value.
    pub scores: Vec<f64>,
    /// Per-query numbers for OpenRLHF's logs: `accuracy`, `format`, `judged` (1 or 0).
    #[schema(value_type = Object)]
    pub extra_logs: Value,
    /// Why each unjudged query was not judged.
    pub errors: Vec<SampleError>,
    /// The audit id of each judged query (`null` where not judged; OpenRLHF ignores this).
    pub submission_ids: Vec<Option<String>>,
}

#[utoipa::path(
    post,
    tag = "openrlhf",
    path = "/get_reward",
    params(GetRewardParams),
    request_body = GetRewardRequest,
    responses(
        (status = 200, description = "One reward per query, in order", body = GetRewardResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 413, description = "Body over the size limit", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json", body = ErrorBody),
        (status = 422, description = "Lists of different lengths, a wrong shape or an unknown policy", body = ErrorBody),
    )
)]
pub async fn get_reward(
    State(state): State<AppState>,
    Query(params): Query<GetRewardParams>,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
    ApiJsonBytes(request, body): ApiJsonBytes<GetRewardRequest>,
) -> Result<Json<Value>, ApiError> {
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
    let run_id = run_id_of(params.run_id, &headers)?;
    // The policy is checked before any work, so a typo is a 422 and not a rollout of errors.
    state.grader.policy(params.policy.as_deref())?;
    let raw_query = raw_query.unwrap_or_default();
    // A client's key always names a request; without one, a request of several queries (a
    // whole rollout) is named by its bytes. A single query is not, so that two samples which
    // happen to be identical are both judged and stored.
    let key = match headers.get(IDEMPOTENCY_KEY_HEADER) {
        Some(value) => Some(ReplayKey::from_client_key(
            "/get_reward",
            &raw_query,
            value
                .to_str()
                .map_err(|_| ApiError::invalid_field(IDEMPOTENCY_KEY_HEADER, "must be visible ASCII"))?,
        )),
        None if request.query.len() > 1 => Some(ReplayKey::from_body("/get_reward", &raw_query, &body)),
        None => None,
    };
    drop(body);
    let work = judge_queries(state.clone(), run_id, params.policy, request);
    let response = match key {
        Some(key) => state.replays.run(key, work).await?,
        None => std::sync::Arc::new(work.await?),
    };
    Ok(Json(Value::clone(&response)))
}

fn run_id_of(param: Option<String>, headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    match param {
        Some(run_id) => Ok(Some(run_id)),
        None => headers
            .get(RUN_ID_HEADER)
            .map(|value| {
                value
                    .to_str()
                    .map(str::to_owned)
                    .map_err(|_| ApiError::invalid_field(RUN_ID_HEADER, "must be visible ASCII"))
            })
            .transpose(),
    }
}

/// Judges every query (in chunks of the batch limit) and builds the protocol's answer.
async fn judge_queries(
    state: AppState,
    run_id: Option<String>,
    policy_name: Option<String>,
    request: GetRewardRequest,
) -> Result<Value, ApiError> {
    let policy = state.grader.policy(policy_name.as_deref())?;
    let fallback = state.grader.config.unjudged_reward;
    let count = request.query.len();
    let mut scores: Vec<Option<SampleScore>> = (0..count).map(|_| None).collect();
    let mut pending = Vec::with_capacity(count);
    for (index, ((query, prompt), label)) in request
        .query
        .iter()
        .zip(&request.prompts)
        .zip(&request.labels)
        .enumerate()
    {
        match to_item(index, query, prompt, label) {
            Ok(item) => pending.push((index, item)),
            Err(error) => scores[index] = Some(SampleScore::unjudged(error, fallback)),
        }
    }
    drop(request);
    let chunk_size = state.grader.config.limits.max_batch_items.max(1);
    let mut pending = pending.into_iter().peekable();
    while pending.peek().is_some() {
        let (slots, items): (Vec<usize>, Vec<Value>) = pending.by_ref().take(chunk_size).unzip();
        let results = state
            .grader
            .judge_batch(run_id.as_deref(), policy_name.as_deref(), items)
            .await?;
        for (index, result) in slots.into_iter().zip(results) {
            let mut score = SampleScore::of(result, &policy, fallback);
            if let Some(error) = &mut score.error {
                // Fields inside the batch are `items[k].…`; name the query's own entries.
                error.field = error.field.take().map(|field| relative_field(&field, index));
            }
            scores[index] = Some(score);
        }
    }
    let scores: Vec<SampleScore> = scores
        .into_iter()
        .map(|score| score.unwrap_or_else(|| SampleScore::unjudged(not_judged(), fallback)))
        .collect();
    let response = GetRewardResponse {
        rewards: scores.iter().map(|score| score.reward).collect(),
        scores: scores.iter().map(|score| score.accuracy).collect(),
        extra_logs: json!({
            "accuracy": scores.iter().map(|score| score.accuracy).collect::<Vec<_>>(),
            "format": scores.iter().map(|score| score.format).collect::<Vec<_>>(),
            "judged": scores.iter().map(|score| score.judged).collect::<Vec<_>>(),
        }),
        errors: scores
            .iter()
            .enumerate()
            .filter_map(|(index, score)| score.error_at(index))
            .collect(),
        submission_ids: scores.iter().map(|score| score.submission_id.clone()).collect(),
    };
    serde_json::to_value(response).map_err(|error| ApiError::internal(&error))
}

fn not_judged() -> ItemError {
    ItemError {
        code: ItemErrorCode::InternalError,
        message: "the query was not judged".into(),
        field: None,
    }
}

/// `items[3].task.answer` → `labels[7]` style names: the label's fields under `labels[i]`, the
/// rest under `query[i]`.
fn relative_field(field: &str, index: usize) -> String {
    let inner = match field.split_once("].") {
        Some((head, rest)) if head.starts_with("items[") => rest,
        _ if field.starts_with("items[") => "",
        _ => field,
    };
    match inner {
        "" => format!("query[{index}]"),
        label if label == "label" || label.starts_with("label.") || label.starts_with("task") => {
            let rest = label
                .strip_prefix("label")
                .or_else(|| label.strip_prefix("task"))
                .unwrap_or_default();
            format!("labels[{index}]{rest}")
        }
        other => format!("query[{index}].{other}"),
    }
}

/// One query as a `/v1/rewards` item: the response is what follows the prompt, and the label
/// becomes its task (docs/trainers.md).
fn to_item(index: usize, query: &str, prompt: &str, label: &Value) -> Result<Value, ItemError> {
    let completion = match query.strip_prefix(prompt) {
        Some(rest) => rest,
        // Detokenisation can change the prompt's edges (a special token dropped or merged):
        // fall back to the text after the prompt's last occurrence.
        None => match query.rfind(prompt).filter(|_| !prompt.is_empty()) {
            Some(at) => &query[at + prompt.len()..],
            None => {
                return Err(ItemError::new(
                    ItemErrorCode::PromptNotFound,
                    format!("prompts[{index}]"),
                    "the query does not contain its prompt, so the response cannot be cut out",
                ));
            }
        },
    };
    let task = crate::wire::task_from_label(label).map_err(|mut error| {
        error.field = error.field.take().map(|field| relative_field(&field, index));
        error
    })?;
    Ok(json!({ "id": index.to_string(), "prompt": prompt, "completion": completion, "task": task }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_inside_the_batch_are_named_by_query() {
        assert_eq!(relative_field("items[0].task.answer", 7), "labels[7].answer");
        assert_eq!(relative_field("label.inputs[2]", 3), "labels[3].inputs[2]");
        assert_eq!(relative_field("label", 3), "labels[3]");
        assert_eq!(relative_field("items[4]", 2), "query[2]");
        assert_eq!(relative_field("items[1].completion", 2), "query[2].completion");
    }

    #[test]
    fn the_response_is_what_follows_the_prompt() {
        let item = to_item(
            0,
            "<|im_start|>user\nQ<|im_end|>\nA",
            "<|im_start|>user\nQ<|im_end|>\n",
            &json!("4"),
        )
        .unwrap();
        assert_eq!(item["completion"], json!("A"));
        assert_eq!(item["task"], json!({"kind": "math", "answer": "4"}));
    }

    #[test]
    fn a_query_without_its_prompt_is_unjudged_with_a_reason() {
        let error = to_item(5, "something else", "the prompt", &json!("4")).unwrap_err();
        assert_eq!(error.code, ItemErrorCode::PromptNotFound);
        assert_eq!(error.field.as_deref(), Some("prompts[5]"));
    }
}
