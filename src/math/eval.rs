//! Numeric evaluation of expressions: exact rationals where possible, `f64` otherwise.
//!
//! A [`Value`] is a complex number whose parts are [`Real`]s. Integers, fractions,
//! terminating decimals, integer powers, factorials, perfect roots and exact logarithms
//! stay exact (`BigRational`), so `1/2004!` and `1/2006!` are told apart; irrational
//! constants and functions fall back to `f64`, which the comparison rules treat with a
//! tolerance or the decimal-rounding rule. Results beyond [`MAX_EXACT_BITS`] become `f64`
//! or `TooLarge`, never a huge allocation.

use std::cell::Cell;
use std::cmp::Ordering;

use num_bigint::BigInt;
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{FromPrimitive, One, Signed, ToPrimitive, Zero};

use super::ast::{BigOp, Expr, Func};
use super::limits::{MAX_EXACT_BITS, MAX_FACTORIAL, MAX_SERIES_TERMS};
use super::rational;

#[derive(Debug, Clone, PartialEq)]
pub enum Real {
    Q(BigRational),
    F(f64),
    /// ±∞ (`true` is −∞).
    Inf(bool),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub re: Real,
    pub im: Real,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalError {
    /// Undefined here (division by zero, log of a negative, …): a probe point to skip.
    Domain,
    /// Too large to evaluate, exactly or in `f64`.
    TooLarge,
    /// Not a number (a tuple, a set, text, a free variable without a value).
    NotScalar,
}

type R<T> = Result<T, EvalError>;

pub fn q(n: i64) -> BigRational {
    BigRational::from_integer(BigInt::from(n))
}

fn bits(x: &BigRational) -> u64 {
    x.numer().bits() + x.denom().bits()
}

impl Real {
    pub fn zero() -> Real {
        Real::Q(BigRational::zero())
    }

    pub fn to_f64(&self) -> f64 {
        match self {
            Real::Q(x) => x.to_f64().unwrap_or(f64::NAN),
            Real::F(f) => *f,
            Real::Inf(neg) => {
                if *neg {
                    f64::NEG_INFINITY
                } else {
                    f64::INFINITY
                }
            }
        }
    }

    pub fn is_zero(&self) -> bool {
        match self {
            Real::Q(x) => x.is_zero(),
            Real::F(f) => *f == 0.0,
            Real::Inf(_) => false,
        }
    }

    pub fn is_exact(&self) -> bool {
        matches!(self, Real::Q(_))
    }

    fn exact(x: BigRational) -> R<Real> {
        if bits(&x) <= MAX_EXACT_BITS {
            Ok(Real::Q(x))
        } else {
            Real::float(x.to_f64().unwrap_or(f64::NAN))
        }
    }

    fn float(f: f64) -> R<Real> {
        if f.is_finite() {
            Ok(Real::F(f))
        } else if f.is_nan() {
            Err(EvalError::Domain)
        } else {
            Err(EvalError::TooLarge)
        }
    }

    pub fn neg(&self) -> Real {
        match self {
            Real::Q(x) => Real::Q(-x),
            Real::F(f) => Real::F(-f),
            Real::Inf(n) => Real::Inf(!n),
        }
    }

    pub fn add(&self, o: &Real) -> R<Real> {
        match (self, o) {
            (Real::Q(a), Real::Q(b)) => Real::exact(rational::add(a, b)),
            (Real::Inf(a), Real::Inf(b)) if a != b => Err(EvalError::Domain),
            (Real::Inf(a), _) | (_, Real::Inf(a)) => Ok(Real::Inf(*a)),
            _ => Real::float(self.to_f64() + o.to_f64()),
        }
    }

    pub fn sub(&self, o: &Real) -> R<Real> {
        self.add(&o.neg())
    }

    pub fn mul(&self, o: &Real) -> R<Real> {
        match (self, o) {
            (Real::Q(a), Real::Q(b)) => {
                if bits(a) + bits(b) > 2 * MAX_EXACT_BITS {
                    return Err(EvalError::TooLarge);
                }
                Real::exact(rational::mul(a, b))
            }
            (Real::Inf(_), x) | (x, Real::Inf(_)) => {
                if x.is_zero() {
                    return Err(EvalError::Domain);
                }
                Ok(Real::Inf((self.sign() < 0) != (o.sign() < 0)))
            }
            _ => Real::float(self.to_f64() * o.to_f64()),
        }
    }

