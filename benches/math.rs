//! Math verification throughput and latency on the peer corpus, plus the time of each
//! pathological input. Run with `cargo bench --bench math`; `bench/math-vs-math-verify.sh`
//! runs it beside Math-Verify 0.9.0 for the ratio in BENCHMARKS.md.
//!
//! Single-threaded on purpose: the figure of merit is verifications per second per core.

use std::path::Path;
use std::time::{Duration, Instant};

use verdict::math::{MathOptions, extract_answer, verify};

struct Pair {
    gold: String,
    prediction: String,
}

fn load_pairs() -> Vec<Pair> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/math/peer_cases.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("valid JSON"))
        .filter(|case| case["kind"] == "pair")
        .map(|case| Pair {
            gold: case["gold"].as_str().unwrap_or_default().to_owned(),
            prediction: case["prediction"].as_str().unwrap_or_default().to_owned(),
        })
        .collect()
}

/// What a reward call does with a pair: extract the boxed answer when there is one, then compare.
fn judge(pair: &Pair, options: &MathOptions) -> bool {
    let predicted = match extract_answer(&pair.prediction, options) {
        Some(extraction) => extraction.answer,
        None => pair.prediction.clone(),
    };
    verify(&pair.gold, &predicted, options).is_ok_and(|eq| eq.equal)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let options = MathOptions::default();
    let pairs = load_pairs();
    // Warm-up pass, also a sanity check that the corpus loaded.
    let agreeing = pairs.iter().filter(|pair| judge(pair, &options)).count();
    assert!(!pairs.is_empty());

    let budget = Duration::from_secs(
        std::env::var("VERDICT_BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(5),
    );
    let mut latencies = Vec::new();
    let started = Instant::now();
    while started.elapsed() < budget {
        for pair in &pairs {
            let t = Instant::now();
            std::hint::black_box(judge(std::hint::black_box(pair), &options));
            latencies.push(t.elapsed());
        }
    }
    let total = started.elapsed();
    latencies.sort();
    let per_second = latencies.len() as f64 / total.as_secs_f64();
    println!("peer corpus: {} pairs ({agreeing} judged equal)", pairs.len());
    println!(
        "verdict_math_verifications_per_second {per_second:.0}\nverdict_math_p50_us {:.1}\nverdict_math_p99_us {:.1}\nverdict_math_max_us {:.1}",
        percentile(&latencies, 0.50).as_secs_f64() * 1e6,
        percentile(&latencies, 0.99).as_secs_f64() * 1e6,
        latencies.last().unwrap().as_secs_f64() * 1e6,
    );

    println!("\npathological inputs (one call each, best of 3):");
    for (name, gold, prediction) in pathological_inputs() {
        let best = (0..3)
            .map(|_| {
                let t = Instant::now();
                let predicted =
                    extract_answer(&prediction, &options).map_or(prediction.clone(), |e| e.answer);
                let outcome = verify(&gold, &predicted, &options);
                std::hint::black_box(&outcome);
                t.elapsed()
            })
            .min()
            .unwrap();
        println!("  {name:<28} {:>9.3} ms", best.as_secs_f64() * 1e3);
    }
}

fn pathological_inputs() -> Vec<(&'static str, String, String)> {
    let nested = |open: &str, close: &str, n: usize| format!("{}1{}", open.repeat(n), close.repeat(n));
    let mut completion = String::from("<think>thinking</think>");
    for i in 0..9_000 {
        completion.push_str(&format!(" step {i} \\boxed{{{i}}}"));
    }
    completion.push_str(&"x".repeat(100_000usize.saturating_sub(completion.len())));
    vec![
        ("10^{10^{10^{10}}}", "1".into(), "10^{10^{10^{10}}}".into()),
        ("9999999999!", "1".into(), "9999999999!".into()),
        ("10,000 nested parentheses", "1".into(), nested("(", ")", 10_000)),
        ("10,000 nested braces", "1".into(), nested("{", "}", 10_000)),
        ("1,000 nested \\sqrt", "1".into(), nested("\\sqrt{", "}", 1_000)),
        ("50,000-digit number", "1".into(), "7".repeat(50_000)),
        ("100 KB, 9,000 boxes", "8999".into(), completion),
        (
            "2004! times 65 variables (fuzz)",
            "0".into(),
            format!("$c{{1}}{{2004!{}0{}}}1$3$", "t".repeat(51), "t".repeat(14)),
        ),
    ]
}
