//! One reward item's wire shape into a domain [`RewardItem`]: labels and entries resolved to
//! tasks, every field checked, the first problem reported with its path.

use serde::Deserialize;
use serde_json::Value;

use crate::reward::ItemErrorCode;
use crate::reward::{ItemError, RewardItem, Signals, Task};

/// Longest accepted `run_id` or `group`, so ids stay usable as labels and keys.
pub const MAX_RUN_ID_LEN: usize = 256;

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
            ItemErrorCode::InvalidItem,
            "",
            "an item must be a JSON object",
        ));
    }
    let fields: ItemFields = from_value(raw, "")?;
    if fields.entry.is_some() {
        return Err(ItemError::new(
            ItemErrorCode::InvalidItem,
            "entry",
            "dataset entries are resolved by the server's `/v1/rewards`; send a `task` here, or not both",
        ));
    }
    match &fields.group {
        None => {}
        Some(Value::String(group)) if !group.is_empty() && group.len() <= MAX_RUN_ID_LEN => {}
        Some(_) => {
            return Err(ItemError::new(
                ItemErrorCode::InvalidItem,
                "group",
                format!("must be a string of 1 to {MAX_RUN_ID_LEN} bytes"),
            ));
        }
    }
    let Some(task_value) = fields.task else {
        return Err(ItemError::new(
            ItemErrorCode::InvalidItem,
            "task",
            "missing field `task` (or name a registered dataset `entry`)",
        ));
    };
    let kind = match task_value.get("kind") {
        Some(Value::String(kind)) => kind.clone(),
        Some(_) => {
            return Err(ItemError::new(
                ItemErrorCode::InvalidItem,
                "task.kind",
                "must be a string",
            ));
        }
        None if task_value.is_object() => {
            return Err(ItemError::new(
                ItemErrorCode::InvalidItem,
                "task.kind",
                "missing field `kind`",
            ));
        }
        None => {
            return Err(ItemError::new(
                ItemErrorCode::InvalidItem,
                "task",
                "must be a JSON object",
            ));
        }
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
                ItemErrorCode::UnknownKind,
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
        Value::String(_) => Err(ItemError::new(
            ItemErrorCode::InvalidItem,
            "task.answer",
            "must not be empty",
        )),
        Value::Number(number) => Ok(number.to_string()),
        _ => Err(ItemError::new(
            ItemErrorCode::InvalidItem,
            "task.answer",
            "must be a string (or a number)",
        )),
    }
}

pub(crate) fn from_value<T: serde::de::DeserializeOwned>(value: Value, prefix: &str) -> Result<T, ItemError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let message = error.into_inner().to_string();
        let relative = super::field::field_of(&path, &message);
        ItemError {
            code: ItemErrorCode::InvalidItem,
            field: Some(
                format!("{prefix}{}", relative.unwrap_or_default())
                    .trim_end_matches('.')
                    .to_owned(),
            ),
            message,
        }
    })
}

/// Replaces an item's `label` (any label shape a trainer sends) by the task it stands for.
pub fn substitute_label(raw: &mut Value) -> Result<(), ItemError> {
    let Some(object) = raw.as_object_mut() else {
        return Ok(());
    };
    let Some(label) = object.remove("label") else {
        return Ok(());
    };
    if object.contains_key("task") || object.contains_key("entry") {
        return Err(ItemError::new(
            ItemErrorCode::InvalidItem,
            "label",
            "send one of `task`, `entry` or `label`",
        ));
    }
    object.insert("task".into(), super::labels::task_from_label(&label)?);
    Ok(())
}
