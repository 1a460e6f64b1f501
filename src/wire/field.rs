//! Where a deserialisation error points: the path of the offending field, shared by the HTTP
//! body decoder and the item parser so both name fields the same way.

/// The field a deserialisation error is about. serde reports a missing field at its parent's
/// path with the name only in the message (``missing field `completion` ``), so the name is
/// taken from there to point at the field itself.
pub fn field_of(path: &str, message: &str) -> Option<String> {
    let parent = (path != ".").then_some(path);
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    match (parent, missing) {
        (Some(parent), Some(name)) => Some(format!("{parent}.{name}")),
        (None, Some(name)) => Some(name.to_owned()),
        (parent, None) => parent.map(str::to_owned),
    }
}
