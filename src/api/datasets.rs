//! Registered datasets over HTTP: `POST /v1/datasets` uploads a JSONL answer key (native or a
//! known source shape), `GET /v1/datasets[/{name}]` lists versions; and the resolution of a
//! reward item's `entry` to the stored task, through a small cache (a version never changes,
//! so a cached version is never stale).

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::query::{ApiQuery, FromQuery, QueryPairs};
use crate::dataset::Shape;
use crate::grading::{math_golds, parse_dataset as parse_and_check};
use crate::reward::probe::ProbeReport;
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

/// Runs the reward-hacking battery (content-free and shotgun answers) against every math gold
/// of a registered dataset version and lists each gold a degenerate answer would satisfy, with
/// the answer and the rule that accepted it. Read-only; CPU-bound, on a blocking thread.
#[utoipa::path(
    post,
    tag = "datasets",
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
    let policy = state.grader.policy(query.policy.as_deref())?;
    let store = state.grader.recorder.store();
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
    let entries = state.grader.datasets.entries(store, &name, &version).await?;
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

/// An upload's name, its claimed version and its source shape.
pub struct Upload {
    /// Required; checked after the unknown parameters are refused, so a misspelt `name` is
    /// named as what it is.
    name: Option<String>,
    version: Option<String>,
    shape: Option<Shape>,
}

impl FromQuery for Upload {
    fn from_query(params: &mut QueryPairs) -> Result<Self, ApiError> {
        let name = params.take("name");
        let version = params.take("version");
        let shape = params
            .take("shape")
            .map(|value| {
                Shape::from_name(&value).ok_or_else(|| {
                    ApiError::invalid_field(
                        "shape",
                        format!("unknown shape `{value}`; expected native, math500, gsm8k or humaneval"),
                    )
                })
            })
            .transpose()?;
        Ok(Upload { name, version, shape })
    }
}

/// Registers a dataset: a JSONL body of entries `{"id", "prompt", "task", "metadata"}`, or
/// lines of a known source shape. The version is the content hash.
#[utoipa::path(
    post,
    tag = "datasets",
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
    ApiQuery(Upload { name, version, shape }): ApiQuery<Upload>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let name = name.ok_or_else(|| ApiError::invalid_field("name", "missing query parameter `name`"))?;
    let text =
        std::str::from_utf8(&body).map_err(|_| ApiError::invalid_field("body", "must be UTF-8 text"))?;
    let text = text.to_owned();
    let dataset = tokio::task::spawn_blocking(move || parse_and_check(&name, &text, shape))
        .await
        .map_err(|error| ApiError::internal(&error))??;

    let store = state.grader.recorder.store();
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
/// Every registered dataset version, newest first.
#[utoipa::path(
    get,
    tag = "datasets",
    operation_id = "list_datasets",
    path = "/v1/datasets",
    responses((status = 200, description = "Every dataset version", body = DatasetList))
)]
pub async fn list(State(state): State<AppState>) -> Result<Json<DatasetList>, ApiError> {
    let datasets = state.grader.recorder.store().dataset_versions(None).await?;
    Ok(Json(DatasetList { datasets }))
}

/// One dataset's versions and its newest version's metadata values.
#[utoipa::path(
    get,
    tag = "datasets",
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
    let store = state.grader.recorder.store();
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
        .grader
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
