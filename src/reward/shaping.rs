//! The policy terms applied after the accuracy and format checks: format as a gate, a code
//! pass-rate threshold, cosine length scaling, DAPO's overlong penalty and a penalty for
//! completions the client cut off. Each is off unless the policy sets it, and each adds or
//! replaces a named component, so a stored reward shows how it was made up.

use serde::{Deserialize, Serialize};

use super::{Details, Judgement, Policy};

/// How the format check enters the reward.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FormatMode {
    /// `format_weight` is added when the format holds (DeepSeek-R1's rule).
    #[default]
    Additive,
    /// Accuracy counts only when the format holds; no separate format term.
    Gate,
}

impl FormatMode {
    pub fn is_additive(&self) -> bool {
        *self == FormatMode::Additive
    }
}

/// Cosine length scaling (Yeo et al., 2025): a correct answer earns from `correct_short`
/// (length 0) down to `correct_long` (at `max_length`), a wrong one from `wrong_short` up to
/// `wrong_long`, so short right answers and long wrong ones are preferred. Replaces the
/// accuracy term (still multiplied by `accuracy_weight`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CosineLength {
    pub max_length: u64,
    pub correct_short: f64,
    pub correct_long: f64,
    pub wrong_short: f64,
    pub wrong_long: f64,
}

/// DAPO's soft overlong punishment: 0 up to `max_length - buffer`, then falling linearly to
/// `-factor` at `max_length`, and `-factor` beyond.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Overlong {
    pub max_length: u64,
    pub buffer: u64,
    #[serde(default = "one")]
    pub factor: f64,
}

fn one() -> f64 {
    1.0
}

/// A deterministic efficiency term for code: a solved item earns
/// `weight · min(1, reference_fuel / fuel)`, where `fuel` is the wasm instructions all its
/// tests executed — full weight at or under the reference, half at twice it. Fuel, unlike
/// time, is the same on every machine and under any load, so the reward is reproducible.
/// An unsolved item earns 0.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeEfficiency {
    pub weight: f64,
    pub reference_fuel: u64,
}

/// The component name of the efficiency term.
pub const EFFICIENCY: &str = "efficiency";

/// What the client tells about a completion beside its text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Signals {
    /// Generation stopped at the length limit, not at an end token.
    pub truncated: bool,
    /// The completion's length in tokens; characters are counted when absent.
    pub completion_tokens: Option<u64>,
}

impl Signals {
    pub fn length(&self, completion: &str) -> u64 {
        self.completion_tokens
            .unwrap_or_else(|| completion.chars().count() as u64)
    }
}

/// Whether a judged item counts as solved under the policy: its verdict, or for code with a
/// pass-rate threshold, the share of tests passed.
pub fn solved(judgement: &Judgement, config: &super::PolicyConfig) -> bool {
    match (config.code_pass_threshold, &judgement.details) {
        (Some(threshold), Details::Code(details)) if details.total > 0 => {
            details.passed as f64 / details.total as f64 >= threshold
        }
        _ => judgement.verdict.is_success(),
    }
}

/// Applies the policy's extra terms to a judged item and recomputes its reward.
pub fn apply(judgement: &mut Judgement, completion: &str, signals: &Signals, policy: &Policy) {
    let config = &policy.config;
    let success = solved(judgement, config);
    if config.code_pass_threshold.is_some() && matches!(&judgement.details, Details::Code(d) if d.total > 0) {
        judgement
            .components
            .insert("accuracy", config.accuracy_weight * f64::from(u8::from(success)));
    }
    let length = signals.length(completion);
    if let Some(cosine) = &config.cosine_length {
        judgement.components.insert(
            "accuracy",
            config.accuracy_weight * cosine_scaled(cosine, success, length),
        );
    }
    if let (Some(efficiency), Details::Code(details)) = (&config.code_efficiency, &judgement.details) {
        let term = match details.fuel {
            Some(fuel) if success => (efficiency.reference_fuel as f64 / fuel.max(1) as f64).min(1.0),
            _ => 0.0,
        };
        judgement.components.insert(EFFICIENCY, efficiency.weight * term);
    }
    if config.format_mode == FormatMode::Gate {
        judgement.components.remove("format");
        if !judgement.format_ok {
            judgement.components.insert("accuracy", 0.0);
        }
    }
    if config.truncated_penalty > 0.0 {
        let penalty = if signals.truncated {
            -config.truncated_penalty
        } else {
            0.0
        };
        judgement.components.insert("truncated", penalty);
    }
    if let Some(overlong) = &config.overlong {
        judgement
            .components
            .insert("overlong", overlong_penalty(overlong, length));
    }
    judgement.reward = judgement.components.values().sum();
}

