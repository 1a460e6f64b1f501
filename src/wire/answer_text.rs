//! A reference answer that a client may send as a JSON string or a JSON number. A number is
//! kept as serde_json holds it: every digit of an integer up to 64 bits; with serde_json's
//! `arbitrary_precision` feature enabled, every digit as written (`123456789012345678901234567890`,
//! `0.10`), since a number is then held as its text.

use serde::{Deserialize, Deserializer, de::Error};
use serde_json::Value;

/// For `#[serde(deserialize_with = "…")]` on a `String` field that also takes a number.
pub fn string_or_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::String(text) => Ok(text),
        Value::Number(number) => Ok(number.to_string()),
        other => Err(D::Error::custom(format!(
            "expected a string or a number, got {}",
            match other {
                Value::Null => "null",
                Value::Bool(_) => "a boolean",
                Value::Array(_) => "an array",
                _ => "an object",
            }
        ))),
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Gold {
        #[serde(deserialize_with = "super::string_or_number")]
        gold: String,
    }

    fn gold(json: &str) -> Result<String, String> {
        serde_json::from_str::<Gold>(json)
            .map(|g| g.gold)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn numbers_and_strings_are_answers() {
        assert_eq!(gold(r#"{"gold": 42}"#).as_deref(), Ok("42"));
        assert_eq!(gold(r#"{"gold": -7}"#).as_deref(), Ok("-7"));
        assert_eq!(gold(r#"{"gold": 0.5}"#).as_deref(), Ok("0.5"));
        assert_eq!(
            gold(r#"{"gold": 18446744073709551615}"#).as_deref(),
            Ok("18446744073709551615")
        );
        assert_eq!(gold(r#"{"gold": "\\frac12"}"#).as_deref(), Ok("\\frac12"));
    }

    #[test]
    fn other_json_is_refused_with_its_kind() {
        assert!(gold(r#"{"gold": null}"#).unwrap_err().contains("null"));
        assert!(gold(r#"{"gold": [1]}"#).unwrap_err().contains("array"));
        assert!(gold(r#"{"gold": true}"#).unwrap_err().contains("boolean"));
    }
}
