//! `verdict check`: grade a JSONL file of reward items offline, with the same parsing and
//! judging code as `POST /v1/rewards`, and summarise the verdicts.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use crate::code::{Sandbox, SandboxConfig};
use crate::grading::guarded;
use crate::reward::ItemErrorCode;
use crate::reward::{self, ItemError, Judgement, Policy, RewardItem};
use crate::wire::parse_item;

/// The tally of a graded file.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Summary {
    pub items: usize,
    pub errors: usize,
    pub by_verdict: BTreeMap<&'static str, usize>,
    pub by_error: BTreeMap<&'static str, usize>,
    pub reward_sum: f64,
    pub correct: usize,
    pub format_ok: usize,
    pub elapsed: Duration,
}

impl Summary {
    fn add(&mut self, result: &Result<Judgement, ItemError>) {
        self.items += 1;
        match result {
            Ok(judgement) => {
                *self.by_verdict.entry(judgement.verdict.as_str()).or_default() += 1;
                self.reward_sum += judgement.reward;
                self.correct += usize::from(judgement.verdict == reward::Verdict::Correct);
                self.format_ok += usize::from(judgement.format_ok);
            }
            Err(error) => {
                self.errors += 1;
                *self.by_error.entry(error.code.as_str()).or_default() += 1;
            }
        }
    }

    fn judged(&self) -> usize {
        self.items - self.errors
    }

    /// A plain-text table for the terminal.
    pub fn render(&self) -> String {
        let judged = self.judged().max(1) as f64;
        let mut out = String::new();
        let _ = writeln!(out, "{:<22}{:>10}", "items", self.items);
        let _ = writeln!(out, "{:<22}{:>10}", "judged", self.judged());
        for (verdict, count) in &self.by_verdict {
            let _ = writeln!(
                out,
                "  {verdict:<20}{count:>10}{:>9.1}%",
                *count as f64 * 100.0 / judged
            );
        }
        let _ = writeln!(out, "{:<22}{:>10}", "errors (not scored)", self.errors);
        for (code, count) in &self.by_error {
            let _ = writeln!(out, "  {code:<20}{count:>10}");
        }
        let _ = writeln!(out, "{:<22}{:>10.4}", "mean reward", self.reward_sum / judged);
        let _ = writeln!(
            out,
            "{:<22}{:>9.1}%",
            "accuracy",
            self.correct as f64 * 100.0 / judged
        );
        let _ = writeln!(
            out,
            "{:<22}{:>9.1}%",
            "format ok",
            self.format_ok as f64 * 100.0 / judged
        );
        let seconds = self.elapsed.as_secs_f64();
        let _ = writeln!(out, "{:<22}{:>10.3} s", "time", seconds);
        if seconds > 0.0 {
            let _ = writeln!(out, "{:<22}{:>10.0}", "items/s", self.items as f64 / seconds);
        }
        out
    }
}

/// Grades every line of `input` under `policy`; writes one JSON result per line to `output`
/// when given. Lines that are not valid items are counted as errors, never dropped.
/// Code items run in the sandbox whose images live in `sandbox_dir` (built on the first code
/// item, as the server does).
pub fn run(
    input: &Path,
    policy: &Policy,
    output: Option<&Path>,
    sandbox_dir: &Path,
) -> anyhow::Result<Summary> {
    let file = std::fs::File::open(input).with_context(|| format!("cannot open {}", input.display()))?;
    let lines: Vec<String> = std::io::BufReader::new(file)
        .lines()
        .collect::<Result<_, _>>()
        .with_context(|| format!("cannot read {}", input.display()))?;
    let lines: Vec<(usize, &str)> = lines
        .iter()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(number, line)| (number + 1, line.as_str()))
        .collect();

    let progress = ProgressBar::new(lines.len() as u64).with_style(
        ProgressStyle::with_template("{spinner} {pos}/{len} items [{elapsed_precise}] {wide_bar} {per_sec}")
            .expect("valid template"),
    );
    let started = Instant::now();
    let graded = grade_in_parallel(&lines, policy, &progress);
    let results = judge_code_items(graded, policy, sandbox_dir, &progress)?;
    progress.finish_and_clear();

    let mut summary = Summary::default();
    let mut writer = match output {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => None,
    };
    for ((line_number, _), (id, result)) in lines.iter().zip(&results) {
        summary.add(result);
        if let Some(writer) = writer.as_mut() {
            let record = match result {
                Ok(judgement) => json!({ "line": line_number, "id": id, "result": judgement }),
                Err(error) => json!({ "line": line_number, "id": id, "error": error }),
            };
            serde_json::to_writer(&mut *writer, &record)?;
            writer.write_all(b"\n")?;
        }
    }
    if let Some(mut writer) = writer {
        writer.flush()?;
    }
    summary.elapsed = started.elapsed();
    Ok(summary)
}