    pub fn div(&self, o: &Real) -> R<Real> {
        if o.is_zero() {
            return Err(EvalError::Domain);
        }
        match (self, o) {
            (Real::Q(a), Real::Q(b)) => Real::exact(rational::div(a, b)),
            (Real::Inf(_), Real::Inf(_)) => Err(EvalError::Domain),
            (Real::Inf(_), x) => Ok(Real::Inf((self.sign() < 0) != (x.sign() < 0))),
            (_, Real::Inf(_)) => Ok(Real::zero()),
            _ => Real::float(self.to_f64() / o.to_f64()),
        }
    }

    pub fn sign(&self) -> i32 {
        match self {
            Real::Q(x) => {
                if x.is_zero() {
                    0
                } else if x.is_positive() {
                    1
                } else {
                    -1
                }
            }
            Real::F(f) => {
                if *f == 0.0 {
                    0
                } else if *f > 0.0 {
                    1
                } else {
                    -1
                }
            }
            Real::Inf(neg) => {
                if *neg {
                    -1
                } else {
                    1
                }
            }
        }
    }

    /// Order of two reals: exact for rationals, through `f64` otherwise.
    pub fn cmp(&self, o: &Real) -> Option<Ordering> {
        match (self, o) {
            (Real::Q(a), Real::Q(b)) => Some(a.cmp(b)),
            _ => self.to_f64().partial_cmp(&o.to_f64()),
        }
    }
}

impl Value {
    pub fn real(re: Real) -> Value {
        Value { re, im: Real::zero() }
    }

    pub fn rational(x: BigRational) -> Value {
        Value::real(Real::Q(x))
    }

    pub fn is_real(&self) -> bool {
        self.im.is_zero()
    }

    fn real_part(&self) -> R<&Real> {
        if self.is_real() {
            Ok(&self.re)
        } else {
            Err(EvalError::Domain)
        }
    }

    fn neg(&self) -> Value {
        Value {
            re: self.re.neg(),
            im: self.im.neg(),
        }
    }

    fn add(&self, o: &Value) -> R<Value> {
        Ok(Value {
            re: self.re.add(&o.re)?,
            im: self.im.add(&o.im)?,
        })
    }

    fn mul(&self, o: &Value) -> R<Value> {
        if self.is_real() && o.is_real() {
            return Ok(Value::real(self.re.mul(&o.re)?));
        }
        let re = self.re.mul(&o.re)?.sub(&self.im.mul(&o.im)?)?;
        let im = self.re.mul(&o.im)?.add(&self.im.mul(&o.re)?)?;
        Ok(Value { re, im })
    }

