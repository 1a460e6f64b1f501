//! Update: a rollout's groups become advantages and padded micro-batches (one per group),
//! then μ passes of the clipped GRPO objective, each summing its micro-batches' gradients on
//! the host before one AdamW update.

use std::time::Instant;

use anyhow::Result;
use candle_core::{Device, Tensor};

use crate::config::{GrpoSection, TrainConfig};
use crate::grpo::{self, ObjectiveParams, StepShape};
use crate::model::{Decoder, Mode, token_logprobs};
use crate::optim::{AdamW, HostGrads, accumulate};

use super::rollout::Group;

/// What the μ passes add up to; `metrics` turns the sums into rates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UpdateStats {
    /// The micro-batch losses summed over every pass.
    pub loss_sum: f64,
    /// The k3 KL summed over every trained token of every pass.
    pub kl_sum: f64,
    /// Tokens whose ratio was clipped, over every pass.
    pub clipped_tokens: f64,
    /// Tokens trained on, counted once per pass.
    pub tokens: f64,
    /// μ: the loss is reported as the mean over passes.
    pub passes: usize,
    /// The global gradient norm before clipping, of the last update (0 if none was taken).
    pub grad_norm: f64,
    /// The learning rate of the last update, or of the next one when none was taken.
    pub lr: f64,
    /// Seconds from building the micro-batches to the last update.
    pub train_s: f64,
}

/// Runs the step's μ optimiser passes over `groups` (sampled from `policy`). A step where
/// every group is filtered out, or no completion is usable, takes no update.
pub fn update(
    policy: &Decoder,
    reference: Option<&Decoder>,
    opt: &mut AdamW,
    groups: &[Group],
    cfg: &TrainConfig,
    device: &Device,
) -> Result<UpdateStats> {
    let grpo = &cfg.grpo;
    let reward_groups: Vec<Vec<Option<f64>>> = groups.iter().map(|g| g.rewards.clone()).collect();
    let adv = grpo::advantages(&reward_groups, grpo.scale_rewards);

    let t1 = Instant::now();
    let mut batches = vec![];
    for (gi, g) in groups.iter().enumerate() {
        if grpo.filter_zero_std_groups && g.zero_std() {
            continue;
        }
        let keep = kept(g, &adv[gi], grpo);
        if keep.iter().any(|k| *k) {
            batches.push(Batch::new(g, &adv[gi], &keep, device)?);
        }
    }
    let shape = StepShape {
        total_sequences: batches.iter().map(|b| b.kept).sum(),
        total_tokens: batches.iter().map(|b| b.tokens).sum(),
        micro_batches: batches.len(),
        max_completion_len: grpo.max_new_tokens,
    };
    // Log-probabilities at sampling time (needed only when μ > 1: with one pass the ratio's
    // denominator is the detached current value) and under the reference.
    let old: Vec<Option<Tensor>> = batches
        .iter()
        .map(|b| {
            if grpo.mu > 1 {
                b.logprobs(policy, Mode::Infer).map(Some)
            } else {
                Ok(None)
            }
        })
        .collect::<Result<_>>()?;
    let refs: Vec<Option<Tensor>> = batches
        .iter()
        .map(|b| reference.map(|r| b.logprobs(r, Mode::Infer)).transpose())
        .collect::<Result<_>>()?;
    let obj = ObjectiveParams {
        epsilon: grpo.epsilon,
        epsilon_high: cfg.epsilon_high(),
        beta: grpo.beta,
    };
    let mut stats = UpdateStats {
        loss_sum: 0.0,
        kl_sum: 0.0,
        clipped_tokens: 0.0,
        tokens: 0.0,
        passes: grpo.mu,
        grad_norm: 0.0,
        lr: opt.next_lr(),
        train_s: 0.0,
    };
    for _ in 0..grpo.mu {
        if batches.is_empty() {
            break;
        }
        let mut grads = HostGrads::new();
        for (bi, b) in batches.iter().enumerate() {
            let logp = b.logprobs(policy, Mode::Train)?;
            let old_logp = old[bi].clone().unwrap_or_else(|| logp.detach());
            let m = grpo::micro_loss(
                &logp,
                &old_logp,
                refs[bi].as_ref(),
                &b.adv,
                &b.mask,
                &obj,
                grpo.loss_type,
                shape,
            )?;
            let store = m.loss.backward()?;
            accumulate(&mut grads, opt.vars(), &store)?;
            stats.loss_sum += m.loss.to_scalar::<f32>()? as f64;
            stats.kl_sum += m.kl_sum;
            stats.clipped_tokens += m.clipped_tokens;
            stats.tokens += m.tokens;
        }
        let s = opt.step_accumulated(&grads)?;
        stats.grad_norm = s.grad_norm;
        stats.lr = s.lr;
    }
    stats.train_s = t1.elapsed().as_secs_f64();
    Ok(stats)
}

/// Which completions of a group take part: judged (an advantage), not empty, and not
/// truncated when truncation is masked.
pub fn kept(g: &Group, adv: &[Option<f64>], grpo: &GrpoSection) -> Vec<bool> {
    g.completions
        .iter()
        .zip(adv)
        .map(|(c, a)| a.is_some() && !c.tokens.is_empty() && (c.finished || !grpo.mask_truncated_completions))
        .collect()
}

