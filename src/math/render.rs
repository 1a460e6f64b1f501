//! The auditor-facing canonical rendering of a parsed answer.
//!
//! `Display` for [`Expr`] prints with operator precedence, so only the parentheses that
//! change the meaning appear (`2*sqrt(3)/3`, `x^2 + 1`, `-(a + b)`). [`render`] first
//! folds every exact constant sub-expression into one reduced rational (`\frac{2}{4}` is
//! shown as `1/2`, `\frac{10}{2}` as `5`), which is what `Equivalence.gold`/`.predicted`
//! show. Decimal literals keep their written form (`2.50`): the rounding rule depends on it.
//!
//! The plain `Display` (no folding) doubles as a structural key in comparison, so it must
//! stay unambiguous: two trees that print alike must mean the same value.

use std::fmt;

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Signed, Zero};

use super::ast::{Bracket, Expr, Literal};
use super::eval::{Real, eval};

/// Folded results larger than this (numerator plus denominator bits) keep their written
/// form: `2^{1000}` reads better than its 302 digits.
const MAX_FOLDED_BITS: u64 = 256;

/// The canonical form shown to auditors: exact constants folded, minimal parentheses.
pub fn render(e: &Expr) -> String {
    fold(e).to_string()
}

/// Bottom-up folding of exact rational arithmetic: each node is evaluated only when all its
/// children already are literals, so the cost is linear in the size of the tree.
fn fold(e: &Expr) -> Expr {
    let folded = e.map_children(fold);
    // A negated decimal stays a decimal (`-1.5`, not `-3/2`); other arithmetic on
    // decimals is left as written.
    if let Expr::Neg(a) = &folded
        && let Expr::Num(
            lit @ Literal {
                decimals: Some(_), ..
            },
        ) = &**a
    {
        return Expr::Num(Literal {
            value: -lit.value.clone(),
            ..lit.clone()
        });
    }
    let literal = |x: &Expr| matches!(x, Expr::Num(Literal { decimals: None, .. }));
    let arithmetic = match &folded {
        Expr::Neg(a) => literal(a),
        Expr::Add(v) | Expr::Mul(v) => v.iter().all(literal),
        Expr::Div(a, b) | Expr::Pow(a, b) => literal(a) && literal(b),
        _ => false,
    };
    if !arithmetic {
        return folded;
    }
    match eval(&folded, &[]) {
        Ok(v) if v.is_real() => match v.re {
            Real::Q(x) if x.numer().bits() + x.denom().bits() <= MAX_FOLDED_BITS => Expr::Num(Literal {
                value: x,
                decimals: None,
                significant: 1,
            }),
            _ => folded,
        },
        _ => folded,
    }
}

/// A structural key that ignores the order of terms and factors (`F_k F_j` and `F_j F_k`
/// share it): the last resort when two expressions cannot be evaluated.
pub fn commutative_key(e: &Expr) -> String {
    sorted(e).to_string()
}

fn sorted(e: &Expr) -> Expr {
    let mut e = e.map_children(sorted);
    if let Expr::Add(v) | Expr::Mul(v) = &mut e {
        v.sort_by_cached_key(|x| x.to_string());
    }
    e
}

/// Binding strength, loosest first: sums, products and quotients, unary minus, powers,
/// atoms. A child printed where a tighter binding is needed gets parentheses.
const SUM: u8 = 1;
const PRODUCT: u8 = 2;
const UNARY: u8 = 3;
const POWER: u8 = 4;
const ATOM: u8 = 5;

fn precedence(e: &Expr) -> u8 {
    match e {
        Expr::Add(_) | Expr::PlusMinus(..) => SUM,
        Expr::Mul(_) | Expr::Div(..) => PRODUCT,
        Expr::Neg(_) => UNARY,
        Expr::Pow(..) => POWER,
        Expr::Num(lit) => {
            if lit.value.is_negative() {
                UNARY
            } else if lit.decimals.is_none() && !lit.value.denom().is_one() {
                PRODUCT
            } else {
                ATOM
            }
        }
        // Loose-binding compounds: wrap them wherever an operand is expected.
        Expr::Rel(..)
        | Expr::List(_)
        | Expr::Union(_)
        | Expr::Intersection(_)
        | Expr::Difference(..)
        | Expr::Ratio(_)
        | Expr::Not(_)
        | Expr::Series(..) => 0,
        _ => ATOM,
    }
}

/// `e` printed as an operand that needs at least binding strength `min`.
struct Operand<'a>(&'a Expr, u8);

impl fmt::Display for Operand<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if precedence(self.0) < self.1 {
            write!(f, "({})", self.0)
        } else {
            write!(f, "{}", self.0)
        }
    }
}

