//! Metrics: what a step logs, as typed lines of `OUT/metrics.jsonl`. The field names are a
//! contract: `plot`, the README, TRAINING.md and the end-to-end test read them.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use super::eval::EvalResult;
use super::rollout::Rollout;
use super::update::UpdateStats;

/// One training step's line. Only written: readers (`plot`, the tests) take lines as JSON
/// values, one file holding step lines and the `step: 0` line alike.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepMetrics {
    /// 1-based: the number of steps done once this one is.
    pub step: usize,
    /// Mean and (population) standard deviation of the shaped rewards of judged completions.
    pub reward_mean: f64,
    pub reward_std: f64,
    /// Fractions of all sampled completions (judged or not) that verdict found correct, and
    /// whose format it accepted.
    pub accuracy: f64,
    pub format_rate: f64,
    /// Completions verdict could not judge.
    pub unscored: usize,
    /// Fraction of groups whose judged rewards were all equal.
    pub frac_reward_zero_std: f64,
    /// Per trained token, over every pass: the k3 KL to the reference, and the clipped share.
    pub kl: f64,
    pub clip_frac: f64,
    /// The summed micro-batch losses, averaged over the μ passes.
    pub loss: f64,
    pub grad_norm: f64,
    pub lr: f64,
    pub completion_len_mean: f64,
    pub completion_len_max: usize,
    /// Fraction of completions cut off by the length limit.
    pub truncated_frac: f64,
    pub gen_tokens_per_s: f64,
    /// Trained tokens (counted once per pass) per second of the update.
    pub train_tokens_per_s: f64,
    /// Sampling, judging and the update (evaluation and checkpointing excluded).
    pub step_time_s: f64,
    /// On evaluation steps only (`None` writes no field).
    #[serde(flatten)]
    pub eval: Option<StepEval>,
}

/// The held-out evaluation on a training step's line.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StepEval {
    pub eval_accuracy: f64,
    pub eval_boxed_rate: f64,
    pub eval_reward: f64,
}

/// The `step: 0` line: the held-out evaluation before training (it also has the format rate,
/// which a step's line leaves out).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BaselineEval {
    pub step: usize,
    pub eval_accuracy: f64,
    pub eval_boxed_rate: f64,
    pub eval_format_rate: f64,
    pub eval_reward: f64,
}

impl StepMetrics {
    /// The line of step `step` (1-based) from its rollout and update; `step_time_s` is
    /// measured by the caller.
    pub fn new(step: usize, rollout: &Rollout, update: &UpdateStats, step_time_s: f64) -> Self {
        let groups = &rollout.groups;
        let scored: Vec<_> = groups.iter().flat_map(|g| &g.scored).collect();
        let rewards: Vec<f64> = groups
            .iter()
            .flat_map(|g| g.rewards.iter().flatten().copied())
            .collect();
        let lens: Vec<usize> = groups
            .iter()
            .flat_map(|g| g.completions.iter().map(|c| c.tokens.len()))
            .collect();
        let n = scored.len().max(1) as f64;
        let mean = rewards.iter().sum::<f64>() / rewards.len().max(1) as f64;
        let std =
            (rewards.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / rewards.len().max(1) as f64).sqrt();
        let per_token = |x: f64| {
            if update.tokens > 0.0 {
                x / update.tokens
            } else {
                0.0
            }
        };
        Self {
            step,
            reward_mean: mean,
            reward_std: std,
            accuracy: scored.iter().filter(|s| s.correct()).count() as f64 / n,
            format_rate: scored.iter().filter(|s| s.format_ok).count() as f64 / n,
            unscored: scored.iter().filter(|s| s.reward.is_none()).count(),
            frac_reward_zero_std: groups.iter().filter(|g| g.zero_std()).count() as f64
                / groups.len().max(1) as f64,
            kl: per_token(update.kl_sum),
            clip_frac: per_token(update.clipped_tokens),
            loss: update.loss_sum / update.passes as f64,
            grad_norm: update.grad_norm,
            lr: update.lr,
            completion_len_mean: lens.iter().sum::<usize>() as f64 / lens.len().max(1) as f64,
            completion_len_max: lens.iter().max().copied().unwrap_or(0),
            truncated_frac: groups
                .iter()
                .flat_map(|g| &g.completions)
                .filter(|c| !c.finished)
                .count() as f64
                / n,
            gen_tokens_per_s: rollout.gen_tokens as f64 / rollout.gen_s.max(1e-9),
            train_tokens_per_s: update.tokens / update.train_s.max(1e-9),
            step_time_s,
            eval: None,
        }
    }
}

impl From<&EvalResult> for StepEval {
    fn from(e: &EvalResult) -> Self {
        Self {
            eval_accuracy: e.accuracy,
            eval_boxed_rate: e.boxed_rate,
            eval_reward: e.mean_reward,
        }
    }
}

impl BaselineEval {
    pub fn new(e: &EvalResult) -> Self {
        Self {
            step: 0,
            eval_accuracy: e.accuracy,
            eval_boxed_rate: e.boxed_rate,
            eval_format_rate: e.format_rate,
            eval_reward: e.mean_reward,
        }
    }
}

/// `metrics.jsonl`, opened for appending so a resumed run continues the file.
pub struct MetricsLog {
    file: File,
}