    fn div(&self, o: &Value) -> R<Value> {
        if o.is_real() {
            return Ok(Value {
                re: self.re.div(&o.re)?,
                im: self.im.div(&o.re)?,
            });
        }
        let den = o.re.mul(&o.re)?.add(&o.im.mul(&o.im)?)?;
        let re = self.re.mul(&o.re)?.add(&self.im.mul(&o.im)?)?.div(&den)?;
        let im = self.im.mul(&o.re)?.sub(&self.re.mul(&o.im)?)?.div(&den)?;
        Ok(Value { re, im })
    }
}

/// Values of free variables at one probe point.
pub type Env<'a> = &'a [(String, BigRational)];

pub fn eval(e: &Expr, env: Env<'_>) -> R<Value> {
    // Series terms share one budget, so nested sums cannot multiply their term counts.
    let fuel = Cell::new(MAX_SERIES_TERMS);
    eval_depth(e, env, 0, &fuel)
}

fn f64_value(f: f64) -> R<Value> {
    Ok(Value::real(Real::float(f)?))
}

fn eval_depth(e: &Expr, env: Env<'_>, depth: u32, fuel: &Cell<u64>) -> R<Value> {
    // The parser already bounds depth; this guards expressions built by comparison code.
    if depth > 400 {
        return Err(EvalError::TooLarge);
    }
    let ev = |x: &Expr| eval_depth(x, env, depth + 1, fuel);
    match e {
        Expr::Num(l) => Ok(Value::rational(l.value.clone())),
        Expr::Pi => f64_value(std::f64::consts::PI),
        Expr::E => f64_value(std::f64::consts::E),
        Expr::I => Ok(Value {
            re: Real::zero(),
            im: Real::Q(q(1)),
        }),
        Expr::Infinity => Ok(Value::real(Real::Inf(false))),
        Expr::Var(name) => env
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| Value::rational(v.clone()))
            .ok_or(EvalError::NotScalar),
        Expr::Neg(a) => Ok(ev(a)?.neg()),
        Expr::Add(terms) => {
            let mut acc = Value::rational(BigRational::zero());
            for t in terms {
                acc = acc.add(&ev(t)?)?;
            }
            Ok(acc)
        }
        Expr::Mul(factors) => {
            let mut acc = Value::rational(BigRational::one());
            for f in factors {
                acc = acc.mul(&ev(f)?)?;
            }
            Ok(acc)
        }
        Expr::Div(a, b) => ev(a)?.div(&ev(b)?),
        Expr::Pow(a, b) if matches!(**a, Expr::E) => exp(b, &ev),
        Expr::Pow(a, b) => {
            if let Some(v) = special_power(a, b) {
                return v;
            }
            pow(&ev(a)?, &ev(b)?, false)
        }
        Expr::Func(Func::Exp, a) => exp(a, &ev),
        Expr::Func(f, a) => {
            if f.is_trig()
                && let Some(v) = special_angle(*f, a)
            {
                return v;
            }
            let arg = match (&**a, f.is_trig()) {
                // A degree-marked trig argument is in degrees.
                (Expr::Degrees(d), true) => {
                    ev(d)?.mul(&Value::real(Real::F(std::f64::consts::PI / 180.0)))?
                }
                _ => ev(a)?,
            };
            func(*f, &arg)
        }
        Expr::Log(base, x) => log(&ev(base)?, &ev(x)?),
        Expr::Root(n, x) => {
            let n = ev(n)?;
            let Real::Q(nq) = n.real_part()? else {
                return Err(EvalError::Domain);
            };
            root(&ev(x)?, nq)
        }
        Expr::Factorial(a) => {
            let Real::Q(n) = ev(a)?.real_part()?.clone() else {
                return Err(EvalError::Domain);
            };
            factorial(&n).map(Value::rational)
        }
        Expr::Binom(n, k) => {
            let (Real::Q(n), Real::Q(k)) = (ev(n)?.real_part()?.clone(), ev(k)?.real_part()?.clone()) else {
                return Err(EvalError::Domain);
            };
            binomial(&n, &k).map(Value::rational)
        }
        Expr::Percent(a) => ev(a)?.div(&Value::rational(q(100))),
        // The degree mark is dropped (docs/semantics.md, "Units"); trig arguments are handled above.
        Expr::Degrees(a) => ev(a),
        Expr::Series(op, var, parts) => {
            let [lo, hi, body] = &**parts;
            let bound = |x: &Expr| -> R<BigInt> {
                match ev(x)?.real_part()? {
                    Real::Q(v) => int_of(v).ok_or(EvalError::Domain),
                    _ => Err(EvalError::Domain),
                }
            };
            let (lo, hi) = (bound(lo)?, bound(hi)?);
            let mut acc = Value::rational(q(match op {
                BigOp::Sum => 0,
                BigOp::Prod => 1,
            }));
            if hi < lo {
                return Ok(acc);
            }
            let count = (&hi - &lo + 1u32).to_u64().unwrap_or(u64::MAX);
            if count > fuel.get() {
                return Err(EvalError::TooLarge);
            }
            fuel.set(fuel.get() - count);
            let mut inner: Vec<(String, BigRational)> =
                env.iter().filter(|(n, _)| n != var).cloned().collect();
            inner.push((var.clone(), BigRational::zero()));
            let mut k = lo;
            while k <= hi {
                if let Some(last) = inner.last_mut() {
                    last.1 = BigRational::from_integer(k.clone());
                }
                let term = eval_depth(body, &inner, depth + 1, fuel)?;
                acc = match op {
                    BigOp::Sum => acc.add(&term)?,
                    BigOp::Prod => acc.mul(&term)?,
                };
                k += 1u32;
            }
            Ok(acc)
        }
        _ => Err(EvalError::NotScalar),
    }
}

