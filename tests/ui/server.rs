//! One real `verdict` server for the whole UI test binary, seeded through its own API: math
//! and code batches POSTed to `/v1/rewards` (the code judged in the real wasm sandbox), and a
//! run spread over two hours for the chart. It runs on its own thread and runtime so that every
//! test (each with its own runtime) can use it.

use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::{Value, json};
use time::Duration;
use verdict::store::Store;
use verdict::{App, Config};

pub struct Server {
    pub base: String,
    pub database_url: String,
}

/// The seeded runs.
pub const MATH_RUN: &str = "ui-math";
pub const CODE_RUN: &str = "ui-code";
pub const TREND_RUN: &str = "grpo-demo";

/// How many of each math verdict the seed holds.
pub const MATH_CORRECT: usize = 3;
pub const MATH_INCORRECT: usize = 2;
pub const MATH_NO_ANSWER: usize = 1;

pub fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let (ready, started) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime for the server");
            runtime.block_on(async move {
                // Under the target's scratch folder, emptied first: statics are never dropped,
                // so a temp dir would outlive the process.
                let data_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-audit-server");
                let _ = std::fs::remove_dir_all(&data_dir);
                let config = Config::for_tests(data_dir);
                let database_url = config.database_url.clone();
                let app = App::build(config).await.expect("the server starts");
                let base = format!("http://{}", app.address());
                let serving = tokio::spawn(app.run_until(std::future::pending()));
                seed(&base, &database_url).await;
                ready
                    .send(Server { base, database_url })
                    .expect("the tests wait for the server");
                let _ = serving.await;
            });
        });
        started.recv().expect("the server thread seeded and started")
    })
}

async fn post_rewards(http: &reqwest::Client, base: &str, body: Value) -> Value {
    let response = http
        .post(format!("{base}/v1/rewards"))
        .json(&body)
        .send()
        .await
        .expect("POST /v1/rewards");
    assert_eq!(response.status(), 200, "seeding failed");
    let body: Value = response.json().await.expect("a JSON answer");
    for result in body["results"].as_array().expect("results") {
        assert!(result.get("error").is_none(), "a seed item failed: {result}");
    }
    body
}

fn math(id: &str, completion: &str, answer: &str) -> Value {
    json!({ "id": id, "prompt": "Compute the value and put the final answer in \\boxed{}.",
            "completion": completion, "task": { "kind": "math", "answer": answer } })
}

async fn seed(base: &str, database_url: &str) {
    let http = reqwest::Client::new();
    let mut items = Vec::new();
    for i in 0..MATH_CORRECT {
        items.push(math(
            &format!("half-{i}"),
            "<think>We need half of one.\nHalf of 1 is 1/2, which is 0.5.</think>\nThe answer is $\\boxed{\\frac{1}{2}}$.",
            "0.5",
        ));
    }
    for i in 0..MATH_INCORRECT {
        items.push(math(
            &format!("third-{i}"),
            "<think>One third is about 0.33.</think>\nSo the answer is \\boxed{0.33}.",
            "\\frac{1}{3}",
        ));
    }
    for i in 0..MATH_NO_ANSWER {
        items.push(math(
            &format!("none-{i}"),
            "<think>Not sure.</think> I give up.",
            "7",
        ));
    }
    post_rewards(&http, base, json!({ "run_id": MATH_RUN, "items": items })).await;

    // Two tests: the first passes, the second prints squares instead of the numbers (a wrong
    // answer on line 2), with a line of stderr for the audit.
    let squares = "<think>Print 1..n, one per line.</think>\n```python\nimport sys\n\ndef main():\n    n = int(input())\n    sys.stderr.write(f\"debug: n={n}\\n\")\n    for i in range(1, n + 1):\n        print(i * i)  # oops: squares\n\nmain()\n```";
    let counting =
        "<think>Easy.</think>\n```python\nn = int(input())\nfor i in range(1, n + 1):\n    print(i)\n```";
    let task = json!({ "kind": "code", "language": "python",
        "tests": [ { "stdin": "1\n", "stdout": "1\n" }, { "stdin": "3\n", "stdout": "1\n2\n3\n" } ] });
    post_rewards(
        &http,
        base,
        json!({ "run_id": CODE_RUN, "items": [
            { "id": "count-wrong", "prompt": "Read n and print 1 to n, one per line.", "completion": squares, "task": task },
            { "id": "count-right", "prompt": "Read n and print 1 to n, one per line.", "completion": counting, "task": task },
        ] }),
    )
    .await;

    spread_trend_run(database_url).await;
}

/// A run whose accuracy climbs over two hours, for the chart: copies of the judged math rows
/// with new ids and times, written through the store (the API stamps rows with "now").
async fn spread_trend_run(database_url: &str) {
    let store = Store::connect(database_url, std::time::Duration::from_secs(5))
        .await
        .expect("the audit store");
    let filter = verdict::store::SubmissionFilter {
        run_id: Some(MATH_RUN.to_owned()),
        ..Default::default()
    };
    let judged = store
        .submissions(&filter, None, 100)
        .await
        .expect("the math rows");
    let correct = judged
        .iter()
        .find(|s| s.verdict == "correct")
        .expect("a correct row");
    let wrong = judged
        .iter()
        .find(|s| s.verdict == "incorrect")
        .expect("an incorrect row");
    let start = verdict::store::now_ms() - Duration::hours(3);
    let mut rows = Vec::new();
    for step in 0..240_i64 {
        // Accuracy rises from ~20% to ~80%, with a little wobble.
        let share = 0.2 + 0.6 * (step as f64 / 240.0) + 0.08 * ((step as f64) / 9.0).sin();
        let pick = ((step * 37) % 100) as f64 / 100.0;
        let mut row = if pick < share {
            correct.clone()
        } else {
            wrong.clone()
        };
        row.submission_id = ulid::Ulid::from_parts(
            u64::try_from((start + Duration::seconds(step * 30)).unix_timestamp() * 1000).unwrap(),
            u128::try_from(step).unwrap(),
        )
        .to_string();
        row.run_id = Some(TREND_RUN.to_owned());
        row.item_id = Some(format!("trend-{step}"));
        row.created_at = start + Duration::seconds(step * 30);
        rows.push(row);
    }
    store.insert_submissions(&rows).await.expect("the trend rows");
}
