//! The programs that run call-based and assert-based tests (DESIGN §4), and the reading of
//! their outcome.
//!
//! The driver reads a per-run nonce from stdin *before* the solution runs, compiles the
//! solution itself (a `SyntaxError` is a compile error, not a crash), executes it in a fresh
//! namespace, runs the test, and prints one marker line `NONCE STATUS [JSON]` to the real
//! stdout at the very end. A program that exits early (`sys.exit(0)`, `os._exit(0)`) never
//! prints the marker, so it cannot pass by leaving — the reward hack RL policies find first.
//! The expected values never enter the guest: a call-based result is compared on the host.
//!
//! Limits of the design, written down: code in the same interpreter can, in principle, walk
//! frames to find the nonce. The sandbox, not the harness, is the security boundary; the
//! harness only makes the cheap hacks fail.

use serde_json::Value;

use super::Language;

/// What the driver reported, read from its marker line.
#[derive(Debug, Clone, PartialEq)]
pub enum HarnessReport {
    /// The function returned this value (as JSON: tuples as lists).
    Returned(Value),
    /// The return value has no JSON form (a set, an object…); the text is its repr.
    Unrepresentable(String),
    /// `check(candidate)` finished without an exception.
    Passed,
    /// An `assert` in the test failed.
    AssertionFailed,
    /// The solution did not compile.
    CompileError,
    /// The named function (or `Solution` method) does not exist after running the solution.
    MissingFunction,
    /// Any other exception; the traceback is on stderr.
    Exception,
}

/// The program for one call-based case; stdin carries the nonce, then the arguments as JSON.
pub fn call_program(language: Language, solution: &str, fn_name: &str) -> String {
    let solution = literal(solution);
    let fn_name = literal(fn_name);
    match language {
        Language::Python => python_program("call", &format!("{solution}, {fn_name}")),
        Language::JavaScript => format!("{JS_PRELUDE}\n__verdictCall({solution}, {fn_name});\n"),
    }
}

/// The program for an assert-based task: the solution, then `check(entry_point)`.
pub fn assert_program(language: Language, solution: &str, test_code: &str, entry_point: &str) -> String {
    let (solution, test_code, entry_point) = (literal(solution), literal(test_code), literal(entry_point));
    match language {
        Language::Python => python_program("check", &format!("{solution}, {test_code}, {entry_point}")),
        Language::JavaScript => {
            format!("{JS_PRELUDE}\n__verdictAssert({solution}, {test_code}, {entry_point});\n")
        }
    }
}

/// The stdin of a run: the nonce line, then (for call-based tests) the arguments.
pub fn stdin_for(nonce: &str, args: Option<&Value>) -> Vec<u8> {
    let mut stdin = format!("{nonce}\n");
    if let Some(args) = args {
        stdin.push_str(&args.to_string());
        stdin.push('\n');
    }
    stdin.into_bytes()
}

/// The driver's report and the program's own stdout with the marker line removed. `None` when
/// no marker was printed: the program ended before the test did.
pub fn read_report(stdout: &str, nonce: &str) -> (Option<HarnessReport>, String) {
    let Some(at) = stdout.rfind(&format!("{nonce} ")) else {
        return (None, stdout.to_owned());
    };
    // The marker starts a line (the driver writes a newline before it).
    if at > 0 && stdout.as_bytes()[at - 1] != b'\n' {
        return (None, stdout.to_owned());
    }
    let line_end = stdout[at..].find('\n').map_or(stdout.len(), |end| at + end);
    let marker = &stdout[at + nonce.len() + 1..line_end];
    let (status, payload) = marker.split_once(' ').unwrap_or((marker, ""));
    let report = match status {
        "returned" => serde_json::from_str(payload).ok().map(HarnessReport::Returned),
        "unrepresentable" => Some(HarnessReport::Unrepresentable(
            serde_json::from_str::<String>(payload).unwrap_or_default(),
        )),
        "passed" => Some(HarnessReport::Passed),
        "assertion_failed" => Some(HarnessReport::AssertionFailed),
        "compile_error" => Some(HarnessReport::CompileError),
        "missing_function" => Some(HarnessReport::MissingFunction),
        "exception" => Some(HarnessReport::Exception),
        _ => None,
    };
    let own_output = stdout[..at.saturating_sub(1)].to_owned();
    (report, own_output)
}

/// Call-based comparison (DESIGN §4): JSON values with numbers by value (`1 == 1.0`) and
/// booleans never equal to numbers; lists in order; objects by key.
pub fn json_equal(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(a), Some(b)) => a == b,
            _ => a.as_f64() == b.as_f64(),
        },
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| json_equal(a, b))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(key, value)| b.get(key).is_some_and(|other| json_equal(value, other)))
        }
        _ => expected == actual,
    }
}

