//! Evaluation over stored verdicts: group statistics for GRPO batches, and pass@k, mean@k and
//! majority@k per problem, overall and by metadata. Pure functions over plain samples; the
//! loading from the store is in [`load`].
//!
//! Answers are clustered with the math verifier's equivalence, so `0.5` and `\frac12` are one
//! answer for majority voting and for a group's count of distinct answers.

pub mod load;
pub mod raster;
pub mod report;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::math::{self, MathOptions};

/// Clusters answers by equivalence: each answer gets the index of the first earlier answer it
/// is equivalent to (its cluster), `None` for no answer. Quadratic in the number of clusters,
/// which is small for one problem's samples.
pub fn cluster(answers: &[Option<&str>], same: impl Fn(&str, &str) -> bool) -> Vec<Option<usize>> {
    let mut representatives: Vec<&str> = Vec::new();
    answers
        .iter()
        .map(|answer| {
            let answer = (*answer)?;
            if let Some(found) = representatives
                .iter()
                .position(|rep| rep.trim() == answer.trim() || same(rep, answer))
            {
                return Some(found);
            }
            representatives.push(answer);
            Some(representatives.len() - 1)
        })
        .collect()
}

/// Equivalence of two extracted math answers under the verifier's default options; either
/// failing to parse means they are not known to be equal.
pub fn math_equivalent(a: &str, b: &str) -> bool {
    math::verify(a, b, &MathOptions::default()).is_ok_and(|eq| eq.equal)
}

/// Clusters answers of `kind`: math by equivalence, code (and anything else) by exact text.
pub fn cluster_kind(kind: &str, answers: &[Option<&str>]) -> Vec<Option<usize>> {
    if kind == "math" {
        cluster(answers, math_equivalent)
    } else {
        cluster(answers, |_, _| false)
    }
}

/// The facts of one group of completions that GRPO and dynamic sampling look at.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct GroupStats {
    pub size: usize,
    pub mean: f64,
    /// Population standard deviation of the rewards (GRPO normalises by it).
    pub std: f64,
    /// Every reward the same: no learning signal (DAPO's dynamic sampling drops such groups).
    pub all_equal: bool,
    /// How many different final answers the group gave, equivalent answers counted once;
    /// completions without an answer are not counted.
    pub distinct_answers: usize,
    /// Share of completions judged correct/accepted.
    pub success_rate: f64,
}

/// Group statistics from the rewards, success flags and answer clusters of its members.
pub fn group_stats(rewards: &[f64], successes: &[bool], clusters: &[Option<usize>]) -> GroupStats {
    let size = rewards.len();
    let n = size.max(1) as f64;
    let mean = rewards.iter().sum::<f64>() / n;
    let variance = rewards.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n;
    let (min, max) = rewards
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &r| {
            (lo.min(r), hi.max(r))
        });
    let mut distinct: Vec<usize> = clusters.iter().flatten().copied().collect();
    distinct.sort_unstable();
    distinct.dedup();
    GroupStats {
        size,
        mean,
        std: variance.sqrt(),
        all_equal: size == 0 || max - min <= 1e-12,
        distinct_answers: distinct.len(),
        success_rate: successes.iter().filter(|&&s| s).count() as f64 / n,
    }
}

/// The group-relative advantage GRPO uses: `(reward - mean) / std`, 0 when all are equal.
pub fn advantage(reward: f64, stats: &GroupStats) -> f64 {
    if stats.all_equal || stats.std <= 0.0 {
        0.0
    } else {
        (reward - stats.mean) / stats.std
    }
}

/// The unbiased estimator of pass@k from `n` samples of which `c` are correct (Chen et al.,
/// 2021): `1 - C(n-c, k) / C(n, k)`, computed as a product so that large `n` cannot overflow.
/// `None` when `k` is 0 or more than `n`.
pub fn pass_at_k(n: u64, c: u64, k: u64) -> Option<f64> {
    if k == 0 || k > n || c > n {
        return None;
    }
    if n - c < k {
        return Some(1.0);
    }
    // C(n-c, k) / C(n, k) = prod_{i = n-c+1}^{n} (1 - k / i)
    let ratio = ((n - c + 1)..=n).fold(1.0_f64, |acc, i| acc * (1.0 - k as f64 / i as f64));
    Some(1.0 - ratio)
}

/// One stored sample of a problem, in submission order.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub success: bool,
    /// The answer cluster (see [`cluster_kind`]), `None` when nothing was extracted.
    pub cluster: Option<usize>,
}

/// Whether the majority answer of `samples` is right: the largest cluster wins, ties go to
/// the cluster answered first; no answer at all is wrong.
pub fn majority_correct(samples: &[Sample]) -> bool {
    let mut votes: BTreeMap<usize, (usize, usize, bool)> = BTreeMap::new();
    for (position, sample) in samples.iter().enumerate() {
        if let Some(cluster) = sample.cluster {
            let vote = votes.entry(cluster).or_insert((0, position, sample.success));
            vote.0 += 1;
        }
    }
    votes
        .values()
        .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
        .is_some_and(|&(_, _, success)| success)
}

/// pass@k, mean@k and majority@k over a set of problems for one `k`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AtK {
    pub k: u64,
    /// Problems with at least `k` samples: the ones these numbers average over.
    pub problems: u64,
    /// Problems left out for having fewer than `k` samples.
    pub problems_short: u64,
    /// Mean over problems of the unbiased pass@k estimate from all their samples.
    pub pass_at_k: Option<f64>,
    /// Mean over problems of the success rate of their first `k` samples.
    pub mean_at_k: Option<f64>,
    /// Share of problems whose majority answer among the first `k` samples is right.
    pub majority_at_k: Option<f64>,
}

/// The metrics of a set of problems.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Metrics {
    pub problems: u64,
    pub samples: u64,
    /// Share of all samples judged correct/accepted.
    pub accuracy: f64,
    pub at_k: Vec<AtK>,
}

/// Computes [`Metrics`] for the problems given as their samples in submission order.
pub fn metrics<'a>(problems: impl IntoIterator<Item = &'a [Sample]> + Clone, ks: &[u64]) -> Metrics {
    let (mut count, mut samples, mut successes) = (0_u64, 0_u64, 0_u64);
    for problem in problems.clone() {
        count += 1;
        samples += problem.len() as u64;
        successes += problem.iter().filter(|s| s.success).count() as u64;
    }
    let at_k = ks
        .iter()
        .map(|&k| {
            let (mut used, mut short) = (0_u64, 0_u64);
            let (mut pass, mut mean, mut majority) = (0.0, 0.0, 0.0);
            for problem in problems.clone() {
                let n = problem.len() as u64;
                let c = problem.iter().filter(|s| s.success).count() as u64;
                let Some(estimate) = pass_at_k(n, c, k) else {
                    short += 1;
                    continue;
                };
                used += 1;
                pass += estimate;
                let first = &problem[..k as usize];
                mean += first.iter().filter(|s| s.success).count() as f64 / k as f64;
                if majority_correct(first) {
                    majority += 1.0;
                }
            }
            let average = |sum: f64| (used > 0).then(|| sum / used as f64);
            AtK {
                k,
                problems: used,
                problems_short: short,
                pass_at_k: average(pass),
                mean_at_k: average(mean),
                majority_at_k: average(majority),
            }
        })
        .collect();
    Metrics {
        problems: count,
        samples,
        accuracy: if samples > 0 {
            successes as f64 / samples as f64
        } else {
            0.0
        },
        at_k,
    }
}

#[cfg(test)]
mod tests;
