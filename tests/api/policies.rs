//! The richer policy terms through `/v1/rewards`: format as a gate, the truncation penalty
//! and DAPO's overlong penalty, with the client's signals stored and a re-check reproducing
//! the same reward.

use std::collections::BTreeMap;

use serde_json::json;
use verdict::reward::{FormatMode, GroupLength, Overlong, PolicyConfig, PolicySet};

use crate::helpers::spawn_app_with;

#[tokio::test]
async fn gate_truncation_and_overlong_terms_shape_the_reward_and_survive_a_recheck() {
    let app = spawn_app_with(|config| {
        let mut policies = BTreeMap::new();
        policies.insert(
            "dapo".to_owned(),
            PolicyConfig {
                format_mode: FormatMode::Gate,
                truncated_penalty: 0.5,
                overlong: Some(Overlong {
                    max_length: 100,
                    buffer: 50,
                    factor: 1.0,
                }),
                ..PolicyConfig::default()
            },
        );
        config.policies = PolicySet::new(&policies).unwrap();
    })
    .await;
    let task = json!({ "kind": "math", "answer": "4" });
    let reply = app
        .post_json(
            "/v1/rewards",
            &json!({ "policy": "dapo", "items": [
                { "id": "cut", "completion": "<think>t</think> \\boxed{4}", "task": task,
                  "truncated": true, "completion_tokens": 75 },
                { "id": "unformatted", "completion": "\\boxed{4}", "task": task },
                { "id": "fine", "completion": "<think>t</think> \\boxed{4}", "task": task, "completion_tokens": 10 },
                { "id": "bad", "completion": "x", "task": task, "truncated": "yes" },
            ] }),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let results = reply.body["results"].as_array().unwrap();
    let cut = &results[0];
    assert_eq!(
        cut["components"],
        json!({ "accuracy": 1.0, "truncated": -0.5, "overlong": -0.5 })
    );
    assert_eq!(cut["reward"], 0.0);
    assert_eq!(
        results[1]["components"]["accuracy"], 0.0,
        "gated: no format, no accuracy"
    );
    assert_eq!(results[2]["reward"], 1.0);
    assert_eq!(results[3]["error"]["field"], "items[3].truncated");

    let id = cut["submission_id"].as_str().unwrap();
    let stored = app.get(&format!("/v1/submissions/{id}")).await;
    assert_eq!(stored.body["truncated"], true);
    assert_eq!(stored.body["completion_tokens"], 75);
    assert!(
        stored.body["policy_version"]
            .as_str()
            .unwrap()
            .starts_with("dapo@")
    );
    let recheck = app
        .post_json(&format!("/v1/submissions/{id}/reverify"), &json!({}))
        .await;
    assert_eq!(recheck.status, 200, "{}", recheck.body);
    assert_eq!(
        recheck.body["drifted"], false,
        "the signals were stored: {}",
        recheck.body
    );

    // The built-in r1 keeps the version it had before these terms existed.
    let plain = app
        .post_json(
            "/v1/rewards",
            &json!({ "items": [{ "completion": "\\boxed{4}", "task": task }] }),
        )
        .await;
    let r1 = plain.body["results"][0]["submission_id"].as_str().unwrap();
    let stored = app.get(&format!("/v1/submissions/{r1}")).await;
    assert_eq!(stored.body["policy_version"], PRE_EXISTING_R1_VERSION);
}

#[tokio::test]
async fn the_group_length_term_is_computed_per_group_stored_and_carried_through_a_recheck() {
    let app = spawn_app_with(|config| {
        let mut policies = BTreeMap::new();
        policies.insert(
            "kimi".to_owned(),
            PolicyConfig {
                group_length: Some(GroupLength { weight: 1.0 }),
                ..PolicyConfig::default()
            },
        );
        config.policies = PolicySet::new(&policies).unwrap();
    })
    .await;
    let task = json!({ "kind": "math", "answer": "4" });
    let item = |group: &str, tokens: u64, answer: &str| {
        json!({ "group": group, "completion": format!("<think>t</think> \\boxed{{{answer}}}"),
                "task": task, "completion_tokens": tokens })
    };
    let reply = app
        .post_json(
            "/v1/rewards",
            &json!({ "policy": "kimi", "items": [
                item("a", 10, "4"), item("a", 30, "4"), item("a", 20, "5"),
                // Another group: its lengths are ranked on their own.
                item("b", 100, "4"), item("b", 100, "5"),
                // Not in any group: no group term at all.
                { "completion": "<think>t</think> \\boxed{4}", "task": task, "completion_tokens": 1 },
            ] }),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let results = reply.body["results"].as_array().unwrap();
    let terms: Vec<_> = results
        .iter()
        .map(|r| r["components"]["group_length"].clone())
        .collect();
    assert_eq!(
        terms,
        [
            json!(0.5),
            json!(-0.5),
            json!(0.0),
            json!(0.0),
            json!(0.0),
            json!(null)
        ]
    );
    assert_eq!(results[0]["reward"], 2.5);
    assert_eq!(results[1]["reward"], 1.5);
    // The group statistics see the final rewards.
    assert_eq!(reply.body["groups"]["a"]["mean"], json!((2.5 + 1.5 + 1.0) / 3.0));

    let id = results[1]["submission_id"].as_str().unwrap();
    let stored = app.get(&format!("/v1/submissions/{id}")).await;
    assert_eq!(stored.body["reward"], 1.5);
    assert_eq!(stored.body["components"]["group_length"], -0.5);
    let recheck = app
        .post_json(&format!("/v1/submissions/{id}/reverify"), &json!({}))
        .await;
    assert_eq!(recheck.status, 200, "{}", recheck.body);
    assert_eq!(recheck.body["drifted"], false, "{}", recheck.body);
}

/// `r1@…` as computed before the policy gained its shaping terms. It changed once on purpose
/// (from `r1@d8e17afa80b7`): r1 now reads a `<think>` opened by the prompt from the prompt
/// (`think_opened_in_prompt` unset), which judges such completions differently, so an auditor
/// must be able to tell the two apart (docs/trainers.md).
const PRE_EXISTING_R1_VERSION: &str = "r1@5d32d89d327a";
