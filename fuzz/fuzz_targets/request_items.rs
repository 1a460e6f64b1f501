//! Request bodies as the server decodes them: JSON, then each reward item through the same
//! item parser `/v1/rewards` and `verdict check` use (math and code tasks, limits, tests).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return;
    };
    let items = match value {
        serde_json::Value::Object(mut request) => match request.remove("items") {
            Some(serde_json::Value::Array(items)) => items,
            _ => vec![serde_json::Value::Object(request)],
        },
        serde_json::Value::Array(items) => items,
        other => vec![other],
    };
    for item in items {
        let _ = verdict::wire::parse_item(item);
    }
});
