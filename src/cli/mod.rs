//! The `verdict` command line: `serve` runs the reward service, `check` grades a file offline,
//! `probe` runs the reward-hacking battery against an answer key, `reverify` and `eval-report`
//! look at a stored run, and `migrate`, `db stats`, `prune` and `runs keep` look after the
//! audit store. Each command is a function over the library; `main.rs` only parses and calls.

mod datasets;
mod runs;
mod store;

use std::path::PathBuf;
use std::time::Duration;

use self::datasets::{ProbeSource, datasets, probe};
use self::runs::{ChartPaths, eval_report, reverify};
use self::store::{parse_age, with_store};
use crate::config::{Config, ServerArgs};
use crate::store::spool::Spool;
use crate::{App, check};
use anyhow::Context;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "verdict",
    version,
    about = "Rule-based rewards for RL of reasoning models"
)]
pub struct Cli {
    /// Log as JSON lines instead of text.
    #[arg(long, global = true, env = "VERDICT_LOG_JSON")]
    pub log_json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the HTTP reward service.
    Serve(ServerArgs),
    /// Grade a JSONL file of reward items offline and print a summary.
    Check {
        /// Items in the shape of `/v1/rewards` items, one JSON object per line.
        #[arg(long)]
        input: PathBuf,
        /// Reward policy to apply.
        #[arg(long, default_value = crate::reward::DEFAULT_POLICY)]
        policy: String,
        /// Write one JSON result per input line here.
        #[arg(long)]
        output: Option<PathBuf>,
        /// Config file defining extra policies.
        #[arg(long, env = "VERDICT_CONFIG")]
        config: Option<PathBuf>,
        /// Sandbox images for code items (default: the data dir).
        #[arg(long, env = "VERDICT_SANDBOX_DIR")]
        sandbox_dir: Option<PathBuf>,
    },
    /// Apply the audit store's migrations (`serve` also does at start-up).
    Migrate(ServerArgs),
    /// Manage the sandbox's language images.
    Images {
        #[command(subcommand)]
        command: ImagesCommand,
    },
    /// Inspect the audit store.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Delete stored submissions older than a given age, except those of kept runs.
    Prune {
        /// Age such as `30d`, `12h`, `90m` or `3600s`.
        #[arg(long, value_parser = parse_age)]
        older_than: Duration,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Mark runs kept (never pruned) or release them.
    Runs {
        #[command(subcommand)]
        command: RunsCommand,
    },
    /// API keys for `[[api_keys]]` in verdict.toml.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Register answer-key datasets (see `verdict datasets import --help` for the shapes).
    Datasets {
        #[command(subcommand)]
        command: DatasetsCommand,
    },
    /// Print a run's pass@k, mean@k and majority@k, overall and by metadata, and write an
    /// SVG chart.
    EvalReport {
        run_id: String,
        /// Comma-separated values of k.
        #[arg(long, default_value = "1")]
        k: String,
        /// Where to write the chart as SVG (default `eval-RUN.svg`).
        #[arg(long)]
        svg: Option<PathBuf>,
        /// Where to write the same chart as PNG (default `eval-RUN.png`).
        #[arg(long)]
        png: Option<PathBuf>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Run the reward-hacking battery (content-free answers such as `\boxed{,}`, hedges,
    /// every small integer boxed…) against an answer key and list every gold a degenerate
    /// answer would satisfy. Exits with status 1 when one does.
    Probe {
        /// A registered dataset; its newest version unless `--version` names one.
        #[arg(long, required_unless_present = "answers", conflicts_with = "answers")]
        dataset: Option<String>,
        #[arg(long, requires = "dataset")]
        version: Option<String>,
        /// A JSONL answer key in any shape `datasets import` reads (native, math500, gsm8k).
        #[arg(long)]
        answers: Option<PathBuf>,
        /// The shape of `--answers`; detected from its first line when absent.
        #[arg(long, requires = "answers")]
        shape: Option<String>,
        /// Reward policy to judge under.
        #[arg(long, default_value = crate::reward::DEFAULT_POLICY)]
        policy: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Re-judge every stored submission of a run with today's verifier and policies and
    /// report the verdicts that flipped. Resumes the run's unfinished job if there is one.
    Reverify {
        #[arg(long = "run")]
        run_id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Read a key from standard input (one line) and print the `sha256 = "…"` line to paste
    /// into its `[[api_keys]]` table; the key itself is never stored.
    Hash,
}

#[derive(Subcommand)]
pub enum DatasetsCommand {
    /// Import a JSONL file as a dataset version. Shapes: `native` lines
    /// `{"id", "prompt", "task", "metadata"}`; `math500` (`problem`, `answer`, `subject`,
    /// `level`, `unique_id`); `gsm8k` (`question`, `answer` ending `#### N`; ids are line
    /// numbers); `humaneval` (`task_id`, `prompt`, `entry_point`, `test`). Detected from
    /// the first line unless `--shape` names one.
    Import {
        file: PathBuf,
        #[arg(long)]
        name: String,
        #[arg(long)]
        shape: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List the registered dataset versions.
    List(ServerArgs),
}

#[derive(Subcommand)]
pub enum ImagesCommand {
    /// Fetch every image of `sandbox-images/manifest.toml`, verify its checksums and compile
    /// it, so the server's first code item does not wait (`serve` does this on first use).
    Pull(ServerArgs),
}

#[derive(Subcommand)]
pub enum DbCommand {
    /// Row counts, time span and spool backlog.
    Stats(ServerArgs),
}

#[derive(Subcommand)]
pub enum RunsCommand {
    /// Retention never deletes this run's submissions.
    Keep {
        run_id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Let retention apply to this run again.
    Unkeep {
        run_id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// Runs one command to completion.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Datasets { command } => datasets(command),
        Command::EvalReport {
            run_id,
            k,
            svg,
            png,
            server,
        } => eval_report(&run_id, &k, ChartPaths { svg, png }, &server),
        Command::Reverify { run_id, server } => reverify(&run_id, &server),
        Command::Probe {
            dataset,
            version,
            answers,
            shape,
            policy,
            server,
        } => probe(
            ProbeSource {
                dataset,
                version,
                answers,
                shape,
            },
            &policy,
            &server,
        ),
        Command::Serve(args) => serve(args),
        Command::Check {
            input,
            policy,
            output,
            config,
            sandbox_dir,
        } => {
            let config = Config::load(&ServerArgs {
                config,
                sandbox_dir,
                ..ServerArgs::default()
            })?;
            let policy = config
                .policies
                .get(&policy)
                .with_context(|| format!("unknown policy `{policy}`"))?;
            let summary = check::run(&input, &policy, output.as_deref(), &config.sandbox_dir)?;
            print!("{}", summary.render());
            Ok(())
        }
        Command::Images {
            command: ImagesCommand::Pull(args),
        } => {
            let config = Config::load(&args).context("invalid configuration")?;
            let started = std::time::Instant::now();
            crate::code::Sandbox::new(
                &crate::code::SandboxConfig::new(&config.sandbox_dir),
                &mut |line| eprintln!("{line}"),
            )
            .context("cannot prepare the sandbox images")?;
            println!(
                "sandbox images ready in {} ({:.1} s)",
                config.sandbox_dir.display(),
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Migrate(args) => with_store(&args, |store, _| async move {
            store.migrate().await?;
            println!("{} database migrated", store.backend());
            Ok(())
        }),
        Command::Db {
            command: DbCommand::Stats(args),
        } => with_store(&args, |store, config| async move {
            let stats = store.stats().await?;
            let spool = Spool::open(&config.data_dir.join("spool"))?;
            let time = |t: Option<time::OffsetDateTime>| {
                t.and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
                    .unwrap_or_else(|| "-".to_owned())
            };
            println!("backend          {}", stats.backend);
            println!("submissions      {}", stats.submissions);
            println!("runs             {} ({} kept)", stats.runs, stats.kept_runs);
            println!("reverifications  {}", stats.reverifications);
            println!("oldest           {}", time(stats.oldest));
            println!("newest           {}", time(stats.newest));
            println!("spool backlog    {}", spool.backlog()?);
            Ok(())
        }),
        Command::Prune { older_than, server } => with_store(&server, |store, _| async move {
            let age = time::Duration::try_from(older_than).context("age too large")?;
            let cutoff = time::OffsetDateTime::now_utc() - age;
            let deleted = store.prune(cutoff).await?;
            let cutoff = cutoff
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_else(|_| cutoff.to_string());
            println!("deleted {deleted} submissions created before {cutoff} (kept runs untouched)");
            Ok(())
        }),
        Command::Keys {
            command: KeysCommand::Hash,
        } => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("cannot read the key from standard input")?;
            let key = line.trim_end_matches(['\n', '\r']);
            anyhow::ensure!(!key.is_empty(), "no key on standard input");
            println!("sha256 = \"{}\"", crate::auth::hash_key(key));
            Ok(())
        }
        Command::Runs { command } => {
            let (run_id, server, keep) = match command {
                RunsCommand::Keep { run_id, server } => (run_id, server, true),
                RunsCommand::Unkeep { run_id, server } => (run_id, server, false),
            };
            with_store(&server, |store, _| async move {
                store.set_keep(&run_id, keep).await?;
                println!("run `{run_id}`: keep = {keep}");
                Ok(())
            })
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
