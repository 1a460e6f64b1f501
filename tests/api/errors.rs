//! Malformed requests get a 4xx with the one JSON error shape, naming the field.

use serde_json::json;

use crate::helpers::{math_item, spawn_app, spawn_app_with};

#[tokio::test]
async fn malformed_json_is_a_400() {
    let app = spawn_app().await;
    let reply = app
        .post_raw("/v1/rewards", "application/json", b"{\"items\": [".to_vec())
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.error().0, "invalid_json");
}

#[tokio::test]
async fn trailing_garbage_is_malformed_json() {
    let app = spawn_app().await;
    let reply = app
        .post_raw("/v1/rewards", "application/json", b"{\"items\": []} x".to_vec())
        .await;
    assert_eq!(reply.status, 400);
}

#[tokio::test]
async fn wrong_types_and_missing_fields_are_422_naming_the_field() {
    let app = spawn_app().await;
    let cases = [
        (json!({ "items": "many" }), "items"),
        (json!({}), "items"),
        (json!({ "items": [], "run_id": 5 }), "run_id"),
        (json!({ "items": [], "run_id": "" }), "run_id"),
        (json!({ "items": [], "polcy": "r1" }), "polcy"),
        (json!([1, 2]), ""),
    ];
    for (body, field) in cases {
        let reply = app.post_json("/v1/rewards", &body).await;
        assert_eq!(reply.status, 422, "{body}: {}", reply.body);
        let (code, named) = reply.error();
        assert_eq!(code, "invalid_field");
        if !field.is_empty() {
            let message = reply.body["error"]["message"].as_str().unwrap();
            assert!(
                named.as_deref() == Some(field) || message.contains(field),
                "{body}: expected field {field}, got {}",
                reply.body
            );
        }
    }
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_415() {
    let app = spawn_app().await;
    let reply = app.post_raw("/v1/rewards", "text/plain", b"{}".to_vec()).await;
    assert_eq!(reply.status, 415);
    assert_eq!(reply.error().0, "unsupported_media_type");
}

#[tokio::test]
async fn an_oversized_body_is_a_413() {
    let app = spawn_app_with(|config| config.limits.max_body_bytes = 4096).await;
    let completion = "x".repeat(10_000);
    let reply = app
        .post_json(
            "/v1/rewards",
            &json!({ "items": [math_item("big", &completion, "1")] }),
        )
        .await;
    assert_eq!(reply.status, 413);
    assert_eq!(reply.error().0, "payload_too_large");
}

#[tokio::test]
async fn an_unknown_route_is_a_json_404() {
    let app = spawn_app().await;
    let reply = app.get("/v1/nothing-here").await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.error().0, "not_found");
}

#[tokio::test]
async fn a_wrong_method_is_a_json_405() {
    let app = spawn_app().await;
    let reply = app.get("/v1/rewards").await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.error().0, "method_not_allowed");
}
