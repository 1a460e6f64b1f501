//! Unit tests pinning each equivalence rule of docs/semantics.md through the public API, plus the
//! pathological inputs. Symmetric rules are checked in both directions.

use super::{AnswerSource, MathOptions, extract_answer, verify};

fn opts() -> MathOptions {
    MathOptions::default()
}

fn eq(gold: &str, pred: &str) -> bool {
    verify(gold, pred, &opts())
        .unwrap_or_else(|e| panic!("{gold:?} vs {pred:?}: {e}"))
        .equal
}

fn method(gold: &str, pred: &str) -> &'static str {
    verify(gold, pred, &opts()).expect("parses").method
}

/// Equal in both directions.
fn same(a: &str, b: &str) {
    assert!(eq(a, b), "{a:?} should equal {b:?}");
    assert!(eq(b, a), "{b:?} should equal {a:?}");
}

fn differ(a: &str, b: &str) {
    assert!(!eq(a, b), "{a:?} should differ from {b:?}");
    assert!(!eq(b, a), "{b:?} should differ from {a:?}");
}

#[test]
fn integers_and_big_integers_are_exact() {
    same("42", "42");
    differ("123456789012345678901234567890", "123456789012345678901234567891");
    same("016", "16");
    assert_eq!(method("7", "7.0"), "rational");
}

#[test]
fn terminating_decimals_compare_exactly() {
    same("0.25", "\\frac14");
    same("2.5", "2.50");
    differ("0.3", "0.30000000000000004");
    same(".4", "0.4");
}

#[test]
fn decimal_rounding_rule() {
    same("0.333", "\\frac13");
    differ("0.33", "\\frac13");
    same("0.667", "\\frac23");
    same("3.14", "\\pi");
    differ("3.1415", "\\pi");
    differ("\\frac{22}{7}", "\\pi");
    differ("667", "\\frac{2000}{3}");
    same("1.414", "\\sqrt2");
    assert_eq!(method("0.333", "1/3"), "decimal_rounding");
}

#[test]
fn thousands_separators_but_not_tuples() {
    same("1000000", "1,000,000");
    same("1000000", "1\\,000\\,000");
    same("1000", "1{,}000");
    same("1000", "1 000");
    differ("(1,2)", "12");
    differ("32349", "32, 349");
}

#[test]
fn scientific_notation() {
    same("1500000", "1.5\\times10^{6}");
    same("1500000", "1.5e6");
}

#[test]
fn fractions_mixed_numbers_and_roots() {
    same("\\frac{1}{2}", "\\dfrac{1}{2}");
    same("\\tfrac12", "\\cfrac{1}{2}");
    same("2\\frac12", "\\frac52");
    same("-1\\frac12", "-\\frac32");
    same("2", "\\sqrt[3]{8}");
    same("2\\sqrt3", "\\sqrt{12}");
    differ("4", "4\\sqrt{2}");
}

#[test]
fn operators_and_implicit_multiplication() {
    same("6", "2\\cdot3");
    same("6", "2\\times 3");
    same("2", "6\\div3");
    same("2\\pi", "\\pi\\cdot 2");
    same("\\left( \\frac{1}{3} \\right)", "1/3");
}

#[test]
fn constants_and_functions() {
    same("e^{2}", "e^2");
    same("3", "\\log_2 8");
    same("1", "\\ln e");
    same("\\frac{\\sqrt{3}}{2}", "\\sin\\frac{\\pi}{3}");
    same("\\frac{\\sqrt{3}}{2}", "\\sin(60^\\circ)");
    same("3+4i", "4i+3");
    differ("3+4i", "3-4i");
    differ("1-\\frac{1}{e}", "1+\\frac{1}{e}");
}

#[test]
fn tiny_and_huge_exact_values_are_told_apart() {
    differ("\\frac{1}{2004!}", "\\frac{1}{2006!}");
    differ("\\frac{1}{2^{99}}", "\\frac{1}{2^{98}}");
    differ(
        "\\frac{2^{2005}+1}{3 \\cdot 2^{2006}}",
        "\\frac{1}{3 \\cdot 2^{2006}}",
    );
}

#[test]
fn free_variables_are_compared_as_functions() {
    same("x^2+2x+1", "(x+1)^2");
    differ("x^2+2x+1", "(x-1)^2");
    differ("\\sqrt{x^2}", "x");
    same("\\sqrt{1/n}", "\\frac{1}{\\sqrt{n}}");
    differ("x+2n+1", "x+1");
    assert_eq!(method("(x+1)^2", "x^2+2x+1"), "numeric_probe");
}

