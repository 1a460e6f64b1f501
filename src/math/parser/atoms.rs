//! Parsing of atoms: numbers (base subscripts `204_5`, mixed numbers `2\frac12`),
//! variables and their subscripts, constants, bracketed groups, tuples, intervals and sets,
//! absolute values, floors, fractions, roots, logarithms and function applications.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};

use super::{NO_VALUE, Parser, err, list_or_single};
use crate::math::ParseError;
use crate::math::ast::{Bracket, Expr, Func, Literal, RelOp};
use crate::math::lexer::Tok;
use crate::math::limits::MAX_ITEMS;

impl Parser {
    pub(super) fn atom(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        let at = self.byte();
        let Some((tok, _)) = self.toks.get(self.pos).cloned() else {
            return Err(err("unexpected end of answer".to_string()));
        };
        self.pos += 1;
        let e = match tok {
            Tok::Num(lit) => self.number(lit)?,
            Tok::Var(name) => self.variable(name)?,
            Tok::Pi => Expr::Pi,
            Tok::Infty => Expr::Infinity,
            Tok::Reals => Expr::Reals,
            Tok::LParen | Tok::LBrack => {
                let open = if tok == Tok::LParen {
                    Bracket::Paren
                } else {
                    Bracket::Square
                };
                let items = self.list(&[Tok::RParen, Tok::RBrack])?;
                let close = match self.peek() {
                    Some(Tok::RParen) => Bracket::Paren,
                    Some(Tok::RBrack) => Bracket::Square,
                    _ => return Err(err(format!("unclosed bracket at byte {at}"))),
                };
                self.pos += 1;
                if items.len() == 1 && open == close {
                    items.into_iter().next().unwrap_or_else(|| Expr::int(0))
                } else if items.is_empty() {
                    return Err(err(format!("{NO_VALUE}: empty brackets at byte {at}")));
                } else {
                    Expr::Tuple(open, close, items)
                }
            }
            Tok::LAngle => {
                let items = self.list(&[Tok::RAngle])?;
                self.expect(&Tok::RAngle)?;
                Expr::Tuple(Bracket::Angle, Bracket::Angle, items)
            }
            Tok::LBrace => {
                let items = self.list(&[Tok::RBrace])?;
                self.expect(&Tok::RBrace)?;
                if items.is_empty() {
                    return Err(err(format!("{NO_VALUE}: empty group at byte {at}")));
                }
                list_or_single(items)
            }
            Tok::LSet if self.at_set_builder() => self.set_builder()?,
            Tok::LSet => {
                let start = self.pos;
                let items = self.list(&[Tok::RSet])?;
                if items.is_empty() && self.pos > start {
                    // `\{,\}`: separators are not the empty set `\{\}`.
                    return Err(err(format!("{NO_VALUE}: a set of separators only at byte {at}")));
                }
                self.expect(&Tok::RSet)?;
                Expr::Set(items)
            }
            Tok::EmptySet => Expr::Set(Vec::new()),
            Tok::Pipe => {
                self.abs_depth += 1;
                let inner = self.sum();
                self.abs_depth -= 1;
                let inner = inner?;
                self.expect(&Tok::Pipe)?;
                Expr::Func(Func::Abs, Box::new(inner))
            }
            Tok::LFloor => {
                let inner = self.sum()?;
                self.expect(&Tok::RFloor)?;
                Expr::Func(Func::Floor, Box::new(inner))
            }
            Tok::LCeil => {
                let inner = self.sum()?;
                self.expect(&Tok::RCeil)?;
                Expr::Func(Func::Ceil, Box::new(inner))
            }
            Tok::Frac => {
                let n = self.arg()?;
                let d = self.arg()?;
                Expr::Div(Box::new(n), Box::new(d))
            }
            Tok::Binom => {
                let n = self.arg()?;
                let k = self.arg()?;
                Expr::Binom(Box::new(n), Box::new(k))
            }
            Tok::Sqrt => {
                if self.eat(&Tok::LBrack) {
                    let idx = self.sum()?;
                    self.expect(&Tok::RBrack)?;
                    let x = self.arg()?;
                    Expr::Root(Box::new(idx), Box::new(x))
                } else {
                    Expr::Func(Func::Sqrt, Box::new(self.arg()?))
                }
            }
            Tok::Func(f) => self.function(f)?,
            Tok::Log => {
                let base = if self.eat(&Tok::Underscore) {
                    self.arg()?
                } else {
                    Expr::int(10)
                };
                let (pow, arg) = self.function_arg()?;
                let e = Expr::Log(Box::new(base), Box::new(arg));
                match pow {
                    Some(p) => Expr::Pow(Box::new(e), Box::new(p)),
                    None => e,
                }
            }
            Tok::Begin => self.matrix()?,
            Tok::BigOp(op) => self.series(op)?,
            Tok::Ellipsis => {
                return Err(err(format!(
                    "ellipsis at byte {at}: an open-ended pattern is not a value"
                )));
            }
            other => return Err(err(format!("unexpected {other:?} at byte {at}"))),
        };
        self.leave();
        Ok(e)
    }

