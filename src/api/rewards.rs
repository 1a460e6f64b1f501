//! `POST /v1/rewards`: the training hot path. Decodes a batch, judges every item off the async
//! workers, records every judged item in the audit store (within a bound, else in the spool),
//! and answers one result per item, in order, each judged one with its `submission_id`. A
//! malformed item fails alone and, never scored, is not a submission.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::AppState;
use super::datasets::{ResolvedEntries, resolve_entries};
use super::error::{ApiError, ApiJson, ErrorBody};
use crate::eval::GroupStats;
use crate::reward::{
    self, Details, ItemError, Judgement, Policy, RewardItem, Signals, Task, TaskKind, Verdict,
};
use crate::store::{self, Submission};

/// Longest accepted `run_id`, so ids stay usable as labels and keys.
const MAX_RUN_ID_LEN: usize = 256;

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

#[utoipa::path(
    post,
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
    let results = judge_batch(
        &state,
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
        tokio::task::spawn_blocking(move || super::groups::annotate(results))
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

/// Judges raw items under the named policy and records every judged one: the shared core of
/// `/v1/rewards` and the OpenRLHF endpoint. Returns once the submissions are durable.
pub(super) async fn judge_batch(
    state: &AppState,
    run_id: Option<&str>,
    policy: Option<&str>,
    items: Vec<Value>,
) -> Result<Vec<ItemResult>, ApiError> {
    if let Some(run_id) = run_id
        && (run_id.is_empty() || run_id.len() > MAX_RUN_ID_LEN)
    {
        return Err(ApiError::invalid_field(
            "run_id",
            format!("must be 1 to {MAX_RUN_ID_LEN} bytes long"),
        ));
    }
    let policy = state.policy(policy)?;
    let max_items = state.config.limits.max_batch_items;
    if items.len() > max_items {
        return Err(ApiError::invalid_field(
            "items",
            format!("a batch holds at most {max_items} items, got {}", items.len()),
        ));
    }

    let entries = resolve_entries(state, &items).await?;
    let audit = AuditContext {
        run_id: run_id.map(str::to_owned),
        policy_version: policy.version(),
    };
    // Decoding and math judging are CPU work: off the async workers, so health checks and
    // other requests stay responsive while a large batch is graded. Code items wait for the
    // sandbox, which runs them concurrently.
    let math_policy = policy.clone();
    let mut slots = tokio::task::spawn_blocking(move || {
        items
            .into_iter()
            .map(|raw| {
                let mut slot = Slot::decode(raw, &entries);
                if let Ok(item) = &slot.item
                    && matches!(item.task, Task::Math { .. })
                {
                    slot.outcome = Some(guarded(|| reward::judge(item, &math_policy)));
                }
                slot
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|error| ApiError::internal(&error))?;

    let code_slots: Vec<usize> = (0..slots.len())
        .filter(|&index| slots[index].outcome.is_none() && slots[index].item.is_ok())
        .collect();
    if !code_slots.is_empty() {
        match state.sandbox.get().await {
            Ok(sandbox) => {
                let runs = code_slots.iter().map(|&index| {
                    let (sandbox, policy) = (sandbox.clone(), policy.clone());
                    let item = slots[index].item.as_ref().ok().cloned();
                    async move {
                        match item.as_ref().map(|item| (item, &item.task)) {
                            Some((item, Task::Code(task))) => {
                                reward::judge_code_item(item, task, &policy, &sandbox).await
                            }
                            _ => Err(ItemError {
                                code: "internal_error",
                                message: "the item was not judged".into(),
                                field: None,
                            }),
                        }
                    }
                });
                let outcomes = futures_util::future::join_all(runs).await;
                for (index, outcome) in code_slots.into_iter().zip(outcomes) {
                    slots[index].outcome = Some(outcome);
                }
            }
            Err(error) => {
                for index in code_slots {
                    slots[index].outcome = Some(Err(error.clone()));
                }
            }
        }
    }

    if policy.config.group_length.is_some() {
        apply_group_terms(&mut slots, &policy);
    }

    let mut submissions = Vec::with_capacity(slots.len());
    let results: Vec<ItemResult> = slots
        .into_iter()
        .enumerate()
        .map(|(index, slot)| {
            let result = slot.finish(&policy, &audit, &mut submissions);
            record(&state.metrics, &result);
            prefix_field(result, index)
        })
        .collect();
    // The ids in the response are a durability promise: answer only once the batch is
    // committed or spooled.
    state.recorder.record(submissions).await?;
    Ok(results)
}

/// Adds the policy's group-relative terms to the judged items of each `group`: they depend on
/// the group's other members, so they come after every item is judged and before any is
/// recorded (the stored reward includes them). Items that failed are not members.
fn apply_group_terms(slots: &mut [Slot], policy: &Policy) {
    let groups: std::collections::BTreeSet<String> = slots
        .iter()
        .filter(|slot| matches!(slot.outcome, Some(Ok(_))))
        .filter_map(|slot| slot.group.clone())
        .collect();
    for group in groups {
        let mut members: Vec<reward::GroupMember<'_>> = slots
            .iter_mut()
            .filter(|slot| slot.group.as_deref() == Some(group.as_str()))
            .filter_map(|slot| match (&slot.item, &mut slot.outcome) {
                (Ok(item), Some(Ok(judgement))) => Some(reward::GroupMember {
                    length: item.signals.length(&item.completion),
                    judgement,
                }),
                _ => None,
            })
            .collect();
        reward::apply_group(&mut members, policy);
    }
}

/// What every submission of one request shares.
struct AuditContext {
    run_id: Option<String>,
    policy_version: String,
}

/// One item on its way through a batch: decoded (or not), then judged (or not).
struct Slot {
    id: Option<String>,
    /// The task as sent (or as stored for the named entry): part of the record, since
    /// reverification parses it again.
    task: Value,
    /// The dataset entry named, version resolved.
    entry: Option<String>,
    group: Option<String>,
    item: Result<RewardItem, ItemError>,
    outcome: Option<Result<Judgement, ItemError>>,
}

impl Slot {
    fn decode(mut raw: Value, entries: &ResolvedEntries) -> Self {
        let id = raw.get("id").and_then(Value::as_str).map(str::to_owned);
        let group = raw.get("group").and_then(Value::as_str).map(str::to_owned);
        // An entry becomes its stored task before decoding, so the item is judged (and
        // recorded, and re-checked) exactly like one that sent the task itself.
        let entry = match entries.substitute(&mut raw) {
            Ok(entry) => entry,
            Err(error) => {
                return Self {
                    id,
                    task: Value::Null,
                    entry: None,
                    group,
                    item: Err(error),
                    outcome: None,
                };
            }
        };
        // A trainer's label becomes its task before decoding, so the record holds a task that
        // re-checks parse like any other.
        if let Err(error) = substitute_label(&mut raw) {
            return Self {
                id,
                task: Value::Null,
                entry,
                group,
                item: Err(error),
                outcome: None,
            };
        }
        let task = raw.get("task").cloned().unwrap_or(Value::Null);
        Self {
            id,
            task,
            entry,
            group,
            item: parse_item(raw),
            outcome: None,
        }
    }

    /// The item's result; a judged item adds its record to `submissions`.
    fn finish(self, policy: &Policy, audit: &AuditContext, submissions: &mut Vec<Submission>) -> ItemResult {
        let item = match self.item {
            Ok(item) => item,
            Err(error) => return ItemResult::Failed(FailedItem { id: self.id, error }),
        };
        let outcome = self.outcome.unwrap_or_else(|| {
            Err(ItemError {
                code: "internal_error",
                message: "the item was not judged".into(),
                field: None,
            })
        });
        match outcome {
            Ok(judgement) => {
                let kind = item.task.kind();
                let mut submission = submission(item, self.task, kind, &judgement, policy, audit);
                submission.entry = self.entry;
                submission.group_id = self.group;
                let mut result = judged(
                    submission.item_id.clone(),
                    submission.submission_id.clone(),
                    kind,
                    judgement,
                );
                result.entry = submission.entry.clone();
                result.group = submission.group_id.clone();
                submissions.push(submission);
                ItemResult::Judged(result)
            }
            Err(error) => ItemResult::Failed(FailedItem { id: item.id, error }),
        }
    }
}

/// Replaces an item's `label` (any label shape a trainer sends) by the task it stands for.
fn substitute_label(raw: &mut Value) -> Result<(), ItemError> {
    let Some(object) = raw.as_object_mut() else {
        return Ok(());
    };
    let Some(label) = object.remove("label") else {
        return Ok(());
    };
    if object.contains_key("task") || object.contains_key("entry") {
        return Err(ItemError::new(
            "invalid_item",
            "label",
            "send one of `task`, `entry` or `label`",
        ));
    }
    object.insert("task".into(), super::labels::task_from_label(&label)?);
    Ok(())
}

/// Judges one decoded item: math off the async workers, code in the sandbox.
pub(super) async fn judge_one(
    state: &AppState,
    item: RewardItem,
    policy: Arc<Policy>,
) -> Result<Judgement, ItemError> {
    if let Task::Code(task) = &item.task {
        let sandbox = state.sandbox.get().await?;
        return reward::judge_code_item(&item, task, &policy, &sandbox).await;
    }
    tokio::task::spawn_blocking(move || guarded(|| reward::judge(&item, &policy)))
        .await
        .unwrap_or_else(|_| {
            Err(ItemError {
                code: "internal_error",
                message: "the verifier failed on this item; it was not scored".into(),
                field: None,
            })
        })
}

/// Runs a verifier; a panic inside it becomes an `internal_error` on that item instead of
/// taking the batch down.
pub(super) fn guarded(judge: impl FnOnce() -> Result<Judgement, ItemError>) -> Result<Judgement, ItemError> {
    std::panic::catch_unwind(AssertUnwindSafe(judge)).unwrap_or_else(|_| {
        tracing::error!("verifier panicked");
        Err(ItemError {
            code: "internal_error",
            message: "the verifier failed on this item; it was not scored".into(),
            field: None,
        })
    })
}

/// The audit record of a judged item.
fn submission(
    item: RewardItem,
    task: Value,
    kind: TaskKind,
    judgement: &Judgement,
    policy: &Policy,
    audit: &AuditContext,
) -> Submission {
    Submission {
        entry: None,
        group_id: None,
        truncated: item.signals.truncated,
        completion_tokens: item
            .signals
            .completion_tokens
            .map(|tokens| i64::try_from(tokens).unwrap_or(i64::MAX)),
        submission_id: store::new_id(),
        run_id: audit.run_id.clone(),
        item_id: item.id,
        policy: policy.name.clone(),
        policy_version: audit.policy_version.clone(),
        kind: kind.as_str().to_owned(),
        task,
        prompt: item.prompt,
        completion: item.completion,
        extracted: judgement.extracted.clone(),
        verdict: judgement.verdict.as_str().to_owned(),
        format_ok: judgement.format_ok,
        reward: judgement.reward,
        components: serde_json::to_value(&judgement.components).unwrap_or(Value::Null),
        details: serde_json::to_value(&judgement.details).unwrap_or(Value::Null),
        elapsed_ms: judgement.elapsed_ms,
        service_version: env!("CARGO_PKG_VERSION").to_owned(),
        created_at: store::now_ms(),
    }
}

fn judged(id: Option<String>, submission_id: String, kind: TaskKind, judgement: Judgement) -> JudgedItem {
    JudgedItem {
        id,
        submission_id,
        kind,
        reward: judgement.reward,
        components: judgement.components,
        verdict: judgement.verdict,
        format_ok: judgement.format_ok,
        extracted: judgement.extracted,
        details: judgement.details,
        elapsed_ms: judgement.elapsed_ms,
        entry: None,
        group: None,
        advantage: None,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemFields {
    id: Option<String>,
    prompt: Option<String>,
    completion: String,
    task: Option<Value>,
    /// Replaced by the entry's task before decoding on the server; left here, it could not be.
    entry: Option<Value>,
    group: Option<Value>,
    truncated: Option<bool>,
    completion_tokens: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MathTaskFields {
    #[allow(dead_code, reason = "the kind was already read to pick this shape")]
    kind: String,
    answer: Value,
}

/// The item's wire shape into a domain [`RewardItem`], or the first problem with its field.
pub fn parse_item(mut raw: Value) -> Result<RewardItem, ItemError> {
    substitute_label(&mut raw)?;
    if !raw.is_object() {
        return Err(ItemError::new(
            "invalid_item",
            "",
            "an item must be a JSON object",
        ));
    }
    let fields: ItemFields = from_value(raw, "")?;
    if fields.entry.is_some() {
        return Err(ItemError::new(
            "invalid_item",
            "entry",
            "dataset entries are resolved by the server's `/v1/rewards`; send a `task` here, or not both",
        ));
    }
    match &fields.group {
        None => {}
        Some(Value::String(group)) if !group.is_empty() && group.len() <= MAX_RUN_ID_LEN => {}
        Some(_) => {
            return Err(ItemError::new(
                "invalid_item",
                "group",
                format!("must be a string of 1 to {MAX_RUN_ID_LEN} bytes"),
            ));
        }
    }
    let Some(task_value) = fields.task else {
        return Err(ItemError::new(
            "invalid_item",
            "task",
            "missing field `task` (or name a registered dataset `entry`)",
        ));
    };
    let kind = match task_value.get("kind") {
        Some(Value::String(kind)) => kind.clone(),
        Some(_) => return Err(ItemError::new("invalid_item", "task.kind", "must be a string")),
        None if task_value.is_object() => {
            return Err(ItemError::new(
                "invalid_item",
                "task.kind",
                "missing field `kind`",
            ));
        }
        None => return Err(ItemError::new("invalid_item", "task", "must be a JSON object")),
    };
    let task = match kind.as_str() {
        "math" => {
            let math: MathTaskFields = from_value(task_value, "task.")?;
            Task::Math {
                answer: answer_text(math.answer)?,
            }
        }
        "code" => Task::Code(super::code_task::parse_code_task(
            task_value,
            &crate::code::LimitMaxima::default(),
        )?),
        other => {
            return Err(ItemError::new(
                "unknown_kind",
                "task.kind",
                format!("unknown task kind `{other}`; expected `math` or `code`"),
            ));
        }
    };
    Ok(RewardItem {
        id: fields.id,
        prompt: fields.prompt,
        completion: fields.completion,
        task,
        signals: Signals {
            truncated: fields.truncated.unwrap_or(false),
            completion_tokens: fields.completion_tokens,
        },
    })
}

/// Reference answers are strings; JSON numbers are accepted as written (`42`, `0.5`).
fn answer_text(answer: Value) -> Result<String, ItemError> {
    match answer {
        Value::String(text) if !text.trim().is_empty() => Ok(text),
        Value::String(_) => Err(ItemError::new("invalid_item", "task.answer", "must not be empty")),
        Value::Number(number) => Ok(number.to_string()),
        _ => Err(ItemError::new(
            "invalid_item",
            "task.answer",
            "must be a string (or a number)",
        )),
    }
}

pub(super) fn from_value<T: serde::de::DeserializeOwned>(value: Value, prefix: &str) -> Result<T, ItemError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let message = error.into_inner().to_string();
        let relative = super::error::field_of(&path, &message);
        ItemError {
            code: "invalid_item",
            field: Some(
                format!("{prefix}{}", relative.unwrap_or_default())
                    .trim_end_matches('.')
                    .to_owned(),
            ),
            message,
        }
    })
}

/// Makes an item error's field absolute within the request: `task.answer` → `items[3].task.answer`.
fn prefix_field(mut result: ItemResult, index: usize) -> ItemResult {
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

fn record(metrics: &crate::telemetry::Metrics, result: &ItemResult) {
    match result {
        ItemResult::Judged(item) => {
            let kind = item.kind.as_str();
            metrics
                .rewards
                .with_label_values(&[kind, item.verdict.as_str()])
                .inc();
            metrics
                .verification_duration
                .with_label_values(&[kind])
                .observe(item.elapsed_ms / 1e3);
            if let Details::Code(details) = &item.details {
                for test in &details.tests {
                    metrics
                        .sandbox_run_duration
                        .with_label_values(&[details.language])
                        .observe(test.time_ms / 1e3);
                }
            }
        }
        ItemResult::Failed(item) => metrics.item_errors.with_label_values(&[item.error.code]).inc(),
    }
}
