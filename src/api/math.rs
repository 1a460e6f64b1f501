//! `POST /v1/math/verify`: compare one gold answer with one prediction and show the evidence,
//! for auditors and for debugging a verdict.

use std::time::Instant;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::{ApiError, ApiJson, ErrorBody};
use crate::math::{self, Side};
use crate::reward::Verdict;

/// Longest accepted gold or prediction; the verifier has its own bounds too.
const MAX_ANSWER_BYTES: usize = 256 * 1024;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "gold": "\\dfrac{9}{7}", "prediction": "\\boxed{\\frac{18}{14}}" }))]
pub struct VerifyRequest {
    /// The reference answer as a dataset writes it (`\dfrac{9}{7}`, `$x=3$`, `0.5`); a JSON
    /// number is read as written, every digit kept.
    #[schema(pattern = r"\S")]
    #[serde(deserialize_with = "crate::wire::string_or_number")]
    pub gold: String,
    /// The predicted answer (a `\boxed{}` wrapper is allowed).
    pub prediction: String,
    /// Policy whose math options apply (percent rule); `r1` when absent.
    pub policy: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VerifyResponse {
    pub equal: bool,
    /// `correct`, `incorrect` or `unparsable`.
    pub verdict: Verdict,
    /// The rule that decided, absent when the prediction did not parse.
    pub method: Option<&'static str>,
    /// Canonical form of the parsed gold.
    pub gold: String,
    /// Canonical form of the parsed prediction.
    pub predicted: Option<String>,
    /// Why the prediction could not be parsed.
    pub parse_error: Option<String>,
    pub elapsed_ms: f64,
}

#[utoipa::path(
    post,
    tag = "math",
    path = "/v1/math/verify",
    request_body = VerifyRequest,
    responses(
        (status = 200, description = "The comparison and its evidence", body = VerifyResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 413, description = "Body over the size limit", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json", body = ErrorBody),
        (status = 422, description = "Missing field, unknown policy or unparsable gold", body = ErrorBody),
    )
)]
pub async fn verify(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<VerifyRequest>,
) -> Result<Json<VerifyResponse>, ApiError> {
    let policy = state.grader.policy(request.policy.as_deref())?;
    for (field, text) in [("gold", &request.gold), ("prediction", &request.prediction)] {
        if text.len() > MAX_ANSWER_BYTES {
            return Err(ApiError::invalid_field(
                field,
                format!("longer than {MAX_ANSWER_BYTES} bytes"),
            ));
        }
    }
    if request.gold.trim().is_empty() {
        return Err(ApiError::invalid_field("gold", "must not be empty"));
    }
    let started = Instant::now();
    let outcome = tokio::task::spawn_blocking(move || {
        let outcome = math::verify(&request.gold, &request.prediction, &policy.math);
        let gold_form = match &outcome {
            Err(error) if error.side == Side::Prediction => {
                math::verify(&request.gold, &request.gold, &policy.math).map(|check| check.gold)
            }
            _ => Ok(String::new()),
        };
        (outcome, gold_form)
    })
    .await
    .map_err(|error| ApiError::internal(&error))?;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;

    let (outcome, gold_form) = outcome;
    let invalid_gold = |error: math::VerifyError| {
        ApiError::invalid_field(
            "gold",
            format!("the reference answer could not be parsed: {}", error.error),
        )
    };
    let response = match outcome {
        Ok(equivalence) => VerifyResponse {
            equal: equivalence.equal,
            verdict: if equivalence.equal {
                Verdict::Correct
            } else {
                Verdict::Incorrect
            },
            method: Some(equivalence.method),
            gold: equivalence.gold,
            predicted: Some(equivalence.predicted),
            parse_error: None,
            elapsed_ms,
        },
        Err(error) if error.side == Side::Prediction => VerifyResponse {
            equal: false,
            verdict: Verdict::Unparsable,
            method: None,
            gold: gold_form.map_err(invalid_gold)?,
            predicted: None,
            parse_error: Some(error.error.message),
            elapsed_ms,
        },
        Err(error) => return Err(invalid_gold(error)),
    };
    Ok(Json(response))
}
