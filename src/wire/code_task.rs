//! The wire shape of a code task (README, "API") into a validated [`CodeTask`]: the language, one
//! of the three test formats, limits within the server's maxima, the comparison mode.

use serde::Deserialize;
use serde_json::Value;

use crate::code::compare::CompareMode;
use crate::code::{Language, LimitMaxima, Limits};
use crate::reward::ItemErrorCode;
use crate::reward::{CallCase, CodeTask, CodeTests, ItemError, StdioCase};

/// Most tests in one task, so one item cannot monopolise the sandbox pool.
const MAX_TESTS: usize = 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeTaskFields {
    #[allow(dead_code, reason = "the kind was already read to pick this shape")]
    kind: String,
    language: String,
    tests: Option<Vec<StdioFields>>,
    fn_name: Option<String>,
    cases: Option<Vec<CallFields>>,
    entry_point: Option<String>,
    #[serde(rename = "assert")]
    assert_code: Option<String>,
    limits: Option<LimitsFields>,
    compare: Option<CompareMode>,
    #[serde(default)]
    stop_on_first_failure: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StdioFields {
    #[serde(default)]
    stdin: String,
    stdout: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallFields {
    args: Value,
    expected: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsFields {
    time_ms: Option<super::whole_number::WholeNumber>,
    memory_mb: Option<super::whole_number::WholeNumber>,
    output_bytes: Option<super::whole_number::WholeNumber>,
}

/// Decodes `task` (already known to be of kind `code`).
pub fn parse_code_task(task: Value, maxima: &LimitMaxima) -> Result<CodeTask, ItemError> {
    let fields: CodeTaskFields = super::from_value(task, "task.")?;
    let invalid = |field: &str, message: String| {
        ItemError::new(ItemErrorCode::InvalidItem, format!("task.{field}"), message)
    };
    let language: Language = fields
        .language
        .parse()
        .map_err(|error: crate::code::UnknownLanguage| invalid("language", error.to_string()))?;
    let tests = match (
        fields.tests,
        fields.fn_name,
        fields.cases,
        fields.entry_point,
        fields.assert_code,
    ) {
        (Some(tests), None, None, None, None) => {
            check_count("tests", tests.len())?;
            CodeTests::Stdio(
                tests
                    .into_iter()
                    .map(|test| StdioCase {
                        stdin: test.stdin,
                        stdout: test.stdout,
                    })
                    .collect(),
            )
        }
        (None, Some(fn_name), Some(cases), None, None) => {
            check_name("fn_name", &fn_name)?;
            check_count("cases", cases.len())?;
            let cases = cases
                .into_iter()
                .enumerate()
                .map(|(index, case)| {
                    if !case.args.is_array() {
                        return Err(invalid(
                            &format!("cases[{index}].args"),
                            "must be a JSON array of arguments".into(),
                        ));
                    }
                    Ok(CallCase {
                        args: case.args,
                        expected: case.expected,
                    })
                })
                .collect::<Result<_, _>>()?;
            CodeTests::Call { fn_name, cases }
        }
        (None, None, None, Some(entry_point), Some(test_code)) => {
            check_name("entry_point", &entry_point)?;
            CodeTests::Assert {
                entry_point,
                test_code,
            }
        }
        _ => {
            return Err(ItemError::new(
                ItemErrorCode::InvalidItem,
                "task",
                "a code task has exactly one test format: `tests` (stdin/stdout), `fn_name` + `cases` \
                 (call-based) or `entry_point` + `assert` (assert-based)",
            ));
        }
    };
    let limits = match fields.limits {
        None => Limits::defaults(maxima),
        Some(limits) => Limits::new(
            super::whole_number::value(limits.time_ms),
            super::whole_number::value(limits.memory_mb),
            super::whole_number::value(limits.output_bytes),
            maxima,
        )
        .map_err(|error| invalid(&format!("limits.{}", error.field), error.to_string()))?,
    };
    if let Some(CompareMode::Float { rel_tol, abs_tol }) = fields.compare
        && !(rel_tol.is_finite() && abs_tol.is_finite() && rel_tol >= 0.0 && abs_tol >= 0.0)
    {
        return Err(invalid("compare", "tolerances must be finite numbers ≥ 0".into()));
    }
    Ok(CodeTask {
        language,
        tests,
        limits,
        compare: fields.compare.unwrap_or_default(),
        stop_on_first_failure: fields.stop_on_first_failure,
    })
}

fn check_count(field: &str, count: usize) -> Result<(), ItemError> {
    if count == 0 || count > MAX_TESTS {
        return Err(ItemError::new(
            ItemErrorCode::InvalidItem,
            format!("task.{field}"),
            format!("needs 1 to {MAX_TESTS} tests, got {count}"),
        ));
    }
    Ok(())
}

/// Function names are identifiers: they are looked up, never evaluated as code.
fn check_name(field: &str, name: &str) -> Result<(), ItemError> {
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$')
        && name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$')
        && name.len() <= 128;
    if valid {
        Ok(())
    } else {
        Err(ItemError::new(
            ItemErrorCode::InvalidItem,
            format!("task.{field}"),
            format!("`{name}` is not a function name"),
        ))
    }
}
