//! The code block of a completion, as the code reward takes it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verdict::code::fence::extract_code;

fuzz_target!(|completion: &str| {
    let part = verdict::completion::answer_part(completion);
    for tags in [&["python", "py", "python3"][..], &["javascript", "js"][..]] {
        if let Some(code) = extract_code(part, tags) {
            assert!(code.len() <= part.len());
        }
    }
});