/// `e^z`. A purely imaginary exponent that is a rational multiple of `iπ` is exact where
/// its cosine and sine are (`e^{i\pi}` is −1, `e^{i\pi/3}` is `1/2 + (√3/2) i`); any other
/// complex exponent is evaluated in `f64` as `e^a (\cos b + i \sin b)`.
fn exp(z: &Expr, ev: &dyn Fn(&Expr) -> R<Value>) -> R<Value> {
    if let Some((q, true)) = pi_multiple(z)
        && let (Some(re), Some(im)) = (exact_trig(Func::Cos, &q), exact_trig(Func::Sin, &q))
    {
        return Ok(Value { re: re?, im: im? });
    }
    let v = ev(z)?;
    if v.re.is_zero() && v.im.is_zero() {
        return Ok(Value::rational(q(1)));
    }
    if v.is_real() {
        return pow(&Value::real(Real::F(std::f64::consts::E)), &v, true);
    }
    let (a, b) = (v.re.to_f64(), v.im.to_f64());
    let m = a.exp();
    Ok(Value {
        re: Real::float(m * b.cos())?,
        im: Real::float(m * b.sin())?,
    })
}

/// A trigonometric function at a rational multiple of π (`\frac{\pi}{3}`, `30^\circ`) with
/// a denominator of 1, 2, 3, 4 or 6: exact where the value is rational (`\sin 30^\circ` is
/// exactly 1/2), undefined at the poles (`\tan 90^\circ`), and the surds `√2/2`, `√3/2`
/// computed directly rather than through `f64` trigonometry (docs/semantics.md, "Exact
/// special angles"). `None` for any other argument. The angle is read from the written
/// form alone, never evaluated, so the argument is evaluated once whatever the nesting.
fn special_angle(f: Func, arg: &Expr) -> Option<R<Value>> {
    exact_trig(f, &special_angle_of(arg)?).map(|r| r.map(Value::real))
}

/// The angle `arg` as a rational multiple of π, read from its written form.
fn special_angle_of(arg: &Expr) -> Option<BigRational> {
    match arg {
        Expr::Degrees(d) => Some(rational::div(&written_rational(d)?, &q(180))),
        other => match pi_multiple(other)? {
            (q, false) => Some(q),
            (_, true) => None,
        },
    }
}

/// A rational written with literals only: `3`, `-\frac{5}{6}`, `2 \cdot 3`.
fn written_rational(e: &Expr) -> Option<BigRational> {
    match e {
        Expr::Num(l) => Some(l.value.clone()),
        Expr::Neg(a) => written_rational(a).map(|v| -v),
        Expr::Div(a, b) => {
            let d = written_rational(b)?;
            (!d.is_zero()).then(|| written_rational(a).map(|n| rational::div(&n, &d)))?
        }
        Expr::Mul(factors) if factors.len() <= 8 => {
            let mut acc = q(1);
            for f in factors {
                acc = rational::mul(&acc, &written_rational(f)?);
            }
            Some(acc)
        }
        _ => None,
    }
}

/// `e` as `q·π` (`false`) or `q·iπ` (`true`) with `q` a written rational:
/// `\pi`, `\frac{2\pi}{3}`, `-\pi/6`, `i\pi`, `\frac{i\pi}{3}`, `\pi - \frac{\pi}{6}`.
fn pi_multiple(e: &Expr) -> Option<(BigRational, bool)> {
    match e {
        Expr::Pi => Some((q(1), false)),
        Expr::Neg(a) => pi_multiple(a).map(|(c, i)| (-c, i)),
        Expr::Mul(factors) if factors.len() <= 8 => {
            let (mut coeff, mut pi, mut imag) = (q(1), false, false);
            for f in factors {
                if matches!(f, Expr::I) && !imag {
                    imag = true;
                } else if let Some(c) = written_rational(f) {
                    coeff = rational::mul(&coeff, &c);
                } else {
                    let (c, i) = pi_multiple(f)?;
                    if pi || (i && imag) {
                        return None;
                    }
                    imag |= i;
                    pi = true;
                    coeff = rational::mul(&coeff, &c);
                }
            }
            pi.then_some((coeff, imag))
        }
        Expr::Div(a, b) => {
            let (c, i) = pi_multiple(a)?;
            let d = written_rational(b)?;
            (!d.is_zero()).then(|| (rational::div(&c, &d), i))
        }
        Expr::Add(terms) if terms.len() <= 8 => {
            let mut acc: Option<(BigRational, bool)> = None;
            for t in terms {
                let (c, i) = pi_multiple(t)?;
                acc = match acc {
                    None => Some((c, i)),
                    Some((a, j)) if j == i => Some((rational::add(&a, &c), i)),
                    Some(_) => return None,
                };
            }
            acc
        }
        _ => None,
    }
}

