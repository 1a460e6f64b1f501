//! Corpus tests for `verdict::math`: peer test suites (Math-Verify, hendrycks/math),
//! GitHub issue cases, our feature probes, MATH-500 and GSM8K self-consistency, and the
//! pathological inputs of docs/semantics.md ("Bounds"), and the reward-hacking battery.
//! Data lives in `../shared/data/math/`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use verdict::math::{MathOptions, extract_answer, verify};

fn data_path(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/math")
        .join(file)
}

fn load(file: &str) -> Vec<Value> {
    let path = data_path(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("missing test data {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("valid JSON line"))
        .collect()
}

fn field<'a>(case: &'a Value, name: &str) -> &'a str {
    case[name].as_str().unwrap_or_default()
}

/// Prose outside maths delimiters: four or more words of two or more letters.
fn is_prose(s: &str) -> bool {
    if s.contains("\\boxed") || s.contains("\\fbox") {
        return false;
    }
    // Text outside `$…$`, with LaTeX command names (`\\left`) removed.
    let mut outside = String::new();
    let (mut in_math, mut in_command) = (false, false);
    for c in s.chars() {
        in_command = (in_command && c.is_ascii_alphabetic()) || c == '\\';
        if c == '$' {
            in_math = !in_math;
        } else if !in_math && !in_command {
            outside.push(c);
        }
    }
    outside
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| w.len() >= 2)
        .count()
        >= 4
}

/// Judge a (gold, prediction) pair the way a reward call would: a side written as prose
/// (a whole solution) first goes through the text extraction a lenient policy uses; the
/// answers are then verified as written.
fn judge(gold: &str, prediction: &str, opts: &MathOptions) -> bool {
    let lenient = MathOptions {
        text_fallbacks: true,
        ..opts.clone()
    };
    let prepare = |s: &str| -> String {
        if is_prose(s) {
            extract_answer(s, &lenient)
                .map(|e| e.answer)
                .unwrap_or_else(|| s.to_string())
        } else {
            s.to_string()
        }
    };
    verify(&prepare(gold), &prepare(prediction), opts)
        .map(|e| e.equal)
        .unwrap_or(false)
}

/// Options a peer harness implies: both peers treat `10\%` as `10`.
fn peer_options(case: &Value) -> MathOptions {
    let _ = case;
    MathOptions {
        percent_matches_number: true,
        text_fallbacks: false,
    }
}

fn run_peer_case(case: &Value) -> bool {
    let (gold, pred) = (field(case, "gold"), field(case, "prediction"));
    let opts = peer_options(case);
    match field(case, "kind") {
        "extraction" => {
            let lenient = MathOptions {
                text_fallbacks: true,
                ..opts
            };
            match extract_answer(pred, &lenient) {
                // `expected` says whether `gold` is what comes out.
                Some(ex) if !gold.is_empty() => judge(gold, &ex.answer, &opts),
                Some(_) => true,
                None => false,
            }
        }
        _ => judge(gold, pred, &opts),
    }
}

/// Ids where docs/semantics.md deliberately differs from the peer, with their reasons, read from
/// the checked-in table (compiled in, so the list and the test cannot drift apart).
fn disagreements() -> HashMap<String, String> {
    include_str!("math_disagreements.md")
        .lines()
        .filter(|l| l.starts_with("| mv-") || l.starts_with("| hm-"))
        .filter_map(|l| {
            let cols: Vec<&str> = l.split(" | ").map(str::trim).collect();
            let id = cols.first()?.trim_start_matches('|').trim().to_string();
            let reason = cols.last()?.trim_end_matches('|').trim().to_string();
            Some((id, reason))
        })
        .collect()
}

