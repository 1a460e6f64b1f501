//! Output comparison for stdin/stdout tests (docs/code-semantics.md): CRLF and CR become LF,
//! trailing whitespace is dropped from each line and trailing blank lines from the end; leading
//! whitespace and inner blank lines still count. In float mode, tokens that both parse as
//! numbers compare within a tolerance unless both are integers, which compare exactly at any
//! size; everything else compares exactly. Never case-folded, never truncated to the shorter
//! output. Also the number equality of call-based results ([`numbers_equal`]).

use serde::{Deserialize, Serialize};

/// How a test's expected stdout is compared with the program's.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum CompareMode {
    #[default]
    Exact,
    Float {
        #[serde(default = "default_rel_tol", deserialize_with = "tolerance")]
        rel_tol: f64,
        #[serde(default, deserialize_with = "tolerance")]
        abs_tol: f64,
    },
}

fn default_rel_tol() -> f64 {
    1e-6
}

/// A tolerance through `serde_json::Number`, so that it keeps working under serde_json's
/// `arbitrary_precision`, where a float inside this internally tagged enum is buffered as a
/// number, not an `f64`, for serde.
fn tolerance<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    let number = serde_json::Number::deserialize(deserializer)?;
    number
        .as_f64()
        .filter(|t| t.is_finite())
        .ok_or_else(|| serde::de::Error::custom(format!("tolerance {number} is not a finite number")))
}

/// Where two outputs first differ, for the audit (1-based line and column, in characters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    pub line: usize,
    pub column: usize,
    pub expected: String,
    pub actual: String,
}

/// `None` when the outputs match under `mode`, else their first difference.
pub fn compare_output(expected: &str, actual: &str, mode: CompareMode) -> Option<Difference> {
    let expected_lines = normalise(expected);
    let actual_lines = normalise(actual);
    let longest = expected_lines.len().max(actual_lines.len());
    for index in 0..longest {
        let want = expected_lines.get(index).copied();
        let got = actual_lines.get(index).copied();
        let same = match (want, got) {
            (Some(want), Some(got)) => lines_match(want, got, mode),
            _ => false,
        };
        if !same {
            let (want, got) = (want.unwrap_or(""), got.unwrap_or(""));
            let column = want.chars().zip(got.chars()).take_while(|(a, b)| a == b).count() + 1;
            return Some(Difference {
                line: index + 1,
                column,
                expected: excerpt(want),
                actual: excerpt(got),
            });
        }
    }
    None
}

/// The output as lines: line endings unified, trailing whitespace and trailing blank lines gone.
fn normalise(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text
        .split('\n')
        // CRLF first (one line break), then any lone CR (a line break of its own).
        .flat_map(|line| line.strip_suffix('\r').unwrap_or(line).split('\r'))
        .map(str::trim_end)
        .collect();
    while lines.last().is_some_and(|line| line.is_empty()) {
        lines.pop();
    }
    lines
}

fn lines_match(want: &str, got: &str, mode: CompareMode) -> bool {
    match mode {
        CompareMode::Exact => want == got,
        CompareMode::Float { rel_tol, abs_tol } => {
            // Leading whitespace still counts in float mode.
            let indent = |s: &str| s.len() - s.trim_start().len();
            if indent(want) != indent(got) {
                return false;
            }
            let mut want_tokens = want.split_whitespace();
            let mut got_tokens = got.split_whitespace();
            loop {
                match (want_tokens.next(), got_tokens.next()) {
                    (None, None) => return true,
                    (Some(w), Some(g)) if tokens_match(w, g, rel_tol, abs_tol) => {}
                    _ => return false,
                }
            }
        }
    }
}

fn tokens_match(want: &str, got: &str, rel_tol: f64, abs_tol: f64) -> bool {
    if want == got {
        return true;
    }
    // Two integers are exact: a tolerance of 1e-6 would make 1000000 equal 1000001.
    if let (Some(want), Some(got)) = (integer_digits(want), integer_digits(got)) {
        return want == got;
    }
    match (parse_number(want), parse_number(got)) {
        (Some(w), Some(g)) => (w - g).abs() <= abs_tol.max(rel_tol * w.abs().max(g.abs())),
        _ => false,
    }
}

/// A finite decimal number; words such as `inf` or `nan` are compared as text.
fn parse_number(token: &str) -> Option<f64> {
    let looks_numeric = token
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'));
    looks_numeric
        .then(|| token.parse::<f64>().ok())
        .flatten()
        .filter(|n| n.is_finite())
}

