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

/// Gold answers as values: numbers, letters, words, sets, intervals with a bracket of each
/// kind, `±`. Left out are the forms whose equality is knowingly not transitive
/// (docs/semantics.md, "A prediction never equals two unequal golds"): decimals (the rounding
/// rule), labels and equations, same-bracket pairs (`(1,3)` is a pair or an interval, `[1,2]`
/// a tuple or a set, by what it is compared with) and degrees. The forms of docs/semantics.md,
/// "More forms", that are exact values are in.
fn gold_value() -> BoxedStrategy<String> {
    let form = prop_oneof![
        (1i64..10).prop_map(|d| format!("0.\\overline{{{d}}}")),
        (1i64..4, 1i64..4).prop_map(|(a, b)| format!("{a}:{b}")),
        (1i64..4, 1i64..4).prop_map(|(a, b)| format!("{a}:{b}:{a}")),
        prop::sample::select(vec![
            "i",
            "1+i",
            "-i",
            "e^{i\\pi}",
            "2e^{i\\pi/3}",
            "1+\\sqrt3 i",
            "\\sin 30^\\circ",
            "\\cos\\frac{\\pi}{3}",
            "\\tan 45^\\circ",
            "\\sin^2 45^\\circ",
            "\\binom{x}{2}",
            "\\frac{x(x-1)}{2}",
            "1011_2",
            "\\langle 1, 2\\rangle",
            "No",
            "Yes",
            "\\text{no}",
            "\\text{all real numbers}",
            "\\textbf{(C)}\\ 5",
            "\\mathbb{R}\\setminus\\{1\\}",
            "\\mathbb{R}\\setminus\\{0\\}",
            "x<-1 \\text{ or } x>1",
            "x \\le 0 \\text{ or } x \\ge 1",
            "\\{x \\mid x > 2\\}",
            "\\{x \\mid x \\ne 1\\}",
            "(-\\infty,1)\\cup(1,\\infty)",
        ])
        .prop_map(str::to_owned),
    ];
    let number = prop_oneof![
        (-2i64..4).prop_map(|n| n.to_string()),
        (1i64..4, 2i64..4).prop_map(|(a, b)| format!("\\frac{{{a}}}{{{b}}}")),
        Just("\\sqrt{2}".to_owned()),
        Just("\\pi".to_owned()),
        Just("x".to_owned()),
        Just("x+1".to_owned()),
    ];
    prop_oneof![
        4 => number.clone(),
        2 => form,
        1 => prop::sample::select(vec!["C", "D", "\\text{(C)}", "\\text{Evelyn}", "\\text{Yes}"]).prop_map(str::to_owned),
        1 => prop::sample::select(vec!["\\emptyset", "\\{\\}", "\\mathbb{R}"]).prop_map(str::to_owned),
        1 => (number.clone(), number.clone()).prop_map(|(a, b)| format!("\\{{{a}, {b}\\}}")),
        1 => (number.clone(), number.clone()).prop_map(|(a, b)| format!("{a}, {b}")),
        1 => number.clone().prop_map(|a| format!("\\pm {a}")),
        1 => (-2i64..2, 2i64..5).prop_map(|(a, b)| format!("[{a}, {b})")),
        1 => (-2i64..2).prop_map(|a| format!("({a}, \\infty)")),
    ]
    .boxed()
}

/// Predictions: the gold forms, and every way of saying several of them or none of them at
/// once: hedges, candidate lists, joined and drafted boxes, labels, content-free answers.
fn prediction() -> impl Strategy<Value = String> {
    let value = gold_value();
    prop_oneof![
        3 => value.clone(),
        1 => (value.clone(), value.clone()).prop_map(|(a, b)| format!("{a} \\text{{ or }} {b}")),
        1 => (value.clone(), value.clone()).prop_map(|(a, b)| format!("\\boxed{{{a}}} or \\boxed{{{b}}}")),
        1 => (value.clone(), value.clone()).prop_map(|(a, b)| format!("\\boxed{{{a}}}, \\boxed{{{b}}}")),
        1 => (value.clone(), value.clone()).prop_map(|(a, b)| format!("\\boxed{{{a}}} **Final Answer** \\boxed{{{b}}}")),
        1 => value.clone().prop_map(|a| format!("x = {a}")),
        1 => (prop::sample::select(vec!["at least", "about", "not", "up to", "more than"]), value.clone())
            .prop_map(|(q, a)| format!("\\text{{{q} }} {a}")),
        1 => prop::sample::select(vec![
            ",", ";", "\\text{and}", "\\text{or}", "\\{,\\}", "\\text{Proved, as shown above}",
            "\\text{A, B}", "\\phantom{1}", "\\text{}", "N", "\\text{answer}",
        ]).prop_map(str::to_owned),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// A prediction equal to two golds makes those golds equal: otherwise it is an answer that
    /// pays without being the answer (docs/semantics.md, "Integrity rules").
    #[test]
    fn a_prediction_never_equals_two_golds_judged_unequal(
        p in prediction(),
        g1 in gold_value(),
        g2 in gold_value(),
    ) {
        if equal(&g1, &p) == Some(true) && equal(&g2, &p) == Some(true) {
            prop_assert_eq!(
                equal(&g1, &g2),
                Some(true),
                "{:?} equals both {:?} and {:?}, which differ",
                p, g1, g2
            );
        }
    }

    /// Content-free answers never equal a gold.
    #[test]
    fn content_free_answers_equal_no_gold(
        g in gold_value(),
        p in prop::sample::select(vec![
            ",", ";", ", ,", "\\text{and}", "\\text{or}", "\\text{and, or}", "\\{,\\}", "()", "{}",
            "\\text{Proved, as shown above}", "\\text{A, B}", "\\phantom{1}", "\\text{}", "\\,",
        ]),
    ) {
        prop_assert_ne!(equal(&g, p), Some(true), "{:?} equals {:?}", p, g);
    }
}