type Graded = (Option<String>, Result<Judgement, ItemError>);

/// A line after the parallel pass: judged, or a code item waiting for the sandbox.
enum Line {
    Done(Graded),
    Code(Option<String>, RewardItem),
}

/// Runs the code items in the sandbox (concurrently, bounded by its own pool), keeping order.
fn judge_code_items(
    lines: Vec<Line>,
    policy: &Policy,
    sandbox_dir: &Path,
    progress: &ProgressBar,
) -> anyhow::Result<Vec<Graded>> {
    if !lines.iter().any(|line| matches!(line, Line::Code(..))) {
        return Ok(lines
            .into_iter()
            .filter_map(|line| match line {
                Line::Done(graded) => Some(graded),
                Line::Code(..) => None,
            })
            .collect());
    }
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let sandbox = progress.suspend(|| {
        let config = SandboxConfig {
            count_fuel: policy.config.code_efficiency.is_some(),
            ..SandboxConfig::new(sandbox_dir)
        };
        Sandbox::new(&config, &mut |line| eprintln!("sandbox: {line}"))
    });
    let sandbox = sandbox.context("cannot prepare the code sandbox")?;
    let judged = runtime.block_on(futures_util::future::join_all(lines.into_iter().map(|line| {
        let sandbox = &sandbox;
        async move {
            match line {
                Line::Done(graded) => graded,
                Line::Code(id, item) => {
                    let result = match &item.task {
                        reward::Task::Code(task) => {
                            reward::judge_code_item(&item, task, policy, sandbox).await
                        }
                        reward::Task::Math { .. } => guarded(|| reward::judge(&item, policy)),
                    };
                    progress.inc(1);
                    (id, result)
                }
            }
        }
    })));
    Ok(judged)
}

/// Grades lines on every core, keeping the input order.
fn grade_in_parallel(lines: &[(usize, &str)], policy: &Policy, progress: &ProgressBar) -> Vec<Line> {
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let chunk = lines.len().div_ceil(workers).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = lines
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|(_, line)| {
                            let graded = grade_line(line, policy);
                            if matches!(graded, Line::Done(_)) {
                                progress.inc(1);
                            }
                            graded
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().expect("grading threads do not panic"))
            .collect()
    })
}

fn grade_line(line: &str, policy: &Policy) -> Line {
    let raw: Value = match serde_json::from_str(line) {
        Ok(raw) => raw,
        Err(error) => {
            return Line::Done((
                None,
                Err(ItemError::new(
                    ItemErrorCode::InvalidJson,
                    "",
                    format!("malformed JSON: {error}"),
                )),
            ));
        }
    };
    let id = raw.get("id").and_then(Value::as_str).map(str::to_owned);
    match parse_item(raw) {
        Ok(item) if matches!(item.task, reward::Task::Code(_)) => Line::Code(id, item),
        // A verifier that panics fails its item, as on the server, not the whole file.
        Ok(item) => Line::Done((id, guarded(|| reward::judge(&item, policy)))),
        Err(error) => Line::Done((id, Err(error))),
    }
}
