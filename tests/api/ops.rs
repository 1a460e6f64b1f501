use serde_json::json;

use crate::helpers::{math_item, spawn_app};

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let health = app.get("/healthz").await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body["status"], "ok");
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.body["status"], "ready");
    assert!(ready.body["policies"].as_array().unwrap().contains(&json!("r1")));
}

#[tokio::test]
async fn metrics_count_rewards_by_kind_and_verdict_and_requests_by_route() {
    let app = spawn_app().await;
    app.post_json(
        "/v1/rewards",
        &json!({ "items": [
            math_item("a", "<think>t</think> \\boxed{4}", "4"),
            math_item("b", "<think>t</think> \\boxed{4}", "4"),
            math_item("c", "<think>t</think> \\boxed{5}", "4"),
        ] }),
    )
    .await;
    let (status, text) = app.get_text("/metrics").await;
    assert_eq!(status, 200);
    assert!(
        text.contains("verdict_rewards_total{kind=\"math\",verdict=\"correct\"} 2"),
        "{text}"
    );
    assert!(text.contains("verdict_rewards_total{kind=\"math\",verdict=\"incorrect\"} 1"));
    assert!(
        text.contains("verdict_http_requests_total{method=\"POST\",route=\"/v1/rewards\",status=\"200\"} 1")
    );
    assert!(text.contains("verdict_verification_seconds_bucket{kind=\"math\""));
}

#[tokio::test]
async fn the_openapi_document_lists_every_route() {
    let app = spawn_app().await;
    let reply = app.get("/openapi.json").await;
    assert_eq!(reply.status, 200);
    let paths = reply.body["paths"].as_object().expect("paths");
    for route in [
        "/v1/rewards",
        "/v1/math/verify",
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
    ] {
        assert!(paths.contains_key(route), "missing {route}");
    }
    assert!(reply.body["components"]["schemas"]["RewardRequest"].is_object());
}