#[test]
fn percent_and_units() {
    same("50\\%", "50%");
    differ("25\\%", "25");
    let lenient = MathOptions {
        percent_matches_number: true,
        ..opts()
    };
    assert!(verify("25\\%", "25", &lenient).unwrap().equal);
    assert!(verify("25\\%", "0.25", &lenient).unwrap().equal);
    same("30^\\circ", "30");
    same("5\\text{ cm}", "5");
    same("5\\mbox{ cm}", "5");
    same("10", "\\$10");
    same("15\\mbox{ cm}^2", "15");
}

#[test]
fn equations() {
    same("x=3", "3");
    same("y=2x+1", "2x+1");
    same("y=2x+1", "2x+1=y");
    same("x+2y=4", "2x+4y=8");
    differ("3x-y+13=0", "3x+4y+14=0");
    differ("2x+z=1", "1");
    differ("7 = 11a+c", "11a+c");
    differ(
        "\\frac{x^2}{4}+\\frac{y^2}{3}=1",
        "\\frac{x^2}{16}+\\frac{y^2}{12}=1",
    );
    assert_eq!(method("x+2y=4", "2x+4y=8"), "equation");
}

#[test]
fn inequalities_equal_their_solution_sets() {
    same("x>2", "(2,\\infty)");
    same("x \\geq 5", "5 \\leq x");
    same("-x > -1", "x < 1");
    differ("x < 1", "x > -1");
    same("-2 \\le x \\le 7", "x \\in [-2,7]");
    same("1\\leq|z|\\leq \\frac{3}{2}", "[-\\frac32,-1]\\cup[1,\\frac32]");
    same("x \\neq 3", "(-\\infty,3)\\cup(3,\\infty)");
}

#[test]
fn intervals_and_unions() {
    differ("[1,2]", "(1,2)");
    same("[1,2)", "[1,2)");
    same("[1,2]\\cup[2,3]", "[1,3]");
    same("(-\\infty,1)\\cup(2,\\infty)", "(2,\\infty)\\cup(-\\infty,1)");
    same("\\mathbb{R}", "(-\\infty,\\infty)");
    same("(\\frac35,\\frac83]", "(0.6,2.667]");
}

#[test]
fn sets_tuples_and_lists() {
    same("\\{1,2,3\\}", "\\{3,2,1\\}");
    same("\\{1,2\\}", "\\{1,2,2\\}");
    differ("\\{1,2,3\\}", "\\{1,2\\}");
    same("1,2,3", "3,2,1");
    differ("(1,2)", "(2,1)");
    same("(3,\\frac{\\pi}{2})", "\\left( 3, \\frac{\\pi}{2} \\right)");
}

#[test]
fn plus_minus_is_the_set_of_both_values() {
    same("\\pm 2", "2, -2");
    differ("\\pm 2", "2");
    same("1 \\pm \\sqrt{19}", "1+\\sqrt{19}, 1-\\sqrt{19}");
}

#[test]
fn multi_answer_gold_needs_the_complete_answer_and_hedges_fail() {
    differ("1331 \\text{ and } 1728", "1728");
    assert!(!eq("1", "1 \\text{ or } 2"));
    assert!(!eq("12", "\\text{not } 12"));
    assert!(!eq("5", "3, 5"));
}

#[test]
fn matrices_and_vectors() {
    same(
        "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}",
        "\\begin{bmatrix}1&2\\\\3&4\\end{bmatrix}",
    );
    differ(
        "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}",
        "\\begin{pmatrix}1&2\\\\3&5\\end{pmatrix}",
    );
    same(
        "\\begin{pmatrix}1\\\\2\\end{pmatrix}",
        "\\begin{bmatrix}1\\\\2\\end{bmatrix}",
    );
}

#[test]
fn multiple_choice_letters_and_text() {
    same("C", "\\text{(C)}");
    same("C", "(C)");
    same("C", "\\textbf{(C)}");
    differ("C", "D");
    same("\\text{Evelyn}", "Evelyn");
    differ("\\text{Evelyn}", "\\text{Carla}");
    assert_eq!(method("C", "(C)"), "choice");
}

#[test]
fn gold_is_parsed_as_a_whole_never_as_its_leading_number() {
    same("\\dfrac{9}{7}", "$\\frac{9}{7}$");
    differ("1", "1 - \\sqrt{2}");
    same("$1 - \\sqrt{2}$", "1-\\sqrt2");
}

#[test]
fn parse_errors_say_why() {
    let e = verify("\\foo{1}", "1", &opts()).unwrap_err();
    assert!(e.error.message.contains("unknown command \\foo at byte 0"), "{e}");
    let deep = format!("{}1{}", "(".repeat(300), ")".repeat(300));
    let e = verify(&deep, "1", &opts()).unwrap_err();
    assert!(e.error.message.contains("nesting deeper than 200"), "{e}");
}

