//! Training and evaluation examples: a JSONL file, generated arithmetic word problems with a
//! fixed held-out split, or the toy task of the tiny configuration.

use std::collections::HashSet;
use std::path::Path;

use anyhow::{Context, Result, bail};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

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
fn arithmetic_problem(rng: &mut StdRng, instruction: &str) -> (String, i64) {
    let name = NAMES[rng.random_range(0..NAMES.len())];
    let thing = THINGS[rng.random_range(0..THINGS.len())];
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

pub fn arithmetic_held_out(n: usize, instruction: &str) -> Vec<Example> {
    let mut rng = StdRng::seed_from_u64(HELD_OUT_SEED);
    let mut seen = HashSet::new();
    let mut out = vec![];
    while out.len() < n {
        let (p, a) = arithmetic_problem(&mut rng, instruction);
        if seen.insert(p.clone()) {
            out.push(math(format!("heldout-{}", out.len()), p, &a.to_string()));
        }
    }
    out
}

pub fn arithmetic_train(n: usize, seed: u64, instruction: &str, held_out: &[Example]) -> Vec<Example> {
    let banned: HashSet<&str> = held_out.iter().map(|e| e.prompt.as_str()).collect();
    let mut rng = StdRng::seed_from_u64(seed.wrapping_add(1));
    let mut out = vec![];
    while out.len() < n {
        let (p, a) = arithmetic_problem(&mut rng, instruction);
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
