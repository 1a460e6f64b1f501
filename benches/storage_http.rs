//! `POST /v1/rewards` throughput with the audit trail on: batches of 64 math items from
//! MATH-500 sent by concurrent clients to a real server in this process, once with the SQLite
//! store (a file, WAL, `synchronous=full`) and once with PostgreSQL when
//! `VERDICT_TEST_POSTGRES_URL` names a server (`scripts/with-postgres.sh cargo bench --bench
//! storage_http`; `WITH_POSTGRES_FSYNC=on` for a durable server). Every batch is committed
//! before its response, so the figures include the audit writes.
//!
//! The baseline, measured first in the same run, is the same items judged in-process on every
//! core with no HTTP and no storage: the ceiling the service could reach if serving and
//! auditing were free.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::Connection;
use verdict::{App, Config};

const BATCH: usize = 64;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn bodies() -> Vec<Vec<u8>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/math/math500.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let items: Vec<Value> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .enumerate()
        .map(|(index, line)| {
            let row: Value = serde_json::from_str(line).expect("valid JSON");
            let answer = row["answer"].as_str().unwrap().to_owned();
            let boxed = if index % 3 == 0 { format!("{answer}+1") } else { answer.clone() };
            json!({
                "id": format!("m{index}"),
                "prompt": row["problem"],
                "completion": format!("<think>{}</think> The answer is $\\boxed{{{boxed}}}$.", row["solution"].as_str().unwrap()),
                "task": { "kind": "math", "answer": answer },
            })
        })
        .collect();
    items
        .chunks(BATCH)
        .filter(|chunk| chunk.len() == BATCH)
        .map(|chunk| serde_json::to_vec(&json!({ "run_id": "bench", "items": chunk })).unwrap())
        .collect()
}

async fn measure(label: &str, database_url: String, bodies: &[Vec<u8>]) {
    let seconds: u64 = env_or("VERDICT_BENCH_SECONDS", 5);
    let clients: usize = env_or("VERDICT_BENCH_CLIENTS", 4);
    let data_dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_tests(data_dir.path().to_owned());
    config.database_url = database_url;
    let app = App::build(config).await.unwrap();
    let url = format!("http://{}/v1/rewards", app.address());
    tokio::spawn(app.run_until(std::future::pending()));
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|worker| {
            let (client, url, bodies) = (client.clone(), url.clone(), bodies.to_vec());
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
    let pick = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e3;
    println!(
        "storage_http {label}: clients {clients}, batch {BATCH}, {elapsed:.1} s, {:.0} rewards/s, \
         batch p50 {:.2} ms, p99 {:.2} ms",
        (latencies.len() * BATCH) as f64 / elapsed,
        pick(0.5),
        pick(0.99)
    );
}

/// The same items judged directly on every core: no HTTP, no storage.
fn measure_judging_only(bodies: &[Vec<u8>]) {
    let seconds: u64 = env_or("VERDICT_BENCH_SECONDS", 5);
    let policy = verdict::reward::PolicySet::new(&Default::default())
        .unwrap()
        .default_policy();
    let items: Vec<verdict::reward::RewardItem> = bodies
        .iter()
        .flat_map(|body| {
            let request: Value = serde_json::from_slice(body).unwrap();
            request["items"].as_array().unwrap().clone()
        })
        .map(|raw| verdict::wire::parse_item(raw).unwrap())
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let judged: usize = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut count = 0;
                    while Instant::now() < deadline {
                        for item in &items {
                            std::hint::black_box(verdict::reward::judge(item, &policy).unwrap());
                            count += 1;
                        }
                    }
                    count
                })
            })
            .collect();
        workers.into_iter().map(|worker| worker.join().unwrap()).sum()
    });
    println!(
        "storage_http baseline (judging only, {threads} threads, no HTTP, no storage): {:.0} rewards/s",
        judged as f64 / started.elapsed().as_secs_f64()
    );
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let bodies = bodies();
        measure_judging_only(&bodies);
        let sqlite_dir = tempfile::tempdir().unwrap();
        let sqlite = format!("sqlite://{}", sqlite_dir.path().join("bench.db").display());
        measure("sqlite", sqlite, &bodies).await;
        if let Ok(admin_url) = std::env::var("VERDICT_TEST_POSTGRES_URL") {
            let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
            let name = format!("verdict_bench_{}", ulid::Ulid::new().to_string().to_lowercase());
            sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
                .execute(&mut admin)
                .await
                .unwrap();
            let url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
            measure("postgres", url, &bodies).await;
        } else {
            println!("storage_http postgres: skipped (no VERDICT_TEST_POSTGRES_URL)");
        }
    });
}
