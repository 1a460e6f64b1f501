//! Sets of real numbers: intervals, unions, finite point sets, `\mathbb{R}` and the
//! solution sets of inequalities (docs/semantics.md: "an inequality equals its solution set").
//!
//! Sets become sorted, merged lists of intervals and compare endpoint by endpoint, so
//! `[1,2]∪[2,3]` ≡ `[1,3]`. An inequality that is linear in its one variable is solved
//! exactly; any other one is kept as a membership test and compared by sampling points
//! around the other side's endpoints.

use std::cmp::Ordering;

use num_rational::BigRational;
use num_traits::FromPrimitive;

use super::MathOptions;
use super::ast::{Bracket, Expr, RelOp};
use super::compare::{Decimal, Verdict, decimal_of, is_label, values_match};
use super::eval::{Real, Value, eval, q};

#[derive(Debug, Clone)]
struct End {
    value: Real,
    decimal: Option<Decimal>,
    closed: bool,
}

#[derive(Debug, Clone)]
struct Interval {
    lo: End,
    hi: End,
}

/// A set of reals: explicit intervals, or an inequality in `var` to test pointwise.
enum RealSet {
    Intervals(Vec<Interval>),
    Predicate {
        items: Vec<Expr>,
        ops: Vec<RelOp>,
        var: String,
    },
}

pub fn compare_sets(g: &Expr, p: &Expr, _opts: &MathOptions) -> Verdict {
    let (Some(a), Some(b)) = (to_set(g), to_set(p)) else {
        return (false, "interval");
    };
    let method = if matches!(g, Expr::Rel(..)) || matches!(p, Expr::Rel(..)) {
        "inequality"
    } else {
        "interval"
    };
    let equal = match (&a, &b) {
        (RealSet::Intervals(x), RealSet::Intervals(y)) => {
            intervals_equal(&normalize(x.clone()), &normalize(y.clone()))
        }
        _ => sampled_equal(&a, &b),
    };
    (equal, method)
}

fn end_of(e: &Expr, closed: bool) -> Option<End> {
    let v = eval(e, &[]).ok()?;
    if !v.is_real() {
        return None;
    }
    let closed = closed && !matches!(v.re, Real::Inf(_));
    Some(End {
        value: v.re,
        decimal: decimal_of(e),
        closed,
    })
}

fn point(e: &Expr) -> Option<Interval> {
    let lo = end_of(e, true)?;
    Some(Interval { hi: lo.clone(), lo })
}

fn to_set(e: &Expr) -> Option<RealSet> {
    Some(match e {
        Expr::Reals => RealSet::Intervals(vec![everything()]),
        Expr::Tuple(o, c, items) if items.len() == 2 && *o != Bracket::Angle && *c != Bracket::Angle => {
            let lo = end_of(&items[0], *o == Bracket::Square)?;
            let hi = end_of(&items[1], *c == Bracket::Square)?;
            RealSet::Intervals(vec![Interval { lo, hi }])
        }
        Expr::Set(items) | Expr::List(items) => {
            RealSet::Intervals(items.iter().map(point).collect::<Option<_>>()?)
        }
        Expr::Union(parts) => {
            let mut all = Vec::new();
            for part in parts {
                match to_set(part)? {
                    RealSet::Intervals(v) => all.extend(v),
                    RealSet::Predicate { .. } => return None,
                }
            }
            RealSet::Intervals(all)
        }
        Expr::Intersection(parts) => {
            let mut acc = vec![everything()];
            for part in parts {
                match to_set(part)? {
                    RealSet::Intervals(v) => acc = intersect(&acc, &v),
                    RealSet::Predicate { .. } => return None,
                }
            }
            RealSet::Intervals(acc)
        }
        Expr::Add(_) => {
            let b = reals_minus(e)?;
            to_set(&Expr::Difference(Box::new(Expr::Reals), Box::new(b.clone())))?
        }
        Expr::Difference(a, b) => {
            let (RealSet::Intervals(a), RealSet::Intervals(b)) = (to_set(a)?, to_set(b)?) else {
                return None;
            };
            RealSet::Intervals(intersect(&a, &complement(&b)))
        }
        Expr::Rel(items, ops) => {
            if ops.len() == 1 && ops[0] == RelOp::In {
                return to_set(&items[1]);
            }
            inequality(items, ops)?
        }
        Expr::Num(_) | Expr::Neg(_) | Expr::Div(..) => RealSet::Intervals(vec![point(e)?]),
        _ => return None,
    })
}

