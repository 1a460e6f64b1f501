//! A 256-sample rollout in OpenRLHF's shape against the real `verdict serve` on loopback: one
//! `/get_reward` request per sample, 64 in flight, the query being the chat-templated prompt,
//! the response and `<|im_end|>` (special tokens kept), labels as the dataset column holds
//! them (math answers from MATH-500, APPS-style code labels). Half the code samples are right.
//!
//! The same samples then go through `/v1/rewards` as one batch with the tasks written out; the
//! bench fails unless every reward is the same, and prints both times and their ratio.
//! `cargo bench --bench rollout` (release build); knobs: `VERDICT_ROLLOUT_SAMPLES` (256),
//! `VERDICT_ROLLOUT_CONCURRENT` (64).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};

#[path = "support/server.rs"]
mod server;

const TEMPLATE_HEAD: &str = "<|im_start|>system\nPlease reason step by step, and put your final answer within \\boxed{}.<|im_end|>\n<|im_start|>user\n";
const TEMPLATE_TAIL: &str = "<|im_end|>\n<|im_start|>assistant\n";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// (prompt, response, label, task) of each sample: three math samples to one code sample.
fn samples(count: usize) -> Vec<(String, String, Value, Value)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/math/math500.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rows: Vec<Value> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).expect("valid JSON"))
        .collect();
    (0..count)
        .map(|index| {
            if index % 4 == 3 {
                let right = index % 8 == 3;
                let program = if right {
                    "a, b = map(int, input().split())\nprint(a + b)"
                } else {
                    "print(0)"
                };
                let prompt = format!("{TEMPLATE_HEAD}Add the two numbers on stdin.{TEMPLATE_TAIL}");
                let response = format!("<think>read, add, print</think>\n```python\n{program}\n```");
                let label = json!({ "inputs": ["1 2\n", "20 22\n"], "outputs": ["3\n", "42\n"] });
                let task = json!({ "kind": "code", "language": "python",
                    "tests": [ { "stdin": "1 2\n", "stdout": "3\n" }, { "stdin": "20 22\n", "stdout": "42\n" } ] });
                (prompt, response, label, task)
            } else {
                let row = &rows[index % rows.len()];
                let answer = row["answer"].as_str().unwrap().to_owned();
                let boxed = if index % 3 == 0 { format!("{answer}+1") } else { answer.clone() };
                let prompt = format!("{TEMPLATE_HEAD}{}{TEMPLATE_TAIL}", row["problem"].as_str().unwrap_or(""));
                let response = format!(
                    "<think>{}</think> The answer is $\\boxed{{{boxed}}}$.",
                    row["solution"].as_str().unwrap_or("")
                );
                let task = json!({ "kind": "math", "answer": answer });
                (prompt, response, Value::from(answer), task)
            }
        })
        .collect()
}

#[tokio::main]
async fn main() {
    let count = env_or("VERDICT_ROLLOUT_SAMPLES", 256);
    let concurrent = env_or("VERDICT_ROLLOUT_CONCURRENT", 64);
    let dir = tempfile::tempdir().unwrap();
    let server = server::start_server(dir.path(), 512, 1024);
    let client = reqwest::Client::new();
    let samples = Arc::new(samples(count));

    // Warm the sandbox (first use loads the images) outside the timed part.
    let (prompt, response, label, _) = &samples[3];
    let warm = client
        .post(format!("{}/get_reward", server.base))
        .json(&json!({ "query": [format!("{prompt}{response}<|im_end|>")], "prompts": [prompt], "labels": [label] }))
        .send()
        .await
        .unwrap();
    assert!(warm.status().is_success());

    let started = Instant::now();
    let semaphore = Arc::new(tokio::sync::Semaphore::new(concurrent));
    let mut requests = Vec::with_capacity(count);
    for index in 0..count {
        let (client, samples, semaphore, base) =
            (client.clone(), samples.clone(), semaphore.clone(), server.base.clone());
        requests.push(tokio::spawn(async move {
            let _permit = semaphore.acquire_owned().await.unwrap();
            let (prompt, response, label, _) = &samples[index];
            let body: Value = client
                .post(format!("{base}/get_reward?run_id=rollout-bench"))
                .json(&json!({ "query": [format!("{prompt}{response}<|im_end|>")], "prompts": [prompt], "labels": [label] }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(body["extra_logs"]["judged"][0], 1.0, "sample {index} judged: {body}");
            body["rewards"][0].as_f64().unwrap()
        }));
    }
    let mut rewards = Vec::with_capacity(count);
    for request in requests {
        rewards.push(request.await.unwrap());
    }
    let per_sample = started.elapsed();

    let items: Vec<Value> = samples
        .iter()
        .map(|(prompt, response, _, task)| json!({ "prompt": prompt, "completion": response, "task": task }))
        .collect();
    let started = Instant::now();
    let batch: Value = client
        .post(format!("{}/v1/rewards", server.base))
        .json(&json!({ "run_id": "rollout-bench-batch", "items": items }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let one_batch = started.elapsed();
    let expected: Vec<f64> = batch["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| result["reward"].as_f64().expect("every item judged"))
        .collect();
    assert_eq!(rewards, expected, "/get_reward and /v1/rewards disagree");

    let right = rewards.iter().filter(|reward| **reward >= 2.0).count();
    println!("rollout: {count} samples ({right} rewarded 2.0), OpenRLHF shape, {concurrent} in flight");
    println!(
        "  /get_reward, one request a sample: {:.2} s ({:.0} samples/s)",
        per_sample.as_secs_f64(),
        count as f64 / per_sample.as_secs_f64()
    );
    println!(
        "  /v1/rewards, one batch (baseline):  {:.2} s ({:.0} samples/s)",
        one_batch.as_secs_f64(),
        count as f64 / one_batch.as_secs_f64()
    );
    println!(
        "  ratio: {:.2}x; every reward equal",
        per_sample.as_secs_f64() / one_batch.as_secs_f64()
    );
}
