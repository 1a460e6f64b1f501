//! Judging a code completion (DESIGN §4): extract the last fenced block of the task's language
//! from the answer part, run every test in a fresh sandbox instance, and combine the
//! first failing test's verdict (or `accepted`) with the format reward under the policy.
//!
//! A guest's behaviour is a verdict; only a failure of the sandbox itself is an [`ItemError`],
//! which is never scored.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;
use serde_json::Value;

use super::{Details, ItemError, Judgement, Policy, Verdict};
use crate::code::compare::{CompareMode, Difference, compare_output};
use crate::code::harness::{self, HarnessReport};
use crate::code::{Language, Limits, RunOutcome, RunStatus, Sandbox, fence};
use crate::completion::{answer_part, check_format};

/// Kept of each test's stdout and stderr in the record: enough to see what went wrong, small
/// enough that a million rows stay cheap.
const EXCERPT_BYTES: usize = 2048;

/// A code task, validated once when the request is decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeTask {
    pub language: Language,
    pub tests: CodeTests,
    pub limits: Limits,
    pub compare: CompareMode,
    /// Skip the remaining tests after the first failure (the verdict is the same).
    pub stop_on_first_failure: bool,
}

/// The three test formats of the contract.
#[derive(Debug, Clone, PartialEq)]
pub enum CodeTests {
    /// The program reads stdin and writes stdout.
    Stdio(Vec<StdioCase>),
    /// `fn_name(*args)` must return `expected`, one test per case.
    Call { fn_name: String, cases: Vec<CallCase> },
    /// HumanEval/MBPP style: `check(entry_point)` from the test code, one test.
    Assert { entry_point: String, test_code: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct StdioCase {
    pub stdin: String,
    pub stdout: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CallCase {
    /// A JSON array of positional arguments.
    pub args: Value,
    pub expected: Value,
}

/// What one test did, for the audit.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TestReport {
    pub index: usize,
    pub status: Verdict,
    pub time_ms: f64,
    /// Wasm instructions executed (wasmtime fuel), when the sandbox counts them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fuel: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The expected output (stdin/stdout tests) or return value (call-based), as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// The program's output, or the returned value of a call-based test.
    pub actual: String,
    pub stderr: String,
    /// Where the output first differs from the expected one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub difference: Option<Difference>,
    /// Why the run ended, when the sandbox says more than the status (a trap, a limit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The evidence behind a code verdict.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CodeDetails {
    #[schema(value_type = String)]
    pub language: &'static str,
    pub passed: usize,
    pub total: usize,
    pub tests: Vec<TestReport>,
    /// Fuel of all the tests run, when the sandbox counts it: the work the solution did, in
    /// a unit that does not depend on the machine (the efficiency term's input).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fuel: Option<u64>,
    /// Why the format reward was withheld.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format_error: Option<&'static str>,
}

/// Judges a decoded code item, its policy's extra terms (length, truncation) included.
pub async fn judge_code_item(
    item: &super::RewardItem,
    task: &CodeTask,
    policy: &Policy,
    sandbox: &Sandbox,
) -> Result<Judgement, ItemError> {
    let think_opened = policy.think_opened(item.prompt.as_deref());
    let mut judgement = judge_code(&item.completion, think_opened, task, policy, sandbox).await?;
    if policy.config.code_efficiency.is_some()
        && judgement.verdict.is_success()
        && matches!(&judgement.details, Details::Code(details) if details.fuel.is_none())
    {
        // The server's sandbox always counts fuel; one that does not cannot score this term,
        // and a missing term must not pass for an inefficient solution.
        return Err(ItemError {
            code: "internal_error",
            message: "the sandbox does not count fuel, which the policy's efficiency term needs".into(),
            field: None,
        });
    }
    super::shaping::apply(&mut judgement, &item.completion, &item.signals, policy);
    Ok(judgement)
}

/// Judges a code item: extraction, one sandboxed run per test, verdict, reward.
pub async fn judge_code(
    completion: &str,
    think_opened: bool,
    task: &CodeTask,
    policy: &Policy,
    sandbox: &Sandbox,
) -> Result<Judgement, ItemError> {
    let started = Instant::now();
    let format = check_format(completion, think_opened);
    let mut details = CodeDetails {
        language: task.language.as_str(),
        total: test_count(&task.tests),
        format_error: format.err().map(|violation| violation.explain()),
        ..CodeDetails::default()
    };
    let code = fence::extract_code(answer_part(completion), fence_tags(task.language));
    let verdict = match &code {
        None => Verdict::NoCode,
        Some(code) => {
            let mut first_failure = None;
            for index in 0..details.total {
                let report = run_test(index, code, task, sandbox).await?;
                if report.status == Verdict::Accepted {
                    details.passed += 1;
                } else if first_failure.is_none() {
                    first_failure = Some(report.status);
                }
                details.tests.push(report);
                if first_failure.is_some() && task.stop_on_first_failure {
                    break;
                }
            }
            first_failure.unwrap_or(Verdict::Accepted)
        }
    };
    details.fuel = details
        .tests
        .iter()
        .map(|test| test.fuel)
        .sum::<Option<u64>>()
        .filter(|_| !details.tests.is_empty());

    let accuracy = if policy.config.code_partial_credit && details.total > 0 {
        details.passed as f64 / details.total as f64
    } else if verdict == Verdict::Accepted {
        1.0
    } else {
        0.0
    };
    let mut components = BTreeMap::new();
    components.insert("accuracy", policy.config.accuracy_weight * accuracy);
    components.insert(
        "format",
        policy.config.format_weight * if format.is_ok() { 1.0 } else { 0.0 },
    );
    Ok(Judgement {
        reward: components.values().sum(),
        components,
        verdict,
        format_ok: format.is_ok(),
        extracted: code,
        details: Details::Code(details),
        elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
    })
}

fn test_count(tests: &CodeTests) -> usize {
    match tests {
        CodeTests::Stdio(cases) => cases.len(),
        CodeTests::Call { cases, .. } => cases.len(),
        CodeTests::Assert { .. } => 1,
    }
}

/// The fence tags that name a language (DESIGN §4).
fn fence_tags(language: Language) -> &'static [&'static str] {
    match language {
        Language::Python => &["python", "py", "python3"],
        Language::JavaScript => &["javascript", "js"],
    }
}

/// One test in a fresh instance.
async fn run_test(
    index: usize,
    code: &str,
    task: &CodeTask,
    sandbox: &Sandbox,
) -> Result<TestReport, ItemError> {
    let nonce = new_nonce();
    let (program, stdin, expected) = match &task.tests {
        CodeTests::Stdio(cases) => (
            code.to_owned(),
            cases[index].stdin.clone().into_bytes(),
            Some(cases[index].stdout.clone()),
        ),
        CodeTests::Call { fn_name, cases } => (
            harness::call_program(task.language, code, fn_name),
            harness::stdin_for(&nonce, Some(&cases[index].args)),
            Some(cases[index].expected.to_string()),
        ),
        CodeTests::Assert {
            entry_point,
            test_code,
        } => (
            harness::assert_program(task.language, code, test_code, entry_point),
            harness::stdin_for(&nonce, None),
            None,
        ),
    };
    let outcome = sandbox
        .run(task.language, &program, &stdin, &task.limits)
        .await
        .map_err(|error| {
            tracing::error!(error = %crate::store::error_chain(&error), "sandbox failure");
            ItemError {
                code: "sandbox_error",
                message: "the sandbox failed while running this item; it was not scored".into(),
                field: None,
            }
        })?;

    let mut report = TestReport {
        index,
        status: Verdict::Accepted,
        time_ms: outcome.time_ms,
        fuel: outcome.fuel,
        exit_code: outcome.exit_code,
        expected: expected.as_deref().map(excerpt),
        actual: String::new(),
        stderr: excerpt(&outcome.stderr_text()),
        difference: None,
        note: outcome.trap.clone(),
    };
    match &task.tests {
        CodeTests::Stdio(_) => {
            let stdout = outcome.stdout_text();
            report.actual = excerpt(&stdout);
            report.status = status_of(&outcome).unwrap_or_else(|| {
                report.difference = compare_output(expected.as_deref().unwrap_or(""), &stdout, task.compare);
                if report.difference.is_some() {
                    Verdict::WrongAnswer
                } else {
                    Verdict::Accepted
                }
            });
        }
        CodeTests::Call { cases, .. } => {
            let (harness_report, _printed) = harness::read_report(&outcome.stdout_text(), &nonce);
            report.status = match (status_of(&outcome), harness_report) {
                (Some(limit_or_crash), _) => limit_or_crash,
                (None, Some(HarnessReport::Returned(value))) => {
                    report.actual = excerpt(&value.to_string());
                    if harness::json_equal(&cases[index].expected, &value) {
                        Verdict::Accepted
                    } else {
                        Verdict::WrongAnswer
                    }
                }
                (None, Some(HarnessReport::Unrepresentable(repr))) => {
                    report.actual = excerpt(&repr);
                    report.note = Some("the return value has no JSON form".into());
                    Verdict::WrongAnswer
                }
                (None, other) => harness_failure(other, &mut report),
            };
        }
        CodeTests::Assert { .. } => {
            let (harness_report, printed) = harness::read_report(&outcome.stdout_text(), &nonce);
            report.actual = excerpt(&printed);
            report.status = match (status_of(&outcome), harness_report) {
                (Some(limit_or_crash), _) => limit_or_crash,
                (None, Some(HarnessReport::Passed)) => Verdict::Accepted,
                (None, Some(HarnessReport::AssertionFailed)) => Verdict::WrongAnswer,
                (None, other) => harness_failure(other, &mut report),
            };
        }
    }
    Ok(report)
}

/// The verdict a run's status decides on its own: every status but a clean exit.
fn status_of(outcome: &RunOutcome) -> Option<Verdict> {
    match outcome.status {
        RunStatus::Ok => None,
        RunStatus::RuntimeError => Some(Verdict::RuntimeError),
        RunStatus::TimeLimitExceeded => Some(Verdict::TimeLimitExceeded),
        RunStatus::MemoryLimitExceeded => Some(Verdict::MemoryLimitExceeded),
        RunStatus::OutputLimitExceeded => Some(Verdict::OutputLimitExceeded),
        RunStatus::CompileError => Some(Verdict::CompileError),
    }
}

/// A clean exit without a passing report from the test driver.
fn harness_failure(report: Option<HarnessReport>, test: &mut TestReport) -> Verdict {
    match report {
        Some(HarnessReport::CompileError) => Verdict::CompileError,
        Some(HarnessReport::MissingFunction) => {
            test.note = Some("the function to test is not defined".into());
            Verdict::RuntimeError
        }
        None => {
            // Leaving early (`sys.exit(0)`, `os._exit(0)`) must not pass a test.
            test.note = Some("the program ended before the test finished".into());
            Verdict::RuntimeError
        }
        Some(_) => Verdict::RuntimeError,
    }
}

fn excerpt(text: &str) -> String {
    if text.len() <= EXCERPT_BYTES {
        return text.to_owned();
    }
    let mut end = EXCERPT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], text.len())
}

/// 160 random bits as hex (two ULIDs' random parts, from the OS generator); the guest cannot
/// predict it.
fn new_nonce() -> String {
    format!(
        "{:020x}{:020x}",
        ulid::Ulid::new().random(),
        ulid::Ulid::new().random()
    )
}
