//! The equivalence rules of docs/semantics.md, applied to two parsed answers.
//!
//! Normalisation first (a labelled equation `x = 3` is its value, `±` is the set of both
//! values), then dispatch on the shape of the two answers: text, hedges, real sets
//! (intervals, unions, inequalities), collections (sets and lists, unordered), tuples
//! (ordered), matrices, equations (same solution set), ratios and finally scalars
//! (exact rationals, the decimal-rounding rule, numeric probing of free variables).

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{Signed, ToPrimitive, Zero};

use super::MathOptions;
use super::ast::{Bracket, Expr, Func, Literal, RelOp};
use super::eval::{EvalError, Real, Value, eval};
use super::limits::MAX_PLUS_MINUS;
use super::render::commutative_key;
use super::{bounds, matrices, sets};

/// The outcome of one rule: equal or not, and which rule decided.
pub type Verdict = (bool, &'static str);

/// Collections larger than this are compared structurally only (pairwise matching is
/// quadratic).
const MAX_MATCH_ITEMS: usize = 64;

pub fn compare(g: &Expr, p: &Expr, opts: &MathOptions) -> Verdict {
    compare_depth(g, p, opts, 0)
}

fn compare_depth(g: &Expr, p: &Expr, opts: &MathOptions, depth: u32) -> Verdict {
    if depth > 8 {
        return (g == p, "structural");
    }
    if let Some(verdict) = labelled(g, p, &|a, b| compare_depth(a, b, opts, depth + 1).0) {
        return verdict;
    }
    let g = normalize(g, is_equation(p));
    let p = normalize(p, is_equation(&g));
    if g == p {
        return (
            true,
            if is_choice_letter(&g) {
                "choice"
            } else {
                "structural"
            },
        );
    }
    let rec = |a: &Expr, b: &Expr| compare_depth(a, b, opts, depth + 1).0;
    match (&g, &p) {
        (Expr::Not(a), Expr::Not(b)) => (rec(a, b), "hedge"),
        (Expr::Not(_), _) | (_, Expr::Not(_)) => (false, "hedge"),
        (Expr::Text(_), _) | (_, Expr::Text(_)) => (text_equal(&g, &p), "text"),
        _ if is_setlike(&g) || is_setlike(&p) => sets::compare_sets(&g, &p, opts),
        (Expr::List(a) | Expr::Set(a), Expr::List(b) | Expr::Set(b)) => (set_match(a, b, &rec), "set"),
        (Expr::List(a) | Expr::Set(a), other) | (other, Expr::List(a) | Expr::Set(a)) => match other {
            // A list written in the tuple's order (`1,3` against `(1,3)`).
            Expr::Tuple(_, _, items) if items.len() == a.len() && a.len() > 1 => {
                (a.iter().zip(items).all(|(x, y)| rec(x, y)), "tuple")
            }
            // A single answer is the one-element set (duplicates ignored). Never vacuously:
            // the empty set equals only the empty set (docs/semantics.md, "No value, no reward").
            _ => (!a.is_empty() && a.iter().all(|x| rec(x, other)), "set"),
        },
        (Expr::Tuple(go, gc, a), Expr::Tuple(po, pc, b)) => (
            same_brackets((*go, *gc), (*po, *pc))
                && a.len() == b.len()
                && a.iter().zip(b).all(|(x, y)| rec(x, y)),
            "tuple",
        ),
        (Expr::Matrix(a), Expr::Matrix(b)) => (
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(r, s)| r.len() == s.len() && r.iter().zip(s).all(|(x, y)| rec(x, y))),
            "matrix",
        ),
        (Expr::Matrix(m), Expr::Tuple(o, c, t)) | (Expr::Tuple(o, c, t), Expr::Matrix(m)) => {
            let flat: Vec<&Expr> = m.iter().flatten().collect();
            // `[1, 2]` is an interval, never a vector.
            let interval = t.len() == 2 && (*o == Bracket::Square || *c == Bracket::Square);
            let vector = (m.len() == 1 || m.iter().all(|r| r.len() == 1)) && !interval;
            (
                vector && flat.len() == t.len() && flat.iter().zip(t).all(|(x, y)| rec(x, y)),
                "matrix",
            )
        }
        (Expr::Rel(a, ao), Expr::Rel(b, bo)) => (equations_equal(a, ao, b, bo), "equation"),
        (Expr::Ratio(a), Expr::Ratio(b)) => (ratios_equal(a, b, &rec), "ratio"),
        // A ratio of two parts is the value of their quotient: `6:8` ≡ `\frac34`.
        (Expr::Ratio(a), other) | (other, Expr::Ratio(a))
            if a.len() == 2 && !matches!(other, Expr::Rel(..) | Expr::Tuple(..) | Expr::Matrix(..)) =>
        {
            // A zero part makes it a time or a score, not a value (see `ratios_equal`).
            let zero = Expr::int(0);
            let quotient = Expr::Div(Box::new(a[0].clone()), Box::new(a[1].clone()));
            (!a.iter().any(|x| rec(x, &zero)) && rec(&quotient, other), "ratio")
        }
        (Expr::Rel(..), _) | (_, Expr::Rel(..)) => (false, "equation"),
        (Expr::Tuple(..) | Expr::Matrix(..) | Expr::Ratio(..), _)
        | (_, Expr::Tuple(..) | Expr::Matrix(..) | Expr::Ratio(..)) => (false, "shape"),
        _ => scalar(&g, &p, opts),
    }
}

