//! Plain Python values on the host, and the parts of Python's semantics an assert line needs:
//! `==`, truth, `is` on the singletons, and `abs(a - b) < t` on numbers
//! (docs/code-semantics.md, "Assert lines judged on the host").
//!
//! The solution's answers arrive in the tagged JSON the serving driver writes
//! (`sandbox-images/python/verdict_harness.py`, `_encode`), and the test's literals are read
//! into the same type, so both sides of a comparison are data the solution never wrote code
//! for. Everything here follows CPython's rules for its built-in types; a case whose rule is
//! not modelled is never produced (the reader of literals refuses it, the decoder of answers
//! rejects it as the judge's `_decode` would).

use std::collections::HashMap;
use std::fmt::Write as _;

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{FromPrimitive, Signed, ToPrimitive, Zero};
use serde_json::Value;

/// The most digits an integer answer is read exactly. The test's own integers are refused
/// above [`MAX_LITERAL_DIGITS`], so a longer answer can equal none of them; it is kept as
/// [`PyValue::HugeInt`] (its sign is all a comparison with the test's values needs).
const MAX_ANSWER_DIGITS: usize = 4400;

/// The most digits an integer of the test may have (CPython's own default limit for reading
/// an integer from text).
pub const MAX_LITERAL_DIGITS: usize = 4300;

/// A value of one of Python's built-in plain-data types.
#[derive(Debug, Clone)]
pub enum PyValue {
    None,
    Bool(bool),
    Int(BigInt),
    /// An integer answer longer than [`MAX_ANSWER_DIGITS`]: unequal to every value a test can
    /// write; `true` when negative.
    HugeInt(bool),
    Float(f64),
    Complex(f64, f64),
    Str(String),
    Bytes(Vec<u8>),
    List(Vec<PyValue>),
    Tuple(Vec<PyValue>),
    /// Elements unequal to each other (deduplicated when built).
    Set(Vec<PyValue>),
    FrozenSet(Vec<PyValue>),
    /// Keys unequal to each other, in insertion order.
    Dict(Vec<(PyValue, PyValue)>),
    /// A built-in type or function, by name (MBPP passes `int` around).
    Builtin(String),
    /// An object of the solution's own class. The judge's stand-in refuses to be compared,
    /// hashed or tested for truth, so every such use raises.
    Reference,
}

/// An exception the test's expression would raise: the test ends in an error, not in a
/// failed assert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raised(pub &'static str);

const NOT_PLAIN: Raised = Raised(
    "TypeError: an object of the solution is not plain data: it cannot be compared, hashed, \
     tested for truth or iterated",
);

/// What a number is, for arithmetic and comparison (`bool` is an `int`).
#[derive(Debug, Clone)]
enum Num {
    Int(BigInt),
    Huge(bool),
    Float(f64),
    Complex(f64, f64),
}

impl PyValue {
    fn number(&self) -> Option<Num> {
        Some(match self {
            PyValue::Bool(b) => Num::Int(BigInt::from(u8::from(*b))),
            PyValue::Int(i) => Num::Int(i.clone()),
            PyValue::HugeInt(negative) => Num::Huge(*negative),
            PyValue::Float(f) => Num::Float(*f),
            PyValue::Complex(re, im) => Num::Complex(*re, *im),
            _ => return None,
        })
    }

    /// `bool(value)`.
    pub fn truth(&self) -> Result<bool, Raised> {
        Ok(match self {
            PyValue::None => false,
            PyValue::Bool(b) => *b,
            PyValue::Int(i) => !i.is_zero(),
            PyValue::HugeInt(_) | PyValue::Builtin(_) => true,
            PyValue::Float(f) => *f != 0.0,
            PyValue::Complex(re, im) => *re != 0.0 || *im != 0.0,
            PyValue::Str(s) => !s.is_empty(),
            PyValue::Bytes(b) => !b.is_empty(),
            PyValue::List(items)
            | PyValue::Tuple(items)
            | PyValue::Set(items)
            | PyValue::FrozenSet(items) => !items.is_empty(),
            PyValue::Dict(pairs) => !pairs.is_empty(),
            PyValue::Reference => return Err(NOT_PLAIN),
        })
    }

    /// `self is True`, `self is False`, `self is None`: those three are singletons, and the
    /// judge's decoder returns the singletons.
    pub fn is_singleton(&self, singleton: &PyValue) -> bool {
        matches!((self, singleton), (PyValue::None, PyValue::None))
            || matches!((self, singleton), (PyValue::Bool(a), PyValue::Bool(b)) if a == b)
    }