#[test]
fn extraction_takes_the_last_balanced_box() {
    let ex = extract_answer("First $\\boxed{3}$, no wait, $\\boxed{5}$.", &opts()).unwrap();
    assert_eq!(ex.answer, "5");
    assert_eq!(ex.all_boxed, vec!["3", "5"]);
    assert_eq!(ex.source, AnswerSource::Boxed);
    assert_eq!(
        extract_answer("\\boxed{\\boxed{5}}", &opts()).unwrap().answer,
        "5"
    );
    assert_eq!(extract_answer("\\fbox{7}", &opts()).unwrap().answer, "7");
    assert_eq!(extract_answer("Thus \\boxed 7.", &opts()).unwrap().answer, "7");
    assert_eq!(
        extract_answer("roots $\\boxed{2}$ and $\\boxed{3}$", &opts())
            .unwrap()
            .answer,
        "2, 3"
    );
}

#[test]
fn extraction_refuses_unclosed_misspelt_or_missing_boxes() {
    assert!(extract_answer("so \\boxed{7", &opts()).is_none());
    assert!(extract_answer("so \\boxd{7}", &opts()).is_none());
    assert!(extract_answer("The answer is 7", &opts()).is_none());
}

#[test]
fn text_fallbacks_are_opt_in() {
    let lenient = MathOptions {
        text_fallbacks: true,
        ..opts()
    };
    let get = |s: &str| extract_answer(s, &lenient).map(|e| e.answer);
    assert_eq!(get("the final answer is 12").as_deref(), Some("12"));
    assert_eq!(get("#### 12").as_deref(), Some("12"));
    assert_eq!(get("Answer: 12").as_deref(), Some("12"));
    assert_eq!(
        get("Final Answer: The final answer is $7$. I hope it is correct.").as_deref(),
        Some("7")
    );
    assert_eq!(
        extract_answer("the final answer is 12", &lenient).unwrap().source,
        AnswerSource::TextFallback
    );
}

#[test]
fn pathological_inputs_return_without_panicking() {
    let inputs = [
        "10^{10^{10^{10}}}".to_string(),
        "9999999999!".to_string(),
        format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000)),
        format!("{}1{}", "{".repeat(10_000), "}".repeat(10_000)),
        format!("{}2{}", "\\sqrt{".repeat(1_000), "}".repeat(1_000)),
        "7".repeat(50_000),
        "2^{2^{64}}".to_string(),
        "(-1)^{10^{30}}".to_string(),
        "\\binom{10^{9}}{5}".to_string(),
        "-".repeat(3_000) + "1",
    ];
    for input in &inputs {
        let _ = verify(input, "1", &opts());
        let _ = verify("1", input, &opts());
        let _ = verify(input, input, &opts());
    }
    assert!(!eq("10^{10^{10^{10}}}", "1"));
    let big = "Let me think. ".repeat(2_000) + &"\\boxed{7} ".repeat(9_000);
    assert_eq!(extract_answer(&big, &opts()).unwrap().all_boxed.len(), 9_000);
}

fn shown(gold: &str) -> String {
    verify(gold, gold, &opts()).expect("parses").gold
}

#[test]
fn renderings_are_reduced_and_minimally_parenthesised() {
    assert_eq!(shown("\\frac{1}{2}"), "1/2");
    assert_eq!(shown("\\frac{2}{4}"), "1/2");
    assert_eq!(shown("\\frac{-3}{2}"), "-3/2");
    assert_eq!(shown("-\\frac{3}{2}"), "-3/2");
    assert_eq!(shown("\\frac{10}{2}"), "5");
    assert_eq!(shown("-1.5"), "-1.5");
    assert_eq!(shown("2.50"), "2.50");
    assert_eq!(shown("\\frac{2\\sqrt{3}}{3}"), "2*sqrt(3)/3");
    assert_eq!(shown("x^2+1"), "x^2 + 1");
    assert_eq!(shown("x^{-1}"), "x^(-1)");
    assert_eq!(shown("(x+1)^2"), "(x + 1)^2");
    assert_eq!(shown("-(x+1)"), "-(x + 1)");
    assert_eq!(shown("a-(b-c)"), "a - (b - c)");
    assert_eq!(shown("\\frac{x}{y+1}"), "x/(y + 1)");
    assert_eq!(shown("\\frac{x+1}{2}"), "(x + 1)/2");
    assert_eq!(shown("(n+1)!"), "(n + 1)!");
    assert_eq!(shown("(3,\\frac{\\pi}{2})"), "(3, pi/2)");
    assert_eq!(shown("1 \\pm \\sqrt{2}"), "1 ± sqrt(2)");
}

