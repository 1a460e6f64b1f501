//! Code extraction (docs/code-semantics.md): the last fenced block of the answer part whose tag names the
//! task's language; an untagged fence counts as the task's language, blocks tagged with another
//! language are skipped, and no such fence means `no_code`.
//!
//! A single forward pass over lines, so a huge completion costs linear time. An unclosed final
//! fence is not a block: a completion cut off mid-program would only fail, and judging a
//! fragment would blame the program for the truncation.

/// The fence openers Markdown allows: three or more backticks or tildes.
fn fence_of(line: &str) -> Option<(char, usize, &str)> {
    let trimmed = line.trim_start();
    // More than three spaces of indentation is an indented code line, not a fence.
    if line.len() - trimmed.len() > 3 {
        return None;
    }
    let marker = trimmed.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let run = trimmed.chars().take_while(|c| *c == marker).count();
    (run >= 3).then(|| (marker, run, trimmed[run..].trim()))
}

/// The body of the last fenced block whose tag is one of `tags` (compared case-insensitively on
/// the info string's first word) or which has no tag.
pub fn extract_code(answer_part: &str, tags: &[&str]) -> Option<String> {
    let mut last: Option<String> = None;
    let mut open: Option<(char, usize, bool, String)> = None;
    for line in answer_part.split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']);
        match &mut open {
            None => {
                if let Some((marker, run, info)) = fence_of(content) {
                    let tag = info.split_whitespace().next().unwrap_or("");
                    let wanted = tag.is_empty() || tags.iter().any(|t| t.eq_ignore_ascii_case(tag));
                    open = Some((marker, run, wanted, String::new()));
                }
            }
            Some((marker, run, wanted, body)) => {
                let closes = fence_of(content)
                    .is_some_and(|(m, r, info)| m == *marker && r >= *run && info.is_empty());
                if closes {
                    if *wanted {
                        last = Some(std::mem::take(body));
                    }
                    open = None;
                } else if *wanted {
                    body.push_str(content);
                    body.push('\n');
                }
            }
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    const PY: &[&str] = &["python", "py", "python3"];

    #[test]
    fn the_last_block_of_the_language_wins() {
        let text = "```python\nprint(1)\n```\ntext\n```py\nprint(2)\n```\n";
        assert_eq!(extract_code(text, PY).as_deref(), Some("print(2)\n"));
    }

    #[test]
    fn tags_are_case_insensitive_and_untagged_fences_count() {
        assert_eq!(extract_code("```Python3\nx=1\n```", PY).as_deref(), Some("x=1\n"));
        assert_eq!(extract_code("```\nx=2\n```", PY).as_deref(), Some("x=2\n"));
        assert_eq!(
            extract_code("~~~ python extra words\nx=3\n~~~", PY).as_deref(),
            Some("x=3\n")
        );
    }

    #[test]
    fn blocks_of_other_languages_are_skipped() {
        let text = "```python\ngood()\n```\n```bash\nrm -rf /\n```\n```text\noutput\n```";
        assert_eq!(extract_code(text, PY).as_deref(), Some("good()\n"));
        assert_eq!(extract_code("```js\nx\n```", PY), None);
    }

    #[test]
    fn no_fence_or_an_unclosed_fence_is_no_code() {
        assert_eq!(extract_code("def f(): pass", PY), None);
        assert_eq!(extract_code("```python\ndef f():\n    pass", PY), None);
    }

    #[test]
    fn a_fence_followed_by_end_of_turn_tokens_is_found_in_the_answer_part() {
        use crate::completion::answer_part;
        let completion = "<think>r</think>\n```python\nprint(1)\n```<|im_end|>";
        assert_eq!(
            extract_code(answer_part(completion), PY).as_deref(),
            Some("print(1)\n")
        );
        let completion = "<think>r</think>```python\nprint(2)\n```\n<|endoftext|>\n<|endoftext|>";
        assert_eq!(
            extract_code(answer_part(completion), PY).as_deref(),
            Some("print(2)\n")
        );
        // Without the shared stripping the closing line would carry the token as its info string.
        assert_eq!(extract_code("```python\nprint(1)\n```<|im_end|>", PY), None);
    }

    #[test]
    fn a_longer_fence_can_contain_a_shorter_one() {
        let text = "````python\ns = '''\n```\n'''\n````\n";
        assert_eq!(extract_code(text, PY).as_deref(), Some("s = '''\n```\n'''\n"));
    }

    #[test]
    fn crlf_lines_are_read_as_lines() {
        assert_eq!(
            extract_code("```python\r\nprint(1)\r\n```\r\n", PY).as_deref(),
            Some("print(1)\n")
        );
    }
}