/// A tuple's brackets: `⟨1, 2⟩` is the vector `(1, 2)`; other brackets must match
/// (`[1, 2]` is an interval, not the pair).
fn same_brackets(a: (Bracket, Bracket), b: (Bracket, Bracket)) -> bool {
    let vector = |(o, c): (Bracket, Bracket)| o == c && o != Bracket::Square;
    a == b || (vector(a) && vector(b))
}

/// Ratios compare by value, as proportions: `6:8` ≡ `3:4`, `2:4:6` ≡ `1:2:3`
/// (`a_0 b_i = b_0 a_i` for every part); with a zero part, part by part.
fn ratios_equal(a: &[Expr], b: &[Expr], eq: &dyn Fn(&Expr, &Expr) -> bool) -> bool {
    if a.len() != b.len() || a.len() < 2 || a.len() > MAX_MATCH_ITEMS {
        return false;
    }
    let zero = Expr::int(0);
    // A part that is zero makes it a time or a score (`12:00`, `3:0`), compared part by part.
    if a.iter().chain(b).any(|x| eq(x, &zero)) {
        return a.iter().zip(b).all(|(x, y)| eq(x, y));
    }
    (1..a.len()).all(|i| {
        let left = Expr::Mul(vec![a[0].clone(), b[i].clone()]);
        let right = Expr::Mul(vec![b[0].clone(), a[i].clone()]);
        eq(&left, &right)
    })
}

fn is_equation(e: &Expr) -> bool {
    matches!(e, Expr::Rel(_, ops) if ops.iter().all(|o| *o == RelOp::Eq))
}

/// Sets of reals: intervals with a bracket of each kind, unions, inequalities, `\mathbb{R}`.
pub fn is_setlike(e: &Expr) -> bool {
    match e {
        Expr::Union(_) | Expr::Intersection(_) | Expr::Difference(..) | Expr::Reals => true,
        Expr::Add(_) => sets::reals_minus(e).is_some(),
        Expr::Rel(_, ops) => ops.iter().any(|o| *o != RelOp::Eq),
        Expr::Tuple(o, c, items) => {
            items.len() == 2 && (o != c || items.iter().any(|i| matches!(strip_neg(i), Expr::Infinity)))
        }
        _ => false,
    }
}

fn strip_neg(e: &Expr) -> &Expr {
    match e {
        Expr::Neg(a) => strip_neg(a),
        other => other,
    }
}

/// A name rather than a value: `x`, `a_3`, `f(x)`, `|AB|`, `A:B`, `(p,q)`, `\frac{NO}{BO}`.
pub fn is_label(e: &Expr) -> bool {
    match e {
        Expr::Var(_) => true,
        // `f(2)`: a function name applied to a number (docs/semantics.md, "Labels"); not
        // `x\sqrt3`, which is a value.
        Expr::Mul(items)
            if items.len() == 2 && matches!(items[0], Expr::Var(_)) && is_argument(&items[1]) =>
        {
            true
        }
        Expr::Mul(items) => {
            items.iter().any(|i| matches!(i, Expr::Var(_)))
                && items
                    .iter()
                    .all(|i| matches!(i, Expr::E | Expr::I) || is_label(i))
        }
        Expr::Div(a, b) => is_label(a) && is_label(b),
        Expr::Ratio(items) | Expr::Tuple(_, _, items) => items.iter().all(is_label),
        Expr::Func(Func::Abs, a) => is_label(a),
        _ => false,
    }
}

/// A written number or a tuple of them, as in `f(2)`, `g(-1)`, `f(\frac12)`, `h(1, 2)`.
fn is_argument(e: &Expr) -> bool {
    match e {
        Expr::Num(_) => true,
        Expr::Neg(a) => matches!(**a, Expr::Num(_)),
        Expr::Div(a, b) => matches!((&**a, &**b), (Expr::Num(_), Expr::Num(_))),
        Expr::Tuple(Bracket::Paren, Bracket::Paren, items) => items.iter().all(is_argument),
        _ => false,
    }
}

