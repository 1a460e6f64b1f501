//! HumanEval through `/v1/rewards` in the real sandbox: every canonical solution is accepted
//! (assert-based), and the same solution with its body replaced by a constant is not.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::spawn_app_with;

fn problems() -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/code/HumanEval.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn item(problem: &Value, body: &str) -> Value {
    let code = format!("{}{}", problem["prompt"].as_str().unwrap(), body);
    json!({
        "id": problem["task_id"],
        "completion": format!("<think>Implement it.</think>\n```python\n{code}\n```\n"),
        "task": { "kind": "code", "language": "python",
                  "entry_point": problem["entry_point"], "assert": problem["test"],
                  "limits": { "time_ms": 10000 } },
    })
}

#[tokio::test]
async fn every_canonical_solution_is_accepted_and_every_constant_body_rejected() {
    // 328 Python runs share the sandbox with the other tests: a deadline that is no test.
    let app = spawn_app_with(|config| config.limits.request_timeout = Duration::from_secs(1800)).await;
    let problems = problems();
    assert_eq!(problems.len(), 164);
    let canonical: Vec<Value> = problems
        .iter()
        .map(|p| item(p, p["canonical_solution"].as_str().unwrap()))
        .collect();
    let constant: Vec<Value> = problems.iter().map(|p| item(p, "    return None\n")).collect();

    for (items, expect_accepted) in [(canonical, true), (constant, false)] {
        let reply = app
            .post_json("/v1/rewards", &json!({ "run_id": "humaneval", "items": items }))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let results = reply.body["results"].as_array().unwrap();
        assert_eq!(results.len(), 164);
        let wrong: Vec<String> = results
            .iter()
            .filter(|r| (r["verdict"] == "accepted") != expect_accepted)
            .map(|r| format!("{} {} {}", r["id"], r["verdict"], r["error"]))
            .collect();
        assert!(
            wrong.is_empty(),
            "{} of 164 {} : {wrong:#?}",
            wrong.len(),
            if expect_accepted {
                "canonical solutions not accepted"
            } else {
                "constant bodies accepted"
            }
        );
    }
}
