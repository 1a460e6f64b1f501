//! Load and soak of the real `verdict serve` binary on loopback with mixed batches (30 math
//! items from MATH-500 and 2 Python stdin/stdout programs run in the sandbox).
//!
//! 1. Saturation: closed-loop clients (twice the server's processing slots) send batches as
//!    fast as they are answered; the accepted batches per second are the saturation rate.
//! 2. Overload: open-loop arrivals at 1×, 2× and 4× that rate for a fixed time each. Reported:
//!    accepted throughput, p50/p99 latency of accepted batches, the error rate and what the
//!    errors were (503/429 with `Retry-After` is shedding; anything else is a failure), and
//!    the `/healthz` probe (every 100 ms) failures and worst latency.
//! 3. Soak (when `VERDICT_LOAD_SOAK_SECONDS` is set): open-loop at 0.75× saturation, the
//!    server's RSS read from /proc every 10 s.
//!
//! Every loop is bounded in count and time and targets 127.0.0.1 only. Knobs (env):
//! `VERDICT_LOAD_CONCURRENT` (server slots, 8), `VERDICT_LOAD_QUEUED` (server line, 32),
//! `VERDICT_LOAD_SECONDS` (per phase, 15), `VERDICT_LOAD_SOAK_SECONDS` (0: no soak).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[path = "support/server.rs"]
mod server;
use server::{Server, start_server};

const MATH_PER_BATCH: usize = 30;
/// No phase keeps more requests open than this, whatever the rate.
const MAX_OPEN_REQUESTS: usize = 4096;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn bodies() -> Vec<bytes::Bytes> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/math/math500.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let math: Vec<Value> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .enumerate()
        .map(|(index, line)| {
            let row: Value = serde_json::from_str(line).expect("valid JSON");
            let answer = row["answer"].as_str().unwrap().to_owned();
            let boxed = if index % 3 == 0 { format!("{answer}+1") } else { answer.clone() };
            json!({
                "completion": format!("<think>{}</think> The answer is $\\boxed{{{boxed}}}$.", row["solution"].as_str().unwrap()),
                "task": { "kind": "math", "answer": answer },
            })
        })
        .collect();
    let code = |right: bool| {
        let program = if right {
            "a, b = map(int, input().split())\nprint(a + b)"
        } else {
            "print(0)"
        };
        json!({
            "completion": format!("<think>sum</think>\n```python\n{program}\n```"),
            "task": { "kind": "code", "language": "python",
                      "tests": [ { "stdin": "1 2\n", "stdout": "3" }, { "stdin": "20 22\n", "stdout": "42" } ] },
        })
    };
    math.chunks(MATH_PER_BATCH)
        .filter(|chunk| chunk.len() == MATH_PER_BATCH)
        .enumerate()
        .map(|(index, chunk)| {
            let mut items = chunk.to_vec();
            items.push(code(true));
            items.push(code(index % 2 == 0));
            serde_json::to_vec(&json!({ "run_id": "load", "items": items }))
                .unwrap()
                .into()
        })
        .collect()
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}

/// One request's outcome: status (0 when the transport failed), latency, `Retry-After` seen.
#[derive(Clone, Copy)]
struct Outcome {
    status: u16,
    latency: Duration,
    retry_after: bool,
}

async fn send(client: &reqwest::Client, url: &str, body: bytes::Bytes) -> Outcome {
    let started = Instant::now();
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await;
    let (status, retry_after) = match response {
        Ok(response) => {
            let status = response.status().as_u16();
            let retry_after = response.headers().contains_key("retry-after");
            match response.bytes().await {
                Ok(_) => (status, retry_after),
                Err(_) => (0, false),
            }
        }
        Err(_) => (0, false),
    };
    Outcome {
        status,
        latency: started.elapsed(),
        retry_after,
    }
}

/// Closed loop: `clients` senders for `seconds`; accepted batches per second.
async fn saturation(
    client: &reqwest::Client,
    url: &str,
    bodies: &Arc<Vec<bytes::Bytes>>,
    clients: usize,
    seconds: u64,
) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|worker| {
            let (client, url, bodies) = (client.clone(), url.to_owned(), bodies.clone());
            tokio::spawn(async move {
                let mut accepted = 0usize;
                let mut next = worker;
                while Instant::now() < deadline {
                    let outcome = send(&client, &url, bodies[next % bodies.len()].clone()).await;
                    next += 1;
                    if outcome.status == 200 {
                        accepted += 1;
                    } else {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
                accepted
            })
        })
        .collect();
    let mut accepted = 0;
    for worker in workers {
        accepted += worker.await.unwrap();
    }
    accepted as f64 / started.elapsed().as_secs_f64()
}

struct Phase {
    outcomes: Vec<Outcome>,
    elapsed: f64,
    health_failures: usize,
    health_probes: usize,
    health_worst: Duration,
    rss_samples: Vec<(f64, u64)>,
}