/// Is `label` the name of `value` in `label = value`? Only when the value does not use every
/// variable of the label: `y = 2x + 1` and `f(x) = x^2` name their right-hand side, while
/// `x = 2x + 1` is an equation in `x`, never its right-hand side (docs/semantics.md,
/// "Equations").
fn names(label: &Expr, value: &Expr) -> bool {
    if !is_label(label) || is_label(value) {
        return false;
    }
    let (mut named, mut used) = (Vec::new(), Vec::new());
    label.collect_vars(&mut named);
    value.collect_vars(&mut used);
    named.iter().any(|v| !used.contains(v))
}

/// `x = 3` is 3 and `y = 2x + 1` is `2x + 1` unless compared with another equation;
/// `x = 1 + 2 = 3` is `x = 3`; `x \in S` is `S`. An equation whose label occurs in its
/// value (`x = 2x + 1`) stays an equation.
fn unlabel(e: &Expr, other_is_equation: bool) -> Expr {
    match e {
        Expr::Rel(items, ops) if ops.len() == 1 && ops[0] == RelOp::In && is_label(&items[0]) => {
            items[1].clone()
        }
        Expr::Rel(items, ops) if ops.iter().all(|o| *o == RelOp::Eq) => {
            let (l, r) = (&items[0], &items[items.len() - 1]);
            if items.len() > 2 && !is_label(l) {
                return e.clone();
            }
            if !other_is_equation {
                if names(l, r) {
                    return r.clone();
                }
                if names(r, l) {
                    return l.clone();
                }
            }
            Expr::Rel(vec![l.clone(), r.clone()], vec![RelOp::Eq])
        }
        _ => e.clone(),
    }
}

/// Components with distinct plain labels (`y = 3, x = 2`), as `(label, value)` pairs in
/// variable order.
fn labelled_components(e: &Expr) -> Option<Vec<(String, Expr)>> {
    let (Expr::List(items) | Expr::Set(items) | Expr::Tuple(Bracket::Paren, Bracket::Paren, items)) = e
    else {
        return None;
    };
    if items.len() < 2 || items.len() > MAX_MATCH_ITEMS {
        return None;
    }
    let mut pairs: Vec<(String, Expr)> = Vec::with_capacity(items.len());
    for item in items {
        let Expr::Rel(sides, ops) = item else { return None };
        let (Expr::Var(name), [RelOp::Eq]) = (&sides[0], ops.as_slice()) else {
            return None;
        };
        if sides.len() != 2 || !names(&sides[0], &sides[1]) || pairs.iter().any(|(n, _)| n == name) {
            return None;
        }
        pairs.push((name.clone(), sides[1].clone()));
    }
    let order = variable_order(&pairs.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>());
    Some(order.into_iter().map(|i| pairs[i].clone()).collect())
}

/// Labelled components compare by label (docs/semantics.md, "Labels"): against other
/// labelled components label by label (`x = 2, y = 3` ≡ `y = 3, x = 2` ≢ `x = 3, y = 2`), and
/// against a tuple or a vector in variable order (`y = 3, x = 2` ≡ `(2, 3)`). Against a plain
/// list, which is unordered, the values compare as a set, as before; `None` then.
fn labelled(g: &Expr, p: &Expr, rec: &dyn Fn(&Expr, &Expr) -> bool) -> Option<Verdict> {
    let ordered = |e: &Expr| match e {
        Expr::Tuple(o, c, items) => o == c && *o != Bracket::Square && items.len() >= 2,
        Expr::Matrix(_) => true,
        _ => false,
    };
    match (labelled_components(g), labelled_components(p)) {
        (Some(a), Some(b)) => Some((
            a.len() == b.len()
                && a.iter()
                    .zip(&b)
                    .all(|((na, va), (nb, vb))| na == nb && rec(va, vb)),
            "tuple",
        )),
        (Some(a), None) if ordered(p) => {
            let t = Expr::Tuple(
                Bracket::Paren,
                Bracket::Paren,
                a.into_iter().map(|(_, v)| v).collect(),
            );
            Some((rec(&t, p), "tuple"))
        }
        (None, Some(b)) if ordered(g) => {
            let t = Expr::Tuple(
                Bracket::Paren,
                Bracket::Paren,
                b.into_iter().map(|(_, v)| v).collect(),
            );
            Some((rec(g, &t), "tuple"))
        }
        _ => None,
    }
}

