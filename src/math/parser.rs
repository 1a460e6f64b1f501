//! Recursive-descent parser from tokens to [`Expr`], with an explicit depth counter.
//!
//! Precedence, loosest first: list (`,` `;` `and` `or`) → relation chain (`=` `<` `\le`
//! `\in` …) → set operators (`\cup` `\cap`) → ratio (`:`) → sum (`+` `-` `\pm`) →
//! product (`\cdot`, `/`, implicit) → unary sign → power/postfix → atom. Every recursive
//! step goes through [`Parser::enter`], so nesting past [`MAX_DEPTH`] is a `ParseError`,
//! never a stack overflow. This file owns the precedence levels; atoms are parsed in
//! `atoms.rs`, the top level, matrices and big operators in `structures.rs`.

mod atoms;
mod structures;

use super::ParseError;
use super::ast::{Bracket, Expr, RelOp};
use super::compare::is_label;
use super::lexer::{Spanned, Tok, lex};
use super::limits::{MAX_DEPTH, MAX_ITEMS};

/// Parse one answer (already stripped of `$…$` and `\boxed{…}`).
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    if let Some(text) = capitalised_words(src) {
        return Ok(named_set(text));
    }
    let tokens = choice_with_value(drop_words(lex(src)?)?);
    if tokens.is_empty() {
        return Err(err(EMPTY.to_string()));
    }
    if let Some(text) = text_answer(&tokens) {
        return Ok(named_set(text));
    }
    let mut p = Parser {
        toks: tokens,
        pos: 0,
        depth: 0,
        abs_depth: 0,
    };
    let answer = p.top_level()?;
    if let Some((t, at)) = p.toks.get(p.pos) {
        return Err(err(format!("unexpected {t:?} at byte {at}")));
    }
    if !holds_value(&answer) {
        return Err(err(format!(
            "{NO_VALUE}: only separators, connectives, empty groups or prose words"
        )));
    }
    Ok(answer)
}

/// The start of every message for an answer that holds nothing.
const NO_VALUE: &str = "no value";
const EMPTY: &str = "empty answer";

/// Did the parse fail because the answer holds nothing at all (rather than something this
/// parser cannot read)?
pub fn is_content_free(error: &ParseError) -> bool {
    error.message.starts_with(NO_VALUE) || error.message == EMPTY
}

/// Does the answer hold a value everywhere? Separators, connectives (`and`, `or`) and the
/// prose dropped beside them leave an empty list (`\boxed{,}`, `\text{and}`,
/// `\text{Proved, as shown above}`, `\neg`). That is no answer at all, and must never
/// reach the comparison as an empty list, over which "every item matches" is vacuously true
/// (docs/semantics.md, "No value, no reward"). The empty *set* (`\emptyset`, `\{\}`) is a
/// value. The tree is at most `MAX_DEPTH` deep, which bounds the recursion.
fn holds_value(e: &Expr) -> bool {
    if matches!(e, Expr::List(items) | Expr::Tuple(_, _, items) if items.is_empty()) {
        return false;
    }
    let mut all = true;
    e.for_each_child(|c| all = all && holds_value(c));
    all
}

fn err(message: String) -> ParseError {
    ParseError { message }
}

/// `\approx v` is `v`: a decimal then meets the rounding rule as any decimal does
/// (`\approx 3.14` ≡ π), and an exact value stays exact (`\approx 12` ≡ 12, ≢ 12.3), so the
/// sign never makes an answer more permissive than the bare value (docs/semantics.md,
/// "Scientific notation and ≈").
fn approximately(value: Expr) -> Expr {
    value
}