fn fmt_list(items: &[Expr], sep: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

fn fmt_literal(lit: &Literal, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match lit.decimals {
        Some(k) if k > 0 && k < 64 => {
            // Render the decimal as written (after separators were removed).
            let scale = BigInt::from(10u32).pow(k);
            let scaled = (&lit.value * BigRational::from_integer(scale)).to_integer();
            let neg = scaled.is_negative();
            let digits = scaled.abs().to_string();
            let k = k as usize;
            let padded = if digits.len() <= k {
                format!("{}{}", "0".repeat(k + 1 - digits.len()), digits)
            } else {
                digits
            };
            let (int, frac) = padded.split_at(padded.len() - k);
            write!(f, "{}{int}.{frac}", if neg { "-" } else { "" })
        }
        _ if lit.value.denom().is_one() => write!(f, "{}", lit.value.numer()),
        _ => write!(f, "{}/{}", lit.value.numer(), lit.value.denom()),
    }
}

fn bracket(b: Bracket, open: bool) -> &'static str {
    match (b, open) {
        (Bracket::Paren, true) => "(",
        (Bracket::Paren, false) => ")",
        (Bracket::Square, true) => "[",
        (Bracket::Square, false) => "]",
        (Bracket::Angle, true) => "<",
        (Bracket::Angle, false) => ">",
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Num(lit) => fmt_literal(lit, f),
            Expr::Pi => f.write_str("pi"),
            Expr::E => f.write_str("E"),
            Expr::I => f.write_str("I"),
            Expr::Infinity => f.write_str("oo"),
            Expr::Var(v) => f.write_str(v),
            // `-(-x)` and `-(-3)` keep their parentheses; `-2*x` and `-1/2` need none.
            Expr::Neg(a) => write!(
                f,
                "-{}",
                Operand(a, if precedence(a) == UNARY { ATOM } else { PRODUCT })
            ),
            Expr::Add(terms) => {
                for (i, t) in terms.iter().enumerate() {
                    match t {
                        Expr::Neg(a) if i > 0 => write!(f, " - {}", Operand(a, PRODUCT))?,
                        Expr::Num(l) if i > 0 && l.value.is_negative() => {
                            let abs = Expr::Num(Literal {
                                value: -l.value.clone(),
                                ..l.clone()
                            });
                            write!(f, " - {}", Operand(&abs, PRODUCT))?
                        }
                        _ if i > 0 => write!(f, " + {}", Operand(t, PRODUCT))?,
                        _ => write!(f, "{}", Operand(t, SUM))?,
                    }
                }
                Ok(())
            }
            Expr::Mul(factors) => {
                for (i, x) in factors.iter().enumerate() {
                    if i > 0 {
                        f.write_str("*")?;
                    }
                    // A quotient as a later factor is wrapped: `a*(b/c)` is not `(a*b)/c`
                    // as a tree, and the key must tell the two apart.
                    let min = if i == 0 { UNARY } else { POWER };
                    write!(f, "{}", Operand(x, min))?;
                }
                Ok(())
            }
            Expr::Div(a, b) => write!(f, "{}/{}", Operand(a, PRODUCT), Operand(b, POWER)),
            Expr::Pow(a, b) => write!(f, "{}^{}", Operand(a, ATOM), Operand(b, POWER)),
            Expr::Func(func, a) => write!(f, "{}({a})", func.name()),
            Expr::Log(b, a) => write!(f, "log({a}, {b})"),
            Expr::Root(n, a) => write!(f, "root({a}, {n})"),
            Expr::Factorial(a) => write!(f, "{}!", Operand(a, ATOM)),
            Expr::Binom(a, b) => write!(f, "binomial({a}, {b})"),
            Expr::Percent(a) => write!(f, "{}%", Operand(a, ATOM)),
            Expr::Degrees(a) => write!(f, "{}°", Operand(a, ATOM)),
            Expr::PlusMinus(a, b) => {
                if matches!(&**a, Expr::Num(l) if l.value.is_zero()) {
                    write!(f, "±{}", Operand(b, PRODUCT))
                } else {
                    write!(f, "{} ± {}", Operand(a, SUM), Operand(b, PRODUCT))
                }
            }
            Expr::Tuple(open, close, v) => {
                f.write_str(bracket(*open, true))?;
                fmt_list(v, ", ", f)?;
                f.write_str(bracket(*close, false))
            }
            Expr::Set(v) => {
                f.write_str("{")?;
                fmt_list(v, ", ", f)?;
                f.write_str("}")
            }
            Expr::List(v) => fmt_list(v, ", ", f),
            Expr::Union(v) => fmt_list(v, " U ", f),
            Expr::Intersection(v) => fmt_list(v, " n ", f),
            Expr::Difference(a, b) => write!(f, "{} \\ {}", Operand(a, SUM), Operand(b, SUM)),
            Expr::Matrix(rows) => {
                f.write_str("Matrix([")?;
                for (i, row) in rows.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str("[")?;
                    fmt_list(row, ", ", f)?;
                    f.write_str("]")?;
                }
                f.write_str("])")
            }
            Expr::Rel(items, ops) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, " {} ", ops[i - 1].symbol())?;
                    }
                    write!(f, "{item}")?;
                }
                Ok(())
            }
            Expr::Ratio(v) => fmt_list(v, ":", f),
            Expr::Reals => f.write_str("(-oo, oo)"),
            Expr::Text(t) => write!(f, "\"{t}\""),
            Expr::Not(a) => write!(f, "not {a}"),
            Expr::Series(op, var, parts) => {
                let [lo, hi, body] = &**parts;
                write!(f, "{}({body}, ({var}, {lo}, {hi}))", op.name())
            }
        }
    }
}
