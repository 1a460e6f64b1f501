//! The parsed form of an answer and its canonical rendering.
//!
//! The parser produces [`Expr`]; comparison never looks at the source text again, so
//! everything the rules need (which literal was a decimal, which brackets enclosed a
//! tuple) is kept here. `Display` renders the auditor-facing canonical form.

use std::fmt;

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Signed};

/// A numeric literal as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Literal {
    pub value: BigRational,
    /// `Some(k)` when written as a decimal with `k` digits after the point; the
    /// decimal-rounding rule only applies to such literals.
    pub decimals: Option<u32>,
    /// Significant digits as written (leading zeros excluded).
    pub significant: u32,
}

/// Bracket characters of a tuple or interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bracket {
    Paren,
    Square,
    Angle,
}

/// Functions of one argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Sin,
    Cos,
    Tan,
    Sec,
    Csc,
    Cot,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Tanh,
    Ln,
    Exp,
    Abs,
    Floor,
    Ceil,
    Sqrt,
}

impl Func {
    pub fn name(self) -> &'static str {
        match self {
            Func::Sin => "sin",
            Func::Cos => "cos",
            Func::Tan => "tan",
            Func::Sec => "sec",
            Func::Csc => "csc",
            Func::Cot => "cot",
            Func::Asin => "asin",
            Func::Acos => "acos",
            Func::Atan => "atan",
            Func::Sinh => "sinh",
            Func::Cosh => "cosh",
            Func::Tanh => "tanh",
            Func::Ln => "ln",
            Func::Exp => "exp",
            Func::Abs => "abs",
            Func::Floor => "floor",
            Func::Ceil => "ceil",
            Func::Sqrt => "sqrt",
        }
    }

    /// Trigonometric functions take degree-marked arguments in degrees.
    pub fn is_trig(self) -> bool {
        matches!(
            self,
            Func::Sin | Func::Cos | Func::Tan | Func::Sec | Func::Csc | Func::Cot
        )
    }
}

/// Relation operators of equations and inequalities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelOp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
    Ne,
    In,
}

impl RelOp {
    pub fn symbol(self) -> &'static str {
        match self {
            RelOp::Eq => "=",
            RelOp::Lt => "<",
            RelOp::Le => "<=",
            RelOp::Gt => ">",
            RelOp::Ge => ">=",
            RelOp::Ne => "!=",
            RelOp::In => "in",
        }
    }

    /// The operator seen from the other side (`a < b` is `b > a`).
    pub fn flipped(self) -> RelOp {
        match self {
            RelOp::Lt => RelOp::Gt,
            RelOp::Le => RelOp::Ge,
            RelOp::Gt => RelOp::Lt,
            RelOp::Ge => RelOp::Le,
            other => other,
        }
    }
}

/// A parsed answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Num(Literal),
    Pi,
    /// Euler's number; a bare `e` is read as the constant, as in every dataset we use.
    E,
    I,
    Infinity,
    Var(String),
    Neg(Box<Expr>),
    Add(Vec<Expr>),
    Mul(Vec<Expr>),
    Div(Box<Expr>, Box<Expr>),
    Pow(Box<Expr>, Box<Expr>),
    Func(Func, Box<Expr>),
    /// `log_base(arg)`; no base means the natural logarithm is *not* assumed: `\log` is base 10.
    Log(Box<Expr>, Box<Expr>),
    /// `root(index, radicand)`
    Root(Box<Expr>, Box<Expr>),
    Factorial(Box<Expr>),
    Binom(Box<Expr>, Box<Expr>),
    Percent(Box<Expr>),
    Degrees(Box<Expr>),
    /// `a ± b`; a leading `±b` has `a` = 0. `minus_first` marks `∓`.
    PlusMinus(Box<Expr>, Box<Expr>),
    Tuple(Bracket, Bracket, Vec<Expr>),
    /// `\{…\}`
    Set(Vec<Expr>),
    /// A bare comma/`and`/`or` list of answers.
    List(Vec<Expr>),
    Union(Vec<Expr>),
    Intersection(Vec<Expr>),
    Matrix(Vec<Vec<Expr>>),
    /// A chain `a op b op c …`.
    Rel(Vec<Expr>, Vec<RelOp>),
    /// `a : b : …`
    Ratio(Vec<Expr>),
    Reals,
    /// Words that are the whole answer (`\text{Evelyn}`), lower-cased, single-spaced.
    Text(String),
    /// A negated or hedged answer (`\text{not } 12`): never equal to anything but itself.
    Not(Box<Expr>),
}

