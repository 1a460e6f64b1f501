use serde_json::json;

use crate::helpers::{math_item, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_correct_well_formatted_math_answer_earns_two() {
    let app = spawn_app().await;
    let reply = app
        .post_json(
            "/v1/rewards",
            &json!({ "run_id": "run-a", "items": [math_item("p17-s3", "<think>half</think> The answer is \\boxed{\\frac{1}{2}}", "0.5")] }),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["run_id"], "run-a");
    assert_eq!(reply.body["policy"], "r1");
    let result = &reply.body["results"][0];
    assert_eq!(result["id"], "p17-s3");
    assert_eq!(result["reward"], 2.0);
    assert_eq!(result["components"], json!({ "accuracy": 1.0, "format": 1.0 }));
    assert_eq!(result["verdict"], "correct");
    assert_eq!(result["format_ok"], true);
    assert_eq!(result["extracted"], "\\frac{1}{2}");
    assert!(result["details"]["method"].is_string(), "{result}");
    assert!(result["details"]["gold"].is_string(), "{result}");
    assert!(result["elapsed_ms"].as_f64().unwrap() >= 0.0);
    let submission_id = result["submission_id"].as_str().expect("a judged item is stored");
    assert_eq!(submission_id.len(), 26, "a ULID: {submission_id}");
}

#[tokio::test]
async fn every_item_gets_its_own_verdict_in_order() {
    let app = spawn_app().await;
    let items = json!([
        math_item("wrong", "<think>t</think> \\boxed{3}", "4"),
        math_item("unformatted", "so \\boxed{4}", "4"),
        math_item("none", "<think>\\boxed{4}</think> no idea", "4"),
        math_item("right", "<think>t</think> \\boxed{4}", "4"),
    ]);
    let reply = app.post_json("/v1/rewards", &json!({ "items": items })).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let results = reply.body["results"].as_array().unwrap();
    let summary: Vec<(&str, &str, f64)> = results
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap(),
                r["verdict"].as_str().unwrap(),
                r["reward"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("wrong", "incorrect", 1.0),
            ("unformatted", "correct", 1.0),
            ("none", "no_answer", 1.0),
            ("right", "correct", 2.0),
        ]
    );
    assert_eq!(results[1]["format_ok"], false);
    assert_eq!(results[1]["details"]["format_error"], "no <think> tag");
}

#[tokio::test]
async fn a_bad_item_fails_alone_and_names_its_field() {
    let app = spawn_app().await;
    let reply = app
        .post_json(
            "/v1/rewards",
            &json!({ "items": [
                math_item("ok", "<think>t</think> \\boxed{4}", "4"),
                { "id": "no-completion", "task": { "kind": "math", "answer": "4" } },
                { "id": "wrong-type", "completion": 7, "task": { "kind": "math", "answer": "4" } },
                { "id": "code", "completion": "```python\nprint(1)\n```", "task": { "kind": "code", "language": "python", "tests": [] } },
                { "id": "alien", "completion": "x", "task": { "kind": "chemistry" } },
                { "id": "no-answer", "completion": "x", "task": { "kind": "math" } },
                { "id": "bad-gold", "completion": "<think>t</think> \\boxed{4}", "task": { "kind": "math", "answer": "\\frac{" } },
                "not an object",
            ] }),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let results = reply.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 8);
    assert_eq!(results[0]["verdict"], "correct");
    let expectations = [
        (1, "invalid_item", "items[1].completion"),
        (2, "invalid_item", "items[2].completion"),
        (3, "invalid_item", "items[3].task.tests"),
        (4, "unknown_kind", "items[4].task.kind"),
        (5, "invalid_item", "items[5].task.answer"),
        (6, "invalid_task", "items[6].task.answer"),
        (7, "invalid_item", "items[7]"),
    ];
    for (index, code, field) in expectations {
        let result = &results[index];
        assert_eq!(result["error"]["code"], code, "item {index}: {result}");
        assert_eq!(result["error"]["field"], field, "item {index}: {result}");
        assert!(result["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(
            result.get("reward").is_none(),
            "an item error is never scored: {result}"
        );
    }
    assert!(
        results[4]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("chemistry")
    );
}

#[tokio::test]
async fn numeric_gold_answers_are_accepted() {
    let app = spawn_app().await;
    let reply = app
        .post_json(
            "/v1/rewards",
            &json!({ "items": [{ "completion": "<think>t</think> \\boxed{42}", "task": { "kind": "math", "answer": 42 } }] }),
        )
        .await;
    assert_eq!(reply.body["results"][0]["verdict"], "correct", "{}", reply.body);
}

#[tokio::test]
async fn an_unknown_policy_is_refused_by_name() {
    let app = spawn_app().await;
    let reply = app
        .post_json("/v1/rewards", &json!({ "policy": "nope", "items": [] }))
        .await;
    assert_eq!(reply.status, 422);
    assert_eq!(reply.error(), ("invalid_field".into(), Some("policy".into())));
}

#[tokio::test]
async fn a_configured_policy_changes_the_weights() {
    let app = spawn_app_with(|config| {
        let mut policies = std::collections::BTreeMap::new();
        policies.insert(
            "accuracy-only".to_owned(),
            verdict::reward::PolicyConfig {
                format_weight: 0.0,
                ..Default::default()
            },
        );
        config.policies = verdict::reward::PolicySet::new(&policies).unwrap();
    })
    .await;
    let reply = app
        .post_json(
            "/v1/rewards",
            &json!({ "policy": "accuracy-only", "items": [math_item("a", "<think>t</think> \\boxed{4}", "4")] }),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["policy"], "accuracy-only");
    assert_eq!(reply.body["results"][0]["reward"], 1.0);
    assert_eq!(reply.body["results"][0]["components"]["format"], 0.0);
}

#[tokio::test]
async fn a_batch_over_the_item_limit_is_refused() {
    let app = spawn_app_with(|config| config.limits.max_batch_items = 2).await;
    let item = math_item("a", "<think>t</think> \\boxed{4}", "4");
    let reply = app
        .post_json(
            "/v1/rewards",
            &json!({ "items": [item.clone(), item.clone(), item] }),
        )
        .await;
    assert_eq!(reply.status, 422);
    assert_eq!(reply.error(), ("invalid_field".into(), Some("items".into())));
}
