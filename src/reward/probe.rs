//! Probing an answer key with the reward-hacking battery (`crate::math::battery`): every
//! degenerate completion is judged against every gold through the real reward path, under the
//! given policy, and each one that would earn accuracy is reported with the rule that let it
//! through. A team learns of a hole in its answer key (a gold that an empty set, a letter list
//! or a hedge satisfies) before a training run does. `verdict probe` and
//! `POST /v1/datasets/{name}/probe` both call [`probe`].

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Details, Policy, RewardItem, Signals, Task, judge};
use crate::math::battery::{self, Degenerate, Family};

/// One gold of an answer key: the entry id and the reference answer as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedGold {
    pub id: String,
    pub gold: String,
}

/// A degenerate answer that a gold would reward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ProbeHit {
    /// Every entry whose gold this is.
    pub ids: Vec<String>,
    pub gold: String,
    #[schema(value_type = String)]
    pub family: Family,
    /// The degenerate answer that earned accuracy.
    pub answer: String,
    /// The rule of the verifier that accepted it.
    pub method: Option<&'static str>,
}

/// A gold that cannot be judged at all (it does not parse), so the probe skipped it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct InvalidGold {
    pub ids: Vec<String>,
    pub gold: String,
    pub message: String,
}

/// What the battery found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ProbeReport {
    /// Golds probed (math entries of the key).
    pub golds: usize,
    /// Distinct gold texts; each is judged once.
    pub distinct_golds: usize,
    /// Completion and gold pairs judged.
    pub pairs: u64,
    /// Every (gold, degenerate answer) pair that earned accuracy: each is a reward hole.
    pub hits: Vec<ProbeHit>,
    pub invalid_golds: Vec<InvalidGold>,
}

impl ProbeReport {
    /// Distinct golds that a degenerate answer satisfies.
    pub fn flagged_golds(&self) -> usize {
        let mut golds: Vec<&str> = self.hits.iter().map(|h| h.gold.as_str()).collect();
        golds.sort_unstable();
        golds.dedup();
        golds.len()
    }
}

/// Runs the battery against every gold of `key` under `policy`. Pure CPU work, bounded by the
/// battery's size times the number of distinct golds; callers on an async runtime run it on a
/// blocking thread.
pub fn probe(key: &[KeyedGold], policy: &Policy) -> ProbeReport {
    let mut by_gold: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for entry in key {
        by_gold
            .entry(entry.gold.as_str())
            .or_default()
            .push(entry.id.clone());
    }
    let shared = battery::content_free();
    let mut report = ProbeReport {
        golds: key.len(),
        distinct_golds: by_gold.len(),
        ..ProbeReport::default()
    };
    for (gold, ids) in by_gold {
        let own = battery::against(gold);
        for attack in shared.iter().chain(&own) {
            report.pairs += 1;
            match judge_one(gold, attack, policy) {
                Ok(None) => {}
                Ok(Some(method)) => report.hits.push(ProbeHit {
                    ids: ids.clone(),
                    gold: gold.to_owned(),
                    family: attack.family,
                    answer: attack.answer.clone(),
                    method,
                }),
                Err(message) => {
                    report.invalid_golds.push(InvalidGold {
                        ids: ids.clone(),
                        gold: gold.to_owned(),
                        message,
                    });
                    break;
                }
            }
        }
    }
    report
}

/// `Ok(Some(method))` when the degenerate completion earns accuracy, `Err` when the gold
/// itself cannot be judged.
fn judge_one(
    gold: &str,
    attack: &Degenerate,
    policy: &Policy,
) -> Result<Option<Option<&'static str>>, String> {
    let item = RewardItem {
        id: None,
        prompt: None,
        completion: attack.completion.clone(),
        task: Task::Math {
            answer: gold.to_owned(),
        },
        signals: Signals::default(),
    };
    let judgement = judge(&item, policy).map_err(|error| error.message)?;
    let earned =
        judgement.verdict.is_success() || judgement.components.get("accuracy").is_some_and(|a| *a > 0.0);
    let method = match &judgement.details {
        Details::Math(math) => math.method,
        Details::Code(_) => None,
    };
    Ok(earned.then_some(method))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reward::{DEFAULT_POLICY, PolicyConfig};

    fn r1() -> Policy {
        Policy::new(DEFAULT_POLICY, PolicyConfig::default()).expect("the built-in policy")
    }

    fn key(golds: &[&str]) -> Vec<KeyedGold> {
        golds
            .iter()
            .enumerate()
            .map(|(i, gold)| KeyedGold {
                id: format!("e{i}"),
                gold: (*gold).to_owned(),
            })
            .collect()
    }

    #[test]
    fn ordinary_golds_are_not_flagged_and_every_pair_is_counted() {
        let report = probe(
            &key(&["12", "\\frac{9}{7}", "(1, 2)", "C", "[2, 5)", "12"]),
            &r1(),
        );
        assert_eq!(report.hits, Vec::new());
        assert_eq!(report.golds, 6);
        assert_eq!(report.distinct_golds, 5);
        assert!(report.pairs > 5 * 150, "{}", report.pairs);
        assert!(report.invalid_golds.is_empty(), "{:?}", report.invalid_golds);
    }

    #[test]
    fn an_empty_set_gold_is_flagged_by_the_empty_group_answers() {
        let report = probe(&key(&["\\emptyset", "7"]), &r1());
        assert!(!report.hits.is_empty());
        assert!(
            report
                .hits
                .iter()
                .all(|h| h.gold == "\\emptyset" && h.ids == ["e0"])
        );
        assert!(
            report.hits.iter().all(|h| h.family == Family::EmptyGroup),
            "{:?}",
            report.hits
        );
        assert!(report.hits.iter().any(|h| h.answer == "\\{\\}"));
        assert_eq!(report.flagged_golds(), 1);
    }

    #[test]
    fn a_gold_that_does_not_parse_is_reported_not_probed() {
        let report = probe(&key(&["\\frac{", "3"]), &r1());
        assert_eq!(report.invalid_golds.len(), 1);
        assert_eq!(report.invalid_golds[0].gold, "\\frac{");
        assert!(report.hits.is_empty());
    }
}
