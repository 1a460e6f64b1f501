//! The GRPO loop: each step samples groups and has verdict score them (`rollout`), takes μ
//! optimiser steps on the clipped objective (`update`), logs a line (`metrics`), and now and
//! then evaluates on held-out prompts (`eval`) and saves a `checkpoint` that a later run
//! resumes from. This file wires them together; the `eval` command reuses the pieces.

pub mod checkpoint;
pub mod eval;
pub mod metrics;
pub mod rollout;
pub mod update;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use candle_core::Device;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde_json::{Value, json};

use crate::config::{DataKind, ModelSource, TrainConfig};
use crate::data::{self, DEFAULT_INSTRUCTION, Example};
use crate::loader::{self, Loaded};
use crate::model::{Decoder, Params};
use crate::optim::AdamW;
use crate::reward::RewardClient;

pub use checkpoint::Checkpoint;
pub use metrics::StepMetrics;

use checkpoint::Snapshot;
use eval::evaluate;
use metrics::{BaselineEval, MetricsLog, StepEval};
use rollout::Sampler;

pub fn device() -> Result<Device> {
    #[cfg(feature = "cuda")]
    {
        Ok(Device::new_cuda(0)?)
    }
    #[cfg(not(feature = "cuda"))]
    {
        Ok(Device::Cpu)
    }
}

/// Loads the model named by the config, or the checkpoint folder `checkpoint` instead.
pub fn load_model(cfg: &TrainConfig, checkpoint: Option<&Path>, device: &Device) -> Result<Loaded> {
    if let Some(dir) = checkpoint {
        let mut l = loader::load_hf_dir(dir, device)?;
        if cfg.model.source == ModelSource::Random {
            l.eos = vec![0];
        }
        return Ok(l);
    }
    match cfg.model.source {
        ModelSource::Random => {
            let arch = cfg.model.arch.clone().context("model.arch")?;
            let tokenizer = loader::toy_tokenizer()?;
            if arch.vocab_size != tokenizer.get_vocab_size(true) {
                bail!(
                    "model.arch.vocab_size must be {} (the toy vocabulary) for a random model",
                    tokenizer.get_vocab_size(true)
                );
            }
            Ok(Loaded {
                params: Params::random(&arch, cfg.seed, device)?,
                cfg: arch,
                tokenizer,
                eos: vec![0],
            })
        }
        ModelSource::Hf => loader::load_hf_dir(cfg.model.path.as_deref().context("model.path")?, device),
        ModelSource::Gguf => loader::load_gguf(cfg.model.path.as_deref().context("model.path")?, device),
    }
}

pub fn datasets(cfg: &TrainConfig) -> Result<(Vec<Example>, Vec<Example>)> {
    let ins = cfg.data.instruction.as_deref().unwrap_or(DEFAULT_INSTRUCTION);
    let eval_n = cfg.eval.size;
    let (train, mut held_out) = match cfg.data.kind {
        DataKind::Toy => (
            data::toy(1000, cfg.seed, "train"),
            data::toy(eval_n, 0xe7a1, "heldout"),
        ),
        DataKind::Arithmetic => {
            let held = data::arithmetic_held_out(eval_n, ins, cfg.data.level);
            (
                data::arithmetic_train(5000, cfg.seed, ins, cfg.data.level, &held),
                held,
            )
        }
        DataKind::Jsonl => {
            let mut all = data::read_jsonl(cfg.data.path.as_deref().context("data.path")?, Some(ins))?;
            // The last `eval.size` lines are held out.
            let cut = all.len().saturating_sub(eval_n);
            let held = all.split_off(cut);
            (all, held)
        }
    };
    if let Some(p) = &cfg.eval.path {
        held_out = data::read_jsonl(p, Some(ins))?;
        held_out.truncate(eval_n);
    }
    if train.is_empty() {
        bail!("the training set is empty");
    }
    Ok((train, held_out))
}

pub struct Options {
    pub verdict_url: String,
    pub out: PathBuf,
    pub steps: Option<usize>,
}

