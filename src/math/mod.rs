//! Math answer verification: extraction of the final answer, parsing of LaTeX and plain
//! math into an AST, canonical forms, and exact comparison (the rules: docs/semantics.md).
//!
//! Pure and synchronous: no I/O, no global state, and every step is bounded (input length,
//! nesting depth, digits, exponents, terms), so no input can hang, overflow the stack or
//! exhaust memory.

use serde::Serialize;

mod ast;
pub mod battery;
mod bounds;
mod compare;
mod eval;
mod extract;
#[cfg(test)]
mod forms_tests;
#[cfg(test)]
mod integrity_tests;
mod lexer;
mod limits;
mod matrices;
mod parser;
mod rational;
mod render;
mod sets;
#[cfg(test)]
mod tests;

pub use limits::{MAX_ANSWER_BYTES, MAX_COMPLETION_BYTES};

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

/// The final answer of a completion's *answer part* (the caller has already cut off
/// everything up to the last `</think>`): the last `\boxed{…}` with balanced braces, or
/// several boxes separated only by connectives (`\boxed{2} and \boxed{3}`). An unclosed
/// or misspelt box, or no box, gives `None` unless `opts.text_fallbacks` allows
/// "the final answer is 12", "#### 12", "Answer: 12" or a last number.
pub fn extract_answer(answer_part: &str, opts: &MathOptions) -> Option<Extraction> {
    extract::extract_answer(answer_part, opts)
}

/// Compare a gold answer with a predicted one under docs/semantics.md. Either side may be bare
/// LaTeX, `$…$`/`\(…\)`/`\[…\]`-delimited, or boxed.
pub fn verify(gold: &str, prediction: &str, opts: &MathOptions) -> Result<Equivalence, VerifyError> {
    let mut g_text = side_text(gold).map_err(|error| VerifyError {
        side: Side::Gold,
        error,
    })?;
    let p_text = side_text(prediction).map_err(|error| VerifyError {
        side: Side::Prediction,
        error,
    })?;
    let mut g = parser::parse(&g_text);
    // A gold whose box is never closed (a dataset typo) is read as the text after
    // `\boxed{`; the same typo in a prediction stays `no_answer`.
    if g.is_err()
        && let Some(text) = extract::unclosed_box_content(gold)
        && let Ok(parsed) = parser::parse(&text)
    {
        g = Ok(parsed);
        g_text = text;
    }
    let p = parser::parse(&p_text);
    let (g, p) = match (g, p) {
        (Ok(g), Ok(p)) => (g, p),
        // Two identical answers that we cannot read (`1, 2, \ldots, n`) are still the same,
        // unless they hold no value: a gold of separators or prose (`\text{and}`) is a broken
        // key that nothing may earn (docs/semantics.md, "No value, no reward").
        (Err(error), Err(_)) if squash(&g_text) == squash(&p_text) && !parser::is_content_free(&error) => {
            return Ok(Equivalence {
                equal: true,
                method: "identical",
                gold: g_text,
                predicted: p_text,
            });
        }
        (Err(error), _) => {
            return Err(VerifyError {
                side: Side::Gold,
                error,
            });
        }
        (_, Err(error)) => {
            return Err(VerifyError {
                side: Side::Prediction,
                error,
            });
        }
    };
    let (equal, method) = compare::compare(&g, &p, opts);
    Ok(Equivalence {
        equal,
        method,
        gold: render::render(&g),
        predicted: render::render(&p),
    })
}

fn side_text(s: &str) -> Result<String, ParseError> {
    if s.len() > MAX_ANSWER_BYTES {
        return Err(ParseError {
            message: format!("answer longer than {MAX_ANSWER_BYTES} bytes"),
        });
    }
    Ok(extract::answer_text(s))
}

fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}
