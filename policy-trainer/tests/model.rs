//! The decoder against candle_transformers' Llama and Qwen2 on tiny random weights, its
//! gradients, the KV-cached path, the GGUF un-permutation and checkpoint round trips.

use std::collections::BTreeMap;

use candle_core::{D, DType, Device, IndexOp, Tensor};
use candle_nn::{VarBuilder, VarMap};
use policy_trainer::model::{Decoder, KvCache, Mode, ModelConfig, Params, token_logprobs};

fn tiny(qwen: bool, tied: bool) -> ModelConfig {
    ModelConfig {
        vocab_size: 50,
        hidden_size: 32,
        intermediate_size: 48,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: Some(2),
        rms_norm_eps: 1e-6,
        rope_theta: 10_000.0,
        tie_word_embeddings: tied,
        attention_bias: Some(qwen),
        model_type: Some(if qwen { "qwen2" } else { "llama" }.into()),
        max_position_embeddings: 64,
    }
}

/// Random weights scaled up so the parity check is not trivially met by near-zero logits;
/// biases and norms randomised too so every parameter matters.
fn params(cfg: &ModelConfig, seed: u64) -> Params {
    let p = Params::random(cfg, seed, &Device::Cpu).unwrap();
    for (name, v) in &p.vars {
        let t = v.as_tensor();
        let noise = Tensor::randn(0f32, 1.0, t.shape(), &Device::Cpu).unwrap();
        let new = if name.ends_with("norm.weight") {
            ((noise * 0.1).unwrap() + 1.0).unwrap()
        } else if name.ends_with(".bias") {
            (noise * 0.1).unwrap()
        } else {
            (t * 10.0).unwrap()
        };
        v.set(&new).unwrap();
    }
    p
}

fn varmap(p: &Params) -> VarMap {
    let vm = VarMap::new();
    {
        let mut data = vm.data().lock().unwrap();
        for (k, v) in &p.vars {
            data.insert(k.clone(), v.clone());
        }
    }
    vm
}

fn ids() -> Tensor {
    Tensor::new(
        &[[1u32, 7, 3, 9, 22, 41, 5, 0, 13], [4, 4, 8, 15, 16, 23, 42, 1, 2]],
        &Device::Cpu,
    )
    .unwrap()
}

