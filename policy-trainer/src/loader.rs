//! Loading a model: an HF folder (config.json + safetensors + tokenizer.json), a GGUF file
//! (dequantised to f32, tokenizer from its metadata), or a random initialisation with the
//! built-in toy tokenizer.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use candle_core::quantized::gguf_file;
use candle_core::{Device, Tensor};
use tokenizers::Tokenizer;

use crate::model::{ModelConfig, Params};

pub struct Loaded {
    pub cfg: ModelConfig,
    pub params: Params,
    pub tokenizer: Tokenizer,
    /// Token ids that end a completion.
    pub eos: Vec<u32>,
}

/// An HF checkpoint folder.
pub fn load_hf_dir(dir: &Path, device: &Device) -> Result<Loaded> {
    let cfg_text = std::fs::read_to_string(dir.join("config.json"))
        .with_context(|| format!("reading {}", dir.join("config.json").display()))?;
    let cfg: ModelConfig = serde_json::from_str(&cfg_text).context("parsing config.json")?;
    let mut tensors = BTreeMap::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        // Weights are `model.safetensors` or `model-0000N-of-0000M.safetensors`; a trainer
        // checkpoint keeps optimiser state and the KL reference beside them under other names.
        .filter(|p| {
            p.extension().is_some_and(|x| x == "safetensors")
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("model"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("{}: no .safetensors files", dir.display());
    }
    for f in files {
        tensors.extend(candle_core::safetensors::load(&f, device)?);
    }
    if cfg.tie_word_embeddings {
        tensors.remove("lm_head.weight");
    }
    let params = Params::from_tensors(&cfg, tensors)?;
    let tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
        .map_err(|e| anyhow::anyhow!("tokenizer.json: {e}"))?;
    let eos = eos_from_config(&cfg_text, &tokenizer);
    Ok(Loaded {
        cfg,
        params,
        tokenizer,
        eos,
    })
}

fn eos_from_config(cfg_text: &str, tokenizer: &Tokenizer) -> Vec<u32> {
    let v: serde_json::Value = serde_json::from_str(cfg_text).unwrap_or_default();
    let mut eos: Vec<u32> = match &v["eos_token_id"] {
        serde_json::Value::Number(n) => n.as_u64().map(|n| vec![n as u32]).unwrap_or_default(),
        serde_json::Value::Array(a) => a.iter().filter_map(|n| n.as_u64()).map(|n| n as u32).collect(),
        _ => vec![],
    };
    // Chat models end turns with their own marker, which config.json often omits.
    for marker in ["<|im_end|>", "<|eot_id|>", "<|endoftext|>"] {
        if let Some(id) = tokenizer.token_to_id(marker)
            && !eos.contains(&id)
        {
            eos.push(id);
        }
    }
    eos
}

/// A GGUF file in llama.cpp's Llama layout, dequantised to f32.
pub fn load_gguf(path: &Path, device: &Device) -> Result<Loaded> {
    let mut file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let content =
        gguf_file::Content::read(&mut file).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let md = &content.metadata;
    let arch = md
        .get("general.architecture")
        .and_then(|v| v.to_string().ok())
        .cloned()
        .unwrap_or_else(|| "llama".to_owned());
    let get_u = |key: &str| -> Result<usize> {
        let v = md
            .get(&format!("{arch}.{key}"))
            .with_context(|| format!("gguf: missing {arch}.{key}"))?;
        Ok(v.to_u32()
            .map(|x| x as usize)
            .or_else(|_| v.to_u64().map(|x| x as usize))?)
    };
    let get_f = |key: &str, default: f64| -> f64 {
        md.get(&format!("{arch}.{key}"))
            .and_then(|v| v.to_f32().ok())
            .map_or(default, f64::from)
    };
    let tokens = md
        .get("tokenizer.ggml.tokens")
        .context("gguf: no tokenizer.ggml.tokens")?
        .to_vec()?
        .iter()
        .map(|v| v.to_string().cloned())
        .collect::<candle_core::Result<Vec<_>>>()?;
    let has_output = content.tensor_infos.contains_key("output.weight");
    let cfg = ModelConfig {
        vocab_size: tokens.len(),
        hidden_size: get_u("embedding_length")?,
        intermediate_size: get_u("feed_forward_length")?,
        num_hidden_layers: get_u("block_count")?,
        num_attention_heads: get_u("attention.head_count")?,
        num_key_value_heads: Some(get_u("attention.head_count_kv")?),
        rms_norm_eps: get_f("attention.layer_norm_rms_epsilon", 1e-5),
        rope_theta: get_f("rope.freq_base", 10_000.0),
        tie_word_embeddings: !has_output,
        attention_bias: Some(content.tensor_infos.contains_key("blk.0.attn_q.bias")),
        model_type: Some(arch.clone()),
        max_position_embeddings: get_u("context_length").unwrap_or(2048).min(8192),
    };
    let (nh, nkv) = (cfg.num_attention_heads, cfg.kv_heads());
    let mut tensors = BTreeMap::new();
    let mut take = |gguf_name: &str, hf_name: String, unpermute_heads: Option<usize>| -> Result<()> {
        let q = content
            .tensor(&mut file, gguf_name, device)
            .with_context(|| format!("gguf: tensor {gguf_name}"))?;
        let mut t = q.dequantize(device)?;
        if let Some(heads) = unpermute_heads {
            t = unpermute(&t, heads)?;
        }
        tensors.insert(hf_name, t);
        Ok(())
    };
    take("token_embd.weight", "model.embed_tokens.weight".into(), None)?;
    take("output_norm.weight", "model.norm.weight".into(), None)?;
    if has_output {
        take("output.weight", "lm_head.weight".into(), None)?;
    }
    for l in 0..cfg.num_hidden_layers {
        let (g, h) = (format!("blk.{l}"), format!("model.layers.{l}"));
        take(
            &format!("{g}.attn_norm.weight"),
            format!("{h}.input_layernorm.weight"),
            None,
        )?;
        take(
            &format!("{g}.attn_q.weight"),
            format!("{h}.self_attn.q_proj.weight"),
            Some(nh),
        )?;
        take(
            &format!("{g}.attn_k.weight"),
            format!("{h}.self_attn.k_proj.weight"),
            Some(nkv),
        )?;
        take(
            &format!("{g}.attn_v.weight"),
            format!("{h}.self_attn.v_proj.weight"),
            None,
        )?;
        if cfg.qkv_bias() {
            take(
                &format!("{g}.attn_q.bias"),
                format!("{h}.self_attn.q_proj.bias"),
                Some(nh),
            )?;
            take(
                &format!("{g}.attn_k.bias"),
                format!("{h}.self_attn.k_proj.bias"),
                Some(nkv),
            )?;
            take(
                &format!("{g}.attn_v.bias"),
                format!("{h}.self_attn.v_proj.bias"),
                None,
            )?;
        }
        take(
            &format!("{g}.attn_output.weight"),
            format!("{h}.self_attn.o_proj.weight"),
            None,
        )?;
        take(
            &format!("{g}.ffn_norm.weight"),
            format!("{h}.post_attention_layernorm.weight"),
            None,
        )?;
        take(
            &format!("{g}.ffn_gate.weight"),
            format!("{h}.mlp.gate_proj.weight"),
            None,
        )?;
        take(
            &format!("{g}.ffn_up.weight"),
            format!("{h}.mlp.up_proj.weight"),
            None,
        )?;
        take(
            &format!("{g}.ffn_down.weight"),
            format!("{h}.mlp.down_proj.weight"),
            None,
        )?;
    }
    let params = Params::from_tensors(&cfg, tensors)?;
    let tokenizer = tokenizer_from_gguf(md, &tokens)?;
    let mut eos = vec![];
    if let Some(id) = md
        .get("tokenizer.ggml.eos_token_id")
        .and_then(|v| v.to_u32().ok())
    {
        eos.push(id);
    }
    for marker in ["<|im_end|>", "<|eot_id|>", "<|endoftext|>"] {
        if let Some(id) = tokenizer.token_to_id(marker)
            && !eos.contains(&id)
        {
            eos.push(id);
        }
    }
    Ok(Loaded {
        cfg,
        params,
        tokenizer,
        eos,
    })
}

/// llama.cpp's converter interleaves the two rotary halves of each Q/K head; undo it so the
/// HF rotate-half RoPE applies: rows (heads, 2, hd/2) were stored as (heads, hd/2, 2).
pub fn unpermute(t: &Tensor, heads: usize) -> Result<Tensor> {
    let dims = t.dims().to_vec();
    let rows = dims[0];
    let rest: usize = dims[1..].iter().product();
    let hd = rows / heads;
    Ok(t.reshape((heads, hd / 2, 2, rest))?
        .transpose(1, 2)?
        .contiguous()?
        .reshape(dims)?)
}

/// Byte-level BPE from GGUF metadata, written as a tokenizer.json document so the
/// `tokenizers` crate builds it exactly as it would an HF file.
fn tokenizer_from_gguf(
    md: &std::collections::HashMap<String, gguf_file::Value>,
    tokens: &[String],
) -> Result<Tokenizer> {
    let merges: Vec<String> = md
        .get("tokenizer.ggml.merges")
        .context("gguf: no tokenizer.ggml.merges (only BPE tokenizers are supported)")?
        .to_vec()?
        .iter()
        .map(|v| v.to_string().cloned())
        .collect::<candle_core::Result<_>>()?;
    let types: Vec<i64> = match md.get("tokenizer.ggml.token_type") {
        Some(v) => v
            .to_vec()?
            .iter()
            .map(|x| x.to_i32().map(i64::from))
            .collect::<candle_core::Result<_>>()?,
        None => vec![1; tokens.len()],
    };
    let vocab: serde_json::Map<String, serde_json::Value> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), serde_json::json!(i)))
        .collect();
    // Token type 3 is "control" in llama.cpp: never split, and skipped when decoding.
    let added: Vec<serde_json::Value> = tokens
        .iter()
        .enumerate()
        .filter(|(i, _)| types.get(*i) == Some(&3))
        .map(|(i, t)| {
            serde_json::json!({"id": i, "content": t, "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    let doc = serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null,
        "added_tokens": added, "normalizer": null, "post_processor": null,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": true},
            {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}]},
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
            "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false,
            "vocab": vocab, "merges": merges}
    });
    Tokenizer::from_bytes(serde_json::to_vec(&doc)?).map_err(|e| anyhow::anyhow!("gguf tokenizer: {e}"))
}

