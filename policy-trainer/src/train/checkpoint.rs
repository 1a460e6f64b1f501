//! The checkpoint folder `OUT/checkpoint`: an HF folder (`config.json`, `model.safetensors`,
//! `tokenizer.json`) that `eval --checkpoint` and the loader read as a model, plus what a run
//! needs to continue: `optimizer.safetensors` (the AdamW moments, `m.<param>` and `v.<param>`),
//! `reference.safetensors` (the KL reference, when β > 0) and `state.json` (`step`, `adam_t`,
//! `eos`). The layout is what resuming relies on; runs written before this module existed
//! resume from it unchanged.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokenizers::Tokenizer;

use crate::loader::{self, Loaded};
use crate::model::{Decoder, ModelConfig, Params};
use crate::optim::AdamState;

const STATE: &str = "state.json";
const MODEL: &str = "model.safetensors";
const OPTIMIZER: &str = "optimizer.safetensors";
const REFERENCE: &str = "reference.safetensors";

/// `state.json`: where the loop stands.
#[derive(Serialize, Deserialize)]
struct LoopState {
    /// Steps done.
    step: usize,
    /// AdamW updates applied (fewer than steps when some step had nothing to train on).
    adam_t: u64,
    /// The end tokens sampling used, which a random model's folder cannot say.
    eos: Vec<u32>,
}

/// What [`Checkpoint::save`] writes: everything a run needs to continue.
pub struct Snapshot<'a> {
    pub model: &'a ModelConfig,
    pub params: &'a Params,
    pub tokenizer: &'a Tokenizer,
    pub eos: &'a [u32],
    pub optimizer: &'a AdamState,
    /// The KL reference (β > 0): written by the first save, then carried over unchanged, so it
    /// stays the model the run started from.
    pub reference: Option<&'a Decoder>,
    /// Steps done.
    pub step: usize,
}

/// What [`Checkpoint::load`] reads back.
pub struct Resumed {
    /// The trained model, its end tokens those the run sampled with.
    pub model: Loaded,
    pub optimizer: AdamState,
    /// Steps done: the loop continues at this step.
    pub step: usize,
}

/// A checkpoint folder, present or not yet.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    dir: PathBuf,
}

impl Checkpoint {
    /// The checkpoint of the run writing into `out`.
    pub fn of_run(out: &Path) -> Self {
        Self::at(out.join("checkpoint"))
    }

    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A complete checkpoint is there (`state.json` is written last, and the folder appears
    /// whole by a rename).
    pub fn exists(&self) -> bool {
        self.dir.join(STATE).exists()
    }

    /// Writes the folder into a temporary one renamed over the old, so a crash never leaves
    /// half a checkpoint.
    pub fn save(&self, s: &Snapshot<'_>) -> Result<()> {
        let tmp = self.dir.with_extension("tmp");
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp)?;
        save_st(&s.params.tensors(), tmp.join(MODEL))?;
        let mut moments = BTreeMap::new();
        for (k, v) in &s.optimizer.m {
            moments.insert(format!("m.{k}"), Tensor::new(v.as_slice(), &Device::Cpu)?);
        }
        for (k, v) in &s.optimizer.v {
            moments.insert(format!("v.{k}"), Tensor::new(v.as_slice(), &Device::Cpu)?);
        }
        save_st(&moments, tmp.join(OPTIMIZER))?;
        if let Some(r) = s.reference {
            let old_ref = self.dir.join(REFERENCE);
            if old_ref.exists() {
                std::fs::copy(&old_ref, tmp.join(REFERENCE))?;
            } else {
                save_st(&r.weights(), tmp.join(REFERENCE))?;
            }
        }
        let mut c = serde_json::to_value(s.model)?;
        c["eos_token_id"] = json!(s.eos);
        c["architectures"] = json!(["LlamaForCausalLM"]);
        std::fs::write(tmp.join("config.json"), serde_json::to_string_pretty(&c)?)?;
        s.tokenizer
            .save(tmp.join("tokenizer.json"), false)
            .map_err(|e| anyhow::anyhow!("saving tokenizer: {e}"))?;
        std::fs::write(
            tmp.join(STATE),
            serde_json::to_string(&LoopState {
                step: s.step,
                adam_t: s.optimizer.t,
                eos: s.eos.to_vec(),
            })?,
        )?;
        let _ = std::fs::remove_dir_all(&self.dir);
        std::fs::rename(&tmp, &self.dir)?;
        Ok(())
    }

