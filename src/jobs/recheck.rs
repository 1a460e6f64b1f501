//! One stored submission judged again as it was sent, under today's policy of the same name.

use serde_json::json;

use crate::grading::Grader;
use crate::reward;
use crate::store::{self, Reverification, Submission};
use crate::wire::parse_item;

/// Judges a stored submission again as it was sent (task, completion and the client's length
/// signals) under today's policy of the same name.
pub async fn recheck(grader: &Grader, old: &Submission) -> Reverification {
    let raw = json!({
        "id": old.item_id,
        "prompt": old.prompt,
        "completion": old.completion,
        "task": old.task,
        "truncated": old.truncated,
        "completion_tokens": old.completion_tokens,
    });
    let policy = grader.config.policies.get(&old.policy);
    let outcome = match (&policy, parse_item(raw)) {
        (None, _) => Err(json!({ "error": { "code": "policy_gone",
            "message": format!("policy `{}` is no longer configured", old.policy) } })),
        (Some(policy), Ok(item)) => grader
            .judge_one(item, policy.clone())
            .await
            .map(|mut judgement| {
                reward::carry_group_terms(&mut judgement, &old.components, policy);
                judgement
            })
            .map_err(|error| json!({ "error": error })),
        (Some(_), Err(error)) => Err(json!({ "error": error })),
    };
    // An item today's code cannot judge is reported as verdict `error`, never as a reward of
    // 0 that was earned.
    let (new_verdict, new_reward, details) = match outcome {
        Ok(judgement) => (
            judgement.verdict.as_str().to_owned(),
            judgement.reward,
            json!({ "extracted": judgement.extracted, "format_ok": judgement.format_ok,
                    "components": judgement.components, "details": judgement.details }),
        ),
        Err(details) => ("error".to_owned(), 0.0, details),
    };
    Reverification {
        reverification_id: store::new_id(),
        submission_id: old.submission_id.clone(),
        policy_version: policy.map_or_else(|| "gone".to_owned(), |p| p.version()),
        service_version: env!("CARGO_PKG_VERSION").to_owned(),
        drifted: new_verdict != old.verdict || (new_reward - old.reward).abs() > 1e-9,
        old_verdict: old.verdict.clone(),
        old_reward: old.reward,
        new_verdict,
        new_reward,
        details,
        created_at: store::now_ms(),
    }
}
