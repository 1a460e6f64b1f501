//! Trainers' labels into verdict tasks. A trainer sends whatever its dataset's label column
//! holds: a math answer as a string or a number, a verdict task object, or a code label in the
//! shapes the public code-RL datasets use. This module is the one place that tells them apart,
//! for `/get_reward`, `/slime/reward` and `/v1/rewards` items that carry a `label` instead of a
//! `task` (docs/trainers.md lists the shapes).
//!
//! A JSON object is never judged as a math answer: a code label that is not recognised fails
//! with a message instead of being compared, as text, with the model's boxed answer.

use serde_json::{Map, Value, json};

use crate::reward::ItemError;
use crate::reward::ItemErrorCode;

/// Fields that mark an object (without `kind`) as one of verdict's own code tasks.
const NATIVE_CODE_FIELDS: [&str; 5] = ["tests", "cases", "assert", "fn_name", "entry_point"];

/// The language of a code label that does not name one: the APPS, TACO and PRIME code sets
/// are Python problems.
const DEFAULT_LABEL_LANGUAGE: &str = "python";

/// The task a label stands for, in `/v1/rewards`' wire shape (`{"kind": …, …}`), or why the
/// label cannot be judged. Errors name the field `label`.
pub fn task_from_label(label: &Value) -> Result<Value, ItemError> {
    match label {
        Value::String(text) => {
            let trimmed = text.trim_start();
            // A JSON-encoded object is a task; any other text (including `{1, 2}` or `[0, 1)`,
            // which are math answers, not JSON) is the reference answer itself.
            if trimmed.starts_with('{')
                && let Ok(Value::Object(object)) = serde_json::from_str::<Value>(trimmed)
            {
                return task_from_object(object);
            }
            if text.trim().is_empty() {
                return Err(invalid("is empty; a math label is the reference answer"));
            }
            Ok(json!({ "kind": "math", "answer": text }))
        }
        // Written as sent: with arbitrary-precision numbers a 30-digit gold keeps every digit.
        Value::Number(number) => Ok(json!({ "kind": "math", "answer": number.to_string() })),
        Value::Object(object) => task_from_object(object.clone()),
        Value::Array(items) => match items.as_slice() {
            // Datasets often wrap a single reference in a list.
            [only] => task_from_label(only),
            [] => Err(invalid(
                "is an empty list; there is no reference to judge against",
            )),
            many => Err(invalid(format!(
                "is a list of {} values; send one reference answer (a string or a number) or a task object",
                many.len()
            ))),
        },
        Value::Null => Err(invalid("is null; there is no reference to judge against")),
        Value::Bool(_) => Err(invalid(
            "is a boolean; send the reference answer as a string, a number or a task object",
        )),
    }
}

fn task_from_object(mut object: Map<String, Value>) -> Result<Value, ItemError> {
    if object.contains_key("kind") {
        return Ok(Value::Object(object));
    }
    // open-r1 rows carry the tests under `verification_info`, itself sometimes a JSON string.
    if let Some(info) = object.remove("verification_info") {
        return match info {
            Value::Object(info) => open_r1_task(info),
            Value::String(text) => match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(info)) => open_r1_task(info),
                _ => Err(invalid_at(
                    "label.verification_info",
                    "is not a JSON object with `test_cases`",
                )),
            },
            _ => Err(invalid_at("label.verification_info", "must be an object")),
        };
    }
    if object.contains_key("test_cases") {
        return open_r1_task(object);
    }
    // APPS, TACO, veRL's and PRIME's code sets: `{"inputs": [...], "outputs": [...]}`.
    if object.contains_key("inputs") || object.contains_key("outputs") {
        return apps_task(object);
    }
    if NATIVE_CODE_FIELDS.iter().any(|field| object.contains_key(*field)) {
        object.insert("kind".into(), Value::from("code"));
        return Ok(Value::Object(object));
    }
    if object.len() == 1
        && let Some(answer) = object.remove("answer")
    {
        return task_from_label(&answer).and_then(|task| match task.get("kind") {
            Some(kind) if kind == "math" => Ok(task),
            _ => Err(invalid_at("label.answer", "must be a string or a number")),
        });
    }
    let keys: Vec<&str> = object.keys().map(String::as_str).take(8).collect();
    Err(invalid(format!(
        "is an object verdict cannot read (keys: {}); expected a task with `kind`, an APPS-style \
         `{{inputs, outputs, fn_name?}}` or an open-r1 `verification_info` `{{language, test_cases}}`",
        keys.join(", ")
    )))
}

