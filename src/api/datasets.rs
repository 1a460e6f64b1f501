//! Registered datasets over HTTP: `POST /v1/datasets` uploads a JSONL answer key (native or a
//! known source shape), `GET /v1/datasets[/{name}]` lists versions; and the resolution of a
//! reward item's `entry` to the stored task, through a small cache (a version never changes,
//! so a cached version is never stale).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::rewards::parse_item;
use crate::dataset::{Dataset, EntryRef, Shape};
use crate::reward::probe::{KeyedGold, ProbeReport};
use crate::reward::{ItemError, RewardItem, Task};
use crate::store::{self, DatasetVersion, Registered, StoredEntry};

/// `POST /v1/datasets/{name}/probe`: what the reward-hacking battery found in one version.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProbeResponse {
    pub name: String,
    pub version: String,
    pub policy: String,
    /// Entries that are not math tasks (code), which the battery does not probe.
    pub skipped_entries: usize,
    /// Distinct golds that a degenerate answer satisfies; 0 is a clean key.
    pub flagged_golds: usize,
    #[serde(flatten)]
    pub report: ProbeReport,
}

/// The query of `POST /v1/datasets/{name}/probe`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ProbeQuery {
    /// The version to probe; the newest when absent.
    version: Option<String>,
    /// The reward policy to judge under; `r1` when absent.
    policy: Option<String>,
}

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

/// Runs the reward-hacking battery (content-free and shotgun answers) against every math gold
/// of a registered dataset version and lists each gold a degenerate answer would satisfy, with
/// the answer and the rule that accepted it. Read-only; CPU-bound, on a blocking thread.
#[utoipa::path(
    post,
    operation_id = "probe_dataset",
    path = "/v1/datasets/{name}/probe",
    params(("name" = String, Path, description = "The dataset name"), ProbeQuery),
    responses(
        (status = 200, description = "The battery's findings; `hits` empty for a clean key", body = ProbeResponse),
        (status = 404, description = "No such dataset or version", body = ErrorBody),
        (status = 422, description = "Unknown policy or query parameter", body = ErrorBody),
    )
)]
pub async fn probe(
    State(state): State<AppState>,
    Path(name): Path<String>,
    query: Result<Query<ProbeQuery>, QueryRejection>,
) -> Result<Json<ProbeResponse>, ApiError> {
    let Query(query) = query.map_err(|rejection| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_query",
            rejection.body_text(),
        )
    })?;
    let policy_name = query
        .policy
        .clone()
        .unwrap_or_else(|| crate::reward::DEFAULT_POLICY.to_owned());
    let policy = state.policy(query.policy.as_deref())?;
    let store = state.recorder.store();
    let version = match query.version {
        Some(version) => version,
        None => store
            .dataset_versions(Some(&name))
            .await?
            .first()
            .map(|v| v.version.clone())
            .ok_or_else(|| {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no dataset `{name}`"))
            })?,
    };
    let entries = state.datasets.entries(store, &name, &version).await?;
    if entries.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no dataset version `{name}@{version}`"),
        ));
    }
    let mut entries: Vec<StoredEntry> = entries.values().cloned().collect();
    entries.sort_by(|a, b| a.id.cmp(&b.id));
    let (report, skipped_entries) = tokio::task::spawn_blocking(move || {
        let (golds, skipped) = math_golds(&entries);
        (crate::reward::probe::probe(&golds, &policy), skipped)
    })
    .await
    .map_err(|error| ApiError::internal(&error))?;
    Ok(Json(ProbeResponse {
        name,
        version,
        policy: policy_name,
        skipped_entries,
        flagged_golds: report.flagged_golds(),
        report,
    }))
}

/// Dataset versions kept in memory for entry resolution.
const CACHED_VERSIONS: usize = 32;

/// The query of `POST /v1/datasets`.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(
    dead_code,
    reason = "describes the query parameters; the handler decodes them"
)]
pub struct UploadQuery {
    /// The dataset's name: letters, digits, `-`, `_`, `.`.
    #[param(min_length = 1, max_length = 128, pattern = "^[A-Za-z0-9._-]+$")]
    name: String,
    /// The version the client expects: the content hash. Claiming a stored version with
    /// different content is refused (409).
    #[param(min_length = 1, max_length = 64)]
    version: Option<String>,
    /// The source shape (`native`, `math500`, `gsm8k`, `humaneval`); detected when absent.
    #[param(value_type = Option<String>, pattern = "^(native|math500|gsm8k|humaneval)$")]
    shape: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UploadResponse {
    #[serde(flatten)]
    pub dataset: DatasetVersion,
    /// False when this exact content was already registered under this name.
    pub created: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DatasetList {
    pub datasets: Vec<DatasetVersion>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DatasetDetail {
    pub name: String,
    /// Every version, newest first.
    pub versions: Vec<DatasetVersion>,
    /// The newest version's metadata: per field, how many entries carry each value.
    #[schema(value_type = Object)]
    pub metadata: BTreeMap<String, BTreeMap<String, u64>>,
}

/// Registers a dataset: a JSONL body of entries `{"id", "prompt", "task", "metadata"}`, or
/// lines of a known source shape. The version is the content hash.
#[utoipa::path(
    post,
    operation_id = "upload_dataset",
    path = "/v1/datasets",
    params(UploadQuery),
    request_body(content = String, content_type = "application/x-ndjson", description = "One entry per line"),
    responses(
        (status = 201, description = "A new version was stored", body = UploadResponse),
        (status = 200, description = "This content was already registered under this name", body = UploadResponse),
        (status = 409, description = "The claimed version exists with different content", body = ErrorBody),
        (status = 413, description = "Body over the size limit", body = ErrorBody),
        (status = 422, description = "A line, task or parameter is invalid; `field` names it", body = ErrorBody),
    )
)]
pub async fn upload(
    State(state): State<AppState>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Query(pairs) = query.map_err(|rejection| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", rejection.body_text())
    })?;
    let (mut name, mut version, mut shape) = (None, None, None);
    for (key, value) in pairs {
        match key.as_str() {
            "name" => name = Some(value),
            "version" => version = Some(value),
            "shape" => {
                shape = Some(Shape::from_name(&value).ok_or_else(|| {
                    ApiError::invalid_field(
                        "shape",
                        format!("unknown shape `{value}`; expected native, math500, gsm8k or humaneval"),
                    )
                })?);
            }
            other => {
                return Err(ApiError::invalid_field(
                    other,
                    format!("unknown query parameter `{other}`"),
                ));
            }
        }
    }
    let name = name.ok_or_else(|| ApiError::invalid_field("name", "missing query parameter `name`"))?;
    let text =
        std::str::from_utf8(&body).map_err(|_| ApiError::invalid_field("body", "must be UTF-8 text"))?;
    let text = text.to_owned();
    let dataset = tokio::task::spawn_blocking(move || parse_and_check(&name, &text, shape))
        .await
        .map_err(|error| ApiError::internal(&error))??;

