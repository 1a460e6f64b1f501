//! The trainer's TOML configuration. Every option of the loop lives here; the CLI overrides a
//! few (`--steps`, `--out`, `--verdict-url`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::grpo::{LossType, ScaleRewards};
use crate::model::ModelConfig;
use crate::optim::AdamWConfig;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    #[serde(default)]
    pub seed: u64,
    /// Compute threads (0: candle's default, all cores).
    #[serde(default)]
    pub threads: usize,
    pub model: ModelSection,
    pub data: DataSection,
    pub grpo: GrpoSection,
    pub optim: AdamWConfig,
    #[serde(default)]
    pub reward: RewardSection,
    #[serde(default)]
    pub eval: EvalSection,
    #[serde(default)]
    pub output: OutputSection,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelSource {
    /// Random initialisation with the toy word-level tokenizer.
    Random,
    /// An HF folder: config.json, *.safetensors, tokenizer.json.
    Hf,
    /// A GGUF file, dequantised to f32.
    Gguf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Template {
    /// The prompt as is.
    Plain,
    /// `<|im_start|>role\n…<|im_end|>` turns, ending with an open assistant turn.
    Chatml,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    pub source: ModelSource,
    /// Folder (hf) or file (gguf); relative paths are resolved against the config file.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// The architecture of a random model.
    #[serde(default)]
    pub arch: Option<ModelConfig>,
    #[serde(default = "d_template")]
    pub template: Template,
    #[serde(default)]
    pub system: Option<String>,
}
fn d_template() -> Template {
    Template::Plain
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataKind {
    /// `q <digit>` prompts whose answer is always 7, over the toy vocabulary.
    Toy,
    /// Generated arithmetic word problems.
    Arithmetic,
    /// A JSONL file: `prompt` (or `question`) plus `answer` (math) or `task` (any verdict task).
    Jsonl,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    pub kind: DataKind,
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Appended to every math prompt.
    #[serde(default)]
    pub instruction: Option<String>,
    /// Which generated arithmetic problems (`kind = "arithmetic"` only).
    #[serde(default)]
    pub level: ArithmeticLevel,
}

/// How hard the generated arithmetic problems are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArithmeticLevel {
    /// Addition, subtraction and multiplication word problems, operands up to 80.
    #[default]
    Mixed,
    /// Addition word problems with both operands from 1 to 20: a first rung for a model too
    /// weak to ever answer a mixed problem right, which would leave GRPO without a signal.
    SmallSums,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrpoSection {
    pub steps: usize,
    pub prompts_per_step: usize,
    pub group_size: usize,
    pub max_new_tokens: usize,
    #[serde(default = "d_one")]
    pub temperature: f64,
    #[serde(default = "d_one")]
    pub top_p: f64,
    #[serde(default)]
    pub top_k: usize,
    /// Inner optimisation passes over the same samples (μ).
    #[serde(default = "d_mu")]
    pub mu: usize,
    #[serde(default = "d_epsilon")]
    pub epsilon: f64,
    /// Upper clip (DAPO's clip-higher); defaults to `epsilon`.
    #[serde(default)]
    pub epsilon_high: Option<f64>,
    #[serde(default)]
    pub beta: f64,
    #[serde(default = "d_loss")]
    pub loss_type: LossType,
    #[serde(default = "d_scale")]
    pub scale_rewards: ScaleRewards,
    #[serde(default)]
    pub mask_truncated_completions: bool,
    #[serde(default)]
    pub filter_zero_std_groups: bool,
    /// Soft overlong penalty window in tokens (0: off).
    #[serde(default)]
    pub overlong_cache: usize,
    #[serde(default = "d_one")]
    pub overlong_factor: f64,
}
fn d_one() -> f64 {
    1.0
}
fn d_mu() -> usize {
    1
}
fn d_epsilon() -> f64 {
    0.2
}
fn d_loss() -> LossType {
    LossType::Dapo
}
fn d_scale() -> ScaleRewards {
    ScaleRewards::Group
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewardSection {
    #[serde(default = "d_policy")]
    pub policy: String,
    #[serde(default)]
    pub run_id: Option<String>,
    #[serde(default = "d_timeout")]
    pub timeout_s: u64,
    #[serde(default = "d_batch")]
    pub batch_size: usize,
}
impl Default for RewardSection {
    fn default() -> Self {
        Self {
            policy: d_policy(),
            run_id: None,
            timeout_s: d_timeout(),
            batch_size: d_batch(),
        }
    }
}
fn d_policy() -> String {
    "r1".into()
}
fn d_timeout() -> u64 {
    60
}
fn d_batch() -> usize {
    64
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalSection {
    /// Held-out prompts to evaluate (greedy, one sample each).
    #[serde(default = "d_eval_size")]
    pub size: usize,
    /// Evaluate every N steps (0: only before and after training).
    #[serde(default)]
    pub every: usize,
    #[serde(default)]
    pub max_new_tokens: Option<usize>,
    /// Evaluate on a JSONL file (e.g. gsm8k) instead of the training source's held-out split.
    #[serde(default)]
    pub path: Option<PathBuf>,
}
impl Default for EvalSection {
    fn default() -> Self {
        Self {
            size: d_eval_size(),
            every: 0,
            max_new_tokens: None,
            path: None,
        }
    }
}
fn d_eval_size() -> usize {
    50
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSection {
    #[serde(default = "d_ckpt")]
    pub checkpoint_every: usize,
}
impl Default for OutputSection {
    fn default() -> Self {
        Self {
            checkpoint_every: d_ckpt(),
        }
    }
}
fn d_ckpt() -> usize {
    10
}

impl TrainConfig {
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let mut cfg: Self = toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        for p in [&mut cfg.model.path, &mut cfg.data.path, &mut cfg.eval.path]
            .into_iter()
            .flatten()
        {
            if p.is_relative() && !p.exists() {
                *p = base.join(&*p);
            }
        }
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<()> {
        let g = &self.grpo;
        if g.group_size < 2 {
            bail!("grpo.group_size must be at least 2 (advantages are relative to the group)");
        }
        if g.prompts_per_step == 0 || g.max_new_tokens == 0 || g.mu == 0 {
            bail!("grpo.prompts_per_step, grpo.max_new_tokens and grpo.mu must be positive");
        }
        if g.temperature.is_nan()
            || g.temperature <= 0.0
            || g.top_p.is_nan()
            || g.top_p <= 0.0
            || g.top_p > 1.0
        {
            bail!("grpo.temperature must be > 0 and grpo.top_p in (0, 1]");
        }
        match self.model.source {
            ModelSource::Random if self.model.arch.is_none() => {
                bail!("model.arch is required when model.source = \"random\"")
            }
            ModelSource::Hf | ModelSource::Gguf if self.model.path.is_none() => {
                bail!("model.path is required for hf and gguf models")
            }
            _ => {}
        }
        if self.data.kind == DataKind::Jsonl && self.data.path.is_none() {
            bail!("data.path is required when data.kind = \"jsonl\"");
        }
        Ok(())
    }

    pub fn epsilon_high(&self) -> f64 {
        self.grpo.epsilon_high.unwrap_or(self.grpo.epsilon)
    }
}
