//! Sampling: the chat template, a KV-cached group of G samples from one prompt prefill, and
//! temperature / top-k / top-p token choice.

use anyhow::Result;
use candle_core::{Device, Tensor};
use rand::Rng;
use rand::rngs::StdRng;

use crate::config::Template;
use crate::model::{Decoder, KvCache, Mode};

#[derive(Debug, Clone, Copy)]
pub struct SampleParams {
    pub temperature: f64,
    pub top_p: f64,
    pub top_k: usize,
    pub max_new_tokens: usize,
    /// Always take the most likely token (evaluation).
    pub greedy: bool,
}

#[derive(Debug, Clone)]
pub struct Completion {
    /// Sampled tokens, including the end token when there is one.
    pub tokens: Vec<u32>,
    /// False when the length limit cut it off.
    pub finished: bool,
}

/// The prompt as the model was trained to see it.
pub fn apply_template(template: Template, system: Option<&str>, prompt: &str) -> String {
    match template {
        Template::Plain => prompt.to_owned(),
        Template::Chatml => {
            let mut s = String::new();
            if let Some(sys) = system {
                s.push_str(&format!("<|im_start|>system\n{sys}<|im_end|>\n"));
            }
            s.push_str(&format!(
                "<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n"
            ));
            s
        }
    }
}

/// Samples `g` completions of one prompt: one batch-1 prefill whose cache is repeated `g`
/// times, then batched decoding. Rows that have ended keep decoding a pad (ignored) until all
/// end or the limit is reached, so the batch stays rectangular.
pub fn generate_group(
    dec: &Decoder,
    prompt: &[u32],
    g: usize,
    sp: &SampleParams,
    eos: &[u32],
    rng: &mut StdRng,
    device: &Device,
) -> Result<Vec<Completion>> {
    let mut cache = KvCache::default();
    let ids = Tensor::new(prompt, device)?.unsqueeze(0)?;
    let logits = dec.forward(&ids, 0, Some(&mut cache), Mode::Infer)?;
    let last: Vec<f32> = logits.squeeze(0)?.get(prompt.len() - 1)?.to_vec1()?;
    let mut cache = cache.repeat_batch(g)?;
    let mut out: Vec<Completion> = (0..g)
        .map(|_| Completion {
            tokens: vec![],
            finished: false,
        })
        .collect();
    let mut rows: Vec<Vec<f32>> = vec![last; g];
    let pad = eos.first().copied().unwrap_or(0);
    for step in 0..sp.max_new_tokens {
        let mut next = Vec::with_capacity(g);
        for (c, row) in out.iter_mut().zip(&rows) {
            if c.finished {
                next.push(pad);
                continue;
            }
            let t = choose(row, sp, rng);
            c.tokens.push(t);
            if eos.contains(&t) {
                c.finished = true;
            }
            next.push(t);
        }
        if out.iter().all(|c| c.finished) || step + 1 == sp.max_new_tokens {
            break;
        }
        let ids = Tensor::new(next.as_slice(), device)?.unsqueeze(1)?;
        let logits = dec.forward(&ids, prompt.len() + step, Some(&mut cache), Mode::Infer)?;
        rows = logits.squeeze(1)?.to_vec2()?;
    }
    Ok(out)
}

/// Picks one token from raw logits.
pub fn choose(logits: &[f32], sp: &SampleParams, rng: &mut StdRng) -> u32 {
    if sp.greedy {
        return argmax(logits);
    }
    let t = sp.temperature as f32;
    let max = logits[argmax(logits) as usize] / t;
    // Without top-k or top-p every token stays a candidate: one pass over the vocabulary,
    // no sort (sorting 49k logits per sample per token dominated generation).
    if sp.top_k == 0 && sp.top_p >= 1.0 {
        let weights: Vec<f32> = logits.iter().map(|&l| (l / t - max).exp()).collect();
        let total: f32 = weights.iter().sum();
        let mut u: f32 = rng.random::<f32>() * total;
        for (i, w) in weights.iter().enumerate() {
            if u < *w {
                return i as u32;
            }
            u -= w;
        }
        return argmax(logits);
    }
    let mut idx: Vec<usize> = (0..logits.len()).collect();
    let by_logit = |a: &usize, b: &usize| logits[*b].total_cmp(&logits[*a]);
    if sp.top_k > 0 && sp.top_k < idx.len() {
        // Only the k largest need ordering.
        idx.select_nth_unstable_by(sp.top_k - 1, by_logit);
        idx.truncate(sp.top_k);
    }
    idx.sort_unstable_by(by_logit);
    let mut probs: Vec<f32> = idx.iter().map(|&i| (logits[i] / t - max).exp()).collect();
    let total: f32 = probs.iter().sum();
    probs.iter_mut().for_each(|p| *p /= total);
    if sp.top_p < 1.0 {
        let mut acc = 0.0;
        let mut keep = probs.len();
        for (k, p) in probs.iter().enumerate() {
            acc += p;
            if acc >= sp.top_p as f32 {
                keep = k + 1;
                break;
            }
        }
        probs.truncate(keep);
        let total: f32 = probs.iter().sum();
        probs.iter_mut().for_each(|p| *p /= total);
    }
    let mut u: f32 = rng.random();
    for (k, p) in probs.iter().enumerate() {
        if u < *p {
            return idx[k] as u32;
        }
        u -= p;
    }
    idx[probs.len() - 1] as u32
}

fn argmax(xs: &[f32]) -> u32 {
    let mut best = 0;
    for (i, x) in xs.iter().enumerate() {
        if *x > xs[best] {
            best = i;
        }
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn params(top_k: usize, top_p: f64) -> SampleParams {
        SampleParams {
            temperature: 1.0,
            top_p,
            top_k,
            max_new_tokens: 1,
            greedy: false,
        }
    }

    /// Share of each token over many draws.
    fn frequencies(logits: &[f32], sp: &SampleParams) -> Vec<f64> {
        let mut rng = StdRng::seed_from_u64(7);
        let mut counts = vec![0usize; logits.len()];
        let draws = 40_000;
        for _ in 0..draws {
            counts[choose(logits, sp, &mut rng) as usize] += 1;
        }
        counts.iter().map(|&c| c as f64 / draws as f64).collect()
    }

    #[test]
    fn untruncated_sampling_follows_the_softmax() {
        let logits = [0.0f32, 1.0, 2.0, -1.0];
        let z: f64 = logits.iter().map(|&l| f64::from(l).exp()).sum();
        let got = frequencies(&logits, &params(0, 1.0));
        for (l, share) in logits.iter().zip(got) {
            let want = f64::from(*l).exp() / z;
            assert!((share - want).abs() < 0.01, "{share} vs {want}");
        }
    }

    #[test]
    fn top_k_and_top_p_keep_only_the_most_likely_tokens() {
        let logits = [0.0f32, 3.0, 2.0, -1.0, 2.5];
        let top2 = frequencies(&logits, &params(2, 1.0));
        assert_eq!(top2[0] + top2[2] + top2[3], 0.0, "{top2:?}");
        // softmax over {3.0, 2.5}: e^0.5 / (1 + e^0.5).
        let want = 0.5f64.exp() / (1.0 + 0.5f64.exp());
        assert!((top2[1] - want).abs() < 0.01, "{top2:?}");
        let nucleus = frequencies(&logits, &params(0, 0.3));
        assert_eq!(nucleus[1], 1.0, "the top token alone holds 30%: {nucleus:?}");
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(choose(&logits, &params(1, 1.0), &mut rng), 1);
    }
}
