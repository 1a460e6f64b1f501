//! Unit tests pinning the answer forms of docs/semantics.md, "More forms": each form with
//! many small cases, and beside each the answers it must not equal.

use super::{MathOptions, verify};

fn opts() -> MathOptions {
    MathOptions::default()
}

fn eq(gold: &str, pred: &str) -> bool {
    verify(gold, pred, &opts())
        .unwrap_or_else(|e| panic!("{gold:?} vs {pred:?}: {e}"))
        .equal
}

/// Equal, or `false` when either side does not parse.
fn eq_or_unparsable(gold: &str, pred: &str) -> bool {
    verify(gold, pred, &opts()).is_ok_and(|e| e.equal)
}

fn same(a: &str, b: &str) {
    assert!(eq(a, b), "{a:?} should equal {b:?}");
    assert!(eq(b, a), "{b:?} should equal {a:?}");
}

fn differ(a: &str, b: &str) {
    assert!(!eq_or_unparsable(a, b), "{a:?} should differ from {b:?}");
    assert!(!eq_or_unparsable(b, a), "{b:?} should differ from {a:?}");
}

#[test]
fn repeating_decimals_are_exact_rationals() {
    same("0.\\overline{27}", "\\frac{3}{11}");
    same("0.1\\overline{6}", "\\frac16");
    same("0.\\overline{9}", "1");
    same("0.\\overline{3}", "\\frac13");
    same("1.\\overline{3}", "\\frac43");
    same("0.\\overline{142857}", "\\frac17");
    same("0.2\\overline{45}", "\\frac{27}{110}");
    same("-0.\\overline{6}", "-\\frac23");
    same("0.\\bar{3}", "\\frac13");
    same("0.\\overline 3", "\\frac13");
    same("0.\\dot{3}", "\\frac13");
    same("0.1\\dot{6}", "\\frac16");
    same("0.\\dot{2}\\dot{7}", "\\frac{3}{11}");
    same("0.\\dot{1}4285\\dot{7}", "\\frac17");
    same("0.\\overline{27}", "0.\\dot{2}\\dot{7}");
}

#[test]
fn repeating_decimals_are_not_their_digits_or_truncations() {
    differ("0.\\overline{27}", "0");
    differ("0.\\overline{27}", "27");
    differ("0.\\overline{27}", "0.27");
    differ("0.\\overline{27}", "\\frac{27}{100}");
    differ("0.1\\overline{6}", "\\frac{16}{100}");
    differ("0.\\overline{9}", "0.9");
    differ("0.\\overline{3}", "0.33");
    differ("0.\\overline{12}", "0.\\overline{21}");
    differ("0.1\\overline{6}", "0.\\overline{16}");
    // The rounding rule still applies to a decimal against the exact value.
    same("0.333", "0.\\overline{3}");
}

#[test]
fn complex_numbers_in_cartesian_form() {
    same("i", "i");
    same("3+4i", "4i+3");
    same("\\frac{3-4i}{5}", "\\frac35-\\frac45 i");
    same("\\frac{3-4i}{5}", "0.6-0.8i");
    same("-i", "\\frac{1}{i}");
    same("i^2", "-1");
    same("(1+i)^2", "2i");
    same("\\frac{1+i}{1-i}", "i");
    differ("i", "-i");
    differ("i", "1");
    differ("3+4i", "3-4i");
    differ("3+4i", "4+3i");
    differ("\\frac{3-4i}{5}", "3-4i");
}

#[test]
fn complex_numbers_in_polar_form() {
    same("e^{i\\pi}", "-1");
    same("e^{\\pi i}", "-1");
    same("2e^{i\\pi/3}", "1+\\sqrt3 i");
    same("2e^{i\\pi/3}", "1+i\\sqrt{3}");
    same("e^{i\\pi/2}", "i");
    same("e^{\\frac{i\\pi}{2}}", "i");
    same("\\sqrt2 e^{i\\pi/4}", "1+i");
    same("e^{2\\pi i}", "1");
    same("e^{-i\\pi/2}", "-i");
    same("4e^{i\\pi/6}", "2\\sqrt3+2i");
    same("\\exp(i\\pi)", "-1");
    same("re^{i\\theta}", "r\\cos\\theta + i r\\sin\\theta");
    same("e^{1+i\\pi}", "-e");
    differ("e^{i\\pi}", "1");
    differ("2e^{i\\pi/3}", "1-\\sqrt3 i");
    differ("2e^{i\\pi/3}", "\\sqrt3+i");
    differ("e^{i\\pi/2}", "-i");
    differ("re^{i\\theta}", "r\\cos\\theta - i r\\sin\\theta");
}

