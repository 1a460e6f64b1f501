//! Finding the final answer in text: `\boxed{…}` scanning, the opt-in text fallbacks, and
//! the `$…$` / `\(…\)` / `\[…\]` delimiters of gold answers.
//!
//! All scans are single forward passes with explicit brace counting, so a 100 KB
//! completion with thousands of boxes costs linear time and no recursion.

use super::limits::MAX_COMPLETION_BYTES;
use super::{AnswerSource, Extraction, MathOptions};

/// The longest text between two boxes that still reads as "box, connective, box".
const MAX_CONNECTIVE_BYTES: usize = 60;

/// One `\boxed{…}` occurrence: its byte span and content.
struct Found<'a> {
    start: usize,
    end: usize,
    content: &'a str,
}

/// Scan for top-level `\boxed`/`\fbox`. Returns the boxes and, when an unclosed box
/// follows the last closed one, the byte offset where its content starts.
fn scan_boxes(s: &str) -> (Vec<Found<'_>>, Option<usize>) {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut unclosed_tail = None;
    while let Some(off) = s[i..].find('\\') {
        let start = i + off;
        let rest = &s[start + 1..];
        let name_len = if rest.starts_with("boxed") {
            5
        } else if rest.starts_with("fbox") {
            4
        } else {
            i = start + 1;
            continue;
        };
        let mut j = start + 1 + name_len;
        // `\boxeds` is a different (misspelt) command.
        if bytes.get(j).is_some_and(|c| c.is_ascii_alphabetic()) {
            i = j;
            continue;
        }
        while bytes.get(j).is_some_and(|c| *c == b' ') {
            j += 1;
        }
        match bytes.get(j) {
            Some(b'{') => {
                let mut depth = 0usize;
                let mut k = j;
                let mut close = None;
                while k < bytes.len() {
                    match bytes[k] {
                        b'\\' => k += 1,
                        b'{' => depth += 1,
                        b'}' => {
                            depth -= 1;
                            if depth == 0 {
                                close = Some(k);
                                break;
                            }
                        }
                        _ => {}
                    }
                    k += 1;
                }
                match close {
                    Some(k) => {
                        out.push(Found {
                            start,
                            end: k + 1,
                            content: &s[j + 1..k],
                        });
                        unclosed_tail = None;
                        i = k + 1;
                    }
                    None => {
                        unclosed_tail = Some(j + 1);
                        break;
                    }
                }
            }
            Some(_) if j > start + 1 + name_len => {
                // `\boxed 5`: the next run of non-space characters.
                let mut k = j;
                while k < bytes.len() && !matches!(bytes[k], b' ' | b'\n' | b'$' | b'\t') {
                    k += 1;
                }
                let content = s[j..k].trim_end_matches(['.', ',']);
                if !content.is_empty() {
                    out.push(Found {
                        start,
                        end: k,
                        content,
                    });
                    unclosed_tail = None;
                }
                i = k.max(j + 1);
            }
            _ => {
                unclosed_tail = Some(j);
                i = j.max(start + 1);
            }
        }
        if i >= s.len() {
            break;
        }
    }
    (out, unclosed_tail)
}

/// `\boxed{\boxed{5}}` is `5`.
fn unwrap_nested(mut content: &str) -> &str {
    for _ in 0..16 {
        let t = content.trim();
        let (boxes, _) = scan_boxes(t);
        match boxes.as_slice() {
            [only] if only.start == 0 && only.end == t.len() => content = only.content,
            _ => return t,
        }
    }
    content.trim()
}

