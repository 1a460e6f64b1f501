//! Bounds on every step of math verification (docs/semantics.md, "Bounds").
//!
//! Each limit turns a pathological input into a quick `ParseError` or an approximate
//! comparison instead of a hang, a stack overflow or an allocation spike.

/// Longest answer string `verify` parses (bytes).
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// Longest completion `extract_answer` scans (bytes).
pub const MAX_COMPLETION_BYTES: usize = 1 << 20;
/// Digits in one numeric literal.
pub const MAX_DIGITS: usize = 2_000;
/// Tokens in one answer.
pub const MAX_TOKENS: usize = 5_000;
/// Parser nesting depth (brackets, braces, `\sqrt`, unary operators…).
pub const MAX_DEPTH: u32 = 200;
/// Items in one list, set, tuple or matrix.
pub const MAX_ITEMS: usize = 256;
/// Size, in bits, of an exact rational result; beyond it evaluation goes approximate.
pub const MAX_EXACT_BITS: u64 = 40_000;
/// Largest exact factorial argument (5000! has about 54,000 bits).
pub const MAX_FACTORIAL: u64 = 3_000;
/// How many `±` may be expanded in one answer (2^n values).
pub const MAX_PLUS_MINUS: usize = 6;
/// Terms evaluated across all `\sum`/`\prod` in one evaluation (nested ones share it).
pub const MAX_SERIES_TERMS: u64 = 10_000;
