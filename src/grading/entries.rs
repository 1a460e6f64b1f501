//! Dataset entries for reward items that name one (`dataset@version:id`): registered versions
//! cached in memory, and the entries of one batch resolved with as few queries as possible.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::Grader;
use crate::dataset::EntryRef;
use crate::reward::ItemError;
use crate::reward::ItemErrorCode;
use crate::store::{self, StoredEntry};

/// Dataset versions kept in memory for entry resolution.
const CACHED_VERSIONS: usize = 32;

/// One dataset version's entries by id.
type Entries = Arc<HashMap<String, StoredEntry>>;
/// Cached versions by `(name, version)`.
type Versions = HashMap<(String, String), Entries>;

/// Dataset versions in memory, by `(name, version)`.
#[derive(Default)]
pub struct DatasetCache {
    versions: Mutex<Versions>,
}

impl DatasetCache {
    pub async fn entries(
        &self,
        store: &store::Store,
        name: &str,
        version: &str,
    ) -> Result<Entries, store::StoreError> {
        let key = (name.to_owned(), version.to_owned());
        if let Some(found) = self.lock().get(&key) {
            return Ok(found.clone());
        }
        let entries: HashMap<String, StoredEntry> = store
            .dataset_entries(name, version)
            .await?
            .into_iter()
            .map(|entry| (entry.id.clone(), entry))
            .collect();
        let entries = Arc::new(entries);
        // An unknown version is not cached: it may be uploaded a moment later.
        if !entries.is_empty() {
            let mut versions = self.lock();
            if versions.len() >= CACHED_VERSIONS {
                versions.clear();
            }
            versions.insert(key, entries.clone());
        }
        Ok(entries)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Versions> {
        // The map is only ever inserted into or cleared: a panic elsewhere cannot leave it torn.
        self.versions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The entries named by one batch: each reference as written, resolved or not.
pub(super) struct ResolvedEntries {
    by_reference: HashMap<String, Result<(String, Value), ItemError>>,
}

/// Looks up every `entry` a batch names: one query for the newest version per dataset named
/// without one, and one per dataset version not cached yet.
pub(super) async fn resolve_entries(
    grader: &Grader,
    items: &[Value],
) -> Result<ResolvedEntries, store::StoreError> {
    let store = grader.recorder.store();
    let mut by_reference = HashMap::new();
    let mut latest: HashMap<String, Option<String>> = HashMap::new();
    for item in items {
        let Some(Value::String(text)) = item.get("entry") else {
            continue;
        };
        if by_reference.contains_key(text) {
            continue;
        }
        let resolved = match EntryRef::parse(text) {
            Err(error) => Err(ItemError::new(ItemErrorCode::InvalidItem, "entry", error.message)),
            Ok(reference) => {
                let version = match &reference.version {
                    Some(version) => Some(version.clone()),
                    None => match latest.get(&reference.name) {
                        Some(found) => found.clone(),
                        None => {
                            let found = store
                                .dataset_versions(Some(&reference.name))
                                .await?
                                .first()
                                .map(|v| v.version.clone());
                            latest.insert(reference.name.clone(), found.clone());
                            found
                        }
                    },
                };
                match version {
                    None => Err(unknown(text, "no such dataset")),
                    Some(version) => {
                        let entries = grader.datasets.entries(store, &reference.name, &version).await?;
                        if entries.is_empty() {
                            Err(unknown(text, "no such dataset version"))
                        } else {
                            match entries.get(&reference.id) {
                                Some(entry) => Ok((reference.resolved(&version), entry.task.clone())),
                                None => Err(unknown(text, "no such entry in this version")),
                            }
                        }
                    }
                }
            }
        };
        by_reference.insert(text.clone(), resolved);
    }
    Ok(ResolvedEntries { by_reference })
}

fn unknown(reference: &str, why: &str) -> ItemError {
    ItemError::new(
        ItemErrorCode::UnknownEntry,
        "entry",
        format!("`{reference}`: {why}"),
    )
}

impl ResolvedEntries {
    /// Puts the named entry's task into the item in place of its `entry`; returns the entry
    /// with its version resolved, `None` for an item that sent its own task.
    pub(super) fn substitute(&self, raw: &mut Value) -> Result<Option<String>, ItemError> {
        let Some(object) = raw.as_object_mut() else {
            return Ok(None);
        };
        let Some(entry) = object.get("entry") else {
            return Ok(None);
        };
        let Value::String(text) = entry else {
            return Err(ItemError::new(
                ItemErrorCode::InvalidItem,
                "entry",
                "must be a string `dataset@version:id`",
            ));
        };
        if object.contains_key("task") {
            return Err(ItemError::new(
                ItemErrorCode::InvalidItem,
                "entry",
                "send a `task` or an `entry`, not both",
            ));
        }
        let (resolved, task) = match self.by_reference.get(text) {
            Some(Ok(found)) => found.clone(),
            Some(Err(error)) => return Err(error.clone()),
            None => return Err(unknown(text, "not resolved")),
        };
        object.remove("entry");
        object.insert("task".to_owned(), task);
        Ok(Some(resolved))
    }
}
