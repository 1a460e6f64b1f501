//! Code rewards through `/v1/rewards`, run in the real wasm sandbox: every test format, the
//! verdict taxonomy, and the rule that leaving early never passes.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

fn code_item(id: &str, completion: &str, task: Value) -> Value {
    json!({ "id": id, "completion": completion, "task": task })
}

fn fenced(language: &str, code: &str) -> String {
    format!("<think>plan</think>\n```{language}\n{code}\n```\n")
}

async fn judge(app: &TestApp, items: Vec<Value>) -> Vec<Value> {
    let reply = app.post_json("/v1/rewards", &json!({ "items": items })).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["results"].as_array().unwrap().clone()
}

#[tokio::test]
async fn stdin_stdout_tests_give_each_verdict() {
    let app = spawn_app().await;
    let sum_task = json!({ "kind": "code", "language": "python",
        "tests": [ { "stdin": "1 2\n", "stdout": "3\n" }, { "stdin": "10 -4\n", "stdout": "6\n" } ] });
    let results = judge(
        &app,
        vec![
            code_item("ok", &fenced("python", "print(sum(map(int, input().split())))"), sum_task.clone()),
            code_item("crlf", &fenced("python", "import sys\na,b=map(int,input().split())\nsys.stdout.write(str(a+b)+'   \\r\\n\\r\\n')"), sum_task.clone()),
            code_item("space", &fenced("python", "print(' ' + str(sum(map(int, input().split()))))"), sum_task.clone()),
            code_item("wrong", &fenced("python", "print(3)"), sum_task.clone()),
            code_item("crash-after", &fenced("python", "print(sum(map(int, input().split())))\nraise SystemExit(200)"), sum_task.clone()),
            code_item("syntax", &fenced("python", "print(("), sum_task.clone()),
            code_item("loop", &fenced("python", "while True: pass"),
                json!({ "kind": "code", "language": "python", "tests": [ { "stdin": "", "stdout": "" } ], "limits": { "time_ms": 500 } })),
            code_item("none", "<think>x</think> I cannot write code", sum_task.clone()),
            code_item("js", &fenced("javascript", "const [a, b] = std.in.readAsString().trim().split(' ').map(Number); console.log(a + b);"),
                json!({ "kind": "code", "language": "javascript", "tests": [ { "stdin": "1 2\n", "stdout": "3\n" } ] })),
        ],
    )
    .await;
    let verdicts: Vec<(&str, &str)> = results
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap(),
                r["verdict"].as_str().unwrap_or("<error>"),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        vec![
            ("ok", "accepted"),
            ("crlf", "accepted"),
            ("space", "wrong_answer"),
            ("wrong", "wrong_answer"),
            ("crash-after", "runtime_error"),
            ("syntax", "compile_error"),
            ("loop", "time_limit_exceeded"),
            ("none", "no_code"),
            ("js", "accepted"),
        ],
        "{results:#?}"
    );
    assert_eq!(results[0]["reward"], 2.0);
    assert_eq!(results[0]["details"]["passed"], 2);
    assert_eq!(results[0]["details"]["total"], 2);
    assert_eq!(results[3]["reward"], 1.0);
    // `print(3)` happens to pass the first test; the second shows where it differs.
    assert_eq!(results[3]["details"]["passed"], 1);
    assert_eq!(results[3]["details"]["tests"][1]["difference"]["line"], 1);
    assert!(results[0]["submission_id"].is_string());
}

#[tokio::test]
async fn call_based_tests_compare_return_values_as_json() {
    let app = spawn_app().await;
    let task = json!({ "kind": "code", "language": "python", "fn_name": "pair",
        "cases": [ { "args": [1, 2], "expected": [1, 2] }, { "args": [0, 0], "expected": [0, 0] } ] });
    let results = judge(
        &app,
        vec![
            code_item(
                "tuple",
                &fenced("python", "def pair(a, b):\n    print('noise')\n    return (a, b)"),
                task.clone(),
            ),
            code_item(
                "bool",
                &fenced(
                    "python",
                    "def pair(a, b):\n    return [a == 1, b == 2] if a else [False, False]",
                ),
                task.clone(),
            ),
            code_item(
                "missing",
                &fenced("python", "def other(a, b):\n    return [a, b]"),
                task.clone(),
            ),
            code_item(
                "class",
                &fenced(
                    "python",
                    "class Solution:\n    def pair(self, a, b):\n        return [a, b]",
                ),
                task.clone(),
            ),
        ],
    )
    .await;
    let verdicts: Vec<&str> = results
        .iter()
        .map(|r| r["verdict"].as_str().unwrap_or("<error>"))
        .collect();
    assert_eq!(
        verdicts,
        vec!["accepted", "wrong_answer", "runtime_error", "accepted"],
        "{results:#?}"
    );
}

