//! Rollout: a step's groups of completions sampled from the policy, judged by verdict in one
//! `/v1/rewards` call, and their rewards shaped (the overlong penalty). Nothing here touches
//! the gradients; `update` takes the groups from here.

use std::time::Instant;

use anyhow::Result;
use candle_core::Device;
use rand::rngs::StdRng;
use tokenizers::Tokenizer;

use crate::config::{GrpoSection, TrainConfig};
use crate::data::Example;
use crate::generate::{Completion, SampleParams, apply_template, generate_group};
use crate::grpo;
use crate::model::Decoder;
use crate::reward::{RewardClient, RewardItem, Scored};

/// What sampling and judging need besides the prompts: the policy with its tokenizer and end
/// tokens, the config (template, sampling, penalty) and the reward oracle. Evaluation samples
/// through the same one, greedily.
pub struct Sampler<'a> {
    pub policy: &'a Decoder,
    pub tokenizer: &'a Tokenizer,
    pub eos: &'a [u32],
    pub cfg: &'a TrainConfig,
    pub client: &'a RewardClient,
    pub device: &'a Device,
}

/// One sampled group, scored.
pub struct Group {
    pub prompt: Vec<u32>,
    pub completions: Vec<Completion>,
    pub scored: Vec<Scored>,
    /// Verdict's reward plus the overlong penalty; `None` where verdict could not judge.
    pub rewards: Vec<Option<f64>>,
}

impl Group {
    /// Every judged completion got the same reward: no relative signal.
    pub fn zero_std(&self) -> bool {
        grpo::zero_std(&self.rewards)
    }
}

/// A step's groups, with what the metrics need to know about sampling them.
pub struct Rollout {
    pub groups: Vec<Group>,
    /// Completion tokens sampled, over every group.
    pub gen_tokens: usize,
    /// Seconds spent sampling (judging excluded).
    pub gen_s: f64,
}

impl Sampler<'_> {
    /// Samples `grpo.group_size` completions of each example, then judges them all in one
    /// batch; item ids are `s{step}-p{group}-c{sample}` (verdict records them under the run).
    pub fn rollout(&self, step: usize, examples: &[&Example], rng: &mut StdRng) -> Result<Rollout> {
        let t0 = Instant::now();
        let grpo = &self.cfg.grpo;
        let sp = SampleParams {
            temperature: grpo.temperature,
            top_p: grpo.top_p,
            top_k: grpo.top_k,
            max_new_tokens: grpo.max_new_tokens,
            greedy: false,
        };
        let mut groups = vec![];
        let mut items = vec![];
        let mut gen_tokens = 0;
        for (gi, ex) in examples.iter().enumerate() {
            let prompt = self.encode(&ex.prompt)?;
            let completions = generate_group(
                self.policy,
                &prompt,
                grpo.group_size,
                &sp,
                self.eos,
                rng,
                self.device,
            )?;
            for (si, c) in completions.iter().enumerate() {
                gen_tokens += c.tokens.len();
                items.push(RewardItem {
                    id: format!("s{step}-p{gi}-c{si}"),
                    prompt: ex.prompt.clone(),
                    completion: self.decode(&c.tokens)?,
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
        let mut scored = self.client.score(&items)?.into_iter();
        for g in &mut groups {
            g.scored = scored.by_ref().take(g.completions.len()).collect();
            g.rewards = shaped_rewards(&g.scored, &g.completions, grpo);
        }
        Ok(Rollout {
            groups,
            gen_tokens,
            gen_s,
        })
    }

    /// The prompt's token ids after the chat template.
    pub fn encode(&self, prompt: &str) -> Result<Vec<u32>> {
        encode(self.tokenizer, self.cfg, prompt)
    }

    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        decode(self.tokenizer, ids)
    }
}

/// Verdict's rewards plus the soft overlong penalty on each completion's length; an unjudged
/// completion stays `None` (no reward, so no gradient), penalty or not.
pub fn shaped_rewards(scored: &[Scored], completions: &[Completion], grpo: &GrpoSection) -> Vec<Option<f64>> {
    scored
        .iter()
        .zip(completions)
        .map(|(s, c)| {
            s.reward.map(|r| {
                r + grpo::overlong_penalty(
                    c.tokens.len(),
                    grpo.max_new_tokens,
                    grpo.overlong_cache,
                    grpo.overlong_factor,
                )
            })
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn grpo(max_new_tokens: usize, overlong_cache: usize) -> GrpoSection {
        toml::from_str(&format!(
            "steps = 1\nprompts_per_step = 1\ngroup_size = 2\nmax_new_tokens = {max_new_tokens}\n\
             overlong_cache = {overlong_cache}"
        ))
        .unwrap()
    }

    fn completion(len: usize) -> Completion {
        Completion {
            tokens: vec![1; len],
            finished: true,
        }
    }

    fn scored(reward: Option<f64>) -> Scored {
        Scored {
            reward,
            ..Scored::default()
        }
    }

    #[test]
    fn without_an_overlong_window_rewards_are_verdicts_own() {
        let r = shaped_rewards(
            &[scored(Some(1.0)), scored(Some(0.0))],
            &[completion(20), completion(3)],
            &grpo(20, 0),
        );
        assert_eq!(r, vec![Some(1.0), Some(0.0)]);
    }

    #[test]
    fn a_completion_inside_the_overlong_window_loses_reward_in_proportion() {
        // Window of 4 before the limit of 20: 18 tokens are halfway in.
        let r = shaped_rewards(
            &[scored(Some(1.0)), scored(Some(1.0))],
            &[completion(18), completion(10)],
            &grpo(20, 4),
        );
        assert_eq!(r, vec![Some(0.5), Some(1.0)]);
    }

    #[test]
    fn an_unjudged_completion_gets_no_reward_even_with_a_penalty() {
        let r = shaped_rewards(&[scored(None)], &[completion(20)], &grpo(20, 4));
        assert_eq!(r, vec![None]);
    }

    #[test]
    fn a_group_whose_judged_rewards_are_equal_has_zero_std() {
        let group = |rewards| Group {
            prompt: vec![],
            completions: vec![],
            scored: vec![],
            rewards,
        };
        assert!(group(vec![Some(1.0), None, Some(1.0)]).zero_std());
        assert!(!group(vec![Some(1.0), Some(0.0)]).zero_std());
    }
}
