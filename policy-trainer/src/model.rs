//! A Llama/Qwen2-family decoder whose training path is differentiable end to end.
//!
//! candle 0.11.1's fused `rms_norm`, `rope` and `softmax_last_dim` have no backward pass and cut
//! the graph silently, so the training path ([`Mode::Train`]) builds those three from
//! differentiable primitives. Sampling ([`Mode::Infer`]) needs no gradient and uses the fused
//! kernels with a KV cache. Both paths read the same tensors, which share storage with the
//! trainable `Var`s, so every optimiser update is seen by the sampler at once.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use candle_core::{D, DType, Device, Tensor, Var};
use serde::{Deserialize, Serialize};

/// The architecture, read from an HF `config.json` or GGUF metadata, or written in a trainer
/// config for a randomly initialised model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    #[serde(default)]
    pub num_key_value_heads: Option<usize>,
    #[serde(default = "default_eps")]
    pub rms_norm_eps: f64,
    #[serde(default = "default_theta")]
    pub rope_theta: f64,
    #[serde(default)]
    pub tie_word_embeddings: bool,
    /// Qwen2 has biases on q/k/v; Llama has none. Inferred from `model_type` when absent.
    #[serde(default)]
    pub attention_bias: Option<bool>,
    #[serde(default)]
    pub model_type: Option<String>,
    #[serde(default = "default_max_pos")]
    pub max_position_embeddings: usize,
}

fn default_eps() -> f64 {
    1e-5
}
fn default_theta() -> f64 {
    10_000.0
}
fn default_max_pos() -> usize {
    2048
}

impl ModelConfig {
    pub fn kv_heads(&self) -> usize {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }
    pub fn qkv_bias(&self) -> bool {
        self.attention_bias
            .unwrap_or(self.model_type.as_deref() == Some("qwen2"))
    }

    pub fn validate(&self) -> Result<()> {
        if self.num_attention_heads == 0 || !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            bail!("model: hidden_size must be a multiple of num_attention_heads");
        }
        if self.kv_heads() == 0 || !self.num_attention_heads.is_multiple_of(self.kv_heads()) {
            bail!("model: num_attention_heads must be a multiple of num_key_value_heads");
        }
        if !self.head_dim().is_multiple_of(2) {
            bail!("model: the head dimension must be even for rotary embeddings");
        }
        Ok(())
    }

    /// Every parameter by HF name with its shape, in a fixed order.
    pub fn parameter_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let (h, i, v) = (self.hidden_size, self.intermediate_size, self.vocab_size);
        let q = self.num_attention_heads * self.head_dim();
        let kv = self.kv_heads() * self.head_dim();
        let mut out = vec![("model.embed_tokens.weight".to_owned(), vec![v, h])];
        for l in 0..self.num_hidden_layers {
            let p = format!("model.layers.{l}");
            out.push((format!("{p}.input_layernorm.weight"), vec![h]));
            out.push((format!("{p}.self_attn.q_proj.weight"), vec![q, h]));
            out.push((format!("{p}.self_attn.k_proj.weight"), vec![kv, h]));
            out.push((format!("{p}.self_attn.v_proj.weight"), vec![kv, h]));
            if self.qkv_bias() {
                out.push((format!("{p}.self_attn.q_proj.bias"), vec![q]));
                out.push((format!("{p}.self_attn.k_proj.bias"), vec![kv]));
                out.push((format!("{p}.self_attn.v_proj.bias"), vec![kv]));
            }
            out.push((format!("{p}.self_attn.o_proj.weight"), vec![h, q]));
            out.push((format!("{p}.post_attention_layernorm.weight"), vec![h]));
            out.push((format!("{p}.mlp.gate_proj.weight"), vec![i, h]));
            out.push((format!("{p}.mlp.up_proj.weight"), vec![i, h]));
            out.push((format!("{p}.mlp.down_proj.weight"), vec![h, i]));
        }
        out.push(("model.norm.weight".to_owned(), vec![h]));
        if !self.tie_word_embeddings {
            out.push(("lm_head.weight".to_owned(), vec![v, h]));
        }
        out
    }
}