/// `c · √r` with `r` in {1, 2, 3}: the values of the trigonometric functions at the multiples
/// of π/12 that have a closed form here (multiples of π/6 and π/4).
#[derive(Clone)]
struct Surd {
    c: BigRational,
    r: u32,
}

impl Surd {
    fn rational(c: BigRational) -> Surd {
        Surd { c, r: 1 }
    }

    fn real(&self) -> Real {
        if self.r == 1 || self.c.is_zero() {
            Real::Q(self.c.clone())
        } else {
            Real::F(self.c.to_f64().unwrap_or(f64::NAN) * f64::from(self.r).sqrt())
        }
    }

    /// `1 / (c√r) = (1 / (c r)) √r`; `None` for zero.
    fn recip(&self) -> Option<Surd> {
        if self.c.is_zero() {
            return None;
        }
        let scale = rational::mul(&self.c, &q(i64::from(self.r)));
        Some(Surd {
            c: rational::div(&q(1), &scale),
            r: self.r,
        })
    }

    /// `self · other`, when at most one factor is irrational or both share the surd.
    fn times(&self, other: &Surd) -> Option<Surd> {
        let c = rational::mul(&self.c, &other.c);
        match (self.r, other.r) {
            (a, b) if a == b => Some(Surd::rational(rational::mul(&c, &q(i64::from(a))))),
            (1, r) | (r, 1) => Some(Surd { c, r }),
            _ => None,
        }
    }

    /// `self^n` for a small integer `n`: rational for an even `n` (`sin² 45° = 1/2`).
    fn pow(&self, n: i64) -> Option<Surd> {
        let base = if n < 0 { self.recip()? } else { self.clone() };
        let mut acc = Surd::rational(q(1));
        for _ in 0..n.unsigned_abs() {
            acc = acc.times(&base)?;
        }
        Some(acc)
    }
}

/// `sin(kπ/12)` for the `k` (mod 24) with a closed form.
fn sin_twelfths(k: u32) -> Option<Surd> {
    let half = BigRational::new(BigInt::from(1), BigInt::from(2));
    let (c, r) = match k % 12 {
        0 => (q(0), 1),
        2 | 10 => (half, 1),
        3 | 9 => (half, 2),
        4 | 8 => (half, 3),
        6 => (q(1), 1),
        _ => return None,
    };
    Some(Surd {
        c: if k % 24 >= 12 { -c } else { c },
        r,
    })
}

/// `f(qπ)` for a trigonometric `f` when `qπ` is a multiple of π/6 or π/4: `Some(None)` at a
/// pole, `None` for any other angle.
fn trig_surd(f: Func, q: &BigRational) -> Option<Option<Surd>> {
    let twelfths = rational::mul(q, &self::q(12));
    if !twelfths.is_integer() {
        return None;
    }
    let k = twelfths.to_integer().mod_floor(&BigInt::from(24)).to_u32()?;
    let sin = sin_twelfths(k)?;
    let cos = sin_twelfths((k + 6) % 24)?;
    Some(match f {
        Func::Sin => Some(sin),
        Func::Cos => Some(cos),
        Func::Tan => cos.recip().and_then(|c| sin.times(&c)),
        Func::Cot => sin.recip().and_then(|s| cos.times(&s)),
        Func::Sec => cos.recip(),
        Func::Csc => sin.recip(),
        _ => return None,
    })
}

/// `f(qπ)` as a value, `Some(Err(Domain))` at a pole.
fn exact_trig(f: Func, q: &BigRational) -> Option<R<Real>> {
    trig_surd(f, q).map(|v| v.map(|s| s.real()).ok_or(EvalError::Domain))
}

/// `f(x)^n` for a special angle `x` and a written integer `|n| ≤ 8`: exact when rational
/// (`\sin^2 45^\circ` is 1/2, `\tan^2 30^\circ` is 1/3).
fn special_power(base: &Expr, exponent: &Expr) -> Option<R<Value>> {
    let Expr::Func(f, arg) = base else { return None };
    if !f.is_trig() {
        return None;
    }
    let n = written_rational(exponent)?;
    let n = int_of(&n)?.to_i64().filter(|n| n.abs() <= 8)?;
    let angle = special_angle_of(arg)?;
    Some(match trig_surd(*f, &angle)? {
        None => Err(EvalError::Domain),
        Some(s) => match s.pow(n) {
            Some(p) => Ok(Value::real(p.real())),
            None => Err(EvalError::Domain),
        },
    })
}