/// The toy vocabulary of the built-in task: one token per `\boxed{d}`, a few filler words and
/// an end marker. Small enough that a random model finds rewarded completions by chance.
pub const TOY_EOS: &str = "<eos>";

pub fn toy_tokenizer() -> Result<Tokenizer> {
    let mut words: Vec<String> = vec![TOY_EOS.to_owned(), "<unk>".to_owned()];
    words.extend((0..10).map(|d| format!("\\boxed{{{d}}}")));
    words.extend(["so", "the", "answer", "is", "hmm", "q"].map(str::to_owned));
    words.extend((0..10).map(|d| d.to_string()));
    let vocab: serde_json::Map<String, serde_json::Value> = words
        .iter()
        .enumerate()
        .map(|(i, w)| (w.clone(), serde_json::json!(i)))
        .collect();
    let doc = serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null,
        "added_tokens": [{"id": 0, "content": TOY_EOS, "single_word": false, "lstrip": false,
            "rstrip": false, "normalized": false, "special": true}],
        "normalizer": null, "post_processor": null,
        "pre_tokenizer": {"type": "WhitespaceSplit"},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": false},
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "<unk>"}
    });
    Tokenizer::from_bytes(serde_json::to_vec(&doc)?).map_err(|e| anyhow::anyhow!("toy tokenizer: {e}"))
}
