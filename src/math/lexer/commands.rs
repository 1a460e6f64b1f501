//! The vocabulary of the lexer: which LaTeX commands are operators, functions, Greek
//! letters, presentation-only (`\mathrm`, `\left`), text (`\text`) or spacing, and
//! which words are units, percent, hedges or connectives. Tables only, no scanning.

use super::Tok;
use crate::math::ast::{BigOp, Func, RelOp};

/// Words that mean "percent" when written after a number.
pub(super) const PERCENT_WORDS: &[&str] = &["percent", "pct", "percentage"];
/// Words that hedge or negate an answer.
pub(super) const NOT_WORDS: &[&str] = &["not", "no", "except", "neither", "nor"];
/// Words that qualify a number instead of naming it: `\text{at least } 12` is a bound, not
/// 12, and `\text{about } 12` an estimate (docs/semantics.md, "Qualifiers change the claim").
/// A comparative is a qualifier wherever it stands (`more than 12`, `12 or more`); so a box
/// reading `12 more` is unparsable rather than 12.
pub(super) const QUALIFIER_WORDS: &[&str] = &[
    "least",
    "most",
    "atleast",
    "atmost",
    "than",
    "more",
    "less",
    "fewer",
    "greater",
    "larger",
    "smaller",
    "higher",
    "lower",
    "above",
    "below",
    "exceeding",
    "about",
    "approximately",
    "approx",
    "roughly",
    "around",
    "nearly",
    "almost",
    "circa",
    "up",
    "upto",
    "maybe",
    "perhaps",
    "possibly",
    "probably",
    "likely",
    "estimated",
    "guess",
];
/// Plain-letter runs read as units (dropped) rather than products of variables.
pub(super) const UNIT_WORDS: &[&str] = &[
    "cm", "mm", "km", "m", "kg", "mg", "g", "lb", "lbs", "oz", "ft", "feet", "foot", "inch", "inches", "in",
    "yd", "yards", "mi", "mile", "miles", "meter", "meters", "metres", "hours", "hour", "hr", "hrs", "min",
    "mins", "minutes", "minute", "sec", "secs", "seconds", "second", "days", "day", "weeks", "years", "year",
    "units", "unit", "sq", "square", "cubic", "dollars", "dollar", "cents", "cent", "degrees", "degree",
    "deg", "rad", "radians", "liters", "litres", "ml", "mph", "kmh", "people", "students", "ways", "times",
    "points", "yuan", "euros", "euro",
];

pub(super) fn is_unit_word(w: &str) -> bool {
    w.len() >= 2 && UNIT_WORDS.contains(&w)
}

/// Classify a word from `\text{…}` or a plain letter run.
pub(super) fn word_token(word: &str) -> Tok {
    let lower = word.to_ascii_lowercase();
    if lower == "and" {
        Tok::Comma
    } else if lower == "or" {
        Tok::Or
    } else if PERCENT_WORDS.contains(&lower.as_str()) {
        Tok::Percent
    } else if NOT_WORDS.contains(&lower.as_str()) || QUALIFIER_WORDS.contains(&lower.as_str()) {
        Tok::Hedge(lower)
    } else {
        Tok::Word(lower)
    }
}

pub(super) fn command_token(name: &str) -> Option<Tok> {
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
        "sum" => T::BigOp(BigOp::Sum),
        "prod" => T::BigOp(BigOp::Prod),
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
        "lor" | "vee" => T::Or,
        "emptyset" | "varnothing" => T::EmptySet,
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
pub(super) fn is_transparent(name: &str) -> bool {
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

pub(super) fn is_text_command(name: &str) -> bool {
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

pub(super) fn is_space_command(name: &str) -> bool {
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