/// One group as a rectangular batch: prompt + completion, right-padded; causal attention keeps
/// the padding from touching real positions, and the mask keeps it out of the loss.
pub struct Batch {
    ids: Tensor,
    targets: Tensor,
    prompt_len: usize,
    pub mask: Tensor,
    pub adv: Tensor,
    pub kept: usize,
    pub tokens: usize,
}

impl Batch {
    /// The group's completions, those not in `keep` masked out entirely.
    pub fn new(g: &Group, adv: &[Option<f64>], keep: &[bool], device: &Device) -> Result<Self> {
        let n = g
            .completions
            .iter()
            .map(|c| c.tokens.len())
            .max()
            .unwrap_or(1)
            .max(1);
        let b = g.completions.len();
        let pl = g.prompt.len();
        let (mut ids, mut targets, mut mask, mut a) = (vec![], vec![], vec![], vec![]);
        for (i, c) in g.completions.iter().enumerate() {
            ids.extend_from_slice(&g.prompt);
            // The input holds the completion minus its last token; targets are the completion.
            for j in 0..n - 1 {
                ids.push(c.tokens.get(j).copied().unwrap_or(0));
            }
            for j in 0..n {
                targets.push(c.tokens.get(j).copied().unwrap_or(0));
                mask.push(if keep[i] && j < c.tokens.len() { 1f32 } else { 0.0 });
            }
            a.push(adv[i].unwrap_or(0.0) as f32);
        }
        let tokens = mask.iter().filter(|m| **m > 0.0).count();
        Ok(Self {
            ids: Tensor::from_vec(ids, (b, pl + n - 1), device)?,
            targets: Tensor::from_vec(targets, (b, n), device)?,
            prompt_len: pl,
            mask: Tensor::from_vec(mask, (b, n), device)?,
            adv: Tensor::from_vec(a, b, device)?,
            kept: keep.iter().filter(|k| **k).count(),
            tokens,
        })
    }

    /// Log-probabilities of the completion tokens, `(batch, max completion length)`.
    pub fn logprobs(&self, dec: &Decoder, mode: Mode) -> Result<Tensor> {
        let n = self.targets.dim(1)?;
        let h = dec.hidden(&self.ids, 0, None, mode)?;
        // Position i predicts token i + 1: the completion is predicted from prompt_len - 1 on.
        let h = h.narrow(1, self.prompt_len - 1, n)?;
        let logits = dec.logits(&h)?;
        token_logprobs(&logits, &self.targets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::Completion;

    fn grpo(mask_truncated_completions: bool) -> GrpoSection {
        toml::from_str(&format!(
            "steps = 1\nprompts_per_step = 1\ngroup_size = 2\nmax_new_tokens = 4\n\
             mask_truncated_completions = {mask_truncated_completions}"
        ))
        .unwrap()
    }

    fn group(completions: &[(&[u32], bool)]) -> Group {
        Group {
            prompt: vec![5, 6, 7],
            completions: completions
                .iter()
                .map(|(t, finished)| Completion {
                    tokens: t.to_vec(),
                    finished: *finished,
                })
                .collect(),
            scored: vec![],
            rewards: vec![],
        }
    }

    #[test]
    fn unjudged_and_empty_completions_take_no_part() {
        let g = group(&[(&[1, 2], true), (&[], true), (&[3], true)]);
        let keep = kept(&g, &[Some(1.0), Some(-1.0), None], &grpo(false));
        assert_eq!(keep, vec![true, false, false]);
    }

    #[test]
    fn truncated_completions_take_part_unless_truncation_is_masked() {
        let g = group(&[(&[1, 2], false), (&[3], true)]);
        let adv = [Some(1.0), Some(-1.0)];
        assert_eq!(kept(&g, &adv, &grpo(false)), vec![true, true]);
        assert_eq!(kept(&g, &adv, &grpo(true)), vec![false, true]);
    }

    #[test]
    fn a_batch_is_prompt_plus_completion_right_padded_with_the_mask_on_real_kept_tokens() {
        let g = group(&[(&[1, 2, 3], true), (&[4], true), (&[8, 9], true)]);
        let b = Batch::new(
            &g,
            &[Some(0.5), Some(-0.5), None],
            &[true, true, false],
            &Device::Cpu,
        )
        .unwrap();
        // Inputs: the prompt, then the first 3 − 1 tokens of the completion padded to the
        // longest (3): position i predicts target i.
        assert_eq!(
            b.ids.to_vec2::<u32>().unwrap(),
            vec![vec![5, 6, 7, 1, 2], vec![5, 6, 7, 4, 0], vec![5, 6, 7, 8, 9]]
        );
        assert_eq!(
            b.targets.to_vec2::<u32>().unwrap(),
            vec![vec![1, 2, 3], vec![4, 0, 0], vec![8, 9, 0]]
        );
        assert_eq!(
            b.mask.to_vec2::<f32>().unwrap(),
            vec![vec![1.0, 1.0, 1.0], vec![1.0, 0.0, 0.0], vec![0.0, 0.0, 0.0]]
        );
        assert_eq!(b.adv.to_vec1::<f32>().unwrap(), vec![0.5, -0.5, 0.0]);
        assert_eq!((b.kept, b.tokens, b.prompt_len), (2, 4, 3));
    }
}
