//! Reward policies: how the format and accuracy checks combine into one number.
//!
//! A policy is data, loaded once from the config file (or the built-in `r1`), so a training
//! run names the rule it was rewarded by and an auditor can read it back.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::shaping::{CodeEfficiency, CosineLength, FormatMode, GroupLength, Overlong};
use crate::math::MathOptions;

/// The name of the built-in policy that reproduces DeepSeek-R1's rule.
pub const DEFAULT_POLICY: &str = "r1";

/// A policy as written in `verdict.toml` under `[policies.NAME]`; every key is optional.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    /// Weight of the accuracy reward (1 when the answer is correct).
    pub accuracy_weight: f64,
    /// Weight of the format reward (1 when the completion is `<think>…</think>` + an answer).
    pub format_weight: f64,
    /// Whether the chat template already opened `<think>` in the prompt, so the completion
    /// must only close it. Unset (the default): read from the item's prompt, which opened it
    /// when it ends with `<think>` (DeepSeek-R1-Distill, QwQ); `true` or `false` forces it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub think_opened_in_prompt: Option<bool>,
    /// Accept "the final answer is 12", "#### 12" and "Answer: 12" when nothing is boxed.
    pub text_fallbacks: bool,
    /// Treat `50\%` as equal to the bare number `50`.
    pub percent_matches_number: bool,
    /// Subtracted from the reward when the answer part boxes several different answers
    /// (a hedge); 0 disables the check.
    pub multiple_answers_penalty: f64,
    /// For code: accuracy is the fraction of tests passed instead of 1 only when all pass.
    pub code_partial_credit: bool,
    // The terms below are left out of the settings' JSON while unset, so that policies using
    // none of them keep the version hash they had before these terms existed.
    /// `additive` (default) or `gate`: accuracy counts only when the format holds.
    #[serde(skip_serializing_if = "FormatMode::is_additive")]
    pub format_mode: FormatMode,
    /// Subtracted when the client marks a completion `truncated`; 0 disables.
    #[serde(skip_serializing_if = "is_zero")]
    pub truncated_penalty: f64,
    /// For code: accuracy is 1 when at least this share of the tests pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_pass_threshold: Option<f64>,
    /// Cosine length scaling of the accuracy term.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cosine_length: Option<CosineLength>,
    /// DAPO's overlong penalty term.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overlong: Option<Overlong>,
    /// Kimi k1.5's length term, relative to the item's `group`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_length: Option<GroupLength>,
    /// For code: the deterministic efficiency term, from the fuel the tests burnt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_efficiency: Option<CodeEfficiency>,
}

fn is_zero(value: &f64) -> bool {
    *value == 0.0
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self {
            accuracy_weight: 1.0,
            format_weight: 1.0,
            think_opened_in_prompt: None,
            text_fallbacks: false,
            percent_matches_number: false,
            multiple_answers_penalty: 0.0,
            code_partial_credit: false,
            format_mode: FormatMode::Additive,
            truncated_penalty: 0.0,
            code_pass_threshold: None,
            cosine_length: None,
            overlong: None,
            group_length: None,
            code_efficiency: None,
        }
    }
}

/// A validated, named policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub name: String,
    pub config: PolicyConfig,
    pub math: MathOptions,
}

/// Why a policy in the config file was refused.
#[derive(Debug, thiserror::Error)]
#[error("policy `{name}`: {problem}")]
pub struct PolicyError {
    pub name: String,
    pub problem: String,
}

impl Policy {
    pub fn new(name: &str, config: PolicyConfig) -> Result<Self, PolicyError> {
        let refuse = |problem: String| PolicyError {
            name: name.to_owned(),
            problem,
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(refuse("names use letters, digits, `-`, `_` and `.` only".into()));
        }
        for (key, value) in [
            ("accuracy_weight", config.accuracy_weight),
            ("format_weight", config.format_weight),
            ("multiple_answers_penalty", config.multiple_answers_penalty),
        ] {
            if !value.is_finite() || value < 0.0 {
                return Err(refuse(format!("{key} must be a finite number ≥ 0, got {value}")));
            }
        }
        super::shaping::validate(&config).map_err(refuse)?;
        let math = MathOptions {
            percent_matches_number: config.percent_matches_number,
            text_fallbacks: config.text_fallbacks,
        };
        Ok(Self {
            name: name.to_owned(),
            config,
            math,
        })
    }