/// The trainable parameters by HF name.
pub struct Params {
    pub vars: BTreeMap<String, Var>,
}

impl Params {
    /// Random initialisation as HF does it: normal(0, 0.02) matrices, unit norms, zero biases.
    pub fn random(cfg: &ModelConfig, seed: u64, device: &Device) -> Result<Self> {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut vars = BTreeMap::new();
        for (name, shape) in cfg.parameter_shapes() {
            let n: usize = shape.iter().product();
            let data: Vec<f32> = if name.ends_with("layernorm.weight") || name == "model.norm.weight" {
                vec![1.0; n]
            } else if name.ends_with(".bias") {
                vec![0.0; n]
            } else {
                // Box–Muller: rand's distributions crate would be one more dependency for this.
                (0..n)
                    .map(|_| {
                        let u1: f32 = rng.random_range(f32::EPSILON..1.0);
                        let u2: f32 = rng.random();
                        0.02 * (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
                    })
                    .collect()
            };
            let t = Tensor::from_vec(data, shape, device)?;
            vars.insert(name, Var::from_tensor(&t)?);
        }
        Ok(Self { vars })
    }

    /// Takes tensors by HF name, checking that exactly the expected set is present.
    pub fn from_tensors(cfg: &ModelConfig, mut tensors: BTreeMap<String, Tensor>) -> Result<Self> {
        let mut vars = BTreeMap::new();
        for (name, shape) in cfg.parameter_shapes() {
            let t = tensors
                .remove(&name)
                .with_context(|| format!("weights: missing tensor {name}"))?
                .to_dtype(DType::F32)?;
            if t.dims() != shape.as_slice() {
                bail!("weights: {name} has shape {:?}, expected {shape:?}", t.dims());
            }
            vars.insert(name, Var::from_tensor(&t)?);
        }
        Ok(Self { vars })
    }

    pub fn tensors(&self) -> BTreeMap<String, Tensor> {
        self.vars
            .iter()
            .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
            .collect()
    }

    /// A frozen copy (fresh storage), used as the KL reference.
    pub fn frozen_copy(&self) -> Result<BTreeMap<String, Tensor>> {
        self.vars
            .iter()
            .map(|(k, v)| Ok((k.clone(), v.as_tensor().detach().copy()?)))
            .collect()
    }

    pub fn count(&self) -> usize {
        self.vars.values().map(|v| v.elem_count()).sum()
    }
}

/// Which kernels a forward pass uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Differentiable primitives only.
    Train,
    /// candle's fused kernels (no backward), for sampling and scoring without gradients.
    Infer,
}

/// Per-layer keys and values, `(batch, kv_heads, seq, head_dim)`.
#[derive(Default, Clone)]
pub struct KvCache {
    layers: Vec<Option<(Tensor, Tensor)>>,
}

