//! Held-out evaluation: one greedy completion per example, judged by verdict, summarised as
//! accuracy, format and boxed-answer rates and mean reward.

use anyhow::Result;
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::data::Example;
use crate::generate::{SampleParams, generate_group};
use crate::reward::RewardItem;

use super::rollout::Sampler;

pub struct EvalResult {
    pub accuracy: f64,
    pub format_rate: f64,
    pub boxed_rate: f64,
    pub mean_reward: f64,
    /// The first three (prompt, completion, verdict), to show what the model writes.
    pub samples: Vec<(String, String, String)>,
}

/// Greedy completions of `examples`, scored by verdict.
pub fn evaluate(sampler: &Sampler<'_>, examples: &[Example]) -> Result<EvalResult> {
    let cfg = sampler.cfg;
    let sp = SampleParams {
        temperature: 1.0,
        top_p: 1.0,
        top_k: 0,
        max_new_tokens: cfg.eval.max_new_tokens.unwrap_or(cfg.grpo.max_new_tokens),
        greedy: true,
    };
    // Greedy decoding draws nothing; the generator only needs one.
    let mut rng = StdRng::seed_from_u64(0);
    let mut items = vec![];
    for ex in examples {
        let ids = sampler.encode(&ex.prompt)?;
        let c = generate_group(
            sampler.policy,
            &ids,
            1,
            &sp,
            sampler.eos,
            &mut rng,
            sampler.device,
        )?
        .remove(0);
        items.push(RewardItem {
            id: format!("eval-{}", ex.id),
            prompt: ex.prompt.clone(),
            completion: sampler.decode(&c.tokens)?,
            task: ex.task.clone(),
        });
    }
    let scored = sampler.client.score(&items)?;
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

/// A `\boxed{…}` with something inside: the answer format, right or wrong.
fn has_filled_box(s: &str) -> bool {
    s.match_indices("\\boxed{")
        .any(|(i, m)| s[i + m.len()..].chars().next().is_some_and(|c| c != '}'))
}

#[cfg(test)]
mod tests {
    use super::has_filled_box;

    #[test]
    fn a_box_counts_only_with_something_inside() {
        assert!(has_filled_box("so \\boxed{7}"));
        assert!(has_filled_box("\\boxed{} then \\boxed{3}"));
        assert!(!has_filled_box("\\boxed{}"));
        assert!(!has_filled_box("\\boxed{"));
        assert!(!has_filled_box("7"));
    }
}
