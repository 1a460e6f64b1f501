//! Reading a test's source: the small part of Python an assert-only test is written in —
//! logical lines, literals of the built-in types, arithmetic on them, one call of the tested
//! function per line, and the comparisons of `mod.rs`. Whatever is outside that part (a loop,
//! a helper, a name, an f-string, an operation whose result this reader could get wrong) makes
//! the whole test `None`, and the test runs in the judge instead. So nothing here needs to be
//! complete; everything it accepts must mean what CPython makes of it.

use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{Signed, ToPrimitive, Zero};

use super::value::{MAX_LITERAL_DIGITS, PyValue, py_eq, unique_elements, unique_pairs};

/// Deeper nesting than this is left to the judge (and keeps this reader's stack small).
const MAX_DEPTH: usize = 150;
/// Strings, bytes, lists and tuples built by `*` or `+` stay below this many elements.
const MAX_BUILT_LEN: usize = 100_000;
/// Integers built by arithmetic stay below this many bits (about MAX_LITERAL_DIGITS digits).
const MAX_INT_BITS: u64 = 14_280;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token {
    Name(String),
    Number(NumberToken),
    Str(String),
    Bytes(Vec<u8>),
    Op(&'static str),
}

/// A numeric literal; kept apart from [`PyValue`] so that tokens compare structurally.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum NumberToken {
    Int(BigInt),
    Float(f64),
}

/// One logical line: the whitespace before it and its tokens.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Line {
    pub indent: String,
    pub tokens: Vec<Token>,
}

const OPERATORS: [&str; 28] = [
    "**", "//", "==", "!=", "<=", ">=", "->", "(", ")", "[", "]", "{", "}", ",", ":", "=", "<", ">", "+",
    "-", "*", "/", "%", ".", ";", "~", "@", "|",
];

/// Splits `source` into logical lines (brackets and backslashes join physical lines; blank
/// and comment lines are dropped); `None` for anything this reader does not tokenise.
pub(super) fn logical_lines(source: &str) -> Option<Vec<Line>> {
    let chars: Vec<char> = source.replace("\r\n", "\n").chars().collect();
    let mut at = 0;
    let mut lines = Vec::new();
    while at < chars.len() {
        let start = at;
        while at < chars.len() && (chars[at] == ' ' || chars[at] == '\t') {
            at += 1;
        }
        let indent: String = chars[start..at].iter().collect();
        match chars.get(at) {
            None => break,
            Some('\n') => {
                at += 1;
                continue;
            }
            Some('#') => {
                while at < chars.len() && chars[at] != '\n' {
                    at += 1;
                }
                continue;
            }
            Some(_) => {}
        }
        let mut tokens = Vec::new();
        let mut depth = 0usize;
        while let Some(&c) = chars.get(at) {
            match c {
                ' ' | '\t' => at += 1,
                '\n' => {
                    at += 1;
                    if depth == 0 {
                        break;
                    }
                }
                '#' => {
                    while at < chars.len() && chars[at] != '\n' {
                        at += 1;
                    }
                }
                '\\' if chars.get(at + 1) == Some(&'\n') => at += 2,
                '\'' | '"' => tokens.push(string(&chars, &mut at, "")?),
                c if c.is_ascii_digit()
                    || (c == '.' && chars.get(at + 1).is_some_and(char::is_ascii_digit)) =>
                {
                    tokens.push(Token::Number(number(&chars, &mut at)?));
                }
                c if c.is_ascii_alphabetic() || c == '_' => {
                    let begin = at;
                    while chars
                        .get(at)
                        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
                    {
                        at += 1;
                    }
                    let name: String = chars[begin..at].iter().collect();
                    if matches!(chars.get(at), Some('\'' | '"')) {
                        tokens.push(string(&chars, &mut at, &name)?);
                    } else {
                        tokens.push(Token::Name(name));
                    }
                }
                _ => {
                    let rest = |len: usize| chars.get(at..at + len).map(|s| s.iter().collect::<String>());
                    let op = OPERATORS
                        .iter()
                        .find(|op| rest(op.len()).as_deref() == Some(**op))?;
                    match *op {
                        "(" | "[" | "{" => depth += 1,
                        ")" | "]" | "}" => depth = depth.checked_sub(1)?,
                        _ => {}
                    }
                    at += op.len();
                    tokens.push(Token::Op(op));
                }
            }
        }
        if depth != 0 {
            return None;
        }
        if !tokens.is_empty() {
            lines.push(Line { indent, tokens });
        }
    }
    Some(lines)
}

