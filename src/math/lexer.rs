//! LaTeX / plain-math tokenizer: the token type and the character-by-character scan
//! (operators, letters, Unicode symbols, commands and their brace arguments, `\text{…}`
//! words). Number lexing lives in `numbers.rs`, the command and word tables in
//! `commands.rs`. It is iterative, so input shape cannot exhaust the stack.

mod commands;
mod numbers;

use super::ParseError;
use super::ast::{BigOp, Func, Literal, RelOp};
use super::limits::MAX_TOKENS;
use commands::{
    NOT_WORDS, PERCENT_WORDS, QUALIFIER_WORDS, command_token, is_space_command, is_text_command,
    is_transparent, is_unit_word, word_token,
};

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
    /// The connective `or` (`\text{ or }`, `\lor`): a separator like `,`, except that an `or`
    /// of inequalities in one variable is the union of their solution sets.
    Or,
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
    /// `\sum` or `\prod`.
    BigOp(BigOp),
    Begin,
    End,
    Ellipsis,
    /// `\neg`, `\lnot`.
    Not,
    /// A negating or qualifying word (`not`, `at least`, `about`): the answer after it is a
    /// hedge, never the value itself; the whole answer when it is all words.
    Hedge(String),
    /// `\emptyset`, `\varnothing`, `∅`.
    EmptySet,
}

/// A token and the byte offset where it starts (for error messages).
pub type Spanned = (Tok, usize);

fn err(message: String) -> ParseError {
    ParseError { message }
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
            '∅' => Tok::EmptySet,
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

    /// A run of ASCII letters. A lower-case letter followed by an upper-case one splits
    /// the run (`1orW(x)` is `1 or W(x)`): words are lower-case, so a capital starts a new
    /// piece, and all-variable runs lex the same either way.
    fn letters(&mut self) -> Result<(), ParseError> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            self.pos += 1;
            let split = self.peek().is_some_and(|c| c.is_ascii_uppercase())
                && self.bytes[self.pos - 1].is_ascii_lowercase();
            if split {
                break;
            }
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
                || QUALIFIER_WORDS.contains(&lower.as_str())
                || is_unit_word(&lower)
                || (run.len() >= 3 && self.object_word_position(start))
            {
                return self.push(word_token(&lower), start);
            }
        }
        // `-5^\circ C`, `20°F`: the scale after a degree mark is a unit, not a variable.
        if matches!(run, "C" | "F" | "K") && self.after_degree_mark() {
            return self.push(Tok::Word(lower), start);
        }
        for (i, ch) in run.char_indices() {
            self.push(Tok::Var(ch.to_string()), start + i)?;
        }
        Ok(())
    }

    /// Does a lower-case run starting at `start` stand where an object word does: after a
    /// space that follows a number or another such word (`10 apples`, `3 red marbles`)? A run
    /// glued to a number (`2abc`) stays a product of variables.
    fn object_word_position(&self, start: usize) -> bool {
        let spaced = start > 0 && matches!(self.bytes[start - 1], b' ' | b'~' | b'\t');
        spaced && matches!(self.out.last(), Some((Tok::Num(_) | Tok::Word(_), _)))
    }

    /// At `\mathrm`/`\text` after a number or a degree mark, is the group a unit: letters only
    /// (after `~` and spaces), not the upright constants `e` and `i`, and for a single capital
    /// only a temperature scale after a degree mark?
    fn unit_group_follows(&self) -> bool {
        let after_number = matches!(self.out.last(), Some((Tok::Num(_) | Tok::Word(_), _)));
        let after_degree = self.after_degree_mark();
        if !(after_number || after_degree) {
            return false;
        }
        let rest = &self.src[self.pos..];
        let rest = rest.trim_start_matches([' ', '\n', '\t']);
        let Some(inner) = rest
            .strip_prefix('{')
            .and_then(|r| r.split_once('}'))
            .map(|(i, _)| i)
        else {
            return false;
        };
        let unit = inner.trim_matches(|c: char| c == '~' || c.is_whitespace());
        if unit.is_empty() || !unit.bytes().all(|c| c.is_ascii_alphabetic()) {
            return false;
        }
        match unit {
            "e" | "i" => false,
            "C" | "F" | "K" => after_degree || after_number,
            u if u.len() == 1 && u.as_bytes()[0].is_ascii_uppercase() => false,
            _ => true,
        }
    }

    /// Is the last token a degree mark (`°`, `^\circ`, `^{\circ}`)?
    fn after_degree_mark(&self) -> bool {
        let n = self.out.len();
        let tok = |back: usize| n.checked_sub(back).map(|i| &self.out[i].0);
        match tok(1) {
            Some(Tok::Degree | Tok::Circ) => true,
            Some(Tok::RBrace) => matches!(tok(2), Some(Tok::Degree | Tok::Circ)),
            _ => false,
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
        if matches!(name, "phantom" | "hphantom" | "vphantom") {
            // Invisible in the rendered answer, so not part of it: `\boxed{\phantom{12}}` is
            // empty (docs/semantics.md, "No value, no reward").
            self.skip_spaces();
            if self.peek() == Some(b'{') {
                self.brace_group()?;
            }
            return Ok(());
        }
        if matches!(name, "mathrm" | "text" | "textrm" | "mbox") && self.unit_group_follows() {
            // `5 \mathrm{~cm}`, `40\,\mathrm{km}`, `3\,\mathrm{s}`, `-5^\circ\text{C}`: a unit.
            self.skip_spaces();
            let (a, b) = self.brace_group()?;
            let unit = self.src[a..b].trim_matches(|c: char| c == '~' || c.is_whitespace());
            return self.push(word_token(unit), start);
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
                && content.as_bytes()[1].is_ascii_alphabetic())
            // `\textbf{(D) 7}`: a choice with its value.
            || (content.len() > 4
                && content.starts_with('(')
                && content.as_bytes()[1].is_ascii_uppercase()
                && content[2..].starts_with(") "));
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
