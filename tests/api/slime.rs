//! slime's remote reward model on `/slime/reward`: one `{prompt, response, label}` sample a
//! request, the answer's `reward` read with `--reward-key reward`, and a 200 even for a sample
//! verdict cannot judge (slime retries any failure and then stops the job).

use serde_json::{Value, json};

use crate::helpers::{TestApp, math_item, spawn_app};

const PROMPT: &str = "<|im_start|>user\nWhat is 6*7?<|im_end|>\n<|im_start|>assistant\n";

async fn slime(app: &TestApp, body: Value) -> Value {
    let reply = app.post_json("/slime/reward?run_id=slime-run", &body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

#[tokio::test]
async fn a_sample_gets_the_same_reward_as_the_rewards_endpoint() {
    let app = spawn_app().await;
    for (response, label) in [
        ("<think>6*7=42</think> \\boxed{42}", json!("42")),
        ("<think>hm</think> \\boxed{41}", json!(42)),
        ("\\boxed{42}", json!(["42"])),
    ] {
        let body = slime(&app, json!({ "prompt": PROMPT, "response": response, "label": label })).await;
        let direct = app
            .post_json("/v1/rewards", &json!({ "items": [math_item("x", response, "42")] }))
            .await;
        assert_eq!(body["reward"], direct.body["results"][0]["reward"], "{response}");
        assert_eq!(body["judged"], 1.0);
        let stored = app
            .get(&format!("/v1/submissions/{}", body["submission_id"].as_str().unwrap()))
            .await;
        assert_eq!(stored.body["run_id"], "slime-run");
    }
}

#[tokio::test]
async fn an_unjudgeable_sample_is_a_200_with_the_fallback_and_the_reason() {
    let app = spawn_app().await;
    for label in [json!(null), json!({ "question": "what" }), json!("\\frac{")] {
        let body = slime(&app, json!({ "prompt": PROMPT, "response": "\\boxed{42}", "label": label })).await;
        assert_eq!(body["reward"], 0.0, "{body}");
        assert_eq!(body["judged"], 0.0, "{body}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    }
}

#[tokio::test]
async fn chat_messages_as_the_prompt_are_accepted() {
    let app = spawn_app().await;
    let body = slime(
        &app,
        json!({ "prompt": [{ "role": "user", "content": "6*7?" }],
                "response": "<think>42</think> \\boxed{42}", "label": "42" }),
    )
    .await;
    assert_eq!(body["reward"], 2.0, "{body}");
}

#[tokio::test]
async fn a_prompt_that_opens_think_is_read_from_the_prompt() {
    let app = spawn_app().await;
    let body = slime(
        &app,
        json!({ "prompt": format!("{PROMPT}<think>\n"), "response": "6*7=42</think> \\boxed{42}", "label": "42" }),
    )
    .await;
    assert_eq!(body["format"], 1.0, "{body}");
    assert_eq!(body["reward"], 2.0);
}

#[tokio::test]
async fn reward_items_may_carry_a_label_instead_of_a_task() {
    let app = spawn_app().await;
    let reply = app
        .post_json(
            "/v1/rewards",
            &json!({ "items": [
                { "id": "a", "completion": "<think>t</think> \\boxed{42}", "label": 42 },
                { "id": "b", "completion": "<think>t</think>\n```python\nprint(int(input()) * 7)\n```",
                  "label": { "inputs": ["6\n"], "outputs": ["42\n"] } },
                { "id": "c", "completion": "x", "label": "1", "task": { "kind": "math", "answer": "1" } },
                { "id": "d", "completion": "x", "label": { "question": "q" } },
            ] }),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let results = reply.body["results"].as_array().unwrap();
    assert_eq!(results[0]["reward"], 2.0, "{}", reply.body);
    assert_eq!(results[1]["verdict"], "accepted", "{}", reply.body);
    assert_eq!(results[2]["error"]["field"], "items[2].label");
    assert_eq!(results[3]["error"]["code"], "invalid_label");
    // The record holds the task the label stood for, so re-checks parse it like any task.
    let stored = app
        .get(&format!("/v1/submissions/{}", results[1]["submission_id"].as_str().unwrap()))
        .await;
    assert_eq!(stored.body["task"]["kind"], "code", "{}", stored.body);
}