#[test]
fn peer_cases_agree_except_documented_design_differences() {
    let cases = load("peer_cases.jsonl");
    assert_eq!(cases.len(), 302);
    let listed = disagreements();
    let (mut agree, mut considered) = (0, 0);
    let mut unexpected = Vec::new();
    let mut stale = Vec::new();
    for case in &cases {
        let id = field(case, "id");
        let expected = case["expected"].as_bool().unwrap_or(false);
        let got = run_peer_case(case);
        if let Some(reason) = listed.get(id) {
            println!("DISAGREE {id}: peer={expected} verdict={got} — {reason}");
            if got == expected {
                stale.push(id.to_string());
            }
            continue;
        }
        considered += 1;
        if got == expected {
            agree += 1;
        } else {
            unexpected.push(format!(
                "{id}: expected {expected}, got {got}: {:?} vs {:?}",
                field(case, "gold"),
                field(case, "prediction")
            ));
        }
    }
    let pct = 100.0 * agree as f64 / considered as f64;
    println!(
        "peer agreement: {agree}/{considered} = {pct:.1}% ({} documented disagreements)",
        listed.len()
    );
    for u in &unexpected {
        println!("MISS {u}");
    }
    assert!(
        stale.is_empty(),
        "listed disagreements that now agree with the peer: {stale:?}"
    );
    assert!(pct >= 95.0, "agreement {pct:.1}% below 95%");
    // Every deliberate difference is listed with its reason in math_disagreements.md;
    // anything else is a bug to fix, not a number to tolerate.
    assert!(
        unexpected.is_empty(),
        "unlisted peer cases disagree (fix them, or list them with a docs/semantics.md reason): {unexpected:#?}"
    );
}

#[test]
fn issue_cases_mostly_agree() {
    let cases = load("issue_cases.jsonl");
    let opts = MathOptions {
        percent_matches_number: false,
        text_fallbacks: true,
    };
    let mut misses = Vec::new();
    for case in &cases {
        let got = judge(field(case, "gold"), field(case, "prediction"), &opts);
        if got != case["expected"].as_bool().unwrap_or(false) {
            misses.push(format!("{}: got {got}", field(case, "id")));
        }
    }
    println!(
        "issue cases: {}/{} agree; misses: {misses:?}",
        cases.len() - misses.len(),
        cases.len()
    );
    assert!(cases.len() - misses.len() >= 26, "misses: {misses:?}");
}

/// Probes are judged as a lenient policy would (text fallbacks on, percent equals number).
fn judge_completion(gold: &str, completion: &str, opts: &MathOptions) -> bool {
    match extract_answer(completion, opts) {
        Some(ex) => verify(gold, &ex.answer, opts).map(|e| e.equal).unwrap_or(false),
        None => false,
    }
}

#[test]
fn feature_probes_all_match_intended_verdicts() {
    let cases = load("feature_probes.jsonl");
    assert_eq!(cases.len(), 87);
    let opts = MathOptions {
        percent_matches_number: true,
        text_fallbacks: true,
    };
    let mut misses = Vec::new();
    for case in &cases {
        let got = judge_completion(field(case, "gold"), field(case, "prediction"), &opts);
        if got != case["expected"].as_bool().unwrap_or(false) {
            misses.push(format!(
                "{}: got {got} for {:?} vs {:?}",
                field(case, "id"),
                field(case, "gold"),
                field(case, "prediction")
            ));
        }
    }
    println!("probes: {}/{}", cases.len() - misses.len(), cases.len());
    assert!(misses.is_empty(), "{misses:#?}");
}

/// MATH-500 rows whose answer is truly equal to the next row's answer.
const MATH500_EQUAL_NEIGHBOURS: &[&str] = &[
    // "5" and "x=5": a labelled equation is its value (docs/semantics.md, "Equations").
    "test/algebra/1837.json",
];

