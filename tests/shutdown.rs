//! SIGTERM under load loses no acknowledged submission: the real `verdict serve` binary with a
//! SQLite store takes concurrent reward batches, is sent SIGTERM mid-load, drains what is in
//! flight and flushes its spool, and after a restart every `submission_id` a client received
//! is stored exactly once.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const RUN_ID: &str = "shutdown-under-load";

struct Server {
    child: Child,
    base: String,
}

/// Starts `verdict serve` on a free port and waits for its "listening" log line.
fn start(dir: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .arg("--database-url")
        .arg(format!("sqlite://{}", dir.join("verdict.db").display()))
        .current_dir(dir)
        .env("VERDICT_LOG_JSON", "true")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("verdict starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let address = loop {
        let line = lines
            .next()
            .expect("the server logs its address before its output ends")
            .unwrap();
        let Ok(event) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if event["fields"]["message"] == "verdict listening" {
            break event["fields"]["address"].as_str().unwrap().to_owned();
        }
    };
    // Keep draining the log so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server {
        child,
        base: format!("http://{address}"),
    }
}

fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("the server did not stop within {limit:?} of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn batch(worker: usize, round: usize) -> Value {
    let items: Vec<Value> = (0..16)
        .map(|i| {
            json!({
                "id": format!("w{worker}-r{round}-{i}"),
                "completion": format!("<think>add</think> \\boxed{{{}}}", i + round),
                "task": { "kind": "math", "answer": (i + worker).to_string() },
            })
        })
        .collect();
    json!({ "run_id": RUN_ID, "items": items })
}

/// Sends batches until the server stops answering; returns every id it acknowledged.
async fn load(client: reqwest::Client, base: String, worker: usize) -> Vec<String> {
    let mut acknowledged = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    for round in 0.. {
        if Instant::now() > deadline {
            break;
        }
        let response = client
            .post(format!("{base}/v1/rewards"))
            .json(&batch(worker, round))
            .send()
            .await;
        let Ok(response) = response else { break };
        if response.status() != 200 {
            // 503 while draining is a refusal, not an acknowledgement.
            continue;
        }
        let Ok(body) = response.json::<Value>().await else {
            break;
        };
        for result in body["results"].as_array().unwrap() {
            acknowledged.push(result["submission_id"].as_str().unwrap().to_owned());
        }
    }
    acknowledged
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_loses_no_acknowledged_submission() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let workers: Vec<_> = (0..8)
        .map(|worker| tokio::spawn(load(client.clone(), server.base.clone(), worker)))
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    sigterm(&server.child);
    let status = tokio::task::spawn_blocking(move || wait_exit(&mut server.child, Duration::from_secs(30)))
        .await
        .unwrap();
    assert!(
        status.success(),
        "the server exits cleanly on SIGTERM: {status:?}"
    );
    let mut acknowledged = Vec::new();
    for worker in workers {
        acknowledged.extend(worker.await.unwrap());
    }
    assert!(
        acknowledged.len() >= 16,
        "load reached the server: {}",
        acknowledged.len()
    );

    // The spool was flushed on the way out: nothing waits for a next start.
    let stats = Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args(["db", "stats", "--data-dir"])
        .arg(dir.path())
        .arg("--database-url")
        .arg(format!("sqlite://{}", dir.path().join("verdict.db").display()))
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stats = String::from_utf8(stats.stdout).unwrap();
    assert!(
        stats
            .lines()
            .any(|line| line.split_whitespace().collect::<Vec<_>>() == ["spool", "backlog", "0"]),
        "{stats}"
    );

    let mut restarted = start(dir.path());
    let mut stored: HashMap<String, usize> = HashMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{}/v1/submissions?run_id={RUN_ID}&limit=1000", restarted.base);
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let page: Value = client.get(url).send().await.unwrap().json().await.unwrap();
        for row in page["submissions"].as_array().expect("a page of submissions") {
            *stored
                .entry(row["submission_id"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    for id in &acknowledged {
        assert_eq!(
            stored.get(id),
            Some(&1),
            "acknowledged {id} is stored exactly once"
        );
    }
    assert_eq!(
        stored.values().filter(|&&n| n != 1).count(),
        0,
        "no id listed twice"
    );
    sigterm(&restarted.child);
    assert!(wait_exit(&mut restarted.child, Duration::from_secs(30)).success());
}