/// `\mathbb{R} - \{1\}`, a set difference written with a minus sign: the subtracted set.
pub fn reals_minus(e: &Expr) -> Option<&Expr> {
    let Expr::Add(terms) = e else { return None };
    let [Expr::Reals, Expr::Neg(b)] = terms.as_slice() else {
        return None;
    };
    matches!(**b, Expr::Set(_)).then_some(&**b)
}

fn everything() -> Interval {
    Interval {
        lo: End {
            value: Real::Inf(true),
            decimal: None,
            closed: false,
        },
        hi: End {
            value: Real::Inf(false),
            decimal: None,
            closed: false,
        },
    }
}

/// Solve an inequality chain in its single variable (a label like `f(x)` counts as one).
fn inequality(items: &[Expr], ops: &[RelOp]) -> Option<RealSet> {
    if ops.iter().any(|o| matches!(o, RelOp::Eq | RelOp::In)) {
        return None;
    }
    let var_name = "\u{1d461}".to_string();
    let mut items: Vec<Expr> = items.to_vec();
    let non_const: Vec<usize> = (0..items.len()).filter(|&i| !items[i].is_constant()).collect();
    // `0 < f(x) < 1` bounds the label itself; `1 <= |z|` is a condition on z, not on |z|.
    let plain_label = |e: &Expr| is_label(e) && !format!("{e}").contains("abs(");
    if non_const.len() == 1 && plain_label(&items[non_const[0]]) {
        items[non_const[0]] = Expr::Var(var_name.clone());
    }
    let mut vars = Vec::new();
    for it in &items {
        it.collect_vars(&mut vars);
    }
    let [var] = vars.as_slice() else { return None };
    let var = var.clone();
    let mut acc = vec![everything()];
    for (i, op) in ops.iter().enumerate() {
        let d = Expr::Add(vec![items[i].clone(), Expr::Neg(Box::new(items[i + 1].clone()))]);
        match linear(&d, &var) {
            Some((a, b)) => acc = intersect(&acc, &solve_linear(&a, &b, *op)),
            None => {
                return Some(RealSet::Predicate {
                    items,
                    ops: ops.to_vec(),
                    var,
                });
            }
        }
    }
    // A chain whose variable sits in several members and that holds nowhere or everywhere
    // is no solution set: `f(2) < f(1) < f(4)` orders three values (read as one letter `f`
    // it would "solve" to ∅ and be paid by `\{\}`); such a claim compares structurally.
    let is_all = |interval: &Interval| {
        matches!(
            (&interval.lo.value, &interval.hi.value),
            (Real::Inf(true), Real::Inf(false))
        )
    };
    let is_empty_or_all = acc.is_empty() || (acc.len() == 1 && is_all(&acc[0]));
    if non_const.len() > 1 && is_empty_or_all {
        return None;
    }
    Some(RealSet::Intervals(acc))
}

/// `d(t) = a t + b` exactly, checked at four points.
fn linear(d: &Expr, var: &str) -> Option<(BigRational, BigRational)> {
    let at = |t: BigRational| -> Option<BigRational> {
        match eval(d, &[(var.to_string(), t)]).ok()? {
            Value {
                re: Real::Q(x),
                im: Real::Q(i),
            } if i == q(0) => Some(x),
            _ => None,
        }
    };
    let d0 = at(q(0))?;
    let d1 = at(q(1))?;
    let a = &d1 - &d0;
    let t2 = BigRational::new(7.into(), 3.into());
    let t3 = BigRational::new((-11).into(), 5.into());
    (at(t2.clone())? == &d0 + &a * &t2 && at(t3.clone())? == &d0 + &a * &t3).then_some((a, d0))
}