/// Is the text between two boxes a pure connective: spaces, `,`, `;`, `and`, `or`, `&`,
/// Markdown emphasis, spacing commands (`\quad`, `\,`, `\\`), math delimiters (`$`, `\(`,
/// `\]`…) and `\text{and}`? Any other word or symbol (`**Final Answer**`, `wait`, `.`)
/// makes the earlier box a draft and the last box the answer (docs/semantics.md, "The last
/// box is the answer"). `or` joins too: `\boxed{1} or \boxed{2}` is the hedge `1 or 2`,
/// which is wrong against a single gold, not the free pick of its last box.
fn is_connective(between: &str) -> bool {
    if between.len() > MAX_CONNECTIVE_BYTES {
        return false;
    }
    let b = between.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' | b'\n' | b'\r' | b',' | b';' | b'$' | b'&' | b'~' | b'*' => i += 1,
            b'\\' => {
                let rest = &between[i + 1..];
                let name_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
                if name_len == 0 {
                    // `\(` `\)` `\[` `\]` `\,` `\;` `\:` `\!` `\ ` `\\`
                    match rest.bytes().next() {
                        Some(b'(' | b')' | b'[' | b']' | b',' | b';' | b':' | b'!' | b' ' | b'\\') => i += 2,
                        _ => return false,
                    }
                    continue;
                }
                let name = &rest[..name_len];
                i += 1 + name_len;
                match name {
                    "quad" | "qquad" | "enspace" | "hfill" | "newline" => {}
                    "text" | "textbf" | "textit" | "mbox" | "textrm" | "mathrm" => {
                        // `\text{ and }`: the group must itself be a connective word.
                        let group = &between[i..];
                        let Some(inner) = group.strip_prefix('{').and_then(|g| g.split_once('}')) else {
                            return false;
                        };
                        if !is_connective(inner.0) {
                            return false;
                        }
                        i += 1 + inner.0.len() + 1;
                    }
                    _ => return false,
                }
            }
            c if c.is_ascii_alphabetic() => {
                let word_len = between[i..].bytes().take_while(u8::is_ascii_alphabetic).count();
                let word = &between[i..i + word_len];
                if !(word.eq_ignore_ascii_case("and") || word.eq_ignore_ascii_case("or")) {
                    return false;
                }
                i += word_len;
            }
            _ => return false,
        }
    }
    true
}

/// Join the trailing run of pieces that are separated only by connectives ("and", ",",
/// `\quad`): `\boxed{2} and \boxed{3}` is the answer `2, 3`, while
/// `\boxed{3}, no wait, \boxed{5}` and `\boxed{3} **Final Answer** \boxed{5}` are `5`.
fn join_tail(s: &str, spans: &[(usize, usize, &str)]) -> String {
    let Some(last) = spans.len().checked_sub(1) else {
        return String::new();
    };
    let mut first = last;
    while first > 0 && is_connective(&s[spans[first - 1].1..spans[first].0]) {
        first -= 1;
    }
    let parts: Vec<&str> = spans[first..].iter().map(|(_, _, c)| unwrap_nested(c)).collect();
    parts.join(", ")
}

pub fn extract_answer(answer_part: &str, opts: &MathOptions) -> Option<Extraction> {
    let text = truncate(answer_part, MAX_COMPLETION_BYTES);
    let (boxes, unclosed_tail) = scan_boxes(text);
    if !boxes.is_empty() && unclosed_tail.is_none() {
        let spans: Vec<(usize, usize, &str)> = boxes.iter().map(|b| (b.start, b.end, b.content)).collect();
        let answer = join_tail(text, &spans);
        let all_boxed = boxes.iter().map(|b| b.content.to_string()).collect();
        return (!answer.trim().is_empty()).then_some(Extraction {
            answer,
            source: AnswerSource::Boxed,
            all_boxed,
        });
    }
    if opts.text_fallbacks {
        let all_boxed = boxes.iter().map(|b| b.content.to_string()).collect();
        return text_fallback(text).map(|answer| Extraction {
            answer,
            source: AnswerSource::TextFallback,
            all_boxed,
        });
    }
    None
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Case-insensitive search for the last occurrence of an ASCII phrase.
fn rfind_ci(hay: &str, needle: &str) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    if n.len() > h.len() {
        return None;
    }
    (0..=h.len() - n.len())
        .rev()
        .find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

/// Fallbacks, most explicit first: a marker phrase ("the final answer is", "####",
/// "Answer:"), then the last delimited maths, then the last number.
fn text_fallback(text: &str) -> Option<String> {
    for marker in ["final answer is", "####", "answer:", "answer is"] {
        if let Some(i) = rfind_ci(text, marker) {
            let rest = &text[i + marker.len()..];
            if let Some(ans) = clean_fallback(rest) {
                return Some(ans);
            }
        }
    }
    // Whichever comes last: the final delimited maths or the final number.
    let number = last_number(text);
    if let Some((_, end, content)) = math_segments(text).last() {
        let c = content.trim();
        let number_after = number.as_ref().is_some_and(|(start, _)| start >= end);
        if !c.is_empty() && !number_after {
            return Some(c.to_string());
        }
    }
    number.map(|(_, n)| n)
}

/// Alphabetic words of two or more letters: prose rather than an answer.
fn word_count(s: &str) -> usize {
    s.split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| w.len() >= 2)
        .count()
}

