//! Math answer verification: extraction of the final answer, parsing of LaTeX and plain
//! math into an AST, canonical forms, and exact comparison (DESIGN §3).
//!
//! Pure and synchronous: no I/O, no global state, and every step is bounded (input length,
//! nesting depth, digits, exponents, terms), so no input can hang, overflow the stack or
//! exhaust memory.

use serde::Serialize;

/// Options a reward policy may set; the defaults are the `r1` policy's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MathOptions {
    /// When true, `50\%` also equals the bare number `50` (and `0.5`); off by default.
    pub percent_matches_number: bool,
    /// When true, extraction falls back to text such as "the final answer is 12",
    /// "#### 12" or "Answer: 12" when the answer part has no box; off in `r1`.
    pub text_fallbacks: bool,
}

/// Which side of a comparison failed to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Gold,
    Prediction,
}

/// Why an answer could not be parsed (bounds exceeded, syntax error, unknown command…).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub message: String,
}

/// A parse failure on one side of a comparison.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{side:?} answer could not be parsed: {error}")]
pub struct VerifyError {
    pub side: Side,
    pub error: ParseError,
}

/// The outcome of comparing a gold answer with a predicted one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Equivalence {
    pub equal: bool,
    /// The rule that decided, e.g. `rational`, `decimal_rounding`, `numeric_probe`, `set`.
    pub method: &'static str,
    /// Canonical rendering of the parsed gold answer.
    pub gold: String,
    /// Canonical rendering of the parsed prediction.
    pub predicted: String,
}

/// Where an extracted answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerSource {
    Boxed,
    TextFallback,
}

/// The final answer pulled out of a completion's answer part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Extraction {
    /// The content of the last box (or the fallback text), as written.
    pub answer: String,
    pub source: AnswerSource,
    /// The contents of every top-level box in the answer part, in order (for the
    /// "several different boxed answers" penalty).
    pub all_boxed: Vec<String>,
}
