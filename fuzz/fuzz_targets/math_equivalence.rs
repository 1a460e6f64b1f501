//! Two arbitrary answers (split at the first newline) compared both ways under both
//! percent settings.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verdict::math::{MathOptions, verify};

fuzz_target!(|input: &str| {
    let (gold, prediction) = input.split_once('\n').unwrap_or((input, ""));
    for percent_matches_number in [false, true] {
        let opts = MathOptions {
            percent_matches_number,
            ..MathOptions::default()
        };
        let _ = verify(gold, prediction, &opts);
        let _ = verify(prediction, gold, &opts);
    }
});
