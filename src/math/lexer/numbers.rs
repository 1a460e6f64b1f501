//! Number lexing: digits with thousands separators (`1,000`, `1\,000`, `1{,}000`, but
//! never `(1,234)` or `32, 349`), decimals (their written precision is kept for the
//! rounding rule), scientific notation (`1.5e6`) and the single-digit arguments of
//! `\frac12`.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Zero};

use super::{Lexer, Tok, err};
use crate::math::ParseError;
use crate::math::ast::Literal;
use crate::math::limits::MAX_DIGITS;

impl Lexer<'_> {
    /// Consume a thousands separator followed by exactly three digits, if present.
    /// Returns the byte length of the separator (digits excluded).
    pub(super) fn thousands_sep(&self, at: usize) -> Option<usize> {
        let mut i = at;
        let mut saw_comma = false;
        let mut saw_any = false;
        let mut last_plain_comma = false;
        for _ in 0..4 {
            let rest = &self.bytes[i.min(self.bytes.len())..];
            let (len, comma) = if rest.starts_with(b"{,}") {
                (3, true)
            } else if rest.starts_with(b"{, }") {
                (4, true)
            } else if rest.starts_with(b",") {
                (1, true)
            } else if rest.starts_with(b"\\,")
                || rest.starts_with(b"\\!")
                || rest.starts_with(b"\\ ")
                || rest.starts_with(b"\\;")
                || rest.starts_with(b"\\:")
            {
                (2, false)
            } else if rest.starts_with(b" ") || rest.starts_with(b"~") {
                // ", " is a list separator, never a thousands one (`32, 349`).
                if last_plain_comma {
                    return None;
                }
                (1, false)
            } else {
                break;
            };
            last_plain_comma = rest.starts_with(b",");
            if comma && saw_comma {
                return None;
            }
            saw_comma |= comma;
            saw_any = true;
            i += len;
        }
        if !saw_any {
            return None;
        }
        // A plain comma inside brackets separates items: `(1,234)` is a pair.
        let sep = &self.bytes[at..i];
        if sep == b"," && self.bracket_depth > 0 {
            return None;
        }
        let digits = self.bytes[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits != 3 {
            return None;
        }
        // `1,000.5` is fine but `1,0005` is not a grouping; neither is `1 000x`.
        Some(i - at)
    }

    pub(super) fn number(&mut self) -> Result<(), ParseError> {
        let start = self.pos;
        if self.single_digits > 0 && self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.single_digits -= 1;
            let d = BigInt::from(self.bytes[self.pos] - b'0');
            self.pos += 1;
            let keep = self.single_digits;
            self.push(
                Tok::Num(Literal {
                    value: BigRational::from_integer(d),
                    decimals: None,
                    significant: 1,
                }),
                start,
            )?;
            self.single_digits = keep;
            return Ok(());
        }
        let mut int_digits = String::new();
        while let Some(c) = self.peek().filter(|c| c.is_ascii_digit()) {
            int_digits.push(c as char);
            self.pos += 1;
        }
        // Thousands grouping: the first group has 1-3 digits and no leading zero.
        if (1..=3).contains(&int_digits.len()) && !int_digits.starts_with('0') {
            while let Some(sep) = self.thousands_sep(self.pos) {
                self.pos += sep;
                for _ in 0..3 {
                    int_digits.push(self.bytes[self.pos] as char);
                    self.pos += 1;
                }
                if int_digits.len() > MAX_DIGITS {
                    break;
                }
            }
        }
        let mut frac_digits = String::new();
        let mut is_decimal = false;
        if self.peek() == Some(b'.') && self.at(self.pos + 1).is_some_and(|c| c.is_ascii_digit()) {
            is_decimal = true;
            self.pos += 1;
            while let Some(c) = self.peek().filter(|c| c.is_ascii_digit()) {
                frac_digits.push(c as char);
                self.pos += 1;
                if frac_digits.len() > MAX_DIGITS {
                    break;
                }
            }
        }
        if int_digits.len() + frac_digits.len() > MAX_DIGITS {
            return Err(err(format!(
                "number with more than {MAX_DIGITS} digits at byte {start}"
            )));
        }
        // A repeating block: `0.\overline{27}`, `0.1\overline{6}`, `0.\dot{1}\dot{6}`.
        let point = if frac_digits.is_empty() {
            (self.peek() == Some(b'.')).then_some(self.pos + 1)
        } else {
            Some(self.pos)
        };
        if let Some(at) = point
            && let Some((block, end)) = self.repeating_block(at)
        {
            self.pos = end;
            return self.push_repeating(&int_digits, &frac_digits, &block, start);
        }
        // Scientific notation: `1.5e6`, `2E-3` (only directly after the digits).
        let mut exp10: i64 = 0;
        if matches!(self.peek(), Some(b'e' | b'E')) {
            let mut j = self.pos + 1;
            let neg = match self.at(j) {
                Some(b'-') => {
                    j += 1;
                    true
                }
                Some(b'+') => {
                    j += 1;
                    false
                }
                _ => false,
            };
            let digits_start = j;
            while self.at(j).is_some_and(|c| c.is_ascii_digit()) {
                j += 1;
            }
            let after_is_letter = self.at(j).is_some_and(|c| c.is_ascii_alphabetic());
            if j > digits_start && j - digits_start <= 4 && !after_is_letter {
                let v: i64 = self.src[digits_start..j].parse().unwrap_or(0);
                exp10 = if neg { -v } else { v };
                self.pos = j;
            }
        }
        let all: String = format!("{int_digits}{frac_digits}");
        let mantissa: BigInt = if all.is_empty() {
            BigInt::zero()
        } else {
            all.parse().unwrap_or_default()
        };
        let significant = all.trim_start_matches('0').len().max(1) as u32;
        let mut value = BigRational::new(mantissa, BigInt::from(10u32).pow(frac_digits.len() as u32));
        if exp10 != 0 {
            let p = BigRational::from_integer(BigInt::from(10u32).pow(exp10.unsigned_abs() as u32));
            value = if exp10 > 0 { value * p } else { value / p };
        }
        if is_decimal && exp10 != 0 && !frac_digits.is_empty() {
            // `6.67e4` is the decimal `6.67 \times 10^{4}`, written as such for the rounding
            // rule (docs/semantics.md, "Scientific notation"); the group keeps it one atom.
            let mantissa = BigRational::new(
                all.parse().unwrap_or_default(),
                BigInt::from(10u32).pow(frac_digits.len() as u32),
            );
            let mut toks = vec![
                Tok::LBrace,
                Tok::Num(Literal {
                    value: mantissa,
                    decimals: Some(frac_digits.len() as u32),
                    significant,
                }),
                Tok::Times,
                Tok::Num(integer(BigInt::from(10u32))),
                Tok::Caret,
            ];
            if exp10 < 0 {
                toks.push(Tok::Minus);
            }
            toks.push(Tok::Num(integer(BigInt::from(exp10.unsigned_abs()))));
            toks.push(Tok::RBrace);
            for t in toks {
                self.push(t, start)?;
            }
            return Ok(());
        }
        let decimals = (is_decimal && exp10 == 0).then_some(frac_digits.len() as u32);
        let lit = Literal {
            value,
            decimals,
            significant,
        };
        if lit.value.denom().is_one() || decimals.is_some() || exp10 != 0 {
            self.push(Tok::Num(lit), start)
        } else {
            Err(err(format!("malformed number at byte {start}")))
        }
    }
}