/// The positions of `names` in variable order: the coordinate conventions (r, θ), (r, θ, z),
/// (ρ, θ, φ) and (r, θ, φ) as written; otherwise Latin letters alphabetically, then Greek
/// letters in the order of the Greek alphabet, subscripts by number (`x_2` before `x_{10}`).
fn variable_order(names: &[&str]) -> Vec<usize> {
    const CONVENTIONS: &[&[&str]] = &[
        &["r", "theta"],
        &["r", "theta", "z"],
        &["rho", "theta", "phi"],
        &["r", "theta", "phi"],
    ];
    for convention in CONVENTIONS {
        if convention.len() == names.len() && convention.iter().all(|c| names.contains(c)) {
            return convention
                .iter()
                .filter_map(|c| names.iter().position(|n| n == c))
                .collect();
        }
    }
    const GREEK: &[&str] = &[
        "alpha",
        "beta",
        "gamma",
        "delta",
        "epsilon",
        "varepsilon",
        "zeta",
        "eta",
        "theta",
        "vartheta",
        "iota",
        "kappa",
        "lambda",
        "mu",
        "nu",
        "xi",
        "rho",
        "sigma",
        "tau",
        "upsilon",
        "phi",
        "varphi",
        "chi",
        "psi",
        "omega",
    ];
    let key = |name: &str| {
        let (base, sub) = name.split_once('_').unwrap_or((name, ""));
        let sub_digits: String = sub.chars().filter(char::is_ascii_digit).collect();
        let sub_number = sub_digits.parse::<u64>().unwrap_or(0);
        let rank = match GREEK.iter().position(|g| *g == base) {
            Some(i) => (1, i, String::new()),
            None => (0, 0, base.to_string()),
        };
        (rank, sub_number, name.to_string())
    };
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by_key(|&i| key(names[i]));
    order
}

fn normalize(e: &Expr, other_is_equation: bool) -> Expr {
    let e = unlabel(e, other_is_equation);
    let e = matrices::fold(&e).unwrap_or(e);
    match e {
        Expr::List(items) | Expr::Set(items) if items.len() <= MAX_MATCH_ITEMS => {
            let mut out = Vec::with_capacity(items.len());
            for item in &items {
                let u = unlabel(item, false);
                match u {
                    // `x = 1, 2, 3` lists values of one label.
                    Expr::List(inner) => out.extend(inner),
                    other => out.extend(expand_pm(&other)),
                }
            }
            Expr::Set(out)
        }
        other => {
            let values = expand_pm(&other);
            if values.len() == 1 {
                values.into_iter().next().unwrap_or(other)
            } else {
                Expr::Set(values)
            }
        }
    }
}

fn count_pm(e: &Expr) -> usize {
    match e {
        Expr::PlusMinus(a, b) => 1 + count_pm(a) + count_pm(b),
        Expr::Neg(a) => count_pm(a),
        Expr::Add(v) | Expr::Mul(v) => v.iter().map(count_pm).sum(),
        Expr::Div(a, b) | Expr::Pow(a, b) => count_pm(a) + count_pm(b),
        Expr::Func(_, a) => count_pm(a),
        _ => 0,
    }
}

/// `a ± b` is the set `{a + b, a - b}`; n occurrences give up to 2^n values.
fn expand_pm(e: &Expr) -> Vec<Expr> {
    let n = count_pm(e);
    if n == 0 || n > MAX_PLUS_MINUS {
        return vec![e.clone()];
    }
    (0..1u32 << n)
        .map(|mask| {
            let mut idx = 0;
            choose_pm(e, mask, &mut idx)
        })
        .collect()
}

fn choose_pm(e: &Expr, mask: u32, idx: &mut u32) -> Expr {
    let mut c = |x: &Expr| choose_pm(x, mask, idx);
    match e {
        Expr::PlusMinus(a, b) => {
            let a = c(a);
            let b = c(b);
            let minus = mask >> *idx & 1 == 1;
            *idx += 1;
            let b = if minus { Expr::Neg(Box::new(b)) } else { b };
            if matches!(&a, Expr::Num(l) if l.value.is_zero()) {
                b
            } else {
                Expr::Add(vec![a, b])
            }
        }
        Expr::Neg(a) => Expr::Neg(Box::new(c(a))),
        Expr::Add(v) => Expr::Add(v.iter().map(c).collect()),
        Expr::Mul(v) => Expr::Mul(v.iter().map(c).collect()),
        Expr::Div(a, b) => {
            let a = c(a);
            Expr::Div(Box::new(a), Box::new(c(b)))
        }
        Expr::Pow(a, b) => {
            let a = c(a);
            Expr::Pow(Box::new(a), Box::new(c(b)))
        }
        Expr::Func(f, a) => Expr::Func(*f, Box::new(c(a))),
        other => other.clone(),
    }
}

/// Unordered, duplicate-insensitive matching: every gold item is predicted and every
/// predicted item is in the gold.
fn set_match(a: &[Expr], b: &[Expr], eq: &dyn Fn(&Expr, &Expr) -> bool) -> bool {
    if a.len() > MAX_MATCH_ITEMS || b.len() > MAX_MATCH_ITEMS {
        return a == b;
    }
    a.iter().all(|x| b.iter().any(|y| eq(x, y))) && b.iter().all(|y| a.iter().any(|x| eq(x, y)))
}