    /// Whether the completion starts inside a `<think>` block its prompt opened: the policy's
    /// setting when it has one, else what the prompt itself shows.
    pub fn think_opened(&self, prompt: Option<&str>) -> bool {
        self.config
            .think_opened_in_prompt
            .unwrap_or_else(|| prompt.is_some_and(crate::completion::prompt_opens_think))
    }

    /// `name@hash`: the name and a short stable hash of the settings, stored with every
    /// submission so an auditor can tell two different policies of the same name apart.
    /// FNV-1a over the settings' JSON (fields in declaration order): stable across builds
    /// and platforms, unlike `std`'s hasher.
    pub fn version(&self) -> String {
        let settings = serde_json::to_string(&self.config).unwrap_or_default();
        let hash = settings.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        format!("{}@{:012x}", self.name, hash >> 16)
    }
}

/// Every policy the server knows, by name; always contains [`DEFAULT_POLICY`].
#[derive(Debug, Clone)]
pub struct PolicySet {
    by_name: BTreeMap<String, Arc<Policy>>,
}

impl PolicySet {
    /// The built-in `r1` plus the configured policies; a configured `r1` replaces the
    /// built-in one.
    pub fn new(configured: &BTreeMap<String, PolicyConfig>) -> Result<Self, PolicyError> {
        let mut by_name = BTreeMap::new();
        let builtin = Policy::new(DEFAULT_POLICY, PolicyConfig::default())?;
        by_name.insert(DEFAULT_POLICY.to_owned(), Arc::new(builtin));
        for (name, config) in configured {
            by_name.insert(name.clone(), Arc::new(Policy::new(name, config.clone())?));
        }
        Ok(Self { by_name })
    }

    pub fn get(&self, name: &str) -> Option<Arc<Policy>> {
        self.by_name.get(name).cloned()
    }

    /// Whether a policy scores with fuel, so the sandbox must count it.
    pub fn needs_fuel(&self) -> bool {
        self.by_name
            .values()
            .any(|policy| policy.config.code_efficiency.is_some())
    }

    pub fn default_policy(&self) -> Arc<Policy> {
        self.by_name[DEFAULT_POLICY].clone()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r1_is_always_present_with_unit_weights() {
        let set = PolicySet::new(&BTreeMap::new()).unwrap();
        let r1 = set.default_policy();
        assert_eq!(r1.config.accuracy_weight, 1.0);
        assert_eq!(r1.config.format_weight, 1.0);
        assert!(!r1.math.text_fallbacks);
    }

    #[test]
    fn configured_policies_are_added_and_may_replace_r1() {
        let mut configured = BTreeMap::new();
        configured.insert(
            "r1".to_owned(),
            PolicyConfig {
                format_weight: 0.5,
                ..PolicyConfig::default()
            },
        );
        configured.insert(
            "lenient".to_owned(),
            PolicyConfig {
                text_fallbacks: true,
                ..PolicyConfig::default()
            },
        );
        let set = PolicySet::new(&configured).unwrap();
        assert_eq!(set.default_policy().config.format_weight, 0.5);
        assert!(set.get("lenient").unwrap().math.text_fallbacks);
        assert!(set.get("missing").is_none());
    }

    #[test]
    fn the_version_names_the_policy_and_changes_with_its_settings() {
        let r1 = Policy::new("r1", PolicyConfig::default()).unwrap();
        let again = Policy::new("r1", PolicyConfig::default()).unwrap();
        let other = Policy::new(
            "r1",
            PolicyConfig {
                format_weight: 0.5,
                ..PolicyConfig::default()
            },
        )
        .unwrap();
        assert!(r1.version().starts_with("r1@"), "{}", r1.version());
        assert_eq!(r1.version().len(), "r1@".len() + 12);
        assert_eq!(r1.version(), again.version());
        assert_ne!(r1.version(), other.version());
    }

    #[test]
    fn negative_or_non_finite_weights_are_refused() {
        let bad = PolicyConfig {
            accuracy_weight: -1.0,
            ..PolicyConfig::default()
        };
        let err = Policy::new("x", bad).unwrap_err();
        assert!(err.to_string().contains("accuracy_weight"), "{err}");
        let nan = PolicyConfig {
            multiple_answers_penalty: f64::NAN,
            ..PolicyConfig::default()
        };
        assert!(Policy::new("x", nan).is_err());
        assert!(Policy::new("bad name", PolicyConfig::default()).is_err());
    }
}