/// `x < -1 \text{ or } x > 1`, `x \in [0, 1] \text{ or } x > 2`: two or more inequalities or
/// memberships, all in the same one variable.
fn is_inequality_alternative(items: &[Expr]) -> bool {
    if items.len() < 2 {
        return false;
    }
    let mut vars = Vec::new();
    for item in items {
        let Expr::Rel(members, ops) = item else {
            return false;
        };
        let membership = matches!(
            (members.as_slice(), ops.as_slice()),
            ([Expr::Var(_), _], [RelOp::In])
        );
        if !membership && ops.iter().any(|o| matches!(o, RelOp::Eq | RelOp::In)) {
            return false;
        }
        item.collect_vars(&mut vars);
    }
    vars.len() == 1
}

fn combine_sets(mut parts: Vec<Expr>, intersection: bool) -> Expr {
    match (parts.len(), intersection) {
        (1, _) => parts.remove(0),
        (_, false) => Expr::Union(parts),
        (_, true) => Expr::Intersection(parts),
    }
}

fn list_or_single(mut items: Vec<Expr>) -> Expr {
    if items.len() == 1 {
        items.remove(0)
    } else {
        Expr::List(items)
    }
}

/// An answer made only of words (`\text{Evelyn}`) is text; otherwise words next to maths
/// are units or prose and are dropped (`5\text{ cm}^2` is 5).
fn text_answer(tokens: &[Spanned]) -> Option<String> {
    let mut words = Vec::new();
    for (t, _) in tokens {
        match t {
            Tok::Word(w) | Tok::Hedge(w) => words.push(w.clone()),
            Tok::Var(v) if v.len() == 1 => words.push(v.to_ascii_lowercase()),
            _ => return None,
        }
    }
    let has_word = tokens
        .iter()
        .any(|(t, _)| matches!(t, Tok::Word(_) | Tok::Hedge(_)));
    has_word.then(|| words.join(" "))
}

/// A whole answer of words with a capital (`No`, `Yes`, `No solution`, `Evelyn`) is text,
/// compared without case, never the product of its letters (`No` is not N·o). A capitalised
/// word is a capital and lower-case letters, at least three or a vowel after the capital
/// (`Ax` stays the product A·x);
/// lower-case words of two or more letters may stand beside it.
fn capitalised_words(src: &str) -> Option<String> {
    let t = src.trim().trim_end_matches('.');
    if t.is_empty() || t.len() > 200 {
        return None;
    }
    let capital = |w: &str| {
        let b = w.as_bytes();
        b.len() >= 2
            && b[0].is_ascii_uppercase()
            && b[1..].iter().all(u8::is_ascii_lowercase)
            && (b.len() >= 3 || b"aeiouy".contains(&b[1]))
    };
    let lower = |w: &str| w.len() >= 2 && w.bytes().all(|c| c.is_ascii_lowercase());
    let words: Vec<&str> = t.split_whitespace().collect();
    let text = words.iter().any(|w| capital(w)) && words.iter().all(|w| capital(w) || lower(w));
    text.then(|| words.join(" ").to_ascii_lowercase())
}

/// Whole-answer words that name a set of reals (docs/semantics.md, "Words").
fn named_set(text: String) -> Expr {
    let interval = |lo: Expr, hi: Expr, closed_lo: bool| {
        let open = if closed_lo {
            Bracket::Square
        } else {
            Bracket::Paren
        };
        Expr::Tuple(open, Bracket::Paren, vec![lo, hi])
    };
    let words = text.strip_prefix("the set of ").unwrap_or(&text);
    let words = words.strip_prefix("the ").unwrap_or(words);
    match words {
        "all real numbers"
        | "all reals"
        | "real numbers"
        | "all real values"
        | "every real number"
        | "any real number"
        | "all real x"
        | "all real values of x"
        | "all x" => Expr::Reals,
        "all positive real numbers" | "all positive reals" | "positive real numbers" => {
            interval(Expr::int(0), Expr::Infinity, false)
        }
        "all negative real numbers" | "all negative reals" | "negative real numbers" => {
            interval(Expr::Neg(Box::new(Expr::Infinity)), Expr::int(0), false)
        }
        "all nonnegative real numbers"
        | "all non-negative real numbers"
        | "nonnegative real numbers"
        | "non-negative real numbers" => interval(Expr::int(0), Expr::Infinity, true),
        _ => Expr::Text(text),
    }
}