    /// After `\{`: `x \mid`, `x :` or `x \in`, the start of set-builder notation.
    fn at_set_builder(&self) -> bool {
        matches!(self.peek(), Some(Tok::Var(_)))
            && matches!(
                self.peek_at(1),
                Some(Tok::Pipe | Tok::Colon | Tok::Rel(RelOp::In))
            )
    }

    /// `\{x \mid x > 2\}`, `\{x : x < -1 \text{ or } x > 1\}`, `\{x \in \mathbb{R} \mid x \ne 1\}`:
    /// the solution set of the condition (docs/semantics.md, "Sets"). Conditions joined by
    /// `,` or `and` all hold (an intersection); `or` is a union. The condition may use only
    /// the bound variable.
    fn set_builder(&mut self) -> Result<Expr, ParseError> {
        let at = self.byte();
        let Some(Tok::Var(var)) = self.peek().cloned() else {
            return Err(err(format!(
                "set-builder notation without a variable at byte {at}"
            )));
        };
        self.pos += 1;
        let domain = if self.eat(&Tok::Rel(RelOp::In)) {
            let d = self.atom()?;
            Some(d)
        } else {
            None
        };
        if !(self.eat(&Tok::Pipe) || self.eat(&Tok::Colon)) {
            return Err(err(format!(
                "set-builder notation without a condition at byte {at}"
            )));
        }
        let conditions = self.list(&[Tok::RSet])?;
        self.expect(&Tok::RSet)?;
        let mut vars = Vec::new();
        for c in &conditions {
            c.collect_vars(&mut vars);
        }
        if conditions.is_empty() || vars.iter().any(|v| *v != var) {
            return Err(err(format!(
                "set-builder condition at byte {at} must be about its variable {var}"
            )));
        }
        let mut parts: Vec<Expr> = domain.into_iter().filter(|d| *d != Expr::Reals).collect();
        parts.extend(conditions);
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::Intersection(parts)
        })
    }

    pub(super) fn number(&mut self, lit: Literal) -> Result<Expr, ParseError> {
        // A base subscript: `204_5`.
        if lit.decimals.is_none() && lit.value.is_integer() && self.peek() == Some(&Tok::Underscore) {
            self.pos += 1;
            let base = self.arg()?;
            let Expr::Num(b) = base else {
                return Err(err("non-numeric base subscript".to_string()));
            };
            let b = b.value.to_integer().to_u32().filter(|b| (2..=36).contains(b));
            let Some(b) = b else {
                return Err(err("base subscript outside 2..36".to_string()));
            };
            let digits = lit.value.to_integer().to_string();
            let v = BigInt::parse_bytes(digits.as_bytes(), b)
                .ok_or_else(|| err(format!("{digits} is not a base-{b} numeral")))?;
            return Ok(Expr::Num(Literal {
                value: BigRational::from_integer(v),
                decimals: None,
                significant: 1,
            }));
        }
        // A mixed number: `2\frac12` is 5/2 (both parts plain integers).
        if lit.decimals.is_none()
            && lit.value.is_integer()
            && !lit.value.is_negative()
            && self.peek() == Some(&Tok::Frac)
        {
            let save = self.pos;
            self.pos += 1;
            let n = self.arg()?;
            let d = self.arg()?;
            if let (Expr::Num(n), Expr::Num(d)) = (&n, &d)
                && n.value.is_integer()
                && d.value.is_integer()
                && n.decimals.is_none()
                && d.decimals.is_none()
                && !d.value.is_zero()
                && n.value < d.value
            {
                let v = &lit.value + &n.value / &d.value;
                return Ok(Expr::Num(Literal {
                    value: v,
                    decimals: None,
                    significant: 1,
                }));
            }
            self.pos = save;
        }
        Ok(Expr::Num(lit))
    }

    pub(super) fn variable(&mut self, mut name: String) -> Result<Expr, ParseError> {
        if self.eat(&Tok::Underscore) {
            // Subscripts are part of the name: `a_{37}`, `x_1`, `S_{MBCN}`.
            let start = self.pos;
            let _ = self.arg()?;
            name.push('_');
            let inner = &self.toks[start..self.pos];
            let braced = inner.len() > 3;
            if braced {
                name.push('{');
            }
            for (t, _) in inner {
                match t {
                    Tok::Num(l) => name.push_str(&l.value.to_string()),
                    Tok::Var(v) => name.push_str(v),
                    Tok::LBrace | Tok::RBrace => {}
                    Tok::Plus => name.push('+'),
                    Tok::Minus => name.push('-'),
                    Tok::Comma | Tok::Or => name.push(','),
                    other => name.push_str(&format!("{other:?}")),
                }
            }
            if braced {
                name.push('}');
            }
            return Ok(Expr::Var(name));
        }
        Ok(match name.as_str() {
            "e" => Expr::E,
            "i" => Expr::I,
            _ => Expr::Var(name),
        })
    }

    /// `\sin^2 x`, `\sin(x)`, `\sin 2x`, `\sin\frac{\pi}{3}`.
    pub(super) fn function(&mut self, f: Func) -> Result<Expr, ParseError> {
        let (pow, arg) = self.function_arg()?;
        let inverse = matches!(&pow, Some(Expr::Neg(b)) if matches!(&**b, Expr::Num(l) if l.value.is_one()));
        if inverse {
            let inv = match f {
                Func::Sin => Func::Asin,
                Func::Cos => Func::Acos,
                Func::Tan => Func::Atan,
                _ => {
                    return Ok(Expr::Pow(
                        Box::new(Expr::Func(f, Box::new(arg))),
                        Box::new(Expr::int(-1)),
                    ));
                }
            };
            return Ok(Expr::Func(inv, Box::new(arg)));
        }
        let e = Expr::Func(f, Box::new(arg));
        Ok(match pow {
            Some(p) => Expr::Pow(Box::new(e), Box::new(p)),
            None => e,
        })
    }

    pub(super) fn function_arg(&mut self) -> Result<(Option<Expr>, Expr), ParseError> {
        let pow = if self.eat(&Tok::Caret) {
            Some(self.exponent()?)
        } else {
            None
        };
        if self.peek() == Some(&Tok::LParen) {
            return Ok((pow, self.power()?));
        }
        // Without parentheses the argument is the following product of plain atoms.
        let mut factors = vec![self.power()?];
        while let Some(t) = self.peek() {
            let plain = matches!(
                t,
                Tok::Num(_) | Tok::Var(_) | Tok::Pi | Tok::LBrace | Tok::Frac | Tok::Sqrt
            );
            if !plain {
                break;
            }
            factors.push(self.power()?);
            if factors.len() > MAX_ITEMS {
                return Err(err(format!("more than {MAX_ITEMS} factors")));
            }
        }
        let arg = if factors.len() == 1 {
            factors.remove(0)
        } else {
            Expr::Mul(factors)
        };
        Ok((pow, arg))
    }
}
