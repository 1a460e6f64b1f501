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

/// What the client tells about a completion beside its text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Signals {
    /// Generation stopped at the length limit, not at an end token.
    pub truncated: bool,
    /// The completion's length in tokens; characters are counted when absent.
    pub completion_tokens: Option<u64>,
}

impl Signals {
    fn length(&self, completion: &str) -> u64 {
        self.completion_tokens
            .unwrap_or_else(|| completion.chars().count() as u64)
    }
}

/// Applies the policy's extra terms to a judged item and recomputes its reward.
pub fn apply(judgement: &mut Judgement, completion: &str, signals: &Signals, policy: &Policy) {
    let config = &policy.config;
    let mut success = judgement.verdict.is_success();
    if let (Some(threshold), Details::Code(details)) = (config.code_pass_threshold, &judgement.details)
        && details.total > 0
    {
        success = details.passed as f64 / details.total as f64 >= threshold;
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

/// Checks the settings of the terms above; the message names the key.
pub(super) fn validate(config: &super::PolicyConfig) -> Result<(), String> {
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
}
