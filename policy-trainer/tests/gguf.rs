//! A GGUF file in llama.cpp's layout (Q/K rows permuted) loads into the decoder, whose greedy
//! tokens then equal candle_transformers' quantized_llama on the same file.

use candle_core::quantized::{GgmlDType, QTensor, gguf_file};
use candle_core::{Device, IndexOp, Tensor};
use policy_trainer::model::{Decoder, Mode, ModelConfig, Params};

fn permute(t: &Tensor, heads: usize) -> Tensor {
    let (rows, cols) = t.dims2().unwrap();
    let hd = rows / heads;
    t.reshape((heads, 2, hd / 2, cols))
        .unwrap()
        .transpose(1, 2)
        .unwrap()
        .contiguous()
        .unwrap()
        .reshape((rows, cols))
        .unwrap()
}

#[test]
fn gguf_greedy_tokens_match_quantized_llama() {
    let cfg = ModelConfig {
        vocab_size: 40,
        hidden_size: 32,
        intermediate_size: 48,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: Some(2),
        rms_norm_eps: 1e-5,
        rope_theta: 10_000.0,
        tie_word_embeddings: true,
        attention_bias: Some(false),
        model_type: Some("llama".into()),
        max_position_embeddings: 64,
    };
    let p = Params::random(&cfg, 11, &Device::Cpu).unwrap();
    for v in p.vars.values() {
        v.set(&(v.as_tensor() * 20.0).unwrap()).unwrap();
    }
    let t = p.tensors();
    let mut q: Vec<(String, QTensor)> = vec![];
    let mut put = |name: String, t: &Tensor| q.push((name, QTensor::quantize(t, GgmlDType::F32).unwrap()));
    put("token_embd.weight".into(), &t["model.embed_tokens.weight"]);
    put("output_norm.weight".into(), &t["model.norm.weight"]);
    for l in 0..cfg.num_hidden_layers {
        let h = |s: &str| t[&format!("model.layers.{l}.{s}")].clone();
        let g = |s: &str| format!("blk.{l}.{s}");
        put(g("attn_norm.weight"), &h("input_layernorm.weight"));
        put(g("attn_q.weight"), &permute(&h("self_attn.q_proj.weight"), 4));
        put(g("attn_k.weight"), &permute(&h("self_attn.k_proj.weight"), 2));
        put(g("attn_v.weight"), &h("self_attn.v_proj.weight"));
        put(g("attn_output.weight"), &h("self_attn.o_proj.weight"));
        put(g("ffn_norm.weight"), &h("post_attention_layernorm.weight"));
        put(g("ffn_gate.weight"), &h("mlp.gate_proj.weight"));
        put(g("ffn_up.weight"), &h("mlp.up_proj.weight"));
        put(g("ffn_down.weight"), &h("mlp.down_proj.weight"));
    }
    use gguf_file::Value as V;
    let mut tokens: Vec<V> = (0..38).map(|i| V::String(format!("t{i}"))).collect();
    tokens.push(V::String("t".into()));
    tokens.push(V::String("1".into()));
    let md: Vec<(&str, V)> = vec![
        ("general.architecture", V::String("llama".into())),
        ("llama.attention.head_count", V::U32(4)),
        ("llama.attention.head_count_kv", V::U32(2)),
        ("llama.block_count", V::U32(2)),
        ("llama.embedding_length", V::U32(32)),
        ("llama.feed_forward_length", V::U32(48)),
        ("llama.rope.dimension_count", V::U32(8)),
        ("llama.attention.layer_norm_rms_epsilon", V::F32(1e-5)),
        ("llama.rope.freq_base", V::F32(10_000.0)),
        ("llama.context_length", V::U32(64)),
        ("tokenizer.ggml.tokens", V::Array(tokens)),
        ("tokenizer.ggml.merges", V::Array(vec![V::String("t 1".into())])),
        ("tokenizer.ggml.eos_token_id", V::U32(0)),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.gguf");
    {
        let mut f = std::fs::File::create(&path).unwrap();
        let md_refs: Vec<(&str, &V)> = md.iter().map(|(k, v)| (*k, v)).collect();
        let t_refs: Vec<(&str, &QTensor)> = q.iter().map(|(k, v)| (k.as_str(), v)).collect();
        gguf_file::write(&mut f, &md_refs, &t_refs).unwrap();
    }

    let loaded = policy_trainer::loader::load_gguf(&path, &Device::Cpu).unwrap();
    assert_eq!(loaded.cfg.hidden_size, 32);
    assert!(loaded.cfg.tie_word_embeddings);
    for (k, v) in &p.vars {
        let a = v.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let b = loaded.params.vars[k]
            .as_tensor()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(a, b, "{k} differs after the round trip through GGUF");
    }
    let dec = Decoder::new(&loaded.cfg, loaded.params.tensors(), &Device::Cpu).unwrap();

    let mut f = std::fs::File::open(&path).unwrap();
    let content = gguf_file::Content::read(&mut f).unwrap();
    let mut stock =
        candle_transformers::models::quantized_llama::ModelWeights::from_gguf(content, &mut f, &Device::Cpu)
            .unwrap();

    let prompt = [3u32, 17, 5, 29, 8];
    let (mut ours, mut theirs) = (prompt.to_vec(), prompt.to_vec());
    for _ in 0..6 {
        let ids = Tensor::new(ours.as_slice(), &Device::Cpu)
            .unwrap()
            .unsqueeze(0)
            .unwrap();
        let logits = dec.forward(&ids, 0, None, Mode::Infer).unwrap();
        let last = logits.i((0, ours.len() - 1)).unwrap();
        ours.push(last.argmax(0).unwrap().to_scalar::<u32>().unwrap());
        let ids = Tensor::new(theirs.as_slice(), &Device::Cpu)
            .unwrap()
            .unsqueeze(0)
            .unwrap();
        let logits = stock.forward(&ids, 0).unwrap();
        theirs.push(
            logits
                .squeeze(0)
                .unwrap()
                .argmax(0)
                .unwrap()
                .to_scalar::<u32>()
                .unwrap(),
        );
    }
    assert_eq!(ours, theirs);
    // Not a degenerate model that repeats one token.
    assert!(ours[5..].iter().any(|t| *t != ours[5]), "{ours:?}");
}
