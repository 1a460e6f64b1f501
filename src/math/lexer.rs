//! LaTeX / plain-math tokenizer.
//!
//! Owns everything that is decided character by character: numbers (thousands separators,
//! decimals, scientific notation, `\frac12`'s single-digit arguments), command names,
//! `\text{…}` words and units, and the spacing commands that only matter for digit
//! grouping. It is iterative, so input shape cannot exhaust the stack.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Zero};

use super::ParseError;
use super::ast::{Func, Literal, RelOp};
use super::limits::{MAX_DIGITS, MAX_TOKENS};

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Num(Literal),
    Var(String),
    /// A unit or prose word; dropped next to maths, kept when it is the whole answer.
    Word(String),
    Plus,
    Minus,
    PlusMinus,
    MinusPlus,
    Times,
    Slash,
    Caret,
    Underscore,
    Bang,
    Prime,
    Rel(RelOp),
    Approx,
    Cup,
    Cap,
    Setminus,
    Comma,
    Semicolon,
    Colon,
    Pipe,
    LParen,
    RParen,
    LBrack,
    RBrack,
    LBrace,
    RBrace,
    LSet,
    RSet,
    LAngle,
    RAngle,
    LFloor,
    RFloor,
    LCeil,
    RCeil,
    Amp,
    RowSep,
    Percent,
    Degree,
    Circ,
    Infty,
    Pi,
    Reals,
    Frac,
    Binom,
    Sqrt,
    Func(Func),
    Log,
    Begin,
    End,
    Ellipsis,
    Not,
}

/// A token and the byte offset where it starts (for error messages).
pub type Spanned = (Tok, usize);

fn err(message: String) -> ParseError {
    ParseError { message }
}

/// Words that mean "percent" when written after a number.
const PERCENT_WORDS: &[&str] = &["percent", "pct", "percentage"];
/// Words that hedge or negate an answer.
const NOT_WORDS: &[&str] = &["not", "no", "except", "neither", "nor"];
/// Plain-letter runs read as units (dropped) rather than products of variables.
const UNIT_WORDS: &[&str] = &[
    "cm", "mm", "km", "m", "kg", "mg", "g", "lb", "lbs", "oz", "ft", "feet", "foot", "inch", "inches", "in",
    "yd", "yards", "mi", "mile", "miles", "meter", "meters", "metres", "hours", "hour", "hr", "hrs", "min",
    "mins", "minutes", "minute", "sec", "secs", "seconds", "second", "days", "day", "weeks", "years", "year",
    "units", "unit", "sq", "square", "cubic", "dollars", "dollar", "cents", "cent", "degrees", "degree",
    "deg", "rad", "radians", "liters", "litres", "ml", "mph", "kmh", "people", "students", "ways", "times",
    "points", "yuan", "euros", "euro",
];

fn is_unit_word(w: &str) -> bool {
    w.len() >= 2 && UNIT_WORDS.contains(&w)
}

/// Classify a word from `\text{…}` or a plain letter run.
fn word_token(word: &str) -> Tok {
    let lower = word.to_ascii_lowercase();
    if lower == "and" || lower == "or" {
        Tok::Comma
    } else if PERCENT_WORDS.contains(&lower.as_str()) {
        Tok::Percent
    } else if NOT_WORDS.contains(&lower.as_str()) {
        Tok::Not
    } else {
        Tok::Word(lower)
    }
}