/// The answer part of "…is $7$. I hope it is correct.": the sentence after the marker,
/// its leading maths, or the last number in it when it is prose.
fn clean_fallback(rest: &str) -> Option<String> {
    let rest = rest.trim_start_matches([' ', ':', '*', '\n']);
    let segs = math_segments(rest);
    if let Some((a, _, content)) = segs.first()
        && rest[..*a].trim().is_empty()
    {
        let c = content.trim();
        return (!c.is_empty()).then(|| c.to_string());
    }
    let mut end = rest.len();
    for stop in ["\n", ". ", "I hope"] {
        if let Some(k) = rest.find(stop) {
            end = end.min(k);
        }
    }
    let sentence = &rest[..end];
    let ans = sentence
        .trim()
        .trim_matches(['*', '$', ' '])
        .trim_end_matches('.')
        .trim();
    let ans = ans
        .strip_prefix("\\[")
        .and_then(|a| a.strip_suffix("\\]"))
        .unwrap_or(ans)
        .trim();
    if word_count(&ans.replace("percent", "")) >= 2 {
        return last_number(sentence).map(|(_, n)| n);
    }
    (!ans.is_empty()).then(|| ans.to_string())
}

/// The last number in `text` and its byte offset.
fn last_number(text: &str) -> Option<(usize, String)> {
    let b = text.as_bytes();
    let mut end = b.len();
    while end > 0 && !b[end - 1].is_ascii_digit() {
        end -= 1;
    }
    if end == 0 {
        return None;
    }
    let mut start = end;
    // Digits with inner `.`, `,` or `/` (`1,000.99`, `2/3`).
    while start > 0
        && (b[start - 1].is_ascii_digit()
            || matches!(b[start - 1], b'.' | b',' | b'/') && start >= 2 && b[start - 2].is_ascii_digit())
    {
        start -= 1;
    }
    if start > 0 && b[start - 1] == b'-' {
        start -= 1;
    }
    Some((start, text[start..end].to_string()))
}

/// `$…$`, `$$…$$`, `\(…\)` and `\[…\]` segments, as (start, end, inner) byte spans.
pub fn math_segments(s: &str) -> Vec<(usize, usize, &str)> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if matches!(b.get(i + 1), Some(b'(' | b'[')) => {
                let close = if b[i + 1] == b'(' { "\\)" } else { "\\]" };
                match s[i + 2..].find(close) {
                    Some(k) => {
                        out.push((i, i + 2 + k + 2, &s[i + 2..i + 2 + k]));
                        i = i + 2 + k + 2;
                    }
                    None => i += 2,
                }
            }
            b'\\' => i += 2,
            b'$' => {
                let dd = b.get(i + 1) == Some(&b'$');
                let open = if dd { 2 } else { 1 };
                let mut k = i + open;
                let mut found = None;
                while k < b.len() {
                    match b[k] {
                        b'\\' => k += 1,
                        b'$' => {
                            found = Some(k);
                            break;
                        }
                        _ => {}
                    }
                    k += 1;
                }
                match found {
                    Some(k) => {
                        let close_len = if dd && b.get(k + 1) == Some(&b'$') { 2 } else { 1 };
                        out.push((i, k + close_len, &s[i + open..k]));
                        i = k + close_len;
                    }
                    None => break,
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// The answer text of one side of `verify`: the boxed answer if any, else the final
/// delimited maths, else the whole string.
pub fn answer_text(s: &str) -> String {
    let s = s.trim();
    if s.contains("\\boxed") || s.contains("\\fbox") {
        let (boxes, _) = scan_boxes(s);
        if !boxes.is_empty() {
            let spans: Vec<(usize, usize, &str)> =
                boxes.iter().map(|b| (b.start, b.end, b.content)).collect();
            return strip_delims(&join_tail(s, &spans));
        }
    }
    let segs = math_segments(s);
    if segs.is_empty() {
        return s.to_string();
    }
    if segs.len() == 1 && segs[0].0 == 0 && segs[0].1 == s.len() {
        return segs[0].2.trim().to_string();
    }
    join_tail(s, &segs)
}

/// The text after the last `\boxed{` when that box is never closed (`\boxed{x = 3`), for
/// reading a *gold* answer that would otherwise be unparsable. Predictions never get this
/// leniency: an unclosed box in a completion is `no_answer` (docs/semantics.md, "Extraction").
pub fn unclosed_box_content(s: &str) -> Option<String> {
    if !(s.contains("\\boxed") || s.contains("\\fbox")) {
        return None;
    }
    let (_, unclosed) = scan_boxes(s);
    let content = s[unclosed?..].trim();
    let content = content.trim_end_matches(['$', ' ', '.']).trim();
    (!content.is_empty()).then(|| strip_delims(content))
}

/// A box written around delimiters (`\boxed{$x<3$}`).
fn strip_delims(s: &str) -> String {
    let t = s.trim();
    let segs = math_segments(t);
    if segs.len() == 1 && segs[0].0 == 0 && segs[0].1 == t.len() {
        return segs[0].2.trim().to_string();
    }
    t.replace('$', " ")
}