pub fn train(cfg: &TrainConfig, opts: &Options) -> Result<()> {
    let device = device()?;
    let steps = opts.steps.unwrap_or(cfg.grpo.steps);
    std::fs::create_dir_all(&opts.out)?;
    let checkpoint = Checkpoint::of_run(&opts.out);
    let resuming = checkpoint.exists();
    let (loaded, resumed) = if resuming {
        let r = checkpoint.load(&device)?;
        (r.model, Some((r.step, r.optimizer)))
    } else {
        (load_model(cfg, None, &device)?, None)
    };
    let Loaded {
        cfg: mcfg,
        params,
        tokenizer,
        eos,
    } = loaded;
    let mut opt = AdamW::named(&params.vars, cfg.optim.clone());
    let mut start = 0;
    if let Some((step, state)) = resumed {
        start = step;
        opt.restore(state);
        eprintln!("resuming from {} at step {start}", checkpoint.dir().display());
    }
    let policy = Decoder::new(&mcfg, params.tensors(), &device)?;
    // The reference is the model the run started from: the first checkpoint's saved copy when
    // resuming, else a frozen copy of the initial weights.
    let reference = if cfg.grpo.beta != 0.0 {
        let saved = if resuming {
            checkpoint.reference(&device)?
        } else {
            None
        };
        let w = match saved {
            Some(w) => w,
            None => params.frozen_copy()?,
        };
        Some(Decoder::new(&mcfg, w, &device)?)
    } else {
        None
    };
    let (mut train_set, held_out) = datasets(cfg)?;
    train_set.shuffle(&mut StdRng::seed_from_u64(cfg.seed));
    let run_id = cfg.reward.run_id.clone().unwrap_or_else(|| {
        format!(
            "policy-trainer-{}",
            opts.out.file_name().and_then(|s| s.to_str()).unwrap_or("run")
        )
    });
    let mut client = RewardClient::new(
        &opts.verdict_url,
        &run_id,
        &cfg.reward.policy,
        std::time::Duration::from_secs(cfg.reward.timeout_s),
    )?;
    client.batch_size = cfg.reward.batch_size;
    let sampler = Sampler {
        policy: &policy,
        tokenizer: &tokenizer,
        eos: &eos,
        cfg,
        client: &client,
        device: &device,
    };

    let metrics_path = opts.out.join("metrics.jsonl");
    let mut log = MetricsLog::append_to(&metrics_path)?;
    if start == 0 && !held_out.is_empty() {
        let t = Instant::now();
        let e = evaluate(&sampler, &held_out)?;
        eprintln!(
            "eval before training: accuracy {:.3}, boxed {:.3} ({:.0}s); e.g. {:?}",
            e.accuracy,
            e.boxed_rate,
            t.elapsed().as_secs_f64(),
            e.samples.first()
        );
        log.write(&BaselineEval::new(&e))?;
    }

    let bar = indicatif::ProgressBar::new(steps as u64);
    bar.set_position(start as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} steps, {elapsed} [{msg}]")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    for step in start..steps {
        let t0 = Instant::now();
        // Sampling randomness is derived from (seed, step), so a resumed run continues exactly.
        let mut rng = StdRng::seed_from_u64(cfg.seed.wrapping_mul(1_000_003).wrapping_add(step as u64));
        let p = cfg.grpo.prompts_per_step;
        let examples: Vec<&Example> = (0..p)
            .map(|j| &train_set[(step * p + j) % train_set.len()])
            .collect();
        let rollout = sampler.rollout(step, &examples, &mut rng)?;
        let stats = update::update(
            &policy,
            reference.as_ref(),
            &mut opt,
            &rollout.groups,
            cfg,
            &device,
        )?;
        let mut line = StepMetrics::new(step + 1, &rollout, &stats, t0.elapsed().as_secs_f64());
        let last = step + 1 == steps;
        if cfg.eval.every > 0 && (step + 1) % cfg.eval.every == 0 || last {
            let e = evaluate(&sampler, &held_out)?;
            line.eval = Some(StepEval::from(&e));
            if last {
                eprintln!(
                    "eval after training: accuracy {:.3}, boxed {:.3}; e.g. {:?}",
                    e.accuracy,
                    e.boxed_rate,
                    e.samples.first()
                );
            }
        }
        log.write(&line)?;
        bar.set_message(format!(
            "reward {:.3}, acc {:.2}",
            line.reward_mean, line.accuracy
        ));
        bar.inc(1);
        if (step + 1) % cfg.output.checkpoint_every.max(1) == 0 || last {
            checkpoint.save(&Snapshot {
                model: &mcfg,
                params: &params,
                tokenizer: &tokenizer,
                eos: &eos,
                optimizer: opt.state(),
                reference: reference.as_ref(),
                step: step + 1,
            })?;
        }
    }
    bar.finish();
    crate::plot::plot_metrics(&metrics_path, &opts.out.join("reward.png"))?;
    Ok(())
}

/// `policy-trainer eval`: held-out accuracy of the configured model or a checkpoint.
pub fn eval(cfg: &TrainConfig, checkpoint: Option<&Path>, verdict_url: &str) -> Result<Value> {
    let device = device()?;
    let l = load_model(cfg, checkpoint, &device)?;
    let dec = Decoder::new(&l.cfg, l.params.tensors(), &device)?;
    let (_, held_out) = datasets(cfg)?;
    let client = RewardClient::new(
        verdict_url,
        "policy-trainer-eval",
        &cfg.reward.policy,
        std::time::Duration::from_secs(cfg.reward.timeout_s),
    )?;
    let sampler = Sampler {
        policy: &dec,
        tokenizer: &l.tokenizer,
        eos: &l.eos,
        cfg,
        client: &client,
        device: &device,
    };
    let e = evaluate(&sampler, &held_out)?;
    Ok(
        json!({ "examples": held_out.len(), "accuracy": e.accuracy, "boxed_rate": e.boxed_rate,
               "format_rate": e.format_rate, "mean_reward": e.mean_reward,
               "samples": e.samples.iter().map(|(p, c, v)| json!({"prompt": p, "completion": c, "verdict": v})).collect::<Vec<_>>() }),
    )
}