/// Open loop: a batch every 1/`rate` s for `seconds`, answered or not; `/healthz` probed
/// every 100 ms; RSS sampled every 10 s.
async fn open_loop(
    client: &reqwest::Client,
    server: &Server,
    bodies: &Arc<Vec<bytes::Bytes>>,
    rate: f64,
    seconds: u64,
) -> Phase {
    let url = format!("{}/v1/rewards", server.base);
    let total = ((rate * seconds as f64).ceil() as usize).max(1);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let prober = {
        let (client, url, stop) = (client.clone(), format!("{}/healthz", server.base), stop.clone());
        tokio::spawn(async move {
            let (mut probes, mut failures, mut worst) = (0, 0, Duration::ZERO);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let started = Instant::now();
                let ok = client
                    .get(&url)
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200);
                worst = worst.max(started.elapsed());
                probes += 1;
                failures += usize::from(!ok);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (probes, failures, worst)
        })
    };
    let sampler = {
        let (stop, pid) = (stop.clone(), server.child.id());
        tokio::spawn(async move {
            let started = Instant::now();
            let mut samples = vec![(0.0, rss_kib(pid))];
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_secs(10)).await;
                samples.push((started.elapsed().as_secs_f64(), rss_kib(pid)));
            }
            samples
        })
    };
    let started = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let open = Arc::new(tokio::sync::Semaphore::new(MAX_OPEN_REQUESTS));
    let mut requests = Vec::with_capacity(total);
    for index in 0..total {
        ticker.tick().await;
        let permit = open.clone().acquire_owned().await.unwrap();
        let (client, url, body) = (client.clone(), url.clone(), bodies[index % bodies.len()].clone());
        requests.push(tokio::spawn(async move {
            let outcome = send(&client, &url, body).await;
            drop(permit);
            outcome
        }));
    }
    let mut outcomes = Vec::with_capacity(total);
    for request in requests {
        outcomes.push(request.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (health_probes, health_failures, health_worst) = prober.await.unwrap();
    let rss_samples = sampler.await.unwrap();
    Phase {
        outcomes,
        elapsed,
        health_failures,
        health_probes,
        health_worst,
        rss_samples,
    }
}

fn report(label: &str, offered: f64, phase: &Phase) -> String {
    let mut accepted: Vec<Duration> = phase
        .outcomes
        .iter()
        .filter(|o| o.status == 200)
        .map(|o| o.latency)
        .collect();
    accepted.sort();
    let pick = |p: f64| {
        if accepted.is_empty() {
            f64::NAN
        } else {
            accepted[((accepted.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e3
        }
    };
    let total = phase.outcomes.len();
    let shed = phase
        .outcomes
        .iter()
        .filter(|o| matches!(o.status, 429 | 503) && o.retry_after)
        .count();
    let other = total - accepted.len() - shed;
    format!(
        "| {label} | {offered:.1} | {:.1} | {:.0} | {:.0} | {:.1}% | {shed} | {other} | {}/{} | {:.0} |",
        accepted.len() as f64 / phase.elapsed,
        pick(0.5),
        pick(0.99),
        100.0 * (total - accepted.len()) as f64 / total as f64,
        phase.health_failures,
        phase.health_probes,
        phase.health_worst.as_secs_f64() * 1e3,
    )
}

fn main() {
    let concurrent: usize = env_or("VERDICT_LOAD_CONCURRENT", 8);
    let queued: usize = env_or("VERDICT_LOAD_QUEUED", 32);
    let seconds: u64 = env_or("VERDICT_LOAD_SECONDS", 15);
    let soak_seconds: u64 = env_or("VERDICT_LOAD_SOAK_SECONDS", 0);
    let bodies = Arc::new(bodies());
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path(), concurrent, queued);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .pool_max_idle_per_host(MAX_OPEN_REQUESTS)
            .build()
            .unwrap();
        let url = format!("{}/v1/rewards", server.base);
        // Warm-up: the sandbox compiles its Python image on first use.
        let warm = send(&client, &url, bodies[0].clone()).await;
        assert_eq!(warm.status, 200, "the warm-up batch is judged");
        let saturated = saturation(&client, &url, &bodies, concurrent * 2, seconds).await;
        println!(
            "load: {} items a batch ({MATH_PER_BATCH} math, 2 code); server slots {concurrent}, line {queued}; \
             saturation (closed loop, {} clients, {seconds} s): {saturated:.1} batches/s = {:.0} items/s",
            MATH_PER_BATCH + 2,
            concurrent * 2,
            saturated * (MATH_PER_BATCH + 2) as f64
        );
        println!(
            "| load | offered batches/s | accepted batches/s | p50 ms (accepted) | p99 ms (accepted) | errors | of which 503/429 + Retry-After | other errors | /healthz failures/probes | /healthz worst ms |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|");
        for factor in [1.0, 2.0, 4.0] {
            let offered = saturated * factor;
            let phase = open_loop(&client, &server, &bodies, offered, seconds).await;
            println!("{}", report(&format!("{factor}×"), offered, &phase));
            // Let the line drain so phases do not overlap.
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        if soak_seconds > 0 {
            let offered = saturated * 0.75;
            let phase = open_loop(&client, &server, &bodies, offered, soak_seconds).await;
            println!("{}", report(&format!("soak 0.75× for {soak_seconds} s"), offered, &phase));
            println!("soak RSS (s, MiB): {}", phase
                .rss_samples
                .iter()
                .map(|(t, kib)| format!("{t:.0}:{:.1}", *kib as f64 / 1024.0))
                .collect::<Vec<_>>()
                .join(" "));
            // After the first minute (sandbox instances, pools and caches warm).
            let warm: Vec<u64> = phase.rss_samples.iter().filter(|(t, _)| *t >= 60.0).map(|(_, kib)| *kib).collect();
            if let (Some(min), Some(max), Some(first), Some(last)) =
                (warm.iter().min(), warm.iter().max(), warm.first(), warm.last())
            {
                println!(
                    "soak RSS after warm-up: first {:.1} MiB, last {:.1} MiB, min {:.1}, max {:.1}, spread {:.1}% of min",
                    *first as f64 / 1024.0,
                    *last as f64 / 1024.0,
                    *min as f64 / 1024.0,
                    *max as f64 / 1024.0,
                    100.0 * (*max - *min) as f64 / *min as f64
                );
            }
        }
    });
}
