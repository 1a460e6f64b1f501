//! The reward batch on the wire: the request of `POST /v1/rewards` and one result per item,
//! judged or failed. Items arrive as raw JSON and are decoded one by one ([`super::parse_item`]),
//! so one bad item fails alone.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::eval::GroupStats;
use crate::reward::{Details, ItemError, TaskKind, Verdict};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "run_id": "grpo-2026-11-28-a",
    "policy": "r1",
    "items": [{
        "id": "p17-s3",
        "prompt": "What is 1/2 of 1?",
        "completion": "<think>half of one</think> The answer is \\boxed{\\frac{1}{2}}",
        "task": { "kind": "math", "answer": "0.5" }
    }]
}))]
pub struct RewardRequest {
    /// Groups the items of one training run for auditing (1 to 256 bytes).
    #[schema(min_length = 1, max_length = 256)]
    pub run_id: Option<String>,
    /// Reward policy name; `r1` when absent.
    pub policy: Option<String>,
    /// The completions to judge; each is decoded on its own so one bad item fails alone.
    #[schema(value_type = Vec<RewardItemSchema>)]
    pub items: Vec<Value>,
}

/// One item of a batch (documentation of the wire shape; items are decoded by `parse_item`).
#[derive(Debug, utoipa::ToSchema)]
#[allow(
    dead_code,
    reason = "exists only to describe the wire shape in the OpenAPI document"
)]
pub struct RewardItemSchema {
    /// The caller's id, echoed in the result.
    pub id: Option<String>,
    pub prompt: Option<String>,
    pub completion: String,
    /// The task; or name a registered dataset entry with `entry` instead.
    pub task: Option<TaskSchema>,
    /// Instead of `task`: the label a trainer's dataset holds (a math answer as a string or a
    /// number, a task object, an APPS-style `{inputs, outputs, fn_name?}` or an open-r1
    /// `verification_info`), turned into its task by the server.
    pub label: Option<Value>,
    /// A registered dataset entry, `dataset@version:id` (or `dataset:id` for the newest
    /// version), judged against its stored task instead of a `task` sent here.
    pub entry: Option<String>,
    /// Group id: the completions of one prompt (GRPO). The response adds per-group statistics.
    pub group: Option<String>,
    /// The completion was cut at the generation length limit (policies may penalise it).
    pub truncated: Option<bool>,
    /// Completion length in tokens, for length shaping; characters are counted when absent.
    pub completion_tokens: Option<u64>,
}

/// `{"kind": "math", "answer": "…"}`; the answer may also be a JSON number.
#[derive(Debug, utoipa::ToSchema)]
#[allow(
    dead_code,
    reason = "exists only to describe the wire shape in the OpenAPI document"
)]
pub struct TaskSchema {
    pub kind: String,
    #[schema(value_type = String)]
    pub answer: Value,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RewardResponse {
    pub run_id: Option<String>,
    pub policy: String,
    pub results: Vec<ItemResult>,
    /// Per `group` id of the judged items: size, mean and std of the rewards, whether all are
    /// equal (no learning signal), distinct final answers. Absent when no item has a group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<std::collections::BTreeMap<String, GroupStats>>,
}

/// A judged item, or the reason it could not be judged.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(
    clippy::large_enum_variant,
    reason = "built once per item and serialised at once; boxing would buy nothing"
)]
pub enum ItemResult {
    Judged(JudgedItem),
    Failed(FailedItem),
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JudgedItem {
    pub id: Option<String>,
    /// The stored record of this result (`GET /v1/submissions/{id}`); a promise that it is
    /// durable.
    pub submission_id: String,
    #[schema(value_type = String, example = "math")]
    pub kind: TaskKind,
    pub reward: f64,
    /// Weighted reward terms by name: `accuracy`, `format`, and policy extras.
    #[schema(value_type = std::collections::BTreeMap<String, f64>)]
    pub components: std::collections::BTreeMap<&'static str, f64>,
    pub verdict: Verdict,
    pub format_ok: bool,
    pub extracted: Option<String>,
    pub details: Details,
    pub elapsed_ms: f64,
    /// The dataset entry judged against, with its version resolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// `(reward - group mean) / group std`, 0 when the group's rewards are all equal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advantage: Option<f64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FailedItem {
    pub id: Option<String>,
    pub error: ItemError,
}

/// Makes an item error's field absolute within the request: `task.answer` → `items[3].task.answer`.
pub fn prefix_field(mut result: ItemResult, index: usize) -> ItemResult {
    if let ItemResult::Failed(failed) = &mut result {
        let relative = failed.error.field.take().unwrap_or_default();
        failed.error.field = Some(if relative.is_empty() {
            format!("items[{index}]")
        } else {
            format!("items[{index}].{relative}")
        });
    }
    result
}
