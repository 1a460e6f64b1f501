//! A run's stored verdicts as evaluation samples: every submission of the run, grouped into
//! problems, labelled with the metadata of the dataset entry it named, clustered by answer.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::{Metrics, Sample, cluster_kind, metrics};
use crate::dataset::EntryRef;
use crate::store::{Store, StoreError, Submission};

/// Rows read per database round trip.
const PAGE: u32 = 2000;
/// A metadata field with more distinct values than this is an identifier, not a breakdown.
const MAX_BREAKDOWN_VALUES: usize = 200;

/// Entry metadata by `(dataset, version)`, then by entry id.
type EntryMetadata = BTreeMap<(String, String), BTreeMap<String, BTreeMap<String, Value>>>;
/// A problem while grouping: labels, task kind, rows.
type Pending = (BTreeMap<String, String>, String, Vec<Submission>);

/// One problem of a run: its samples in submission order and its labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub key: String,
    pub labels: BTreeMap<String, String>,
    pub samples: Vec<Sample>,
}

/// The metrics of a run, overall and per label value.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RunMetrics {
    pub run_id: String,
    pub overall: Metrics,
    /// Per metadata field (`dataset`, `subject`, `level`, …), per value.
    pub by: BTreeMap<String, BTreeMap<String, Metrics>>,
}

/// Reads every submission of `run_id` and the metadata of the entries they name.
pub async fn problems(store: &Store, run_id: &str) -> Result<Vec<Problem>, StoreError> {
    let mut rows: Vec<Submission> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .run_submissions_after(run_id, cursor.as_deref(), PAGE)
            .await?;
        let done = page.len() < PAGE as usize;
        cursor = page.last().map(|s| s.submission_id.clone());
        rows.extend(page);
        if done {
            break;
        }
    }
    // Entry metadata, one query per dataset version the run used.
    let mut metadata = EntryMetadata::new();
    for row in &rows {
        let Some(reference) = row.entry.as_deref().and_then(|e| EntryRef::parse(e).ok()) else {
            continue;
        };
        let Some(version) = reference.version else {
            continue;
        };
        let key = (reference.name, version);
        if let std::collections::btree_map::Entry::Vacant(slot) = metadata.entry(key) {
            let (name, version) = slot.key();
            let entries = store.dataset_entries(name, version).await?;
            slot.insert(entries.into_iter().map(|e| (e.id, e.metadata)).collect());
        }
    }
    // Clustering runs the math verifier: CPU work, off the async workers.
    tokio::task::spawn_blocking(move || group(rows, &metadata))
        .await
        .map_err(|error| StoreError::Task(error.to_string()))
}

/// Groups rows into problems (by entry, else group, else task) and clusters their answers.
fn group(rows: Vec<Submission>, metadata: &EntryMetadata) -> Vec<Problem> {
    let mut by_key: BTreeMap<String, Pending> = BTreeMap::new();
    for row in rows {
        let key = match (&row.entry, &row.group_id) {
            (Some(entry), _) => format!("entry:{entry}"),
            (None, Some(group)) => format!("group:{group}"),
            (None, None) => format!("task:{}", row.task),
        };
        let problem = by_key.entry(key).or_insert_with(|| {
            let mut labels = BTreeMap::new();
            if let Some(reference) = row.entry.as_deref().and_then(|e| EntryRef::parse(e).ok()) {
                labels.insert("dataset".to_owned(), reference.name.clone());
                if let Some(fields) = reference
                    .version
                    .clone()
                    .and_then(|v| metadata.get(&(reference.name.clone(), v)))
                    .and_then(|entries| entries.get(&reference.id))
                {
                    for (field, value) in fields {
                        let text = match value {
                            Value::String(text) => text.clone(),
                            other => other.to_string(),
                        };
                        labels.insert(field.clone(), text);
                    }
                }
            }
            (labels, row.kind.clone(), Vec::new())
        });
        problem.2.push(row);
    }
    by_key
        .into_iter()
        .map(|(key, (labels, kind, rows))| {
            let answers: Vec<Option<&str>> = rows.iter().map(|r| r.extracted.as_deref()).collect();
            let clusters = cluster_kind(&kind, &answers);
            let samples = rows
                .iter()
                .zip(clusters)
                .map(|(row, cluster)| Sample {
                    success: crate::reward::Verdict::is_success_name(&row.verdict),
                    cluster,
                })
                .collect();
            Problem { key, labels, samples }
        })
        .collect()
}

/// The metrics of `problems` overall and per label value.
pub fn run_metrics(run_id: &str, problems: &[Problem], ks: &[u64]) -> RunMetrics {
    let overall = metrics(problems.iter().map(|p| p.samples.as_slice()), ks);
    let mut fields: BTreeMap<&str, BTreeMap<&str, Vec<&[Sample]>>> = BTreeMap::new();
    for problem in problems {
        for (field, value) in &problem.labels {
            fields
                .entry(field)
                .or_default()
                .entry(value)
                .or_default()
                .push(&problem.samples);
        }
    }
    let by = fields
        .into_iter()
        .filter(|(_, values)| values.len() <= MAX_BREAKDOWN_VALUES)
        .map(|(field, values)| {
            let per_value = values
                .into_iter()
                .map(|(value, samples)| (value.to_owned(), metrics(samples.iter().copied(), ks)))
                .collect();
            (field.to_owned(), per_value)
        })
        .collect();
    RunMetrics {
        run_id: run_id.to_owned(),
        overall,
        by,
    }
}
