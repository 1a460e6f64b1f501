//! One answer parsed on both sides of a comparison: lexer, parser, evaluator and renderer
//! must neither panic nor hang, and whatever parses compares equal to itself or reports why.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verdict::math::{MathOptions, verify};

fuzz_target!(|answer: &str| {
    let _ = verify(answer, answer, &MathOptions::default());
    let _ = verify(answer, "0", &MathOptions::default());
});