    /// Whether it is an `int`, `bool` or `float` (what a tolerance may be).
    pub fn is_real_number(&self) -> bool {
        matches!(self, PyValue::Bool(_) | PyValue::Int(_) | PyValue::Float(_))
    }

    /// A value of the test, read from its source: never an answer's stand-ins.
    pub fn is_literal(&self) -> bool {
        match self {
            PyValue::HugeInt(_) | PyValue::Reference | PyValue::Builtin(_) => false,
            PyValue::List(items)
            | PyValue::Tuple(items)
            | PyValue::Set(items)
            | PyValue::FrozenSet(items) => items.iter().all(PyValue::is_literal),
            PyValue::Dict(pairs) => pairs.iter().all(|(k, v)| k.is_literal() && v.is_literal()),
            _ => true,
        }
    }
}

/// `a == b`, as CPython decides it for built-in types.
pub fn py_eq(a: &PyValue, b: &PyValue) -> Result<bool, Raised> {
    use PyValue as V;
    if matches!(a, V::Reference) || matches!(b, V::Reference) {
        return Err(NOT_PLAIN);
    }
    if let (Some(x), Some(y)) = (a.number(), b.number()) {
        return Ok(num_eq(&x, &y));
    }
    Ok(match (a, b) {
        (V::None, V::None) => true,
        (V::Str(x), V::Str(y)) => x == y,
        (V::Bytes(x), V::Bytes(y)) => x == y,
        (V::Builtin(x), V::Builtin(y)) => x == y,
        (V::List(x), V::List(y)) | (V::Tuple(x), V::Tuple(y)) => return sequence_eq(x, y),
        (V::Set(x) | V::FrozenSet(x), V::Set(y) | V::FrozenSet(y)) => set_eq(x, y),
        (V::Dict(x), V::Dict(y)) => return dict_eq(x, y),
        _ => false,
    })
}