#[tokio::test]
async fn assert_based_tests_separate_failed_asserts_from_crashes_and_early_exits() {
    let app = spawn_app().await;
    let task = json!({ "kind": "code", "language": "python", "entry_point": "add",
        "assert": "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-1, 1) == 0\n" });
    let results = judge(
        &app,
        vec![
            code_item(
                "right",
                &fenced("python", "def add(a, b):\n    return a + b"),
                task.clone(),
            ),
            code_item(
                "wrong",
                &fenced("python", "def add(a, b):\n    return 3"),
                task.clone(),
            ),
            code_item(
                "crash",
                &fenced("python", "def add(a, b):\n    return a / 0"),
                task.clone(),
            ),
            code_item(
                "exit-early",
                &fenced("python", "import sys\nsys.exit(0)"),
                task.clone(),
            ),
            code_item(
                "os-exit",
                &fenced("python", "import os\nos._exit(0)"),
                task.clone(),
            ),
            // A module the runner lacks: the program reruns on python.wasm, where the driver
            // is not built in and comes with the program.
            code_item(
                "fallback",
                &fenced("python", "import imghdr\ndef add(a, b):\n    return a + b"),
                task.clone(),
            ),
            code_item(
                "fallback-wrong",
                &fenced("python", "import imghdr\ndef add(a, b):\n    return 3"),
                task.clone(),
            ),
        ],
    )
    .await;
    let verdicts: Vec<&str> = results
        .iter()
        .map(|r| r["verdict"].as_str().unwrap_or("<error>"))
        .collect();
    assert_eq!(
        verdicts,
        vec![
            "accepted",
            "wrong_answer",
            "runtime_error",
            "runtime_error",
            "runtime_error",
            "accepted",
            "wrong_answer"
        ],
        "{results:#?}"
    );
    assert_eq!(results[0]["reward"], 2.0);
    assert_eq!(results[3]["reward"], 1.0, "leaving early earns no accuracy");
}

#[tokio::test]
async fn malformed_code_tasks_fail_alone_naming_the_field() {
    let app = spawn_app().await;
    let results = judge(
        &app,
        vec![
            code_item("lang", "x", json!({ "kind": "code", "language": "cobol", "tests": [ { "stdout": "" } ] })),
            code_item("two-formats", "x", json!({ "kind": "code", "language": "python", "tests": [ { "stdout": "" } ], "fn_name": "f", "cases": [] })),
            code_item("limit", "x", json!({ "kind": "code", "language": "python", "tests": [ { "stdout": "" } ], "limits": { "time_ms": 999999999 } })),
            code_item("no-tests", "x", json!({ "kind": "code", "language": "python", "tests": [] })),
        ],
    )
    .await;
    let fields: Vec<&str> = results
        .iter()
        .map(|r| r["error"]["field"].as_str().unwrap_or("<none>"))
        .collect();
    assert_eq!(
        fields,
        vec![
            "items[0].task.language",
            "items[1].task",
            "items[2].task.limits.time_ms",
            "items[3].task.tests"
        ],
        "{results:#?}"
    );
}

