//! The sandbox's cost per run against a host `python3 -I -S` subprocess doing the same, in one
//! run: a trivial program and a stdin-sum program (median and p99 of sequential runs), QuickJS
//! per run, and HumanEval problems per second on all cores (assert-based, canonical solutions)
//! against subprocesses running the same test programs. `cargo bench --bench sandbox`.
//!
//! The host subprocess is only a baseline for our own fixed programs; untrusted code never
//! runs outside the sandbox.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use verdict::code::compare::CompareMode;
use verdict::code::{Language, LimitMaxima, Limits, Sandbox, SandboxConfig, asserts, harness};
use verdict::reward::{
    CodeTask, CodeTests, DEFAULT_POLICY, Details, Policy, PolicyConfig, Verdict, judge_code,
};

const RUNS: usize = 60;

fn sandbox_dir() -> PathBuf {
    std::env::var_os("VERDICT_SANDBOX_DIR").map_or_else(
        || PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| ".".into())).join(".cache/verdict"),
        PathBuf::from,
    )
}

fn stats(mut times: Vec<Duration>) -> (f64, f64) {
    times.sort();
    let pick = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e3;
    (pick(0.5), pick(0.99))
}

/// The real interpreter behind `python3` (a version-manager shim on PATH would add its own
/// start-up to every baseline run).
fn host_interpreter() -> &'static str {
    static PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let output = Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .expect("python3 on PATH");
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    })
}

