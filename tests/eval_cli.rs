//! The evaluation commands on a real database: `verdict datasets import` reads each known
//! source shape, `verdict eval-report` prints a run's table and writes its chart, and
//! `verdict reverify` re-checks a run and reports the flips.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::json;
use tokio::sync::oneshot;
use verdict::{App, Config};

fn verdict(data_dir: &Path, args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args(args)
        .arg("--database-url")
        .arg(format!("sqlite://{}", data_dir.join("verdict.db").display()))
        .arg("--data-dir")
        .arg(data_dir)
        .current_dir(data_dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn shared(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(path)
        .display()
        .to_string()
}

#[test]
fn the_known_shapes_import_and_a_run_is_reported_and_rechecked() {
    let dir = tempfile::tempdir().unwrap();
    for (file, name, entries) in [
        ("math/math500.jsonl", "math500", "500 entries, shape math500"),
        ("math/gsm8k_test.jsonl", "gsm8k", "1319 entries, shape gsm8k"),
        (
            "code/HumanEval.jsonl",
            "humaneval",
            "164 entries, shape humaneval",
        ),
    ] {
        let out = verdict(dir.path(), &["datasets", "import", &shared(file), "--name", name]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.starts_with(&format!("registered {name}@")) && stdout.contains(entries),
            "{stdout}"
        );
    }
    let again = verdict(
        dir.path(),
        &[
            "datasets",
            "import",
            &shared("math/gsm8k_test.jsonl"),
            "--name",
            "gsm8k",
        ],
    );
    assert!(String::from_utf8_lossy(&again.stdout).starts_with("already registered gsm8k@"));
    let list = verdict(dir.path(), &["datasets", "list"]);
    assert_eq!(String::from_utf8_lossy(&list.stdout).lines().count(), 3);

    // A run judged by the server on the same database: GSM8K entries 0..8, half right.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let app = App::build(Config::for_tests(dir.path().to_owned())).await.unwrap();
        let base = format!("http://{}", app.address());
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        let gsm8k = std::fs::read_to_string(shared("math/gsm8k_test.jsonl")).unwrap();
        let items: Vec<serde_json::Value> = gsm8k
            .lines()
            .take(8)
            .enumerate()
            .map(|(i, line)| {
                let row: serde_json::Value = serde_json::from_str(line).unwrap();
                let answer = row["answer"].as_str().unwrap().rsplit("####").next().unwrap().trim().replace(',', "");
                let boxed = if i % 2 == 0 { answer } else { "-1".to_owned() };
                json!({ "entry": format!("gsm8k:{i}"), "completion": format!("<think>t</think> \\boxed{{{boxed}}}") })
            })
            .collect();
        let reply: serde_json::Value = reqwest::Client::new()
            .post(format!("{base}/v1/rewards"))
            .json(&json!({ "run_id": "cli-run", "items": items }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let verdicts: Vec<&str> = reply["results"].as_array().unwrap().iter().map(|r| r["verdict"].as_str().unwrap()).collect();
        assert_eq!(verdicts, ["correct", "incorrect"].repeat(4), "{reply}");
        let _ = stop.send(());
        served.await.unwrap().unwrap();
    });

    let report = verdict(dir.path(), &["eval-report", "cli-run", "--k", "1"]);
    let stdout = String::from_utf8_lossy(&report.stdout);
    assert!(
        stdout.contains("pass@1") && stdout.contains("dataset=gsm8k"),
        "{stdout}"
    );
    let overall = stdout.lines().nth(1).unwrap();
    assert!(
        overall.starts_with("cli-run") && overall.contains(" 0.500"),
        "{stdout}"
    );
    let svg = std::fs::read_to_string(dir.path().join("eval-cli-run.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("pass@1"));
    let png = std::fs::read(dir.path().join("eval-cli-run.png")).unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 1000,
        "{} bytes",
        png.len()
    );

    let recheck = verdict(dir.path(), &["reverify", "--run", "cli-run"]);
    let stdout = String::from_utf8_lossy(&recheck.stdout);
    assert!(stdout.contains(": 8 re-checked, 0 verdicts changed"), "{stdout}");
}