/// A string or bytes literal starting at its quote, with `prefix` already read.
fn string(chars: &[char], at: &mut usize, prefix: &str) -> Option<Token> {
    let prefix = prefix.to_ascii_lowercase();
    let (raw, bytes) = match prefix.as_str() {
        "" | "u" => (false, false),
        "r" => (true, false),
        "b" => (false, true),
        "br" | "rb" => (true, true),
        _ => return None,
    };
    let quote = chars[*at];
    let triple = chars.get(*at + 1) == Some(&quote) && chars.get(*at + 2) == Some(&quote);
    *at += if triple { 3 } else { 1 };
    let mut body = Vec::new();
    loop {
        let c = *chars.get(*at)?;
        if c == quote
            && (!triple || (chars.get(*at + 1) == Some(&quote) && chars.get(*at + 2) == Some(&quote)))
        {
            *at += if triple { 3 } else { 1 };
            break;
        }
        if c == '\n' && !triple {
            return None;
        }
        if c == '\\' {
            body.push(c);
            body.push(*chars.get(*at + 1)?);
            *at += 2;
            continue;
        }
        body.push(c);
        *at += 1;
    }
    if bytes {
        if body.iter().any(|c| !c.is_ascii()) {
            return None;
        }
        let value = if raw {
            body.iter().map(|&c| c as u8).collect()
        } else {
            unescape_bytes(&body)?
        };
        Some(Token::Bytes(value))
    } else {
        let value = if raw {
            body.iter().collect()
        } else {
            unescape(&body)?
        };
        Some(Token::Str(value))
    }
}

