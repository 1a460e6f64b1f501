//! `policy-trainer bench`: the two halves of a GRPO step timed on fixed shapes, so the same
//! step can be timed in another framework on the same weights (`bench/torch_step.py`).
//!
//! Generation: one prompt prefilled once, its cache repeated for a group of `group` samples,
//! then `new_tokens` batched decoding steps with no end token, so every row runs to the limit.
//! Training: the group as one micro-batch (prompt + completion), the GRPO objective with fixed
//! advantages, backward, gradient accumulation and one AdamW update — what `train` does per
//! micro-batch when μ = 1.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use candle_core::{Device, Tensor};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;

use crate::generate::{self, SampleParams};
use crate::grpo::{self, LossType, ObjectiveParams, StepShape};
use crate::model::{Decoder, Mode, ModelConfig, Params, token_logprobs};
use crate::optim::{AdamW, AdamWConfig, HostGrads, accumulate};

#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub group: usize,
    pub prompt_len: usize,
    pub new_tokens: usize,
    /// Timed repetitions of each half; the median is reported.
    pub repeats: usize,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub framework: &'static str,
    pub parameters: usize,
    pub group: usize,
    pub prompt_len: usize,
    pub new_tokens: usize,
    pub threads: usize,
    /// Sampled tokens per second (group × new_tokens over the generation time).
    pub gen_tokens_per_s: f64,
    /// Completion tokens trained on per second (group × new_tokens over forward, backward and
    /// the optimiser update), the trainer's `train_tokens_per_s`.
    pub train_tokens_per_s: f64,
    pub gen_s: Vec<f64>,
    pub train_s: Vec<f64>,
}

/// Token ids both frameworks use: a fixed pseudo-random walk over the vocabulary (what the
/// tokens say does not change the cost of a step).
pub fn token_ids(n: usize, vocab: usize, salt: usize) -> Vec<u32> {
    (0..n)
        .map(|i| ((i * 7919 + salt * 104_729 + 13) % vocab) as u32)
        .collect()
}

/// Writes the weights and config the bench runs on, as an HF folder, for the other framework,
/// with the training-path logits of the bench prompt (`prompt_logits.safetensors`) so it can
/// check that it computes the same function before timing it.
pub fn export(
    dir: &Path,
    cfg: &ModelConfig,
    params: &Params,
    prompt_len: usize,
    device: &Device,
) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let map: std::collections::HashMap<String, Tensor> = params.tensors().into_iter().collect();
    candle_core::safetensors::save(&map, dir.join("model.safetensors"))?;
    std::fs::write(dir.join("config.json"), serde_json::to_string_pretty(cfg)?)?;
    let prompt = token_ids(prompt_len, cfg.vocab_size, 0);
    let dec = Decoder::new(cfg, params.tensors(), device)?;
    let ids = Tensor::new(prompt.as_slice(), device)?.unsqueeze(0)?;
    let logits = dec.forward(&ids, 0, None, Mode::Train)?;
    candle_core::safetensors::save(
        &std::collections::HashMap::from([("logits", logits)]),
        dir.join("prompt_logits.safetensors"),
    )?;
    Ok(())
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

pub fn run(cfg: &ModelConfig, params: &Params, shape: Shape, device: &Device) -> Result<Report> {
    let vocab = cfg.vocab_size;
    let prompt = token_ids(shape.prompt_len, vocab, 0);
    let completions: Vec<Vec<u32>> = (0..shape.group)
        .map(|row| token_ids(shape.new_tokens, vocab, row + 1))
        .collect();
    let sample = SampleParams {
        temperature: 1.0,
        top_p: 1.0,
        top_k: 0,
        max_new_tokens: shape.new_tokens,
        greedy: false,
    };
    let mut rng = StdRng::seed_from_u64(0);
    let mut opt = AdamW::named(&params.vars, AdamWConfig::with_lr(1e-6));
    let objective = ObjectiveParams {
        epsilon: 0.2,
        epsilon_high: 0.28,
        beta: 0.0,
    };
    let (ids, targets, mask, adv) = training_batch(&prompt, &completions, device)?;
    let step_shape = StepShape {
        total_sequences: shape.group,
        total_tokens: shape.group * shape.new_tokens,
        micro_batches: 1,
        max_completion_len: shape.new_tokens,
    };

    let (mut gen_s, mut train_s) = (vec![], vec![]);
    // One untimed round first: allocator and thread-pool warm-up.
    for round in 0..=shape.repeats {
        let dec = Decoder::new(cfg, params.tensors(), device)?;
        let t = Instant::now();
        let out = generate::generate_group(&dec, &prompt, shape.group, &sample, &[], &mut rng, device)?;
        let g = t.elapsed().as_secs_f64();
        debug_assert!(out.iter().all(|c| c.tokens.len() == shape.new_tokens));

        let t = Instant::now();
        let hidden = dec.hidden(&ids, 0, None, Mode::Train)?;
        let hidden = hidden.narrow(1, shape.prompt_len - 1, shape.new_tokens)?;
        let logp = token_logprobs(&dec.logits(&hidden)?, &targets)?;
        let loss = grpo::micro_loss(
            &logp,
            &logp.detach(),
            None,
            &adv,
            &mask,
            &objective,
            LossType::Dapo,
            step_shape,
        )?;
        let store = loss.loss.backward()?;
        let mut grads = HostGrads::new();
        accumulate(&mut grads, opt.vars(), &store)?;
        opt.step_accumulated(&grads)?;
        let tr = t.elapsed().as_secs_f64();
        if round > 0 {
            gen_s.push(g);
            train_s.push(tr);
        }
    }
    let tokens = (shape.group * shape.new_tokens) as f64;
    Ok(Report {
        framework: "candle",
        parameters: params.count(),
        group: shape.group,
        prompt_len: shape.prompt_len,
        new_tokens: shape.new_tokens,
        threads: rayon_threads(),
        gen_tokens_per_s: tokens / median(gen_s.clone()),
        train_tokens_per_s: tokens / median(train_s.clone()),
        gen_s,
        train_s,
    })
}