#[test]
fn polar_forms_are_exact_where_the_parts_are() {
    let v = verify("e^{i\\pi}", "-1", &opts()).expect("parses");
    assert_eq!(v.method, "rational");
    // An exact part never equals a nearby rational by tolerance.
    differ("e^{i\\pi}", "-1.0000000000001");
    differ("e^{i\\pi/2}", "0.0000000000001+i");
}

#[test]
fn special_angles_are_exact() {
    same("\\sin 30^\\circ", "0.5");
    same("\\sin 30^\\circ", "\\frac12");
    same("\\cos(\\pi/3)", "0.5");
    same("\\cos\\frac{\\pi}{3}", "\\frac12");
    same("\\sin 30^\\circ", "\\cos\\frac{\\pi}{3}");
    same("\\sin(150^\\circ)", "0.5");
    same("\\cos 120^\\circ", "-0.5");
    same("\\tan 45^\\circ", "1");
    same("\\tan\\frac{\\pi}{4}", "1");
    same("\\tan 135^\\circ", "-1");
    same("\\sec 60^\\circ", "2");
    same("\\csc 30^\\circ", "2");
    same("\\cot 45^\\circ", "1");
    same("\\sin\\frac{7\\pi}{6}", "-\\frac12");
    same("\\cos(-\\frac{2\\pi}{3})", "-0.5");
    same("\\sin(\\pi - \\frac{\\pi}{6})", "0.5");
    same("\\cos 90^\\circ", "0");
    same("\\sin\\pi", "0");
    same("\\cos 2\\pi", "1");
    same("\\sin 60^\\circ", "\\frac{\\sqrt3}{2}");
    same("\\cos 45^\\circ", "\\frac{\\sqrt2}{2}");
    same("\\tan 30^\\circ", "\\frac{\\sqrt3}{3}");
    same("\\sin 60^\\circ", "0.866");
    same("2\\sin 30^\\circ \\cos 30^\\circ", "\\sin 60^\\circ");
    // Powers of a special value are exact too.
    same("\\sin^2 45^\\circ", "0.5");
    same("\\sin^2 30^\\circ + \\cos^2 30^\\circ", "1");
    same("\\tan^2 30^\\circ", "\\frac13");
    same("\\tan^2 60^\\circ", "3");
    same("\\cos^3 60^\\circ", "0.125");
    same("\\sin^{-2} 45^\\circ", "2");
    same("\\sin^3 45^\\circ", "\\frac{\\sqrt2}{4}");
    differ("\\sin^2 45^\\circ", "0.50000000001");
    differ("\\tan^2 90^\\circ", "\\infty");
}

#[test]
fn special_angles_are_not_their_neighbours() {
    differ("\\sin 30^\\circ", "0.49999999999999994");
    differ("\\sin 30^\\circ", "0.50000000001");
    differ("\\cos\\frac{\\pi}{3}", "0.4999");
    differ("\\sin 30^\\circ", "\\frac{\\sqrt3}{2}");
    differ("\\cos 90^\\circ", "0.0000000000000001");
    differ("\\sin 60^\\circ", "0.87");
    differ("\\sin 30^\\circ", "-0.5");
    // A pole is undefined, not a huge number.
    differ("\\tan 90^\\circ", "16331239353195370");
    differ("\\tan\\frac{\\pi}{2}", "\\infty");
}

