use std::collections::BTreeMap;

use super::*;

fn math_item(completion: &str, answer: &str) -> RewardItem {
    RewardItem {
        id: None,
        prompt: None,
        completion: completion.to_owned(),
        task: Task::Math {
            answer: answer.to_owned(),
        },
        signals: Signals::default(),
    }
}

fn math_details(judged: &Judgement) -> &MathDetails {
    match &judged.details {
        Details::Math(details) => details,
        other => panic!("expected math details, got {other:?}"),
    }
}

fn r1() -> std::sync::Arc<Policy> {
    PolicySet::new(&BTreeMap::new()).unwrap().default_policy()
}

#[test]
fn correct_well_formatted_answer_earns_both_rewards() {
    let judged = judge(
        &math_item("<think>1/2</think> so \\boxed{\\frac{1}{2}}", "0.5"),
        &r1(),
    )
    .unwrap();
    assert_eq!(judged.verdict, Verdict::Correct);
    assert_eq!(judged.reward, 2.0);
    assert_eq!(judged.components["accuracy"], 1.0);
    assert_eq!(judged.components["format"], 1.0);
    assert!(judged.format_ok);
    assert_eq!(judged.extracted.as_deref(), Some("\\frac{1}{2}"));
    assert!(math_details(&judged).method.is_some());
}

#[test]
fn wrong_answer_keeps_only_the_format_reward() {
    let judged = judge(&math_item("<think>hm</think> \\boxed{3}", "4"), &r1()).unwrap();
    assert_eq!(judged.verdict, Verdict::Incorrect);
    assert_eq!(judged.reward, 1.0);
}

#[test]
fn a_box_inside_the_reasoning_is_not_an_answer() {
    let judged = judge(&math_item("<think>\\boxed{4}</think> I am not sure", "4"), &r1()).unwrap();
    assert_eq!(judged.verdict, Verdict::NoAnswer);
    assert_eq!(judged.components["accuracy"], 0.0);
    assert_eq!(judged.extracted, None);
}

#[test]
fn right_answer_without_think_block_earns_accuracy_only() {
    let judged = judge(&math_item("The answer is \\boxed{4}", "4"), &r1()).unwrap();
    assert_eq!(judged.verdict, Verdict::Correct);
    assert_eq!(judged.reward, 1.0);
    assert_eq!(math_details(&judged).format_error, Some("no <think> tag"));
}

#[test]
fn an_unparsable_gold_is_an_item_error_not_a_zero() {
    let err = judge(&math_item("<think>x</think> \\boxed{4}", "\\frac{"), &r1()).unwrap_err();
    assert_eq!(err.code, crate::reward::ItemErrorCode::InvalidTask);
    assert_eq!(err.field.as_deref(), Some("task.answer"));
}

#[test]
fn weights_come_from_the_policy() {
    let policy = Policy::new(
        "half-format",
        PolicyConfig {
            format_weight: 0.5,
            accuracy_weight: 2.0,
            ..PolicyConfig::default()
        },
    )
    .unwrap();
    let judged = judge(&math_item("<think>x</think> \\boxed{4}", "4"), &policy).unwrap();
    assert_eq!(judged.reward, 2.5);
}

#[test]
fn hedging_with_several_boxes_is_penalised_when_the_policy_asks() {
    let policy = Policy::new(
        "no-hedging",
        PolicyConfig {
            multiple_answers_penalty: 0.5,
            ..PolicyConfig::default()
        },
    )
    .unwrap();
    let hedged = judge(
        &math_item(
            "<think>x</think> \\boxed{3}. Wait, actually it is \\boxed{4}",
            "4",
        ),
        &policy,
    )
    .unwrap();
    assert_eq!(hedged.verdict, Verdict::Correct);
    assert_eq!(hedged.components["multiple_answers"], -0.5);
    assert_eq!(hedged.reward, 1.5);
    assert_eq!(math_details(&hedged).distinct_boxed_answers, Some(2));

    let restated = judge(
        &math_item("<think>x</think> \\boxed{0.5}, that is \\boxed{\\frac12}", "1/2"),
        &policy,
    )
    .unwrap();
    assert_eq!(restated.components["multiple_answers"], 0.0);
    assert_eq!(restated.reward, 2.0);
}

#[test]
fn text_fallback_is_off_in_r1_and_on_when_the_policy_enables_it() {
    let item = math_item("<think>x</think> The final answer is 12", "12");
    assert_eq!(judge(&item, &r1()).unwrap().verdict, Verdict::NoAnswer);
    let lenient = Policy::new(
        "lenient",
        PolicyConfig {
            text_fallbacks: true,
            ..PolicyConfig::default()
        },
    )
    .unwrap();
    assert_eq!(judge(&item, &lenient).unwrap().verdict, Verdict::Correct);
}