fn solve_linear(a: &BigRational, b: &BigRational, op: RelOp) -> Vec<Interval> {
    let zero = q(0);
    if *a == zero {
        let holds = holds(&Real::Q(b.clone()), op, &Real::Q(zero));
        return if holds { vec![everything()] } else { Vec::new() };
    }
    let c = Real::Q(-b / a);
    let op = if *a < zero { op.flipped() } else { op };
    let at = |closed| End {
        value: c.clone(),
        decimal: None,
        closed,
    };
    let inf = |neg| End {
        value: Real::Inf(neg),
        decimal: None,
        closed: false,
    };
    match op {
        RelOp::Lt => vec![Interval {
            lo: inf(true),
            hi: at(false),
        }],
        RelOp::Le => vec![Interval {
            lo: inf(true),
            hi: at(true),
        }],
        RelOp::Gt => vec![Interval {
            lo: at(false),
            hi: inf(false),
        }],
        RelOp::Ge => vec![Interval {
            lo: at(true),
            hi: inf(false),
        }],
        _ => vec![
            Interval {
                lo: inf(true),
                hi: at(false),
            },
            Interval {
                lo: at(false),
                hi: inf(false),
            },
        ],
    }
}

fn holds(x: &Real, op: RelOp, y: &Real) -> bool {
    let Some(o) = x.cmp(y) else { return false };
    match op {
        RelOp::Lt => o == Ordering::Less,
        RelOp::Le => o != Ordering::Greater,
        RelOp::Gt => o == Ordering::Greater,
        RelOp::Ge => o != Ordering::Less,
        RelOp::Ne => o != Ordering::Equal,
        RelOp::Eq | RelOp::In => o == Ordering::Equal,
    }
}

fn ends_equal(a: &End, b: &End) -> bool {
    values_match(
        &Value::real(a.value.clone()),
        a.decimal.as_ref(),
        &Value::real(b.value.clone()),
        b.decimal.as_ref(),
    )
    .0
}

fn cmp_end(a: &End, b: &End) -> Ordering {
    if ends_equal(a, b) {
        return Ordering::Equal;
    }
    a.value.cmp(&b.value).unwrap_or(Ordering::Equal)
}

fn is_empty(iv: &Interval) -> bool {
    match cmp_end(&iv.lo, &iv.hi) {
        Ordering::Greater => true,
        Ordering::Equal => !(iv.lo.closed && iv.hi.closed),
        Ordering::Less => false,
    }
}

/// Sort and merge overlapping or touching intervals.
fn normalize(mut v: Vec<Interval>) -> Vec<Interval> {
    v.retain(|iv| !is_empty(iv));
    v.sort_by(|a, b| cmp_end(&a.lo, &b.lo).then_with(|| b.lo.closed.cmp(&a.lo.closed)));
    let mut out: Vec<Interval> = Vec::with_capacity(v.len());
    for iv in v {
        if let Some(last) = out.last_mut() {
            let touch = match cmp_end(&iv.lo, &last.hi) {
                Ordering::Less => true,
                Ordering::Equal => iv.lo.closed || last.hi.closed,
                Ordering::Greater => false,
            };
            if touch {
                match cmp_end(&iv.hi, &last.hi) {
                    Ordering::Greater => last.hi = iv.hi,
                    Ordering::Equal => last.hi.closed |= iv.hi.closed,
                    Ordering::Less => {}
                }
                if cmp_end(&iv.lo, &last.lo) == Ordering::Equal {
                    last.lo.closed |= iv.lo.closed;
                }
                continue;
            }
        }
        out.push(iv);
    }
    out
}

fn intersect(a: &[Interval], b: &[Interval]) -> Vec<Interval> {
    let mut out = Vec::new();
    for x in a {
        for y in b {
            let lo = match cmp_end(&x.lo, &y.lo) {
                Ordering::Greater => x.lo.clone(),
                Ordering::Less => y.lo.clone(),
                Ordering::Equal => End {
                    closed: x.lo.closed && y.lo.closed,
                    ..x.lo.clone()
                },
            };
            let hi = match cmp_end(&x.hi, &y.hi) {
                Ordering::Less => x.hi.clone(),
                Ordering::Greater => y.hi.clone(),
                Ordering::Equal => End {
                    closed: x.hi.closed && y.hi.closed,
                    ..x.hi.clone()
                },
            };
            let iv = Interval { lo, hi };
            if !is_empty(&iv) {
                out.push(iv);
            }
        }
    }
    normalize(out)
}