pub fn cosine_scaled(cosine: &CosineLength, correct: bool, length: u64) -> f64 {
    let progress = length.min(cosine.max_length) as f64 / cosine.max_length.max(1) as f64;
    let (at_zero, at_max) = if correct {
        (cosine.correct_short, cosine.correct_long)
    } else {
        (cosine.wrong_short, cosine.wrong_long)
    };
    // cos goes 1 → -1 as progress goes 0 → 1: the value moves from `at_zero` to `at_max`.
    at_max + 0.5 * (at_zero - at_max) * (1.0 + (progress * std::f64::consts::PI).cos())
}

pub fn overlong_penalty(overlong: &Overlong, length: u64) -> f64 {
    let soft_start = overlong.max_length.saturating_sub(overlong.buffer);
    if length <= soft_start {
        0.0
    } else if length <= overlong.max_length && overlong.buffer > 0 {
        -overlong.factor * (length - soft_start) as f64 / overlong.buffer as f64
    } else {
        -overlong.factor
    }
}

/// Kimi k1.5's length reward, relative to the completions of one group: with the group's
/// shortest and longest lengths `min` and `max`, `λ = 0.5 − (len − min) / (max − min)`; a
/// solved item earns `weight · λ` and an unsolved one `weight · min(0, λ)`, so among right
/// answers the short are preferred and long wrong ones are punished, while a short wrong
/// answer gains nothing. All lengths equal (or a group of one) gives 0.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupLength {
    pub weight: f64,
}

/// The component name of the group-relative length term.
pub const GROUP_LENGTH: &str = "group_length";

/// A member of a group as the group-relative terms see it.
pub struct GroupMember<'a> {
    pub judgement: &'a mut Judgement,
    /// Tokens when the client counted them, else characters (as for the other length terms).
    pub length: u64,
}

