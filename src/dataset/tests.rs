use super::*;

const NATIVE: &str = r#"{"id": "a", "prompt": "1+1?", "task": {"kind": "math", "answer": "2"}, "metadata": {"level": 1}}
{"id": "b", "task": {"kind": "math", "answer": "\\frac12"}}
"#;

#[test]
fn the_version_is_the_content_hash_and_changes_with_any_answer() {
    let one = Dataset::parse("toy", NATIVE, None).unwrap();
    let again = Dataset::parse("other-name", NATIVE, Some(Shape::Native)).unwrap();
    assert_eq!(one.shape, Shape::Native);
    assert_eq!(one.entries.len(), 2);
    assert_eq!(one.version.len(), 16);
    assert_eq!(one.version, again.version, "the name is not content");
    let changed = Dataset::parse("toy", &NATIVE.replace("\"2\"", "\"3\""), None).unwrap();
    assert_ne!(one.version, changed.version);
    let reparsed = Dataset::parse("toy", &one.to_native_jsonl(), None).unwrap();
    assert_eq!(reparsed.version, one.version, "native export round-trips");
}

#[test]
fn bad_uploads_are_refused_naming_the_line_and_key() {
    let duplicate = format!("{NATIVE}{}", NATIVE.lines().next().unwrap());
    let error = Dataset::parse("toy", &duplicate, None).unwrap_err();
    assert_eq!(error.field, "line 3.id", "{error}");
    let error = Dataset::parse("toy", "{\"id\": \"a\", \"task\": 3}", Some(Shape::Native)).unwrap_err();
    assert_eq!(error.field, "line 1.task");
    let error = Dataset::parse(
        "toy",
        "{\"id\": \"a\", \"task\": {}, \"extra\": 1}",
        Some(Shape::Native),
    )
    .unwrap_err();
    assert!(error.message.contains("extra"), "{error}");
    assert_eq!(
        Dataset::parse("toy", "not json", None).unwrap_err().field,
        "line 1"
    );
    assert_eq!(
        Dataset::parse("bad name", NATIVE, None).unwrap_err().field,
        "name"
    );
    assert_eq!(Dataset::parse("toy", "\n\n", None).unwrap_err().field, "body");
}

#[test]
fn entry_references_name_a_dataset_an_optional_version_and_an_id() {
    let full = EntryRef::parse("math500@0123abcd:test/algebra/1.json").unwrap();
    assert_eq!(full.name, "math500");
    assert_eq!(full.version.as_deref(), Some("0123abcd"));
    assert_eq!(full.id, "test/algebra/1.json");
    let latest = EntryRef::parse("gsm8k:12").unwrap();
    assert_eq!(latest.version, None);
    assert_eq!(latest.resolved("ff"), "gsm8k@ff:12");
    for bad in ["nocolon", "x@:1", "x:", ":1", "a b:1"] {
        assert!(EntryRef::parse(bad).is_err(), "{bad}");
    }
}