#[test]
fn math500_solutions_match_their_answers_and_neighbours_differ() {
    let rows = load("math500.jsonl");
    assert_eq!(rows.len(), 500);
    let opts = MathOptions::default();
    let mut misses = Vec::new();
    for row in &rows {
        let ex = extract_answer(field(row, "solution"), &opts);
        let ok = ex.as_ref().is_some_and(|ex| {
            verify(field(row, "answer"), &ex.answer, &opts)
                .map(|e| e.equal)
                .unwrap_or(false)
        });
        if !ok {
            misses.push(format!(
                "{}: {:?} vs {:?} -> {:?}",
                field(row, "unique_id"),
                field(row, "answer"),
                ex.map(|e| e.answer),
                verify(field(row, "answer"), field(row, "answer"), &opts)
            ));
        }
    }
    let mut neighbour_equal = Vec::new();
    for pair in rows.windows(2) {
        let (a, b) = (field(&pair[0], "answer"), field(&pair[1], "answer"));
        let equal = verify(a, b, &opts).map(|e| e.equal).unwrap_or(false);
        let same = a.split_whitespace().collect::<String>() == b.split_whitespace().collect::<String>();
        let id = field(&pair[0], "unique_id");
        if equal != same && !MATH500_EQUAL_NEIGHBOURS.contains(&id) {
            neighbour_equal.push(format!("{id}: {a:?} vs {b:?} equal={equal}"));
        }
    }
    println!(
        "math500 self-consistency: {}/500; neighbour mismatches: {}",
        500 - misses.len(),
        neighbour_equal.len()
    );
    for m in misses.iter().chain(&neighbour_equal) {
        println!("  {m}");
    }
    assert!(misses.is_empty() && neighbour_equal.is_empty());
}

#[test]
fn gsm8k_answers_match_their_boxed_form() {
    let rows = load("gsm8k_test.jsonl");
    assert_eq!(rows.len(), 1319);
    let opts = MathOptions::default();
    let mut misses = Vec::new();
    for row in &rows {
        let answer = field(row, "answer");
        let n = answer.rsplit("####").next().unwrap_or_default().trim();
        let completion = format!("So the answer is \\boxed{{{n}}}.");
        let ok = extract_answer(&completion, &opts)
            .is_some_and(|ex| verify(n, &ex.answer, &opts).map(|e| e.equal).unwrap_or(false));
        if !ok {
            misses.push(n.to_string());
        }
    }
    println!("gsm8k: {}/1319", 1319 - misses.len());
    assert!(misses.is_empty(), "{misses:?}");
}

fn pathological() -> Vec<(&'static str, String)> {
    vec![
        ("tower of powers", "10^{10^{10^{10}}}".to_string()),
        ("huge factorial", "9999999999!".to_string()),
        (
            "10,000 nested parentheses",
            format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000)),
        ),
        (
            "10,000 nested braces",
            format!("{}1{}", "{".repeat(10_000), "}".repeat(10_000)),
        ),
        (
            "1,000 nested square roots",
            format!("{}2{}", "\\sqrt{".repeat(1_000), "}".repeat(1_000)),
        ),
        ("50,000-digit number", "7".repeat(50_000)),
        ("huge power", "2^{2^{64}}".to_string()),
        ("deep unary minus", "-".repeat(5_000) + "1"),
        // Found by fuzzing (math_parse): exact products of a 19,000-bit factorial with probe
        // values took seconds in num-rational's gcd.
        (
            "2004! times 65 variables",
            "$c{1}{2004!ttttttttttttttttttttttttttttttttttttttttttttttttttt0tttttttttttttt}1$3$".to_string(),
        ),
        // Found by fuzzing (math_equivalence): a power tower over a variable beside a list.
        (
            "power tower over a variable",
            ",3$1 8log58,500x^37^37".to_string(),
        ),
        // Found by fuzzing: gcd of zero and a large number divided by zero.
        (
            "large factorial quotient",
            "\u{b}33333333D33333s3333*3333/333!333333333".to_string(),
        ),
        ("nested power towers", "y^37^3^Fy^73".to_string()),
    ]
}