fn max_abs(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

#[test]
fn llama_logits_match_candle_transformers() {
    use candle_transformers::models::llama;
    for tied in [false, true] {
        let cfg = tiny(false, tied);
        let p = params(&cfg, 1);
        let vm = varmap(&p);
        let stock_cfg = llama::Config {
            hidden_size: cfg.hidden_size,
            intermediate_size: cfg.intermediate_size,
            vocab_size: cfg.vocab_size,
            num_hidden_layers: cfg.num_hidden_layers,
            num_attention_heads: cfg.num_attention_heads,
            num_key_value_heads: cfg.kv_heads(),
            use_flash_attn: false,
            rms_norm_eps: cfg.rms_norm_eps,
            rope_theta: cfg.rope_theta as f32,
            bos_token_id: None,
            eos_token_id: None,
            rope_scaling: None,
            max_position_embeddings: cfg.max_position_embeddings,
            tie_word_embeddings: tied,
        };
        let vb = VarBuilder::from_varmap(&vm, DType::F32, &Device::Cpu);
        let stock = llama::Llama::load(vb, &stock_cfg).unwrap();
        let mut cache = llama::Cache::new(false, DType::F32, &stock_cfg, &Device::Cpu).unwrap();
        let want = stock.forward(&ids(), 0, &mut cache).unwrap();
        let dec = Decoder::new(&cfg, p.tensors(), &Device::Cpu).unwrap();
        for mode in [Mode::Train, Mode::Infer] {
            let got = dec.forward(&ids(), 0, None, mode).unwrap().i((.., 8)).unwrap();
            let diff = max_abs(&got, &want);
            assert!(diff <= 1e-4, "tied={tied} {mode:?}: max abs diff {diff}");
        }
        assert!(want.abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap() > 0.1);
    }
}

#[test]
fn qwen2_logits_match_candle_transformers() {
    use candle_transformers::models::qwen2;
    let cfg = tiny(true, false);
    let p = params(&cfg, 2);
    let vm = varmap(&p);
    let stock_cfg = qwen2::Config {
        vocab_size: cfg.vocab_size,
        hidden_size: cfg.hidden_size,
        intermediate_size: cfg.intermediate_size,
        num_hidden_layers: cfg.num_hidden_layers,
        num_attention_heads: cfg.num_attention_heads,
        num_key_value_heads: cfg.kv_heads(),
        max_position_embeddings: cfg.max_position_embeddings,
        sliding_window: cfg.max_position_embeddings,
        max_window_layers: cfg.num_hidden_layers,
        tie_word_embeddings: false,
        rope_theta: cfg.rope_theta,
        rms_norm_eps: cfg.rms_norm_eps,
        use_sliding_window: false,
        hidden_act: candle_nn::Activation::Silu,
    };
    let vb = VarBuilder::from_varmap(&vm, DType::F32, &Device::Cpu);
    let mut stock = qwen2::ModelForCausalLM::new(&stock_cfg, vb).unwrap();
    let want = stock.forward(&ids(), 0).unwrap().squeeze(1).unwrap();
    let dec = Decoder::new(&cfg, p.tensors(), &Device::Cpu).unwrap();
    for mode in [Mode::Train, Mode::Infer] {
        let got = dec.forward(&ids(), 0, None, mode).unwrap().i((.., 8)).unwrap();
        let diff = max_abs(&got, &want);
        assert!(diff <= 1e-4, "{mode:?}: max abs diff {diff}");
    }
}

#[test]
fn every_parameter_gets_a_finite_non_zero_gradient() {
    for (qwen, tied) in [(false, false), (true, false), (false, true)] {
        let cfg = tiny(qwen, tied);
        let p = params(&cfg, 3);
        let dec = Decoder::new(&cfg, p.tensors(), &Device::Cpu).unwrap();
        let ids = ids();
        let logits = dec
            .forward(&ids.narrow(1, 0, 8).unwrap(), 0, None, Mode::Train)
            .unwrap();
        let lp = token_logprobs(&logits, &ids.narrow(1, 1, 8).unwrap()).unwrap();
        let grads = lp.sum_all().unwrap().backward().unwrap();
        assert_eq!(p.vars.len(), cfg.parameter_shapes().len());
        for (name, v) in &p.vars {
            let g = grads
                .get(v.as_tensor())
                .unwrap_or_else(|| panic!("{name} got no gradient (qwen={qwen}, tied={tied})"));
            let g = g.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            assert!(g.iter().all(|x| x.is_finite()), "{name}: non-finite gradient");
            assert!(g.iter().any(|x| *x != 0.0), "{name}: zero gradient");
        }
    }
}

#[test]
fn the_kv_cached_path_matches_a_full_forward() {
    let cfg = tiny(false, false);
    let p = params(&cfg, 4);
    let dec = Decoder::new(&cfg, p.tensors(), &Device::Cpu).unwrap();
    let ids = ids();
    let full = dec.forward(&ids, 0, None, Mode::Train).unwrap();
    let mut cache = KvCache::default();
    let first = dec
        .forward(&ids.narrow(1, 0, 5).unwrap(), 0, Some(&mut cache), Mode::Infer)
        .unwrap();
    assert!(max_abs(&first, &full.narrow(1, 0, 5).unwrap()) <= 1e-4);
    for t in 5..9 {
        let step = dec
            .forward(&ids.narrow(1, t, 1).unwrap(), t, Some(&mut cache), Mode::Infer)
            .unwrap();
        let diff = max_abs(&step, &full.narrow(1, t, 1).unwrap());
        assert!(diff <= 1e-4, "position {t}: {diff}");
    }
    assert_eq!(cache.len(), 9);
}

#[test]
fn a_repeated_batch_one_cache_decodes_like_the_batch() {
    let cfg = tiny(false, false);
    let p = params(&cfg, 5);
    let dec = Decoder::new(&cfg, p.tensors(), &Device::Cpu).unwrap();
    let prompt = Tensor::new(&[[3u32, 1, 4, 1, 5]], &Device::Cpu).unwrap();
    let mut cache = KvCache::default();
    dec.forward(&prompt, 0, Some(&mut cache), Mode::Infer).unwrap();
    let mut cache = cache.repeat_batch(2).unwrap();
    let next = Tensor::new(&[[9u32], [2]], &Device::Cpu).unwrap();
    let got = dec.forward(&next, 5, Some(&mut cache), Mode::Infer).unwrap();
    let full = Tensor::new(&[[3u32, 1, 4, 1, 5, 9], [3, 1, 4, 1, 5, 2]], &Device::Cpu).unwrap();
    let want = dec
        .forward(&full, 0, None, Mode::Infer)
        .unwrap()
        .narrow(1, 5, 1)
        .unwrap();
    assert!(max_abs(&got, &want) <= 1e-4);
}

#[test]
fn unpermute_inverts_llama_cpp_q_k_permutation() {
    // llama.cpp: w.reshape(heads, 2, hd/2, in).swapaxes(1, 2)
    let (heads, hd, inp) = (3, 4, 5);
    let w = Tensor::arange(0f32, (heads * hd * inp) as f32, &Device::Cpu)
        .unwrap()
        .reshape((heads * hd, inp))
        .unwrap();
    let permuted = w
        .reshape((heads, 2, hd / 2, inp))
        .unwrap()
        .transpose(1, 2)
        .unwrap()
        .contiguous()
        .unwrap()
        .reshape((heads * hd, inp))
        .unwrap();
    let back = policy_trainer::loader::unpermute(&permuted, heads).unwrap();
    assert_eq!(back.to_vec2::<f32>().unwrap(), w.to_vec2::<f32>().unwrap());
}

#[test]
fn a_checkpoint_round_trips_exactly() {
    use policy_trainer::optim::{AdamW, AdamWConfig};
    use policy_trainer::train::checkpoint::{Checkpoint, Snapshot};
    let cfg = tiny(false, false);
    let p = params(&cfg, 6);
    let mut opt = AdamW::named(&p.vars, AdamWConfig::with_lr(1e-3));
    let grads: BTreeMap<String, Vec<f32>> = p
        .vars
        .iter()
        .map(|(k, v)| (k.clone(), vec![0.01; v.elem_count()]))
        .collect();
    opt.step_accumulated(&grads).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("checkpoint");
    let tok = policy_trainer::loader::toy_tokenizer().unwrap();
    // A reference model saved beside the weights must not be mistaken for them.
    let other = params(&cfg, 99);
    let reference = Decoder::new(&cfg, other.tensors(), &Device::Cpu).unwrap();
    Checkpoint::at(&ck)
        .save(&Snapshot {
            model: &cfg,
            params: &p,
            tokenizer: &tok,
            eos: &[0],
            optimizer: opt.state(),
            reference: Some(&reference),
            step: 7,
        })
        .unwrap();
    let loaded = policy_trainer::loader::load_hf_dir(&ck, &Device::Cpu).unwrap();
    assert_eq!(loaded.cfg, cfg);
    for (k, v) in &p.vars {
        let a = v.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let b = loaded.params.vars[k]
            .as_tensor()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(a, b, "{k}");
    }
    let moments = candle_core::safetensors::load(ck.join("optimizer.safetensors"), &Device::Cpu).unwrap();
    for (k, m) in &opt.state().m {
        assert_eq!(&moments[&format!("m.{k}")].to_vec1::<f32>().unwrap(), m);
        assert_eq!(
            &moments[&format!("v.{k}")].to_vec1::<f32>().unwrap(),
            &opt.state().v[k]
        );
    }
    assert_eq!(loaded.tokenizer.get_vocab_size(true), tok.get_vocab_size(true));
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ck.join("state.json")).unwrap()).unwrap();
    assert_eq!(state["step"], 7);
    assert_eq!(state["adam_t"], 1);
}

#[test]
fn logprobs_are_normalised() {
    let cfg = tiny(false, false);
    let p = params(&cfg, 8);
    let dec = Decoder::new(&cfg, p.tensors(), &Device::Cpu).unwrap();
    let logits = dec.forward(&ids(), 0, None, Mode::Train).unwrap();
    let probs = candle_nn::ops::log_softmax(&logits, D::Minus1)
        .unwrap()
        .exp()
        .unwrap();
    let total = probs
        .sum(D::Minus1)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    assert!(total.iter().all(|t| (t - 1.0).abs() < 1e-4));
}
