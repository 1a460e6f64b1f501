//! Registered datasets: answer keys kept beside the verifier. An upload is a JSONL file of
//! entries (id, prompt, task, metadata), imported from one of the known source shapes
//! ([`Shape`]) and versioned by the hash of its content, so the same content always gets the
//! same version and a changed answer key always gets a new one. Reward items name an entry
//! (`name@version:id`, or `name:id` for the newest version) instead of sending a task.
//!
//! This module is pure: parsing, importing and hashing. Task validation belongs to the reward
//! layer and storage to `store`.

mod import;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub use self::StoredEntry as Entry;
pub use import::Shape;

/// One entry of a dataset: what a reward item may name instead of sending a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoredEntry {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// The task in the wire shape of `/v1/rewards` items.
    #[schema(value_type = Object)]
    pub task: Value,
    /// Free labels for evaluation breakdowns (`subject`, `level`, …).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub metadata: BTreeMap<String, Value>,
}

/// Longest dataset name and entry id, so both stay usable as keys and labels.
pub const MAX_NAME_LEN: usize = 128;
pub const MAX_ENTRY_ID_LEN: usize = 256;
/// Most entries one dataset holds.
pub const MAX_ENTRIES: usize = 200_000;
/// Hex digits of the content hash kept as the version: 64 bits, collisions are not a concern
/// for the few versions one name will ever have.
const VERSION_LEN: usize = 16;

/// Why an upload was refused; `field` names the offending line and key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct DatasetError {
    pub field: String,
    pub message: String,
}

impl DatasetError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A parsed upload: named, versioned by content, entries in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub name: String,
    pub version: String,
    pub shape: Shape,
    pub entries: Vec<Entry>,
}

/// The entry lines of the native shape.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct NativeLine {
    id: String,
    #[serde(default)]
    prompt: Option<String>,
    task: Value,
    #[serde(default)]
    metadata: BTreeMap<String, Value>,
}

impl Dataset {
    /// Parses a JSONL upload of `shape` (auto-detected from the first line when `None`).
    pub fn parse(name: &str, text: &str, shape: Option<Shape>) -> Result<Self, DatasetError> {
        check_name(name)?;
        let lines: Vec<(usize, &str)> = text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .collect();
        if lines.is_empty() {
            return Err(DatasetError::new("body", "the upload holds no entries"));
        }
        if lines.len() > MAX_ENTRIES {
            return Err(DatasetError::new(
                "body",
                format!(
                    "a dataset holds at most {MAX_ENTRIES} entries, got {}",
                    lines.len()
                ),
            ));
        }
        let mut values = Vec::with_capacity(lines.len());
        for (number, line) in &lines {
            let value: Value = serde_json::from_str(line).map_err(|error| {
                DatasetError::new(format!("line {}", number + 1), format!("not JSON: {error}"))
            })?;
            if !value.is_object() {
                return Err(DatasetError::new(
                    format!("line {}", number + 1),
                    "must be a JSON object",
                ));
            }
            values.push((number + 1, value));
        }
        let shape = match shape {
            Some(shape) => shape,
            None => Shape::detect(&values[0].1)
                .ok_or_else(|| DatasetError::new("shape", "unknown source shape; name it with `shape`"))?,
        };
        let mut entries = Vec::with_capacity(values.len());
        let mut seen = BTreeSet::new();
        for (index, (number, value)) in values.into_iter().enumerate() {
            let at = |key: &str| format!("line {number}{}{key}", if key.is_empty() { "" } else { "." });
            let entry = match shape {
                Shape::Native => native(value).map_err(|e| DatasetError::new(at(&e.field), e.message))?,
                other => other
                    .import(value, index)
                    .map_err(|e| DatasetError::new(at(&e.field), e.message))?,
            };
            if entry.id.is_empty() || entry.id.len() > MAX_ENTRY_ID_LEN {
                return Err(DatasetError::new(
                    at("id"),
                    format!("must be 1 to {MAX_ENTRY_ID_LEN} bytes long"),
                ));
            }
            if !seen.insert(entry.id.clone()) {
                return Err(DatasetError::new(
                    at("id"),
                    format!("duplicate entry id `{}`", entry.id),
                ));
            }
            entries.push(entry);
        }
        Ok(Self {
            name: name.to_owned(),
            version: content_version(&entries),
            shape,
            entries,
        })
    }

