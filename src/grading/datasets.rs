//! Dataset uploads checked the way `/v1/rewards` will decode their tasks, and the math golds
//! of stored entries for the reward-hacking probe.

use serde_json::json;

use super::GradingError;
use crate::dataset::{Dataset, Shape};
use crate::reward::probe::KeyedGold;
use crate::reward::{RewardItem, Task};
use crate::store::StoredEntry;
use crate::wire::parse_item;

/// The math golds of a dataset's entries, decoded exactly as `/v1/rewards` decodes a task,
/// and how many entries are something else (code tasks).
pub fn math_golds(entries: &[StoredEntry]) -> (Vec<KeyedGold>, usize) {
    let mut golds = Vec::with_capacity(entries.len());
    let mut skipped = 0;
    for entry in entries {
        match parse_item(json!({ "completion": "", "task": entry.task })) {
            Ok(RewardItem {
                task: Task::Math { answer },
                ..
            }) => golds.push(KeyedGold {
                id: entry.id.clone(),
                gold: answer,
            }),
            _ => skipped += 1,
        }
    }
    (golds, skipped)
}

/// Parses an upload and checks every task the way `/v1/rewards` will decode it.
pub fn parse_and_check(name: &str, text: &str, shape: Option<Shape>) -> Result<Dataset, GradingError> {
    let dataset = Dataset::parse(name, text, shape).map_err(|error| GradingError::Invalid {
        code: "invalid_dataset",
        field: error.field,
        message: error.message,
    })?;
    for (index, entry) in dataset.entries.iter().enumerate() {
        if let Err(error) = parse_item(json!({ "completion": "", "task": entry.task })) {
            return Err(GradingError::Invalid {
                code: "invalid_dataset",
                field: format!("entries[{index}].{}", error.field.unwrap_or_default()),
                message: format!("entry `{}`: {}", entry.id, error.message),
            });
        }
    }
    Ok(dataset)
}