/// Lengths first, then element by element until the first unequal pair (so a reference
/// after it is never compared), as `list.__eq__` does.
fn sequence_eq(a: &[PyValue], b: &[PyValue]) -> Result<bool, Raised> {
    if a.len() != b.len() {
        return Ok(false);
    }
    for (x, y) in a.iter().zip(b) {
        if !py_eq(x, y)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn set_eq(a: &[PyValue], b: &[PyValue]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut fresh = 0;
    let Ok(keys) = b
        .iter()
        .map(|item| key(item, &mut fresh))
        .collect::<Result<std::collections::HashSet<_>, _>>()
    else {
        return false;
    };
    a.iter()
        .all(|item| key(item, &mut fresh).is_ok_and(|k| keys.contains(&k)))
}

/// Lengths first, then each key of `a` looked up in `b` and the values compared, in `a`'s
/// order, as `dict.__eq__` does.
fn dict_eq(a: &[(PyValue, PyValue)], b: &[(PyValue, PyValue)]) -> Result<bool, Raised> {
    if a.len() != b.len() {
        return Ok(false);
    }
    let mut fresh = 0;
    let mut index = HashMap::new();
    for (position, (k, _)) in b.iter().enumerate() {
        let Ok(k) = key(k, &mut fresh) else {
            return Ok(false);
        };
        index.insert(k, position);
    }
    for (k, value) in a {
        let Ok(k) = key(k, &mut fresh) else {
            return Ok(false);
        };
        let Some(&position) = index.get(&k) else {
            return Ok(false);
        };
        if !py_eq(value, &b[position].1)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn num_eq(a: &Num, b: &Num) -> bool {
    match (a, b) {
        (Num::Huge(_), _) | (_, Num::Huge(_)) => false,
        (Num::Int(x), Num::Int(y)) => x == y,
        (Num::Int(i), Num::Float(f)) | (Num::Float(f), Num::Int(i)) => int_float_eq(i, *f),
        (Num::Float(x), Num::Float(y)) => x == y,
        (Num::Complex(r1, i1), Num::Complex(r2, i2)) => r1 == r2 && i1 == i2,
        (Num::Complex(re, im), other) | (other, Num::Complex(re, im)) => {
            *im == 0.0 && num_eq(&Num::Float(*re), other)
        }
    }
}

fn int_float_eq(i: &BigInt, f: f64) -> bool {
    f.is_finite() && f.fract() == 0.0 && BigInt::from_f64(f).as_ref() == Some(i)
}

/// What hashing and equality agree on, so that sets and dict keys compare in linear time:
/// equal values have equal keys (`1`, `1.0`, `True`, `1+0j`), and values unequal to
/// everything, themselves included (nan, huge answers), get a key of their own.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Key {
    None,
    Int(BigInt),
    Float(u64),
    Complex(u64, u64),
    Unique(usize),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Key>),
    FrozenSet(Vec<Key>),
    Builtin(String),
}

/// The hash key of a hashable value; `Err` for what Python refuses to hash.
fn key(value: &PyValue, fresh: &mut usize) -> Result<Key, Raised> {
    let mut unique = || {
        *fresh += 1;
        Key::Unique(*fresh)
    };
    Ok(match value {
        PyValue::None => Key::None,
        PyValue::Bool(b) => Key::Int(BigInt::from(u8::from(*b))),
        PyValue::Int(i) => Key::Int(i.clone()),
        PyValue::HugeInt(_) => unique(),
        PyValue::Float(f) => float_key(*f).unwrap_or_else(unique),
        PyValue::Complex(re, im) if *im == 0.0 => float_key(*re).unwrap_or_else(unique),
        PyValue::Complex(re, im) if re.is_nan() || im.is_nan() => unique(),
        PyValue::Complex(re, im) => Key::Complex((re + 0.0).to_bits(), (im + 0.0).to_bits()),
        PyValue::Str(s) => Key::Str(s.clone()),
        PyValue::Bytes(b) => Key::Bytes(b.clone()),
        PyValue::Builtin(name) => Key::Builtin(name.clone()),
        PyValue::Tuple(items) => Key::Tuple(
            items
                .iter()
                .map(|item| key(item, fresh))
                .collect::<Result<_, _>>()?,
        ),
        PyValue::FrozenSet(items) => {
            let mut keys = items
                .iter()
                .map(|item| key(item, fresh))
                .collect::<Result<Vec<_>, _>>()?;
            keys.sort();
            keys.dedup();
            Key::FrozenSet(keys)
        }
        PyValue::List(_) | PyValue::Set(_) | PyValue::Dict(_) => {
            return Err(Raised("TypeError: unhashable type"));
        }
        PyValue::Reference => return Err(NOT_PLAIN),
    })
}

/// An integral float hashes as its integer; nan has no key (it equals nothing).
fn float_key(f: f64) -> Option<Key> {
    if f.is_nan() {
        None
    } else if f.is_finite() && f.fract() == 0.0 {
        BigInt::from_f64(f).map(Key::Int)
    } else {
        Some(Key::Float(f.to_bits()))
    }
}

/// `set(items)`: the first of each group of equal elements; `Err` when one is unhashable.
pub fn unique_elements(items: Vec<PyValue>) -> Result<Vec<PyValue>, Raised> {
    let mut fresh = 0;
    let mut seen = std::collections::HashSet::new();
    let mut kept = Vec::with_capacity(items.len());
    for item in items {
        if seen.insert(key(&item, &mut fresh)?) {
            kept.push(item);
        }
    }
    Ok(kept)
}

/// `{k: v for k, v in pairs}`: the first key object of each group of equal keys, the last
/// value given for it.
pub fn unique_pairs(pairs: Vec<(PyValue, PyValue)>) -> Result<Vec<(PyValue, PyValue)>, Raised> {
    let mut fresh = 0;
    let mut position: HashMap<Key, usize> = HashMap::new();
    let mut kept: Vec<(PyValue, PyValue)> = Vec::with_capacity(pairs.len());
    for (k, v) in pairs {
        match position.entry(key(&k, &mut fresh)?) {
            std::collections::hash_map::Entry::Occupied(at) => kept[*at.get()].1 = v,
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(kept.len());
                kept.push((k, v));
            }
        }
    }
    Ok(kept)
}

/// `abs(a - b) < tolerance` (or `<=`), with Python's arithmetic: integers exact, an integer
/// meeting a float converted to the nearest float (too large to convert raises
/// `OverflowError`), complex numbers by their modulus, anything else a `TypeError`.
pub fn within(a: &PyValue, b: &PyValue, tolerance: &PyValue, inclusive: bool) -> Result<bool, Raised> {
    if matches!(a, PyValue::Reference) || matches!(b, PyValue::Reference) {
        return Err(NOT_PLAIN);
    }
    let unsupported = Raised("TypeError: unsupported operand type(s) for -");
    let (Some(x), Some(y)) = (a.number(), b.number()) else {
        return Err(unsupported);
    };
    let distance = absolute(subtract(x, y)?)?;
    let Some(limit) = tolerance.number() else {
        return Err(Raised("TypeError: '<' not supported"));
    };
    Ok(match compare(&distance, &limit) {
        None => false,
        Some(order) => order.is_lt() || (inclusive && order.is_eq()),
    })
}

const OVERFLOW: Raised = Raised("OverflowError: int too large to convert to float");

fn to_float(n: &Num) -> Result<f64, Raised> {
    match n {
        Num::Int(i) => {
            let f = i.to_f64().filter(|f| f.is_finite()).ok_or(OVERFLOW)?;
            // `to_f64` is correctly rounded only up to 2^53; beyond, read the digits (Rust's
            // decimal reading is correctly rounded, as CPython's int-to-float is).
            if f.abs() < 9_007_199_254_740_992.0 {
                Ok(f)
            } else {
                i.to_string()
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .ok_or(OVERFLOW)
            }
        }
        Num::Huge(_) => Err(OVERFLOW),
        Num::Float(f) => Ok(*f),
        Num::Complex(..) => Err(Raised("TypeError: a complex number is not a float")),
    }
}

fn subtract(a: Num, b: Num) -> Result<Num, Raised> {
    Ok(match (a, b) {
        (Num::Complex(r1, i1), other) => {
            let (r2, i2) = complex_parts(&other)?;
            Num::Complex(r1 - r2, i1 - i2)
        }
        (other, Num::Complex(r2, i2)) => {
            let (r1, i1) = complex_parts(&other)?;
            Num::Complex(r1 - r2, i1 - i2)
        }
        (Num::Int(x), Num::Int(y)) => Num::Int(x - y),
        // A test's integers are short; an answer past MAX_ANSWER_DIGITS keeps its sign.
        (Num::Huge(negative), Num::Int(_)) => Num::Huge(negative),
        (Num::Int(_), Num::Huge(negative)) => Num::Huge(!negative),
        (Num::Huge(_), Num::Huge(_)) => return Err(OVERFLOW),
        (x, y) => Num::Float(to_float(&x)? - to_float(&y)?),
    })
}

fn complex_parts(n: &Num) -> Result<(f64, f64), Raised> {
    match n {
        Num::Complex(re, im) => Ok((*re, *im)),
        other => Ok((to_float(other)?, 0.0)),
    }
}

fn absolute(n: Num) -> Result<Num, Raised> {
    Ok(match n {
        Num::Int(i) => Num::Int(i.abs()),
        Num::Huge(_) => Num::Huge(false),
        Num::Float(f) => Num::Float(f.abs()),
        Num::Complex(re, im) => {
            let modulus = re.hypot(im);
            if modulus.is_infinite() && re.is_finite() && im.is_finite() {
                return Err(Raised("OverflowError: absolute value too large"));
            }
            Num::Float(modulus)
        }
    })
}

/// The order of two real numbers, exact across int and float; `None` with a nan.
fn compare(a: &Num, b: &Num) -> Option<std::cmp::Ordering> {
    use std::cmp::Ordering;
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => Some(x.cmp(y)),
        (Num::Float(x), Num::Float(y)) => x.partial_cmp(y),
        (Num::Int(i), Num::Float(f)) => int_float_cmp(i, *f),
        (Num::Float(f), Num::Int(i)) => int_float_cmp(i, *f).map(Ordering::reverse),
        (Num::Huge(negative), other) => {
            let order = match other {
                Num::Float(f) if f.is_nan() => return None,
                Num::Float(f) if f.is_infinite() => {
                    if *f > 0.0 {
                        Ordering::Less
                    } else {
                        Ordering::Greater
                    }
                }
                _ if *negative => Ordering::Less,
                _ => Ordering::Greater,
            };
            Some(order)
        }
        (other, Num::Huge(_)) => compare(b, other).map(Ordering::reverse),
        (Num::Complex(..), _) | (_, Num::Complex(..)) => None,
    }
}

