//! One judged (or unjudgeable) sample as the trainers' protocols report it: numbers only.
//!
//! OpenRLHF turns every reward, score and log value into a tensor and slime adds rewards up,
//! so a `null` kills the training job. A sample verdict cannot judge gets the configured
//! fallback reward, `judged = 0`, and its reason beside the numbers; it is never silently a 0
//! that looks judged (docs/trainers.md).

use serde::Serialize;

use super::ItemResult;
use crate::reward::{Details, ItemError, Policy};

/// The numbers a trainer reads for one sample.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleScore {
    /// The policy's reward, or the fallback when the sample was not judged.
    pub reward: f64,
    /// Accuracy in [0, 1]: 1 for a right answer or a passing program (the share of passed
    /// tests under a partial-credit policy), 0 otherwise and when not judged.
    pub accuracy: f64,
    /// 1 when the R1 format holds.
    pub format: f64,
    /// 1 when verdict judged the sample, 0 when it got the fallback.
    pub judged: f64,
    pub submission_id: Option<String>,
    pub verdict: Option<&'static str>,
    pub extracted: Option<String>,
    pub error: Option<ItemError>,
}

/// Why one sample was not judged, in the protocols' top-level `errors` lists.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SampleError {
    /// The sample's position in the request.
    pub index: usize,
    /// Stable code (`invalid_label`, `prompt_not_found`, `sandbox_unavailable`, …).
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl SampleScore {
    pub fn of(result: ItemResult, policy: &Policy, fallback: f64) -> Self {
        match result {
            ItemResult::Judged(item) => {
                let accuracy = if item.verdict.is_success() {
                    1.0
                } else {
                    match &item.details {
                        Details::Code(details) if policy.config.code_partial_credit && details.total > 0 => {
                            details.passed as f64 / details.total as f64
                        }
                        _ => 0.0,
                    }
                };
                Self {
                    reward: item.reward,
                    accuracy,
                    format: if item.format_ok { 1.0 } else { 0.0 },
                    judged: 1.0,
                    submission_id: Some(item.submission_id),
                    verdict: Some(item.verdict.as_str()),
                    extracted: item.extracted,
                    error: None,
                }
            }
            ItemResult::Failed(failed) => Self::unjudged(failed.error, fallback),
        }
    }

    pub fn unjudged(error: ItemError, fallback: f64) -> Self {
        tracing::warn!(code = error.code.as_str(), message = %error.message, "sample not judged; fallback reward");
        Self {
            reward: fallback,
            accuracy: 0.0,
            format: 0.0,
            judged: 0.0,
            submission_id: None,
            verdict: None,
            extracted: None,
            error: Some(error),
        }
    }

    /// The error entry of an unjudged sample at `index`.
    pub fn error_at(&self, index: usize) -> Option<SampleError> {
        self.error.as_ref().map(|error| SampleError {
            index,
            code: error.code.as_str().to_owned(),
            message: error.message.clone(),
            field: error.field.clone(),
        })
    }
}