fn int_of(x: &BigRational) -> Option<BigInt> {
    x.is_integer().then(|| x.to_integer())
}

fn pow(base: &Value, exp: &Value, base_is_e: bool) -> R<Value> {
    if !exp.is_real() {
        return Err(EvalError::Domain);
    }
    if let Real::Q(eq) = &exp.re
        && let Some(n) = int_of(eq)
    {
        return int_pow(base, &n);
    }
    let b = base.real_part()?;
    match (&exp.re, b) {
        (Real::Q(eq), Real::Q(bq)) => {
            // Rational exponent p/q: exact when the root is exact.
            let (p, d) = (eq.numer().clone(), eq.denom().clone());
            if d.bits() <= 8 {
                let r = root(&Value::rational(bq.clone()), &BigRational::from_integer(d))?;
                return int_pow(&r, &p);
            }
            f64_value(
                bq.to_f64()
                    .unwrap_or(f64::NAN)
                    .powf(eq.to_f64().unwrap_or(f64::NAN)),
            )
        }
        (Real::Inf(_), _) | (_, Real::Inf(_)) => Err(EvalError::Domain),
        (e, b) => {
            let bf = b.to_f64();
            if bf < 0.0 {
                return Err(EvalError::Domain);
            }
            let ef = e.to_f64();
            if base_is_e {
                f64_value(ef.exp())
            } else {
                f64_value(bf.powf(ef))
            }
        }
    }
}

/// The largest lower index `k` for which `\binom{n}{k}` is evaluated at a non-integer `n`.
const MAX_BINOMIAL_POLYNOMIAL: u64 = 64;

fn int_pow(base: &Value, n: &BigInt) -> R<Value> {
    if base.is_real() {
        match &base.re {
            Real::Q(b) => {
                if b.is_zero() {
                    return if n.is_negative() {
                        Err(EvalError::Domain)
                    } else if n.is_zero() {
                        Ok(Value::rational(q(1)))
                    } else {
                        Ok(Value::rational(q(0)))
                    };
                }
                if b.abs().is_one() {
                    let odd = n.is_odd();
                    return Ok(Value::rational(if b.is_negative() && odd { q(-1) } else { q(1) }));
                }
                let Some(k) = n.abs().to_u64() else {
                    return Err(EvalError::TooLarge);
                };
                let size = bits(b).saturating_mul(k);
                if size <= MAX_EXACT_BITS {
                    let k32 = k as u32;
                    let r = BigRational::new(
                        num_traits::pow(b.numer().clone(), k32 as usize),
                        num_traits::pow(b.denom().clone(), k32 as usize),
                    );
                    let r = if n.is_negative() { r.recip() } else { r };
                    return Ok(Value::rational(r));
                }
                let f = b
                    .to_f64()
                    .unwrap_or(f64::NAN)
                    .powf(n.to_f64().unwrap_or(f64::NAN));
                return f64_value(f);
            }
            Real::F(f) => return f64_value(f.powf(n.to_f64().unwrap_or(f64::NAN))),
            Real::Inf(neg) => {
                return if n.is_positive() {
                    Ok(Value::real(Real::Inf(*neg && n.is_odd())))
                } else {
                    Err(EvalError::Domain)
                };
            }
        }
    }
    // Complex base: binary exponentiation, small exponents only.
    let Some(k) = n.abs().to_u32().filter(|k| *k <= 256) else {
        return Err(EvalError::TooLarge);
    };
    let mut acc = Value::rational(q(1));
    let mut sq = base.clone();
    let mut k = k;
    while k > 0 {
        if k & 1 == 1 {
            acc = acc.mul(&sq)?;
        }
        sq = sq.mul(&sq)?;
        k >>= 1;
    }
    if n.is_negative() {
        Value::rational(q(1)).div(&acc)
    } else {
        Ok(acc)
    }
}

/// Exact n-th root of a non-negative rational, if it is one.
fn exact_root(x: &BigRational, n: u32) -> Option<BigRational> {
    let rn = x.numer().nth_root(n);
    let rd = x.denom().nth_root(n);
    (num_traits::pow(rn.clone(), n as usize) == *x.numer()
        && num_traits::pow(rd.clone(), n as usize) == *x.denom())
    .then(|| BigRational::new(rn, rd))
}

