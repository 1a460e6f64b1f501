//! Judging a math completion: extract the last box of the answer part, compare it exactly
//! with the reference, and combine accuracy and format under the policy.

use std::collections::BTreeMap;

use super::{Details, ItemError, Judgement, MathDetails, Policy, Verdict};
use crate::completion::{answer_part, check_format};
use crate::math::{self, Side};
use crate::reward::ItemErrorCode;

/// At most this many differently written boxes are compared for the hedging penalty, so a
/// completion with thousands of boxes costs a bounded number of verifications.
const MAX_BOXES_COMPARED: usize = 32;

pub(super) fn judge(
    completion: &str,
    think_opened: bool,
    gold: &str,
    policy: &Policy,
) -> Result<Judgement, ItemError> {
    let format = check_format(completion, think_opened);
    let mut details = MathDetails {
        format_error: format.err().map(|violation| violation.explain()),
        ..MathDetails::default()
    };

    let extraction = math::extract_answer(answer_part(completion), &policy.math);
    let verdict = match &extraction {
        None => {
            // The gold must still be valid: a broken task is the caller's error, not a 0.
            let check = math::verify(gold, gold, &policy.math).map_err(invalid_gold)?;
            details.gold = check.gold;
            Verdict::NoAnswer
        }
        Some(extraction) => {
            details.answer_source = Some(extraction.source);
            match math::verify(gold, &extraction.answer, &policy.math) {
                Ok(equivalence) => {
                    details.gold = equivalence.gold;
                    details.predicted = Some(equivalence.predicted);
                    details.method = Some(equivalence.method);
                    if equivalence.equal {
                        Verdict::Correct
                    } else {
                        Verdict::Incorrect
                    }
                }
                Err(error) if error.side == Side::Prediction => {
                    let check = math::verify(gold, gold, &policy.math).map_err(invalid_gold)?;
                    details.gold = check.gold;
                    details.parse_error = Some(error.error.message);
                    Verdict::Unparsable
                }
                Err(error) => return Err(invalid_gold(error)),
            }
        }
    };

    let mut components = BTreeMap::new();
    let accuracy = if verdict == Verdict::Correct { 1.0 } else { 0.0 };
    let format_score = if format.is_ok() { 1.0 } else { 0.0 };
    components.insert("accuracy", policy.config.accuracy_weight * accuracy);
    components.insert("format", policy.config.format_weight * format_score);
    if policy.config.multiple_answers_penalty > 0.0 {
        let distinct = extraction
            .as_ref()
            .map_or(0, |extraction| distinct_answers(&extraction.all_boxed, policy));
        if distinct > 1 {
            details.distinct_boxed_answers = Some(distinct);
        }
        let penalty = if distinct > 1 {
            -policy.config.multiple_answers_penalty
        } else {
            0.0
        };
        components.insert("multiple_answers", penalty);
    }

    Ok(Judgement {
        reward: components.values().sum(),
        components,
        verdict,
        format_ok: format.is_ok(),
        extracted: extraction.map(|extraction| extraction.answer),
        details: Details::Math(details),
        elapsed_ms: 0.0,
    })
}

fn invalid_gold(error: math::VerifyError) -> ItemError {
    ItemError::new(
        ItemErrorCode::InvalidTask,
        "task.answer",
        format!("the reference answer could not be parsed: {}", error.error),
    )
}

/// How many different answers the boxes name: the final box plus every other box that is
/// not equivalent to it (boxes written identically are compared once).
fn distinct_answers(boxes: &[String], policy: &Policy) -> usize {
    let Some(last) = boxes.last() else { return 0 };
    let mut seen: Vec<&str> = vec![last.trim()];
    let mut distinct = 1;
    for candidate in boxes.iter().rev().skip(1).map(|b| b.trim()) {
        if seen.contains(&candidate) {
            continue;
        }
        if seen.len() == MAX_BOXES_COMPARED {
            break;
        }
        seen.push(candidate);
        let same = math::verify(last, candidate, &policy.math).is_ok_and(|eq| eq.equal);
        if !same {
            distinct += 1;
        }
    }
    distinct
}