fn command_token(name: &str) -> Option<Tok> {
    use Tok as T;
    let t = match name {
        "frac" | "dfrac" | "tfrac" | "cfrac" => T::Frac,
        "binom" | "dbinom" | "tbinom" | "choose" => T::Binom,
        "sqrt" => T::Sqrt,
        "cdot" | "times" | "ast" | "cross" => T::Times,
        "div" => T::Slash,
        "pm" => T::PlusMinus,
        "mp" => T::MinusPlus,
        "le" | "leq" | "leqslant" | "leqq" => T::Rel(RelOp::Le),
        "ge" | "geq" | "geqslant" | "geqq" => T::Rel(RelOp::Ge),
        "lt" => T::Rel(RelOp::Lt),
        "gt" => T::Rel(RelOp::Gt),
        "ne" | "neq" => T::Rel(RelOp::Ne),
        "in" => T::Rel(RelOp::In),
        "approx" | "simeq" | "sim" | "doteq" => T::Approx,
        "cup" | "bigcup" => T::Cup,
        "cap" | "bigcap" => T::Cap,
        "setminus" | "backslash" => T::Setminus,
        "infty" | "infin" => T::Infty,
        "pi" => T::Pi,
        "circ" => T::Circ,
        "degree" => T::Degree,
        "langle" => T::LAngle,
        "rangle" => T::RAngle,
        "lfloor" => T::LFloor,
        "rfloor" => T::RFloor,
        "lceil" => T::LCeil,
        "rceil" => T::RCeil,
        "vert" | "lvert" | "rvert" | "mid" => T::Pipe,
        "ldots" | "cdots" | "dots" | "dotsc" | "dotsb" | "vdots" => T::Ellipsis,
        "log" | "lg" => T::Log,
        "ln" => T::Func(Func::Ln),
        "exp" => T::Func(Func::Exp),
        "sin" => T::Func(Func::Sin),
        "cos" => T::Func(Func::Cos),
        "tan" | "tg" => T::Func(Func::Tan),
        "sec" => T::Func(Func::Sec),
        "csc" | "cosec" => T::Func(Func::Csc),
        "cot" | "ctg" => T::Func(Func::Cot),
        "arcsin" => T::Func(Func::Asin),
        "arccos" => T::Func(Func::Acos),
        "arctan" => T::Func(Func::Atan),
        "sinh" => T::Func(Func::Sinh),
        "cosh" => T::Func(Func::Cosh),
        "tanh" => T::Func(Func::Tanh),
        "neg" | "lnot" => T::Not,
        "colon" => T::Colon,
        "Rightarrow" | "implies" | "to" | "rightarrow" | "Longrightarrow" => T::Comma,
        "alpha" | "beta" | "gamma" | "delta" | "epsilon" | "varepsilon" | "zeta" | "eta" | "theta"
        | "vartheta" | "iota" | "kappa" | "lambda" | "mu" | "nu" | "xi" | "rho" | "sigma" | "tau"
        | "upsilon" | "phi" | "varphi" | "chi" | "psi" | "omega" | "Gamma" | "Delta" | "Theta" | "Lambda"
        | "Xi" | "Sigma" | "Phi" | "Psi" | "Omega" | "ell" => T::Var(name.to_string()),
        _ => return None,
    };
    Some(t)
}

/// Commands that only change presentation; their argument (if any) is read as maths.
fn is_transparent(name: &str) -> bool {
    matches!(
        name,
        "mathrm"
            | "mathbf"
            | "mathit"
            | "mathsf"
            | "mathtt"
            | "mathcal"
            | "boldsymbol"
            | "bm"
            | "displaystyle"
            | "textstyle"
            | "scriptstyle"
            | "limits"
            | "nolimits"
            | "overline"
            | "underline"
            | "vec"
            | "hat"
            | "bar"
            | "widehat"
            | "tilde"
            | "overrightarrow"
            | "mathring"
            | "boxed"
            | "fbox"
            | "left"
            | "right"
            | "bigl"
            | "bigr"
            | "Bigl"
            | "Bigr"
            | "big"
            | "Big"
            | "bigg"
            | "Bigg"
            | "biggl"
            | "biggr"
            | "middle"
            | "phantom"
    )
}

fn is_text_command(name: &str) -> bool {
    matches!(
        name,
        "text"
            | "textbf"
            | "textit"
            | "textrm"
            | "textnormal"
            | "mbox"
            | "textsf"
            | "texttt"
            | "emph"
            | "hbox"
            | "operatorname"
    )
}

fn is_space_command(name: &str) -> bool {
    matches!(
        name,
        "quad"
            | "qquad"
            | "enspace"
            | "thinspace"
            | "medspace"
            | "thickspace"
            | "hfill"
            | "nobreak"
            | "allowbreak"
            | "relax"
            | "nonumber"
            | "notag"
    )
}

/// Tokenize `src`. `depth` bounds re-lexing of `\text{…}` contents.
pub fn lex(src: &str) -> Result<Vec<Spanned>, ParseError> {
    let mut lx = Lexer {
        src,
        bytes: src.as_bytes(),
        pos: 0,
        out: Vec::new(),
        single_digits: 0,
        env_depth: 0,
        bracket_depth: 0,
    };
    lx.run(0)?;
    Ok(lx.out)
}

struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    out: Vec<Spanned>,
    /// After `\frac`/`\sqrt` without braces, digits are single-token arguments (`\frac12`).
    single_digits: u8,
    env_depth: u32,
    bracket_depth: u32,
}

impl Lexer<'_> {
    fn push(&mut self, t: Tok, at: usize) -> Result<(), ParseError> {
        if self.out.len() >= MAX_TOKENS {
            return Err(err(format!("more than {MAX_TOKENS} tokens")));
        }
        if !matches!(t, Tok::Num(_)) {
            self.single_digits = 0;
        }
        match t {
            Tok::LParen | Tok::LBrack | Tok::LSet | Tok::LAngle => self.bracket_depth += 1,
            Tok::RParen | Tok::RBrack | Tok::RSet | Tok::RAngle => {
                self.bracket_depth = self.bracket_depth.saturating_sub(1)
            }
            _ => {}
        }
        self.out.push((t, at));
        Ok(())
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn at(&self, i: usize) -> Option<u8> {
        self.bytes.get(i).copied()
    }

    fn run(&mut self, text_depth: u32) -> Result<(), ParseError> {
        while let Some(c) = self.peek() {
            let start = self.pos;
            match c {
                b' ' | b'\t' | b'\n' | b'\r' | b'~' | 0x0c => self.pos += 1,
                b'0'..=b'9' => self.number()?,
                b'.' if self.at(self.pos + 1).is_some_and(|d| d.is_ascii_digit()) => self.number()?,
                b'a'..=b'z' | b'A'..=b'Z' => self.letters()?,
                b'\\' => self.command(text_depth)?,
                b'$' => self.pos += 1,
                _ if c >= 0x80 => self.unicode()?,
                _ => {
                    self.pos += 1;
                    let t = match c {
                        b'+' => Tok::Plus,
                        b'-' => Tok::Minus,
                        b'*' if self.peek() == Some(b'*') => {
                            self.pos += 1;
                            Tok::Caret
                        }
                        b'*' => Tok::Times,
                        b'/' => Tok::Slash,
                        b'^' => Tok::Caret,
                        b'_' => Tok::Underscore,
                        b'!' if self.peek() == Some(b'=') => {
                            self.pos += 1;
                            Tok::Rel(RelOp::Ne)
                        }
                        b'!' => Tok::Bang,
                        b'\'' => Tok::Prime,
                        b'=' => {
                            if self.peek() == Some(b'=') {
                                self.pos += 1;
                            }
                            Tok::Rel(RelOp::Eq)
                        }
                        b'<' if self.peek() == Some(b'=') => {
                            self.pos += 1;
                            Tok::Rel(RelOp::Le)
                        }
                        b'>' if self.peek() == Some(b'=') => {
                            self.pos += 1;
                            Tok::Rel(RelOp::Ge)
                        }
                        b'<' => Tok::Rel(RelOp::Lt),
                        b'>' => Tok::Rel(RelOp::Gt),
                        b',' => Tok::Comma,
                        b';' => Tok::Semicolon,
                        b':' => Tok::Colon,
                        b'|' => Tok::Pipe,
                        b'(' => Tok::LParen,
                        b')' => Tok::RParen,
                        b'[' => Tok::LBrack,
                        b']' => Tok::RBrack,
                        b'{' => Tok::LBrace,
                        b'}' => Tok::RBrace,
                        b'&' => Tok::Amp,
                        b'%' => Tok::Percent,
                        // Sentence punctuation and stray symbols carry no maths.
                        b'.' | b'?' | b'"' | b'`' | b'#' => continue,
                        _ => {
                            return Err(err(format!(
                                "unexpected character {:?} at byte {start}",
                                c as char
                            )));
                        }
                    };
                    self.push(t, start)?;
                }
            }
        }
        Ok(())
    }

    fn unicode(&mut self) -> Result<(), ParseError> {
        let start = self.pos;
        let ch = self.src[start..].chars().next().unwrap_or(' ');
        self.pos += ch.len_utf8();
        let t = match ch {
            '°' => Tok::Degree,
            '∞' => Tok::Infty,
            '≤' => Tok::Rel(RelOp::Le),
            '≥' => Tok::Rel(RelOp::Ge),
            '≠' => Tok::Rel(RelOp::Ne),
            '±' => Tok::PlusMinus,
            '×' | '·' | '⋅' => Tok::Times,
            '÷' => Tok::Slash,
            '−' | '–' => Tok::Minus,
            '√' => Tok::Sqrt,
            'π' => Tok::Pi,
            '∪' => Tok::Cup,
            '∩' => Tok::Cap,
            '∈' => Tok::Rel(RelOp::In),
            '≈' => Tok::Approx,
            '\u{a0}' | '\u{2009}' | '\u{202f}' => return Ok(()),
            c if c.is_alphabetic() => {
                // Gather the whole non-ASCII word (e.g. a unit or prose in another script).
                let mut end = self.pos;
                for c2 in self.src[self.pos..].chars() {
                    if !c2.is_alphabetic() {
                        break;
                    }
                    end += c2.len_utf8();
                }
                self.pos = end;
                Tok::Word(self.src[start..end].to_lowercase())
            }
            c => Tok::Word(c.to_string()),
        };
        self.push(t, start)
    }

    fn letters(&mut self) -> Result<(), ParseError> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            self.pos += 1;
        }
        let run = &self.src[start..self.pos];
        let lower = run.to_ascii_lowercase();
        // Only lower-case runs can be words: `NO` in `\frac{NO}{BO}` is two variables.
        if run.len() >= 2 && (run == lower || lower == "and" || lower == "or") {
            let fixed = match lower.as_str() {
                "sqrt" => Some(Tok::Sqrt),
                "pi" => Some(Tok::Pi),
                "sin" => Some(Tok::Func(Func::Sin)),
                "cos" => Some(Tok::Func(Func::Cos)),
                "tan" => Some(Tok::Func(Func::Tan)),
                "ln" => Some(Tok::Func(Func::Ln)),
                "log" => Some(Tok::Log),
                "exp" => Some(Tok::Func(Func::Exp)),
                "infty" | "inf" | "oo" => Some(Tok::Infty),
                _ => None,
            };
            if let Some(t) = fixed {
                return self.push(t, start);
            }
            if lower == "and"
                || lower == "or"
                || PERCENT_WORDS.contains(&lower.as_str())
                || NOT_WORDS.contains(&lower.as_str())
                || is_unit_word(&lower)
            {
                return self.push(word_token(&lower), start);
            }
        }
        for (i, ch) in run.char_indices() {
            self.push(Tok::Var(ch.to_string()), start + i)?;
        }
        Ok(())
    }

    /// Consume a thousands separator followed by exactly three digits, if present.
    /// Returns the byte length of the separator (digits excluded).
    fn thousands_sep(&self, at: usize) -> Option<usize> {
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

    fn number(&mut self) -> Result<(), ParseError> {
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

    /// Read a `{…}` group starting at `self.pos` (which must be `{`), returning its inner
    /// byte range. Iterative brace matching, so deep nesting costs no stack.
    fn brace_group(&mut self) -> Result<(usize, usize), ParseError> {
        let open = self.pos;
        let mut depth = 0usize;
        let mut i = self.pos;
        while i < self.bytes.len() {
            match self.bytes[i] {
                b'\\' => i += 1,
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        self.pos = i + 1;
                        return Ok((open + 1, i));
                    }
                }
                _ => {}
            }
            i += 1;
        }
        Err(err(format!("unbalanced brace at byte {open}")))
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(|c| c == b' ' || c == b'\n' || c == b'\t') {
            self.pos += 1;
        }
    }

    fn command(&mut self, text_depth: u32) -> Result<(), ParseError> {
        let start = self.pos;
        self.pos += 1;
        let Some(c) = self.peek() else {
            return Ok(());
        };
        if c == b'\\' {
            // `\\le` in escaped strings is `\le`; inside an environment it is a row break.
            if self.env_depth == 0 && self.at(self.pos + 1).is_some_and(|c| c.is_ascii_alphabetic()) {
                return self.command(text_depth);
            }
            self.pos += 1;
            return self.push(Tok::RowSep, start);
        }
        if !c.is_ascii_alphabetic() {
            self.pos += 1;
            let t = match c {
                b'{' => Tok::LSet,
                b'}' => Tok::RSet,
                b'%' => Tok::Percent,
                b'|' => Tok::Pipe,
                b'(' | b')' | b'[' | b']' | b'$' | b',' | b';' | b':' | b'!' | b' ' | b'>' => {
                    return Ok(());
                }
                _ => return Err(err(format!("unknown command \\{} at byte {start}", c as char))),
            };
            return self.push(t, start);
        }
        let name_start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            self.pos += 1;
        }
        let name = &self.src[name_start..self.pos];
        if let Some(t) = command_token(name) {
            let sets_single = match t {
                Tok::Frac | Tok::Binom => 2,
                Tok::Sqrt => 1,
                _ => 0,
            };
            self.push(t, start)?;
            self.single_digits = sets_single;
            return Ok(());
        }
        if is_transparent(name) || is_space_command(name) {
            return Ok(());
        }
        // `\quadx` is a space glued to a variable by careless writers.
        for space in ["qquad", "quad"] {
            if let Some(rest) = name.strip_prefix(space) {
                self.pos = name_start + space.len();
                debug_assert!(!rest.is_empty());
                return Ok(());
            }
        }
        match name {
            "begin" | "end" => {
                self.skip_spaces();
                if self.peek() != Some(b'{') {
                    return Err(err(format!("\\{name} without environment at byte {start}")));
                }
                let (a, b) = self.brace_group()?;
                let env = self.src[a..b].trim_end_matches('*').to_string();
                let matrix_like = env.ends_with("matrix") || env == "array";
                if name == "begin" {
                    if env == "array" {
                        self.skip_spaces();
                        if self.peek() == Some(b'{') {
                            self.brace_group()?;
                        }
                    }
                    if matrix_like {
                        self.env_depth += 1;
                        self.push(Tok::Begin, start)?;
                    }
                } else if matrix_like {
                    self.env_depth = self.env_depth.saturating_sub(1);
                    self.push(Tok::End, start)?;
                }
                Ok(())
            }
            "mathbb" | "Bbb" | "mathbbm" => {
                self.skip_spaces();
                let letter = if self.peek() == Some(b'{') {
                    let (a, b) = self.brace_group()?;
                    self.src[a..b].trim().to_string()
                } else {
                    let s = self.pos;
                    self.pos = (self.pos + 1).min(self.bytes.len());
                    self.src[s..self.pos].to_string()
                };
                let t = if letter == "R" {
                    Tok::Reals
                } else {
                    Tok::Var(format!("mathbb{letter}"))
                };
                self.push(t, start)
            }
            name if is_text_command(name) => {
                self.skip_spaces();
                if self.peek() != Some(b'{') {
                    return Ok(());
                }
                let (a, b) = self.brace_group()?;
                self.text(a, b, text_depth)
            }
            "pmod" | "bmod" | "mod" => Err(err(format!("modular notation \\{name} at byte {start}"))),
            _ => Err(err(format!("unknown command \\{name} at byte {start}"))),
        }
    }

    /// `\text{…}` content: maths-like content (`13`, `(C)`, `e`) is lexed as maths, other
    /// content becomes words.
    fn text(&mut self, a: usize, b: usize, text_depth: u32) -> Result<(), ParseError> {
        let content = self.src[a..b].trim();
        if content.is_empty() {
            return Ok(());
        }
        let mathy = content.len() == 1
            || content
                .bytes()
                .all(|c| c.is_ascii_digit() || b".,-+/ ".contains(&c))
            || (content.len() == 3
                && content.starts_with('(')
                && content.ends_with(')')
                && content.as_bytes()[1].is_ascii_alphabetic());
        if mathy && text_depth < 4 {
            let saved = self.pos;
            let (bytes, src) = (self.bytes, self.src);
            let mut sub = Lexer {
                src: &src[..b],
                bytes: &bytes[..b],
                pos: a,
                out: std::mem::take(&mut self.out),
                single_digits: 0,
                env_depth: self.env_depth,
                bracket_depth: self.bracket_depth,
            };
            sub.run(text_depth + 1)?;
            self.out = sub.out;
            self.pos = saved;
            return Ok(());
        }
        for word in content.split(|c: char| c.is_whitespace() || c == '~' || c == '\\') {
            let word = word.trim_matches(|c: char| c == '.' || c == ':' || c == ';');
            if word.is_empty() {
                continue;
            }
            if word == "," {
                self.push(Tok::Comma, a)?;
                continue;
            }
            let trimmed = word.trim_end_matches(',');
            self.push(word_token(trimmed), a)?;
            if trimmed.len() != word.len() {
                self.push(Tok::Comma, a)?;
            }
        }
        Ok(())
    }
}