fn host_python(code: &str, stdin: &[u8]) -> Duration {
    let started = Instant::now();
    let mut child = Command::new(host_interpreter())
        .args(["-I", "-S", "-c", code])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 on PATH");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    started.elapsed()
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let started = Instant::now();
    let sandbox = Arc::new(
        Sandbox::new(&SandboxConfig::new(sandbox_dir()), &mut |line| {
            eprintln!("{line}")
        })
        .unwrap(),
    );
    println!("sandbox ready in {:.0} ms", started.elapsed().as_secs_f64() * 1e3);
    let limits = Limits::defaults(&LimitMaxima::default());

    let programs: [(&str, &str, &[u8]); 2] = [
        ("trivial", "print(1)", b""),
        (
            "stdin sum",
            "print(sum(map(int, input().split())))",
            b"1 2 3 4 5\n",
        ),
    ];
    for (name, code, stdin) in programs {
        let sandboxed: Vec<Duration> = (0..RUNS)
            .map(|_| {
                let t = Instant::now();
                let outcome = runtime
                    .block_on(sandbox.run(Language::Python, code, stdin, &limits))
                    .unwrap();
                assert_eq!(outcome.status, verdict::code::RunStatus::Ok);
                t.elapsed()
            })
            .collect();
        let host: Vec<Duration> = (0..RUNS).map(|_| host_python(code, stdin)).collect();
        let (s50, s99) = stats(sandboxed);
        let (h50, h99) = stats(host);
        println!(
            "python {name:<10} sandbox p50 {s50:.1} ms p99 {s99:.1} ms | host python3 -I -S p50 {h50:.1} ms p99 {h99:.1} ms | ratio p50 {:.2}",
            s50 / h50
        );
    }
    // The time scale: CPU-bound Python in the sandbox against the same loop natively, so that
    // per-task time limits can be set from native timings.
    let busy = "s = 0\nfor i in range(3 * 10**6):\n    s += i * i\nprint(s)";
    let slow = Limits::new(Some(60_000), None, None, &LimitMaxima::default()).unwrap();
    let sandboxed: Vec<Duration> = (0..5)
        .map(|_| {
            let t = Instant::now();
            let outcome = runtime
                .block_on(sandbox.run(Language::Python, busy, b"", &slow))
                .unwrap();
            assert_eq!(outcome.status, verdict::code::RunStatus::Ok);
            t.elapsed()
        })
        .collect();
    let host: Vec<Duration> = (0..5).map(|_| host_python(busy, b"")).collect();
    let (s50, _) = stats(sandboxed);
    let (h50, _) = stats(host);
    println!(
        "python CPU-bound loop (3e6 iterations) sandbox p50 {s50:.0} ms | host p50 {h50:.0} ms | time scale {:.2}",
        s50 / h50
    );
    // What counting fuel costs: the same loop on an engine that counts it.
    let counting = Arc::new(
        Sandbox::new(
            &SandboxConfig {
                count_fuel: true,
                ..SandboxConfig::new(sandbox_dir())
            },
            &mut |line| eprintln!("{line}"),
        )
        .unwrap(),
    );
    let with_fuel: Vec<Duration> = (0..5)
        .map(|_| {
            let t = Instant::now();
            let outcome = runtime
                .block_on(counting.run(Language::Python, busy, b"", &slow))
                .unwrap();
            assert!(outcome.fuel.is_some());
            t.elapsed()
        })
        .collect();
    let (f50, _) = stats(with_fuel);
    println!(
        "python CPU-bound loop with fuel counting p50 {f50:.0} ms | fuel counting costs {:+.1}%",
        (f50 / s50 - 1.0) * 100.0
    );

    let js: Vec<Duration> = (0..RUNS * 4)
        .map(|_| {
            let t = Instant::now();
            runtime
                .block_on(sandbox.run(Language::JavaScript, "console.log(1)", b"", &limits))
                .unwrap();
            t.elapsed()
        })
        .collect();
    let (j50, j99) = stats(js);
    println!("javascript trivial  sandbox p50 {j50:.2} ms p99 {j99:.2} ms");

    // HumanEval: every canonical solution, assert-based, on all cores.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/code/HumanEval.jsonl");
    let problems: Vec<Value> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Each problem two ways: as the service judges it (`judge_code`: the host reads the assert
    // lines it can and runs the rest in the judge, docs/code-semantics.md), and always in the
    // judge (decision record 006), so the two costs come from one run.
    struct Problem {
        judge: String,
        test: String,
        solution_program: String,
        solution: String,
        task: CodeTask,
        completion: String,
        /// The unconfined baseline: solution, test and `check(entry_point)` in one process.
        host_program: String,
    }
    let generous = Limits::new(Some(20_000), None, None, &LimitMaxima::default()).unwrap();
    let programs: Vec<Problem> = problems
        .iter()
        .map(|p| {
            let solution = format!(
                "{}{}",
                p["prompt"].as_str().unwrap(),
                p["canonical_solution"].as_str().unwrap()
            );
            let (test, entry_point) = (p["test"].as_str().unwrap(), p["entry_point"].as_str().unwrap());
            Problem {
                judge: harness::judge_program(Language::Python, test, entry_point),
                test: test.to_owned(),
                solution_program: harness::solution_program(Language::Python, &solution),
                host_program: format!("{solution}\n{test}\ncheck({entry_point})\n"),
                task: CodeTask {
                    language: Language::Python,
                    tests: CodeTests::Assert {
                        entry_point: entry_point.to_owned(),
                        test_code: test.to_owned(),
                    },
                    limits: generous,
                    compare: CompareMode::default(),
                    stop_on_first_failure: false,
                },
                completion: format!("<think>t</think>\n```python\n{solution}\n```\n"),
                solution,
            }
        })
        .collect();
    let read_on_host = programs
        .iter()
        .filter(|p| asserts::read_checks(&p.test).is_some())
        .count();
    let policy = Policy::new(DEFAULT_POLICY, PolicyConfig::default()).unwrap();
    let as_served = |sandbox: &Arc<Sandbox>| {
        let started = Instant::now();
        let judged = runtime.block_on(futures_util::future::join_all(programs.iter().map(|problem| {
            let (sandbox, policy) = (sandbox.clone(), &policy);
            async move {
                judge_code(&problem.completion, false, &problem.task, policy, &sandbox)
                    .await
                    .unwrap()
            }
        })));
        let elapsed = started.elapsed().as_secs_f64();
        let accepted = judged.iter().filter(|j| j.verdict == Verdict::Accepted).count();
        assert_eq!(accepted, problems.len());
        let fuels: Vec<u64> = judged
            .iter()
            .filter_map(|j| match &j.details {
                Details::Code(details) => details.fuel,
                _ => None,
            })
            .collect();
        (elapsed, fuels)
    };
    let humaneval = |sandbox: &Arc<Sandbox>| {
        let started = Instant::now();
        let runs = runtime.block_on(futures_util::future::join_all(programs.iter().map(|problem| {
            let sandbox = sandbox.clone();
            async move {
                sandbox
                    .run_judged(
                        Language::Python,
                        (&problem.judge, &problem.test),
                        (&problem.solution_program, &problem.solution),
                        &generous,
                    )
                    .await
                    .unwrap()
            }
        })));
        let elapsed = started.elapsed().as_secs_f64();
        let passed = runs
            .iter()
            .filter(|run| run.conversation.judge_end.as_deref() == Some("passed"))
            .count();
        assert_eq!(passed, problems.len());
        let outcomes: Vec<(f64, Option<u64>)> = runs
            .iter()
            .map(|run| {
                (
                    run.judge.time_ms.max(run.solution.time_ms),
                    run.judge.fuel.zip(run.solution.fuel).map(|(a, b)| a + b),
                )
            })
            .collect();
        (elapsed, outcomes)
    };
    let (served, _) = as_served(&sandbox);
    let (_, mut served_fuels) = as_served(&counting);
    served_fuels.sort_unstable();
    println!(
        "humaneval as served: {:.1} problems/s ({read_on_host} of 164 read on the host), median fuel {}, total fuel {}",
        164.0 / served,
        served_fuels[served_fuels.len() / 2],
        served_fuels.iter().sum::<u64>()
    );
    let (sandboxed, outcomes) = humaneval(&sandbox);
    // Where the time goes: the costliest problems (time in the instance, and fuel from a
    // second pass on the counting engine).
    let (counted, counted_outcomes) = humaneval(&counting);
    let mut costs: Vec<(f64, u64, &str)> = outcomes
        .iter()
        .zip(&counted_outcomes)
        .zip(&problems)
        .map(|((o, c), p)| (o.0, c.1.unwrap_or(0), p["task_id"].as_str().unwrap()))
        .collect();
    costs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let total: f64 = costs.iter().map(|c| c.0).sum();
    let top: f64 = costs.iter().take(10).map(|c| c.0).sum();
    println!(
        "humaneval instance time: total {total:.0} ms, median {:.1} ms, top 10 problems {:.0}% of it:",
        costs[costs.len() / 2].0,
        100.0 * top / total
    );
    for (time_ms, fuel, id) in costs.iter().take(10) {
        println!("  {id:<14} {time_ms:>8.1} ms {fuel:>14} fuel");
    }
    let mut fuels: Vec<u64> = costs.iter().map(|c| c.1).collect();
    fuels.sort_unstable();
    println!(
        "humaneval fuel per problem: min {} median {} max {} total {} | with fuel counting {:.1} problems/s",
        fuels[0],
        fuels[fuels.len() / 2],
        fuels[fuels.len() - 1],
        fuels.iter().sum::<u64>(),
        164.0 / counted
    );
    if std::env::var_os("VERDICT_BENCH_ALL_COSTS").is_some() {
        for (time_ms, fuel, id) in &costs {
            println!("  {id:<14} {time_ms:>8.1} ms {fuel:>14} fuel");
        }
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for part in programs.chunks(programs.len().div_ceil(cores)) {
            scope.spawn(move || {
                for problem in part {
                    host_python(&problem.host_program, b"");
                }
            });
        }
    });
    let host = started.elapsed().as_secs_f64();
    println!(
        "humaneval 164 canonical on {cores} cores: served {:.1} problems/s | all in the judge {:.1} problems/s | host python3 subprocesses {:.1} problems/s | served / judge {:.2}",
        164.0 / served,
        164.0 / sandboxed,
        164.0 / host,
        sandboxed / served
    );
}