impl Expr {
    pub fn int(n: i64) -> Expr {
        Expr::Num(Literal {
            value: BigRational::from_integer(BigInt::from(n)),
            decimals: None,
            significant: 1,
        })
    }

    /// True when the expression contains no free variable (a constant answer).
    pub fn is_constant(&self) -> bool {
        let mut vars = Vec::new();
        self.collect_vars(&mut vars);
        vars.is_empty()
    }

    /// Free variable names, in first-seen order, without duplicates.
    pub fn collect_vars(&self, out: &mut Vec<String>) {
        match self {
            Expr::Var(name) => {
                if !out.iter().any(|v| v == name) {
                    out.push(name.clone());
                }
            }
            other => other.for_each_child(|c| c.collect_vars(out)),
        }
    }

    fn for_each_child(&self, mut f: impl FnMut(&Expr)) {
        match self {
            Expr::Num(_)
            | Expr::Pi
            | Expr::E
            | Expr::I
            | Expr::Infinity
            | Expr::Var(_)
            | Expr::Reals
            | Expr::Text(_) => {}
            Expr::Neg(a)
            | Expr::Func(_, a)
            | Expr::Factorial(a)
            | Expr::Percent(a)
            | Expr::Degrees(a)
            | Expr::Not(a) => f(a),
            Expr::Div(a, b)
            | Expr::Pow(a, b)
            | Expr::Log(a, b)
            | Expr::Root(a, b)
            | Expr::Binom(a, b)
            | Expr::PlusMinus(a, b) => {
                f(a);
                f(b);
            }
            Expr::Add(v)
            | Expr::Mul(v)
            | Expr::Tuple(_, _, v)
            | Expr::Set(v)
            | Expr::List(v)
            | Expr::Union(v)
            | Expr::Intersection(v)
            | Expr::Rel(v, _)
            | Expr::Ratio(v) => v.iter().for_each(f),
            Expr::Matrix(rows) => rows.iter().flatten().for_each(f),
        }
    }
}

fn fmt_rational(q: &BigRational, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if q.denom().is_one() {
        write!(f, "{}", q.numer())
    } else {
        write!(f, "{}/{}", q.numer(), q.denom())
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
        _ => fmt_rational(&lit.value, f),
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
            Expr::Neg(a) => write!(f, "-({a})"),
            Expr::Add(v) => {
                f.write_str("(")?;
                fmt_list(v, " + ", f)?;
                f.write_str(")")
            }
            Expr::Mul(v) => fmt_list(v, "*", f),
            Expr::Div(a, b) => write!(f, "({a})/({b})"),
            Expr::Pow(a, b) => write!(f, "({a})^({b})"),
            Expr::Func(func, a) => write!(f, "{}({a})", func.name()),
            Expr::Log(b, a) => write!(f, "log({a}, {b})"),
            Expr::Root(n, a) => write!(f, "root({a}, {n})"),
            Expr::Factorial(a) => write!(f, "({a})!"),
            Expr::Binom(a, b) => write!(f, "binomial({a}, {b})"),
            Expr::Percent(a) => write!(f, "{a}%"),
            Expr::Degrees(a) => write!(f, "{a}°"),
            Expr::PlusMinus(a, b) => write!(f, "{a} ± {b}"),
            Expr::Tuple(open, close, v) => {
                f.write_str(match open {
                    Bracket::Paren => "(",
                    Bracket::Square => "[",
                    Bracket::Angle => "<",
                })?;
                fmt_list(v, ", ", f)?;
                f.write_str(match close {
                    Bracket::Paren => ")",
                    Bracket::Square => "]",
                    Bracket::Angle => ">",
                })
            }
            Expr::Set(v) => {
                f.write_str("{")?;
                fmt_list(v, ", ", f)?;
                f.write_str("}")
            }
            Expr::List(v) => fmt_list(v, ", ", f),
            Expr::Union(v) => fmt_list(v, " U ", f),
            Expr::Intersection(v) => fmt_list(v, " n ", f),
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
        }
    }
}
