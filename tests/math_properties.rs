//! Properties of the math verifier over generated inputs: equivalence is reflexive and
//! symmetric, an integer equals itself in every written form, tuples keep their order while
//! sets do not, and no input makes it panic.

use proptest::prelude::*;
use verdict::math::{MathOptions, verify};

fn equal(gold: &str, prediction: &str) -> Option<bool> {
    verify(gold, prediction, &MathOptions::default())
        .ok()
        .map(|eq| eq.equal)
}

/// Small expressions in the LaTeX that datasets use.
fn expression() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        (-50i64..50).prop_map(|n| n.to_string()),
        (1i64..20, 1i64..20).prop_map(|(a, b)| format!("\\frac{{{a}}}{{{b}}}")),
        (1i64..30).prop_map(|n| format!("\\sqrt{{{n}}}")),
        Just("x".to_owned()),
        Just("\\pi".to_owned()),
    ];
    leaf.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a}+{b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a})-({b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a})\\cdot({b})")),
            (inner.clone(), 0u32..4).prop_map(|(a, k)| format!("({a})^{{{k}}}")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn equivalence_is_reflexive(a in expression()) {
        prop_assert_eq!(equal(&a, &a), Some(true), "{} vs itself", a);
    }

    #[test]
    fn equivalence_is_symmetric(a in expression(), b in expression()) {
        prop_assert_eq!(equal(&a, &b), equal(&b, &a), "{} vs {}", a, b);
    }

    #[test]
    fn an_integer_equals_itself_in_every_written_form(n in -999_999i64..999_999, d in 2i64..9) {
        let plain = n.to_string();
        let grouped = {
            let digits = n.unsigned_abs().to_string();
            let mut out = String::new();
            for (i, c) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i) % 3 == 0 {
                    out.push(',');
                }
                out.push(c);
            }
            if n < 0 { format!("-{out}") } else { out }
        };
        for form in [
            format!("\\frac{{{}}}{{{d}}}", n * d),
            format!("{n}.0"),
            format!("{n}.000"),
            format!("{n}\\times10^{{0}}"),
            grouped,
        ] {
            prop_assert_eq!(equal(&plain, &form), Some(true), "{} vs {}", plain, form);
        }
        prop_assert_eq!(equal(&plain, &(n + 1).to_string()), Some(false));
    }

    #[test]
    fn tuples_keep_order_and_sets_do_not(a in -20i64..20, b in -20i64..20) {
        prop_assume!(a != b);
        prop_assert_eq!(equal(&format!("({a}, {b})"), &format!("({b}, {a})")), Some(false));
        prop_assert_eq!(equal(&format!("\\{{{a}, {b}\\}}"), &format!("\\{{{b}, {a}\\}}")), Some(true));
    }

    #[test]
    fn arbitrary_text_never_panics(gold in "\\PC{0,40}", prediction in "[-+*/^(){}\\\\a-z0-9 .,=<>]{0,60}") {
        let _ = verify(&gold, &prediction, &MathOptions::default());
    }
}
