//! `verdict probe` runs the reward-hacking battery against an answer key, a JSONL file or a
//! registered dataset, and lists every gold a degenerate answer would satisfy; it exits with
//! status 1 when one does, so a CI job can gate an answer key on it.

use std::path::Path;
use std::process::{Command, Output};

fn verdict(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args(args)
        .arg("--database-url")
        .arg(format!("sqlite://{}", data_dir.join("verdict.db").display()))
        .arg("--data-dir")
        .arg(data_dir)
        .current_dir(data_dir)
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn write_key(dir: &Path, name: &str, golds: &[(&str, &str)]) -> String {
    let lines: Vec<String> = golds
        .iter()
        .map(|(id, gold)| {
            serde_json::json!({ "id": id, "task": { "kind": "math", "answer": gold } }).to_string()
        })
        .collect();
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n")).unwrap();
    path.display().to_string()
}

#[test]
fn a_clean_answer_key_file_probes_clean() {
    let dir = tempfile::tempdir().unwrap();
    let key = write_key(
        dir.path(),
        "clean.jsonl",
        &[
            ("a", "12"),
            ("b", "\\frac{9}{7}"),
            ("c", "\\text{(C)}"),
            ("d", "x^2 + 1"),
        ],
    );

    let run = verdict(dir.path(), &["probe", "--answers", &key]);

    let out = text(&run);
    assert!(run.status.success(), "{out}");
    assert!(
        out.contains("clean: no gold rewards a degenerate answer"),
        "{out}"
    );
    assert!(out.contains("4 math golds (4 distinct"), "{out}");
    assert!(!out.contains("FLAGGED"), "{out}");
}

#[test]
fn an_empty_set_gold_is_flagged_with_the_answer_that_passes_and_the_exit_status_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let key = write_key(dir.path(), "weak.jsonl", &[("ok", "12"), ("weak", "\\emptyset")]);

    let run = verdict(dir.path(), &["probe", "--answers", &key]);

    let out = text(&run);
    assert_eq!(run.status.code(), Some(1), "{out}");
    let flagged: Vec<&str> = out.lines().filter(|l| l.starts_with("FLAGGED")).collect();
    assert!(!flagged.is_empty(), "{out}");
    assert!(flagged.iter().all(|l| l.starts_with("FLAGGED weak:")), "{out}");
    assert!(
        flagged
            .iter()
            .any(|l| l.contains(r#""\\{\\}""#) && l.contains("empty_group")),
        "{out}"
    );
    assert!(
        out.contains("1 of 2 distinct golds reward a degenerate answer"),
        "{out}"
    );
}

#[test]
fn a_registered_dataset_is_probed_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let key = write_key(
        dir.path(),
        "key.jsonl",
        &[("p1", "\\varnothing"), ("p2", "(1, 2)")],
    );
    let import = verdict(dir.path(), &["datasets", "import", &key, "--name", "toy"]);
    assert!(import.status.success(), "{}", text(&import));

    let run = verdict(dir.path(), &["probe", "--dataset", "toy"]);

    let out = text(&run);
    assert_eq!(run.status.code(), Some(1), "{out}");
    assert!(out.contains("probed toy@"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("FLAGGED p1:")), "{out}");
    assert!(!out.lines().any(|l| l.starts_with("FLAGGED p2:")), "{out}");

    let missing = verdict(dir.path(), &["probe", "--dataset", "nothing"]);
    assert!(!missing.status.success());
    assert!(
        text(&missing).contains("no dataset `nothing`"),
        "{}",
        text(&missing)
    );
}
