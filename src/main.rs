//! The `verdict` command line: `serve` runs the reward service, `check` grades a file offline,
//! and `migrate`, `db stats`, `prune` and `runs keep` look after the audit store.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use verdict::config::{Config, ServerArgs};
use verdict::store::{Store, spool::Spool};
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
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Read a key from standard input (one line) and print the `sha256 = "…"` line to paste
    /// into its `[[api_keys]]` table; the key itself is never stored.
    Hash,
}

#[derive(Subcommand)]
enum ImagesCommand {
    /// Fetch every image of `sandbox-images/manifest.toml`, verify its checksums and compile
    /// it, so the server's first code item does not wait (`serve` does this on first use).
    Pull(ServerArgs),
}

#[derive(Subcommand)]
enum DbCommand {
    /// Row counts, time span and spool backlog.
    Stats(ServerArgs),
}

#[derive(Subcommand)]
enum RunsCommand {
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
            verdict::code::Sandbox::new(
                &verdict::code::SandboxConfig::new(&config.sandbox_dir),
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
            println!("sha256 = \"{}\"", verdict::auth::hash_key(key));
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

/// Runs `work` with the configured store, migrated, on a small runtime.
fn with_store<F, Fut>(args: &ServerArgs, work: F) -> anyhow::Result<()>
where
    F: FnOnce(Store, Config) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let config = Config::load(args).context("invalid configuration")?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let store = Store::connect(&config.database_url, config.store_timeout)
            .await
            .with_context(|| format!("cannot open the database at {}", config.database_url))?;
        store.migrate().await?;
        work(store, config).await
    })
}

/// `30d`, `12h`, `90m`, `3600s` into a duration.
fn parse_age(text: &str) -> Result<Duration, String> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("expected a number and a unit such as 30d, got `{text}`"))?;
    let seconds = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        "s" => 1,
        _ => return Err(format!("unknown unit `{unit}`; use d, h, m or s")),
    };
    number
        .checked_mul(seconds)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("`{text}` is too long"))
}

fn serve(args: ServerArgs) -> anyhow::Result<()> {
    let config = Config::load(&args).context("invalid configuration")?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let app = App::build(config).await?;
        app.run_until_stopped().await.context("server failed")
    })
}
