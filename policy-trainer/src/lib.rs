//! policy-trainer: GRPO for small Llama/Qwen2-family models in candle, with verdict's
//! `/v1/rewards` as the reward oracle.

pub mod bench;
pub mod config;
pub mod data;
pub mod fetch;
pub mod generate;
pub mod grpo;
pub mod loader;
pub mod model;
pub mod optim;
pub mod plot;
pub mod reward;
pub mod train;
