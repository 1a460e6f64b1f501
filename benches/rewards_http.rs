//! `POST /v1/rewards` throughput over loopback: batches of 64 math items built from MATH-500,
//! sent by a few concurrent clients to a real server in this process. Run with
//! `cargo bench --bench rewards_http`. Client and server share the machine's cores, so the
//! figure is a lower bound on what a dedicated server does.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use verdict::{App, Config};

const BATCH: usize = 64;

fn math500_items() -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/math/math500.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .enumerate()
        .map(|(index, line)| {
            let row: Value = serde_json::from_str(line).expect("valid JSON");
            let answer = row["answer"].as_str().unwrap().to_owned();
            // Every third completion is wrong, so both verdicts are exercised.
            let boxed = if index % 3 == 0 { format!("{answer}+1") } else { answer.clone() };
            json!({
                "id": format!("m{index}"),
                "prompt": row["problem"],
                "completion": format!("<think>{}</think> The answer is $\\boxed{{{boxed}}}$.", row["solution"].as_str().unwrap()),
                "task": { "kind": "math", "answer": answer },
            })
        })
        .collect()
}

fn main() {
    let seconds: u64 = std::env::var("VERDICT_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let clients: usize = std::env::var("VERDICT_BENCH_CLIENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async move {
        let data_dir = tempfile::tempdir().unwrap();
        let app = App::build(Config::for_tests(data_dir.path().to_owned()))
            .await
            .unwrap();
        let url = format!("http://{}/v1/rewards", app.address());
        tokio::spawn(app.run_until(std::future::pending()));

        let items = math500_items();
        let bodies: Vec<Vec<u8>> = items
            .chunks(BATCH)
            .filter(|chunk| chunk.len() == BATCH)
            .map(|chunk| serde_json::to_vec(&json!({ "run_id": "bench", "items": chunk })).unwrap())
            .collect();
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let started = Instant::now();
        let workers: Vec<_> = (0..clients)
            .map(|worker| {
                let client = client.clone();
                let url = url.clone();
                let bodies = bodies.clone();
                tokio::spawn(async move {
                    let mut latencies = Vec::new();
                    let mut next = worker;
                    while Instant::now() < deadline {
                        let body = bodies[next % bodies.len()].clone();
                        next += 1;
                        let t = Instant::now();
                        let response = client
                            .post(&url)
                            .header("content-type", "application/json")
                            .body(body)
                            .send()
                            .await
                            .unwrap();
                        assert!(response.status().is_success());
                        let _ = response.bytes().await.unwrap();
                        latencies.push(t.elapsed());
                    }
                    latencies
                })
            })
            .collect();
        let mut latencies = Vec::new();
        for worker in workers {
            latencies.extend(worker.await.unwrap());
        }
        let elapsed = started.elapsed().as_secs_f64();
        latencies.sort();
        let pick =
            |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e3;
        println!("clients {clients}, batch {BATCH}, {:.1} s", elapsed);
        println!(
            "rewards_http_batches_per_second {:.1}",
            latencies.len() as f64 / elapsed
        );
        println!(
            "rewards_http_items_per_second {:.0}",
            (latencies.len() * BATCH) as f64 / elapsed
        );
        println!("rewards_http_batch_p50_ms {:.2}", pick(0.5));
        println!("rewards_http_batch_p99_ms {:.2}", pick(0.99));
    });
}
