//! Reward integrity over HTTP, against the real server: the reward-hacking battery run against
//! a registered answer key (`POST /v1/datasets/{name}/probe`), golds sent as JSON numbers,
//! and chat-template end tokens that are not part of the answer.

use serde_json::{Value, json};

use crate::helpers::{TestApp, math_item, spawn_app};

async fn upload(app: &TestApp, name: &str, entries: &[Value]) -> Value {
    let body: Vec<String> = entries.iter().map(Value::to_string).collect();
    let reply = app
        .post_raw(
            &format!("/v1/datasets?name={name}"),
            "application/x-ndjson",
            body.join("\n").into_bytes(),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body
}

fn math_entry(id: &str, answer: &str) -> Value {
    json!({ "id": id, "task": { "kind": "math", "answer": answer } })
}

#[tokio::test]
async fn probing_a_clean_answer_key_finds_no_gold_a_degenerate_answer_satisfies() {
    let app = spawn_app().await;
    let entries = [
        math_entry("a", "12"),
        math_entry("b", "\\dfrac{9}{7}"),
        math_entry("c", "(1, 2)"),
        math_entry("d", "\\text{(C)}"),
        math_entry("e", "x \\in [2, 5)"),
    ];
    let uploaded = upload(&app, "clean", &entries).await;

    let reply = app.post_json("/v1/datasets/clean/probe", &json!({})).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["name"], "clean");
    assert_eq!(reply.body["version"], uploaded["version"]);
    assert_eq!(reply.body["policy"], "r1");
    assert_eq!(reply.body["golds"], 5);
    assert_eq!(reply.body["hits"], json!([]));
    assert_eq!(reply.body["flagged_golds"], 0);
    assert!(
        reply.body["pairs"].as_u64().unwrap() > 5 * 150,
        "{}",
        reply.body["pairs"]
    );
}

#[tokio::test]
async fn probing_flags_the_empty_set_gold_that_empty_answers_satisfy_and_names_the_answer() {
    let app = spawn_app().await;
    upload(
        &app,
        "weak",
        &[
            math_entry("solved", "7"),
            math_entry("no-solution", "\\emptyset"),
            math_entry("again", "\\varnothing"),
        ],
    )
    .await;

    let reply = app.post_json("/v1/datasets/weak/probe", &json!({})).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["flagged_golds"], 2, "{}", reply.body);
    let hits = reply.body["hits"].as_array().unwrap();
    assert!(!hits.is_empty());
    for hit in hits {
        assert!(
            hit["ids"] == json!(["no-solution"]) || hit["ids"] == json!(["again"]),
            "{hit}"
        );
        assert_eq!(hit["family"], "empty_group", "{hit}");
        assert!(hit["method"].is_string(), "{hit}");
    }
    assert!(hits.iter().any(|h| h["answer"] == "\\{\\}"), "{hits:?}");
    // Reading the key is not judging it: nothing is stored as a submission.
    let stored = app.get("/v1/submissions").await;
    assert_eq!(stored.body["submissions"], json!([]), "{}", stored.body);
}

#[tokio::test]
async fn probing_an_unknown_dataset_or_under_an_unknown_policy_is_refused() {
    let app = spawn_app().await;
    let missing = app.post_json("/v1/datasets/nothing/probe", &json!({})).await;
    assert_eq!(missing.status, 404, "{}", missing.body);

    upload(&app, "toy", &[math_entry("a", "1")]).await;
    let bad_policy = app
        .post_json("/v1/datasets/toy/probe?policy=nope", &json!({}))
        .await;
    assert_eq!(bad_policy.status, 422, "{}", bad_policy.body);
    let bad_version = app
        .post_json("/v1/datasets/toy/probe?version=0000", &json!({}))
        .await;
    assert_eq!(bad_version.status, 404, "{}", bad_version.body);
}

/// The largest integer serde_json holds exactly without `arbitrary_precision`; with it, every
/// digit of any integer is kept.
const BIG: &str = "18446744073709551615";
const BIG_MINUS_ONE: &str = "18446744073709551614";

#[tokio::test]
async fn a_gold_sent_as_a_json_number_is_read_exactly_in_math_verify() {
    let app = spawn_app().await;
    for (prediction, equal) in [(BIG, true), (BIG_MINUS_ONE, false)] {
        let body = format!(r#"{{"gold": {BIG}, "prediction": "\\boxed{{{prediction}}}"}}"#);
        let reply = app
            .post_raw("/v1/math/verify", "application/json", body.into_bytes())
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["equal"], equal, "{prediction}: {}", reply.body);
        assert_eq!(reply.body["gold"], BIG);
    }
}

#[tokio::test]
async fn a_gold_sent_as_a_json_number_is_read_exactly_in_rewards_and_get_reward() {
    let app = spawn_app().await;
    let completion = |n: &str| format!("<think>t</think> \\\\boxed{{{n}}}");
    let body = format!(
        r#"{{"items": [
            {{"id": "same", "completion": "{}", "task": {{"kind": "math", "answer": {BIG}}}}},
            {{"id": "off-by-one", "completion": "{}", "task": {{"kind": "math", "answer": {BIG}}}}}
        ]}}"#,
        completion(BIG),
        completion(BIG_MINUS_ONE)
    );
    let reply = app
        .post_raw("/v1/rewards", "application/json", body.into_bytes())
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["results"][0]["verdict"], "correct", "{}", reply.body);
    assert_eq!(reply.body["results"][1]["verdict"], "incorrect", "{}", reply.body);

    let prompt = "Q: ";
    let body = format!(
        r#"{{"query": ["{prompt}{}", "{prompt}{}"], "prompts": ["{prompt}", "{prompt}"], "labels": [{BIG}, {BIG}]}}"#,
        completion(BIG),
        completion(BIG_MINUS_ONE)
    );
    let reply = app
        .post_raw("/get_reward", "application/json", body.into_bytes())
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.body["extra_logs"]["accuracy"],
        json!([1.0, 0.0]),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn end_of_turn_tokens_after_the_answer_do_not_hide_it() {
    let app = spawn_app().await;
    let items: Vec<Value> = [
        "<think>t</think> \\boxed{4}<|im_end|>",
        "<think>t</think> \\boxed{4}<|eot_id|>\n<|endoftext|>",
        "<think>t</think> \\boxed{4}</s></s>",
        "<think>t</think> \\boxed{4}<｜end▁of▁sentence｜>",
    ]
    .iter()
    .enumerate()
    .map(|(i, c)| math_item(&i.to_string(), c, "4"))
    .collect();
    let reply = app.post_json("/v1/rewards", &json!({ "items": items })).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    for result in reply.body["results"].as_array().unwrap() {
        assert_eq!(result["verdict"], "correct", "{result}");
        assert_eq!(result["format_ok"], true, "{result}");
    }
}

#[tokio::test]
async fn content_free_boxes_earn_no_accuracy_over_http() {
    let app = spawn_app().await;
    let items: Vec<Value> = [
        "\\boxed{,}",
        "\\boxed{\\text{and}}",
        "\\boxed{\\{,\\}}",
        "\\boxed{\\text{Proved, as shown above}}",
    ]
    .iter()
    .enumerate()
    .map(|(i, b)| math_item(&i.to_string(), &format!("<think>t</think> {b}"), "12"))
    .collect();
    let reply = app.post_json("/v1/rewards", &json!({ "items": items })).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    for result in reply.body["results"].as_array().unwrap() {
        assert_eq!(result["verdict"], "unparsable", "{result}");
        assert_eq!(result["components"]["accuracy"], 0.0, "{result}");
    }
}
