//! The GRPO objective: group-relative advantages, the clipped surrogate with an optional
//! higher upper clip, the k3 KL estimator, and the four loss aggregations.

use anyhow::Result;
use candle_core::Tensor;
use serde::{Deserialize, Serialize};

/// How rewards are scaled after subtracting the group mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaleRewards {
    /// Divide by the group's standard deviation (GRPO).
    Group,
    /// Divide by the standard deviation over the whole batch.
    Batch,
    /// No division (Dr. GRPO).
    None,
}

/// How per-token losses become one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossType {
    /// Mean over each sequence's tokens, then mean over sequences.
    Grpo,
    /// Token mean within each micro-batch, then mean over micro-batches.
    Bnpo,
    /// Token sum divided by (sequences × max completion length), a constant.
    DrGrpo,
    /// Token sum divided by the number of tokens in the whole step.
    Dapo,
}

pub const STD_EPS: f64 = 1e-4;

/// Unbiased standard deviation (n − 1), 0 for fewer than two values.
fn std(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return 0.0;
    }
    let m = xs.iter().sum::<f64>() / xs.len() as f64;
    (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64).sqrt()
}

/// Advantages for `groups` of rewards; `None` marks an unscorable completion, which gets no
/// advantage (and no gradient) and is left out of the statistics.
pub fn advantages(groups: &[Vec<Option<f64>>], scale: ScaleRewards) -> Vec<Vec<Option<f64>>> {
    let all: Vec<f64> = groups.iter().flatten().filter_map(|r| *r).collect();
    let batch_std = std(&all);
    groups
        .iter()
        .map(|g| {
            let scored: Vec<f64> = g.iter().filter_map(|r| *r).collect();
            let mean = if scored.is_empty() {
                0.0
            } else {
                scored.iter().sum::<f64>() / scored.len() as f64
            };
            let denom = match scale {
                ScaleRewards::Group => std(&scored) + STD_EPS,
                ScaleRewards::Batch => batch_std + STD_EPS,
                ScaleRewards::None => 1.0,
            };
            g.iter().map(|r| r.map(|r| (r - mean) / denom)).collect()
        })
        .collect()
}

/// Whether every scorable reward in the group is the same (the group carries no signal).
pub fn zero_std(group: &[Option<f64>]) -> bool {
    let scored: Vec<f64> = group.iter().filter_map(|r| *r).collect();
    scored.len() < 2 || std(&scored) < 1e-12
}

/// DAPO's soft overlong penalty: 0 up to `max_len - cache`, then linear down to `-factor` at
/// `max_len`.
pub fn overlong_penalty(len: usize, max_len: usize, cache: usize, factor: f64) -> f64 {
    let start = max_len.saturating_sub(cache);
    if len <= start || cache == 0 {
        0.0
    } else if len <= max_len {
        -((len - start) as f64) / cache as f64 * factor
    } else {
        -factor
    }
}

pub struct ObjectiveParams {
    pub epsilon: f64,
    pub epsilon_high: f64,
    pub beta: f64,
}

/// What the whole step's normaliser needs to know, so that per-micro-batch losses add up to
/// the step's loss.
#[derive(Debug, Clone, Copy)]
pub struct StepShape {
    pub total_sequences: usize,
    pub total_tokens: usize,
    pub micro_batches: usize,
    pub max_completion_len: usize,
}

pub struct MicroLoss {
    pub loss: Tensor,
    /// Mean k3 KL over unmasked tokens (0 when β = 0 and no reference is given).
    pub kl_sum: f64,
    pub clipped_tokens: f64,
    pub tokens: f64,
}

/// The loss of one micro-batch of `b` sequences × `n` completion positions.
///
/// `logp`: current log-probabilities (with gradient); `old_logp`: at sampling time;
/// `ref_logp`: under the frozen reference (only needed when β > 0); `adv`: `(b)`;
/// `mask`: `(b, n)`, 1 for tokens that take part.
#[allow(clippy::too_many_arguments)]
pub fn micro_loss(
    logp: &Tensor,
    old_logp: &Tensor,
    ref_logp: Option<&Tensor>,
    adv: &Tensor,
    mask: &Tensor,
    p: &ObjectiveParams,
    loss_type: LossType,
    shape: StepShape,
) -> Result<MicroLoss> {
    let adv = adv.unsqueeze(1)?;
    let ratio = (logp - old_logp)?.exp()?;
    let clipped = ratio.clamp(1.0 - p.epsilon, 1.0 + p.epsilon_high)?;
    let unclipped_obj = ratio.broadcast_mul(&adv)?;
    let clipped_obj = clipped.broadcast_mul(&adv)?;
    let mut per_token = unclipped_obj.minimum(&clipped_obj)?.neg()?;
    let mut kl_sum = 0.0;
    if let Some(r) = ref_logp.filter(|_| p.beta != 0.0) {
        let k3 = k3(logp, r)?;
        kl_sum = (k3.detach() * mask)?.sum_all()?.to_scalar::<f32>()? as f64;
        per_token = (per_token + (k3 * p.beta)?)?;
    }
    // A token counts as clipped when the clipped term was the smaller (its gradient is zero).
    let is_clipped = clipped_obj
        .lt(&unclipped_obj)?
        .to_dtype(candle_core::DType::F32)?;
    let clipped_tokens = (is_clipped * mask)?.sum_all()?.to_scalar::<f32>()? as f64;
    let masked = (per_token * mask)?;
    let tokens = mask.sum_all()?.to_scalar::<f32>()? as f64;
    let loss = match loss_type {
        LossType::Grpo => {
            let per_seq_tokens = mask.sum(1)?.clamp(1.0, f64::INFINITY)?;
            (masked.sum(1)? / per_seq_tokens)?.sum_all()? / shape.total_sequences.max(1) as f64
        }
        LossType::Bnpo => masked.sum_all()? / (tokens.max(1.0) * shape.micro_batches.max(1) as f64),
        LossType::DrGrpo => {
            masked.sum_all()? / (shape.total_sequences.max(1) * shape.max_completion_len.max(1)) as f64
        }
        LossType::Dapo => masked.sum_all()? / shape.total_tokens.max(1) as f64,
    }?;
    Ok(MicroLoss {
        loss,
        kl_sum,
        clipped_tokens,
        tokens,
    })
}

/// The k3 estimator of KL(π‖π_ref): exp(ref − logp) − (ref − logp) − 1, per token, ≥ 0.
pub fn k3(logp: &Tensor, ref_logp: &Tensor) -> Result<Tensor> {
    let d = (ref_logp - logp)?;
    Ok(((d.exp()? - &d)? - 1.0)?)
}
