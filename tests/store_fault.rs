//! Fault test: PostgreSQL stops under a steady stream of reward requests and comes back.
//! Every acknowledged `submission_id` must be in the database afterwards, exactly once; no
//! request may fail or wait past the store bound.
//!
//! It stops the shared test server, so it lives in its own test binary: cargo runs test
//! binaries one after another, never beside the PostgreSQL tests of `tests/api`. It needs
//! `scripts/with-postgres.sh`, which says how to stop and start the server.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::Connection;
use tokio::sync::oneshot;
use verdict::{App, Config};

/// The store bound of the server under test: a write waits at most this long for the database.
const BOUND: Duration = Duration::from_secs(1);
/// Judging, spooling and HTTP on top of the bound, on a loaded 2-core machine.
const SLACK: Duration = Duration::from_millis(1500);

fn postgres_env() -> Option<(String, String, String)> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    match (
        var("VERDICT_TEST_POSTGRES_URL"),
        var("VERDICT_TEST_POSTGRES_STOP"),
        var("VERDICT_TEST_POSTGRES_START"),
    ) {
        (Some(url), Some(stop), Some(start)) => Some((url, stop, start)),
        _ if var("VERDICT_TEST_SKIP_POSTGRES").as_deref() == Some("1") => None,
        _ => panic!(
            "the PostgreSQL fault test needs a server it may stop: run `scripts/test.sh` (or \
             `scripts/with-postgres.sh cargo test`), or set VERDICT_TEST_SKIP_POSTGRES=1 to skip it on purpose"
        ),
    }
}

fn shell(command: &str) {
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run the server control command");
    assert!(status.success(), "`{command}` failed");
}

/// Starts the server again if the test ends while it is stopped, so later tests find it.
struct Restart {
    start: String,
    stopped: bool,
}

impl Drop for Restart {
    fn drop(&mut self) {
        if self.stopped {
            shell(&self.start);
        }
    }
}

#[derive(Default)]
struct Tally {
    sent: usize,
    failed: Vec<String>,
    acknowledged: Vec<String>,
    max_latency: Duration,
    max_latency_while_down: Duration,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_submissions_survive_a_postgres_outage_exactly_once() {
    let Some((admin_url, stop, start)) = postgres_env() else {
        return;
    };

    // Arrange: a server on a fresh database, the store bound short.
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    let name = format!("verdict_fault_{}", ulid::Ulid::new().to_string().to_lowercase());
    sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    drop(admin);
    let database_url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
    let data_dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_tests(data_dir.path().to_owned());
    config.database_url = database_url.clone();
    config.store_timeout = BOUND;
    let app = App::build(config).await.expect("server starts");
    let base = format!("http://{}", app.address());
    let (stop_server, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    // Act: two senders keep a steady stream going while the database stops and restarts.
    let tally = Arc::new(Mutex::new(Tally::default()));
    let running = Arc::new(AtomicBool::new(true));
    let down = Arc::new(AtomicBool::new(false));
    let mut senders = Vec::new();
    for sender in 0..2 {
        let (client, base, tally, running, down) = (
            client.clone(),
            base.clone(),
            tally.clone(),
            running.clone(),
            down.clone(),
        );
        senders.push(tokio::spawn(async move {
            let mut n = 0;
            while running.load(Ordering::Acquire) {
                let items: Vec<Value> = (0..8)
                    .map(|i| {
                        json!({ "id": format!("s{sender}-{n}-{i}"),
                                "completion": format!("<think>t</think> \\boxed{{{i}}}"),
                                "task": { "kind": "math", "answer": "3" } })
                    })
                    .collect();
                n += 1;
                let was_down = down.load(Ordering::Acquire);
                let started = Instant::now();
                let reply = client
                    .post(format!("{base}/v1/rewards"))
                    .json(&json!({ "run_id": "fault", "items": items }))
                    .send()
                    .await;
                let outcome: Result<Value, String> = match reply {
                    Ok(reply) if reply.status() == 200 => reply.json().await.map_err(|e| e.to_string()),
                    Ok(reply) => Err(format!("status {}", reply.status())),
                    Err(error) => Err(error.to_string()),
                };
                let latency = started.elapsed();
                {
                    let mut tally = tally.lock().unwrap();
                    tally.sent += 1;
                    tally.max_latency = tally.max_latency.max(latency);
                    if was_down || down.load(Ordering::Acquire) {
                        tally.max_latency_while_down = tally.max_latency_while_down.max(latency);
                    }
                    match outcome {
                        Ok(body) => {
                            for result in body["results"].as_array().unwrap() {
                                tally
                                    .acknowledged
                                    .push(result["submission_id"].as_str().unwrap().to_owned());
                            }
                        }
                        Err(error) => tally.failed.push(error),
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    let readiness = |client: reqwest::Client, base: String| async move {
        let reply: Value = client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        reply
    };

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut restart = Restart {
        start: start.clone(),
        stopped: true,
    };
    down.store(true, Ordering::Release);
    tokio::task::spawn_blocking(move || shell(&stop)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let during = readiness(client.clone(), base.clone()).await;
    tokio::task::spawn_blocking(move || shell(&start)).await.unwrap();
    restart.stopped = false;
    down.store(false, Ordering::Release);
    tokio::time::sleep(Duration::from_secs(2)).await;
    running.store(false, Ordering::Release);
    for sender in senders {
        sender.await.unwrap();
    }

    // The replayer drains the spool once the database is back.
    let drained = Instant::now();
    loop {
        let ready = readiness(client.clone(), base.clone()).await;
        if ready["storage"]["spool_backlog"] == 0 && ready["storage"]["database_reachable"] == true {
            break;
        }
        assert!(
            drained.elapsed() < Duration::from_secs(30),
            "spool not drained: {ready}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let drain_time = drained.elapsed();

    // Assert: everything acknowledged is stored, once; nothing failed or waited too long.
    let mut db = sqlx::PgConnection::connect(&database_url).await.unwrap();
    let stored: Vec<String> = sqlx::query_scalar("select submission_id from submissions")
        .fetch_all(&mut db)
        .await
        .unwrap();
    let tally = tally.lock().unwrap();
    let acknowledged: BTreeSet<&str> = tally.acknowledged.iter().map(String::as_str).collect();
    let stored_set: BTreeSet<&str> = stored.iter().map(String::as_str).collect();
    println!(
        "fault test: {} requests, {} submissions acknowledged, {} stored, {} failed; max latency \
         {:?} overall, {:?} while PostgreSQL was down; readiness during the outage: {}; spool \
         drained {:?} after the senders stopped",
        tally.sent,
        tally.acknowledged.len(),
        stored.len(),
        tally.failed.len(),
        tally.max_latency,
        tally.max_latency_while_down,
        during["storage"],
        drain_time,
    );
    assert!(tally.failed.is_empty(), "failed requests: {:?}", tally.failed);
    assert_eq!(acknowledged.len(), tally.acknowledged.len(), "ids are unique");
    assert_eq!(stored.len(), stored_set.len(), "none stored twice");
    assert_eq!(
        stored_set, acknowledged,
        "every acknowledged submission is stored, and no other"
    );
    assert!(
        tally.max_latency < BOUND + SLACK,
        "a request waited {:?}",
        tally.max_latency
    );
    assert_eq!(during["status"], "degraded", "{during}");
    assert_eq!(during["storage"]["database_reachable"], false, "{during}");
    assert!(
        during["storage"]["spool_backlog"].as_u64().unwrap() > 0,
        "the outage was spooled: {during}"
    );
    let _ = stop_server.send(());
}
