//! Training and evaluation examples: a JSONL file, generated arithmetic word problems with a
//! fixed held-out split, or the toy task of the tiny configuration.

use std::collections::HashSet;
use std::path::Path;

use anyhow::{Context, Result, bail};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::config::ArithmeticLevel;

#[derive(Debug, Clone)]
pub struct Example {
    pub id: String,
    pub prompt: String,
    /// The verdict task object (`{"kind": "math", "answer": …}` or a code task).
    pub task: Value,
}

pub const DEFAULT_INSTRUCTION: &str = "Put the final answer in \\boxed{}.";

fn math(id: String, prompt: String, answer: &str) -> Example {
    Example {
        id,
        prompt,
        task: serde_json::json!({ "kind": "math", "answer": answer }),
    }
}

/// Reads `prompt`/`question` + `answer`/`task` lines. GSM8K's `answer` keeps its worked
/// solution before `#### N`; only N is the gold answer.
pub fn read_jsonl(path: &Path, instruction: Option<&str>) -> Result<Vec<Example>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = vec![];
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).with_context(|| format!("{}:{}", path.display(), i + 1))?;
        let prompt = v["prompt"]
            .as_str()
            .or(v["question"].as_str())
            .with_context(|| format!("{}:{}: no prompt or question", path.display(), i + 1))?;
        let id = v["id"].as_str().map_or_else(|| format!("l{i}"), str::to_owned);
        let task = if v["task"].is_object() {
            v["task"].clone()
        } else if let Some(a) = v["answer"].as_str() {
            let gold = a.rsplit_once("####").map_or(a, |(_, n)| n).trim();
            serde_json::json!({ "kind": "math", "answer": gold.replace(',', "") })
        } else if let Some(n) = v["answer"].as_f64() {
            serde_json::json!({ "kind": "math", "answer": n.to_string() })
        } else {
            bail!("{}:{}: no answer or task", path.display(), i + 1);
        };
        let prompt = match (instruction, task["kind"].as_str()) {
            (Some(ins), Some("math")) => format!("{prompt} {ins}"),
            _ => prompt.to_owned(),
        };
        out.push(Example { id, prompt, task });
    }
    Ok(out)
}

const NAMES: [&str; 8] = ["Ava", "Ben", "Chloe", "Dev", "Emma", "Finn", "Grace", "Hugo"];
const THINGS: [&str; 8] = [
    "apples", "marbles", "stickers", "books", "coins", "pencils", "cards", "shells",
];

/// One arithmetic word problem from `rng`: +, −, × with small numbers.
fn arithmetic_problem(rng: &mut StdRng, instruction: &str, level: ArithmeticLevel) -> (String, i64) {
    let name = NAMES[rng.random_range(0..NAMES.len())];
    let thing = THINGS[rng.random_range(0..THINGS.len())];
    if level == ArithmeticLevel::SmallSums {
        let (a, b) = (rng.random_range(1..=20), rng.random_range(1..=20));
        return (
            format!(
                "{name} has {a} {thing} and gets {b} more. How many {thing} does {name} have now? {instruction}"
            ),
            a + b,
        );
    }
    match rng.random_range(0..3) {
        0 => {
            let (a, b) = (rng.random_range(2..60), rng.random_range(2..40));
            (
                format!(
                    "{name} has {a} {thing} and gets {b} more. How many {thing} does {name} have now? {instruction}"
                ),
                a + b,
            )
        }
        1 => {
            let a = rng.random_range(10..80);
            let b = rng.random_range(1..a);
            (
                format!(
                    "{name} has {a} {thing} and gives away {b}. How many {thing} are left? {instruction}"
                ),
                a - b,
            )
        }
        _ => {
            let (a, b) = (rng.random_range(2..10), rng.random_range(2..12));
            (
                format!(
                    "{name} has {a} bags with {b} {thing} in each bag. How many {thing} does {name} have in total? {instruction}"
                ),
                a * b,
            )
        }
    }
}

/// The held-out set is fixed (its own seed, independent of the training seed) and training
/// never sees one of its prompts.
const HELD_OUT_SEED: u64 = 0x5eed_0e7a;