/// Adds the policy's group-relative terms to the judged members of one group and recomputes
/// their rewards. Runs after [`apply`], on the whole group at once.
pub fn apply_group(members: &mut [GroupMember<'_>], policy: &Policy) {
    let Some(group_length) = &policy.config.group_length else {
        return;
    };
    let shortest = members.iter().map(|m| m.length).min().unwrap_or(0);
    let longest = members.iter().map(|m| m.length).max().unwrap_or(0);
    for member in members.iter_mut() {
        let lambda = if longest > shortest {
            0.5 - (member.length - shortest) as f64 / (longest - shortest) as f64
        } else {
            0.0
        };
        let term = if solved(member.judgement, &policy.config) {
            lambda
        } else {
            lambda.min(0.0)
        };
        let judgement = &mut *member.judgement;
        judgement
            .components
            .insert(GROUP_LENGTH, group_length.weight * term);
        judgement.reward = judgement.components.values().sum();
    }
}

/// A re-check judges one stored item without its group, so a group-relative term cannot be
/// recomputed: the stored value is carried over (its siblings are unchanged), and only the
/// per-item terms are judged again.
pub fn carry_group_terms(judgement: &mut Judgement, stored_components: &serde_json::Value, policy: &Policy) {
    if policy.config.group_length.is_none() {
        return;
    }
    if let Some(stored) = stored_components
        .get(GROUP_LENGTH)
        .and_then(serde_json::Value::as_f64)
    {
        judgement.components.insert(GROUP_LENGTH, stored);
        judgement.reward = judgement.components.values().sum();
    }
}

/// Checks the settings of the terms above; the message names the key.
pub(super) fn validate(config: &super::PolicyConfig) -> Result<(), String> {
    if let Some(efficiency) = &config.code_efficiency
        && !(efficiency.weight.is_finite() && efficiency.weight >= 0.0 && efficiency.reference_fuel > 0)
    {
        return Err("code_efficiency needs a finite weight ≥ 0 and a reference_fuel > 0".into());
    }
    if let Some(group_length) = &config.group_length
        && !(group_length.weight.is_finite() && group_length.weight >= 0.0)
    {
        return Err("group_length.weight must be a finite number ≥ 0".into());
    }
    if let Some(threshold) = config.code_pass_threshold
        && !(threshold.is_finite() && threshold > 0.0 && threshold <= 1.0)
    {
        return Err(format!("code_pass_threshold must be in (0, 1], got {threshold}"));
    }
    if !config.truncated_penalty.is_finite() || config.truncated_penalty < 0.0 {
        return Err("truncated_penalty must be a finite number ≥ 0".into());
    }
    if let Some(cosine) = &config.cosine_length {
        if cosine.max_length == 0 {
            return Err("cosine_length.max_length must be > 0".into());
        }
        let values = [
            cosine.correct_short,
            cosine.correct_long,
            cosine.wrong_short,
            cosine.wrong_long,
        ];
        if values.iter().any(|v| !v.is_finite()) {
            return Err("cosine_length values must be finite".into());
        }
    }
    if let Some(overlong) = &config.overlong
        && (overlong.buffer > overlong.max_length
            || overlong.max_length == 0
            || !overlong.factor.is_finite()
            || overlong.factor < 0.0)
    {
        return Err("overlong needs 0 < max_length, buffer ≤ max_length and a finite factor ≥ 0".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::reward::{MathDetails, PolicyConfig, Verdict};

    fn judged(verdict: Verdict, format_ok: bool) -> Judgement {
        let mut components = BTreeMap::new();
        components.insert("accuracy", if verdict.is_success() { 1.0 } else { 0.0 });
        components.insert("format", if format_ok { 1.0 } else { 0.0 });
        Judgement {
            reward: components.values().sum(),
            components,
            verdict,
            format_ok,
            extracted: None,
            details: Details::Math(MathDetails::default()),
            elapsed_ms: 0.0,
        }
    }

    fn policy(config: PolicyConfig) -> Policy {
        Policy::new("p", config).unwrap()
    }

    #[test]
    fn the_format_gate_withholds_accuracy_without_the_format() {
        let gate = policy(PolicyConfig {
            format_mode: FormatMode::Gate,
            ..PolicyConfig::default()
        });
        let mut right_unformatted = judged(Verdict::Correct, false);
        apply(&mut right_unformatted, "x", &Signals::default(), &gate);
        assert_eq!(right_unformatted.reward, 0.0);
        assert!(!right_unformatted.components.contains_key("format"));
        let mut right_formatted = judged(Verdict::Correct, true);
        apply(&mut right_formatted, "x", &Signals::default(), &gate);
        assert_eq!(right_formatted.reward, 1.0);
        let mut additive = judged(Verdict::Correct, false);
        apply(
            &mut additive,
            "x",
            &Signals::default(),
            &policy(PolicyConfig::default()),
        );
        assert_eq!(additive.reward, 1.0, "additive: accuracy stands alone");
    }

    #[test]
    fn truncation_and_overlong_are_penalised() {
        let p = policy(PolicyConfig {
            truncated_penalty: 0.5,
            overlong: Some(Overlong {
                max_length: 100,
                buffer: 20,
                factor: 1.0,
            }),
            ..PolicyConfig::default()
        });
        let mut cut = judged(Verdict::Correct, true);
        let signals = Signals {
            truncated: true,
            completion_tokens: Some(90),
        };
        apply(&mut cut, "x", &signals, &p);
        assert_eq!(cut.components["truncated"], -0.5);
        assert_eq!(
            cut.components["overlong"], -0.5,
            "10 tokens into a 20-token buffer"
        );
        assert_eq!(cut.reward, 2.0 - 0.5 - 0.5);
        let o = p.config.overlong.as_ref().unwrap();
        assert_eq!(overlong_penalty(o, 80), 0.0);
        assert_eq!(overlong_penalty(o, 100), -1.0);
        assert_eq!(overlong_penalty(o, 5000), -1.0);
        // Without a token count the characters are counted.
        let mut short = judged(Verdict::Correct, true);
        apply(&mut short, "short", &Signals::default(), &p);
        assert_eq!(short.components["overlong"], 0.0);
        assert_eq!(short.components["truncated"], 0.0);
    }

    #[test]
    fn cosine_scaling_prefers_short_right_and_long_wrong_answers() {
        let c = CosineLength {
            max_length: 100,
            correct_short: 2.0,
            correct_long: 1.0,
            wrong_short: -1.0,
            wrong_long: -0.5,
        };
        assert_eq!(cosine_scaled(&c, true, 0), 2.0);
        assert!((cosine_scaled(&c, true, 100) - 1.0).abs() < 1e-12);
        assert!((cosine_scaled(&c, true, 50) - 1.5).abs() < 1e-12);
        assert_eq!(cosine_scaled(&c, false, 0), -1.0);
        assert!(
            (cosine_scaled(&c, false, 1000) + 0.5).abs() < 1e-12,
            "capped at max_length"
        );
    }

    #[test]
    fn new_terms_leave_existing_policy_versions_alone_and_bad_settings_are_refused() {
        // The version hash of a policy that uses none of the new terms must not change, or every
        // stored r1 reward would look like another policy's.
        let json = serde_json::to_string(&PolicyConfig::default()).unwrap();
        assert!(
            !json.contains("format_mode") && !json.contains("overlong"),
            "{json}"
        );
        assert!(
            Policy::new(
                "p",
                PolicyConfig {
                    code_pass_threshold: Some(1.5),
                    ..PolicyConfig::default()
                }
            )
            .is_err()
        );
        let bad = Overlong {
            max_length: 10,
            buffer: 20,
            factor: 1.0,
        };
        assert!(
            Policy::new(
                "p",
                PolicyConfig {
                    overlong: Some(bad),
                    ..PolicyConfig::default()
                }
            )
            .is_err()
        );
    }

    #[test]
    fn the_group_length_term_ranks_members_by_length_within_their_group() {
        let policy = policy(PolicyConfig {
            group_length: Some(GroupLength { weight: 2.0 }),
            ..PolicyConfig::default()
        });
        // Lengths 10, 20 and 30: λ = 0.5, 0, −0.5.
        let mut short_right = judged(Verdict::Correct, true);
        let mut middle_wrong = judged(Verdict::Incorrect, true);
        let mut long_right = judged(Verdict::Correct, true);
        let mut short_wrong = judged(Verdict::Incorrect, true);
        {
            let mut members = [
                GroupMember {
                    judgement: &mut short_right,
                    length: 10,
                },
                GroupMember {
                    judgement: &mut middle_wrong,
                    length: 20,
                },
                GroupMember {
                    judgement: &mut long_right,
                    length: 30,
                },
            ];
            apply_group(&mut members, &policy);
        }
        assert_eq!(short_right.components[GROUP_LENGTH], 1.0);
        assert_eq!(short_right.reward, 3.0);
        assert_eq!(middle_wrong.components[GROUP_LENGTH], 0.0);
        assert_eq!(long_right.components[GROUP_LENGTH], -1.0);
        assert_eq!(long_right.reward, 1.0);
        // A short wrong answer gains nothing (min(0, λ)).
        let mut long_wrong = judged(Verdict::Incorrect, false);
        {
            let mut members = [
                GroupMember {
                    judgement: &mut short_wrong,
                    length: 5,
                },
                GroupMember {
                    judgement: &mut long_wrong,
                    length: 15,
                },
            ];
            apply_group(&mut members, &policy);
        }
        assert_eq!(short_wrong.components[GROUP_LENGTH], 0.0);
        assert_eq!(long_wrong.components[GROUP_LENGTH], -1.0);
        assert_eq!(long_wrong.reward, -1.0);
        // Equal lengths and groups of one carry no length signal.
        let mut alone = judged(Verdict::Correct, true);
        apply_group(
            &mut [GroupMember {
                judgement: &mut alone,
                length: 7,
            }],
            &policy,
        );
        assert_eq!(alone.components[GROUP_LENGTH], 0.0);
        assert_eq!(alone.reward, 2.0);
    }

    #[test]
    fn a_recheck_carries_the_stored_group_term_over() {
        let with_term = policy(PolicyConfig {
            group_length: Some(GroupLength { weight: 1.0 }),
            ..PolicyConfig::default()
        });
        let stored = serde_json::json!({"accuracy": 1.0, "format": 1.0, "group_length": -0.25});
        let mut again = judged(Verdict::Correct, true);
        carry_group_terms(&mut again, &stored, &with_term);
        assert_eq!(again.reward, 1.75);
        // A policy without the term ignores a stale stored value.
        let mut plain = judged(Verdict::Correct, true);
        carry_group_terms(&mut plain, &stored, &policy(PolicyConfig::default()));
        assert_eq!(plain.reward, 2.0);
        assert!(
            Policy::new(
                "p",
                PolicyConfig {
                    group_length: Some(GroupLength { weight: f64::NAN }),
                    ..PolicyConfig::default()
                }
            )
            .is_err()
        );
    }
}
