//! Judging a code completion (README, "Code sandbox"): extract the last fenced block of the
//! task's language from the answer part, run every test in a fresh sandbox instance, and combine the
//! first failing test's verdict (or `accepted`) with the format reward under the policy.
//!
//! A guest's behaviour is a verdict; only a failure of the sandbox itself is an [`ItemError`],
//! which is never scored.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;
use serde_json::Value;

use super::{Details, ItemError, Judgement, Policy, Verdict};
use crate::code::asserts::{self, Check, PyValue};
use crate::code::compare::{CompareMode, Difference, compare_output};
use crate::code::harness::{self, HarnessReport, Marker, MarkerScanner};
use crate::code::{Language, Limits, RunOutcome, RunStatus, Sandbox, fence};
use crate::completion::{answer_part, check_format};
use crate::reward::ItemErrorCode;

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
            code: ItemErrorCode::InternalError,
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

/// The fence tags that name a language (README, "Code sandbox").
fn fence_tags(language: Language) -> &'static [&'static str] {
    match language {
        Language::Python => &["python", "py", "python3"],
        Language::JavaScript => &["javascript", "js"],
    }
}

/// One test in a fresh instance (two for an assert-based test: the judge and the solution).
async fn run_test(
    index: usize,
    code: &str,
    task: &CodeTask,
    sandbox: &Sandbox,
) -> Result<TestReport, ItemError> {
    if let CodeTests::Assert {
        entry_point,
        test_code,
    } = &task.tests
    {
        if task.language == Language::Python
            && let Some(checks) = asserts::read_checks(test_code)
        {
            return run_host_checked_test(code, entry_point, &checks, task, sandbox).await;
        }
        return run_assert_test(code, entry_point, test_code, task, sandbox).await;
    }
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
        CodeTests::Assert { .. } => unreachable!("assert-based tests are judged above"),
    };
    let outcome = sandbox
        .run_driver(task.language, &program, code, &stdin, &task.limits)
        .await
        .map_err(sandbox_failure)?;

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
            report.status = match (harness_report, status_of(&outcome)) {
                // Reported before the solution ran, so it is the compiler's word.
                (Some(HarnessReport::CompileError), _) => Verdict::CompileError,
                (_, Some(limit_or_crash)) => limit_or_crash,
                (Some(HarnessReport::Returned(value)), None) => {
                    report.actual = excerpt(&value.to_string());
                    if harness::json_equal(&cases[index].expected, &value) {
                        Verdict::Accepted
                    } else {
                        Verdict::WrongAnswer
                    }
                }
                (Some(HarnessReport::Unrepresentable(repr)), None) => {
                    report.actual = excerpt(&repr);
                    report.note = Some("the return value has no JSON form".into());
                    Verdict::WrongAnswer
                }
                (other, None) => harness_failure(other, &mut report),
            };
        }
        CodeTests::Assert { .. } => unreachable!("assert-based tests are judged above"),
    }
    Ok(report)
}

/// An assert-based test: the test code runs in a judge instance, the solution in another, and
/// the verdict comes from what the host saw (decision record 006), in this order: the
/// solution did not compile; the solution hit a limit or crashed; it answered a call with
/// something that is not plain data, or ended mid-call; the judge hit a limit; then the
/// judge's own end (`passed` only if it said so and nothing above happened).
async fn run_assert_test(
    code: &str,
    entry_point: &str,
    test_code: &str,
    task: &CodeTask,
    sandbox: &Sandbox,
) -> Result<TestReport, ItemError> {
    let judge_program = harness::judge_program(task.language, test_code, entry_point);
    let solution_program = harness::solution_program(task.language, code);
    let run = sandbox
        .run_judged(
            task.language,
            (&judge_program, test_code),
            (&solution_program, code),
            &task.limits,
        )
        .await
        .map_err(sandbox_failure)?;
    let (judge, solution, conversation) = (&run.judge, &run.solution, &run.conversation);
    let mut stderr = solution.stderr_text();
    let judge_stderr = judge.stderr_text();
    if !judge_stderr.is_empty() {
        stderr.push_str("\n[test] ");
        stderr.push_str(&judge_stderr);
    }
    let mut report = TestReport {
        index: 0,
        status: Verdict::Accepted,
        time_ms: judge.time_ms.max(solution.time_ms),
        fuel: judge.fuel.zip(solution.fuel).map(|(a, b)| a + b),
        exit_code: solution.exit_code,
        expected: None,
        actual: excerpt(&run.solution_output),
        stderr: excerpt(&stderr),
        difference: None,
        note: solution.trap.clone().or_else(|| judge.trap.clone()),
    };
    report.status = if conversation.compiled == Some(false) {
        Verdict::CompileError
    } else if let Some(limit_or_crash) = status_of(solution) {
        limit_or_crash
    } else if conversation.compiled.is_none() {
        report.note = Some("the program ended before the test started".into());
        Verdict::RuntimeError
    } else if let Some(failure) = &conversation.solution_failure {
        report.note = Some(solution_failure_note(failure));
        Verdict::RuntimeError
    } else if let Some(limit_or_crash) = status_of(judge) {
        limit_or_crash
    } else {
        match conversation.judge_end.as_deref() {
            Some("passed") => Verdict::Accepted,
            Some("assertion_failed") => Verdict::WrongAnswer,
            Some("missing_function") => {
                report.note = Some("the test code defines no check(candidate)".into());
                Verdict::RuntimeError
            }
            _ => Verdict::RuntimeError,
        }
    };
    Ok(report)
}