/// The escapes of a Python `str` literal; `None` for `\N{…}` and lone surrogates.
fn unescape(body: &[char]) -> Option<String> {
    let mut out = String::with_capacity(body.len());
    let mut at = 0;
    while at < body.len() {
        let c = body[at];
        at += 1;
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = body[at];
        at += 1;
        match e {
            '\n' => {}
            '\\' | '\'' | '"' => out.push(e),
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\u{b}'),
            '0'..='7' => {
                let (value, len) = octal(&body[at - 1..]);
                at += len - 1;
                out.push(char::from_u32(value)?);
            }
            'x' | 'u' | 'U' => {
                let len = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let digits: String = body.get(at..at + len)?.iter().collect();
                at += len;
                out.push(char::from_u32(u32::from_str_radix(&digits, 16).ok()?)?);
            }
            'N' => return None,
            // An unknown escape keeps its backslash.
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    Some(out)
}

fn unescape_bytes(body: &[char]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len());
    let mut at = 0;
    while at < body.len() {
        let c = body[at];
        at += 1;
        if c != '\\' {
            out.push(c as u8);
            continue;
        }
        let e = body[at];
        at += 1;
        match e {
            '\n' => {}
            '\\' | '\'' | '"' => out.push(e as u8),
            'a' => out.push(7),
            'b' => out.push(8),
            'f' => out.push(12),
            'n' => out.push(b'\n'),
            'r' => out.push(b'\r'),
            't' => out.push(b'\t'),
            'v' => out.push(11),
            '0'..='7' => {
                let (value, len) = octal(&body[at - 1..]);
                at += len - 1;
                out.push(u8::try_from(value).ok()?);
            }
            'x' => {
                let digits: String = body.get(at..at + 2)?.iter().collect();
                at += 2;
                out.push(u8::from_str_radix(&digits, 16).ok()?);
            }
            other => {
                out.push(b'\\');
                out.push(other as u8);
            }
        }
    }
    Some(out)
}

/// Up to three octal digits: the value and how many were read.
fn octal(digits: &[char]) -> (u32, usize) {
    let len = digits
        .iter()
        .take(3)
        .take_while(|c| ('0'..='7').contains(*c))
        .count();
    let value = digits[..len]
        .iter()
        .fold(0, |value, c| value * 8 + c.to_digit(8).unwrap_or(0));
    (value, len)
}

fn number(chars: &[char], at: &mut usize) -> Option<NumberToken> {
    let begin = *at;
    let hex = chars.get(*at) == Some(&'0') && chars.get(*at + 1).is_some_and(|c| "xXoObB".contains(*c));
    while let Some(&c) = chars.get(*at) {
        let sign_of_exponent = (c == '+' || c == '-')
            && !hex
            && matches!(chars.get(*at - 1), Some('e' | 'E'))
            && chars.get(*at + 1).is_some_and(char::is_ascii_digit);
        if c.is_ascii_alphanumeric() || c == '_' || c == '.' || sign_of_exponent {
            *at += 1;
        } else {
            break;
        }
    }
    let written: String = chars[begin..*at].iter().collect();
    // Python allows one `_` between digits only (`1_000`, `0x_ff`); anything else is a
    // syntax error, which the judge would report.
    let bad_underscore = written.contains("__")
        || written.ends_with('_')
        || [".", "e", "E", "+", "-"]
            .iter()
            .any(|c| written.contains(&format!("_{c}")) || written.contains(&format!("{c}_")));
    if bad_underscore {
        return None;
    }
    let text: String = written.chars().filter(|c| *c != '_').collect();
    let lower = text.to_ascii_lowercase();
    if lower.ends_with('j') || lower.ends_with('l') {
        return None;
    }
    let radix = match lower.get(..2) {
        Some("0x") => Some(16),
        Some("0o") => Some(8),
        Some("0b") => Some(2),
        _ => None,
    };
    if let Some(radix) = radix {
        return BigInt::parse_bytes(&lower.as_bytes()[2..], radix)
            .filter(|i| i.bits() <= MAX_INT_BITS)
            .map(NumberToken::Int);
    }
    if lower.contains(['.', 'e']) {
        if !lower.chars().all(|c| c.is_ascii_digit() || ".e+-".contains(c)) {
            return None;
        }
        return lower.parse::<f64>().ok().map(NumberToken::Float);
    }
    if !lower.chars().all(|c| c.is_ascii_digit())
        || lower.len() > MAX_LITERAL_DIGITS
        || (lower.len() > 1 && lower.starts_with('0') && lower.chars().any(|c| c != '0'))
    {
        return None;
    }
    lower.parse::<BigInt>().ok().map(NumberToken::Int)
}

/// A comparison operator of an assert line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CompareOp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    Is,
    IsNot,
}

/// A call of the tested function with literal arguments.
#[derive(Debug, Clone)]
pub struct Call {
    pub args: Vec<PyValue>,
    pub kwargs: Vec<(String, PyValue)>,
}

/// An expression of an assert line after folding: constants are values; what is left
/// involves the one call.
#[derive(Debug, Clone)]
pub(super) enum Expr {
    Const(PyValue),
    Call(Call),
    Abs(Box<Expr>),
    Not(Box<Expr>),
    Sub(Box<Expr>, Box<Expr>),
    Compare(Box<Expr>, CompareOp, Box<Expr>),
}

/// A recursive-descent reader of one line's tokens; `callee` is the name `check` gave the
/// tested function.
pub(super) struct Parser<'a> {
    tokens: &'a [Token],
    at: usize,
    depth: usize,
    callee: &'a str,
}