fn letters_of(e: &Expr, out: &mut String) -> bool {
    match e {
        Expr::Var(v) if v.chars().all(|c| c.is_ascii_alphabetic()) => {
            out.push_str(&v.to_ascii_lowercase());
            true
        }
        Expr::E => {
            out.push('e');
            true
        }
        Expr::I => {
            out.push('i');
            true
        }
        Expr::Pi => {
            out.push_str("pi");
            true
        }
        Expr::Mul(items) => items.iter().all(|i| letters_of(i, out)),
        _ => false,
    }
}

fn text_equal(g: &Expr, p: &Expr) -> bool {
    let as_text = |e: &Expr| -> Option<String> {
        match e {
            Expr::Text(t) => Some(t.replace(' ', "")),
            other => {
                let mut s = String::new();
                letters_of(other, &mut s).then_some(s)
            }
        }
    };
    matches!((as_text(g), as_text(p)), (Some(a), Some(b)) if a == b)
}

/// A decimal literal as written, for the decimal-rounding rule.
#[derive(Debug, Clone)]
pub struct Decimal {
    pub value: BigRational,
    /// Places after the point shown; negative for scientific notation whose last digit is
    /// left of the point (`6.67\times10^{4}` shows hundreds: −2).
    pub places: i32,
    pub significant: u32,
}

/// Largest power of ten read as the scale of scientific notation.
const MAX_SCIENTIFIC_EXPONENT: i32 = 400;

pub fn decimal_of(e: &Expr) -> Option<Decimal> {
    match e {
        Expr::Num(Literal {
            value,
            decimals: Some(places),
            significant,
        }) => Some(Decimal {
            value: value.clone(),
            places: i32::try_from(*places).ok()?,
            significant: *significant,
        }),
        Expr::Neg(a) => decimal_of(a).map(|d| Decimal { value: -d.value, ..d }),
        // Scientific notation is a decimal (docs/semantics.md, "Scientific notation"):
        // `6.67\times10^{4}` shows three digits down to the hundreds. Only a mantissa written
        // with a point counts; `667\times10^{2}` is the integer 66700.
        Expr::Mul(factors) if factors.len() == 2 => {
            let d = match &factors[0] {
                Expr::Num(_) | Expr::Neg(_) => decimal_of(&factors[0])?,
                _ => return None,
            };
            let k = power_of_ten(&factors[1])?;
            let scale = BigRational::from_integer(BigInt::from(10u32).pow(k.unsigned_abs()));
            let value = if k >= 0 {
                &d.value * &scale
            } else {
                &d.value / &scale
            };
            Some(Decimal {
                value,
                places: d.places - k,
                significant: d.significant,
            })
        }
        _ => None,
    }
}

/// `k` in `10^{k}` for a written integer `k` of moderate size.
fn power_of_ten(e: &Expr) -> Option<i32> {
    let Expr::Pow(base, exp) = e else { return None };
    let Expr::Num(b) = &**base else { return None };
    if b.decimals.is_some() || b.value != BigRational::from_integer(BigInt::from(10)) {
        return None;
    }
    let (neg, lit) = match &**exp {
        Expr::Num(l) => (false, l),
        Expr::Neg(a) => match &**a {
            Expr::Num(l) => (true, l),
            _ => return None,
        },
        _ => return None,
    };
    if lit.decimals.is_some() || !lit.value.is_integer() {
        return None;
    }
    let k = lit.value.to_integer().to_i32()?;
    (k.abs() <= MAX_SCIENTIFIC_EXPONENT).then_some(if neg { -k } else { k })
}

/// Half a unit of the last place shown, `1 / (2 · 10^places)`.
pub fn half_unit(places: i32) -> BigRational {
    let p = BigInt::from(10u32).pow(places.unsigned_abs());
    if places >= 0 {
        BigRational::new(BigInt::from(1), BigInt::from(2) * p)
    } else {
        BigRational::new(p, BigInt::from(2))
    }
}

fn is_choice_letter(e: &Expr) -> bool {
    matches!(e, Expr::Var(v) if v.len() == 1 && v.as_bytes()[0].is_ascii_uppercase())
}

