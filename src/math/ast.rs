//! The parsed form of an answer.
//!
//! The parser produces [`Expr`]; comparison never looks at the source text again, so
//! everything the rules need (which literal was a decimal, which brackets enclosed a
//! tuple) is kept here. The auditor-facing rendering lives in `render.rs`.

use num_bigint::BigInt;
use num_rational::BigRational;

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

/// Big operators over a bound index: `\sum_{k=a}^{b}` and `\prod_{k=a}^{b}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BigOp {
    Sum,
    Prod,
}

impl BigOp {
    pub fn name(self) -> &'static str {
        match self {
            BigOp::Sum => "sum",
            BigOp::Prod => "product",
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
    /// `A \setminus B`: the members of `A` not in `B`.
    Difference(Box<Expr>, Box<Expr>),
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
    /// `\sum_{var=lo}^{hi} body` (or `\prod`); `var` is bound in `body` only.
    Series(BigOp, String, Box<[Expr; 3]>),
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
            Expr::Series(_, var, parts) => {
                let [lo, hi, body] = &**parts;
                lo.collect_vars(out);
                hi.collect_vars(out);
                let mut inner = Vec::new();
                body.collect_vars(&mut inner);
                for v in inner {
                    if v != *var && !out.contains(&v) {
                        out.push(v);
                    }
                }
            }
            other => other.for_each_child(|c| c.collect_vars(out)),
        }
    }

    /// Calls `f` on each direct child.
    pub fn for_each_child(&self, mut f: impl FnMut(&Expr)) {
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
            | Expr::PlusMinus(a, b)
            | Expr::Difference(a, b) => {
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
            Expr::Series(_, _, parts) => parts.iter().for_each(f),
        }
    }

    /// The same node with `f` applied to each direct child.
    pub fn map_children(&self, mut f: impl FnMut(&Expr) -> Expr) -> Expr {
        match self {
            Expr::Num(_)
            | Expr::Pi
            | Expr::E
            | Expr::I
            | Expr::Infinity
            | Expr::Var(_)
            | Expr::Reals
            | Expr::Text(_) => self.clone(),
            Expr::Neg(a) => Expr::Neg(Box::new(f(a))),
            Expr::Func(func, a) => Expr::Func(*func, Box::new(f(a))),
            Expr::Factorial(a) => Expr::Factorial(Box::new(f(a))),
            Expr::Percent(a) => Expr::Percent(Box::new(f(a))),
            Expr::Degrees(a) => Expr::Degrees(Box::new(f(a))),
            Expr::Not(a) => Expr::Not(Box::new(f(a))),
            Expr::Div(x, y) => Expr::Div(Box::new(f(x)), Box::new(f(y))),
            Expr::Pow(x, y) => Expr::Pow(Box::new(f(x)), Box::new(f(y))),
            Expr::Log(x, y) => Expr::Log(Box::new(f(x)), Box::new(f(y))),
            Expr::Root(x, y) => Expr::Root(Box::new(f(x)), Box::new(f(y))),
            Expr::Binom(x, y) => Expr::Binom(Box::new(f(x)), Box::new(f(y))),
            Expr::PlusMinus(x, y) => Expr::PlusMinus(Box::new(f(x)), Box::new(f(y))),
            Expr::Difference(x, y) => Expr::Difference(Box::new(f(x)), Box::new(f(y))),
            Expr::Add(v) => Expr::Add(v.iter().map(&mut f).collect()),
            Expr::Mul(v) => Expr::Mul(v.iter().map(&mut f).collect()),
            Expr::Tuple(o, c, v) => Expr::Tuple(*o, *c, v.iter().map(&mut f).collect()),
            Expr::Set(v) => Expr::Set(v.iter().map(&mut f).collect()),
            Expr::List(v) => Expr::List(v.iter().map(&mut f).collect()),
            Expr::Union(v) => Expr::Union(v.iter().map(&mut f).collect()),
            Expr::Intersection(v) => Expr::Intersection(v.iter().map(&mut f).collect()),
            Expr::Rel(v, ops) => Expr::Rel(v.iter().map(&mut f).collect(), ops.clone()),
            Expr::Ratio(v) => Expr::Ratio(v.iter().map(&mut f).collect()),
            Expr::Matrix(rows) => Expr::Matrix(rows.iter().map(|r| r.iter().map(&mut f).collect()).collect()),
            Expr::Series(op, var, parts) => {
                let [lo, hi, body] = &**parts;
                Expr::Series(*op, var.clone(), Box::new([f(lo), f(hi), f(body)]))
            }
        }
    }
}