fn int_float_cmp(i: &BigInt, f: f64) -> Option<std::cmp::Ordering> {
    use std::cmp::Ordering;
    if f.is_nan() {
        return None;
    }
    if f.is_infinite() {
        return Some(if f > 0.0 {
            Ordering::Less
        } else {
            Ordering::Greater
        });
    }
    let exact = BigRational::from_float(f)?;
    Some(BigRational::from_integer(i.clone()).cmp(&exact))
}

/// Reads an answer of the serving driver: plain JSON with the driver's tags, or `Err` where
/// the judge's decoder would refuse it (an unknown tag, an object that is not a tag, an
/// unhashable element of a set).
pub fn decode_answer(value: &Value) -> Result<PyValue, String> {
    Ok(match value {
        Value::Null => PyValue::None,
        Value::Bool(b) => PyValue::Bool(*b),
        Value::Number(n) => number_from_text(n.as_str())?,
        Value::String(s) => PyValue::Str(s.clone()),
        Value::Array(items) => PyValue::List(items.iter().map(decode_answer).collect::<Result<_, _>>()?),
        Value::Object(object) => {
            let mut entries = object.iter();
            let (Some((tag, payload)), None) = (entries.next(), entries.next()) else {
                return Err(format!("an object with {} keys is not plain data", object.len()));
            };
            decode_tag(tag, payload)?
        }
    })
}