    let store = state.recorder.store();
    if let Some(claimed) = version
        && claimed != dataset.version
    {
        let exists = store
            .dataset_versions(Some(&dataset.name))
            .await?
            .iter()
            .any(|v| v.version == claimed);
        return Err(if exists {
            ApiError::new(
                StatusCode::CONFLICT,
                "version_conflict",
                format!(
                    "{}@{claimed} is registered with different content (this upload hashes to {}); a changed answer key is a new version",
                    dataset.name, dataset.version
                ),
            )
        } else {
            let mut error = ApiError::invalid_field(
                "version",
                format!(
                    "the version is the content hash: this upload is `{}`, not `{claimed}`",
                    dataset.version
                ),
            );
            error.code = "version_mismatch";
            error
        });
    }
    let record = DatasetVersion {
        name: dataset.name.clone(),
        version: dataset.version.clone(),
        shape: dataset.shape.as_str().to_owned(),
        entries: dataset.entries.len() as u64,
        created_at: store::now_ms(),
    };
    let registered = store.insert_dataset(&record, &dataset.entries).await?;
    let (status, record) = match registered {
        Registered::Created => (StatusCode::CREATED, record),
        Registered::Existing => {
            let stored = store
                .dataset_versions(Some(&dataset.name))
                .await?
                .into_iter()
                .find(|v| v.version == dataset.version)
                .unwrap_or(record);
            (StatusCode::OK, stored)
        }
    };
    Ok((
        status,
        Json(UploadResponse {
            dataset: record,
            created: registered == Registered::Created,
        }),
    )
        .into_response())
}

/// Parses an upload and checks every task the way `/v1/rewards` will decode it.
pub fn parse_and_check(name: &str, text: &str, shape: Option<Shape>) -> Result<Dataset, ApiError> {
    let dataset = Dataset::parse(name, text, shape).map_err(|error| {
        let mut api = ApiError::invalid_field(error.field, error.message);
        api.code = "invalid_dataset";
        api
    })?;
    for (index, entry) in dataset.entries.iter().enumerate() {
        if let Err(error) = parse_item(json!({ "completion": "", "task": entry.task })) {
            let mut api = ApiError::invalid_field(
                format!("entries[{index}].{}", error.field.unwrap_or_default()),
                format!("entry `{}`: {}", entry.id, error.message),
            );
            api.code = "invalid_dataset";
            return Err(api);
        }
    }
    Ok(dataset)
}

/// Every registered dataset version, newest first.
#[utoipa::path(
    get,
    operation_id = "list_datasets",
    path = "/v1/datasets",
    responses((status = 200, description = "Every dataset version", body = DatasetList))
)]
pub async fn list(State(state): State<AppState>) -> Result<Json<DatasetList>, ApiError> {
    let datasets = state.recorder.store().dataset_versions(None).await?;
    Ok(Json(DatasetList { datasets }))
}

/// One dataset's versions and its newest version's metadata values.
#[utoipa::path(
    get,
    operation_id = "get_dataset",
    path = "/v1/datasets/{name}",
    params(("name" = String, Path, description = "The dataset name")),
    responses(
        (status = 200, description = "The dataset's versions", body = DatasetDetail),
        (status = 404, description = "No dataset of this name", body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<DatasetDetail>, ApiError> {
    let store = state.recorder.store();
    let versions = store.dataset_versions(Some(&name)).await?;
    let Some(latest) = versions.first() else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no dataset `{name}`"),
        ));
    };
    let mut metadata: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for entry in state
        .datasets
        .entries(store, &name, &latest.version)
        .await?
        .values()
    {
        for (field, value) in &entry.metadata {
            let value = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
            *metadata
                .entry(field.clone())
                .or_default()
                .entry(value)
                .or_default() += 1;
        }
    }
    Ok(Json(DatasetDetail {
        name,
        versions,
        metadata,
    }))
}

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
    async fn entries(
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
pub(super) async fn resolve_entries(state: &AppState, items: &[Value]) -> Result<ResolvedEntries, ApiError> {
    let store = state.recorder.store();
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
            Err(error) => Err(ItemError::new("invalid_item", "entry", error.message)),
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
                        let entries = state.datasets.entries(store, &reference.name, &version).await?;
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
    ItemError::new("unknown_entry", "entry", format!("`{reference}`: {why}"))
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
                "invalid_item",
                "entry",
                "must be a string `dataset@version:id`",
            ));
        };
        if object.contains_key("task") {
            return Err(ItemError::new(
                "invalid_item",
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