/// An AMC choice written with its value (`\textbf{(D)}\ 7`, `(D) 7`) is the letter
/// (docs/semantics.md, "Labels"), unless the rest names other choices or several values.
fn choice_with_value(mut tokens: Vec<Spanned>) -> Vec<Spanned> {
    let is_choice = |w: &[Spanned]| {
        matches!(w, [(Tok::LParen, _), (Tok::Var(v), _), (Tok::RParen, _)]
            if v.len() == 1 && v.as_bytes()[0].is_ascii_uppercase())
    };
    let amc = tokens.len() > 3
        && is_choice(&tokens[..3])
        && matches!(&tokens[1].0, Tok::Var(v) if (b'A'..=b'E').contains(&v.as_bytes()[0]));
    if !amc {
        return tokens;
    }
    let rest = &tokens[3..];
    let single = rest.iter().all(|(t, _)| {
        !matches!(
            t,
            Tok::Comma | Tok::Semicolon | Tok::Or | Tok::Hedge(_) | Tok::Not | Tok::Rel(_) | Tok::Approx
        )
    }) && !rest.windows(3).any(is_choice);
    if single {
        tokens.truncate(3);
    }
    tokens
}

/// Drops unit and prose words beside maths. A dropped word never glues two numbers into a
/// product: `1 \text{ ou } 2` or `1，2` (a look-alike comma) is not `1 \cdot 2 = 2` but
/// unparsable (docs/semantics.md, "Qualifiers change the claim").
fn drop_words(tokens: Vec<Spanned>) -> Result<Vec<Spanned>, ParseError> {
    let all_text = tokens
        .iter()
        .all(|(t, _)| matches!(t, Tok::Word(_) | Tok::Hedge(_) | Tok::Var(_)));
    if all_text {
        return Ok(tokens);
    }
    let mut out: Vec<Spanned> = Vec::with_capacity(tokens.len());
    let mut i = 0;
    let mut dropped = false;
    while i < tokens.len() {
        if let (true, Tok::Num(_)) = (dropped, &tokens[i].0) {
            let ends_value = matches!(
                out.last(),
                Some((
                    Tok::Num(_) | Tok::RParen | Tok::RBrack | Tok::RSet | Tok::Percent | Tok::Degree,
                    _
                ))
            );
            if ends_value {
                return Err(err(format!(
                    "words between two numbers at byte {}: neither a product nor a list",
                    tokens[i].1
                )));
            }
        }
        if matches!(tokens[i].0, Tok::Word(_)) {
            dropped = true;
            i += 1;
            // A unit's exponent goes with it (`cm^2`, `m^{3}`).
            if matches!(tokens.get(i), Some((Tok::Caret, _))) {
                i += 1;
                if matches!(tokens.get(i), Some((Tok::LBrace, _))) {
                    while i < tokens.len() && !matches!(tokens[i].0, Tok::RBrace) {
                        i += 1;
                    }
                }
                i += 1;
            }
            continue;
        }
        dropped = false;
        out.push(tokens[i].clone());
        i += 1;
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Spanned>,
    pos: usize,
    depth: u32,
    abs_depth: u32,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }

    fn peek_at(&self, k: usize) -> Option<&Tok> {
        self.toks.get(self.pos + k).map(|(t, _)| t)
    }

    fn byte(&self) -> usize {
        self.toks
            .get(self.pos)
            .map_or_else(|| self.toks.last().map_or(0, |t| t.1), |t| t.1)
    }

    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == Some(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, t: &Tok) -> Result<(), ParseError> {
        if self.eat(t) {
            Ok(())
        } else {
            Err(err(format!(
                "expected {t:?} at byte {}, found {:?}",
                self.byte(),
                self.peek()
            )))
        }
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(err(format!("nesting deeper than {MAX_DEPTH}")));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Is the next token an item separator? `;` is one unless it is a closer.
    fn at_separator(&self, closers: &[Tok]) -> bool {
        match self.peek() {
            Some(Tok::Comma | Tok::Or) => true,
            Some(t @ Tok::Semicolon) => !closers.contains(t),
            _ => false,
        }
    }

    /// Items separated by `,`/`;` until one of `closers` (not consumed) or the end.
    fn list(&mut self, closers: &[Tok]) -> Result<Vec<Expr>, ParseError> {
        self.enter()?;
        let mut items = Vec::new();
        let mut saw_or = false;
        loop {
            while self.at_separator(closers) {
                saw_or |= self.peek() == Some(&Tok::Or);
                self.pos += 1;
            }
            match self.peek() {
                None => break,
                Some(t) if closers.contains(t) => break,
                _ => {}
            }
            if items.len() >= MAX_ITEMS {
                return Err(err(format!("more than {MAX_ITEMS} items")));
            }
            items.push(self.relation()?);
            if !self.at_separator(closers) {
                break;
            }
        }
        self.leave();
        if saw_or && is_inequality_alternative(&items) {
            return Ok(vec![Expr::Union(items)]);
        }
        Ok(items)
    }

    fn relation(&mut self) -> Result<Expr, ParseError> {
        if self.eat(&Tok::Approx) {
            // `\approx 3.14` (docs/semantics.md, "Scientific notation and ≈").
            let value = self.relation()?;
            return Ok(approximately(value));
        }
        let first = self.set_op()?;
        let mut items = vec![first];
        let mut ops = Vec::new();
        let mut cut_at: Option<usize> = None;
        loop {
            let op = match self.peek() {
                Some(Tok::Rel(op)) => *op,
                Some(Tok::Approx) if cut_at.is_none() && items.len() == 1 && is_label(&items[0]) => {
                    // `x \approx 0.333` names an approximate value.
                    self.pos += 1;
                    ops.push(RelOp::Eq);
                    items.push(approximately(self.set_op()?));
                    continue;
                }
                Some(Tok::Approx) => {
                    // `\frac13 \approx 0.333`, `x = 1/3 ≈ 0.33`: the approximation after an exact
                    // value is commentary; the exact value is the answer.
                    if cut_at.is_none() {
                        cut_at = Some(items.len());
                    }
                    RelOp::Eq
                }
                _ => break,
            };
            self.pos += 1;
            ops.push(op);
            items.push(self.set_op()?);
            if items.len() > MAX_ITEMS {
                return Err(err(format!("more than {MAX_ITEMS} relation members")));
            }
        }
        if let Some(n) = cut_at {
            items.truncate(n);
            ops.truncate(n - 1);
        }
        Ok(if ops.is_empty() {
            items.remove(0)
        } else {
            Expr::Rel(items, ops)
        })
    }

    fn set_op(&mut self) -> Result<Expr, ParseError> {
        let first = self.ratio()?;
        let mut unions = vec![first];
        let mut inter = false;
        while let Some(t) = self.peek() {
            match t {
                Tok::Cup => {}
                Tok::Cap => inter = true,
                Tok::Setminus => {
                    // `A \cup B \setminus C` is `(A ∪ B) ∖ C`, read left to right.
                    self.pos += 1;
                    let left = combine_sets(std::mem::take(&mut unions), inter);
                    let right = self.ratio()?;
                    unions.push(Expr::Difference(Box::new(left), Box::new(right)));
                    inter = false;
                    continue;
                }
                _ => break,
            }
            self.pos += 1;
            unions.push(self.ratio()?);
            if unions.len() > MAX_ITEMS {
                return Err(err(format!("more than {MAX_ITEMS} sets")));
            }
        }
        Ok(combine_sets(unions, inter))
    }

    fn ratio(&mut self) -> Result<Expr, ParseError> {
        let first = self.sum()?;
        if self.peek() != Some(&Tok::Colon) {
            return Ok(first);
        }
        let mut parts = vec![first];
        while self.eat(&Tok::Colon) {
            parts.push(self.sum()?);
        }
        Ok(Expr::Ratio(parts))
    }

    fn sum(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        let mut terms = vec![self.product()?];
        loop {
            match self.peek() {
                Some(Tok::Plus) => {
                    self.pos += 1;
                    terms.push(self.product()?);
                }
                Some(Tok::Minus) => {
                    self.pos += 1;
                    terms.push(Expr::Neg(Box::new(self.product()?)));
                }
                Some(Tok::PlusMinus | Tok::MinusPlus) => {
                    let minus_first = self.peek() == Some(&Tok::MinusPlus);
                    self.pos += 1;
                    let rhs = self.product()?;
                    let lhs = std::mem::take(&mut terms);
                    let lhs = if lhs.len() == 1 {
                        lhs.into_iter().next().unwrap_or_else(|| Expr::int(0))
                    } else {
                        Expr::Add(lhs)
                    };
                    let rhs = if minus_first {
                        Expr::Neg(Box::new(rhs))
                    } else {
                        rhs
                    };
                    // `a + b ± c` is `(a + b) ± c`; later terms add to both values.
                    terms.push(Expr::PlusMinus(Box::new(lhs), Box::new(rhs)));
                }
                _ => break,
            }
            if terms.len() > MAX_ITEMS {
                return Err(err(format!("more than {MAX_ITEMS} terms")));
            }
        }
        self.leave();
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Expr::Add(terms)
        })
    }

    fn starts_atom(&self, t: &Tok) -> bool {
        match t {
            Tok::Num(_)
            | Tok::Var(_)
            | Tok::Pi
            | Tok::Infty
            | Tok::LParen
            | Tok::LBrace
            | Tok::Frac
            | Tok::Binom
            | Tok::Sqrt
            | Tok::Func(_)
            | Tok::Log
            | Tok::LFloor
            | Tok::LCeil
            | Tok::BigOp(_)
            | Tok::Begin => true,
            Tok::Pipe => self.abs_depth == 0,
            _ => false,
        }
    }

    fn product(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        let mut factors = vec![self.unary()?];
        loop {
            match self.peek() {
                Some(Tok::Times) => {
                    self.pos += 1;
                    factors.push(self.unary()?);
                }
                Some(Tok::Slash) => {
                    self.pos += 1;
                    let den = self.unary()?;
                    let num = if factors.len() == 1 {
                        factors.remove(0)
                    } else {
                        Expr::Mul(std::mem::take(&mut factors))
                    };
                    factors.push(Expr::Div(Box::new(num), Box::new(den)));
                }
                Some(t) if self.starts_atom(t) => factors.push(self.power()?),
                _ => break,
            }
            if factors.len() > MAX_ITEMS {
                return Err(err(format!("more than {MAX_ITEMS} factors")));
            }
        }
        self.leave();
        Ok(if factors.len() == 1 {
            factors.remove(0)
        } else {
            Expr::Mul(factors)
        })
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        let e = match self.peek() {
            Some(Tok::Minus) => {
                self.pos += 1;
                Expr::Neg(Box::new(self.unary_operand()?))
            }
            Some(Tok::Plus) => {
                self.pos += 1;
                self.unary_operand()?
            }
            Some(Tok::PlusMinus | Tok::MinusPlus) => {
                self.pos += 1;
                Expr::PlusMinus(Box::new(Expr::int(0)), Box::new(self.unary_operand()?))
            }
            Some(Tok::Not) => {
                self.pos += 1;
                let rest = self.list(&[Tok::RParen, Tok::RBrace, Tok::RBrack, Tok::RSet])?;
                Expr::Not(Box::new(list_or_single(rest)))
            }
            Some(Tok::Hedge(word)) => {
                // The word is kept so that `at least 12` and `at most 12` stay different hedges;
                // a hedge equals nothing but the same hedge (docs/semantics.md, "Qualifiers").
                let word = Expr::Text(word.clone());
                self.pos += 1;
                let rest = self.list(&[Tok::RParen, Tok::RBrace, Tok::RBrack, Tok::RSet])?;
                let rest = list_or_single(rest);
                let claim = if matches!(&rest, Expr::List(items) if items.is_empty()) {
                    rest
                } else {
                    Expr::Mul(vec![word, rest])
                };
                Expr::Not(Box::new(claim))
            }
            _ => self.power()?,
        };
        self.leave();
        Ok(e)
    }

    /// The operand of a unary sign: `-2x` negates the product `2x`.
    fn unary_operand(&mut self) -> Result<Expr, ParseError> {
        let first = self.unary()?;
        let mut factors = vec![first];
        while let Some(t) = self.peek() {
            if !self.starts_atom(t) {
                break;
            }
            factors.push(self.power()?);
            if factors.len() > MAX_ITEMS {
                return Err(err(format!("more than {MAX_ITEMS} factors")));
            }
        }
        Ok(if factors.len() == 1 {
            factors.remove(0)
        } else {
            Expr::Mul(factors)
        })
    }

    fn power(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        let mut base = self.postfix()?;
        while self.peek() == Some(&Tok::Caret) {
            self.pos += 1;
            if self.is_degree_mark() {
                base = Expr::Degrees(Box::new(base));
                continue;
            }
            let exp = self.exponent()?;
            base = Expr::Pow(Box::new(base), Box::new(exp));
            base = self.postfix_ops(base)?;
        }
        self.leave();
        Ok(base)
    }

    /// `^\circ` and `^{\circ}`.
    fn is_degree_mark(&mut self) -> bool {
        if self.eat(&Tok::Circ) || self.eat(&Tok::Degree) {
            return true;
        }
        if self.peek() == Some(&Tok::LBrace)
            && matches!(self.peek_at(1), Some(Tok::Circ | Tok::Degree))
            && self.peek_at(2) == Some(&Tok::RBrace)
        {
            self.pos += 3;
            return true;
        }
        false
    }

    fn exponent(&mut self) -> Result<Expr, ParseError> {
        match self.peek() {
            Some(Tok::Minus) => {
                self.pos += 1;
                Ok(Expr::Neg(Box::new(self.exponent()?)))
            }
            Some(Tok::Plus) => {
                self.pos += 1;
                self.exponent()
            }
            _ => self.atom(),
        }
    }

    fn postfix(&mut self) -> Result<Expr, ParseError> {
        let a = self.atom()?;
        self.postfix_ops(a)
    }

    fn postfix_ops(&mut self, mut a: Expr) -> Result<Expr, ParseError> {
        loop {
            match self.peek() {
                Some(Tok::Bang) => {
                    self.pos += 1;
                    a = Expr::Factorial(Box::new(a));
                }
                Some(Tok::Percent) => {
                    self.pos += 1;
                    a = Expr::Percent(Box::new(a));
                }
                Some(Tok::Degree) => {
                    self.pos += 1;
                    a = Expr::Degrees(Box::new(a));
                }
                Some(Tok::Prime) => {
                    self.pos += 1;
                    if let Expr::Var(v) = &mut a {
                        v.push('\'');
                    }
                }
                _ => return Ok(a),
            }
        }
    }

    /// A `{…}` group or a single atom: the argument of `\frac`, `\sqrt`, `^`, `_`.
    fn arg(&mut self) -> Result<Expr, ParseError> {
        if self.peek() == Some(&Tok::LBrace) {
            self.atom()
        } else {
            self.enter()?;
            let a = self.atom();
            self.leave();
            a
        }
    }
}