/// Inputs `(group, prompt + completion − 1)`, targets and mask `(group, completion)`, and
/// advantages alternating ±1 so the objective has a gradient everywhere.
fn training_batch(
    prompt: &[u32],
    completions: &[Vec<u32>],
    device: &Device,
) -> Result<(Tensor, Tensor, Tensor, Tensor)> {
    let (g, n) = (completions.len(), completions[0].len());
    let mut ids = Vec::with_capacity(g * (prompt.len() + n - 1));
    let mut targets = Vec::with_capacity(g * n);
    for c in completions {
        ids.extend_from_slice(prompt);
        ids.extend_from_slice(&c[..n - 1]);
        targets.extend_from_slice(c);
    }
    let adv: Vec<f32> = (0..g).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 }).collect();
    Ok((
        Tensor::from_vec(ids, (g, prompt.len() + n - 1), device)?,
        Tensor::from_vec(targets, (g, n), device)?,
        Tensor::ones((g, n), candle_core::DType::F32, device)?,
        Tensor::from_vec(adv, g, device)?,
    ))
}

fn rayon_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> ModelConfig {
        ModelConfig {
            vocab_size: 64,
            hidden_size: 16,
            intermediate_size: 32,
            num_hidden_layers: 2,
            num_attention_heads: 4,
            num_key_value_heads: Some(2),
            rms_norm_eps: 1e-5,
            rope_theta: 10_000.0,
            tie_word_embeddings: true,
            attention_bias: None,
            model_type: None,
            max_position_embeddings: 64,
        }
    }

    #[test]
    fn a_bench_round_updates_the_weights_and_reports_every_repeat() {
        let cfg = tiny();
        let params = Params::random(&cfg, 3, &Device::Cpu).unwrap();
        let before = params.tensors()["model.layers.0.mlp.up_proj.weight"]
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let shape = Shape {
            group: 3,
            prompt_len: 5,
            new_tokens: 4,
            repeats: 2,
        };
        let report = run(&cfg, &params, shape, &Device::Cpu).unwrap();
        assert_eq!(report.gen_s.len(), 2);
        assert_eq!(report.train_s.len(), 2);
        assert!(report.gen_tokens_per_s.is_finite() && report.gen_tokens_per_s > 0.0);
        let after = params.tensors()["model.layers.0.mlp.up_proj.weight"]
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_ne!(before, after, "the optimiser step changed the weights");
    }

    #[test]
    fn export_writes_a_folder_the_loader_reads_back_exactly() {
        let cfg = tiny();
        let params = Params::random(&cfg, 4, &Device::Cpu).unwrap();
        let dir = tempfile::tempdir().unwrap();
        export(dir.path(), &cfg, &params, 5, &Device::Cpu).unwrap();
        let text = std::fs::read_to_string(dir.path().join("config.json")).unwrap();
        let back: ModelConfig = serde_json::from_str(&text).unwrap();
        assert_eq!(back, cfg);
        let tensors =
            candle_core::safetensors::load(dir.path().join("model.safetensors"), &Device::Cpu).unwrap();
        for (name, t) in params.tensors() {
            let a = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let b = tensors[&name].flatten_all().unwrap().to_vec1::<f32>().unwrap();
            assert_eq!(a, b, "{name}");
        }
        let logits =
            candle_core::safetensors::load(dir.path().join("prompt_logits.safetensors"), &Device::Cpu)
                .unwrap()
                .remove("logits")
                .unwrap();
        assert_eq!(logits.dims(), &[1, 5, 64]);
    }
}
