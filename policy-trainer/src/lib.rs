//! policy-trainer: GRPO for small Llama/Qwen2-family models in candle, with verdict's
//! `/v1/rewards` as the reward oracle.

/// `policy-trainer bench`: a generation and a training update timed on fixed shapes.
pub mod bench;
/// The TOML `TrainConfig` and its validation.
pub mod config;
/// Training and held-out examples: the toy task, generated arithmetic, JSONL files.
pub mod data;
/// Downloading and checking a known model.
pub mod fetch;
/// Sampling a group of completions from one prompt, and the chat template.
pub mod generate;
/// The GRPO maths: advantages, the clipped objective, KL, loss aggregations.
pub mod grpo;
/// Reading HF folders and GGUF files into trainable parameters.
pub mod loader;
/// The decoder: a differentiable training path and a KV-cached sampling path.
pub mod model;
/// The fused AdamW with warm-up and clipping, behind `candle_nn::Optimizer`.
pub mod optim;
/// The reward curve PNG drawn from `metrics.jsonl`.
pub mod plot;
/// The `/v1/rewards` client.
pub mod reward;
/// The GRPO loop: rollout, update, metrics, evaluation, checkpoints.
pub mod train;