/// APPS-style tests: stdin/stdout pairs, or call-based cases when `fn_name` is given.
///
/// Call-based outputs in these sets are usually wrapped in a one-element list (`[100]` for a
/// function that returns 100). The wrapper is removed; APPS' own grader accepted either the
/// wrapped or the bare value, which makes a wrong `[100]` pass — verdict accepts only the
/// value the problem asks for (docs/trainers.md).
fn apps_task(object: Map<String, Value>) -> Result<Value, ItemError> {
    let inputs = list_at(&object, "inputs")?;
    let outputs = list_at(&object, "outputs")?;
    if inputs.len() != outputs.len() {
        return Err(invalid_at(
            "label.outputs",
            format!("has {} entries but `inputs` has {}", outputs.len(), inputs.len()),
        ));
    }
    if inputs.is_empty() {
        return Err(invalid_at("label.inputs", "holds no test"));
    }
    let language = language_of(&object)?;
    match object.get("fn_name") {
        Some(Value::String(fn_name)) if !fn_name.is_empty() => {
            let cases: Vec<Value> = inputs
                .iter()
                .zip(outputs)
                .map(|(input, output)| {
                    let args = match input {
                        Value::Array(_) => input.clone(),
                        single => Value::Array(vec![single.clone()]),
                    };
                    let expected = match output {
                        Value::Array(wrapped) if wrapped.len() == 1 => wrapped[0].clone(),
                        other => other.clone(),
                    };
                    json!({ "args": args, "expected": expected })
                })
                .collect();
            Ok(json!({ "kind": "code", "language": language, "fn_name": fn_name, "cases": cases }))
        }
        None | Some(Value::Null) => {
            let tests = inputs
                .iter()
                .zip(outputs)
                .enumerate()
                .map(|(index, (input, output))| {
                    Ok(json!({
                        "stdin": stream_text(input, &format!("label.inputs[{index}]"))?,
                        "stdout": stream_text(output, &format!("label.outputs[{index}]"))?,
                    }))
                })
                .collect::<Result<Vec<_>, ItemError>>()?;
            Ok(json!({ "kind": "code", "language": language, "tests": tests }))
        }
        Some(_) => Err(invalid_at("label.fn_name", "must be a non-empty string")),
    }
}

/// open-r1's `verification_info`: `{"language", "test_cases": [{"input", "output", "type"}]}`.
fn open_r1_task(info: Map<String, Value>) -> Result<Value, ItemError> {
    let cases = list_at(&info, "test_cases")?;
    if cases.is_empty() {
        return Err(invalid_at("label.test_cases", "holds no test"));
    }
    let language = language_of(&info)?;
    let tests = cases
        .iter()
        .enumerate()
        .map(|(index, case)| {
            let field = format!("label.test_cases[{index}]");
            let Value::Object(case) = case else {
                return Err(invalid_at(&field, "must be an object with `input` and `output`"));
            };
            match case.get("type").and_then(Value::as_str) {
                None | Some("stdin_stdout") => {}
                Some(other) => {
                    return Err(invalid_at(
                        &format!("{field}.type"),
                        format!("`{other}` tests are not supported; only `stdin_stdout`"),
                    ));
                }
            }
            let input = case.get("input").unwrap_or(&Value::Null);
            let output = case
                .get("output")
                .ok_or_else(|| invalid_at(&format!("{field}.output"), "is missing"))?;
            Ok(json!({
                "stdin": stream_text(input, &format!("{field}.input"))?,
                "stdout": stream_text(output, &format!("{field}.output"))?,
            }))
        })
        .collect::<Result<Vec<_>, ItemError>>()?;
    Ok(json!({ "kind": "code", "language": language, "tests": tests }))
}

fn language_of(object: &Map<String, Value>) -> Result<Value, ItemError> {
    match object.get("language") {
        None | Some(Value::Null) => Ok(Value::from(DEFAULT_LABEL_LANGUAGE)),
        Some(Value::String(language)) => Ok(Value::from(language.as_str())),
        Some(_) => Err(invalid_at("label.language", "must be a string")),
    }
}

fn list_at<'a>(object: &'a Map<String, Value>, key: &str) -> Result<&'a [Value], ItemError> {
    match object.get(key) {
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(invalid_at(&format!("label.{key}"), "must be a list")),
        None => Err(invalid_at(&format!("label.{key}"), "is missing")),
    }
}

/// A test's stdin or stdout: a string, or a list of lines (TACO writes some inputs that way).
fn stream_text(value: &Value, field: &str) -> Result<String, ItemError> {
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Null => Ok(String::new()),
        Value::Array(lines) => {
            let mut text = String::new();
            for line in lines {
                match line {
                    Value::String(line) => text.push_str(line),
                    Value::Number(number) => text.push_str(&number.to_string()),
                    _ => return Err(invalid_at(field, "must be a string or a list of strings")),
                }
                text.push('\n');
            }
            Ok(text)
        }
        Value::Number(number) => Ok(number.to_string()),
        _ => Err(invalid_at(field, "must be a string or a list of strings")),
    }
}