/// A decimal integer literal as its canonical digits (sign kept, leading zeros and `+` gone,
/// `-0` as `0`), or `None` for anything else.
fn integer_digits(token: &str) -> Option<String> {
    let (negative, digits) = match token.as_bytes().first()? {
        b'-' => (true, &token[1..]),
        b'+' => (false, &token[1..]),
        _ => (false, token),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = digits.trim_start_matches('0');
    Some(match (negative, digits.is_empty()) {
        (_, true) => "0".to_owned(),
        (true, false) => format!("-{digits}"),
        (false, false) => digits.to_owned(),
    })
}

/// Call-based number equality: two integers exactly at any size (their digits are kept from
/// the request, serde_json's `arbitrary_precision`); an integer and a float only when the
/// float's exact binary value is that integer (`3 == 3.0`, but `10**30` is not the float
/// `1e30`); two floats as f64.
pub fn numbers_equal(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    let (a_text, b_text) = (a.to_string(), b.to_string());
    match (integer_digits(&a_text), integer_digits(&b_text)) {
        (Some(a), Some(b)) => a == b,
        (Some(integer), None) => float_is_integer(&b_text, &integer),
        (None, Some(integer)) => float_is_integer(&a_text, &integer),
        (None, None) => a.as_f64().is_some_and(|a| b.as_f64() == Some(a)),
    }
}

fn float_is_integer(float: &str, integer: &str) -> bool {
    match float.parse::<f64>() {
        // Rust prints a float's exact decimal expansion with `{:.0}`.
        Ok(value) if value.is_finite() && value.fract() == 0.0 => {
            integer_digits(&format!("{value:.0}")).as_deref() == Some(integer)
        }
        _ => false,
    }
}

/// At most 200 characters of a line, so a huge wrong line does not bloat the record.
fn excerpt(line: &str) -> String {
    const MAX: usize = 200;
    match line.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLOAT: CompareMode = CompareMode::Float {
        rel_tol: 1e-6,
        abs_tol: 0.0,
    };

    #[test]
    fn trailing_spaces_crlf_and_trailing_blank_lines_are_forgiven() {
        assert_eq!(
            compare_output("1 2\n3\n", "1 2   \r\n3\r\n\r\n\n", CompareMode::Exact),
            None
        );
        assert_eq!(compare_output("a\rb", "a\nb", CompareMode::Exact), None);
    }

    #[test]
    fn leading_spaces_inner_blank_lines_and_case_count() {
        assert!(compare_output("3", " 3", CompareMode::Exact).is_some());
        assert!(compare_output("a\n\nb", "a\nb", CompareMode::Exact).is_some());
        assert!(compare_output("YES", "yes", CompareMode::Exact).is_some());
    }

    #[test]
    fn a_prefix_of_the_expected_output_is_wrong() {
        let difference = compare_output("1\n2\n3", "1\n2", CompareMode::Exact).unwrap();
        assert_eq!(
            (
                difference.line,
                difference.expected.as_str(),
                difference.actual.as_str()
            ),
            (3, "3", "")
        );
        assert!(compare_output("", "extra", CompareMode::Exact).is_some());
    }

    #[test]
    fn the_first_difference_is_located() {
        let difference = compare_output("abc\nhello world", "abc\nhello there", CompareMode::Exact).unwrap();
        assert_eq!((difference.line, difference.column), (2, 7));
    }

    #[test]
    fn float_mode_compares_numbers_within_tolerance_and_words_exactly() {
        assert_eq!(compare_output("0.333333 x", "0.3333333 x", FLOAT), None);
        assert!(compare_output("0.333 x", "0.334 x", FLOAT).is_some());
        assert!(compare_output("0.5 x", "0.5 y", FLOAT).is_some());
        assert!(compare_output("1 2", "1 2 3", FLOAT).is_some());
        assert!(compare_output("0.333333", "0.3333333", CompareMode::Exact).is_some());
        let absolute = CompareMode::Float {
            rel_tol: 0.0,
            abs_tol: 0.01,
        };
        assert_eq!(compare_output("1.000", "1.005", absolute), None);
    }

    #[test]
    fn float_mode_compares_integers_exactly() {
        assert!(compare_output("1000000", "1000001", FLOAT).is_some());
        assert!(compare_output("9223372036854775808", "9223372036854775809", FLOAT).is_some());
        assert_eq!(compare_output("007 -0", "7 0", FLOAT), None);
        // Either side not an integer: the tolerance applies.
        assert_eq!(compare_output("1000000", "1000000.0000001", FLOAT), None);
    }

    #[test]
    fn numbers_compare_exactly_when_either_is_an_integer() {
        let n = |text: &str| serde_json::from_str::<serde_json::Number>(text).unwrap();
        assert!(numbers_equal(&n("3"), &n("3.0")));
        assert!(!numbers_equal(&n("9007199254740993"), &n("9007199254740992")));
        assert!(!numbers_equal(&n("1000000000000000000000000000000"), &n("1e30")));
        assert!(numbers_equal(&n("1000000000000000019884624838656"), &n("1e30")));
        assert!(numbers_equal(&n("0.1"), &n("0.1")));
        assert!(!numbers_equal(&n("0.1"), &n("0.10000000000000003")));
        assert!(!numbers_equal(&n("2"), &n("2.5")));
    }

    #[test]
    fn compare_mode_reads_the_wire_shape() {
        let mode: CompareMode = serde_json::from_str(r#"{"mode": "float", "abs_tol": 0.001}"#).unwrap();
        assert_eq!(
            mode,
            CompareMode::Float {
                rel_tol: 1e-6,
                abs_tol: 0.001
            }
        );
        let exact: CompareMode = serde_json::from_str(r#"{"mode": "exact"}"#).unwrap();
        assert_eq!(exact, CompareMode::Exact);
        // Exponents and integers read the same through a JSON value as from text.
        let value = serde_json::json!({"mode": "float", "rel_tol": 1e-9, "abs_tol": 0});
        let through_value: CompareMode = serde_json::from_value(value).unwrap();
        let from_text: CompareMode =
            serde_json::from_str(r#"{"mode": "float", "rel_tol": 1e-9, "abs_tol": 0}"#).unwrap();
        assert_eq!(through_value, from_text);
        assert_eq!(
            from_text,
            CompareMode::Float {
                rel_tol: 1e-9,
                abs_tol: 0.0
            }
        );
    }
}
