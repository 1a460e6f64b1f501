//! Exact rational enclosures of irrational constants, for the decimal-rounding rule.
//!
//! `f64` cannot tell whether a decimal with more than ~15 significant digits is a value
//! correctly rounded (`4.123105625617661` against `\sqrt{17}`). [`enclose`] computes an
//! interval `[lo, hi]` of `BigRational`s that certainly contains the value of a constant
//! expression built from rationals, π, e, `+ − × ÷`, integer powers and square roots, about
//! [`DIGITS`] digits wide. Anything else (trig, logs, other roots) gives `None`, and the
//! caller falls back to `f64` with its documented, conservative limit.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{Signed, ToPrimitive, Zero};

use super::ast::{Expr, Func};

/// Decimal digits of precision of π, e and square-root bounds.
const DIGITS: u32 = 40;
/// Enclosures whose bounds grow past this many bits are abandoned (bounded work).
const MAX_BITS: u64 = 4_096;
/// Largest integer exponent expanded.
const MAX_POWER: u32 = 64;

const PI_40: &str = "31415926535897932384626433832795028841971";
const E_40: &str = "27182818284590452353602874713526624977572";

pub type Interval = (BigRational, BigRational);

fn scale() -> BigInt {
    BigInt::from(10u32).pow(DIGITS)
}

/// A constant known to `DIGITS` decimals: the truncated digits and one unit above.
fn constant(digits: &str) -> Option<Interval> {
    let n: BigInt = digits.parse().ok()?;
    let s = scale();
    Some((
        BigRational::new(n.clone(), s.clone()),
        BigRational::new(n + 1u32, s),
    ))
}

fn bits(x: &BigRational) -> u64 {
    x.numer().bits() + x.denom().bits()
}

fn checked((lo, hi): Interval) -> Option<Interval> {
    (bits(&lo) <= MAX_BITS && bits(&hi) <= MAX_BITS).then_some((lo, hi))
}

fn mul(a: &Interval, b: &Interval) -> Option<Interval> {
    let c = [&a.0 * &b.0, &a.0 * &b.1, &a.1 * &b.0, &a.1 * &b.1];
    let lo = c.iter().min()?.clone();
    let hi = c.iter().max()?.clone();
    checked((lo, hi))
}

/// Square-root bounds of a non-negative rational, `DIGITS` decimals wide.
fn sqrt_bounds(x: &BigRational, upper: bool) -> BigRational {
    let s = scale();
    let scaled = x * BigRational::from_integer(&s * &s);
    let r = if upper {
        scaled.ceil().to_integer().sqrt() + 1u32
    } else {
        scaled.floor().to_integer().sqrt()
    };
    BigRational::new(r, s)
}

/// An interval certainly containing the value of `e`, or `None` when `e` is outside the
/// supported operations or the bounds grow too large.
pub fn enclose(e: &Expr, depth: u32) -> Option<Interval> {
    if depth > 64 {
        return None;
    }
    let rec = |x: &Expr| enclose(x, depth + 1);
    match e {
        Expr::Num(l) => Some((l.value.clone(), l.value.clone())),
        Expr::Pi => constant(PI_40),
        Expr::E => constant(E_40),
        Expr::Neg(a) => rec(a).map(|(lo, hi)| (-hi, -lo)),
        Expr::Add(terms) => {
            let (mut lo, mut hi) = (BigRational::zero(), BigRational::zero());
            for t in terms {
                let (a, b) = rec(t)?;
                lo += a;
                hi += b;
            }
            checked((lo, hi))
        }
        Expr::Mul(factors) => {
            let one = BigRational::from_integer(1.into());
            let mut acc = (one.clone(), one);
            for f in factors {
                acc = mul(&acc, &rec(f)?)?;
            }
            Some(acc)
        }
        Expr::Div(a, b) => {
            let (lo, hi) = rec(b)?;
            if lo.is_positive() || hi.is_negative() {
                mul(&rec(a)?, &(hi.recip(), lo.recip()))
            } else {
                None
            }
        }
        Expr::Pow(a, b) => {
            let Expr::Num(n) = &**b else { return None };
            if !n.value.is_integer() {
                return None;
            }
            let k = n.value.to_integer().abs().to_u32().filter(|k| *k <= MAX_POWER)?;
            let base = rec(a)?;
            let one = BigRational::from_integer(1.into());
            let mut acc = (one.clone(), one);
            for _ in 0..k {
                acc = mul(&acc, &base)?;
            }
            if n.value.is_negative() {
                let (lo, hi) = acc;
                if lo.is_positive() || hi.is_negative() {
                    acc = (hi.recip(), lo.recip());
                } else {
                    return None;
                }
            }
            Some(acc)
        }
        Expr::Func(Func::Sqrt, a) => {
            let (lo, hi) = rec(a)?;
            if lo.is_negative() {
                return None;
            }
            checked((sqrt_bounds(&lo, false), sqrt_bounds(&hi, true)))
        }
        _ => None,
    }
}

/// Whether `value` (enclosed by `e`) rounds to the decimal `d` written with `places`
/// decimals: `Some(true)` when the whole enclosure lies within half a unit of the last
/// place, `Some(false)` when it lies wholly outside, `None` when it straddles the boundary.
pub fn rounds_to(e: &Expr, d: &BigRational, places: i32) -> Option<bool> {
    let (lo, hi) = enclose(e, 0)?;
    let half = super::compare::half_unit(places);
    let (below, above) = (d - &half, d + &half);
    if lo > below && hi < above {
        Some(true)
    } else if hi <= below || lo >= above {
        Some(false)
    } else {
        None
    }
}
