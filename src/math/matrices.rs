//! Matrix arithmetic written out in an answer: sums, differences, scalar multiples and
//! products of explicit matrices (`A + B`, `2A`, `AB`, `-A`, `A/2`) become one matrix
//! before comparison, so `\begin{pmatrix}1&2\\3&4\end{pmatrix} + \begin{pmatrix}5&6\\7&8\end{pmatrix}`
//! equals `\begin{pmatrix}6&8\\10&12\end{pmatrix}`.
//!
//! Entries are built as expressions and folded to exact rationals when they are constant,
//! so nothing goes through `f64`; symbolic entries (`a + 1`) stay expressions and are
//! compared by the usual scalar rules. Only small matrices are multiplied.

use super::ast::{Expr, Literal};
use super::eval::{Real, eval};

/// Largest dimension folded (a product costs n³ entry operations).
const MAX_DIM: usize = 16;

type Rows = Vec<Vec<Expr>>;

/// The single matrix an arithmetic expression of matrices denotes, or `None` when `e` is
/// not such an expression (a lone matrix is returned unchanged by the caller).
pub fn fold(e: &Expr) -> Option<Expr> {
    if !matches!(e, Expr::Add(_) | Expr::Mul(_) | Expr::Neg(_) | Expr::Div(..)) {
        return None;
    }
    match matrix(e, 0) {
        Some(Operand::Matrix(rows)) => Some(Expr::Matrix(
            rows.into_iter()
                .map(|r| r.into_iter().map(exact).collect())
                .collect(),
        )),
        _ => None,
    }
}

enum Operand {
    Scalar(Expr),
    Matrix(Rows),
}

fn dims(rows: &Rows) -> (usize, usize) {
    (rows.len(), rows.first().map_or(0, Vec::len))
}

fn map(rows: Rows, f: impl Fn(Expr) -> Expr) -> Rows {
    rows.into_iter()
        .map(|r| r.into_iter().map(&f).collect())
        .collect()
}

/// `None` when the expression mixes matrices and scalars in a way that has no meaning
/// (`A + 1`), has mismatched dimensions, or is too large.
fn matrix(e: &Expr, depth: u32) -> Option<Operand> {
    if depth > 32 {
        return None;
    }
    let rec = |x: &Expr| matrix(x, depth + 1);
    Some(match e {
        Expr::Matrix(rows) => {
            let (r, c) = dims(rows);
            if r > MAX_DIM || c > MAX_DIM {
                return None;
            }
            Operand::Matrix(rows.clone())
        }
        Expr::Neg(a) => match rec(a)? {
            Operand::Matrix(m) => Operand::Matrix(map(m, |x| Expr::Neg(Box::new(x)))),
            Operand::Scalar(_) => Operand::Scalar(e.clone()),
        },
        Expr::Add(terms) => {
            let ops: Vec<Operand> = terms.iter().map(rec).collect::<Option<_>>()?;
            if ops.iter().all(|o| matches!(o, Operand::Scalar(_))) {
                return Some(Operand::Scalar(e.clone()));
            }
            let mut acc: Option<Rows> = None;
            for op in ops {
                let Operand::Matrix(m) = op else { return None };
                acc = Some(match acc {
                    None => m,
                    Some(a) => {
                        if dims(&a) != dims(&m) {
                            return None;
                        }
                        a.into_iter()
                            .zip(m)
                            .map(|(r, s)| r.into_iter().zip(s).map(|(x, y)| Expr::Add(vec![x, y])).collect())
                            .collect()
                    }
                });
            }
            Operand::Matrix(acc?)
        }
        Expr::Mul(factors) => {
            let ops: Vec<Operand> = factors.iter().map(rec).collect::<Option<_>>()?;
            if ops.iter().all(|o| matches!(o, Operand::Scalar(_))) {
                return Some(Operand::Scalar(e.clone()));
            }
            let mut acc: Option<Operand> = None;
            for op in ops {
                acc = Some(match (acc, op) {
                    (None, op) => op,
                    (Some(Operand::Scalar(s)), Operand::Scalar(t)) => Operand::Scalar(Expr::Mul(vec![s, t])),
                    (Some(Operand::Scalar(s)), Operand::Matrix(m))
                    | (Some(Operand::Matrix(m)), Operand::Scalar(s)) => {
                        Operand::Matrix(map(m, |x| Expr::Mul(vec![s.clone(), x])))
                    }
                    (Some(Operand::Matrix(a)), Operand::Matrix(b)) => Operand::Matrix(product(&a, &b)?),
                });
            }
            acc?
        }
        Expr::Div(a, b) => match (rec(a)?, rec(b)?) {
            (Operand::Matrix(m), Operand::Scalar(s)) => {
                Operand::Matrix(map(m, |x| Expr::Div(Box::new(x), Box::new(s.clone()))))
            }
            (Operand::Scalar(_), Operand::Scalar(_)) => Operand::Scalar(e.clone()),
            _ => return None,
        },
        _ => Operand::Scalar(e.clone()),
    })
}

fn product(a: &Rows, b: &Rows) -> Option<Rows> {
    let ((n, k), (k2, m)) = (dims(a), dims(b));
    if k != k2 {
        return None;
    }
    Some(
        (0..n)
            .map(|i| {
                (0..m)
                    .map(|j| {
                        Expr::Add(
                            (0..k)
                                .map(|t| Expr::Mul(vec![a[i][t].clone(), b[t][j].clone()]))
                                .collect(),
                        )
                    })
                    .collect()
            })
            .collect(),
    )
}

/// A constant entry becomes its exact rational value; anything else stays as built.
fn exact(e: Expr) -> Expr {
    match eval(&e, &[]) {
        Ok(v) if v.is_real() => match v.re {
            Real::Q(value) => Expr::Num(Literal {
                value,
                decimals: None,
                significant: 1,
            }),
            _ => e,
        },
        _ => e,
    }
}
