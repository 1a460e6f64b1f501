//! Assert lines judged on the host (docs/code-semantics.md, decision record 006).
//!
//! Most HumanEval and MBPP tests are nothing but `assert candidate(<literals>) == <literal>`
//! lines. Such a test needs no judge instance: the host reads it here, asks the solution's
//! serving driver for each call's result (plain data, as in the judged path), and decides
//! each line itself with CPython's semantics for the built-in types (`value.rs`). The
//! expected values never enter the guest, and no guest decides a verdict. A test with
//! anything else in it — a loop, a helper, a name of its own, an import other than `typing`
//! or `math` — is not read here and runs in the judge as before.

mod parse;
mod value;

pub use parse::Call;
use parse::{CompareOp, Expr, Line, Parser, Token};
pub use value::{PyValue, Raised, decode_answer, repr};

/// What one assert line asks of its call's result.
#[derive(Debug, Clone)]
pub enum Expectation {
    /// `assert candidate(…)`
    Truthy,
    /// `assert not candidate(…)`
    Falsy,
    /// `assert candidate(…) == value` (either side)
    Equal(PyValue),
    /// `assert candidate(…) is True` / `False` / `None`
    Is(PyValue),
    /// `assert abs(candidate(…) - target) < tolerance` (or `<=`, either order inside)
    Within {
        target: PyValue,
        tolerance: PyValue,
        inclusive: bool,
    },
}

/// One assert line of `check`.
#[derive(Debug, Clone)]
pub enum Check {
    /// A line without a call (`assert True, "…"`): its truth, known before any run.
    Constant(bool),
    /// A line with one call of the tested function.
    Call(Call, Expectation),
}

impl Expectation {
    /// Whether `answer` (the call's result) passes the line; `Err` when the line would raise
    /// instead (comparing an object of the solution, subtracting a string).
    pub fn holds(&self, answer: &PyValue) -> Result<bool, Raised> {
        match self {
            Expectation::Truthy => answer.truth(),
            Expectation::Falsy => answer.truth().map(|truth| !truth),
            Expectation::Equal(expected) => value::py_eq(answer, expected),
            Expectation::Is(singleton) => Ok(answer.is_singleton(singleton)),
            Expectation::Within {
                target,
                tolerance,
                inclusive,
            } => value::within(answer, target, tolerance, *inclusive),
        }
    }

    /// The line's expected side, for the audit.
    pub fn describe(&self) -> String {
        match self {
            Expectation::Truthy => "a true value".into(),
            Expectation::Falsy => "a false value".into(),
            Expectation::Equal(expected) => repr(expected),
            Expectation::Is(singleton) => format!("{} itself", repr(singleton)),
            Expectation::Within {
                target,
                tolerance,
                inclusive,
            } => format!(
                "a value v with abs(v - {}) {} {}",
                repr(target),
                if *inclusive { "<=" } else { "<" },
                repr(tolerance)
            ),
        }
    }
}

/// The checks of `test_code`, when it is a `def check(<name>):` holding only assert lines this
/// module decides (and, beside it, only constants, docstrings and `typing`/`math` imports);
/// `None` sends the test to the judge.
pub fn read_checks(test_code: &str) -> Option<Vec<Check>> {
    let lines = parse::logical_lines(test_code)?;
    let mut checks: Option<Vec<Check>> = None;
    let mut at = 0;
    while at < lines.len() {
        let line = &lines[at];
        at += 1;
        if !line.indent.is_empty() {
            return None;
        }
        if let Some(callee) = check_header(&line.tokens) {
            if checks.is_some() {
                return None;
            }
            let body_indent = lines
                .get(at)
                .map(|l| l.indent.clone())
                .filter(|indent| !indent.is_empty())?;
            let mut body = Vec::new();
            while let Some(statement) = lines.get(at).filter(|l| !l.indent.is_empty()) {
                if statement.indent != body_indent {
                    return None;
                }
                if let Some(check) = body_statement(&statement.tokens, callee)? {
                    body.push(check);
                }
                at += 1;
            }
            checks = Some(body);
        } else if !harmless_top_level(line) {
            return None;
        }
    }
    checks.filter(|checks| !checks.is_empty())
}

/// `def check(NAME):` → `NAME`.
fn check_header(tokens: &[Token]) -> Option<&str> {
    match tokens {
        [
            Token::Name(def),
            Token::Name(check),
            Token::Op("("),
            Token::Name(param),
            Token::Op(")"),
            Token::Op(":"),
        ] if def == "def" && check == "check" && is_identifier(param) => Some(param),
        _ => None,
    }
}

