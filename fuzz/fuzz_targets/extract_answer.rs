//! A completion's answer part and its final answer, under both extraction settings.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verdict::math::{MathOptions, extract_answer};

fuzz_target!(|completion: &str| {
    let part = verdict::completion::answer_part(completion);
    let _ = verdict::completion::check_format(completion, false);
    for text_fallbacks in [false, true] {
        let opts = MathOptions {
            text_fallbacks,
            ..MathOptions::default()
        };
        if let Some(extraction) = extract_answer(part, &opts) {
            // What was extracted is a piece of the input, never something larger.
            assert!(extraction.answer.len() <= part.len());
        }
    }
});