fn number_from_text(text: &str) -> Result<PyValue, String> {
    if text.contains(['.', 'e', 'E']) {
        return text.parse::<f64>().map(PyValue::Float).map_err(|e| e.to_string());
    }
    let digits = text.trim_start_matches('-');
    if digits.len() > MAX_ANSWER_DIGITS {
        return Ok(PyValue::HugeInt(text.starts_with('-')));
    }
    text.parse::<BigInt>()
        .map(PyValue::Int)
        .map_err(|e| e.to_string())
}

fn decode_tag(tag: &str, payload: &Value) -> Result<PyValue, String> {
    let items = |payload: &Value| -> Result<Vec<PyValue>, String> {
        payload
            .as_array()
            .ok_or_else(|| format!("{tag} holds no list"))?
            .iter()
            .map(decode_answer)
            .collect()
    };
    let float = |payload: &Value| -> Result<f64, String> {
        payload
            .as_str()
            .and_then(python_float)
            .ok_or_else(|| format!("{tag} holds no float"))
    };
    Ok(match tag {
        "$ref" => PyValue::Reference,
        "$float" => PyValue::Float(float(payload)?),
        "$complex" => match payload.as_array().map(Vec::as_slice) {
            Some([re, im]) => PyValue::Complex(float(re)?, float(im)?),
            _ => return Err("$complex holds no pair".into()),
        },
        "$bytes" => PyValue::Bytes(
            payload
                .as_str()
                .and_then(hex_bytes)
                .ok_or("$bytes holds no hex text")?,
        ),
        "$tuple" => PyValue::Tuple(items(payload)?),
        "$set" => PyValue::Set(unique_elements(items(payload)?).map_err(|raised| raised.0.to_owned())?),
        "$frozenset" => {
            PyValue::FrozenSet(unique_elements(items(payload)?).map_err(|raised| raised.0.to_owned())?)
        }
        "$dict" => {
            let pairs = payload
                .as_array()
                .ok_or("$dict holds no list")?
                .iter()
                .map(|pair| match pair.as_array().map(Vec::as_slice) {
                    Some([k, v]) => Ok((decode_answer(k)?, decode_answer(v)?)),
                    _ => Err("a $dict entry is not a pair".to_owned()),
                })
                .collect::<Result<Vec<_>, _>>()?;
            PyValue::Dict(unique_pairs(pairs).map_err(|raised| raised.0.to_owned())?)
        }
        "$builtin" => PyValue::Builtin(payload.as_str().ok_or("$builtin holds no name")?.to_owned()),
        other => return Err(format!("unknown tag {other}")),
    })
}

/// `float(text)` for what `float.__repr__` writes (`nan`, `inf`, `-inf`, digits).
fn python_float(text: &str) -> Option<f64> {
    match text {
        "nan" | "-nan" => Some(f64::NAN),
        "inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        _ => text.parse().ok(),
    }
}

fn hex_bytes(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}