fn scalar(g: &Expr, p: &Expr, opts: &MathOptions) -> Verdict {
    if is_choice_letter(g) || is_choice_letter(p) {
        return (g == p, "choice");
    }
    match (g, p) {
        (Expr::Percent(a), Expr::Percent(b)) => return (scalar(a, b, opts).0, "percent"),
        (Expr::Percent(a), other) | (other, Expr::Percent(a)) => {
            if !opts.percent_matches_number {
                return (false, "percent");
            }
            let as_number = scalar(a, other, opts).0;
            let as_fraction = scalar(&Expr::Div(a.clone(), Box::new(Expr::int(100))), other, opts).0;
            return (as_number || as_fraction, "percent");
        }
        (Expr::Degrees(a), Expr::Degrees(b)) => return (scalar(a, b, opts).0, "degrees"),
        (Expr::Degrees(a), other) | (other, Expr::Degrees(a)) => {
            // The mark is dropped (`30^\circ` is 30); an answer in radians is the same angle.
            if scalar(a, other, opts).0 {
                return (true, "degrees");
            }
            let has_pi = mentions_pi(other);
            let radians = Expr::Mul(vec![
                (**a).clone(),
                Expr::Div(Box::new(Expr::Pi), Box::new(Expr::int(180))),
            ]);
            return (has_pi && scalar(&radians, other, opts).0, "degrees");
        }
        _ => {}
    }
    let mut vars = Vec::new();
    g.collect_vars(&mut vars);
    p.collect_vars(&mut vars);
    if vars.is_empty() {
        constants(g, p)
    } else {
        probe(g, p, &vars)
    }
}

fn mentions_pi(e: &Expr) -> bool {
    match e {
        Expr::Pi => true,
        Expr::Neg(a) | Expr::Func(_, a) => mentions_pi(a),
        Expr::Add(v) | Expr::Mul(v) => v.iter().any(mentions_pi),
        Expr::Div(a, b) | Expr::Pow(a, b) => mentions_pi(a) || mentions_pi(b),
        _ => false,
    }
}

fn constants(g: &Expr, p: &Expr) -> Verdict {
    match (eval(g, &[]), eval(p, &[])) {
        (Ok(a), Ok(b)) => {
            let (dg, dp) = (decimal_of(g), decimal_of(p));
            let exact_rounding = match (&dg, &dp) {
                (Some(d), None) => rounding_by_bounds(d, p, &b),
                (None, Some(d)) => rounding_by_bounds(d, g, &a),
                _ => None,
            };
            exact_rounding.unwrap_or_else(|| values_match(&a, dg.as_ref(), &b, dp.as_ref()))
        }
        (Err(EvalError::TooLarge), Err(EvalError::TooLarge)) => (same_key(g, p), "symbolic"),
        (Err(_), Err(_)) => (same_key(g, p), "structural"),
        _ => (false, "numeric"),
    }
}

/// The decimal-rounding rule decided with exact rational bounds on an irrational value
/// (`4.123105625617661` ≡ `\sqrt{17}` needs more than `f64`); `None` when the value is
/// rational (decided exactly elsewhere) or outside what `bounds` can enclose.
fn rounding_by_bounds(d: &Decimal, e: &Expr, v: &Value) -> Option<Verdict> {
    if !v.is_real() || !matches!(v.re, Real::F(_)) || d.significant < 3 {
        return None;
    }
    bounds::rounds_to(e, &d.value, d.places).map(|eq| (eq, "decimal_rounding"))
}

fn terminates(x: &BigRational) -> bool {
    let mut d = x.denom().clone();
    for f in [2u32, 5] {
        let f = BigInt::from(f);
        while (&d % &f).is_zero() {
            d /= &f;
        }
    }
    d == BigInt::from(1)
}

/// The rounding rule (docs/semantics.md): a decimal with ≥ 3 significant digits equals a non-terminating value iff it
/// is that value correctly rounded at the digits shown. Returns the verdict and its method.
///
/// Rational values are decided exactly, and so are irrational values that `bounds` can
/// enclose (π, e, square roots and arithmetic on them; see `rounding_by_bounds`). Other
/// irrational values (trig, logs) are only known as `f64`, with an evaluation error we bound
/// by `slack` (a few ulps). When the distance to the decimal is
/// within `slack` of the rounding boundary, `f64` cannot tell whether the decimal is
/// correctly rounded; that happens for every decimal with more than ~15 significant digits
/// (`3.14159265358979323846` against π). We then answer "not equal" under the method
/// `decimal_rounding_unverified`: a reward must never be granted on a claim the
/// verifier could not check, and a false "wrong" on a 20-digit decimal is the cheaper error.
fn rounds_to(d: &Decimal, v: &Real) -> Option<(bool, &'static str)> {
    match v {
        Real::Q(x) if terminates(x) => None,
        Real::Q(x) => {
            let half_ulp = half_unit(d.places);
            Some((
                d.significant >= 3 && (x - &d.value).abs() < half_ulp,
                "decimal_rounding",
            ))
        }
        Real::F(f) => {
            let dv = d.value.to_f64()?;
            let half_ulp = 0.5 * 10f64.powi(-d.places);
            let slack = f.abs().max(dv.abs()) * 4.0 * f64::EPSILON;
            let dist = (f - dv).abs();
            if d.significant < 3 || dist > half_ulp + slack {
                Some((false, "decimal_rounding"))
            } else if dist < half_ulp - slack {
                Some((true, "decimal_rounding"))
            } else {
                Some((false, "decimal_rounding_unverified"))
            }
        }
        Real::Inf(_) => Some((false, "decimal_rounding")),
    }
}

