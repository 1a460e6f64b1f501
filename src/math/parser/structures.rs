//! Parsing of composite answers: the top level (`;`-separated groups of answers), matrix
//! environments (`pmatrix`, `bmatrix`, `array`) and big operators (`\sum_{k=a}^{b}`,
//! `\prod`).

use super::{Parser, err, list_or_single};
use crate::math::ParseError;
use crate::math::ast::{BigOp, Bracket, Expr, RelOp};
use crate::math::lexer::Tok;
use crate::math::limits::MAX_ITEMS;

impl Parser {
    /// The whole answer. At top level `;` separates groups of answers: `p=5,q=2;p=7,q=2`
    /// is the list of the tuples `(p=5, q=2)` and `(p=7, q=2)`. When every group is a
    /// single item (`1; 2; 3`) it is the plain list.
    pub(super) fn top_level(&mut self) -> Result<Expr, ParseError> {
        let mut groups = Vec::new();
        loop {
            let items = self.list(&[Tok::Semicolon])?;
            if !items.is_empty() {
                groups.push(items);
            }
            if groups.len() > MAX_ITEMS {
                return Err(err(format!("more than {MAX_ITEMS} items")));
            }
            if !self.eat(&Tok::Semicolon) {
                break;
            }
        }
        if groups.len() <= 1 || groups.iter().all(|g| g.len() <= 1) {
            return Ok(list_or_single(groups.into_iter().flatten().collect()));
        }
        let items = groups
            .into_iter()
            .map(|g| {
                if g.len() == 1 {
                    list_or_single(g)
                } else {
                    Expr::Tuple(Bracket::Paren, Bracket::Paren, g)
                }
            })
            .collect();
        Ok(list_or_single(items))
    }

    pub(super) fn matrix(&mut self) -> Result<Expr, ParseError> {
        let mut rows: Vec<Vec<Expr>> = Vec::new();
        let mut row: Vec<Expr> = Vec::new();
        loop {
            match self.peek() {
                None => return Err(err("unclosed matrix environment".to_string())),
                Some(Tok::End) => {
                    self.pos += 1;
                    break;
                }
                Some(Tok::Amp) => {
                    self.pos += 1;
                }
                Some(Tok::RowSep) => {
                    self.pos += 1;
                    if !row.is_empty() {
                        rows.push(std::mem::take(&mut row));
                    }
                }
                _ => {
                    row.push(self.relation()?);
                    if row.len() > MAX_ITEMS || rows.len() > MAX_ITEMS {
                        return Err(err("matrix too large".to_string()));
                    }
                    if !matches!(self.peek(), Some(Tok::Amp | Tok::RowSep | Tok::End)) {
                        return Err(err(format!(
                            "unexpected {:?} in matrix at byte {}",
                            self.peek(),
                            self.byte()
                        )));
                    }
                }
            }
        }
        if !row.is_empty() {
            rows.push(row);
        }
        let width = rows.first().map_or(0, Vec::len);
        if width == 0 || rows.iter().any(|r| r.len() != width) {
            return Err(err("ragged or empty matrix".to_string()));
        }
        Ok(Expr::Matrix(rows))
    }

    /// `\sum_{k=a}^{b} body` / `\prod…`: the body is the following product
    /// (`\sum_{k=1}^{n} k^2 + 1` adds 1 once), as in ordinary reading.
    pub(super) fn series(&mut self, op: BigOp) -> Result<Expr, ParseError> {
        let at = self.byte();
        let (mut lower, mut upper) = (None, None);
        for _ in 0..2 {
            if self.eat(&Tok::Underscore) {
                lower = Some(self.arg()?);
            } else if self.eat(&Tok::Caret) {
                upper = Some(self.arg()?);
            }
        }
        let missing = || {
            err(format!(
                "{} at byte {at} needs an index, `_{{k=a}}^{{b}}`",
                op.name()
            ))
        };
        let (Some(Expr::Rel(items, ops)), Some(hi)) = (lower, upper) else {
            return Err(missing());
        };
        if ops != [RelOp::Eq] || items.len() != 2 {
            return Err(missing());
        }
        let [index, lo]: [Expr; 2] = items.try_into().map_err(|_| missing())?;
        let var = match index {
            Expr::Var(v) => v,
            // `i` and `e` read as constants elsewhere; as an index they are names.
            Expr::I => "i".to_string(),
            Expr::E => "e".to_string(),
            _ => return Err(missing()),
        };
        let body = self.product()?;
        let body = match var.as_str() {
            "i" => rename_constant(&body, &Expr::I, "i"),
            "e" => rename_constant(&body, &Expr::E, "e"),
            _ => body,
        };
        Ok(Expr::Series(op, var, Box::new([lo, hi, body])))
    }
}

/// `body` with the constant `c` read as the variable `name` (a bound index named `i`).
fn rename_constant(body: &Expr, c: &Expr, name: &str) -> Expr {
    if body == c {
        Expr::Var(name.to_string())
    } else {
        body.map_children(|x| rename_constant(x, c, name))
    }
}