/// A top-level line that changes nothing `check` reads: a docstring, `NAME = <constant>`
/// (HumanEval's `METADATA`; a name `check` used would make its line unreadable here anyway),
/// or an import of `typing` or `math`.
fn harmless_top_level(line: &Line) -> bool {
    let tokens = line.tokens.as_slice();
    if tokens.iter().all(|t| matches!(t, Token::Str(_))) {
        return true;
    }
    if let [Token::Name(name), Token::Op("="), rest @ ..] = tokens {
        // `abs` is read as the builtin: a test that rebinds it is left to the judge.
        if name == "check" || name == "abs" || !is_identifier(name) {
            return false;
        }
        let mut parser = Parser::new(rest, "");
        return parser.constant().is_some() && parser.at_end();
    }
    let module_is_harmless =
        |module: &Token| matches!(module, Token::Name(m) if m == "typing" || m == "math");
    match tokens {
        [Token::Name(import), module] if import == "import" => module_is_harmless(module),
        [Token::Name(from), module, Token::Name(import), names @ ..]
            if from == "from" && import == "import" =>
        {
            module_is_harmless(module)
                && !names.is_empty()
                && names.iter().all(|t| {
                    // No `as`, and nothing named `abs`: the builtin must stay what the lines mean.
                    matches!(t, Token::Name(n) if is_identifier(n) && n != "abs")
                        || matches!(t, Token::Op("," | "(" | ")"))
                })
        }
        _ => false,
    }
}

fn is_identifier(name: &str) -> bool {
    !parse::is_keyword(name)
}

/// One statement of `check`: `Some(None)` for one that does nothing (`pass`, a docstring),
/// `None` when it is not read here.
fn body_statement(tokens: &[Token], callee: &str) -> Option<Option<Check>> {
    match tokens {
        [Token::Name(pass)] if pass == "pass" => Some(None),
        _ if tokens.iter().all(|t| matches!(t, Token::Str(_))) => Some(None),
        [Token::Name(assert), rest @ ..] if assert == "assert" => {
            let mut parser = Parser::new(rest, callee);
            let expr = parser.expression()?;
            // The message is evaluated only after the line failed, so it cannot change the
            // verdict; it only has to be valid syntax.
            if parser.eat_op(",") {
                parser.skim()?;
            }
            if !parser.at_end() {
                return None;
            }
            classify(expr).map(Some)
        }
        _ => None,
    }
}

fn classify(expr: Expr) -> Option<Check> {
    Some(match expr {
        Expr::Const(value) => Check::Constant(value.truth().ok()?),
        Expr::Call(call) => Check::Call(call, Expectation::Truthy),
        Expr::Not(inner) => match *inner {
            Expr::Call(call) => Check::Call(call, Expectation::Falsy),
            _ => return None,
        },
        Expr::Compare(left, op, right) => match (*left, op, *right) {
            (Expr::Call(call), CompareOp::Eq, Expr::Const(expected))
            | (Expr::Const(expected), CompareOp::Eq, Expr::Call(call)) => {
                Check::Call(call, Expectation::Equal(expected))
            }
            (
                Expr::Call(call),
                CompareOp::Is,
                Expr::Const(singleton @ (PyValue::Bool(_) | PyValue::None)),
            ) => Check::Call(call, Expectation::Is(singleton)),
            (Expr::Abs(difference), op @ (CompareOp::Lt | CompareOp::LtEq), Expr::Const(tolerance))
                if tolerance.is_real_number() =>
            {
                let (call, target) = match *difference {
                    Expr::Sub(a, b) => match (*a, *b) {
                        (Expr::Call(call), Expr::Const(target)) | (Expr::Const(target), Expr::Call(call)) => {
                            (call, target)
                        }
                        _ => return None,
                    },
                    _ => return None,
                };
                Check::Call(
                    call,
                    Expectation::Within {
                        target,
                        tolerance,
                        inclusive: op == CompareOp::LtEq,
                    },
                )
            }
            _ => return None,
        },
        Expr::Abs(_) | Expr::Sub(..) => return None,
    })
}

/// The serving driver's request for `call` of `entry_point`: `["call", ["global", name],
/// args, kwargs]`, kwargs as a tagged dict, as the judge would send it.
pub fn call_request(entry_point: &str, call: &Call) -> String {
    let mut out = String::from("[\"call\",[\"global\",");
    out.push_str(&serde_json::to_string(entry_point).unwrap_or_else(|_| "\"\"".into()));
    out.push_str("],");
    value::encode(&PyValue::List(call.args.clone()), &mut out);
    out.push_str(",{\"$dict\":[");
    for (n, (name, value)) in call.kwargs.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        out.push('[');
        out.push_str(&serde_json::to_string(name).unwrap_or_else(|_| "\"\"".into()));
        out.push(',');
        value::encode(value, &mut out);
        out.push(']');
    }
    out.push_str("]}]");
    out
}

/// The call as the test wrote it, for the audit.
pub fn describe_call(entry_point: &str, call: &Call) -> String {
    let mut parts: Vec<String> = call.args.iter().map(repr).collect();
    parts.extend(
        call.kwargs
            .iter()
            .map(|(name, value)| format!("{name}={}", repr(value))),
    );
    format!("{entry_point}({})", parts.join(", "))
}

#[cfg(test)]
mod tests;
