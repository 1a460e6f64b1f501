//! `verdict datasets import|list` and `verdict probe`: answer keys registered, listed and
//! probed for golds that a degenerate answer would satisfy.

use std::path::PathBuf;

use anyhow::Context;

use super::DatasetsCommand;
use super::store::with_store;
use crate::config::{Config, ServerArgs};

pub(super) fn datasets(command: DatasetsCommand) -> anyhow::Result<()> {
    match command {
        DatasetsCommand::Import {
            file,
            name,
            shape,
            server,
        } => {
            let shape = shape
                .map(|s| crate::dataset::Shape::from_name(&s).with_context(|| format!("unknown shape `{s}`")))
                .transpose()?;
            let text =
                std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let dataset = crate::grading::parse_dataset(&name, &text, shape)?;
            with_store(&server, |store, _| async move {
                let version = crate::store::DatasetVersion {
                    name: dataset.name.clone(),
                    version: dataset.version.clone(),
                    shape: dataset.shape.as_str().to_owned(),
                    entries: dataset.entries.len() as u64,
                    created_at: crate::store::now_ms(),
                };
                let registered = store.insert_dataset(&version, &dataset.entries).await?;
                let how = match registered {
                    crate::store::Registered::Created => "registered",
                    crate::store::Registered::Existing => "already registered",
                };
                println!(
                    "{how} {}@{} ({} entries, shape {}); name entries as `{}@{}:ID`",
                    version.name,
                    version.version,
                    version.entries,
                    version.shape,
                    version.name,
                    version.version
                );
                Ok(())
            })
        }
        DatasetsCommand::List(server) => with_store(&server, |store, _| async move {
            for v in store.dataset_versions(None).await? {
                println!("{}@{}\t{} entries\t{}", v.name, v.version, v.entries, v.shape);
            }
            Ok(())
        }),
    }
}

/// What `verdict probe` reads: a registered dataset (version) or an answer-key file.
pub(super) struct ProbeSource {
    pub(super) dataset: Option<String>,
    pub(super) version: Option<String>,
    pub(super) answers: Option<PathBuf>,
    pub(super) shape: Option<String>,
}

pub(super) fn probe(source: ProbeSource, policy_name: &str, server: &ServerArgs) -> anyhow::Result<()> {
    let config = Config::load(server).context("invalid configuration")?;
    let policy = config
        .policies
        .get(policy_name)
        .with_context(|| format!("unknown policy `{policy_name}`"))?;
    let (label, entries) = match (&source.answers, &source.dataset.clone()) {
        (Some(file), _) => {
            let shape = source
                .shape
                .as_deref()
                .map(|s| crate::dataset::Shape::from_name(s).with_context(|| format!("unknown shape `{s}`")))
                .transpose()?;
            let text =
                std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
            let dataset = crate::grading::parse_dataset("answers", &text, shape)?;
            (file.display().to_string(), dataset.entries)
        }
        (None, Some(name)) => with_store(server, |store, _| async move {
            let version = match source.version {
                Some(version) => version,
                None => store
                    .dataset_versions(Some(name))
                    .await?
                    .first()
                    .map(|v| v.version.clone())
                    .with_context(|| format!("no dataset `{name}`"))?,
            };
            let entries = store.dataset_entries(name, &version).await?;
            anyhow::ensure!(!entries.is_empty(), "no dataset version `{name}@{version}`");
            Ok((format!("{name}@{version}"), entries))
        })?,
        (None, None) => anyhow::bail!("name a `--dataset` or an `--answers` file"),
    };
    let (golds, skipped) = crate::grading::math_golds(&entries);
    let report = crate::reward::probe::probe(&golds, &policy);
    println!(
        "probed {label}: {} math golds ({} distinct, {skipped} other entries skipped), {} pairs judged under `{policy_name}`",
        report.golds, report.distinct_golds, report.pairs
    );
    for hit in &report.hits {
        println!(
            "FLAGGED {}: gold {:?} is satisfied by {:?} ({}, method {})",
            hit.ids.join(","),
            hit.gold,
            hit.answer,
            serde_json::to_value(hit.family)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            hit.method.unwrap_or("-")
        );
    }
    for invalid in &report.invalid_golds {
        println!(
            "INVALID {}: gold {:?} cannot be judged: {}",
            invalid.ids.join(","),
            invalid.gold,
            invalid.message
        );
    }
    let flagged = report.flagged_golds();
    if flagged == 0 {
        println!("clean: no gold rewards a degenerate answer");
        Ok(())
    } else {
        println!(
            "{flagged} of {} distinct golds reward a degenerate answer",
            report.distinct_golds
        );
        anyhow::bail!("{flagged} golds reward a degenerate answer")
    }
}