impl KvCache {
    pub fn len(&self) -> usize {
        match self.layers.first() {
            Some(Some((k, _))) => k.dim(2).unwrap_or(0),
            _ => 0,
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Repeats a batch-1 cache `n` times, so one prompt prefill serves a group of samples.
    pub fn repeat_batch(&self, n: usize) -> Result<Self> {
        let layers = self
            .layers
            .iter()
            .map(|e| match e {
                Some((k, v)) => Ok(Some((
                    k.repeat((n, 1, 1, 1))?.contiguous()?,
                    v.repeat((n, 1, 1, 1))?.contiguous()?,
                ))),
                None => Ok(None),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { layers })
    }
}

pub struct Decoder {
    pub cfg: ModelConfig,
    w: BTreeMap<String, Tensor>,
    cos: Tensor,
    sin: Tensor,
}

impl Decoder {
    /// Builds a decoder over `weights` (clones share storage with the Vars they came from).
    pub fn new(cfg: &ModelConfig, weights: BTreeMap<String, Tensor>, device: &Device) -> Result<Self> {
        cfg.validate()?;
        let hd = cfg.head_dim();
        let inv: Vec<f32> = (0..hd)
            .step_by(2)
            .map(|i| 1.0 / cfg.rope_theta.powf(i as f64 / hd as f64) as f32)
            .collect();
        let n = cfg.max_position_embeddings;
        let inv = Tensor::from_vec(inv, (1, hd / 2), device)?;
        let t = Tensor::arange(0u32, n as u32, device)?
            .to_dtype(DType::F32)?
            .reshape((n, 1))?;
        let freqs = t.matmul(&inv)?;
        Ok(Self {
            cfg: cfg.clone(),
            w: weights,
            cos: freqs.cos()?,
            sin: freqs.sin()?,
        })
    }

    /// The tensors this decoder reads, by HF name.
    pub fn weights(&self) -> BTreeMap<String, Tensor> {
        self.w.clone()
    }

    fn w(&self, name: &str) -> Result<&Tensor> {
        self.w
            .get(name)
            .with_context(|| format!("decoder: no tensor {name}"))
    }

    fn linear(&self, x: &Tensor, name: &str) -> Result<Tensor> {
        let w = self.w(&format!("{name}.weight"))?;
        let (b, t, i) = x.dims3()?;
        let y = x.reshape((b * t, i))?.matmul(&w.t()?)?;
        let y = match self.w.get(&format!("{name}.bias")) {
            Some(bias) => y.broadcast_add(bias)?,
            None => y,
        };
        Ok(y.reshape((b, t, w.dim(0)?))?)
    }

    fn norm(&self, x: &Tensor, name: &str, mode: Mode) -> Result<Tensor> {
        let alpha = self.w(name)?;
        let eps = self.cfg.rms_norm_eps as f32;
        Ok(match mode {
            Mode::Train => candle_nn::ops::rms_norm_slow(x, alpha, eps)?,
            Mode::Infer => candle_nn::ops::rms_norm(&x.contiguous()?, alpha, eps)?,
        })
    }

    /// Hidden states after the final norm, `(batch, seq, hidden)`, for tokens at positions
    /// `pos..pos+seq`. With a cache, keys/values are appended to it.
    pub fn hidden(
        &self,
        ids: &Tensor,
        pos: usize,
        mut cache: Option<&mut KvCache>,
        mode: Mode,
    ) -> Result<Tensor> {
        let cfg = &self.cfg;
        let (b, t) = ids.dims2()?;
        let (nh, nkv, hd) = (cfg.num_attention_heads, cfg.kv_heads(), cfg.head_dim());
        let embed = self.w("model.embed_tokens.weight")?;
        let mut x = embed
            .index_select(&ids.flatten_all()?, 0)?
            .reshape((b, t, cfg.hidden_size))?;
        let cos = self.cos.narrow(0, pos, t)?;
        let sin = self.sin.narrow(0, pos, t)?;
        if let Some(c) = cache.as_deref_mut()
            && c.layers.len() != cfg.num_hidden_layers
        {
            c.layers = vec![None; cfg.num_hidden_layers];
        }
        let past = cache.as_deref().map_or(0, KvCache::len);
        let mask = if t > 1 {
            Some(causal_mask(t, past, x.device())?)
        } else {
            None
        };
        for l in 0..cfg.num_hidden_layers {
            let p = format!("model.layers.{l}");
            let h = self.norm(&x, &format!("{p}.input_layernorm.weight"), mode)?;
            let q = self.linear(&h, &format!("{p}.self_attn.q_proj"))?;
            let k = self.linear(&h, &format!("{p}.self_attn.k_proj"))?;
            let v = self.linear(&h, &format!("{p}.self_attn.v_proj"))?;
            let q = q.reshape((b, t, nh, hd))?.transpose(1, 2)?.contiguous()?;
            let k = k.reshape((b, t, nkv, hd))?.transpose(1, 2)?.contiguous()?;
            let mut v = v.reshape((b, t, nkv, hd))?.transpose(1, 2)?.contiguous()?;
            let (q, mut k) = match mode {
                Mode::Train => (
                    candle_nn::rotary_emb::rope_slow(&q, &cos, &sin)?,
                    candle_nn::rotary_emb::rope_slow(&k, &cos, &sin)?,
                ),
                Mode::Infer => (
                    candle_nn::rotary_emb::rope(&q, &cos, &sin)?,
                    candle_nn::rotary_emb::rope(&k, &cos, &sin)?,
                ),
            };
            if let Some(c) = cache.as_deref_mut() {
                if let Some((pk, pv)) = &c.layers[l] {
                    k = Tensor::cat(&[pk, &k], 2)?.contiguous()?;
                    v = Tensor::cat(&[pv, &v], 2)?.contiguous()?;
                }
                c.layers[l] = Some((k.clone(), v.clone()));
            }
            let (k, v) = (repeat_kv(&k, nh / nkv)?, repeat_kv(&v, nh / nkv)?);
            let att = (q.matmul(&k.t()?)? / (hd as f64).sqrt())?;
            let att = match &mask {
                Some(m) => att.broadcast_add(m)?,
                None => att,
            };
            let att = match mode {
                Mode::Train => candle_nn::ops::softmax(&att, D::Minus1)?,
                Mode::Infer => candle_nn::ops::softmax_last_dim(&att)?,
            };
            let y = att.matmul(&v)?.transpose(1, 2)?.reshape((b, t, nh * hd))?;
            x = (x + self.linear(&y, &format!("{p}.self_attn.o_proj"))?)?;
            let h = self.norm(&x, &format!("{p}.post_attention_layernorm.weight"), mode)?;
            let gate = candle_nn::ops::silu(&self.linear(&h, &format!("{p}.mlp.gate_proj"))?)?;
            let up = self.linear(&h, &format!("{p}.mlp.up_proj"))?;
            x = (x + self.linear(&(gate * up)?, &format!("{p}.mlp.down_proj"))?)?;
        }
        self.norm(&x, "model.norm.weight", mode)
    }

    /// Logits `(batch, seq, vocab)` from hidden states.
    pub fn logits(&self, hidden: &Tensor) -> Result<Tensor> {
        let head = if self.cfg.tie_word_embeddings {
            self.w("model.embed_tokens.weight")?
        } else {
            self.w("lm_head.weight")?
        };
        let (b, t, h) = hidden.dims3()?;
        Ok(hidden
            .reshape((b * t, h))?
            .matmul(&head.t()?)?
            .reshape((b, t, head.dim(0)?))?)
    }

    pub fn forward(
        &self,
        ids: &Tensor,
        pos: usize,
        cache: Option<&mut KvCache>,
        mode: Mode,
    ) -> Result<Tensor> {
        let h = self.hidden(ids, pos, cache, mode)?;
        self.logits(&h)
    }
}

/// Additive mask `(t, past + t)`: 0 where a query may attend, -inf where it may not.
fn causal_mask(t: usize, past: usize, device: &Device) -> Result<Tensor> {
    let data: Vec<f32> = (0..t)
        .flat_map(|i| (0..past + t).map(move |j| if j <= past + i { 0.0 } else { f32::NEG_INFINITY }))
        .collect();
    Ok(Tensor::from_vec(data, (t, past + t), device)?)
}

fn repeat_kv(x: &Tensor, n: usize) -> Result<Tensor> {
    if n == 1 {
        return Ok(x.clone());
    }
    let (b, h, t, d) = x.dims4()?;
    Ok(x.unsqueeze(2)?
        .broadcast_as((b, h, n, t, d))?
        .reshape((b, h * n, t, d))?)
}

/// Log-probabilities of `targets` `(batch, n)` under `logits` `(batch, n, vocab)`, with the
/// differentiable log-softmax.
pub fn token_logprobs(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let lsm = candle_nn::ops::log_softmax(logits, D::Minus1)?;
    Ok(lsm
        .gather(&targets.contiguous()?.unsqueeze(D::Minus1)?, D::Minus1)?
        .squeeze(D::Minus1)?)
}