#[tokio::test]
async fn code_run_reports_status_output_and_time() {
    let app = spawn_app().await;
    let ok = app
        .post_json(
            "/v1/code/run",
            &json!({ "language": "python", "code": "import sys\nprint(sum(map(int, input().split())))\nprint('e', file=sys.stderr)", "stdin": "2 3\n" }),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["status"], "ok");
    assert_eq!(ok.body["exit_code"], 0);
    assert_eq!(ok.body["stdout"], "5\n");
    assert_eq!(ok.body["stderr"], "e\n");
    assert!(ok.body["time_ms"].as_f64().unwrap() > 0.0);
    assert!(
        ok.body.get("fuel").is_none(),
        "fuel is counted only when configured: {}",
        ok.body
    );

    let slow = app
        .post_json(
            "/v1/code/run",
            &json!({ "language": "js", "code": "while (true) {}", "limits": { "time_ms": 300 } }),
        )
        .await;
    assert_eq!(slow.body["status"], "time_limit_exceeded", "{}", slow.body);

    let noisy = app
        .post_json(
            "/v1/code/run",
            &json!({ "language": "python", "code": "print('x' * 10000)", "limits": { "output_bytes": 1000 } }),
        )
        .await;
    assert_eq!(noisy.body["status"], "output_limit_exceeded", "{}", noisy.body);
    assert_eq!(noisy.body["stdout_truncated"], true);
}

#[tokio::test]
async fn code_run_refuses_bad_requests_naming_the_field() {
    let app = spawn_app().await;
    for (body, field) in [
        (json!({ "language": "cobol", "code": "x" }), "language"),
        (json!({ "language": "python", "code": "  " }), "code"),
        (
            json!({ "language": "python", "code": "1", "limits": { "memory_mb": 0 } }),
            "limits.memory_mb",
        ),
        (json!({ "language": "python" }), "code"),
    ] {
        let reply = app.post_json("/v1/code/run", &body).await;
        assert_eq!(reply.status, 422, "{body}: {}", reply.body);
        assert_eq!(
            reply.error(),
            ("invalid_field".into(), Some(field.into())),
            "{body}"
        );
    }
}

#[tokio::test]
async fn the_efficiency_term_prefers_less_work_and_repeats_exactly() {
    use std::collections::BTreeMap;
    use verdict::reward::{CodeEfficiency, PolicyConfig, PolicySet};
    const REFERENCE_FUEL: u64 = 1_000;
    let app = crate::helpers::spawn_app_with(|config| {
        let mut policies = BTreeMap::new();
        policies.insert(
            "lean".to_owned(),
            PolicyConfig {
                code_efficiency: Some(CodeEfficiency {
                    weight: 1.0,
                    reference_fuel: REFERENCE_FUEL,
                }),
                ..PolicyConfig::default()
            },
        );
        config.policies = PolicySet::new(&policies).unwrap();
    })
    .await;
    let task = json!({ "kind": "code", "language": "python",
        "tests": [ { "stdin": "20000\n", "stdout": "199990000\n" } ] });
    let items = vec![
        code_item(
            "formula",
            &fenced("python", "n = int(input())\nprint(n * (n - 1) // 2)"),
            task.clone(),
        ),
        code_item(
            "loop",
            &fenced(
                "python",
                "n = int(input())\nt = 0\nfor i in range(n):\n    t += i\nprint(t)",
            ),
            task.clone(),
        ),
        code_item("wrong", &fenced("python", "print(0)"), task.clone()),
    ];
    let request = json!({ "policy": "lean", "items": items });
    let first = app.post_json("/v1/rewards", &request).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let results = first.body["results"].as_array().unwrap();
    let term = |r: &Value| r["components"]["efficiency"].as_f64().unwrap();
    for result in &results[..2] {
        let fuel = result["details"]["fuel"].as_u64().unwrap();
        assert_eq!(result["details"]["tests"][0]["fuel"].as_u64(), Some(fuel));
        let expected = (REFERENCE_FUEL as f64 / fuel as f64).min(1.0);
        // serde_json's default float parsing may be off in the last bit.
        assert!((term(result) - expected).abs() <= expected * 1e-12, "{result}");
    }
    assert!(term(&results[0]) > term(&results[1]), "{results:?}");
    assert_eq!(term(&results[2]), 0.0, "an unsolved item earns no efficiency");

    // Fuel does not depend on timing: the same batch again gives exactly the same rewards.
    let second = app.post_json("/v1/rewards", &request).await;
    let rewards = |body: &Value| -> Vec<f64> {
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["reward"].as_f64().unwrap())
            .collect()
    };
    assert_eq!(rewards(&first.body), rewards(&second.body));
}
