//! Hunts for a prediction that equals two golds the verifier itself judges unequal: such a
//! prediction pays without being the answer (docs/semantics.md, "A prediction never equals two
//! unequal golds"). Input: prediction, gold A and gold B, one per line. Forms whose equality is
//! knowingly not transitive are skipped: decimals (the rounding rule), labels and equations,
//! bracketed pairs (a pair or an interval by what it is compared with), degrees and percent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verdict::math::{MathOptions, verify};

fn skipped(s: &str) -> bool {
    let b = s.as_bytes();
    let decimal = b.windows(2).any(|w| w[0] == b'.' && w[1].is_ascii_digit());
    decimal
        || ["=", "(", ")", "[", "]", "<", ">", "\\le", "\\ge", "\\in", "circ", "°", "deg", "%", "\\approx", "\\sim"]
            .iter()
            .any(|t| s.contains(t))
}

fuzz_target!(|input: &str| {
    let mut parts = input.splitn(3, '\n');
    let (Some(p), Some(a), Some(b)) = (parts.next(), parts.next(), parts.next()) else {
        return;
    };
    if [p, a, b].iter().any(|s| skipped(s)) {
        return;
    }
    let opts = MathOptions::default();
    let equal = |gold: &str, pred: &str| verify(gold, pred, &opts).is_ok_and(|e| e.equal);
    if equal(a, p) && equal(b, p) {
        assert!(
            equal(a, b) || equal(b, a),
            "{p:?} equals both {a:?} and {b:?}, which the verifier judges unequal"
        );
    }
});