impl<'a> Parser<'a> {
    pub fn new(tokens: &'a [Token], callee: &'a str) -> Self {
        Parser {
            tokens,
            at: 0,
            depth: 0,
            callee,
        }
    }

    pub fn at_end(&self) -> bool {
        self.at == self.tokens.len()
    }

    fn peek(&self) -> Option<&'a Token> {
        self.tokens.get(self.at)
    }

    fn peek_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Token::Op(o)) if *o == op)
    }

    fn peek_name(&self, name: &str) -> bool {
        matches!(self.peek(), Some(Token::Name(n)) if n == name)
    }

    pub fn eat_op(&mut self, op: &str) -> bool {
        let found = self.peek_op(op);
        self.at += usize::from(found);
        found
    }

    fn eat_name(&mut self, name: &str) -> bool {
        let found = self.peek_name(name);
        self.at += usize::from(found);
        found
    }

    fn expect_op(&mut self, op: &str) -> Option<()> {
        self.eat_op(op).then_some(())
    }

    fn deeper(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    /// `not`-level expression (what `assert` takes).
    pub fn expression(&mut self) -> Option<Expr> {
        self.deeper()?;
        let expr = if self.eat_name("not") {
            match self.expression()? {
                Expr::Const(value) => Expr::Const(PyValue::Bool(!value.truth().ok()?)),
                other => Expr::Not(Box::new(other)),
            }
        } else {
            self.comparison()?
        };
        self.depth -= 1;
        Some(expr)
    }

    /// Checks that the tokens from here form an expression, without evaluating it: an
    /// assert's message, which Python evaluates only after the line has failed (so whatever it
    /// does, the line fails), but which must still be valid syntax for the test to run at all.
    pub fn skim(&mut self) -> Option<()> {
        self.deeper()?;
        if self.eat_name("not") {
            self.skim()?;
        } else {
            self.skim_unary()?;
            while self.skim_binary_op() {
                self.skim_unary()?;
            }
        }
        self.depth -= 1;
        Some(())
    }

    fn skim_binary_op(&mut self) -> bool {
        const BINARY: [&str; 15] = [
            "+", "-", "*", "/", "//", "%", "**", "==", "!=", "<", "<=", ">", ">=", "|", "@",
        ];
        if let Some(Token::Op(op)) = self.peek()
            && BINARY.contains(op)
        {
            self.at += 1;
            return true;
        }
        if self.eat_name("and") || self.eat_name("or") || self.eat_name("in") {
            return true;
        }
        if self.eat_name("is") {
            self.eat_name("not");
            return true;
        }
        if self.peek_name("not") && matches!(self.tokens.get(self.at + 1), Some(Token::Name(n)) if n == "in")
        {
            self.at += 2;
            return true;
        }
        false
    }

    fn skim_unary(&mut self) -> Option<()> {
        self.deeper()?;
        if self.eat_op("-") || self.eat_op("+") || self.eat_op("~") {
            self.skim_unary()?;
        } else {
            self.skim_atom()?;
            loop {
                if self.eat_op("(") {
                    self.skim_list(")", true)?;
                } else if self.eat_op("[") {
                    self.skim()?;
                    self.expect_op("]")?;
                } else if self.eat_op(".") {
                    match self.peek() {
                        Some(Token::Name(_)) => self.at += 1,
                        _ => return None,
                    }
                } else {
                    break;
                }
            }
        }
        self.depth -= 1;
        Some(())
    }

    fn skim_atom(&mut self) -> Option<()> {
        match self.peek()? {
            Token::Number(_) => self.at += 1,
            Token::Str(_) | Token::Bytes(_) => {
                self.adjacent_strings()?;
            }
            Token::Name(name) if is_keyword(name) && !matches!(name.as_str(), "True" | "False" | "None") => {
                return None;
            }
            Token::Name(_) => self.at += 1,
            Token::Op("(") => {
                self.at += 1;
                self.skim_list(")", false)?;
            }
            Token::Op("[") => {
                self.at += 1;
                self.skim_list("]", false)?;
            }
            Token::Op("{") => {
                self.at += 1;
                while !self.eat_op("}") {
                    self.skim()?;
                    if self.eat_op(":") {
                        self.skim()?;
                    }
                    if !self.eat_op(",") {
                        self.expect_op("}")?;
                        break;
                    }
                }
            }
            _ => return None,
        }
        Some(())
    }

    /// Expressions up to `close`; keyword arguments when `call`.
    fn skim_list(&mut self, close: &str, call: bool) -> Option<()> {
        while !self.eat_op(close) {
            if call
                && matches!(
                    (self.peek(), self.tokens.get(self.at + 1)),
                    (Some(Token::Name(_)), Some(Token::Op("=")))
                )
            {
                self.at += 2;
            }
            self.skim()?;
            if !self.eat_op(",") {
                self.expect_op(close)?;
                break;
            }
        }
        Some(())
    }

    /// An expression that must fold to a value.
    pub fn constant(&mut self) -> Option<PyValue> {
        match self.expression()? {
            Expr::Const(value) => Some(value),
            _ => None,
        }
    }

    fn comparison(&mut self) -> Option<Expr> {
        let left = self.arithmetic()?;
        let Some(op) = self.compare_op() else {
            return Some(left);
        };
        let right = self.arithmetic()?;
        if self.compare_op().is_some() {
            return None; // a chain: left to the judge
        }
        Some(match (left, right) {
            (Expr::Const(a), Expr::Const(b)) => Expr::Const(PyValue::Bool(match op {
                CompareOp::Eq => py_eq(&a, &b).ok()?,
                CompareOp::NotEq => !py_eq(&a, &b).ok()?,
                CompareOp::Is if is_singleton(&a) && is_singleton(&b) => a.is_singleton(&b),
                CompareOp::IsNot if is_singleton(&a) && is_singleton(&b) => !a.is_singleton(&b),
                _ => return None,
            })),
            (left, right) => Expr::Compare(Box::new(left), op, Box::new(right)),
        })
    }

    fn compare_op(&mut self) -> Option<CompareOp> {
        let op = match self.peek()? {
            Token::Op("==") => CompareOp::Eq,
            Token::Op("!=") => CompareOp::NotEq,
            Token::Op("<") => CompareOp::Lt,
            Token::Op("<=") => CompareOp::LtEq,
            Token::Op(">") => CompareOp::Gt,
            Token::Op(">=") => CompareOp::GtEq,
            Token::Name(n) if n == "is" => {
                self.at += 1;
                return Some(if self.eat_name("not") {
                    CompareOp::IsNot
                } else {
                    CompareOp::Is
                });
            }
            _ => return None,
        };
        self.at += 1;
        Some(op)
    }

    fn arithmetic(&mut self) -> Option<Expr> {
        let mut left = self.term()?;
        loop {
            let op = if self.eat_op("+") {
                "+"
            } else if self.eat_op("-") {
                "-"
            } else {
                return Some(left);
            };
            let right = self.term()?;
            left = binary(op, left, right)?;
        }
    }

    fn term(&mut self) -> Option<Expr> {
        let mut left = self.factor()?;
        loop {
            let op = ["*", "//", "/", "%"].into_iter().find(|op| self.peek_op(op));
            let Some(op) = op else { return Some(left) };
            self.at += 1;
            let right = self.factor()?;
            left = binary(op, left, right)?;
        }
    }

    fn factor(&mut self) -> Option<Expr> {
        self.deeper()?;
        let expr = if self.eat_op("-") {
            Expr::Const(negate(constant_of(self.factor()?)?)?)
        } else if self.eat_op("+") {
            Expr::Const(plus(constant_of(self.factor()?)?)?)
        } else {
            let base = self.atom()?;
            if self.eat_op("**") {
                let exponent = self.factor()?;
                binary("**", base, exponent)?
            } else {
                base
            }
        };
        self.depth -= 1;
        Some(expr)
    }

    fn atom(&mut self) -> Option<Expr> {
        self.deeper()?;
        let expr = match self.peek()?.clone() {
            Token::Number(NumberToken::Int(i)) => {
                self.at += 1;
                Expr::Const(PyValue::Int(i))
            }
            Token::Number(NumberToken::Float(f)) => {
                self.at += 1;
                Expr::Const(PyValue::Float(f))
            }
            Token::Str(_) | Token::Bytes(_) => Expr::Const(self.adjacent_strings()?),
            Token::Name(name) => {
                self.at += 1;
                match name.as_str() {
                    "True" => Expr::Const(PyValue::Bool(true)),
                    "False" => Expr::Const(PyValue::Bool(false)),
                    "None" => Expr::Const(PyValue::None),
                    // The parameter shadows the builtin (`def check(abs):` tests `abs`).
                    callee if callee == self.callee => Expr::Call(self.call()?),
                    "abs" => {
                        self.expect_op("(")?;
                        let inner = self.expression()?;
                        self.expect_op(")")?;
                        match inner {
                            Expr::Const(value) => Expr::Const(absolute(value)?),
                            other => Expr::Abs(Box::new(other)),
                        }
                    }
                    _ => return None,
                }
            }
            Token::Op("(") => {
                self.at += 1;
                if self.eat_op(")") {
                    Expr::Const(PyValue::Tuple(Vec::new()))
                } else {
                    let first = self.expression()?;
                    if self.peek_op(",") {
                        let mut items = vec![constant_of(first)?];
                        while self.eat_op(",") && !self.peek_op(")") {
                            items.push(self.constant()?);
                        }
                        self.expect_op(")")?;
                        Expr::Const(PyValue::Tuple(items))
                    } else {
                        self.expect_op(")")?;
                        first
                    }
                }
            }
            Token::Op("[") => {
                self.at += 1;
                Expr::Const(PyValue::List(self.items("]")?))
            }
            Token::Op("{") => {
                self.at += 1;
                Expr::Const(self.braces()?)
            }
            _ => return None,
        };
        // A subscript, an attribute or a call of a value is left to the judge.
        if self.peek_op("(") || self.peek_op("[") || self.peek_op(".") {
            return None;
        }
        self.depth -= 1;
        Some(expr)
    }

    /// `"a" "b"` is one string; a `str` beside `bytes` is a syntax error.
    fn adjacent_strings(&mut self) -> Option<PyValue> {
        let mut text: Option<String> = None;
        let mut bytes: Option<Vec<u8>> = None;
        loop {
            match self.peek() {
                Some(Token::Str(s)) if bytes.is_none() => text.get_or_insert_with(String::new).push_str(s),
                Some(Token::Bytes(b)) if text.is_none() => {
                    bytes.get_or_insert_with(Vec::new).extend_from_slice(b)
                }
                Some(Token::Str(_) | Token::Bytes(_)) => return None,
                _ => break,
            }
            self.at += 1;
        }
        text.map(PyValue::Str).or(bytes.map(PyValue::Bytes))
    }

    /// Constants up to `close`, a trailing comma allowed.
    fn items(&mut self, close: &str) -> Option<Vec<PyValue>> {
        let mut items = Vec::new();
        while !self.eat_op(close) {
            items.push(self.constant()?);
            if !self.eat_op(",") {
                self.expect_op(close)?;
                break;
            }
        }
        Some(items)
    }

    /// A dict or a set display.
    fn braces(&mut self) -> Option<PyValue> {
        if self.eat_op("}") {
            return Some(PyValue::Dict(Vec::new()));
        }
        let first = self.constant()?;
        if self.eat_op(":") {
            let mut pairs = vec![(first, self.constant()?)];
            while self.eat_op(",") && !self.peek_op("}") {
                let key = self.constant()?;
                self.expect_op(":")?;
                pairs.push((key, self.constant()?));
            }
            self.expect_op("}")?;
            return Some(PyValue::Dict(unique_pairs(pairs).ok()?));
        }
        let mut items = vec![first];
        while self.eat_op(",") && !self.peek_op("}") {
            items.push(self.constant()?);
        }
        self.expect_op("}")?;
        Some(PyValue::Set(unique_elements(items).ok()?))
    }

    /// The arguments of a call of the tested function: constants, positional then keyword.
    fn call(&mut self) -> Option<Call> {
        self.expect_op("(")?;
        let mut call = Call {
            args: Vec::new(),
            kwargs: Vec::new(),
        };
        while !self.eat_op(")") {
            if self.peek_op("*") || self.peek_op("**") {
                return None;
            }
            let keyword = match (self.peek(), self.tokens.get(self.at + 1)) {
                (Some(Token::Name(name)), Some(Token::Op("="))) => Some(name.clone()),
                _ => None,
            };
            if let Some(name) = keyword {
                self.at += 2;
                if call.kwargs.iter().any(|(known, _)| *known == name) {
                    return None;
                }
                call.kwargs.push((name, self.constant()?));
            } else {
                if !call.kwargs.is_empty() {
                    return None;
                }
                call.args.push(self.constant()?);
            }
            if !self.eat_op(",") {
                self.expect_op(")")?;
                break;
            }
        }
        Some(call)
    }
}