fn root(x: &Value, n: &BigRational) -> R<Value> {
    let Some(n) = int_of(n).and_then(|n| n.to_u32()).filter(|n| *n >= 1) else {
        return Err(EvalError::Domain);
    };
    let x = x.real_part()?;
    let neg = x.sign() < 0;
    if neg && n % 2 == 0 {
        return Err(EvalError::Domain);
    }
    let sign = if neg { -1.0 } else { 1.0 };
    match x {
        Real::Q(v) => {
            let a = v.abs();
            if n <= 64
                && bits(&a) <= MAX_EXACT_BITS
                && let Some(r) = exact_root(&a, n)
            {
                return Ok(Value::rational(if neg { -r } else { r }));
            }
            let f = a.to_f64().unwrap_or(f64::NAN);
            if f.is_finite() {
                f64_value(sign * f.powf(1.0 / n as f64))
            } else {
                // ln-based for huge magnitudes.
                let l = (a.numer().bits() as f64 - a.denom().bits() as f64) * std::f64::consts::LN_2;
                f64_value(sign * (l / n as f64).exp())
            }
        }
        Real::F(f) => f64_value(sign * f.abs().powf(1.0 / n as f64)),
        Real::Inf(_) => Ok(Value::real(x.clone())),
    }
}

fn func(f: Func, a: &Value) -> R<Value> {
    if f == Func::Abs {
        if a.is_real() {
            return Ok(Value::real(if a.re.sign() < 0 {
                a.re.neg()
            } else {
                a.re.clone()
            }));
        }
        let m = a.re.mul(&a.re)?.add(&a.im.mul(&a.im)?)?;
        return root(&Value::real(m), &q(2));
    }
    if f == Func::Sqrt {
        return root(a, &q(2));
    }
    let x = a.real_part()?;
    if let Real::Inf(_) = x {
        return Err(EvalError::Domain);
    }
    // Exact special values that commonly end up compared with exact answers.
    if x.is_zero() {
        match f {
            Func::Sin | Func::Tan | Func::Asin | Func::Atan | Func::Sinh | Func::Tanh => {
                return Ok(Value::rational(q(0)));
            }
            Func::Cos | Func::Sec | Func::Cosh | Func::Exp => return Ok(Value::rational(q(1))),
            _ => {}
        }
    }
    if let Real::Q(v) = x {
        match f {
            Func::Floor => return Ok(Value::rational(BigRational::from_integer(v.floor().to_integer()))),
            Func::Ceil => return Ok(Value::rational(BigRational::from_integer(v.ceil().to_integer()))),
            Func::Ln if v.is_one() => return Ok(Value::rational(q(0))),
            _ => {}
        }
    }
    let v = x.to_f64();
    let r = match f {
        Func::Sin => v.sin(),
        Func::Cos => v.cos(),
        Func::Tan => v.tan(),
        Func::Sec => 1.0 / v.cos(),
        Func::Csc => 1.0 / v.sin(),
        Func::Cot => 1.0 / v.tan(),
        Func::Asin if v.abs() <= 1.0 => v.asin(),
        Func::Acos if v.abs() <= 1.0 => v.acos(),
        Func::Asin | Func::Acos => return Err(EvalError::Domain),
        Func::Atan => v.atan(),
        Func::Sinh => v.sinh(),
        Func::Cosh => v.cosh(),
        Func::Tanh => v.tanh(),
        Func::Ln if v > 0.0 => v.ln(),
        Func::Ln => return Err(EvalError::Domain),
        Func::Exp => v.exp(),
        Func::Floor => {
            let r = v.floor();
            return BigRational::from_f64(r)
                .map(Value::rational)
                .ok_or(EvalError::TooLarge);
        }
        Func::Ceil => {
            let r = v.ceil();
            return BigRational::from_f64(r)
                .map(Value::rational)
                .ok_or(EvalError::TooLarge);
        }
        Func::Abs | Func::Sqrt => unreachable!("handled above"),
    };
    f64_value(r)
}