#[test]
fn matrix_arithmetic_is_exact() {
    let a = "\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}";
    let b = "\\begin{pmatrix}5 & 6 \\\\ 7 & 8\\end{pmatrix}";
    same(
        &format!("{a} + {b}"),
        "\\begin{pmatrix}6 & 8 \\\\ 10 & 12\\end{pmatrix}",
    );
    same(
        &format!("{a}{b}"),
        "\\begin{pmatrix}19 & 22 \\\\ 43 & 50\\end{pmatrix}",
    );
    same(
        &format!("{a} \\cdot {b}"),
        "\\begin{pmatrix}19 & 22 \\\\ 43 & 50\\end{pmatrix}",
    );
    differ(
        &format!("{b}{a}"),
        "\\begin{pmatrix}19 & 22 \\\\ 43 & 50\\end{pmatrix}",
    );
    same(
        &format!("\\frac{{1}}{{2}}{a}"),
        "\\begin{pmatrix}0.5 & 1 \\\\ 1.5 & 2\\end{pmatrix}",
    );
    same(
        &format!("{a} - {a}"),
        "\\begin{pmatrix}0 & 0 \\\\ 0 & 0\\end{pmatrix}",
    );
    // Mismatched dimensions are not a matrix.
    differ(&format!("{a} + \\begin{{pmatrix}}1 \\\\ 2\\end{{pmatrix}}"), a);
}

#[test]
fn semicolons_separate_groups_of_a_multi_part_answer() {
    same("p=5,q=2;p=7,q=2", "(5,2),(7,2)");
    differ("p=5,q=2;p=7,q=2", "(5,2)");
    same("1; 2; 3", "3, 2, 1");
}

#[test]
fn finite_sums_and_products_are_exact() {
    same("\\sum_{i=1}^{10} i", "55");
    same("\\sum_{k=1}^{100} \\frac{1}{k(k+1)}", "\\frac{100}{101}");
    same("\\prod_{k=1}^{5} k", "120");
    same("\\sum_{k=1}^{n} k", "\\frac{n(n+1)}{2}");
    differ("\\sum_{k=1}^{n} k", "\\frac{n(n-1)}{2}");
    same(
        "F_n = \\sum_{k=0}^{n-1} F_k F_{n-k-1}",
        "F_n = \\sum_{k=0}^{n-1} F_{n-k-1} F_k",
    );
    // Term counts are bounded, nested series included: a verdict, not a hang.
    assert!(!eq("\\sum_{k=1}^{10^{12}} k", "1"));
    assert!(!eq(
        "\\sum_{a=1}^{100}\\sum_{b=1}^{100}\\sum_{c=1}^{100} abc",
        "1"
    ));
}

#[test]
fn an_unclosed_box_is_read_in_a_gold_but_not_in_a_prediction() {
    assert!(eq("\\boxed{x = 3", "3"));
    assert!(verify("3", "\\boxed{3", &opts()).is_err());
    assert!(extract_answer("so \\boxed{3", &opts()).is_none());
}

#[test]
fn decimals_beyond_f64_precision_are_never_claimed_equal_to_irrationals() {
    // π, e and square roots are enclosed by exact rational bounds (~40 digits).
    same("3.14159265358979323846", "\\pi");
    differ("3.14159265358979323847", "\\pi");
    same("4.123105625617661", "\\sqrt{17}");
    differ("4.123105625617660", "\\sqrt{17}");
    same("0.5773502691896257645", "\\frac{\\sqrt{3}}{3}");
    same("2.718281828459045", "e");
    // Beyond what f64 can check, other irrationals are never claimed equal.
    assert!(!eq("0.84147098480789650665", "\\sin 1"));
    assert_eq!(
        method("0.84147098480789650665", "\\sin 1"),
        "decimal_rounding_unverified"
    );
    // Exact values are still decided at any precision.
    same("0.33333333333333333333333", "\\frac13");
    same("3.14159", "\\pi");
}

#[test]
fn logarithms_of_exact_powers_stay_exact() {
    use super::eval::{Real, eval};
    use super::parser::parse;
    let exact = |src: &str, want: i64| {
        let value = eval(&parse(src).unwrap(), &[]).unwrap();
        assert_eq!(
            value.re,
            Real::Q(num_rational::BigRational::from_integer(want.into())),
            "{src}"
        );
    };
    exact("\\log_2 8", 3);
    exact("\\log_{1/2} 8", -3);
    exact("\\log_{2/3} \\frac{8}{27}", 3);
    exact("\\log_5 (5^{1000})", 1000);
    exact("\\log_7 (7^{3000})", 3000);
    // Not a power: a float close to the real logarithm.
    let value = eval(&parse("\\log_2 10").unwrap(), &[]).unwrap();
    assert!(!value.re.is_exact() && (value.re.to_f64() - 10f64.log2()).abs() < 1e-12);
}