    /// The model (on `device`), the optimiser state (on the host, where the fused AdamW keeps
    /// it) and the step to continue from.
    pub fn load(&self, device: &Device) -> Result<Resumed> {
        let text = std::fs::read_to_string(self.dir.join(STATE))
            .with_context(|| format!("reading {}", self.dir.join(STATE).display()))?;
        let state: LoopState = serde_json::from_str(&text).context("parsing state.json")?;
        let mut model = loader::load_hf_dir(&self.dir, device)?;
        model.eos = state.eos;
        let mut optimizer = AdamState {
            t: state.adam_t,
            ..AdamState::default()
        };
        for (k, t) in candle_core::safetensors::load(self.dir.join(OPTIMIZER), &Device::Cpu)? {
            let v = t.to_vec1::<f32>()?;
            if let Some(name) = k.strip_prefix("m.") {
                optimizer.m.insert(name.to_owned(), v);
            } else if let Some(name) = k.strip_prefix("v.") {
                optimizer.v.insert(name.to_owned(), v);
            }
        }
        Ok(Resumed {
            model,
            optimizer,
            step: state.step,
        })
    }

    /// The saved KL reference, if this checkpoint has one.
    pub fn reference(&self, device: &Device) -> Result<Option<BTreeMap<String, Tensor>>> {
        let path = self.dir.join(REFERENCE);
        if !path.exists() {
            return Ok(None);
        }
        Ok(Some(
            candle_core::safetensors::load(path, device)?
                .into_iter()
                .collect(),
        ))
    }
}

fn save_st(tensors: &BTreeMap<String, Tensor>, path: PathBuf) -> Result<()> {
    let map: HashMap<&str, Tensor> = tensors.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    Ok(candle_core::safetensors::save(&map, path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> ModelConfig {
        ModelConfig {
            vocab_size: 28,
            hidden_size: 16,
            intermediate_size: 32,
            num_hidden_layers: 1,
            num_attention_heads: 4,
            num_key_value_heads: Some(2),
            rms_norm_eps: 1e-5,
            rope_theta: 10_000.0,
            tie_word_embeddings: false,
            attention_bias: None,
            model_type: None,
            max_position_embeddings: 32,
        }
    }

    fn flat(t: &Tensor) -> Vec<f32> {
        t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
    }

    fn optimizer_state(p: &Params) -> AdamState {
        let m = p
            .vars
            .iter()
            .map(|(k, v)| (k.clone(), vec![0.25; v.elem_count()]))
            .collect();
        let v = p
            .vars
            .iter()
            .map(|(k, v)| (k.clone(), vec![0.5; v.elem_count()]))
            .collect();
        AdamState { t: 3, m, v }
    }

    #[test]
    fn a_saved_checkpoint_loads_back_as_the_run_left_it() {
        let (cfg, device) = (tiny(), Device::Cpu);
        let params = Params::random(&cfg, 1, &device).unwrap();
        let tokenizer = loader::toy_tokenizer().unwrap();
        let optimizer = optimizer_state(&params);
        let dir = tempfile::tempdir().unwrap();
        let ck = Checkpoint::of_run(dir.path());
        assert!(!ck.exists());
        ck.save(&Snapshot {
            model: &cfg,
            params: &params,
            tokenizer: &tokenizer,
            eos: &[0, 3],
            optimizer: &optimizer,
            reference: None,
            step: 5,
        })
        .unwrap();
        assert!(ck.exists());
        assert!(!dir.path().join("checkpoint.tmp").exists());

        let r = ck.load(&device).unwrap();
        assert_eq!(r.step, 5);
        assert_eq!(r.optimizer, optimizer);
        assert_eq!(r.model.eos, vec![0, 3]);
        assert_eq!(r.model.cfg, cfg);
        for (k, v) in &params.vars {
            assert_eq!(
                flat(v.as_tensor()),
                flat(r.model.params.vars[k].as_tensor()),
                "{k}"
            );
        }
        assert!(ck.reference(&device).unwrap().is_none());
    }

    #[test]
    fn the_reference_is_written_once_and_carried_over_by_later_saves() {
        let (cfg, device) = (tiny(), Device::Cpu);
        let params = Params::random(&cfg, 1, &device).unwrap();
        let tokenizer = loader::toy_tokenizer().unwrap();
        let optimizer = AdamState::default();
        let dir = tempfile::tempdir().unwrap();
        let ck = Checkpoint::of_run(dir.path());
        let save = |seed: u64, step: usize| {
            let other = Params::random(&cfg, seed, &device).unwrap();
            let reference = Decoder::new(&cfg, other.tensors(), &device).unwrap();
            ck.save(&Snapshot {
                model: &cfg,
                params: &params,
                tokenizer: &tokenizer,
                eos: &[0],
                optimizer: &optimizer,
                reference: Some(&reference),
                step,
            })
            .unwrap();
        };
        save(2, 1);
        save(3, 2);
        let saved = ck.reference(&device).unwrap().unwrap();
        let first = Params::random(&cfg, 2, &device).unwrap().tensors();
        for (k, t) in &first {
            assert_eq!(flat(t), flat(&saved[k]), "{k}");
        }
        assert_eq!(ck.load(&device).unwrap().step, 2);
    }
}
