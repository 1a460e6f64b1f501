//! A tiny random model trains with GRPO against a real verdict server (started in this
//! process on 127.0.0.1:0) on the toy task, and its reward goes up.

use std::path::Path;

use policy_trainer::config::TrainConfig;
use policy_trainer::train;
use verdict::{App, Config};

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

fn rows(metrics: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(metrics)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn tiny_model_learns_the_toy_task_from_verdict_rewards() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let app = rt
        .block_on(App::build(Config::for_tests(data_dir.path().to_owned())))
        .expect("verdict starts");
    let url = format!("http://{}", app.address());
    rt.spawn(app.run_until(std::future::pending()));

    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/tiny.toml");
    let cfg = TrainConfig::from_file(&config).unwrap();
    let out = tempfile::tempdir().unwrap();
    let opts = train::Options {
        verdict_url: url.clone(),
        out: out.path().to_owned(),
        steps: Some(40),
    };
    train::train(&cfg, &opts).unwrap();

    let all = rows(&out.path().join("metrics.jsonl"));
    let steps: Vec<&serde_json::Value> = all.iter().filter(|r| r.get("reward_mean").is_some()).collect();
    assert_eq!(steps.len(), 40);
    let rewards: Vec<f64> = steps.iter().map(|r| r["reward_mean"].as_f64().unwrap()).collect();
    let (first, last) = (mean(&rewards[..10]), mean(&rewards[30..]));
    eprintln!("mean reward: first 10 steps {first:.3}, last 10 steps {last:.3}");
    assert!(
        last > first + 0.3,
        "reward did not improve enough: {first:.3} → {last:.3} ({rewards:?})"
    );
    assert!(out.path().join("reward.png").exists());
    assert!(out.path().join("checkpoint/model.safetensors").exists());
    let eval_before = all[0]["eval_accuracy"].as_f64().unwrap();
    let eval_after = steps.last().unwrap()["eval_accuracy"].as_f64().unwrap();
    assert!(
        eval_after > eval_before,
        "held-out accuracy {eval_before} → {eval_after}"
    );

    // Every completion was recorded by verdict under the run id.
    let body: serde_json::Value = reqwest::blocking::get(format!("{url}/v1/runs"))
        .unwrap()
        .json()
        .unwrap();
    assert!(body.to_string().contains("policy-trainer-"), "{body}");

    // Resuming continues from the checkpoint: asking for 42 steps runs only 2 more.
    let opts = train::Options {
        steps: Some(42),
        ..opts
    };
    train::train(&cfg, &opts).unwrap();
    let all = rows(&out.path().join("metrics.jsonl"));
    let last_steps: Vec<u64> = all.iter().filter_map(|r| r["step"].as_u64()).collect();
    assert_eq!(&last_steps[last_steps.len() - 2..], &[41, 42]);
    // The resumed run starts from the trained weights, not from the initial ones.
    let resumed_eval = all.last().unwrap()["eval_accuracy"].as_f64().unwrap();
    assert!(
        resumed_eval >= 0.75,
        "held-out accuracy after resuming: {resumed_eval}"
    );
    rt.shutdown_background();
}