pub fn values_match(a: &Value, da: Option<&Decimal>, b: &Value, db: Option<&Decimal>) -> Verdict {
    if a.is_real() && b.is_real() {
        let (x, y) = (&a.re, &b.re);
        if let (Real::Q(p), Real::Q(r)) = (x, y)
            && p == r
        {
            return (true, "rational");
        }
        // Exactly one side is a decimal literal: the rounding rule may apply.
        match (da, db) {
            (Some(d), None) => {
                if let Some(verdict) = rounds_to(d, y) {
                    return verdict;
                }
            }
            (None, Some(d)) => {
                if let Some(verdict) = rounds_to(d, x) {
                    return verdict;
                }
            }
            _ => {}
        }
        return match (x, y) {
            (Real::Q(_), Real::Q(_)) => (false, "rational"),
            (Real::Inf(s), Real::Inf(t)) => (s == t, "infinity"),
            (Real::Inf(_), _) | (_, Real::Inf(_)) => (false, "infinity"),
            _ => (close(x.to_f64(), y.to_f64(), 1e-10), "numeric"),
        };
    }
    let exact = a.re.is_exact() && a.im.is_exact() && b.re.is_exact() && b.im.is_exact();
    if exact {
        return (a == b, "complex");
    }
    (
        close(a.re.to_f64(), b.re.to_f64(), 1e-10) && close(a.im.to_f64(), b.im.to_f64(), 1e-10),
        "complex",
    )
}

/// Relative closeness; an exact zero only matches a value indistinguishable from zero.
fn close(a: f64, b: f64, tol: f64) -> bool {
    if !a.is_finite() || !b.is_finite() {
        return a == b;
    }
    let scale = a.abs().max(b.abs());
    if a == 0.0 || b == 0.0 {
        return scale < 1e-12;
    }
    (a - b).abs() <= tol * scale
}

/// Deterministic xorshift64: the probe points of a comparison are the same on every run and
/// every machine (verdicts are reproducible), but they are drawn from a seed of the two
/// expressions themselves ([`XorShift::for_pair`]), so no fixed set of points exists for a
/// policy to learn (docs/semantics.md, "Numeric probes").
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> Self {
        XorShift(seed | 1)
    }

    /// Seeded from the two expressions (FNV-1a over their structure) and a `salt` per use.
    pub fn for_pair(a: &Expr, b: &Expr, salt: u64) -> Self {
        let text = format!("{a:?}\u{1}{b:?}");
        let mut hash: u64 = 0xCBF2_9CE4_8422_2325;
        for byte in text.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01B3);
        }
        XorShift::new(hash ^ salt)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A non-integer rational in roughly [-6, 6], negative half the time. The denominators
    /// vary: small ones (2–97), larger ones (up to ~10⁴) and ones near 2²⁰, which stand in for
    /// irrational points, so that a term vanishing at every rational of small denominator
    /// (`\sin(3003\pi x)`) does not vanish at the probes.
    pub fn sample(&mut self) -> BigRational {
        let den = match self.next() % 3 {
            0 => 2 + (self.next() % 96) as i64,
            1 => 101 + (self.next() % 9_900) as i64,
            _ => (1 << 20) + (self.next() % (1 << 20)) as i64,
        };
        let mut num = (self.next() % (12 * den as u64)) as i64 - 6 * den;
        if num % den == 0 {
            num += 1;
        }
        BigRational::new(BigInt::from(num), BigInt::from(den))
    }
}

const PROBE_POINTS: usize = 10;
const PROBE_ATTEMPTS: usize = 24;

/// One probe point. Variables that bound a `\sum`/`\prod` (`n` in `\sum_{k=1}^{n} k`)
/// get small positive integers, where the series is defined; all others get the usual
/// non-integer samples.
fn env_for(vars: &[String], int_vars: &[String], rng: &mut XorShift) -> Vec<(String, BigRational)> {
    vars.iter()
        .map(|v| {
            let x = if int_vars.contains(v) {
                BigRational::from_integer(BigInt::from(rng.next() % 12 + 1))
            } else {
                rng.sample()
            };
            (v.clone(), x)
        })
        .collect()
}

/// Free variables appearing in the bounds of a series in any of `exprs`.
fn series_bound_vars(exprs: &[&Expr]) -> Vec<String> {
    fn walk(e: &Expr, out: &mut Vec<String>) {
        if let Expr::Series(_, _, parts) = e {
            parts[0].collect_vars(out);
            parts[1].collect_vars(out);
        }
        e.for_each_child(|c| walk(c, out));
    }
    let mut out = Vec::new();
    for e in exprs {
        walk(e, &mut out);
    }
    out
}