/// An assert-based test whose lines the host reads (`code/asserts`): one instance runs the
/// solution's serving driver with every call of the test already on its stdin, and the host
/// decides each line from the call's answer, in order, the way `check` would have: the first
/// line that fails decides (what the solution did after it cannot change that, as in the
/// judge, where the later calls are never made); a line whose answer is missing takes the
/// run's own end (a limit, a crash) or is a runtime error; when every line passed, the run
/// must still have ended cleanly.
async fn run_host_checked_test(
    code: &str,
    entry_point: &str,
    checks: &[Check],
    task: &CodeTask,
    sandbox: &Sandbox,
) -> Result<TestReport, ItemError> {
    let nonce = new_nonce();
    let mut stdin = format!("{nonce}\n");
    for check in checks {
        if let Check::Call(call, _) = check {
            stdin.push_str(&asserts::call_request(entry_point, call));
            stdin.push('\n');
        }
    }
    let program = harness::solution_program(task.language, code);
    let outcome = sandbox
        .run_driver(task.language, &program, code, stdin.as_bytes(), &task.limits)
        .await
        .map_err(sandbox_failure)?;
    let stdout = outcome.stdout_text();
    let mut markers = MarkerScanner::new(&nonce).feed(stdout.as_bytes()).into_iter();
    let mut report = TestReport {
        index: 0,
        status: Verdict::Accepted,
        time_ms: outcome.time_ms,
        fuel: outcome.fuel,
        exit_code: outcome.exit_code,
        expected: None,
        actual: excerpt(&harness::own_output(&stdout, &nonce)),
        stderr: excerpt(&outcome.stderr_text()),
        difference: None,
        note: outcome.trap.clone(),
    };
    report.status = match markers.next().map(|marker| marker.status) {
        // The first marker is printed before any of the solution's code runs.
        Some(status) if status == "compile_error" => Verdict::CompileError,
        Some(status) if status == "compiled" => {
            host_checks_verdict(entry_point, checks, &mut markers, &outcome, &mut report)
        }
        _ => status_of(&outcome).unwrap_or_else(|| {
            report.note = Some("the program ended before the test started".into());
            Verdict::RuntimeError
        }),
    };
    Ok(report)
}

/// The verdict of the lines of a compiled solution, from its answers in order.
fn host_checks_verdict(
    entry_point: &str,
    checks: &[Check],
    answers: &mut impl Iterator<Item = Marker>,
    outcome: &RunOutcome,
    report: &mut TestReport,
) -> Verdict {
    for (line, check) in checks.iter().enumerate() {
        let (call, expectation) = match check {
            Check::Constant(true) => continue,
            Check::Constant(false) => {
                report.note = Some(format!(
                    "assert line {} is false whatever the solution does",
                    line + 1
                ));
                return Verdict::WrongAnswer;
            }
            Check::Call(call, expectation) => (call, expectation),
        };
        let Some(answer) = answers.next() else {
            return status_of(outcome).unwrap_or_else(|| {
                report.note = Some(solution_failure_note("ended"));
                Verdict::RuntimeError
            });
        };
        let called = asserts::describe_call(entry_point, call);
        let value = match answer.status.as_str() {
            "returned" => serde_json::from_str(&answer.payload)
                .map_err(|error| error.to_string())
                .and_then(|json| asserts::decode_answer(&json)),
            "raised" => {
                let (kind, message) =
                    serde_json::from_str::<(String, String)>(&answer.payload).unwrap_or_default();
                report.note = Some(excerpt(&format!("{called} raised {kind}: {message}")));
                // An AssertionError out of the call fails the assert line, as in `check`.
                return if kind == "AssertionError" {
                    Verdict::WrongAnswer
                } else {
                    Verdict::RuntimeError
                };
            }
            other => {
                report.note = Some(solution_failure_note(&format!("{other} {}", answer.payload)));
                return Verdict::RuntimeError;
            }
        };
        let value: PyValue = match value {
            Ok(value) => value,
            Err(problem) => {
                report.note = Some(excerpt(&format!(
                    "the answer to {called} is not plain data: {problem}"
                )));
                return Verdict::RuntimeError;
            }
        };
        match expectation.holds(&value) {
            Ok(true) => {}
            Ok(false) => {
                report.expected = Some(excerpt(&expectation.describe()));
                report.note = Some(excerpt(&format!(
                    "assert line {}: {called} returned {}",
                    line + 1,
                    asserts::repr(&value)
                )));
                return Verdict::WrongAnswer;
            }
            Err(raised) => {
                report.note = Some(excerpt(&format!(
                    "assert line {}: {called}: {}",
                    line + 1,
                    raised.0
                )));
                return Verdict::RuntimeError;
            }
        }
    }
    status_of(outcome).unwrap_or(Verdict::Accepted)
}

fn solution_failure_note(failure: &str) -> String {
    let (kind, detail) = failure.split_once(' ').unwrap_or((failure, ""));
    match kind {
        "unrepresentable" => format!(
            "the function returned something that is not plain data: {}",
            serde_json::from_str::<String>(detail).unwrap_or_else(|_| detail.to_owned())
        ),
        "missing_function" => format!("the solution defines no function {detail}"),
        "ended" => "the solution ended before answering a call of the test".into(),
        _ => format!("the solution could not answer: {failure}"),
    }
}

fn sandbox_failure(error: crate::code::CodeError) -> ItemError {
    tracing::error!(error = %crate::telemetry::error_chain(&error), "sandbox failure");
    ItemError {
        code: ItemErrorCode::SandboxError,
        message: "the sandbox failed while running this item; it was not scored".into(),
        field: None,
    }
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

fn new_nonce() -> String {
    crate::code::new_nonce()
}
