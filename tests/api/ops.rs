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
async fn every_documented_operation_is_served_by_its_route() {
    let app = spawn_app().await;
    let reply = app.get("/openapi.json").await;
    assert_eq!(reply.status, 200);
    let paths = reply.body["paths"].as_object().expect("paths");
    assert!(paths.len() >= 20, "only {} paths documented", paths.len());
    assert!(reply.body["components"]["schemas"]["RewardRequest"].is_object());
    // Routes and documentation are registered together (src/api/mod.rs); what this checks is
    // that each documented method of each path reaches a route of that template, not the
    // fallback: the metrics label every request with the route it matched.
    let mut asked = Vec::new();
    for (template, operations) in paths {
        let path = template
            .replace("{id}", "01J0000000000000000000000X")
            .replace(['{', '}'], "");
        for method in operations.as_object().unwrap().keys() {
            let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            app.client
                .request(method.clone(), format!("{}{path}", app.base))
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .expect("request sent");
            asked.push((method, template.clone()));
        }
    }
    let (_, exposition) = app.get_text("/metrics").await;
    for (method, template) in asked {
        let label = format!("method=\"{method}\",route=\"{template}\"");
        assert!(
            exposition.contains(&label),
            "{method} {template} did not reach its route"
        );
    }
    // And the check itself can fail: an undocumented path is the fallback's.
    app.get("/v1/no-such-route").await;
    let (_, exposition) = app.get_text("/metrics").await;
    assert!(exposition.contains("route=\"unmatched\""));
}

#[tokio::test]
async fn every_prometheus_metric_of_the_dashboard_is_exported() {
    let app = spawn_app().await;
    // A math reward, a code reward and a bad item, so that every labelled family has a series.
    let code = json!({ "completion": "```python\nprint(1)\n```", "task": { "kind": "code", "language": "python", "tests": [ { "stdout": "1" } ] } });
    app.post_json(
        "/v1/rewards",
        &json!({ "items": [math_item("a", "<think>t</think> \\boxed{4}", "4"), code, { "completion": 1 }] }),
    )
    .await;
    let (_, exposition) = app.get_text("/metrics").await;
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/deploy/grafana/dashboards/verdict.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let mut checked = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let Some(expr) = target["expr"].as_str() else {
                continue;
            };
            for name in metric_names(expr) {
                assert!(
                    exposition.contains(&format!("\n{name}")),
                    "dashboard uses {name}, which /metrics lacks"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 8, "only {checked} metric references found");
}

fn metric_names(expr: &str) -> Vec<String> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with("verdict_"))
        .map(str::to_owned)
        .collect()
}
