//! The GRPO loop: sample groups, score them through verdict, compute advantages, take μ
//! optimiser steps on the clipped objective, log, checkpoint and evaluate.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use candle_core::{Device, Tensor};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde_json::{Value, json};
use tokenizers::Tokenizer;

use crate::config::{DataKind, ModelSource, TrainConfig};
use crate::data::{self, DEFAULT_INSTRUCTION, Example};
use crate::generate::{Completion, SampleParams, apply_template, generate_group};
use crate::grpo::{self, ObjectiveParams, StepShape};
use crate::loader::{self, Loaded};
use crate::model::{Decoder, Mode, ModelConfig, Params, token_logprobs};
use crate::optim::{AdamW, accumulate};
use crate::reward::{RewardClient, RewardItem, Scored};

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

pub struct EvalResult {
    pub accuracy: f64,
    pub format_rate: f64,
    pub boxed_rate: f64,
    pub mean_reward: f64,
    pub samples: Vec<(String, String, String)>,
}

/// Greedy completions of `examples`, scored by verdict.
pub fn evaluate(
    dec: &Decoder,
    tok: &Tokenizer,
    eos: &[u32],
    cfg: &TrainConfig,
    examples: &[Example],
    client: &RewardClient,
    device: &Device,
) -> Result<EvalResult> {
    let sp = SampleParams {
        temperature: 1.0,
        top_p: 1.0,
        top_k: 0,
        max_new_tokens: cfg.eval.max_new_tokens.unwrap_or(cfg.grpo.max_new_tokens),
        greedy: true,
    };
    let mut rng = StdRng::seed_from_u64(0);
    let mut items = vec![];
    for ex in examples {
        let ids = encode(tok, cfg, &ex.prompt)?;
        let c = generate_group(dec, &ids, 1, &sp, eos, &mut rng, device)?.remove(0);
        items.push(RewardItem {
            id: format!("eval-{}", ex.id),
            prompt: ex.prompt.clone(),
            completion: decode(tok, &c.tokens)?,
            task: ex.task.clone(),
        });
    }
    let scored = client.score(&items)?;
    let n = scored.len().max(1) as f64;
    let boxed = items.iter().filter(|i| has_filled_box(&i.completion)).count();
    Ok(EvalResult {
        accuracy: scored.iter().filter(|s| s.correct()).count() as f64 / n,
        format_rate: scored.iter().filter(|s| s.format_ok).count() as f64 / n,
        boxed_rate: boxed as f64 / n,
        mean_reward: scored.iter().filter_map(|s| s.reward).sum::<f64>() / n,
        samples: items
            .iter()
            .zip(&scored)
            .take(3)
            .map(|(i, s)| {
                (
                    i.prompt.clone(),
                    i.completion.clone(),
                    s.verdict.clone().unwrap_or_default(),
                )
            })
            .collect(),
    })
}

fn has_filled_box(s: &str) -> bool {
    s.match_indices("\\boxed{")
        .any(|(i, m)| s[i + m.len()..].chars().next().is_some_and(|c| c != '}'))
}

pub fn encode(tok: &Tokenizer, cfg: &TrainConfig, prompt: &str) -> Result<Vec<u32>> {
    let text = apply_template(cfg.model.template, cfg.model.system.as_deref(), prompt);
    let enc = tok
        .encode(text, false)
        .map_err(|e| anyhow::anyhow!("tokenizing: {e}"))?;
    Ok(enc.get_ids().to_vec())
}

pub fn decode(tok: &Tokenizer, ids: &[u32]) -> Result<String> {
    tok.decode(ids, true)
        .map_err(|e| anyhow::anyhow!("detokenizing: {e}"))
}

