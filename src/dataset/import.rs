//! Importers for the source shapes the evaluation sets are published in, each turning one
//! source line into a native entry:
//!
//! | shape       | recognised by                                  | id          | task                                   | metadata        |
//! |-------------|------------------------------------------------|-------------|----------------------------------------|-----------------|
//! | `native`    | `id` and `task`                                | `id`        | `task` as given                        | `metadata`      |
//! | `math500`   | `problem`, `answer`, `unique_id`               | `unique_id` | math, `answer`                         | subject, level  |
//! | `gsm8k`     | `question` and an `answer` ending in `#### N`  | line number | math, the number after `####`          | none            |
//! | `humaneval` | `task_id`, `entry_point`, `test`               | `task_id`   | code, python, `check(entry_point)`     | none            |
//!
//! The prompt is kept (`problem`, `question`, `prompt`); reference solutions are not: they are
//! not part of the answer key.

use serde_json::{Map, Value, json};

use super::{DatasetError, Entry};

/// The known source shapes of a dataset upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    Native,
    Math500,
    Gsm8k,
    HumanEval,
}

impl Shape {
    pub const ALL: [Shape; 4] = [Shape::Native, Shape::Math500, Shape::Gsm8k, Shape::HumanEval];

    pub fn as_str(self) -> &'static str {
        match self {
            Shape::Native => "native",
            Shape::Math500 => "math500",
            Shape::Gsm8k => "gsm8k",
            Shape::HumanEval => "humaneval",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|shape| shape.as_str() == name)
    }

    /// The shape a first line looks like, by its keys.
    pub fn detect(first: &Value) -> Option<Self> {
        let has = |key: &str| first.get(key).is_some();
        if has("id") && has("task") {
            Some(Shape::Native)
        } else if has("problem") && has("answer") && has("unique_id") {
            Some(Shape::Math500)
        } else if has("question") && has("answer") {
            Some(Shape::Gsm8k)
        } else if has("task_id") && has("entry_point") && has("test") {
            Some(Shape::HumanEval)
        } else {
            None
        }
    }

    /// One source line (the `index`-th entry) as an entry; errors name the source key.
    pub(super) fn import(self, value: Value, index: usize) -> Result<Entry, DatasetError> {
        let Value::Object(line) = value else {
            return Err(DatasetError::new("", "must be a JSON object"));
        };
        match self {
            Shape::Native => Err(DatasetError::new("", "native lines are not imported")),
            Shape::Math500 => {
                let mut metadata = std::collections::BTreeMap::new();
                for key in ["subject", "level"] {
                    if let Some(value) = line.get(key).filter(|v| !v.is_null()) {
                        metadata.insert(key.to_owned(), value.clone());
                    }
                }
                Ok(Entry {
                    id: string(&line, "unique_id")?,
                    prompt: Some(string(&line, "problem")?),
                    task: json!({ "kind": "math", "answer": answer(&line, "answer")? }),
                    metadata,
                })
            }
            Shape::Gsm8k => {
                let solution = string(&line, "answer")?;
                let (_, last) = solution
                    .rsplit_once("####")
                    .ok_or_else(|| DatasetError::new("answer", "no `#### N` final answer"))?;
                // GSM8K writes thousands with commas (`1,000`); the key is the plain number.
                let number = last.trim().replace(',', "");
                if number.is_empty() {
                    return Err(DatasetError::new("answer", "empty final answer after `####`"));
                }
                Ok(Entry {
                    id: index.to_string(),
                    prompt: Some(string(&line, "question")?),
                    task: json!({ "kind": "math", "answer": number }),
                    metadata: Default::default(),
                })
            }
            Shape::HumanEval => Ok(Entry {
                id: string(&line, "task_id")?,
                prompt: Some(string(&line, "prompt")?),
                task: json!({
                    "kind": "code", "language": "python",
                    "entry_point": string(&line, "entry_point")?,
                    "assert": string(&line, "test")?,
                }),
                metadata: Default::default(),
            }),
        }
    }
}

fn string(line: &Map<String, Value>, key: &str) -> Result<String, DatasetError> {
    match line.get(key) {
        Some(Value::String(text)) => Ok(text.clone()),
        Some(_) => Err(DatasetError::new(key, "must be a string")),
        None => Err(DatasetError::new(key, format!("missing field `{key}`"))),
    }
}

/// A reference answer: a string, or a number as written.
fn answer(line: &Map<String, Value>, key: &str) -> Result<String, DatasetError> {
    match line.get(key) {
        Some(Value::Number(number)) => Ok(number.to_string()),
        _ => string(line, key),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Dataset;

    #[test]
    fn each_known_shape_is_detected_and_imported() {
        let math500 = r#"{"problem": "p", "solution": "s \\boxed{3}", "answer": "3", "subject": "Algebra", "level": 2, "unique_id": "test/a/1.json"}"#;
        let gsm8k = r#"{"question": "q", "answer": "so 1,000 + 2 = <<1000+2=1002>>1,002\n#### 1,002"}"#;
        let humaneval = r#"{"task_id": "HumanEval/0", "prompt": "def f():\n", "entry_point": "f", "canonical_solution": "  return 1\n", "test": "def check(c):\n  assert c() == 1\n"}"#;

        let m = Dataset::parse("m", math500, None).unwrap();
        assert_eq!(m.shape, Shape::Math500);
        assert_eq!(m.entries[0].id, "test/a/1.json");
        assert_eq!(m.entries[0].task, json!({"kind": "math", "answer": "3"}));
        assert_eq!(m.entries[0].metadata["subject"], "Algebra");
        assert_eq!(m.entries[0].metadata["level"], 2);

        let g = Dataset::parse("g", &format!("{gsm8k}\n{gsm8k}"), None).unwrap();
        assert_eq!(g.shape, Shape::Gsm8k);
        assert_eq!(g.entries[1].id, "1", "GSM8K ids are line numbers");
        assert_eq!(g.entries[0].task["answer"], "1002");

        let h = Dataset::parse("h", humaneval, None).unwrap();
        assert_eq!(h.shape, Shape::HumanEval);
        assert_eq!(h.entries[0].task["entry_point"], "f");
        assert!(h.entries[0].task.get("canonical_solution").is_none());
    }

    #[test]
    fn a_source_line_missing_its_key_is_refused_by_name() {
        let error = Dataset::parse("g", r#"{"question": "q", "answer": "no marker"}"#, None).unwrap_err();
        assert_eq!(error.field, "line 1.answer");
        let error =
            Dataset::parse("m", r#"{"problem": "p", "answer": 3, "unique_id": 7}"#, None).unwrap_err();
        assert_eq!(error.field, "line 1.unique_id");
    }
}
