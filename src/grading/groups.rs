//! Per-group statistics of a reward batch: the items sharing a `group` id (the completions of
//! one prompt, in GRPO) get their group's mean, std, all-equal flag and distinct answers, and
//! each judged member its group-relative advantage.

use std::collections::BTreeMap;

use crate::eval::{GroupStats, advantage, cluster_kind, group_stats};
use crate::wire::ItemResult;

/// Adds each grouped item's advantage and returns the statistics by group id; `None` when no
/// item carries a group. Failed items are not members: they were not scored.
pub fn annotate(mut results: Vec<ItemResult>) -> (Vec<ItemResult>, Option<BTreeMap<String, GroupStats>>) {
    let mut members: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (index, result) in results.iter().enumerate() {
        if let ItemResult::Judged(item) = result
            && let Some(group) = &item.group
        {
            members.entry(group.clone()).or_default().push(index);
        }
    }
    if members.is_empty() {
        return (results, None);
    }
    let mut groups = BTreeMap::new();
    for (group, indices) in members {
        let judged: Vec<_> = indices
            .iter()
            .filter_map(|&i| match &results[i] {
                ItemResult::Judged(item) => Some(item),
                ItemResult::Failed(_) => None,
            })
            .collect();
        let rewards: Vec<f64> = judged.iter().map(|item| item.reward).collect();
        let successes: Vec<bool> = judged.iter().map(|item| item.verdict.is_success()).collect();
        // A group mixing math and code is the caller's choice; answers then compare as text
        // unless every member is math.
        let kind = if judged.iter().all(|item| item.kind.as_str() == "math") {
            "math"
        } else {
            "code"
        };
        let answers: Vec<Option<&str>> = judged.iter().map(|item| item.extracted.as_deref()).collect();
        let stats = group_stats(&rewards, &successes, &cluster_kind(kind, &answers));
        for &index in &indices {
            if let ItemResult::Judged(item) = &mut results[index] {
                item.advantage = Some(advantage(item.reward, &stats));
            }
        }
        groups.insert(group, stats);
    }
    (results, Some(groups))
}
