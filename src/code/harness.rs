//! The programs that run call-based and assert-based tests (docs/code-semantics.md), and the
//! reading of what they report.
//!
//! Every driver reads a per-run nonce from stdin before the solution runs and prints marker
//! lines `NONCE STATUS [PAYLOAD]`, each starting a line. The first marker is always the
//! compile outcome (`compiled` or `compile_error`), printed before any of the solution's code
//! has run, so it cannot come from the solution; a later `compile_error` is ignored.
//!
//! - Call-based: one instance per case runs the solution and prints the function's result as
//!   JSON; the expected value never enters the guest, and the host compares.
//! - Assert-based: the test runs in a *judge* instance the solution never runs in, and every
//!   call of `candidate` crosses through the host to a *solution* instance serving calls, with
//!   arguments and results as plain data (`judged.rs` relays; decision record 006). What the
//!   solution can print or change reaches the verdict only as a plain value.

use serde_json::Value;

use super::Language;
use super::compare::numbers_equal;

/// What a call-based driver reported, read from its markers.
#[derive(Debug, Clone, PartialEq)]
pub enum HarnessReport {
    /// The function returned this value (as JSON: tuples as lists).
    Returned(Value),
    /// The return value has no JSON form (a set, an object…); the text is its repr.
    Unrepresentable(String),
    /// The solution did not compile (the first marker, printed before it could run).
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
        Language::JavaScript => format!("{JS_PRELUDE}\n__verdict.call({solution}, {fn_name});\n"),
    }
}

/// The solution's side of an assert-based test: compiles, runs, then serves calls.
pub fn solution_program(language: Language, solution: &str) -> String {
    let solution = literal(solution);
    match language {
        Language::Python => python_program("serve", &solution),
        Language::JavaScript => format!("{JS_PRELUDE}\n__verdict.serve({solution});\n"),
    }
}

/// The judge's side of an assert-based test: the test code's `check(candidate)`, where
/// `candidate` calls `entry_point` of the solution's instance.
pub fn judge_program(language: Language, test_code: &str, entry_point: &str) -> String {
    let (test_code, entry_point) = (literal(test_code), literal(entry_point));
    match language {
        Language::Python => python_program("judge", &format!("{test_code}, {entry_point}")),
        Language::JavaScript => {
            format!("{JS_PRELUDE}\n__verdict.judge({test_code}, {entry_point});\n")
        }
    }
}

/// The stdin of a call-based run: the nonce line, then the arguments.
pub fn stdin_for(nonce: &str, args: Option<&Value>) -> Vec<u8> {
    let mut stdin = format!("{nonce}\n");
    if let Some(args) = args {
        stdin.push_str(&args.to_string());
        stdin.push('\n');
    }
    stdin.into_bytes()
}

/// One marker line: its status word and the rest of the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    pub status: String,
    pub payload: String,
}

/// Finds the marker lines of `nonce` in a growing output, line by line, remembering how far
/// it has read; a line still being written is left for the next call.
#[derive(Debug, Clone)]
pub struct MarkerScanner {
    prefix: String,
    offset: usize,
    pending: Vec<u8>,
}

impl MarkerScanner {
    pub fn new(nonce: &str) -> Self {
        MarkerScanner {
            prefix: format!("{nonce} "),
            offset: 0,
            pending: Vec::new(),
        }
    }

    /// How many bytes of the output have been taken in so far.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Takes in `more` (the output from [`offset`](Self::offset) on) and returns the markers
    /// completed by it, in order.
    pub fn feed(&mut self, more: &[u8]) -> Vec<Marker> {
        self.offset += more.len();
        self.pending.extend_from_slice(more);
        let mut markers = Vec::new();
        let mut consumed = 0;
        while let Some(end) = self.pending[consumed..].iter().position(|&b| b == b'\n') {
            let line = &self.pending[consumed..consumed + end];
            consumed += end + 1;
            if let Some(rest) = line.strip_prefix(self.prefix.as_bytes()) {
                let rest = String::from_utf8_lossy(rest);
                let (status, payload) = rest.split_once(' ').unwrap_or((&rest, ""));
                markers.push(Marker {
                    status: status.to_owned(),
                    payload: payload.to_owned(),
                });
            }
        }
        self.pending.drain(..consumed);
        markers
    }
}

