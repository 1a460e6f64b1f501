//! The `verdict` command line: `serve` runs the reward service, `check` grades a file offline,
//! `probe` runs the reward-hacking battery against an answer key, and `migrate`, `db stats`, `prune` and `runs keep` look after the audit store.

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
        #[arg(long, default_value = verdict::reward::DEFAULT_POLICY)]
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
enum KeysCommand {
    /// Read a key from standard input (one line) and print the `sha256 = "…"` line to paste
    /// into its `[[api_keys]]` table; the key itself is never stored.
    Hash,
}

#[derive(Subcommand)]
enum DatasetsCommand {
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

fn datasets(command: DatasetsCommand) -> anyhow::Result<()> {
    match command {
        DatasetsCommand::Import {
            file,
            name,
            shape,
            server,
        } => {
            let shape = shape
                .map(|s| {
                    verdict::dataset::Shape::from_name(&s).with_context(|| format!("unknown shape `{s}`"))
                })
                .transpose()?;
            let text =
                std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let dataset = verdict::api::parse_dataset(&name, &text, shape)
                .map_err(|e| anyhow::anyhow!("{}: {}", e.field.unwrap_or_default(), e.message))?;
            with_store(&server, |store, _| async move {
                let version = verdict::store::DatasetVersion {
                    name: dataset.name.clone(),
                    version: dataset.version.clone(),
                    shape: dataset.shape.as_str().to_owned(),
                    entries: dataset.entries.len() as u64,
                    created_at: verdict::store::now_ms(),
                };
                let registered = store.insert_dataset(&version, &dataset.entries).await?;
                let how = match registered {
                    verdict::store::Registered::Created => "registered",
                    verdict::store::Registered::Existing => "already registered",
                };
                println!(
                    "{how} {}@{} ({} entries, shape {}); name entries as `{}@{}:ID`",
                    version.name,
                    version.version,
                    version.entries,
                    version.shape,
                    version.name,
                    version.version
                );
                Ok(())
            })
        }
        DatasetsCommand::List(server) => with_store(&server, |store, _| async move {
            for v in store.dataset_versions(None).await? {
                println!("{}@{}\t{} entries\t{}", v.name, v.version, v.entries, v.shape);
            }
            Ok(())
        }),
    }
}

/// What `verdict probe` reads: a registered dataset (version) or an answer-key file.
struct ProbeSource {
    dataset: Option<String>,
    version: Option<String>,
    answers: Option<PathBuf>,
    shape: Option<String>,
}

fn probe(source: ProbeSource, policy_name: &str, server: &ServerArgs) -> anyhow::Result<()> {
    let config = Config::load(server).context("invalid configuration")?;
    let policy = config
        .policies
        .get(policy_name)
        .with_context(|| format!("unknown policy `{policy_name}`"))?;
    let (label, entries) = match (&source.answers, &source.dataset.clone()) {
        (Some(file), _) => {
            let shape = source
                .shape
                .as_deref()
                .map(|s| {
                    verdict::dataset::Shape::from_name(s).with_context(|| format!("unknown shape `{s}`"))
                })
                .transpose()?;
            let text =
                std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
            let dataset = verdict::api::parse_dataset("answers", &text, shape)
                .map_err(|e| anyhow::anyhow!("{}: {}", e.field.unwrap_or_default(), e.message))?;
            (file.display().to_string(), dataset.entries)
        }
        (None, Some(name)) => with_store(server, |store, _| async move {
            let version = match source.version {
                Some(version) => version,
                None => store
                    .dataset_versions(Some(name))
                    .await?
                    .first()
                    .map(|v| v.version.clone())
                    .with_context(|| format!("no dataset `{name}`"))?,
            };
            let entries = store.dataset_entries(name, &version).await?;
            anyhow::ensure!(!entries.is_empty(), "no dataset version `{name}@{version}`");
            Ok((format!("{name}@{version}"), entries))
        })?,
        (None, None) => anyhow::bail!("name a `--dataset` or an `--answers` file"),
    };
    let (golds, skipped) = verdict::api::math_golds(&entries);
    let report = verdict::reward::probe::probe(&golds, &policy);
    println!(
        "probed {label}: {} math golds ({} distinct, {skipped} other entries skipped), {} pairs judged under `{policy_name}`",
        report.golds, report.distinct_golds, report.pairs
    );
    for hit in &report.hits {
        println!(
            "FLAGGED {}: gold {:?} is satisfied by {:?} ({}, method {})",
            hit.ids.join(","),
            hit.gold,
            hit.answer,
            serde_json::to_value(hit.family)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            hit.method.unwrap_or("-")
        );
    }
    for invalid in &report.invalid_golds {
        println!(
            "INVALID {}: gold {:?} cannot be judged: {}",
            invalid.ids.join(","),
            invalid.gold,
            invalid.message
        );
    }
    let flagged = report.flagged_golds();
    if flagged == 0 {
        println!("clean: no gold rewards a degenerate answer");
        Ok(())
    } else {
        println!(
            "{flagged} of {} distinct golds reward a degenerate answer",
            report.distinct_golds
        );
        anyhow::bail!("{flagged} golds reward a degenerate answer")
    }
}

/// Where `eval-report` writes its chart; unset paths default to `eval-RUN.{svg,png}`.
struct ChartPaths {
    svg: Option<PathBuf>,
    png: Option<PathBuf>,
}

fn eval_report(run_id: &str, k: &str, charts: ChartPaths, server: &ServerArgs) -> anyhow::Result<()> {
    let ks = verdict::api::parse_ks(k).map_err(|e| anyhow::anyhow!("--k: {}", e.message))?;
    with_store(server, |store, _| async move {
        let problems = verdict::eval::load::problems(&store, run_id).await?;
        anyhow::ensure!(!problems.is_empty(), "no submissions for run `{run_id}`");
        let report = verdict::eval::load::run_metrics(run_id, &problems, &ks);
        print!("{}", verdict::eval::report::table(&report));
        let svg = charts
            .svg
            .unwrap_or_else(|| PathBuf::from(format!("eval-{run_id}.svg")));
        std::fs::write(&svg, verdict::eval::report::svg(&report))
            .with_context(|| format!("cannot write {}", svg.display()))?;
        let png = charts
            .png
            .unwrap_or_else(|| PathBuf::from(format!("eval-{run_id}.png")));
        let image = verdict::eval::raster::png(&report).context("cannot encode the PNG chart")?;
        std::fs::write(&png, image).with_context(|| format!("cannot write {}", png.display()))?;
        println!("chart written to {} and {}", svg.display(), png.display());
        Ok(())
    })
}

fn reverify(run_id: &str, server: &ServerArgs) -> anyhow::Result<()> {
    with_store(server, |store, config| async move {
        let spool = config.data_dir.join("spool");
        let recorder = verdict::store::Recorder::open(store, &spool, config.store_timeout)?;
        let state = verdict::api::AppState::new(config, recorder);
        let report = verdict::api::reverify_run(&state, run_id, |job| {
            eprint!(
                "\r{}/{} re-checked, {} changed",
                job.processed, job.total, job.changed
            );
        })
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
        eprintln!();
        println!(
            "job {}: {} re-checked, {} verdicts changed ({} to failure, {} to success), {} rewards drifted",
            report.job.job_id,
            report.job.processed,
            report.job.changed,
            report.flips_to_failure,
            report.flips_to_success,
            report.job.drifted
        );
        for t in &report.transitions {
            println!("  {} -> {}: {}", t.old_verdict, t.new_verdict, t.count);
        }
        for example in &report.examples {
            println!(
                "  e.g. {} ({}): {} -> {}",
                example.submission_id,
                example.item_id.as_deref().unwrap_or("-"),
                example.old_verdict,
                example.new_verdict
            );
        }
        state.jobs.stop();
        Ok(())
    })
}

/// Runs `work` with the configured store, migrated, on a small runtime.
fn with_store<F, Fut, T>(args: &ServerArgs, work: F) -> anyhow::Result<T>
where
    F: FnOnce(Store, Config) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
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