#[test]
fn pathological_inputs_return_quickly() {
    let opts = MathOptions::default();
    for (name, input) in pathological() {
        let start = Instant::now();
        // Against 1 and 0 (a product with a zero factor equals 0 only after evaluation).
        let a = verify(&input, "1", &opts).and(verify(&input, "0", &opts));
        let b = verify(&input, &input, &opts);
        let elapsed = start.elapsed();
        println!(
            "{name}: {:?} / {:?} in {elapsed:?}",
            a.as_ref().map(|e| e.equal),
            b.as_ref().map(|e| e.equal)
        );
        assert!(elapsed < Duration::from_secs(5), "{name} took {elapsed:?}");
    }
    let completion = "Let me think. ".repeat(2_000) + &"\\boxed{7} ".repeat(9_000);
    assert!(completion.len() > 100_000);
    let start = Instant::now();
    let ex = extract_answer(&completion, &opts);
    println!(
        "100 KB completion with 9,000 boxes: {:?} boxes in {:?}",
        ex.as_ref().map(|e| e.all_boxed.len()),
        start.elapsed()
    );
    assert!(ex.is_some());
}

/// Every gold of the public corpora, with where it comes from: MATH-500 and GSM8K answers,
/// and the golds of the peer, issue and probe cases.
fn corpus_golds() -> Vec<verdict::reward::probe::KeyedGold> {
    use verdict::reward::probe::KeyedGold;
    let mut golds = Vec::new();
    for row in load("math500.jsonl") {
        golds.push(KeyedGold {
            id: field(&row, "unique_id").to_owned(),
            gold: field(&row, "answer").to_owned(),
        });
    }
    for (i, row) in load("gsm8k_test.jsonl").iter().enumerate() {
        let n = field(row, "answer")
            .rsplit("####")
            .next()
            .unwrap_or_default()
            .trim();
        golds.push(KeyedGold {
            id: format!("gsm8k-{i}"),
            gold: n.to_owned(),
        });
    }
    for file in ["peer_cases.jsonl", "issue_cases.jsonl", "feature_probes.jsonl"] {
        for case in load(file) {
            let gold = field(&case, "gold");
            if !gold.trim().is_empty() {
                golds.push(KeyedGold {
                    id: field(&case, "id").to_owned(),
                    gold: gold.to_owned(),
                });
            }
        }
    }
    golds
}

/// The reward-hacking battery (`verdict::math::battery`: content-free answers, shotguns and
/// hedges built from each gold) judged through the real reward path under `r1`, full
/// completions, against every public gold: none may earn accuracy.
#[test]
fn the_reward_hacking_battery_earns_nothing_against_any_corpus_gold() {
    let policy = verdict::reward::Policy::new(
        verdict::reward::DEFAULT_POLICY,
        verdict::reward::PolicyConfig::default(),
    )
    .expect("the built-in policy");
    let golds = corpus_golds();
    let report = verdict::reward::probe::probe(&golds, &policy);
    println!(
        "battery: {} pairs judged over {} golds ({} distinct, {} unparsable golds skipped); {} rewarded",
        report.pairs,
        report.golds,
        report.distinct_golds,
        report.invalid_golds.len(),
        report.hits.len()
    );
    for invalid in &report.invalid_golds {
        println!(
            "  skipped gold {:?} ({}): {}",
            invalid.gold,
            invalid.ids.join(","),
            invalid.message
        );
    }
    for hit in &report.hits {
        println!(
            "  HOLE {:?} earns against {:?} ({:?}, method {:?})",
            hit.answer, hit.gold, hit.family, hit.method
        );
    }
    assert!(report.distinct_golds > 800, "{}", report.distinct_golds);
    assert!(report.pairs > 100_000, "{}", report.pairs);
    // The golds that cannot be judged are prose in the peer and issue files, never MATH-500
    // or GSM8K ones.
    assert!(
        report.invalid_golds.iter().all(|g| g
            .ids
            .iter()
            .all(|id| !id.starts_with("test/") && !id.starts_with("gsm8k-"))),
        "{:?}",
        report.invalid_golds
    );
    assert!(report.hits.is_empty(), "{} rewarded", report.hits.len());
}
