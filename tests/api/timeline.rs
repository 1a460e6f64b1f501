//! `GET /v1/runs/{run_id}/timeline` on SQLite and on PostgreSQL: rows with known times land in
//! the same buckets on both (boundaries included), with exact counts and rates; empty buckets
//! are left out; bad parameters are refused naming the parameter.

use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use verdict::store::{Store, Submission};

use crate::helpers::{Backend, spawn_app_on};

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test] async fn $name() { super::$name(crate::helpers::Backend::Sqlite).await } )*
        }
        mod postgres {
            $( #[tokio::test] async fn $name() { super::$name(crate::helpers::Backend::Postgres).await } )*
        }
    };
}

on_both_backends!(
    a_runs_timeline_buckets_its_span_with_exact_counts_and_rates,
    timeline_parameters_are_checked_and_unknown_runs_are_not_found,
);

fn row(run: Option<&str>, at: OffsetDateTime, verdict: &str, reward: f64, format_ok: bool) -> Submission {
    Submission {
        submission_id: verdict::store::new_id(),
        run_id: run.map(str::to_owned),
        item_id: None,
        policy: "r1".into(),
        policy_version: "r1@test".into(),
        kind: if verdict == "accepted" || verdict == "wrong_answer" {
            "code"
        } else {
            "math"
        }
        .into(),
        task: json!({}),
        prompt: None,
        completion: "c".into(),
        extracted: None,
        verdict: verdict.into(),
        format_ok,
        reward,
        components: json!({}),
        details: json!({}),
        elapsed_ms: 0.1,
        service_version: "test".into(),
        created_at: at,
        entry: None,
        group_id: None,
        truncated: false,
        completion_tokens: None,
    }
}

async fn a_runs_timeline_buckets_its_span_with_exact_counts_and_rates(backend: Backend) {
    let Some(app) = spawn_app_on(backend, |_| {}).await else {
        return;
    };
    let store = Store::connect(&app.database_url, std::time::Duration::from_secs(5))
        .await
        .unwrap();
    let t0 = OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap();
    let ms = Duration::milliseconds;
    // A span of 1000 ms in 4 buckets: 250 ms each. 250 ms sits exactly on the boundary of
    // bucket 1; nothing falls in bucket 2.
    store
        .insert_submissions(&[
            row(Some("t"), t0, "correct", 2.0, true),
            row(Some("t"), t0 + ms(100), "incorrect", 1.0, true),
            row(Some("t"), t0 + ms(250), "accepted", 2.0, true),
            row(Some("t"), t0 + ms(260), "wrong_answer", 0.0, false),
            row(Some("t"), t0 + ms(999), "correct", 2.0, true),
            // Other runs and run-less rows stay out.
            row(Some("other"), t0 + ms(500), "correct", 2.0, true),
            row(None, t0 + ms(500), "correct", 2.0, true),
        ])
        .await
        .unwrap();

    let reply = app.get("/v1/runs/t/timeline?buckets=4").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = &reply.body;
    assert_eq!(body["run_id"], "t");
    assert_eq!(body["bucket_ms"], 250);
    let summary: Vec<Value> = body["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            json!([
                b["start"],
                b["end"],
                b["count"],
                b["mean_reward"],
                b["accuracy_rate"],
                b["format_rate"]
            ])
        })
        .collect();
    let at = |offset: i64| {
        (t0 + ms(offset))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    assert_eq!(
        summary,
        vec![
            json!([at(0), at(250), 2, 1.5, 0.5, 1.0]),
            json!([at(250), at(500), 2, 1.0, 0.5, 0.5]),
            json!([at(750), at(1000), 1, 2.0, 1.0, 1.0]),
        ]
    );

    // One bucket holds the whole run; the default is 50 buckets.
    let reply = app.get("/v1/runs/t/timeline?buckets=1").await;
    assert_eq!(reply.body["buckets"][0]["count"], 5);
    let reply = app.get("/v1/runs/t/timeline").await;
    assert_eq!(reply.body["bucket_ms"], 20, "1000 ms in 50 buckets");
    let counted: u64 = reply.body["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, 5);
}

async fn timeline_parameters_are_checked_and_unknown_runs_are_not_found(backend: Backend) {
    let Some(app) = spawn_app_on(backend, |_| {}).await else {
        return;
    };
    let reply = app.get("/v1/runs/nobody/timeline").await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.error().0, "not_found");
    for query in ["buckets=0", "buckets=1001", "buckets=many", "bucket=5"] {
        let reply = app.get(&format!("/v1/runs/nobody/timeline?{query}")).await;
        assert_eq!(reply.status, 422, "{query}: {}", reply.body);
        let field = query.split('=').next().unwrap();
        assert_eq!(reply.error().1.as_deref(), Some(field), "{query}");
    }
}
