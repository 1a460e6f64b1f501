use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn equal_answers_are_reported_with_their_parsed_forms() {
    let app = spawn_app().await;
    let reply = app
        .post_json(
            "/v1/math/verify",
            &json!({ "gold": "\\dfrac{1}{2}", "prediction": "0.5" }),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["equal"], true);
    assert_eq!(reply.body["verdict"], "correct");
    assert!(reply.body["method"].is_string());
    assert!(reply.body["gold"].is_string());
    assert!(reply.body["predicted"].is_string());
}

#[tokio::test]
async fn one_minus_over_e_is_not_one_plus_over_e() {
    let app = spawn_app().await;
    let reply = app
        .post_json(
            "/v1/math/verify",
            &json!({ "gold": "1-\\frac{1}{e}", "prediction": "1+\\frac{1}{e}" }),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["equal"], false);
    assert_eq!(reply.body["verdict"], "incorrect");
}

#[tokio::test]
async fn an_unparsable_prediction_is_a_verdict_with_a_reason() {
    let app = spawn_app().await;
    let reply = app
        .post_json(
            "/v1/math/verify",
            &json!({ "gold": "3", "prediction": "\\frac{" }),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["equal"], false);
    assert_eq!(reply.body["verdict"], "unparsable");
    assert!(reply.body["parse_error"].as_str().is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn an_unparsable_gold_is_the_callers_error() {
    let app = spawn_app().await;
    let reply = app
        .post_json(
            "/v1/math/verify",
            &json!({ "gold": "\\frac{", "prediction": "3" }),
        )
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert_eq!(reply.error(), ("invalid_field".into(), Some("gold".into())));
}

#[tokio::test]
async fn a_missing_prediction_is_named() {
    let app = spawn_app().await;
    let reply = app.post_json("/v1/math/verify", &json!({ "gold": "3" })).await;
    assert_eq!(reply.status, 422);
    assert_eq!(reply.error(), ("invalid_field".into(), Some("prediction".into())));
}
