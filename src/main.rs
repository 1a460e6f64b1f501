//! The `verdict` command line: `serve` runs the reward service, `check` grades a file offline.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use verdict::config::{Config, ServerArgs};
use verdict::{App, check, telemetry};

#[derive(Parser)]
#[command(
    name = "verdict",
    version,
    about = "Rule-based rewards for RL of reasoning models"
)]
struct Cli {
    /// Log as JSON lines instead of text.
    #[arg(long, global = true, env = "VERDICT_LOG_JSON")]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP reward service.
    Serve(ServerArgs),
    /// Grade a JSONL file of reward items offline and print a summary.
    Check {
        /// Items in the shape of `/v1/rewards` items, one JSON object per line.
        #[arg(long)]
        input: PathBuf,
        /// Reward policy to apply.
        #[arg(long, default_value = verdict::reward::DEFAULT_POLICY)]
        policy: String,
        /// Write one JSON result per input line here.
        #[arg(long)]
        output: Option<PathBuf>,
        /// Config file defining extra policies.
        #[arg(long, env = "VERDICT_CONFIG")]
        config: Option<PathBuf>,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    telemetry::init_tracing(cli.log_json);
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Check {
            input,
            policy,
            output,
            config,
        } => {
            let config = Config::load(&ServerArgs {
                config,
                ..ServerArgs::default()
            })?;
            let policy = config
                .policies
                .get(&policy)
                .with_context(|| format!("unknown policy `{policy}`"))?;
            let summary = check::run(&input, &policy, output.as_deref())?;
            print!("{}", summary.render());
            Ok(())
        }
    }
}

fn serve(args: ServerArgs) -> anyhow::Result<()> {
    let config = Config::load(&args).context("invalid configuration")?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let app = App::build(config).await?;
        app.run_until_stopped().await.context("server failed")
    })
}
