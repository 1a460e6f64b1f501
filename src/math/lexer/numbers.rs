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
                is_decimal = false;
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
