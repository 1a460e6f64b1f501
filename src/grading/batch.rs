//! A batch of raw items judged under one policy and recorded: the shared core of
//! `/v1/rewards` and the trainers' protocols. A malformed item fails alone and, never scored,
//! is not a submission; the others are judged, recorded, and answered in order.

use serde_json::Value;

use super::entries::{ResolvedEntries, resolve_entries};
use super::one::guarded;
use super::{Grader, GradingError};
use crate::reward::ItemErrorCode;
use crate::reward::{self, Details, ItemError, Judgement, Policy, RewardItem, Task, TaskKind};
use crate::store::{self, Submission};
use crate::wire::{
    FailedItem, ItemResult, JudgedItem, MAX_RUN_ID_LEN, parse_item, prefix_field, substitute_label,
};

impl Grader {
    /// Judges raw items under the named policy and records every judged one: the shared core of
    /// `/v1/rewards` and the OpenRLHF endpoint. Returns once the submissions are durable.
    pub async fn judge_batch(
        &self,
        run_id: Option<&str>,
        policy: Option<&str>,
        items: Vec<Value>,
    ) -> Result<Vec<ItemResult>, GradingError> {
        if let Some(run_id) = run_id
            && (run_id.is_empty() || run_id.len() > MAX_RUN_ID_LEN)
        {
            return Err(GradingError::invalid(
                "run_id",
                format!("must be 1 to {MAX_RUN_ID_LEN} bytes long"),
            ));
        }
        let policy = self.policy(policy)?;
        let max_items = self.config.limits.max_batch_items;
        if items.len() > max_items {
            return Err(GradingError::invalid(
                "items",
                format!("a batch holds at most {max_items} items, got {}", items.len()),
            ));
        }

        let entries = resolve_entries(self, &items).await?;
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
        .map_err(|error| GradingError::internal(&error))?;

        let code_slots: Vec<usize> = (0..slots.len())
            .filter(|&index| slots[index].outcome.is_none() && slots[index].item.is_ok())
            .collect();
        if !code_slots.is_empty() {
            match self.sandbox.get().await {
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
                                    code: ItemErrorCode::InternalError,
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
                record(&self.metrics, &result);
                prefix_field(result, index)
            })
            .collect();
        // The ids in the response are a durability promise: answer only once the batch is
        // committed or spooled.
        self.recorder.record(submissions).await?;
        Ok(results)
    }
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
                code: ItemErrorCode::InternalError,
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
        ItemResult::Failed(item) => metrics
            .item_errors
            .with_label_values(&[item.error.code.as_str()])
            .inc(),
    }
}