impl MetricsLog {
    pub fn append_to(path: &Path) -> Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        Ok(Self { file })
    }

    /// Writes one line and flushes it, so a crash loses at most the step in progress.
    pub fn write<T: Serialize>(&mut self, line: &T) -> Result<()> {
        // Through a `Value`, whose object keys are sorted: the lines come out byte for byte as
        // they did when they were built with `json!`, whatever the struct's field order.
        let line = serde_json::to_value(line)?;
        writeln!(self.file, "{line}")?;
        self.file.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::Completion;
    use crate::reward::Scored;
    use crate::train::rollout::Group;

    fn scored(reward: Option<f64>, correct: bool) -> Scored {
        Scored {
            reward,
            accuracy: reward.map(|_| if correct { 1.0 } else { 0.0 }),
            format_ok: correct,
            ..Scored::default()
        }
    }

    fn completion(len: usize, finished: bool) -> Completion {
        Completion {
            tokens: vec![1; len],
            finished,
        }
    }

    fn rollout() -> Rollout {
        Rollout {
            groups: vec![
                Group {
                    prompt: vec![1],
                    completions: vec![completion(2, true), completion(4, false)],
                    scored: vec![scored(Some(1.0), true), scored(Some(0.0), false)],
                    rewards: vec![Some(1.0), Some(0.0)],
                },
                Group {
                    prompt: vec![1],
                    completions: vec![completion(3, true), completion(3, true)],
                    scored: vec![scored(Some(1.0), true), scored(None, false)],
                    rewards: vec![Some(1.0), None],
                },
            ],
            gen_tokens: 12,
            gen_s: 2.0,
        }
    }

    fn update() -> UpdateStats {
        UpdateStats {
            loss_sum: 3.0,
            kl_sum: 0.5,
            clipped_tokens: 2.0,
            tokens: 10.0,
            passes: 2,
            grad_norm: 0.7,
            lr: 1e-3,
            train_s: 4.0,
        }
    }

    /// The names every reader of `metrics.jsonl` relies on (README, plot, tests).
    const STEP_FIELDS: [&str; 18] = [
        "accuracy",
        "clip_frac",
        "completion_len_max",
        "completion_len_mean",
        "format_rate",
        "frac_reward_zero_std",
        "gen_tokens_per_s",
        "grad_norm",
        "kl",
        "loss",
        "lr",
        "reward_mean",
        "reward_std",
        "step",
        "step_time_s",
        "train_tokens_per_s",
        "truncated_frac",
        "unscored",
    ];

    fn keys(v: &serde_json::Value) -> Vec<String> {
        let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    }

    #[test]
    fn a_step_line_summarises_the_rollout_and_the_update() {
        let m = StepMetrics::new(3, &rollout(), &update(), 9.0);
        assert_eq!(m.step, 3);
        // Judged rewards 1, 0, 1: mean 2/3, population std √(2/9).
        assert!((m.reward_mean - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.reward_std - (2.0f64 / 9.0).sqrt()).abs() < 1e-12);
        assert_eq!((m.accuracy, m.format_rate, m.unscored), (0.5, 0.5, 1));
        // The second group's one judged reward has no spread.
        assert_eq!(m.frac_reward_zero_std, 0.5);
        assert_eq!((m.kl, m.clip_frac, m.loss), (0.05, 0.2, 1.5));
        assert_eq!((m.grad_norm, m.lr), (0.7, 1e-3));
        assert_eq!((m.completion_len_mean, m.completion_len_max), (3.0, 4));
        assert_eq!(m.truncated_frac, 0.25);
        assert_eq!((m.gen_tokens_per_s, m.train_tokens_per_s), (6.0, 2.5));
        assert_eq!((m.step_time_s, m.eval), (9.0, None));
    }

    #[test]
    fn a_step_without_trained_tokens_reports_zero_kl_and_clipping() {
        let none = UpdateStats {
            kl_sum: 0.0,
            clipped_tokens: 0.0,
            tokens: 0.0,
            ..update()
        };
        let m = StepMetrics::new(1, &rollout(), &none, 1.0);
        assert_eq!((m.kl, m.clip_frac, m.train_tokens_per_s), (0.0, 0.0, 0.0));
    }

    #[test]
    fn a_step_line_has_exactly_the_documented_fields_and_eval_ones_on_eval_steps() {
        let mut m = StepMetrics::new(1, &rollout(), &update(), 1.0);
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(keys(&v), STEP_FIELDS);
        m.eval = Some(StepEval {
            eval_accuracy: 0.25,
            eval_boxed_rate: 0.5,
            eval_reward: 0.75,
        });
        let v = serde_json::to_value(&m).unwrap();
        let mut want: Vec<&str> = STEP_FIELDS.to_vec();
        want.extend(["eval_accuracy", "eval_boxed_rate", "eval_reward"]);
        want.sort();
        assert_eq!(keys(&v), want);
        assert_eq!(v["eval_boxed_rate"], 0.5);
        assert_eq!(v["unscored"], 1);
        assert_eq!(v["completion_len_max"], 4);
    }

    #[test]
    fn the_baseline_line_is_step_zero_with_the_format_rate() {
        let e = BaselineEval {
            step: 0,
            eval_accuracy: 0.125,
            eval_boxed_rate: 0.875,
            eval_format_rate: 0.0,
            eval_reward: 0.125,
        };
        assert_eq!(
            serde_json::to_string(&serde_json::to_value(e).unwrap()).unwrap(),
            r#"{"eval_accuracy":0.125,"eval_boxed_rate":0.875,"eval_format_rate":0.0,"eval_reward":0.125,"step":0}"#
        );
    }

    #[test]
    fn the_log_appends_one_sorted_line_per_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        let m = StepMetrics::new(1, &rollout(), &update(), 1.0);
        MetricsLog::append_to(&path).unwrap().write(&m).unwrap();
        MetricsLog::append_to(&path).unwrap().write(&m).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(
            lines[0].starts_with(r#"{"accuracy":0.5,"clip_frac":0.2,"#),
            "{}",
            lines[0]
        );
    }
}