/// The program's own output: `stdout` without the marker lines of `nonce` (and the line break
/// the driver writes before each).
pub fn own_output(stdout: &str, nonce: &str) -> String {
    let prefix = format!("{nonce} ");
    let mut kept = String::with_capacity(stdout.len());
    let mut lines = stdout.split_inclusive('\n').peekable();
    while let Some(line) = lines.next() {
        if lines.peek().is_some_and(|next| next.starts_with(&prefix)) && line == "\n" {
            continue;
        }
        if line.starts_with(&prefix) {
            continue;
        }
        kept.push_str(line);
    }
    kept
}

/// A call-based driver's report and the program's own stdout without markers. `None` when the
/// markers do not say how the case ended: the program left before the driver did.
pub fn read_report(stdout: &str, nonce: &str) -> (Option<HarnessReport>, String) {
    let markers = MarkerScanner::new(nonce).feed(stdout.as_bytes());
    let own = own_output(stdout, nonce);
    let mut markers = markers.into_iter();
    match markers.next().map(|m| m.status) {
        Some(status) if status == "compile_error" => return (Some(HarnessReport::CompileError), own),
        Some(status) if status == "compiled" => {}
        _ => return (None, own),
    }
    let report = markers.rfind(|m| m.status != "compiled" && m.status != "compile_error");
    let report = report.and_then(|marker| match marker.status.as_str() {
        "returned" => serde_json::from_str(&marker.payload)
            .ok()
            .map(HarnessReport::Returned),
        "unrepresentable" => Some(HarnessReport::Unrepresentable(
            serde_json::from_str::<String>(&marker.payload).unwrap_or_default(),
        )),
        "missing_function" => Some(HarnessReport::MissingFunction),
        "exception" => Some(HarnessReport::Exception),
        _ => None,
    });
    (report, own)
}

/// Call-based comparison (docs/code-semantics.md): JSON values with numbers by value (`1 ==
/// 1.0`), integers exactly at any size, booleans never equal to numbers; lists in order;
/// objects by key.
pub fn json_equal(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(a), Value::Number(b)) => numbers_equal(a, b),
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

/// A Python program calling the driver module, which the runner has built in and the
/// python.wasm driver installs from its own copy (`lang.rs`): the program itself stays a few
/// lines, so compiling it costs next to nothing.
fn python_program(entry: &str, arguments: &str) -> String {
    format!("import verdict_harness as __verdict_harness\n__verdict_harness.{entry}({arguments})\n")
}

