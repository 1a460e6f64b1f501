//! The R1 completion layout: reasoning inside `<think>…</think>`, then the answer part.
//!
//! Both verifiers (math and code) look for the answer only in the answer part, so a box or a
//! code fence that appears while the model is still thinking never counts as its answer.

const THINK_OPEN: &str = "<think>";
const THINK_CLOSE: &str = "</think>";

/// The text after the last `</think>`, or the whole completion when there is no closing tag.
///
/// The *last* closing tag is used so that a completion which closes its reasoning twice cannot
/// smuggle an answer out of the reasoning by closing it early.
pub fn answer_part(completion: &str) -> &str {
    match completion.rfind(THINK_CLOSE) {
        Some(at) => &completion[at + THINK_CLOSE.len()..],
        None => completion,
    }
}

/// Whether a prompt ends inside an open `<think>` block, as chat templates of reasoning models
/// such as DeepSeek-R1-Distill and QwQ leave it (`…<｜Assistant｜><think>\n`): the completion
/// then starts with the reasoning and only closes the block. Only the end counts, so a prompt
/// that merely describes the tags ("reason inside <think> </think>") does not.
pub fn prompt_opens_think(prompt: &str) -> bool {
    prompt.trim_end().ends_with(THINK_OPEN)
}

/// Why a completion does not follow the `<think>…</think> answer` layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatViolation {
    MissingThinkOpen,
    MissingThinkClose,
    SeveralThinkBlocks,
    TextBeforeThink,
    EmptyAnswer,
}

impl FormatViolation {
    pub fn explain(self) -> &'static str {
        match self {
            Self::MissingThinkOpen => "no <think> tag",
            Self::MissingThinkClose => "no </think> tag",
            Self::SeveralThinkBlocks => "more than one <think> block",
            Self::TextBeforeThink => "text before <think>",
            Self::EmptyAnswer => "nothing after </think>",
        }
    }
}

/// Checks the R1 format: exactly one `<think>…</think>` block at the start (leading whitespace
/// allowed) followed by a non-empty answer part.
///
/// `think_opened_in_prompt` is for chat templates that end the prompt with `<think>`: the
/// completion then starts inside the reasoning and must contain no opening tag of its own.
pub fn check_format(completion: &str, think_opened_in_prompt: bool) -> Result<(), FormatViolation> {
    let opens = completion.matches(THINK_OPEN).count();
    let closes = completion.matches(THINK_CLOSE).count();
    let expected_opens = usize::from(!think_opened_in_prompt);
    if opens > expected_opens || closes > 1 {
        return Err(FormatViolation::SeveralThinkBlocks);
    }
    if opens < expected_opens {
        return Err(FormatViolation::MissingThinkOpen);
    }
    if closes == 0 {
        return Err(FormatViolation::MissingThinkClose);
    }
    let body = if think_opened_in_prompt {
        completion
    } else {
        let trimmed = completion.trim_start();
        match trimmed.strip_prefix(THINK_OPEN) {
            Some(rest) => rest,
            None => return Err(FormatViolation::TextBeforeThink),
        }
    };
    // With one opening tag at the start and one closing tag, the close must follow the open.
    let close_at = body.find(THINK_CLOSE).ok_or(FormatViolation::MissingThinkClose)?;
    if body[close_at + THINK_CLOSE.len()..].trim().is_empty() {
        return Err(FormatViolation::EmptyAnswer);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_part_is_text_after_the_last_closing_tag() {
        assert_eq!(answer_part("<think>a</think> b"), " b");
        assert_eq!(answer_part("<think>a</think>b</think>c"), "c");
        assert_eq!(answer_part("no tags"), "no tags");
    }

    #[test]
    fn well_formed_completion_passes() {
        assert_eq!(check_format("<think>reason</think> \\boxed{2}", false), Ok(()));
        assert_eq!(check_format("\n <think>\nr\n</think>\n42", false), Ok(()));
    }

    #[test]
    fn each_violation_is_named() {
        use FormatViolation::*;
        assert_eq!(check_format("just 42", false), Err(MissingThinkOpen));
        assert_eq!(check_format("<think>r 42", false), Err(MissingThinkClose));
        assert_eq!(check_format("<think>r</think>   ", false), Err(EmptyAnswer));
        assert_eq!(check_format("x <think>r</think> 4", false), Err(TextBeforeThink));
        assert_eq!(
            check_format("<think>a</think><think>b</think> 4", false),
            Err(SeveralThinkBlocks)
        );
        assert_eq!(
            check_format("<think>a</think>b</think> 4", false),
            Err(SeveralThinkBlocks)
        );
    }

    #[test]
    fn a_closing_tag_before_the_opening_one_is_not_a_block() {
        assert!(check_format("</think><think> 4", false).is_err());
    }

    #[test]
    fn a_prompt_opens_think_only_when_it_ends_with_the_tag() {
        assert!(prompt_opens_think("<｜User｜>2+2?<｜Assistant｜><think>\n"));
        assert!(prompt_opens_think("<|im_start|>assistant\n<think>\n\n"));
        assert!(!prompt_opens_think("Reason inside <think> </think>, then answer."));
        assert!(!prompt_opens_think("<|im_start|>assistant\n<think>\n\n</think>\n\n"));
        assert!(!prompt_opens_think("<|im_start|>assistant\n"));
    }

    #[test]
    fn prompt_opened_think_expects_only_a_closing_tag() {
        assert_eq!(check_format("reasoning</think> 4", true), Ok(()));
        assert_eq!(
            check_format("<think>reasoning</think> 4", true),
            Err(FormatViolation::SeveralThinkBlocks)
        );
    }
}