fn integer(n: BigInt) -> Literal {
    Literal {
        value: BigRational::from_integer(n),
        decimals: None,
        significant: 1,
    }
}

impl Lexer<'_> {
    /// The repeating block of a decimal starting at byte `at` (just after the point or the
    /// last plain fraction digit): `\overline{27}` or `\bar{27}` (the block is the group),
    /// or dotted digits, `\dot{6}` (one repeating digit) and `\dot{1}2\dot{3}` (the block runs
    /// from the first dotted digit to the last). Returns the block and the byte after it.
    fn repeating_block(&self, at: usize) -> Option<(String, usize)> {
        let rest = self.src.get(at..)?;
        for cmd in ["\\overline", "\\bar"] {
            if let Some(after) = rest.strip_prefix(cmd)
                && !after.starts_with(|c: char| c.is_ascii_alphabetic())
            {
                let (block, used) = braced_digits(after)?;
                return Some((block, at + cmd.len() + used));
            }
        }
        // Dotted form: plain digits may sit between the two dots.
        let mut i = 0;
        let mut block = String::new();
        let mut dots = 0;
        let mut pending = String::new();
        while dots < 2 {
            let tail = &rest[i..];
            if let Some(after) = tail.strip_prefix("\\dot")
                && !after.starts_with(|c: char| c.is_ascii_alphabetic())
            {
                let (d, used) = braced_digits(after)?;
                if d.len() != 1 {
                    return None;
                }
                if dots == 1 {
                    block.push_str(&pending);
                    pending.clear();
                }
                block.push_str(&d);
                dots += 1;
                i += 4 + used;
            } else if dots == 1 && tail.starts_with(|c: char| c.is_ascii_digit()) {
                pending.push_str(&tail[..1]);
                i += 1;
            } else {
                break;
            }
        }
        // Digits after a single dot are not part of any block: `0.\dot{1}2` is not a form.
        if dots == 0 || !pending.is_empty() || block.len() > MAX_DIGITS {
            return None;
        }
        Some((block, at + i))
    }

    /// Push the exact value of `int.frac(block)`, the block repeating for ever:
    /// `int + (frac + block / (10^m - 1)) / 10^k`.
    fn push_repeating(&mut self, int: &str, frac: &str, block: &str, start: usize) -> Result<(), ParseError> {
        if int.len() + frac.len() + block.len() > MAX_DIGITS {
            return Err(err(format!(
                "number with more than {MAX_DIGITS} digits at byte {start}"
            )));
        }
        let digits = |s: &str| -> BigInt {
            if s.is_empty() {
                BigInt::zero()
            } else {
                s.parse().unwrap_or_default()
            }
        };
        let ten = BigInt::from(10u32);
        let nines = ten.pow(block.len() as u32) - BigInt::one();
        let shift = ten.pow(frac.len() as u32);
        let value = BigRational::from_integer(digits(int))
            + (BigRational::from_integer(digits(frac)) + BigRational::new(digits(block), nines))
                / BigRational::from_integer(shift);
        let significant = format!("{int}{frac}{block}").trim_start_matches('0').len().max(1) as u32;
        self.push(
            Tok::Num(Literal {
                value,
                decimals: None,
                significant,
            }),
            start,
        )
    }
}

/// `{27}` (spaces allowed before the brace) or a single digit: the digits and the bytes used.
fn braced_digits(s: &str) -> Option<(String, usize)> {
    let trimmed = s.trim_start_matches(' ');
    let lead = s.len() - trimmed.len();
    if let Some(inner) = trimmed.strip_prefix('{') {
        let close = inner.find('}')?;
        let body: String = inner[..close].chars().filter(|c| *c != ' ').collect();
        if body.is_empty() || !body.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        return Some((body, lead + close + 2));
    }
    let first = trimmed.chars().next().filter(char::is_ascii_digit)?;
    Some((first.to_string(), lead + 1))
}