/// `log_b(x)`: exact when `x` is an integer power of a rational base.
fn log(base: &Value, x: &Value) -> R<Value> {
    let (b, x) = (base.real_part()?, x.real_part()?);
    if b.sign() <= 0 || x.sign() <= 0 {
        return Err(EvalError::Domain);
    }
    if let (Real::Q(bq), Real::Q(xq)) = (b, x) {
        if bq.is_one() {
            return Err(EvalError::Domain);
        }
        if xq.is_one() {
            return Ok(Value::rational(q(0)));
        }
        // Try x = b^k for |k| up to the bit size of x.
        let (target, invert) = if (bq > &q(1)) == (xq > &q(1)) {
            (xq.clone(), false)
        } else {
            (xq.recip(), true)
        };
        // The only candidate exponents are next to the real logarithm, so a few exact powers
        // decide it (raising step by step cost a quadratic gcd per step: a fuzz-found hang).
        let limit = bits(&target).min(4096);
        let estimate = (ln_real(&Real::Q(target.clone())) / ln_real(&Real::Q(bq.clone()))).round();
        if estimate.is_finite() && estimate >= 1.0 && estimate <= limit as f64 + 1.0 {
            let around = estimate as u64;
            for k in around.saturating_sub(1).max(1)..=around + 1 {
                if k > limit || bits(bq).saturating_mul(k) > 2 * bits(&target) + 64 {
                    continue;
                }
                // Powers of a reduced fraction stay reduced.
                let power = BigRational::new_raw(
                    num_traits::pow(bq.numer().clone(), k as usize),
                    num_traits::pow(bq.denom().clone(), k as usize),
                );
                if power == target {
                    let k = k as i64;
                    return Ok(Value::rational(q(if invert { -k } else { k })));
                }
            }
        }
    }
    let r = ln_real(x) / ln_real(b);
    if r.is_finite() {
        f64_value(r)
    } else {
        Err(EvalError::Domain)
    }
}

/// Natural log that also works for rationals outside the `f64` range.
fn ln_real(x: &Real) -> f64 {
    match x {
        Real::Q(v) => {
            let f = v.to_f64().unwrap_or(f64::NAN);
            if f.is_finite() && f > 0.0 {
                f.ln()
            } else {
                let shift = v.numer().bits() as i64 - v.denom().bits() as i64;
                let scaled = v / BigRational::from_integer(BigInt::one() << shift.max(0) as usize)
                    * BigRational::from_integer(BigInt::one() << (-shift).max(0) as usize);
                scaled.to_f64().unwrap_or(f64::NAN).ln() + shift as f64 * std::f64::consts::LN_2
            }
        }
        other => other.to_f64().ln(),
    }
}

fn factorial(n: &BigRational) -> R<BigRational> {
    let Some(n) = int_of(n) else {
        return Err(EvalError::Domain);
    };
    if n.is_negative() {
        return Err(EvalError::Domain);
    }
    let Some(k) = n.to_u64().filter(|k| *k <= MAX_FACTORIAL) else {
        return Err(EvalError::TooLarge);
    };
    let mut acc = BigInt::one();
    for i in 2..=k {
        acc *= i;
    }
    Ok(BigRational::from_integer(acc))
}

fn binomial(n: &BigRational, k: &BigRational) -> R<BigRational> {
    let Some(k) = int_of(k) else {
        return Err(EvalError::Domain);
    };
    let Some(n) = int_of(n) else {
        // `\binom{n}{2}` at a non-integer `n` is the polynomial `n(n-1)/2`, so that it equals
        // `\frac{n(n-1)}{2}` as a function (docs/semantics.md, "Binomials").
        let Some(k) = k.to_u64().filter(|k| *k <= MAX_BINOMIAL_POLYNOMIAL) else {
            return Err(EvalError::Domain);
        };
        let mut acc = q(1);
        for i in 0..k {
            let factor = n - BigRational::from_integer(BigInt::from(i));
            acc = rational::div(&rational::mul(&acc, &factor), &q(i as i64 + 1));
        }
        return Ok(acc);
    };
    if k.is_negative() || n.is_negative() || k > n {
        return Ok(q(0));
    }
    let k = (&n - &k).min(k);
    let Some(k) = k.to_u64().filter(|k| *k <= MAX_FACTORIAL) else {
        return Err(EvalError::TooLarge);
    };
    let mut acc = BigInt::one();
    for i in 0..k {
        acc = acc * (&n - BigInt::from(i)) / BigInt::from(i + 1);
    }
    Ok(BigRational::from_integer(acc))
}