#[test]
fn nested_trigonometry_is_evaluated_once_per_level() {
    let mut nested = "x".to_string();
    for _ in 0..60 {
        nested = format!("\\sin(2 \\cdot {nested})");
    }
    let start = std::time::Instant::now();
    let _ = verify(&nested, &nested.replace('x', "y"), &opts());
    let _ = verify(&nested.replace('x', "\\pi"), "0", &opts());
    assert!(
        start.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn degrees_are_dropped_unless_the_other_side_is_a_multiple_of_pi() {
    same("30^\\circ", "30");
    same("30°", "30");
    same("60^\\circ", "\\frac{\\pi}{3}");
    same("180^\\circ", "\\pi");
    same("45^{\\circ}", "\\frac{\\pi}{4}");
    same("270^\\circ", "\\frac{3\\pi}{2}");
    same("120^\\circ", "\\frac{2\\pi}{3}");
    differ("60^\\circ", "\\frac{\\pi}{6}");
    differ("60^\\circ", "60\\pi");
    differ("30^\\circ", "31");
    differ("60^\\circ", "\\frac{\\pi}{3} + 1");
}

#[test]
fn temperatures_and_units_after_a_number_are_dropped() {
    same("-5^\\circ\\text{C}", "-5");
    same("-5", "-5^\\circ C");
    same("20°C", "20");
    same("5 \\mathrm{~cm}", "5");
    same("40\\,\\mathrm{km}", "40");
    same("3\\,\\mathrm{s}", "3");
    differ("-5^\\circ\\text{C}", "5");
    differ("-5^\\circ\\text{C}", "C");
    differ("5 \\mathrm{~cm}", "6");
}

#[test]
fn scientific_notation_is_a_decimal_for_the_rounding_rule() {
    same("6.67\\times10^{4}", "\\frac{200000}{3}");
    same("6.67 \\cdot 10^4", "\\frac{200000}{3}");
    same("6.67e4", "\\frac{200000}{3}");
    same("3.33\\times10^{-1}", "\\frac13");
    same("3.33e-1", "\\frac13");
    same("1.5\\times10^{6}", "1500000");
    same("1.5e6", "1500000");
    same("-6.67\\times10^{4}", "-\\frac{200000}{3}");
    same("3.14\\times10^{0}", "\\pi");
    same("1.41\\times 10^{2}", "100\\sqrt2");
    differ("6.7\\times10^{4}", "\\frac{200000}{3}");
    differ("6.66\\times10^{4}", "\\frac{200000}{3}");
    differ("6.67\\times10^{4}", "66667");
    differ("6.67\\times10^{4}", "\\frac{2000000}{3}");
    // An integer mantissa is exact, like any integer.
    differ("667\\times10^{2}", "\\frac{200000}{3}");
    same("667\\times10^{2}", "66700");
}

#[test]
fn approx_before_a_decimal_applies_the_rounding_rule() {
    same("\\pi", "\\approx 3.14");
    same("\\frac13", "\\approx 0.333");
    same("\\frac13", "\\approx 0.\\overline{3}");
    same("\\pi", "x \\approx 3.14");
    same("\\frac{200000}{3}", "\\approx 6.67\\times10^{4}");
    same("\\approx 3.14", "3.14");
    differ("\\pi", "\\approx 3.15");
    differ("\\frac13", "\\approx 0.33");
    differ("\\pi", "\\approx 3.1415");
    // Before an exact value, ≈ changes nothing: the value stays exact.
    same("12", "\\approx 12");
    same("11", "x \\approx 11");
    differ("12.3", "\\approx 12");
    differ("\\frac{200000}{3}", "\\approx 66667");
    same("\\sqrt2", "\\approx \\sqrt2");
    // The word is a qualifier, a hedge.
    differ("12", "\\text{approximately } 12");
}

#[test]
fn in_exact_approx_decimal_the_exact_value_is_the_answer() {
    same("\\frac13", "\\frac13 \\approx 0.333");
    same("\\frac13", "\\frac{1}{3} \\approx 0.33");
    same("\\sqrt2", "\\sqrt{2} \\approx 1.41");
    same("\\frac13", "x = \\frac13 \\approx 0.333");
    same("2\\pi", "2\\pi \\approx 6.28");
    differ("\\frac13", "\\frac27 \\approx 0.333");
    differ("\\frac13", "\\frac{1}{4} \\approx 0.333");
    differ("0.25", "\\frac13 \\approx 0.25");
}

#[test]
fn a_labelled_value_is_the_value() {
    same("14", "f(2) = 14");
    same("14", "14 = f(2)");
    same("-3", "g(-1) = -3");
    same("\\frac52", "f(\\frac12) = \\frac52");
    same("7", "P(3) = 7");
    differ("14", "f(2) = 15");
    differ("2", "f(2) = 14");
    // `x\sqrt3` is a value, not a label.
    same("x\\sqrt{3}", "y = x\\sqrt{3}");
    same("f(2) = 14", "f(2) = 14");
    differ("f(2) = 14", "f(3) = 14");
}

#[test]
fn labelled_components_compare_by_label_in_variable_order() {
    same("(2, 3)", "y = 3, x = 2");
    same("(2, 3)", "x = 2, y = 3");
    same("(2, 3)", "x=2, y=3");
    same("x = 2, y = 3", "y = 3, x = 2");
    same("(1, 2, 3)", "z = 3, x = 1, y = 2");
    same("(1, 2, 3)", "b = 2, c = 3, a = 1");
    same("(5, 7)", "q = 7, p = 5");
    same("(4, \\frac{\\pi}{3})", "\\theta = \\frac{\\pi}{3}, r = 4");
    same("(1, 2)", "x_2 = 2, x_1 = 1");
    differ("(2, 3)", "y = 2, x = 3");
    differ("(2, 3)", "x = 3, y = 2");
    differ("x = 2, y = 3", "x = 3, y = 2");
    differ("(2, 3)", "(3, 2)");
    differ("(2, 3)", "x = 2");
    // Against a plain list, which is unordered, the values compare as a set.
    same("x = -5, p = \\frac{14}{3}", "-5, \\frac{14}{3}");
    same("x = -5, p = \\frac{14}{3}", "\\frac{14}{3}, -5");
    // Different labels are different components.
    differ("x = 2, y = 3", "a = 2, b = 3");
}

#[test]
fn an_amc_choice_with_its_value_is_the_letter() {
    same("D", "\\textbf{(D)}\\ 7");
    same("D", "\\textbf{(D) }7");
    same("D", "(D) 7");
    same("D", "\\text{(D)} \\frac{7}{2}");
    same("\\textbf{(D)}\\ 7", "(D)");
    same("\\textbf{(D)}\\ 7", "\\textbf{(D)}\\ 8");
    differ("D", "\\textbf{(C)}\\ 7");
    differ("7", "\\textbf{(D)}\\ 7");
    differ("D", "(D) 7 (E) 8");
    differ("D", "(D) 7 \\text{ or } (E) 8");
    differ("D", "(D), (E)");
}

#[test]
fn whole_answer_words_compare_without_case() {
    same("No", "\\text{No}");
    same("No", "\\text{no}");
    same("No", "NO");
    same("Yes", "\\text{Yes}");
    same("Yes", "yes");
    same("Yes", "\\textbf{YES}");
    same("\\text{No solution}", "No solution");
    same("Evelyn", "\\text{evelyn}");
    differ("Yes", "No");
    differ("No", "\\text{Yes}");
    differ("No", "On");
    differ("No", "oN");
    differ("No", "0");
    differ("Yes", "Yes or No");
    differ("Yes", "\\text{Yes or No}");
}

#[test]
fn the_bare_gold_no_is_a_word_not_a_product() {
    let v = verify("No", "No", &opts()).expect("parses");
    assert_eq!(v.gold, "\"no\"");
    // A capital and a consonant stay a product of variables.
    same("Ax", "xA");
}

#[test]
fn named_sets_in_words() {
    same("\\text{all real numbers}", "\\mathbb{R}");
    same("\\text{All real numbers}", "(-\\infty, \\infty)");
    same("All real numbers", "\\mathbb{R}");
    same("\\text{all real numbers}", "x \\in \\mathbb{R}");
    same("\\text{all positive real numbers}", "(0, \\infty)");
    same("\\text{the set of all real numbers}", "\\mathbb{R}");
    differ("\\text{all real numbers}", "(0, \\infty)");
    differ("\\text{all real numbers}", "\\text{no real numbers}");
    differ("\\text{all positive real numbers}", "[0, \\infty)");
}

#[test]
fn an_empty_set_gold_parses_and_equals_only_an_empty_set() {
    same("\\emptyset", "\\varnothing");
    same("\\emptyset", "\\{\\}");
    same("\\varnothing", "∅");
    differ("\\emptyset", "0");
    differ("\\emptyset", "\\{0\\}");
    differ("\\emptyset", "\\text{No}");
    // A prediction with no value is unparsable, never the empty set.
    assert!(verify("\\emptyset", ",", &opts()).is_err());
    assert!(verify("\\emptyset", "\\text{and}", &opts()).is_err());
    assert!(verify("\\emptyset", "()", &opts()).is_err());
}

#[test]
fn set_difference() {
    same("\\mathbb{R}\\setminus\\{1\\}", "(-\\infty,1)\\cup(1,\\infty)");
    same("\\mathbb{R}\\setminus\\{1\\}", "x \\neq 1");
    same(
        "\\mathbb{R}\\setminus\\{-1, 1\\}",
        "(-\\infty,-1)\\cup(-1,1)\\cup(1,\\infty)",
    );
    same("[0,5]\\setminus(1,2)", "[0,1]\\cup[2,5]");
    same("\\mathbb{R}\\setminus[0,1]", "(-\\infty,0)\\cup(1,\\infty)");
    same("(0,\\infty)\\setminus\\{2\\}", "(0,2)\\cup(2,\\infty)");
    same("\\mathbb{R} - \\{1\\}", "(-\\infty,1)\\cup(1,\\infty)");
    same("\\mathbb{R}\\backslash\\{0\\}", "x \\ne 0");
    differ("\\mathbb{R} - \\{1\\}", "\\mathbb{R}");
    differ("\\mathbb{R}\\setminus\\{1\\}", "\\mathbb{R}");
    differ("\\mathbb{R}\\setminus\\{1\\}", "(-\\infty,1]\\cup(1,\\infty)");
    differ("\\mathbb{R}\\setminus\\{1\\}", "\\mathbb{R}\\setminus\\{-1\\}");
    differ("\\mathbb{R}\\setminus[0,1]", "(-\\infty,0]\\cup[1,\\infty)");
}

#[test]
fn set_builder_notation_is_the_solution_set() {
    same("\\{x \\mid x > 2\\}", "(2,\\infty)");
    same("\\{x | x > 2\\}", "x > 2");
    same("\\{x : x \\le 3\\}", "(-\\infty, 3]");
    same(
        "\\{x \\in \\mathbb{R} \\mid x \\neq 1\\}",
        "\\mathbb{R}\\setminus\\{1\\}",
    );
    same(
        "\\{x \\mid x < -1 \\text{ or } x > 1\\}",
        "(-\\infty,-1)\\cup(1,\\infty)",
    );
    same("\\{x \\mid x > 1, x < 5\\}", "(1, 5)");
    same("\\{x \\mid x > 1 \\text{ and } x < 5\\}", "(1, 5)");
    same("\\left\\{ x \\mid -2 \\le x < 3 \\right\\}", "[-2, 3)");
    differ("\\{x \\mid x > 2\\}", "[2,\\infty)");
    differ("\\{x \\mid x > 2\\}", "\\{2\\}");
    differ("\\{x \\mid x > 2\\}", "(-\\infty, 2)");
    assert!(verify("(2,\\infty)", "\\{x \\mid y > 2\\}", &opts()).is_err());
}

#[test]
fn an_or_of_inequalities_is_the_union_of_their_solution_sets() {
    same("x<-1 \\text{ or } x>1", "(-\\infty,-1)\\cup(1,\\infty)");
    same("x \\le -2 \\text{ or } x \\ge 3", "(-\\infty,-2]\\cup[3,\\infty)");
    same(
        "x \\le -2 \\text{ or } x \\ge 3",
        "x \\ge 3 \\text{ or } x \\le -2",
    );
    same("x < -1 \\text{ or } x > 1", "x<-1 or x>1");
    same("x < -1 \\lor x > 1", "(-\\infty,-1)\\cup(1,\\infty)");
    same("x < 0 \\text{ or } 2 < x < 3", "(-\\infty, 0)\\cup(2,3)");
    same("x < 5 \\text{ or } x > 2", "\\mathbb{R}");
    same(
        "x \\in (-\\infty, -1) \\text{ or } x \\in (1, \\infty)",
        "x<-1 \\text{ or } x>1",
    );
    same("x \\in [0, 1] \\text{ or } x > 2", "[0,1]\\cup(2,\\infty)");
    differ("x \\in [0, 1] \\text{ or } x > 2", "[0,1]\\cup[2,\\infty)");
    differ("x<-1 \\text{ or } x>1", "(-1,1)");
    differ("x<-1 \\text{ or } x>1", "(-\\infty,-1]\\cup[1,\\infty)");
    differ("x \\le -2 \\text{ or } x \\ge 3", "[-2, 3]");
    differ("x<-1 \\text{ or } x>1", "x > 1");
    differ("x<-1 \\text{ or } x>1", "x < -1");
    // Different variables are not one solution set; an `and` is not a union.
    differ("x<-1 \\text{ or } y>1", "(-\\infty,-1)\\cup(1,\\infty)");
    differ("x<-1 \\text{ and } x>1", "(-\\infty,-1)\\cup(1,\\infty)");
    // A single value or'ed with the inequality is still a hedge.
    differ("x > 1", "x > 1 \\text{ or } 5");
}

#[test]
fn a_base_subscript_is_a_value() {
    same("1011_2", "11");
    same("11", "1011_{2}");
    same("204_5", "54");
    differ("1011_2", "1011");
    differ("1011_2", "12");
    differ("1011_2", "1011_3");
}

#[test]
fn column_vectors_tuples_and_angle_brackets_are_equal() {
    same("\\begin{pmatrix} 1 \\\\ 2 \\\\ 3 \\end{pmatrix}", "(1, 2, 3)");
    same(
        "\\begin{pmatrix} 1 \\\\ 2 \\\\ 3 \\end{pmatrix}",
        "\\langle 1, 2, 3 \\rangle",
    );
    same("(1, 2, 3)", "\\langle 1, 2, 3 \\rangle");
    same("(1, 2)", "\\langle 1, 2\\rangle");
    same(
        "\\begin{bmatrix} -1 \\\\ \\frac12 \\end{bmatrix}",
        "\\left\\langle -1, \\frac12 \\right\\rangle",
    );
    differ("(1, 2, 3)", "\\langle 3, 2, 1 \\rangle");
    differ(
        "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}",
        "\\langle 2, 1 \\rangle",
    );
    differ("(1, 2, 3)", "\\langle 1, 2 \\rangle");
    // `[1, 2]` is the closed interval, not the pair.
    differ("[1, 2]", "\\langle 1, 2 \\rangle");
    differ("[1, 2]", "(1, 2)");
}

#[test]
fn binomials_with_free_variables_are_polynomials() {
    same("\\binom{n}{2}", "\\frac{n(n-1)}{2}");
    same("\\binom{n}{3}", "\\frac{n(n-1)(n-2)}{6}");
    same("\\binom{n+1}{2}", "\\frac{n(n+1)}{2}");
    same("\\binom{n}{1}", "n");
    same("\\binom{5}{2}", "10");
    same("\\dbinom{n}{2}", "\\frac{n^2-n}{2}");
    differ("\\binom{n}{2}", "\\frac{n(n+1)}{2}");
    differ("\\binom{n}{2}", "n^2");
    differ("\\binom{n}{3}", "\\binom{n}{2}");
}

#[test]
fn ratios_compare_by_value() {
    same("6:8", "3:4");
    same("3:4", "\\frac34");
    same("6:8", "\\frac34");
    same("3:4", "0.75");
    same("1:3", "0.333");
    same("2:4:6", "1:2:3");
    same("\\sqrt2 : 2", "1:\\sqrt2");
    same("x:2x", "1:2");
    differ("3:4", "4:3");
    differ("3:4", "\\frac43");
    differ("1:2:3", "1:2:4");
    differ("1:2:3", "1:2");
    differ("0:0", "0:1");
    // A zero part makes it a time or a score, compared part by part.
    differ("12:00", "1:00");
    same("12:00", "12:00");
    differ("3:0", "6:0");
    differ("0:1", "0");
    differ("12:00", "\\infty");
    differ("3:4", "(3, 4)");
}