fn invalid(message: impl Into<String>) -> ItemError {
    invalid_at("label", message)
}

fn invalid_at(field: &str, message: impl Into<String>) -> ItemError {
    ItemError::new(ItemErrorCode::InvalidLabel, field, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(label: Value) -> Value {
        task_from_label(&label).expect("label converts")
    }

    fn error(label: Value) -> ItemError {
        task_from_label(&label).expect_err("label is refused")
    }

    #[test]
    fn text_and_numbers_are_math_answers() {
        assert_eq!(task(json!("0.5")), json!({"kind": "math", "answer": "0.5"}));
        assert_eq!(task(json!(42)), json!({"kind": "math", "answer": "42"}));
        assert_eq!(task(json!(["7"])), json!({"kind": "math", "answer": "7"}));
    }

    #[test]
    fn math_text_that_looks_like_braces_stays_math() {
        assert_eq!(task(json!("{1, 2}")), json!({"kind": "math", "answer": "{1, 2}"}));
        assert_eq!(task(json!("[0, 1)")), json!({"kind": "math", "answer": "[0, 1)"}));
    }

    #[test]
    fn a_json_encoded_task_is_a_task() {
        let label = json!(r#"{"kind": "math", "answer": "3"}"#);
        assert_eq!(task(label), json!({"kind": "math", "answer": "3"}));
    }

    #[test]
    fn apps_stdin_label_becomes_stdio_tests() {
        let label = json!({"inputs": ["1 2\n", ["3", "4"]], "outputs": ["3\n", "7\n"]});
        assert_eq!(
            task(label),
            json!({"kind": "code", "language": "python", "tests": [
                {"stdin": "1 2\n", "stdout": "3\n"},
                {"stdin": "3\n4\n", "stdout": "7\n"},
            ]})
        );
    }

    #[test]
    fn apps_label_as_json_string_is_read_too() {
        let label = json!(r#"{"inputs": ["5\n"], "outputs": ["25\n"]}"#);
        assert_eq!(task(label)["tests"][0]["stdout"], json!("25\n"));
    }

    #[test]
    fn apps_call_label_unwraps_the_one_element_output() {
        let label =
            json!({"fn_name": "get_score", "inputs": [[[1, 2]], [[5]]], "outputs": [[100], [[50, 1]]]});
        assert_eq!(
            task(label),
            json!({"kind": "code", "language": "python", "fn_name": "get_score", "cases": [
                {"args": [[1, 2]], "expected": 100},
                {"args": [[5]], "expected": [50, 1]},
            ]})
        );
    }

    #[test]
    fn open_r1_verification_info_becomes_stdio_tests() {
        let info = json!({"language": "python", "test_cases": [{"input": "2\n", "output": "4\n", "type": "stdin_stdout"}]});
        let expected =
            json!({"kind": "code", "language": "python", "tests": [{"stdin": "2\n", "stdout": "4\n"}]});
        assert_eq!(task(info.clone()), expected);
        assert_eq!(task(json!({ "verification_info": info.to_string() })), expected);
    }

    #[test]
    fn unsupported_open_r1_test_type_is_named() {
        let info = json!({"language": "python", "test_cases": [{"input": "", "output": "", "type": "function_call"}]});
        let error = error(info);
        assert_eq!(error.field.as_deref(), Some("label.test_cases[0].type"));
    }

    #[test]
    fn native_code_fields_without_kind_are_code() {
        let label = json!({"language": "python", "tests": [{"stdin": "", "stdout": "1\n"}]});
        assert_eq!(task(label)["kind"], json!("code"));
    }

    #[test]
    fn an_unknown_object_is_never_a_math_answer() {
        let error = error(json!({"question": "q", "solution": "s"}));
        assert_eq!(error.code, ItemErrorCode::InvalidLabel);
        assert!(
            error.message.contains("keys: question, solution"),
            "{}",
            error.message
        );
    }

    #[test]
    fn labels_without_a_reference_are_refused() {
        for label in [
            json!(null),
            json!(true),
            json!([]),
            json!(["1", "2"]),
            json!("  "),
        ] {
            assert_eq!(error(label).field.as_deref(), Some("label"));
        }
    }

    #[test]
    fn mismatched_apps_lists_are_refused() {
        let error = error(json!({"inputs": ["1"], "outputs": []}));
        assert_eq!(error.field.as_deref(), Some("label.outputs"));
    }
}