/// A source text as a string literal both Python and JavaScript read back unchanged.
fn literal(text: &str) -> String {
    // JSON escapes quotes, backslashes and control characters; U+2028/2029 are escaped too so
    // that older JavaScript parsers do not see a line break inside the literal.
    serde_json::to_string(text)
        .expect("strings serialise")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// A Python program calling the driver: the runner has the module built in (importing it is
/// free); elsewhere (python.wasm) the module's source is executed first. The source travels as
/// a string literal, which costs nothing to compile when it is not needed.
fn python_program(entry: &str, arguments: &str) -> String {
    let source = literal(super::runner_build::PYTHON_HARNESS);
    [
        "try:",
        "    import verdict_harness as __verdict_harness",
        "except ImportError:",
        "    import types as __verdict_types",
        "    __verdict_harness = __verdict_types.ModuleType(\"verdict_harness\")",
        &format!("    exec({source}, __verdict_harness.__dict__)"),
        &format!("__verdict_harness.{entry}({arguments})"),
        "",
    ]
    .join("\n")
}

// QuickJS runs with `--std`, which makes `std` a global (scripts given with `-e` cannot import).
const JS_PRELUDE: &str = r#"const [__verdictCall, __verdictAssert] = (() => {
  const nonce = (std.in.getline() || '').trim();
  const report = (status, payload) => {
    std.out.puts('\n' + nonce + ' ' + status + (payload === undefined ? '' : ' ' + payload) + '\n');
    std.out.flush();
  };
  class AssertionError extends Error {}
  const assert = (condition, message) => { if (!condition) throw new AssertionError(message || 'assertion failed'); };
  const load = (source, extra) => {
    try {
      return new Function('assert', 'AssertionError', source + '\n' + (extra || '') +
        '\nreturn (name) => { try { return eval(name); } catch (e) { return undefined; } };')(assert, AssertionError);
    } catch (e) {
      if (e instanceof SyntaxError) { std.err.puts(String(e) + '\n'); report('compile_error'); return null; }
      throw e;
    }
  };
  const guarded = (action) => (...args) => {
    try { action(...args); } catch (e) {
      std.err.puts(String(e && e.stack ? e + '\n' + e.stack : e) + '\n');
      report(e instanceof AssertionError ? 'assertion_failed' : 'exception');
      if (!(e instanceof AssertionError)) std.exit(1);
    }
  };
  const call = (source, name) => {
    const lookup = load(source);
    if (lookup === null) return;
    const fn = lookup(name);
    if (typeof fn !== 'function') { report('missing_function'); return; }
    const args = JSON.parse(std.in.getline() || '[]');
    const result = fn(...args);
    const text = JSON.stringify(result === undefined ? null : result);
    report('returned', text);
  };
  const check = (source, testCode, entryPoint) => {
    const lookup = load(source, testCode);
    if (lookup === null) return;
    const candidate = lookup(entryPoint);
    const checker = lookup('check');
    if (typeof candidate !== 'function' || typeof checker !== 'function') { report('missing_function'); return; }
    checker(candidate);
    report('passed');
  };
  return [guarded(call), guarded(check)];
})();"#;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_marker_is_read_and_removed_from_the_programs_output() {
        let stdout = "debug print\n\nabc123 returned [1, 2]\n";
        let (report, own) = read_report(stdout, "abc123");
        assert_eq!(report, Some(HarnessReport::Returned(json!([1, 2]))));
        assert_eq!(own, "debug print\n");
    }

    #[test]
    fn no_marker_means_the_program_ended_before_the_test() {
        assert_eq!(read_report("passed\n", "n0nce").0, None);
        // A marker that does not start a line is not the driver's.
        assert_eq!(read_report("x n0nce passed\n", "n0nce").0, None);
    }

    #[test]
    fn every_status_is_understood() {
        for (line, expected) in [
            ("passed", HarnessReport::Passed),
            ("assertion_failed", HarnessReport::AssertionFailed),
            ("compile_error", HarnessReport::CompileError),
            ("missing_function", HarnessReport::MissingFunction),
            ("exception", HarnessReport::Exception),
            (
                "unrepresentable \"{1, 2}\"",
                HarnessReport::Unrepresentable("{1, 2}".into()),
            ),
        ] {
            assert_eq!(
                read_report(&format!("\nN {line}\n"), "N").0,
                Some(expected),
                "{line}"
            );
        }
    }

    #[test]
    fn json_results_compare_numbers_by_value_but_never_booleans_as_numbers() {
        assert!(json_equal(&json!(1), &json!(1.0)));
        assert!(json_equal(&json!([1, [2, 3]]), &json!([1.0, [2, 3]])));
        assert!(!json_equal(&json!(1), &json!(true)));
        assert!(!json_equal(&json!(0), &json!(false)));
        assert!(!json_equal(&json!([1, 2]), &json!([2, 1])));
        assert!(json_equal(
            &json!({"a": 1, "b": [true]}),
            &json!({"b": [true], "a": 1.0})
        ));
        assert!(!json_equal(&json!("1"), &json!(1)));
    }

    #[test]
    fn sources_are_embedded_as_literals_that_survive_quotes_and_newlines() {
        let program = call_program(
            Language::Python,
            "def f(x):\n    return \"a\\n\" + '''b'''\n",
            "f",
        );
        assert!(
            program.contains(r#"__verdict_harness.call("def f(x):\n    return \"a\\n\" + '''b'''\n", "f")"#)
        );
        let stdin = stdin_for("n", Some(&json!([1, "x"])));
        assert_eq!(stdin, b"n\n[1,\"x\"]\n");
    }
}