/// One sampled group, scored.
struct Group {
    prompt: Vec<u32>,
    completions: Vec<Completion>,
    scored: Vec<Scored>,
    rewards: Vec<Option<f64>>,
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
    let ckpt_dir = opts.out.join("checkpoint");
    let resuming = ckpt_dir.join("state.json").exists();
    let loaded = load_model(cfg, resuming.then_some(ckpt_dir.as_path()), &device)?;
    let Loaded {
        cfg: mcfg,
        params,
        tokenizer,
        eos,
    } = loaded;
    let eos = if resuming { read_state(&ckpt_dir)?.eos } else { eos };
    let mut opt = AdamW::new(cfg.optim.clone());
    let mut start = 0;
    if resuming {
        let st = read_state(&ckpt_dir)?;
        start = st.step;
        opt.t = st.adam_t;
        let moments = candle_core::safetensors::load(ckpt_dir.join("optimizer.safetensors"), &Device::Cpu)?;
        for (k, t) in moments {
            let v = t.to_vec1::<f32>()?;
            if let Some(name) = k.strip_prefix("m.") {
                opt.m.insert(name.to_owned(), v);
            } else if let Some(name) = k.strip_prefix("v.") {
                opt.v.insert(name.to_owned(), v);
            }
        }
        eprintln!("resuming from {} at step {start}", ckpt_dir.display());
    }
    let policy = Decoder::new(&mcfg, params.tensors(), &device)?;
    // The reference is the model the run started from: the first checkpoint's saved copy when
    // resuming, else a frozen copy of the initial weights.
    let reference = if cfg.grpo.beta != 0.0 {
        let w = if resuming && ckpt_dir.join("reference.safetensors").exists() {
            candle_core::safetensors::load(ckpt_dir.join("reference.safetensors"), &device)?
                .into_iter()
                .collect()
        } else {
            params.frozen_copy()?
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

    let metrics_path = opts.out.join("metrics.jsonl");
    let mut metrics = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&metrics_path)?;
    if start == 0 && !held_out.is_empty() {
        let t = Instant::now();
        let e = evaluate(&policy, &tokenizer, &eos, cfg, &held_out, &client, &device)?;
        eprintln!(
            "eval before training: accuracy {:.3}, boxed {:.3} ({:.0}s); e.g. {:?}",
            e.accuracy,
            e.boxed_rate,
            t.elapsed().as_secs_f64(),
            e.samples.first()
        );
        writeln!(metrics, "{}", eval_line(0, &e))?;
    }

    let bar = indicatif::ProgressBar::new(steps as u64);
    bar.set_position(start as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} steps, {elapsed} [{msg}]")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let obj = ObjectiveParams {
        epsilon: cfg.grpo.epsilon,
        epsilon_high: cfg.epsilon_high(),
        beta: cfg.grpo.beta,
    };
    for step in start..steps {
        let t0 = Instant::now();
        let mut rng = StdRng::seed_from_u64(cfg.seed.wrapping_mul(1_000_003).wrapping_add(step as u64));
        let p = cfg.grpo.prompts_per_step;
        let examples: Vec<&Example> = (0..p)
            .map(|j| &train_set[(step * p + j) % train_set.len()])
            .collect();
        let sp = SampleParams {
            temperature: cfg.grpo.temperature,
            top_p: cfg.grpo.top_p,
            top_k: cfg.grpo.top_k,
            max_new_tokens: cfg.grpo.max_new_tokens,
            greedy: false,
        };
        let mut groups = vec![];
        let mut items = vec![];
        let mut gen_tokens = 0;
        for (gi, ex) in examples.iter().enumerate() {
            let prompt = encode(&tokenizer, cfg, &ex.prompt)?;
            let completions = generate_group(
                &policy,
                &prompt,
                cfg.grpo.group_size,
                &sp,
                &eos,
                &mut rng,
                &device,
            )?;
            for (si, c) in completions.iter().enumerate() {
                gen_tokens += c.tokens.len();
                items.push(RewardItem {
                    id: format!("s{step}-p{gi}-c{si}"),
                    prompt: ex.prompt.clone(),
                    completion: decode(&tokenizer, &c.tokens)?,
                    task: ex.task.clone(),
                });
            }
            groups.push(Group {
                prompt,
                completions,
                scored: vec![],
                rewards: vec![],
            });
        }
        let gen_s = t0.elapsed().as_secs_f64();
        let mut scored = client.score(&items)?.into_iter();
        for g in &mut groups {
            g.scored = scored.by_ref().take(g.completions.len()).collect();
            g.rewards = g
                .scored
                .iter()
                .zip(&g.completions)
                .map(|(s, c)| {
                    s.reward.map(|r| {
                        r + grpo::overlong_penalty(
                            c.tokens.len(),
                            cfg.grpo.max_new_tokens,
                            cfg.grpo.overlong_cache,
                            cfg.grpo.overlong_factor,
                        )
                    })
                })
                .collect();
        }
        let reward_groups: Vec<Vec<Option<f64>>> = groups.iter().map(|g| g.rewards.clone()).collect();
        let adv = grpo::advantages(&reward_groups, cfg.grpo.scale_rewards);
        let zero_std: Vec<bool> = reward_groups.iter().map(|g| grpo::zero_std(g)).collect();

        // Which sequences take part: scored, not dropped as zero-variance, not truncated when
        // truncation is masked.
        let t1 = Instant::now();
        let mut batches = vec![];
        for (gi, g) in groups.iter().enumerate() {
            if cfg.grpo.filter_zero_std_groups && zero_std[gi] {
                continue;
            }
            let keep: Vec<bool> = g
                .completions
                .iter()
                .zip(&adv[gi])
                .map(|(c, a)| {
                    a.is_some()
                        && !c.tokens.is_empty()
                        && (c.finished || !cfg.grpo.mask_truncated_completions)
                })
                .collect();
            if keep.iter().any(|k| *k) {
                batches.push(build_batch(g, &adv[gi], &keep, &device)?);
            }
        }
        let shape = StepShape {
            total_sequences: batches.iter().map(|b| b.kept).sum(),
            total_tokens: batches.iter().map(|b| b.tokens).sum(),
            micro_batches: batches.len(),
            max_completion_len: cfg.grpo.max_new_tokens,
        };
        // Log-probabilities at sampling time (needed only when μ > 1: with one pass the ratio's
        // denominator is the detached current value) and under the reference.
        let old: Vec<Option<Tensor>> = batches
            .iter()
            .map(|b| {
                if cfg.grpo.mu > 1 {
                    b.logprobs(&policy, Mode::Infer).map(Some)
                } else {
                    Ok(None)
                }
            })
            .collect::<Result<_>>()?;
        let refs: Vec<Option<Tensor>> = batches
            .iter()
            .map(|b| reference.as_ref().map(|r| b.logprobs(r, Mode::Infer)).transpose())
            .collect::<Result<_>>()?;
        let (mut loss_sum, mut kl_sum, mut clipped, mut tok) = (0.0, 0.0, 0.0, 0.0);
        let mut grad_norm = 0.0;
        let mut lr = opt.lr_at(opt.t);
        for _ in 0..cfg.grpo.mu {
            if batches.is_empty() {
                break;
            }
            let mut grads = BTreeMap::new();
            for (bi, b) in batches.iter().enumerate() {
                let logp = b.logprobs(&policy, Mode::Train)?;
                let old_logp = old[bi].clone().unwrap_or_else(|| logp.detach());
                let m = grpo::micro_loss(
                    &logp,
                    &old_logp,
                    refs[bi].as_ref(),
                    &b.adv,
                    &b.mask,
                    &obj,
                    cfg.grpo.loss_type,
                    shape,
                )?;
                let store = m.loss.backward()?;
                accumulate(&mut grads, &params.vars, &store)?;
                loss_sum += m.loss.to_scalar::<f32>()? as f64;
                kl_sum += m.kl_sum;
                clipped += m.clipped_tokens;
                tok += m.tokens;
            }
            let s = opt.step(&params.vars, &grads)?;
            grad_norm = s.grad_norm;
            lr = s.lr;
        }
        let train_s = t1.elapsed().as_secs_f64();
        let iters = cfg.grpo.mu as f64;
        let all: Vec<&Scored> = groups.iter().flat_map(|g| &g.scored).collect();
        let rewards: Vec<f64> = groups
            .iter()
            .flat_map(|g| g.rewards.iter().flatten().copied())
            .collect();
        let lens: Vec<usize> = groups
            .iter()
            .flat_map(|g| g.completions.iter().map(|c| c.tokens.len()))
            .collect();
        let n = all.len().max(1) as f64;
        let mean = rewards.iter().sum::<f64>() / rewards.len().max(1) as f64;
        let std =
            (rewards.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / rewards.len().max(1) as f64).sqrt();
        let mut line = json!({
            "step": step + 1,
            "reward_mean": mean,
            "reward_std": std,
            "accuracy": all.iter().filter(|s| s.correct()).count() as f64 / n,
            "format_rate": all.iter().filter(|s| s.format_ok).count() as f64 / n,
            "unscored": all.iter().filter(|s| s.reward.is_none()).count(),
            "frac_reward_zero_std": zero_std.iter().filter(|z| **z).count() as f64 / zero_std.len().max(1) as f64,
            "kl": if tok > 0.0 { kl_sum / tok } else { 0.0 },
            "clip_frac": if tok > 0.0 { clipped / tok } else { 0.0 },
            "loss": loss_sum / iters,
            "grad_norm": grad_norm,
            "lr": lr,
            "completion_len_mean": lens.iter().sum::<usize>() as f64 / lens.len().max(1) as f64,
            "completion_len_max": lens.iter().max().copied().unwrap_or(0),
            "truncated_frac": groups.iter().flat_map(|g| &g.completions).filter(|c| !c.finished).count() as f64 / n,
            "gen_tokens_per_s": gen_tokens as f64 / gen_s.max(1e-9),
            "train_tokens_per_s": tok / train_s.max(1e-9),
            "step_time_s": t0.elapsed().as_secs_f64(),
        });
        let last = step + 1 == steps;
        if cfg.eval.every > 0 && (step + 1) % cfg.eval.every == 0 || last {
            let e = evaluate(&policy, &tokenizer, &eos, cfg, &held_out, &client, &device)?;
            line["eval_accuracy"] = json!(e.accuracy);
            line["eval_boxed_rate"] = json!(e.boxed_rate);
            line["eval_reward"] = json!(e.mean_reward);
            if last {
                eprintln!(
                    "eval after training: accuracy {:.3}, boxed {:.3}; e.g. {:?}",
                    e.accuracy,
                    e.boxed_rate,
                    e.samples.first()
                );
            }
        }
        writeln!(metrics, "{line}")?;
        metrics.flush()?;
        bar.set_message(format!(
            "reward {mean:.3}, acc {:.2}",
            line["accuracy"].as_f64().unwrap_or(0.0)
        ));
        bar.inc(1);
        if (step + 1) % cfg.output.checkpoint_every.max(1) == 0 || last {
            save_checkpoint(
                &ckpt_dir,
                &mcfg,
                &params,
                &reference,
                &opt,
                step + 1,
                &eos,
                &tokenizer,
            )?;
        }
    }
    bar.finish();
    crate::plot::plot_metrics(&metrics_path, &opts.out.join("reward.png"))?;
    Ok(())
}