    /// The entries as native JSONL lines: what `verdict datasets import` uploads, and a shape
    /// that parses back to the same version.
    pub fn to_native_jsonl(&self) -> String {
        let mut out = String::new();
        for entry in &self.entries {
            let line = NativeLine {
                id: entry.id.clone(),
                prompt: entry.prompt.clone(),
                task: entry.task.clone(),
                metadata: entry.metadata.clone(),
            };
            out.push_str(&serde_json::to_string(&line).unwrap_or_default());
            out.push('\n');
        }
        out
    }
}

fn native(value: Value) -> Result<Entry, DatasetError> {
    let line: NativeLine = serde_path_to_error::deserialize(value).map_err(|error| {
        DatasetError::new(
            error.path().to_string().trim_start_matches('.'),
            error.into_inner().to_string(),
        )
    })?;
    if !line.task.is_object() {
        return Err(DatasetError::new("task", "must be a JSON object"));
    }
    for (key, value) in &line.metadata {
        if !(value.is_string() || value.is_number() || value.is_boolean()) {
            return Err(DatasetError::new(
                format!("metadata.{key}"),
                "metadata values are strings, numbers or booleans",
            ));
        }
    }
    Ok(Entry {
        id: line.id,
        prompt: line.prompt,
        task: line.task,
        metadata: line.metadata,
    })
}

/// Names use letters, digits, `-`, `_` and `.`: never `@` or `:`, which separate the parts of
/// an entry reference.
pub fn check_name(name: &str) -> Result<(), DatasetError> {
    if name.is_empty()
        || name.len() > MAX_NAME_LEN
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(DatasetError::new(
            "name",
            format!("1 to {MAX_NAME_LEN} letters, digits, `-`, `_` or `.`"),
        ));
    }
    Ok(())
}

/// SHA-256 over the entries in a fixed serialisation (keys sorted, file order kept), cut to
/// [`VERSION_LEN`] hex digits. The name is not part of it: two names may share content.
pub fn content_version(entries: &[Entry]) -> String {
    let mut hasher = Sha256::new();
    for entry in entries {
        // serde_json's maps are sorted (no `preserve_order`), so equal content hashes equally.
        let line = serde_json::json!({
            "id": entry.id, "prompt": entry.prompt, "task": entry.task, "metadata": entry.metadata,
        });
        hasher.update(line.to_string().as_bytes());
        hasher.update(b"\n");
    }
    let digest = hasher.finalize();
    digest
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect::<String>()[..VERSION_LEN]
        .to_owned()
}

/// A reward item's `entry`: `name@version:id`, or `name:id` for the newest version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct EntryRef {
    pub name: String,
    pub version: Option<String>,
    pub id: String,
}

impl EntryRef {
    pub fn parse(text: &str) -> Result<Self, DatasetError> {
        let problem = || {
            DatasetError::new(
                "entry",
                format!("expected `dataset@version:id` or `dataset:id`, got `{text}`"),
            )
        };
        let (dataset, id) = text.split_once(':').ok_or_else(problem)?;
        let (name, version) = match dataset.split_once('@') {
            Some((name, version)) => (name, Some(version)),
            None => (dataset, None),
        };
        check_name(name).map_err(|_| problem())?;
        if id.is_empty() || id.len() > MAX_ENTRY_ID_LEN || version.is_some_and(|v| v.is_empty()) {
            return Err(problem());
        }
        Ok(Self {
            name: name.to_owned(),
            version: version.map(str::to_owned),
            id: id.to_owned(),
        })
    }

    /// `name@version:id` once the version is known.
    pub fn resolved(&self, version: &str) -> String {
        format!("{}@{version}:{}", self.name, self.id)
    }
}

#[cfg(test)]
mod tests;