/// The value as the serving driver's decoder reads it: plain JSON where JSON says the same,
/// tags for the rest. Only literals of a test are encoded.
pub fn encode(value: &PyValue, out: &mut String) {
    let list = |items: &[PyValue], out: &mut String| {
        out.push('[');
        for (n, item) in items.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            encode(item, out);
        }
        out.push(']');
    };
    let tagged = |tag: &str, items: &[PyValue], out: &mut String| {
        let _ = write!(out, "{{\"{tag}\":");
        list(items, out);
        out.push('}');
    };
    match value {
        PyValue::None => out.push_str("null"),
        PyValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        PyValue::Int(i) => {
            let _ = write!(out, "{i}");
        }
        PyValue::Float(f) if f.is_finite() => {
            // Debug always writes a point or an exponent, so the guest reads a float back.
            let _ = write!(out, "{f:?}");
        }
        PyValue::Float(f) => {
            let text = if f.is_nan() {
                "nan"
            } else if *f > 0.0 {
                "inf"
            } else {
                "-inf"
            };
            let _ = write!(out, "{{\"$float\":\"{text}\"}}");
        }
        PyValue::Complex(re, im) => {
            let _ = write!(
                out,
                "{{\"$complex\":[\"{}\",\"{}\"]}}",
                float_text(*re),
                float_text(*im)
            );
        }
        PyValue::Str(s) => out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())),
        PyValue::Bytes(bytes) => {
            out.push_str("{\"$bytes\":\"");
            for byte in bytes {
                let _ = write!(out, "{byte:02x}");
            }
            out.push_str("\"}");
        }
        PyValue::List(items) => list(items, out),
        PyValue::Tuple(items) => tagged("$tuple", items, out),
        PyValue::Set(items) => tagged("$set", items, out),
        PyValue::FrozenSet(items) => tagged("$frozenset", items, out),
        PyValue::Dict(pairs) => {
            out.push_str("{\"$dict\":[");
            for (n, (k, v)) in pairs.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                out.push('[');
                encode(k, out);
                out.push(',');
                encode(v, out);
                out.push(']');
            }
            out.push_str("]}");
        }
        PyValue::Builtin(name) => {
            let _ = write!(
                out,
                "{{\"$builtin\":{}}}",
                serde_json::to_string(name).unwrap_or_default()
            );
        }
        PyValue::HugeInt(_) | PyValue::Reference => out.push_str("null"),
    }
}

fn float_text(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{f:?}")
    }
}

/// Roughly Python's `repr`, for the audit's evidence (never compared).
pub fn repr(value: &PyValue) -> String {
    let mut out = String::new();
    write_repr(value, &mut out);
    out
}

fn write_repr(value: &PyValue, out: &mut String) {
    let items = |items: &[PyValue], open: &str, close: &str, out: &mut String| {
        out.push_str(open);
        for (n, item) in items.iter().enumerate() {
            if n > 0 {
                out.push_str(", ");
            }
            write_repr(item, out);
        }
        if open == "(" && items.len() == 1 {
            out.push(',');
        }
        out.push_str(close);
    };
    match value {
        PyValue::None => out.push_str("None"),
        PyValue::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
        PyValue::Int(i) => {
            let _ = write!(out, "{i}");
        }
        PyValue::HugeInt(negative) => out.push_str(if *negative {
            "-<a very long int>"
        } else {
            "<a very long int>"
        }),
        PyValue::Float(f) => out.push_str(&float_text(*f)),
        PyValue::Complex(re, im) => {
            let _ = write!(out, "({}{:+}j)", float_text(*re), im);
        }
        PyValue::Str(s) => {
            let _ = write!(out, "{}", serde_json::to_string(s).unwrap_or_default());
        }
        PyValue::Bytes(bytes) => {
            let _ = write!(out, "b{:?}", String::from_utf8_lossy(bytes));
        }
        PyValue::List(list) => items(list, "[", "]", out),
        PyValue::Tuple(tuple) => items(tuple, "(", ")", out),
        PyValue::Set(set) if set.is_empty() => out.push_str("set()"),
        PyValue::Set(set) => items(set, "{", "}", out),
        PyValue::FrozenSet(set) => {
            out.push_str("frozenset(");
            items(set, "{", "}", out);
            out.push(')');
        }
        PyValue::Dict(pairs) => {
            out.push('{');
            for (n, (k, v)) in pairs.iter().enumerate() {
                if n > 0 {
                    out.push_str(", ");
                }
                write_repr(k, out);
                out.push_str(": ");
                write_repr(v, out);
            }
            out.push('}');
        }
        PyValue::Builtin(name) => {
            let _ = write!(out, "<built-in {name}>");
        }
        PyValue::Reference => out.push_str("<an object of the solution>"),
    }
}
