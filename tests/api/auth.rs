//! API keys: with keys configured, every operation of the served OpenAPI document (which the
//! ops suite checks against the router's routes) refuses a missing or unknown key unless it is
//! one of the open operational routes; scopes decide the rest; per-key rate limits answer 429
//! with `Retry-After`.

use serde_json::{Value, json};
use verdict::auth::{ApiKey, Rate, Scope};

use crate::helpers::{TestApp, math_item, spawn_app_with};

const OPEN: [&str; 5] = ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"];

async fn app_with_keys(rate: Option<Rate>) -> TestApp {
    spawn_app_with(|config| {
        config.api_keys = vec![
            ApiKey::from_secret("trainer", "key-reward", &[Scope::Reward], rate),
            ApiKey::from_secret("auditor", "key-audit", &[Scope::AuditRead], None),
            ApiKey::from_secret("operator", "key-admin", &[Scope::Admin], None),
        ];
    })
    .await
}

/// Sends `method path` with an optional bearer key and a JSON body for writes.
async fn send(app: &TestApp, method: &str, path: &str, key: Option<&str>) -> reqwest::Response {
    let url = format!("{}{path}", app.base);
    let mut request = app
        .client
        .request(method.parse().unwrap(), url)
        .header("content-type", "application/json");
    if method != "GET" {
        request = request.body("{}");
    }
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    request.send().await.expect("request sent")
}

/// Every (method, concrete path, template) the document lists.
async fn operations(app: &TestApp) -> Vec<(String, String, String)> {
    let document = app.get("/openapi.json").await;
    assert_eq!(document.status, 200, "the document stays open");
    let mut operations = Vec::new();
    for (template, item) in document.body["paths"].as_object().unwrap() {
        let concrete = template
            .replace("{id}", "01KB3M8Y7ZQ4V2H6J9T0C5N1RX")
            .replace("{run_id}", "some-run");
        for method in item.as_object().unwrap().keys() {
            operations.push((method.to_uppercase(), concrete.clone(), template.clone()));
        }
    }
    assert!(operations.len() >= 17, "{operations:?}");
    operations
}

/// The key that the rule of the brief says each route needs.
fn expected_key(method: &str, template: &str) -> &'static str {
    let reward = method == "POST"
        && ["/v1/rewards", "/v1/math/verify", "/v1/code/run", "/get_reward"].contains(&template);
    let audit_read = method == "GET"
        && ["/v1/submissions", "/v1/runs", "/v1/datasets"]
            .iter()
            .any(|prefix| template.starts_with(prefix));
    if reward {
        "key-reward"
    } else if audit_read {
        "key-audit"
    } else {
        "key-admin"
    }
}

async fn error_code(response: reqwest::Response) -> String {
    let body: Value = response.json().await.expect("a JSON error body");
    assert!(
        body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body["error"]["code"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_route_but_the_open_ones_refuses_a_missing_or_unknown_key() {
    let app = app_with_keys(None).await;
    for (method, path, template) in operations(&app).await {
        let response = send(&app, &method, &path, None).await;
        if OPEN.contains(&template.as_str()) {
            assert_ne!(response.status(), 401, "{method} {path} should stay open");
            continue;
        }
        assert_eq!(response.status(), 401, "{method} {path} without a key");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        assert_eq!(error_code(response).await, "unauthorized");
        let response = send(&app, &method, &path, Some("key-wrong")).await;
        assert_eq!(response.status(), 401, "{method} {path} with an unknown key");
        assert_eq!(error_code(response).await, "unauthorized");
        // A configured key's hash presented as the key is just another unknown key.
        let hash = verdict::auth::hash_key("key-admin");
        assert_eq!(send(&app, &method, &path, Some(&hash)).await.status(), 401);
    }
}

#[tokio::test]
async fn each_route_admits_exactly_the_key_with_its_scope() {
    let app = app_with_keys(None).await;
    for (method, path, template) in operations(&app).await {
        if OPEN.contains(&template.as_str()) {
            continue;
        }
        let allowed = expected_key(&method, &template);
        for key in ["key-reward", "key-audit", "key-admin"] {
            let response = send(&app, &method, &path, Some(key)).await;
            let status = response.status().as_u16();
            if key == allowed {
                assert!(
                    ![401, 403].contains(&status),
                    "{method} {path} refused {key}: {status}"
                );
            } else {
                assert_eq!(status, 403, "{method} {path} admitted {key}");
                assert_eq!(error_code(response).await, "forbidden");
            }
        }
    }
    // An allowed key does real work.
    let response = app
        .client
        .post(format!("{}/v1/rewards", app.base))
        .bearer_auth("key-reward")
        .json(&json!({ "items": [math_item("a", "<think>t</think> \\boxed{4}", "4")] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["results"][0]["reward"], 2.0);
}

#[tokio::test]
async fn a_key_over_its_rate_gets_429_with_retry_after_and_others_are_unaffected() {
    let rate = Rate {
        per_second: 0.5,
        burst: 2,
    };
    let app = app_with_keys(Some(rate)).await;
    let verify = json!({ "gold": "1/2", "prediction": "0.5" });
    let post = |key: &'static str| {
        app.client
            .post(format!("{}/v1/math/verify", app.base))
            .bearer_auth(key)
            .json(&verify)
            .send()
    };
    assert_eq!(post("key-reward").await.unwrap().status(), 200);
    assert_eq!(post("key-reward").await.unwrap().status(), 200);
    let limited = post("key-reward").await.unwrap();
    assert_eq!(limited.status(), 429);
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "retry after {retry}");
    assert_eq!(error_code(limited).await, "rate_limited");
    // The limit belongs to the key: open routes and other keys are not limited.
    assert_eq!(app.get("/healthz").await.status, 200);
    assert_eq!(
        send(&app, "GET", "/v1/runs", Some("key-audit")).await.status(),
        200
    );
}

#[tokio::test]
async fn the_document_declares_the_bearer_scheme_and_each_operations_scope() {
    let app = app_with_keys(None).await;
    let document = app.get("/openapi.json").await.body;
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert_eq!(
        document["paths"]["/v1/rewards"]["post"]["security"],
        json!([{ "bearer": ["reward"] }])
    );
    assert_eq!(
        document["paths"]["/v1/runs/{run_id}/keep"]["put"]["security"],
        json!([{ "bearer": ["admin"] }])
    );
    assert!(document["paths"]["/v1/submissions"]["get"]["responses"]["403"].is_object());
    assert!(document["paths"]["/healthz"]["get"].get("security").is_none());
}
