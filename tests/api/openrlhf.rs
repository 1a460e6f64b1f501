//! OpenRLHF's remote reward protocol on `/get_reward`, as OpenRLHF 0.11's client sends it:
//! the query is the prompt and the response decoded with special tokens kept, one or many
//! samples a request, labels straight from the dataset's label column.

use serde_json::{Value, json};

use crate::helpers::{TestApp, math_item, spawn_app, spawn_app_with};

const PROMPT: &str = "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n";
/// What OpenRLHF appends to a finished response when it keeps special tokens.
const END_OF_TURN: &str = "<|im_end|>";

fn responses() -> Vec<&'static str> {
    vec![
        "<think>2+2=4</think> \\boxed{4}",
        "<think>hm</think> \\boxed{5}",
        "\\boxed{4}",
        "<think>x</think> no box",
    ]
}

async fn get_reward(app: &TestApp, body: Value) -> Value {
    let reply = app.post_json("/get_reward", &body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

/// Every list OpenRLHF makes a tensor of holds numbers only.
fn assert_numbers_only(body: &Value) {
    let mut lists = vec![("rewards", &body["rewards"]), ("scores", &body["scores"])];
    for (name, list) in body["extra_logs"].as_object().expect("extra_logs") {
        lists.push((name.as_str(), list));
    }
    for (name, list) in lists {
        let list = list.as_array().unwrap_or_else(|| panic!("{name} is a list: {body}"));
        assert!(list.iter().all(Value::is_number), "{name} holds numbers only: {body}");
    }
}

#[tokio::test]
async fn rewards_come_in_request_order_and_equal_the_rewards_endpoint() {
    let app = spawn_app().await;
    let queries: Vec<String> = responses().iter().map(|r| format!("{PROMPT}{r}{END_OF_TURN}")).collect();
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
    // `scores` is accuracy in [0, 1] for OpenRLHF's dynamic filtering, not the 0–2 reward.
    assert_eq!(reply.body["scores"], json!([1.0, 0.0, 1.0, 0.0]));
    assert_eq!(reply.body["extra_logs"]["accuracy"], json!([1.0, 0.0, 1.0, 0.0]));
    assert_eq!(reply.body["extra_logs"]["format"], json!([1.0, 1.0, 0.0, 1.0]));
    assert_eq!(reply.body["extra_logs"]["judged"], json!([1.0, 1.0, 1.0, 1.0]));
    assert_eq!(reply.body["errors"], json!([]));
    assert_numbers_only(&reply.body);

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
        assert_eq!(stored.body["completion"], format!("{}{END_OF_TURN}", responses()[index]));
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
async fn unjudgeable_queries_get_the_fallback_and_a_reason_never_null() {
    let app = spawn_app().await;
    let unknown_kind = json!({ "kind": "chemistry" }).to_string();
    let good = format!("{PROMPT}<think>t</think> \\boxed{{4}}");
    let body = get_reward(
        &app,
        json!({
            "query": [good, "a query without its prompt", format!("{PROMPT}x"), good, good, good],
            "prompts": [PROMPT, PROMPT, PROMPT, PROMPT, PROMPT, PROMPT],
            "labels": ["4", "4", unknown_kind, "\\frac{", null, {"question": "q"}],
        }),
    )
    .await;
    assert_numbers_only(&body);
    assert_eq!(body["rewards"], json!([2.0, 0.0, 0.0, 0.0, 0.0, 0.0]));
    assert_eq!(body["extra_logs"]["judged"], json!([1.0, 0.0, 0.0, 0.0, 0.0, 0.0]));
    assert_eq!(body["submission_ids"][1], Value::Null);
    let errors = body["errors"].as_array().unwrap();
    let indexed: Vec<(u64, &str)> = errors
        .iter()
        .map(|error| (error["index"].as_u64().unwrap(), error["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        indexed,
        [
            (1, "prompt_not_found"),
            (2, "unknown_kind"),
            (3, "invalid_task"),
            (4, "invalid_label"),
            (5, "invalid_label")
        ],
        "{body}"
    );
    assert_eq!(errors[3]["field"], "labels[4]");
}

#[tokio::test]
async fn the_fallback_reward_is_configurable() {
    let app = spawn_app_with(|config| config.unjudged_reward = -1.0).await;
    let body = get_reward(&app, json!({ "query": ["no prompt here"], "prompts": [PROMPT], "labels": ["4"] })).await;
    assert_eq!(body["rewards"], json!([-1.0]));
    assert_eq!(body["scores"], json!([0.0]));
    assert_eq!(body["extra_logs"]["judged"], json!([0.0]));
}

#[tokio::test]
async fn empty_lists_get_empty_lists() {
    let app = spawn_app().await;
    let body = get_reward(&app, json!({ "query": [], "prompts": [], "labels": [] })).await;
    assert_eq!(body["rewards"], json!([]));
    assert_eq!(body["scores"], json!([]));
    assert_eq!(body["extra_logs"]["accuracy"], json!([]));
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
async fn labels_of_every_json_type_are_read() {
    let app = spawn_app().await;
    let query = format!("{PROMPT}<think>t</think> \\boxed{{4}}{END_OF_TURN}");
    let labels = json!(["4", 4, 4.0, ["4"], { "kind": "math", "answer": "4" }, r#"{"kind": "math", "answer": "4"}"#, 5]);
    let count = labels.as_array().unwrap().len();
    let body = get_reward(
        &app,
        json!({ "query": vec![query; count], "prompts": vec![PROMPT; count], "labels": labels }),
    )
    .await;
    assert_eq!(body["rewards"], json!([2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 1.0]), "{body}");
    assert_eq!(body["errors"], json!([]));
}

#[tokio::test]
async fn a_prompt_that_opens_think_is_judged_with_the_default_policy() {
    let app = spawn_app().await;
    // DeepSeek-R1-Distill's template ends the prompt inside the reasoning block.
    let prompt = "<｜begin▁of▁sentence｜><｜User｜>What is 2+2?<｜Assistant｜><think>\n";
    let body = get_reward(
        &app,
        json!({
            "query": [
                format!("{prompt}2+2 is 4.\n</think>\n\\boxed{{4}}<｜end▁of▁sentence｜>"),
                format!("{prompt}<think>again</think> \\boxed{{4}}"),
            ],
            "prompts": [prompt, prompt],
            "labels": ["4", "4"],
        }),
    )
    .await;
    assert_eq!(body["extra_logs"]["format"], json!([1.0, 0.0]), "{body}");
    assert_eq!(body["rewards"], json!([2.0, 1.0]));
}

#[tokio::test]
async fn code_labels_in_the_datasets_shapes_are_code_tasks() {
    let app = spawn_app().await;
    let program = "<think>read two numbers</think>\n```python\na, b = map(int, input().split())\nprint(a + b)\n```";
    let wrong = "<think>guess</think>\n```python\nprint(3)\n```";
    let apps = json!({ "inputs": ["1 2\n", "10 -4\n"], "outputs": ["3\n", "6\n"] });
    let open_r1 = json!({ "language": "python", "test_cases": [
        { "input": "1 2\n", "output": "3\n", "type": "stdin_stdout" },
        { "input": "5 5\n", "output": "10\n", "type": "stdin_stdout" } ] });
    let calls = json!({ "fn_name": "add", "inputs": [[1, 2], [3, 4]], "outputs": [[3], [7]] });
    let add = "<think>add</think>\n```python\ndef add(a, b):\n    return a + b\n```";
    let queries = [program, wrong, program, add, add]
        .iter()
        .map(|response| format!("{PROMPT}{response}{END_OF_TURN}"))
        .collect::<Vec<_>>();
    let body = get_reward(
        &app,
        json!({
            "query": queries,
            "prompts": vec![PROMPT; 5],
            "labels": [apps.to_string(), apps, open_r1, calls, { "verification_info": { "language": "python",
                "test_cases": [{ "input": "", "output": "", "type": "function_call" }] } }],
        }),
    )
    .await;
    assert_eq!(body["scores"], json!([1.0, 0.0, 1.0, 1.0, 0.0]), "{body}");
    assert_eq!(body["extra_logs"]["judged"], json!([1.0, 1.0, 1.0, 1.0, 0.0]));
    assert_eq!(body["errors"][0]["field"], "labels[4].test_cases[0].type");
}

#[tokio::test]
async fn a_whole_rollout_beyond_the_batch_limit_is_judged_in_order() {
    let app = spawn_app_with(|config| config.limits.max_batch_items = 3).await;
    let answers: Vec<String> = (0..8).map(|n| n.to_string()).collect();
    let queries: Vec<String> = answers
        .iter()
        .enumerate()
        .map(|(i, _)| format!("{PROMPT}<think>t</think> \\boxed{{{}}}", if i % 2 == 0 { i } else { 100 }))
        .collect();
    let body = get_reward(
        &app,
        json!({ "query": queries, "prompts": vec![PROMPT; 8], "labels": answers }),
    )
    .await;
    assert_eq!(body["scores"], json!([1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0]), "{body}");
    let ids: std::collections::BTreeSet<&str> = body["submission_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 8);
}

#[tokio::test]
async fn a_retried_rollout_gets_the_stored_results_instead_of_new_ones() {
    let app = spawn_app().await;
    let query = format!("{PROMPT}<think>t</think> \\boxed{{4}}");
    let rollout = json!({ "query": [query, query], "prompts": [PROMPT, PROMPT], "labels": ["4", "5"] });
    let first = get_reward(&app, rollout.clone()).await;
    let retry = get_reward(&app, rollout).await;
    assert_eq!(first["submission_ids"], retry["submission_ids"]);
    assert_eq!(first["rewards"], retry["rewards"]);

    // One sample a request (OpenRLHF's default): two identical samples are two submissions.
    let single = json!({ "query": [query], "prompts": [PROMPT], "labels": ["4"] });
    let one = get_reward(&app, single.clone()).await;
    let two = get_reward(&app, single.clone()).await;
    assert_ne!(one["submission_ids"], two["submission_ids"]);

    // Unless the client names its retries.
    let keyed = |key: &'static str| {
        app.client
            .post(format!("{}/get_reward", app.base))
            .header("idempotency-key", key)
            .json(&single)
            .send()
    };
    let a: Value = keyed("sample-17").await.unwrap().json().await.unwrap();
    let b: Value = keyed("sample-17").await.unwrap().json().await.unwrap();
    let c: Value = keyed("sample-18").await.unwrap().json().await.unwrap();
    assert_eq!(a["submission_ids"], b["submission_ids"]);
    assert_ne!(a["submission_ids"], c["submission_ids"]);
}