/// Python's keywords: never a name in an expression.
pub(super) fn is_keyword(name: &str) -> bool {
    matches!(
        name,
        "def"
            | "class"
            | "import"
            | "from"
            | "assert"
            | "not"
            | "is"
            | "in"
            | "and"
            | "or"
            | "if"
            | "else"
            | "for"
            | "while"
            | "return"
            | "lambda"
            | "global"
            | "nonlocal"
            | "del"
            | "with"
            | "as"
            | "pass"
            | "True"
            | "False"
            | "None"
            | "try"
            | "except"
            | "finally"
            | "raise"
            | "yield"
            | "await"
            | "async"
            | "break"
            | "continue"
            | "elif"
    )
}

fn is_singleton(value: &PyValue) -> bool {
    matches!(value, PyValue::None | PyValue::Bool(_))
}

fn constant_of(expr: Expr) -> Option<PyValue> {
    match expr {
        Expr::Const(value) => Some(value),
        _ => None,
    }
}

/// `left op right`: folded when both are values, `Sub` kept when one side involves the call
/// (the only arithmetic an assert line keeps), anything else left to the judge.
fn binary(op: &str, left: Expr, right: Expr) -> Option<Expr> {
    match (left, right) {
        (Expr::Const(a), Expr::Const(b)) => fold(op, a, b).map(Expr::Const),
        (left, right) if op == "-" => Some(Expr::Sub(Box::new(left), Box::new(right))),
        _ => None,
    }
}

