//! Whole numbers as JSON Schema counts them: `8854.0` is an `integer` there (a number whose
//! fractional part is zero), so a client or generator may send it where the document says
//! integer; serde's `u64` alone would refuse it.

use serde::{Deserialize, Deserializer, de::Error};

/// A `u64` that also takes a float with no fractional part. A newtype rather than a
/// `deserialize_with` function, so that an absent field is `None` without `#[serde(default)]`
/// (which would also let a struct be sent as an empty array).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WholeNumber(pub u64);

impl<'de> Deserialize<'de> for WholeNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Through `serde_json::Number` rather than an untagged `u64`/`f64` enum, so that it keeps
        // working under serde_json's `arbitrary_precision`, where a buffered float is no longer an
        // `f64` to serde.
        let number = serde_json::Number::deserialize(deserializer)?;
        if let Some(value) = number.as_u64() {
            return Ok(WholeNumber(value));
        }
        match number.as_f64() {
            Some(value)
                if value.is_finite() && value.fract() == 0.0 && value >= 0.0 && value < u64::MAX as f64 =>
            {
                Ok(WholeNumber(value as u64))
            }
            _ => Err(D::Error::custom(format!(
                "expected a whole number ≥ 0, got {number}"
            ))),
        }
    }
}

/// The value, for `Option<WholeNumber>` fields.
pub fn value(number: Option<WholeNumber>) -> Option<u64> {
    number.map(|n| n.0)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Limits {
        time_ms: Option<super::WholeNumber>,
    }

    fn parse(json: &str) -> Result<Option<u64>, String> {
        serde_json::from_str::<Limits>(json)
            .map(|l| super::value(l.time_ms))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn integral_floats_count_as_whole_numbers_and_others_are_refused() {
        assert_eq!(parse(r#"{"time_ms": 8854}"#), Ok(Some(8854)));
        assert_eq!(parse(r#"{"time_ms": 8854.0}"#), Ok(Some(8854)));
        assert_eq!(parse(r#"{"time_ms": null}"#), Ok(None));
        assert_eq!(parse(r#"{}"#), Ok(None));
        assert!(parse(r#"{"time_ms": 1.5}"#).unwrap_err().contains("whole number"));
        assert!(parse(r#"{"time_ms": -3}"#).is_err());
        assert!(parse(r#"{"time_ms": "5"}"#).is_err());
        assert!(parse("[]").is_err(), "a struct is not an empty array");
        assert_eq!(parse(r#"{"time_ms": 1e3}"#), Ok(Some(1000)));
        assert!(parse(r#"{"time_ms": 123456789012345678901234567890}"#).is_err());
    }
}