/// The reals not in `v`.
fn complement(v: &[Interval]) -> Vec<Interval> {
    let mut out = Vec::new();
    let mut lo = End {
        value: Real::Inf(true),
        decimal: None,
        closed: false,
    };
    for iv in normalize(v.to_vec()) {
        let hi = End {
            closed: !iv.lo.closed,
            ..iv.lo.clone()
        };
        let gap = Interval { lo, hi };
        if !is_empty(&gap) {
            out.push(gap);
        }
        lo = End {
            closed: !iv.hi.closed,
            ..iv.hi.clone()
        };
    }
    let last = Interval {
        lo,
        hi: End {
            value: Real::Inf(false),
            decimal: None,
            closed: false,
        },
    };
    if !is_empty(&last) {
        out.push(last);
    }
    out
}

fn intervals_equal(a: &[Interval], b: &[Interval]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            ends_equal(&x.lo, &y.lo)
                && ends_equal(&x.hi, &y.hi)
                && x.lo.closed == y.lo.closed
                && x.hi.closed == y.hi.closed
        })
}

fn contains(set: &RealSet, t: &BigRational) -> bool {
    match set {
        RealSet::Intervals(v) => {
            let x = Real::Q(t.clone());
            v.iter().any(|iv| {
                let lo_ok = match x.cmp(&iv.lo.value) {
                    Some(Ordering::Greater) => true,
                    Some(Ordering::Equal) => iv.lo.closed,
                    _ => false,
                };
                let hi_ok = match x.cmp(&iv.hi.value) {
                    Some(Ordering::Less) => true,
                    Some(Ordering::Equal) => iv.hi.closed,
                    _ => false,
                };
                lo_ok && hi_ok
            })
        }
        RealSet::Predicate { items, ops, var } => {
            let env = [(var.clone(), t.clone())];
            let mut vals = Vec::with_capacity(items.len());
            for it in items {
                match eval(it, &env) {
                    Ok(v) if v.is_real() => vals.push(v.re),
                    _ => return false,
                }
            }
            ops.iter()
                .enumerate()
                .all(|(i, op)| holds(&vals[i], *op, &vals[i + 1]))
        }
    }
}

fn endpoints(set: &RealSet, out: &mut Vec<f64>) {
    if let RealSet::Intervals(v) = set {
        for iv in v {
            for e in [&iv.lo, &iv.hi] {
                let f = e.value.to_f64();
                if f.is_finite() {
                    out.push(f);
                }
            }
        }
    }
}

/// Membership agreement at the endpoints of either side, just beside them, between them
/// and at a spread of fixed points.
fn sampled_equal(a: &RealSet, b: &RealSet) -> bool {
    let mut pts: Vec<f64> = vec![-1000.0, -10.5, -3.3, -1.7, -0.5, 0.0, 0.5, 1.3, 2.7, 10.5, 1000.0];
    let mut ends = Vec::new();
    endpoints(a, &mut ends);
    endpoints(b, &mut ends);
    ends.sort_by(|x, y| x.partial_cmp(y).unwrap_or(Ordering::Equal));
    for w in ends.windows(2) {
        pts.push((w[0] + w[1]) / 2.0);
    }
    for e in &ends {
        let d = 1e-7 * e.abs().max(1.0);
        pts.extend([*e - d, *e + d]);
    }
    let mut tests: Vec<BigRational> = pts.iter().filter_map(|f| BigRational::from_f64(*f)).collect();
    // Exact endpoints themselves decide open versus closed.
    for set in [a, b] {
        if let RealSet::Intervals(v) = set {
            for iv in v {
                for e in [&iv.lo, &iv.hi] {
                    if let Real::Q(x) = &e.value {
                        tests.push(x.clone());
                    }
                }
            }
        }
    }
    tests.iter().all(|t| contains(a, t) == contains(b, t))
}