// QuickJS runs with `--std`, which makes `std` a global (scripts given with `-e` cannot import).
// The same three drivers as the Python module (sandbox-images/python/verdict_harness.py), with
// the same markers and the same plain-data encoding: tagged JSON (`$num` for the numbers JSON
// cannot write, `$undefined`, `$bigint`, `$object` pairs, `$map`, `$set`), so that only arrays,
// plain objects, Maps, Sets and primitives come out of a decode.
const JS_PRELUDE: &str = r#"const __verdict = (() => {
  const nonce = (std.in.getline() || '').trim();
  const report = (status, payload) => {
    std.out.puts('\n' + nonce + ' ' + status + (payload === undefined ? '' : ' ' + payload) + '\n');
    std.out.flush();
  };
  const printError = (e) => std.err.puts(String(e && e.stack ? e + '\n' + e.stack : e) + '\n');
  class AssertionError extends Error {}
  const assert = (condition, message) => { if (!condition) throw new AssertionError(message || 'assertion failed'); };
  class NotPlain extends Error {}
  const encode = (value, depth, seen) => {
    if (depth > 200) throw new NotPlain('nested too deeply');
    switch (typeof value) {
      case 'undefined': return { $undefined: 1 };
      case 'boolean': case 'string': return value;
      case 'bigint': return { $bigint: value.toString() };
      case 'number':
        return Number.isFinite(value) && !Object.is(value, -0) ? value : { $num: Object.is(value, -0) ? '-0' : String(value) };
      case 'object': break;
      default: throw new NotPlain('a ' + typeof value + ' is not plain data');
    }
    if (value === null) return null;
    if (seen.has(value)) throw new NotPlain('a value that contains itself');
    seen.add(value);
    try {
      if (Array.isArray(value)) return Array.from(value, (item) => encode(item, depth + 1, seen));
      if (value instanceof Map) return { $map: Array.from(value, ([k, v]) => [encode(k, depth + 1, seen), encode(v, depth + 1, seen)]) };
      if (value instanceof Set) return { $set: Array.from(value, (item) => encode(item, depth + 1, seen)) };
      const proto = Object.getPrototypeOf(value);
      if (proto === Object.prototype || proto === null) {
        return { $object: Object.keys(value).map((key) => [key, encode(value[key], depth + 1, seen)]) };
      }
      throw new NotPlain('a ' + ((proto && proto.constructor && proto.constructor.name) || 'object') + ' is not plain data');
    } finally { seen.delete(value); }
  };
  const dumps = (value) => JSON.stringify(encode(value, 0, new Set()));
  const tags = {
    $undefined: () => undefined,
    $bigint: (text) => BigInt(text),
    $num: (text) => Number(text),
    $map: (pairs) => new Map(pairs.map(([k, v]) => [revive(k), revive(v)])),
    $set: (items) => new Set(items.map(revive)),
    $object: (pairs) => { const out = {}; for (const [k, v] of pairs) out[String(k)] = revive(v); return out; },
  };
  const revive = (value) => {
    if (Array.isArray(value)) return value.map(revive);
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length !== 1 || !Object.prototype.hasOwnProperty.call(tags, keys[0])) throw new Error('not plain data');
    return tags[keys[0]](value[keys[0]]);
  };
  const decode = (text) => revive(JSON.parse(text));
  // Parses without running: a SyntaxError here is reported before any of the solution's code ran.
  const compileSolution = (source) => {
    try {
      return new Function(source + '\nreturn (name) => { try { return eval(name); } catch (e) { return undefined; } };');
    } catch (e) {
      if (e instanceof SyntaxError) { printError(e); report('compile_error'); return null; }
      throw e;
    }
  };
  const call = (source, name) => {
    try {
      const body = compileSolution(source);
      if (body === null) return;
      report('compiled');
      const fn = body()(name);
      if (typeof fn !== 'function') { report('missing_function'); return; }
      const args = JSON.parse(std.in.getline() || '[]');
      const result = fn(...args);
      report('returned', JSON.stringify(result === undefined ? null : result));
    } catch (e) { printError(e); report('exception'); std.exit(1); }
  };
  const serve = (source) => {
    const body = compileSolution(source);
    if (body === null) return;
    report('compiled');
    let lookup;
    try { lookup = body(); } catch (e) { printError(e); std.exit(1); }
    for (let line = std.in.getline(); line !== null; line = std.in.getline()) {
      const [name, args] = decode(line);
      const fn = lookup(name);
      if (typeof fn !== 'function') { report('missing_function', JSON.stringify(name)); continue; }
      let result;
      try { result = fn(...args); } catch (e) {
        printError(e);
        report('raised', JSON.stringify([String(e && e.name), String(e && e.message).slice(0, 1000)]));
        continue;
      }
      let payload;
      try { payload = dumps(result); } catch (e) {
        report('unrepresentable', JSON.stringify(String(e && e.message).slice(0, 200)));
        continue;
      }
      report('returned', payload);
    }
  };
  class SolutionFailed extends Error {}
  const judge = (testCode, entryPoint) => {
    let failed = null;
    const remote = (name) => (...args) => {
      if (failed !== null) throw new SolutionFailed(failed);
      report('call', dumps([name, args]));
      const answer = std.in.getline();
      const at = answer === null ? -1 : answer.indexOf(' ');
      const kind = answer === null ? 'ended' : at < 0 ? answer : answer.slice(0, at);
      const payload = at < 0 ? '' : answer.slice(at + 1);
      if (kind === 'returned') return decode(payload);
      if (kind === 'raised') { const [n, m] = JSON.parse(payload); const e = new Error(m); e.name = n; throw e; }
      // Remembered, so that a test catching every error cannot hide it.
      failed = kind + ' ' + payload.slice(0, 200);
      throw new SolutionFailed(failed);
    };
    let check;
    try {
      check = new Function('assert', 'AssertionError', testCode + '\nreturn typeof check === "function" ? check : undefined;')(assert, AssertionError);
    } catch (e) { printError(e); report('exception'); return; }
    if (typeof check !== 'function') { report('missing_function'); return; }
    try { check(remote(entryPoint)); } catch (e) {
      printError(e);
      report(failed !== null ? 'solution_failed' : e instanceof AssertionError ? 'assertion_failed' : 'exception');
      return;
    }
    report(failed !== null ? 'solution_failed' : 'passed');
  };
  return { call, serve, judge };
})();"#;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_marker_is_read_and_removed_from_the_programs_output() {
        let stdout = "\nabc123 compiled\ndebug print\n\nabc123 returned [1, 2]\n";
        let (report, own) = read_report(stdout, "abc123");
        assert_eq!(report, Some(HarnessReport::Returned(json!([1, 2]))));
        assert_eq!(own, "debug print\n");
    }

    #[test]
    fn no_marker_means_the_program_ended_before_the_test() {
        assert_eq!(read_report("passed\n", "n0nce").0, None);
        assert_eq!(read_report("\nn0nce compiled\n", "n0nce").0, None);
        // A marker that does not start a line is not the driver's.
        assert_eq!(
            read_report("\nn0nce compiled\nx n0nce returned 1\n", "n0nce").0,
            None
        );
    }

    #[test]
    fn only_the_first_marker_can_say_compile_error() {
        // Printed before the solution ran: believed.
        let (report, _) = read_report("\nN compile_error\n", "N");
        assert_eq!(report, Some(HarnessReport::CompileError));
        // Printed by a solution that found the nonce, after it compiled: ignored.
        let forged = "\nN compiled\n\nN compile_error\n";
        assert_eq!(read_report(forged, "N").0, None);
        let forged = "\nN compiled\n\nN returned 3\n\nN compile_error\n";
        assert_eq!(
            read_report(forged, "N").0,
            Some(HarnessReport::Returned(json!(3)))
        );
        // Markers before the compile outcome cannot exist: without it nothing is believed.
        assert_eq!(read_report("\nN returned 3\n", "N").0, None);
    }

    #[test]
    fn every_status_is_understood() {
        for (line, expected) in [
            ("missing_function", HarnessReport::MissingFunction),
            ("exception", HarnessReport::Exception),
            (
                "unrepresentable \"{1, 2}\"",
                HarnessReport::Unrepresentable("{1, 2}".into()),
            ),
        ] {
            assert_eq!(
                read_report(&format!("\nN compiled\n\nN {line}\n"), "N").0,
                Some(expected),
                "{line}"
            );
        }
    }

    #[test]
    fn the_scanner_finds_markers_across_partial_writes() {
        let mut scanner = MarkerScanner::new("N");
        assert!(scanner.feed(b"hello\n\nN ca").is_empty());
        assert_eq!(
            scanner.feed(b"ll [1]\nN passed\nN"),
            vec![
                Marker {
                    status: "call".into(),
                    payload: "[1]".into()
                },
                Marker {
                    status: "passed".into(),
                    payload: String::new()
                },
            ]
        );
        assert_eq!(scanner.offset(), 28);
        assert!(scanner.feed(b"o marker\n").is_empty());
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
    fn integers_compare_exactly_at_any_size() {
        let big = |text: &str| serde_json::from_str::<Value>(text).unwrap();
        // 2**63 + 1 against 2**63: equal as f64, not as integers.
        assert!(!json_equal(
            &big("9223372036854775808"),
            &big("9223372036854775809")
        ));
        assert!(json_equal(
            &big("9223372036854775808"),
            &big("9223372036854775808")
        ));
        // Above u64.
        let huge = "123456789012345678901234567890";
        assert!(json_equal(&big(huge), &big(huge)));
        assert!(!json_equal(&big(huge), &big("123456789012345678901234567891")));
        // An integer never equals a float that only rounds to it.
        assert!(!json_equal(&big(huge), &big("1.2345678901234568e29")));
        assert!(json_equal(&big("3"), &big("3.0")));
        assert!(json_equal(&big("-0"), &big("0")));
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

    #[test]
    fn the_judge_program_carries_the_test_and_never_the_solution() {
        for language in Language::ALL {
            let judge = judge_program(language, "def check(c): assert c(1) == 2", "f");
            assert!(judge.contains("def check(c): assert c(1) == 2"));
            let solution = solution_program(language, "SECRET_SOLUTION_TEXT");
            assert!(!judge.contains("SECRET_SOLUTION_TEXT"));
            assert!(!solution.contains("check(c)"));
        }
    }
}