fn eval_line(step: usize, e: &EvalResult) -> Value {
    json!({ "step": step, "eval_accuracy": e.accuracy, "eval_boxed_rate": e.boxed_rate,
            "eval_format_rate": e.format_rate, "eval_reward": e.mean_reward })
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

fn build_batch(g: &Group, adv: &[Option<f64>], keep: &[bool], device: &Device) -> Result<Batch> {
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
    Ok(Batch {
        ids: Tensor::from_vec(ids, (b, pl + n - 1), device)?,
        targets: Tensor::from_vec(targets, (b, n), device)?,
        prompt_len: pl,
        mask: Tensor::from_vec(mask, (b, n), device)?,
        adv: Tensor::from_vec(a, b, device)?,
        kept: keep.iter().filter(|k| **k).count(),
        tokens,
    })
}

#[derive(serde::Serialize, serde::Deserialize)]
struct State {
    step: usize,
    adam_t: u64,
    eos: Vec<u32>,
}

fn read_state(dir: &Path) -> Result<State> {
    let text = std::fs::read_to_string(dir.join("state.json"))?;
    Ok(serde_json::from_str(&text)?)
}

/// Writes an HF folder (config.json, model.safetensors, tokenizer.json) plus the optimiser
/// moments and loop state, into a temporary folder renamed over the old one so a crash never
/// leaves half a checkpoint.
#[allow(clippy::too_many_arguments)]
pub fn save_checkpoint(
    dir: &Path,
    mcfg: &ModelConfig,
    params: &Params,
    reference: &Option<Decoder>,
    opt: &AdamW,
    step: usize,
    eos: &[u32],
    tok: &Tokenizer,
) -> Result<()> {
    let tmp = dir.with_extension("tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    save_st(&params.tensors(), tmp.join("model.safetensors"))?;
    let mut moments = BTreeMap::new();
    for (k, v) in &opt.m {
        moments.insert(format!("m.{k}"), Tensor::new(v.as_slice(), &Device::Cpu)?);
    }
    for (k, v) in &opt.v {
        moments.insert(format!("v.{k}"), Tensor::new(v.as_slice(), &Device::Cpu)?);
    }
    save_st(&moments, tmp.join("optimizer.safetensors"))?;
    if let Some(r) = reference {
        let old_ref = dir.join("reference.safetensors");
        if old_ref.exists() {
            std::fs::copy(&old_ref, tmp.join("reference.safetensors"))?;
        } else {
            save_st(&r.weights(), tmp.join("reference.safetensors"))?;
        }
    }
    let mut c = serde_json::to_value(mcfg)?;
    c["eos_token_id"] = json!(eos);
    c["architectures"] = json!(["LlamaForCausalLM"]);
    std::fs::write(tmp.join("config.json"), serde_json::to_string_pretty(&c)?)?;
    tok.save(tmp.join("tokenizer.json"), false)
        .map_err(|e| anyhow::anyhow!("saving tokenizer: {e}"))?;
    std::fs::write(
        tmp.join("state.json"),
        serde_json::to_string(&State {
            step,
            adam_t: opt.t,
            eos: eos.to_vec(),
        })?,
    )?;
    let _ = std::fs::remove_dir_all(dir);
    std::fs::rename(&tmp, dir)?;
    Ok(())
}

fn save_st(tensors: &BTreeMap<String, Tensor>, path: PathBuf) -> Result<()> {
    let map: std::collections::HashMap<&str, Tensor> =
        tensors.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    Ok(candle_core::safetensors::save(&map, path)?)
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
    let e = evaluate(&dec, &l.tokenizer, &l.eos, cfg, &held_out, &client, &device)?;
    Ok(
        json!({ "examples": held_out.len(), "accuracy": e.accuracy, "boxed_rate": e.boxed_rate,
               "format_rate": e.format_rate, "mean_reward": e.mean_reward,
               "samples": e.samples.iter().map(|(p, c, v)| json!({"prompt": p, "completion": c, "verdict": v})).collect::<Vec<_>>() }),
    )
}