fn int_of(value: &PyValue) -> Option<BigInt> {
    match value {
        PyValue::Bool(b) => Some(BigInt::from(u8::from(*b))),
        PyValue::Int(i) => Some(i.clone()),
        _ => None,
    }
}

/// A float that an integer converts to exactly (CPython would round a longer one; this
/// reader does not try).
fn exact_float(value: &PyValue) -> Option<f64> {
    match value {
        PyValue::Float(f) => Some(*f),
        other => {
            let i = int_of(other)?;
            (i.bits() <= 53).then(|| i.to_f64()).flatten()
        }
    }
}

fn small_int(i: &BigInt) -> Option<BigInt> {
    (i.bits() <= MAX_INT_BITS).then(|| i.clone())
}

/// Python's arithmetic on two constants, where it is exact or IEEE and this reader is sure.
fn fold(op: &str, a: PyValue, b: PyValue) -> Option<PyValue> {
    if let (Some(x), Some(y)) = (int_of(&a), int_of(&b)) {
        let value = match op {
            "+" => x + y,
            "-" => x - y,
            "*" => {
                if x.bits() + y.bits() > MAX_INT_BITS + 1 {
                    return None;
                }
                x * y
            }
            "//" if !y.is_zero() => x.div_floor(&y),
            "%" if !y.is_zero() => x.mod_floor(&y),
            "**" => {
                let exponent = y.to_u32().filter(|_| !y.is_negative())?;
                if x.bits().saturating_mul(u64::from(exponent)) > MAX_INT_BITS + 1 {
                    return None;
                }
                num_traits::pow(x, exponent as usize)
            }
            "/" if !y.is_zero() && x.bits() <= 53 && y.bits() <= 53 => {
                return Some(PyValue::Float(x.to_f64()? / y.to_f64()?));
            }
            _ => return None,
        };
        return small_int(&value).map(PyValue::Int);
    }
    let numeric = |v: &PyValue| matches!(v, PyValue::Float(_) | PyValue::Int(_) | PyValue::Bool(_));
    if numeric(&a) && numeric(&b) {
        let (x, y) = (exact_float(&a)?, exact_float(&b)?);
        return Some(PyValue::Float(match op {
            "+" => x + y,
            "-" => x - y,
            "*" => x * y,
            "/" if y != 0.0 => x / y,
            _ => return None,
        }));
    }
    match (op, a, b) {
        ("+", PyValue::Str(x), PyValue::Str(y)) => built(PyValue::Str(x + &y)),
        ("+", PyValue::Bytes(mut x), PyValue::Bytes(y)) => {
            x.extend(y);
            built(PyValue::Bytes(x))
        }
        ("+", PyValue::List(mut x), PyValue::List(y)) => {
            x.extend(y);
            built(PyValue::List(x))
        }
        ("+", PyValue::Tuple(mut x), PyValue::Tuple(y)) => {
            x.extend(y);
            built(PyValue::Tuple(x))
        }
        ("*", sequence, count) | ("*", count, sequence) if int_of(&count).is_some() => {
            let count = int_of(&count)?;
            let times = if count.is_negative() { 0 } else { count.to_usize()? };
            let len = match &sequence {
                PyValue::Str(s) => s.chars().count(),
                PyValue::Bytes(b) => b.len(),
                PyValue::List(items) | PyValue::Tuple(items) => items.len(),
                _ => return None,
            };
            if len.checked_mul(times)? > MAX_BUILT_LEN {
                return None;
            }
            Some(match sequence {
                PyValue::Str(s) => PyValue::Str(s.repeat(times)),
                PyValue::Bytes(b) => PyValue::Bytes(b.repeat(times)),
                PyValue::List(items) => PyValue::List(repeat(&items, times)),
                PyValue::Tuple(items) => PyValue::Tuple(repeat(&items, times)),
                _ => return None,
            })
        }
        _ => None,
    }
}

fn repeat(items: &[PyValue], times: usize) -> Vec<PyValue> {
    (0..times).flat_map(|_| items.iter().cloned()).collect()
}

fn built(value: PyValue) -> Option<PyValue> {
    let len = match &value {
        PyValue::Str(s) => s.len(),
        PyValue::Bytes(b) => b.len(),
        PyValue::List(items) | PyValue::Tuple(items) => items.len(),
        _ => 0,
    };
    (len <= MAX_BUILT_LEN).then_some(value)
}

fn negate(value: PyValue) -> Option<PyValue> {
    match value {
        PyValue::Float(f) => Some(PyValue::Float(-f)),
        other => Some(PyValue::Int(-int_of(&other)?)),
    }
}

fn plus(value: PyValue) -> Option<PyValue> {
    match value {
        PyValue::Float(f) => Some(PyValue::Float(f)),
        other => Some(PyValue::Int(int_of(&other)?)),
    }
}

fn absolute(value: PyValue) -> Option<PyValue> {
    match value {
        PyValue::Float(f) => Some(PyValue::Float(f.abs())),
        other => Some(PyValue::Int(int_of(&other)?.abs())),
    }
}
