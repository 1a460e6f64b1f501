//! `verdict check` grades a JSONL file offline with the server's code.

use std::process::Command;

#[test]
fn check_grades_a_file_and_prints_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("items.jsonl");
    let output = dir.path().join("results.jsonl");
    std::fs::write(
        &input,
        [
            r#"{"id": "a", "completion": "<think>t</think> \\boxed{\\frac{1}{2}}", "task": {"kind": "math", "answer": "0.5"}}"#,
            r#"{"id": "b", "completion": "<think>t</think> \\boxed{3}", "task": {"kind": "math", "answer": "4"}}"#,
            "",
            r#"{"id": "c", "completion": "no box", "task": {"kind": "math", "answer": "4"}}"#,
            r#"{"id": "d", "task": {"kind": "math", "answer": "4"}}"#,
            "not json",
        ]
        .join("\n"),
    )
    .unwrap();

    let run = Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args(["check", "--input"])
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .current_dir(dir.path())
        .output()
        .unwrap();

    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let row = |name: &str| {
        stdout
            .lines()
            .find(|line| line.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no `{name}` row in\n{stdout}"))
            .split_whitespace()
            .last()
            .unwrap()
            .to_owned()
    };
    assert_eq!(row("items "), "5");
    assert_eq!(row("judged"), "3");
    assert_eq!(row("errors (not scored)"), "2");
    assert_eq!(row("correct"), "33.3%");
    assert_eq!(row("mean reward"), "1.0000");

    let results: Vec<serde_json::Value> = std::fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(results.len(), 5);
    assert_eq!(results[0]["result"]["verdict"], "correct");
    assert_eq!(results[2]["line"], 4);
    assert_eq!(results[2]["result"]["verdict"], "no_answer");
    assert_eq!(results[3]["error"]["field"], "completion");
    assert_eq!(results[4]["error"]["code"], "invalid_json");
}

#[test]
fn check_refuses_an_unknown_policy() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("items.jsonl");
    std::fs::write(&input, "").unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args(["check", "--policy", "missing", "--input"])
        .arg(&input)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("unknown policy"));
}

#[test]
fn check_runs_code_items_in_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("items.jsonl");
    std::fs::write(
        &input,
        [
            r#"{"id": "ok", "completion": "<think>t</think>\n```python\nprint(int(input()) * 2)\n```", "task": {"kind": "code", "language": "python", "tests": [{"stdin": "21\n", "stdout": "42\n"}]}}"#,
            r#"{"id": "wrong", "completion": "<think>t</think>\n```python\nprint(0)\n```", "task": {"kind": "code", "language": "python", "tests": [{"stdin": "21\n", "stdout": "42\n"}]}}"#,
            r#"{"id": "math", "completion": "<think>t</think> \\boxed{4}", "task": {"kind": "math", "answer": "4"}}"#,
        ]
        .join("\n"),
    )
    .unwrap();
    let output = dir.path().join("results.jsonl");
    let mut command = Command::new(env!("CARGO_BIN_EXE_verdict"));
    command
        .args(["check", "--input"])
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .current_dir(dir.path());
    // The sandbox images are shared with the other tests (fetched once).
    if std::env::var_os("VERDICT_SANDBOX_DIR").is_none() {
        let home = std::env::var_os("HOME").expect("HOME");
        command.env(
            "VERDICT_SANDBOX_DIR",
            std::path::Path::new(&home).join(".cache/verdict"),
        );
    }
    let run = command.output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let verdicts: Vec<String> = std::fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap()["result"]["verdict"].to_string())
        .collect();
    assert_eq!(verdicts, vec!["\"accepted\"", "\"wrong_answer\"", "\"correct\""]);
}