pub fn arithmetic_held_out(n: usize, instruction: &str, level: ArithmeticLevel) -> Vec<Example> {
    let mut rng = StdRng::seed_from_u64(HELD_OUT_SEED);
    let mut seen = HashSet::new();
    let mut out = vec![];
    while out.len() < n {
        let (p, a) = arithmetic_problem(&mut rng, instruction, level);
        if seen.insert(p.clone()) {
            out.push(math(format!("heldout-{}", out.len()), p, &a.to_string()));
        }
    }
    out
}

pub fn arithmetic_train(
    n: usize,
    seed: u64,
    instruction: &str,
    level: ArithmeticLevel,
    held_out: &[Example],
) -> Vec<Example> {
    let banned: HashSet<&str> = held_out.iter().map(|e| e.prompt.as_str()).collect();
    let mut rng = StdRng::seed_from_u64(seed.wrapping_add(1));
    let mut out = vec![];
    while out.len() < n {
        let (p, a) = arithmetic_problem(&mut rng, instruction, level);
        if !banned.contains(p.as_str()) {
            out.push(math(format!("train-{}", out.len()), p, &a.to_string()));
        }
    }
    out
}

/// The toy task: prompt `q d` for a digit d; the rewarded answer is always 7, which a random
/// model over the toy vocabulary boxes now and then by chance.
pub fn toy(n: usize, seed: u64, prefix: &str) -> Vec<Example> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            math(
                format!("{prefix}-{i}"),
                format!("q {}", rng.random_range(0..10)),
                "7",
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recomputes a generated problem's answer from its wording.
    fn solve(prompt: &str) -> i64 {
        let numbers: Vec<i64> = prompt
            .split(|c: char| !c.is_ascii_digit())
            .filter(|w| !w.is_empty())
            .map(|w| w.parse().unwrap())
            .collect();
        let (a, b) = (numbers[0], numbers[1]);
        if prompt.contains("gets") {
            a + b
        } else if prompt.contains("gives away") {
            a - b
        } else {
            assert!(prompt.contains("bags with"), "{prompt}");
            a * b
        }
    }

    fn answer(example: &Example) -> i64 {
        example.task["answer"].as_str().unwrap().parse().unwrap()
    }

    #[test]
    fn generated_answers_match_their_wording_at_every_level() {
        for level in [ArithmeticLevel::Mixed, ArithmeticLevel::SmallSums] {
            let held = arithmetic_held_out(50, "Box it.", level);
            let train = arithmetic_train(300, 9, "Box it.", level, &held);
            for e in held.iter().chain(&train) {
                assert_eq!(answer(e), solve(&e.prompt), "{level:?}: {}", e.prompt);
                assert!(e.prompt.ends_with("Box it."));
            }
        }
    }

    #[test]
    fn the_held_out_split_is_fixed_and_never_trained_on() {
        let level = ArithmeticLevel::SmallSums;
        let held = arithmetic_held_out(40, "", level);
        let again = arithmetic_held_out(40, "", level);
        assert_eq!(
            held.iter().map(|e| &e.prompt).collect::<Vec<_>>(),
            again.iter().map(|e| &e.prompt).collect::<Vec<_>>()
        );
        let banned: HashSet<&str> = held.iter().map(|e| e.prompt.as_str()).collect();
        assert_eq!(banned.len(), 40, "held-out prompts are distinct");
        let train = arithmetic_train(2000, 1, "", level, &held);
        assert!(train.iter().all(|e| !banned.contains(e.prompt.as_str())));
    }

    #[test]
    fn small_sums_are_additions_of_operands_up_to_twenty() {
        let held = arithmetic_held_out(200, "", ArithmeticLevel::SmallSums);
        for e in &held {
            assert!(
                e.prompt.contains("gets") && e.prompt.contains("more"),
                "{}",
                e.prompt
            );
            assert!((2..=40).contains(&answer(e)), "{}", e.prompt);
        }
        let mixed = arithmetic_held_out(200, "", ArithmeticLevel::Mixed);
        assert!(mixed.iter().any(|e| e.prompt.contains("gives away")));
        assert!(mixed.iter().any(|e| e.prompt.contains("bags with")));
    }
}
