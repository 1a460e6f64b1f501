//! OpenRLHF's remote reward protocol on `/get_reward`.

use serde_json::{Value, json};

use crate::helpers::{math_item, spawn_app};

const PROMPT: &str = "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n";

fn responses() -> Vec<&'static str> {
    vec![
        "<think>2+2=4</think> \\boxed{4}",
        "<think>hm</think> \\boxed{5}",
        "\\boxed{4}",
        "<think>x</think> no box",
    ]
}

#[tokio::test]
async fn rewards_come_in_request_order_and_equal_the_rewards_endpoint() {
    let app = spawn_app().await;
    let queries: Vec<String> = responses().iter().map(|r| format!("{PROMPT}{r}")).collect();
    let reply = app
        .post_json(
            "/get_reward?run_id=openrlhf-run",
            &json!({ "query": queries, "prompts": vec![PROMPT; 4], "labels": ["4", "4", "4", "4"] }),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    let direct = app
        .post_json(
            "/v1/rewards",
            &json!({ "items": responses().iter().enumerate()
                .map(|(i, r)| math_item(&i.to_string(), r, "4")).collect::<Vec<_>>() }),
        )
        .await;
    let expected: Vec<Value> = direct.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reward"].clone())
        .collect();
    assert_eq!(reply.body["rewards"].as_array().unwrap(), &expected);
    assert_eq!(reply.body["rewards"], json!([2.0, 1.0, 1.0, 1.0]));
    assert_eq!(reply.body["scores"], reply.body["rewards"]);
    assert_eq!(reply.body["extra_logs"]["accuracy"], json!([1.0, 0.0, 1.0, 0.0]));
    assert_eq!(reply.body["extra_logs"]["format"], json!([1.0, 1.0, 0.0, 1.0]));

    // Stored like any other reward, under the run named in the URL.
    for (index, id) in reply.body["submission_ids"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let stored = app
            .get(&format!("/v1/submissions/{}", id.as_str().unwrap()))
            .await;
        assert_eq!(stored.status, 200, "{}", stored.body);
        assert_eq!(stored.body["run_id"], "openrlhf-run");
        assert_eq!(stored.body["completion"], responses()[index]);
        assert_eq!(stored.body["reward"], expected[index]);
    }
}

#[tokio::test]
async fn the_run_may_come_from_a_header() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(format!("{}/get_reward", app.base))
        .header("x-verdict-run-id", "header-run")
        .json(&json!({ "query": [format!("{PROMPT}<think>t</think> \\boxed{{4}}")], "prompts": [PROMPT], "labels": ["4"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let runs = app.get("/v1/runs/header-run").await;
    assert_eq!(runs.status, 200, "{}", runs.body);
}

#[tokio::test]
async fn unjudgeable_queries_get_null_never_zero() {
    let app = spawn_app().await;
    let code_label = json!({ "kind": "chemistry" }).to_string();
    let reply = app
        .post_json(
            "/get_reward",
            &json!({
                "query": [format!("{PROMPT}<think>t</think> \\boxed{{4}}"), "a query without its prompt", format!("{PROMPT}x"), format!("{PROMPT}<think>t</think> \\boxed{{4}}")],
                "prompts": [PROMPT, PROMPT, PROMPT, PROMPT],
                "labels": ["4", "4", code_label, "\\frac{"],
            }),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["rewards"], json!([2.0, null, null, null]));
    assert_eq!(reply.body["submission_ids"][1], Value::Null);
}

#[tokio::test]
async fn lists_of_different_lengths_are_refused_naming_the_list() {
    let app = spawn_app().await;
    let reply = app
        .post_json(
            "/get_reward",
            &json!({ "query": ["a", "b"], "prompts": ["a", "b"], "labels": ["1"] }),
        )
        .await;
    assert_eq!(reply.status, 422);
    assert_eq!(reply.error(), ("invalid_field".into(), Some("labels".into())));
}

#[tokio::test]
async fn a_label_is_a_string_a_number_or_a_task_object_and_nothing_else() {
    let app = spawn_app().await;
    let query = format!("{PROMPT}<think>t</think> \\boxed{{4}}");
    let reply = app
        .post_json(
            "/get_reward",
            &json!({ "query": [query, query, query], "prompts": [PROMPT, PROMPT, PROMPT],
                     "labels": ["4", { "kind": "math", "answer": "4" }, 4] }),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["rewards"], json!([2.0, 2.0, 2.0]));

    // Found by schemathesis: a list used to be accepted and come back as an unjudged query.
    for label in [json!([0.0]), json!(null), json!(true)] {
        let reply = app
            .post_json(
                "/get_reward",
                &json!({ "query": [query], "prompts": [PROMPT], "labels": [label] }),
            )
            .await;
        assert_eq!(reply.status, 422, "{label}: {}", reply.body);
        let (_, field) = reply.error();
        assert!(
            field.as_deref().is_some_and(|f| f.starts_with("labels")),
            "{label}: {}",
            reply.body
        );
    }
}