/// Free-variable expressions are equal only as functions: they must agree at every
/// sampled point (negative and non-integer ones included) where either is defined.
fn probe(g: &Expr, p: &Expr, vars: &[String]) -> Verdict {
    let mut rng = XorShift::for_pair(g, p, 0x9E37_79B9_7F4A_7C15);
    let int_vars = series_bound_vars(&[g, p]);
    let mut agreed = 0;
    for _ in 0..PROBE_ATTEMPTS {
        if agreed >= PROBE_POINTS {
            break;
        }
        let env = env_for(vars, &int_vars, &mut rng);
        match (eval(g, &env), eval(p, &env)) {
            (Ok(a), Ok(b)) => {
                if !probe_close(&a, &b) {
                    return (false, "numeric_probe");
                }
                agreed += 1;
            }
            (Err(EvalError::Domain), Err(EvalError::Domain)) => {}
            (Err(EvalError::Domain), Ok(_)) | (Ok(_), Err(EvalError::Domain)) => {
                return (false, "numeric_probe");
            }
            _ => return (same_key(g, p), "symbolic"),
        }
    }
    if agreed >= 3 {
        (true, "numeric_probe")
    } else {
        (same_key(g, p), "symbolic")
    }
}

/// Structural equality up to the order of terms and factors, for expressions that
/// evaluation cannot decide.
fn same_key(g: &Expr, p: &Expr) -> bool {
    g == p || commutative_key(g) == commutative_key(p)
}

fn probe_close(a: &Value, b: &Value) -> bool {
    let exact = a.re.is_exact() && a.im.is_exact() && b.re.is_exact() && b.im.is_exact();
    if exact {
        return a == b;
    }
    // A non-finite sample (an infinity, or a value past f64's range) matches only the very
    // same float: `inf - x` is `inf`, which a relative tolerance of `inf` would accept, and
    // any letter product would then equal `\infty` (docs/semantics.md, "No value, no reward").
    let near = |x: f64, y: f64| {
        if !x.is_finite() || !y.is_finite() {
            return x == y && !x.is_nan();
        }
        (x - y).abs() <= 1e-8 * x.abs().max(y.abs()).max(1e-4)
    };
    near(a.re.to_f64(), b.re.to_f64()) && near(a.im.to_f64(), b.im.to_f64())
}

/// Equations with the same solution set: `lhs - rhs` of one is a non-zero constant
/// multiple of the other's at every probe point (`x+2y=4` ≡ `2x+4y=8`, `y=2x+1` ≡ `2x+1=y`).
fn equations_equal(a: &[Expr], ao: &[RelOp], b: &[Expr], bo: &[RelOp]) -> bool {
    if ao.len() != 1 || bo.len() != 1 || ao[0] != RelOp::Eq || bo[0] != RelOp::Eq {
        return a == b && ao == bo;
    }
    let diff = |items: &[Expr]| Expr::Add(vec![items[0].clone(), Expr::Neg(Box::new(items[1].clone()))]);
    let (da, db) = (diff(a), diff(b));
    let mut vars = Vec::new();
    da.collect_vars(&mut vars);
    db.collect_vars(&mut vars);
    if vars.is_empty() {
        return a == b;
    }
    let mut rng = XorShift::for_pair(&da, &db, 0xD1B5_4A32_D192_ED03);
    let int_vars = series_bound_vars(&[&da, &db]);
    let mut ratio: Option<Value> = None;
    let mut informative = 0;
    let mut zeros = 0;
    for _ in 0..PROBE_ATTEMPTS {
        if informative >= PROBE_POINTS {
            break;
        }
        let env = env_for(&vars, &int_vars, &mut rng);
        let (x, y) = match (eval(&da, &env), eval(&db, &env)) {
            (Ok(x), Ok(y)) => (x, y),
            (Err(EvalError::Domain), Err(EvalError::Domain)) => continue,
            _ => return false,
        };
        let zx = x.re.is_zero() && x.im.is_zero();
        let zy = y.re.is_zero() && y.im.is_zero();
        if zx || zy {
            if zx != zy {
                return false;
            }
            zeros += 1;
            continue;
        }
        let Ok(r) = div_values(&x, &y) else { return false };
        match &ratio {
            None => ratio = Some(r),
            Some(r0) => {
                if !probe_close(r0, &r) {
                    return false;
                }
            }
        }
        informative += 1;
    }
    informative >= 2
        || (informative == 0 && zeros >= 3)
        || (informative == 0 && zeros == 0 && same_key(&da, &db))
}

fn div_values(x: &Value, y: &Value) -> Result<Value, EvalError> {
    // Reuse the evaluator's arithmetic through a tiny expression-free path.
    let (xr, yr) = (&x.re, &y.re);
    if x.is_real() && y.is_real() {
        return Ok(Value::real(xr.div(yr)?));
    }
    Err(EvalError::NotScalar)
}
