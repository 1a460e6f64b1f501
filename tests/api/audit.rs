//! The audit trail over HTTP, against SQLite and against a real PostgreSQL server: every
//! reward result is retrievable by its `submission_id`, filters and pages return exactly the
//! matching rows, exports hold the filtered count, runs aggregate, reverification sees drift,
//! retention spares kept runs.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::Connection;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use verdict::reward::PolicyConfig;
use verdict::store::Store;

use crate::helpers::{Backend, TestApp, math_item, spawn_app_on};

/// Runs each named test once on SQLite and once on PostgreSQL.
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
    every_reward_result_is_retrievable_by_its_submission_id,
    filters_and_pages_return_exactly_the_matching_rows_and_exports_hold_as_many,
    runs_report_counts_rates_and_a_verdict_histogram,
    reverification_reports_drift_when_a_stored_verdict_was_edited,
    retention_deletes_old_submissions_but_never_those_of_kept_runs,
    bad_query_parameters_are_refused_naming_the_parameter,
    readiness_reports_the_storage_backend_and_an_empty_spool,
);

/// What the test sent and was answered, per judged item.
#[derive(Debug, Clone)]
struct Sent {
    run_id: String,
    policy: String,
    verdict: String,
    reward: f64,
    format_ok: bool,
}

async fn app_on(backend: Backend) -> Option<TestApp> {
    spawn_app_on(backend, |config| {
        let mut policies = BTreeMap::new();
        policies.insert(
            "half".to_owned(),
            PolicyConfig {
                format_weight: 0.5,
                ..PolicyConfig::default()
            },
        );
        config.policies = verdict::reward::PolicySet::new(&policies).unwrap();
    })
    .await
}

/// Item `i` of a mixed batch: right, wrong, unformatted (with commas, quotes and a newline
/// for the CSV), no answer, or malformed (an error, never a submission).
fn mixed_item(i: usize) -> Value {
    let answer = i.to_string();
    match i % 5 {
        0 => math_item(
            &format!("i{i}"),
            &format!("<think>t</think> \\boxed{{{i}}}"),
            &answer,
        ),
        1 => math_item(
            &format!("i{i}"),
            &format!("<think>t</think> \\boxed{{{}}}", i + 1),
            &answer,
        ),
        2 => math_item(
            &format!("i{i}"),
            &format!("so, \"clearly\"\n\\boxed{{{i}}}"),
            &answer,
        ),
        3 => math_item(&format!("i{i}"), "<think>\\boxed{1}</think> no idea", &answer),
        _ => json!({ "id": format!("i{i}"), "completion": "x", "task": { "kind": "chemistry" } }),
    }
}

/// Sends `batches` batches of `size` mixed items over three runs and two policies; returns
/// what each judged item was answered, by submission id.
async fn send_mixed(app: &TestApp, batches: usize, size: usize) -> BTreeMap<String, Sent> {
    let mut sent = BTreeMap::new();
    for batch in 0..batches {
        let run_id = ["run-a", "run-b", "run-c"][batch % 3];
        let policy = ["r1", "half"][batch % 2];
        let items: Vec<Value> = (0..size).map(|i| mixed_item(batch * size + i)).collect();
        let reply = app
            .post_json(
                "/v1/rewards",
                &json!({ "run_id": run_id, "policy": policy, "items": items }),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        for result in reply.body["results"].as_array().unwrap() {
            if result.get("error").is_some() {
                assert!(result.get("submission_id").is_none(), "{result}");
                continue;
            }
            let id = result["submission_id"]
                .as_str()
                .expect("judged items carry an id");
            let previous = sent.insert(
                id.to_owned(),
                Sent {
                    run_id: run_id.to_owned(),
                    policy: policy.to_owned(),
                    verdict: result["verdict"].as_str().unwrap().to_owned(),
                    reward: result["reward"].as_f64().unwrap(),
                    format_ok: result["format_ok"].as_bool().unwrap(),
                },
            );
            assert!(previous.is_none(), "ids are unique");
        }
    }
    sent
}

/// Every page of a listing, following `next_cursor`; checks newest-first order on the way.
async fn list_all(app: &TestApp, query: &str) -> Vec<Value> {
    let mut rows: Vec<Value> = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let mut path = format!("/v1/submissions?limit=37&{query}");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let reply = app.get(&path).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        let page = reply.body["submissions"].as_array().unwrap();
        assert!(page.len() <= 37);
        rows.extend(page.iter().cloned());
        match reply.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let ids: Vec<&str> = rows
        .iter()
        .map(|r| r["submission_id"].as_str().unwrap())
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] > w[1]),
        "newest first, no repeats: {query}"
    );
    rows
}

fn created_at(row: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(row["created_at"].as_str().unwrap(), &Rfc3339).unwrap()
}

/// How many records a CSV document holds, header excluded (quoted fields may span lines).
fn csv_records(text: &str) -> usize {
    let mut records = 0;
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '\n' if !quoted => records += 1,
            _ => {}
        }
    }
    assert!(!quoted, "balanced quotes");
    records - 1
}

async fn every_reward_result_is_retrievable_by_its_submission_id(backend: Backend) {
    let Some(app) = app_on(backend).await else { return };
    let sent = send_mixed(&app, 4, 25).await;
    assert_eq!(sent.len(), 80, "4 of every 5 items are judged");

    for (id, expected) in &sent {
        let reply = app.get(&format!("/v1/submissions/{id}")).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let record = &reply.body;
        assert_eq!(record["submission_id"], id.as_str());
        assert_eq!(record["verdict"], expected.verdict.as_str());
        assert_eq!(record["reward"].as_f64().unwrap(), expected.reward);
        assert_eq!(record["run_id"], expected.run_id.as_str());
        assert_eq!(record["policy"], expected.policy.as_str());
        assert!(
            record["policy_version"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{}@", expected.policy))
        );
        assert_eq!(record["kind"], "math");
        assert_eq!(record["task"]["kind"], "math");
        assert!(record["completion"].is_string());
        assert!(record["details"]["gold"].is_string(), "{record}");
        assert!(record["components"]["accuracy"].is_number(), "{record}");
        assert_eq!(record["service_version"], env!("CARGO_PKG_VERSION"));
        assert!(record["reverifications"].as_array().unwrap().is_empty());
    }

    let missing = app.get("/v1/submissions/01ARZ3NDEKTSV4RRFFQ69G5FAV").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.error().0, "not_found");
}

async fn filters_and_pages_return_exactly_the_matching_rows_and_exports_hold_as_many(backend: Backend) {
    let Some(app) = app_on(backend).await else { return };
    let sent = send_mixed(&app, 12, 30).await;
    assert_eq!(sent.len(), 288);
    let all = list_all(&app, "").await;
    assert_eq!(all.len(), sent.len());
    let when: BTreeMap<String, OffsetDateTime> = all
        .iter()
        .map(|r| (r["submission_id"].as_str().unwrap().to_owned(), created_at(r)))
        .collect();
    let mut times: Vec<OffsetDateTime> = when.values().copied().collect();
    times.sort();
    let (since, until) = (times[times.len() / 4], times[times.len() * 3 / 4]);
    let (since_text, until_text) = (since.format(&Rfc3339).unwrap(), until.format(&Rfc3339).unwrap());

    type Predicate = Box<dyn Fn(&str, &Sent) -> bool>;
    let cases: Vec<(String, Predicate)> = vec![
        ("run_id=run-b".into(), Box::new(|_, s| s.run_id == "run-b")),
        ("verdict=correct".into(), Box::new(|_, s| s.verdict == "correct")),
        (
            "policy=half&verdict=incorrect".into(),
            Box::new(|_, s| s.policy == "half" && s.verdict == "incorrect"),
        ),
        ("min_reward=1.5".into(), Box::new(|_, s| s.reward >= 1.5)),
        (
            "run_id=run-a&max_reward=1".into(),
            Box::new(|_, s| s.run_id == "run-a" && s.reward <= 1.0),
        ),
        (
            "verdict=no_answer&min_reward=0.5&max_reward=0.5".into(),
            Box::new(|_, s| s.verdict == "no_answer" && s.reward == 0.5),
        ),
        ("kind=math&policy=r1".into(), Box::new(|_, s| s.policy == "r1")),
        ("kind=code".into(), Box::new(|_, _| false)),
        (
            format!("since={since_text}&until={until_text}"),
            Box::new({
                let when = when.clone();
                move |id, _| when[id] >= since && when[id] < until
            }),
        ),
        (
            format!("run_id=run-c&since={since_text}"),
            Box::new({
                let when = when.clone();
                move |id, s| s.run_id == "run-c" && when[id] >= since
            }),
        ),
    ];
    for (query, predicate) in &cases {
        let expected: BTreeSet<&str> = sent
            .iter()
            .filter(|(id, s)| predicate(id, s))
            .map(|(id, _)| id.as_str())
            .collect();
        let rows = list_all(&app, query).await;
        let got: BTreeSet<&str> = rows
            .iter()
            .map(|r| r["submission_id"].as_str().unwrap())
            .collect();
        assert_eq!(got.len(), rows.len(), "{query}: no duplicates");
        assert_eq!(got, expected, "{query}");

        let (status, jsonl) = app
            .get_text(&format!("/v1/submissions/export?format=jsonl&{query}"))
            .await;
        assert_eq!(status, 200, "{jsonl}");
        let lines: Vec<Value> = jsonl.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), expected.len(), "jsonl {query}");
        assert!(
            lines
                .iter()
                .all(|l| expected.contains(l["submission_id"].as_str().unwrap()))
        );

        let (status, csv) = app
            .get_text(&format!("/v1/submissions/export?format=csv&{query}"))
            .await;
        assert_eq!(status, 200, "{csv}");
        assert!(csv.starts_with("submission_id,created_at,run_id,"));
        assert_eq!(csv_records(&csv), expected.len(), "csv {query}");
    }

    // An export longer than one database page streams every row.
    let (_, everything) = app.get_text("/v1/submissions/export").await;
    assert_eq!(everything.lines().count(), sent.len());
}

async fn runs_report_counts_rates_and_a_verdict_histogram(backend: Backend) {
    let Some(app) = app_on(backend).await else { return };
    let sent = send_mixed(&app, 6, 20).await;

    let reply = app.get("/v1/runs").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let runs = reply.body["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    for run in runs {
        let run_id = run["run_id"].as_str().unwrap();
        let mine: Vec<&Sent> = sent.values().filter(|s| s.run_id == run_id).collect();
        let n = mine.len() as f64;
        assert_eq!(run["count"], mine.len());
        let mean = mine.iter().map(|s| s.reward).sum::<f64>() / n;
        assert!(
            (run["mean_reward"].as_f64().unwrap() - mean).abs() < 1e-9,
            "{run}"
        );
        let accurate = mine.iter().filter(|s| s.verdict == "correct").count() as f64;
        assert!(
            (run["accuracy_rate"].as_f64().unwrap() - accurate / n).abs() < 1e-9,
            "{run}"
        );
        let formatted = mine.iter().filter(|s| s.format_ok).count() as f64;
        assert!(
            (run["format_rate"].as_f64().unwrap() - formatted / n).abs() < 1e-9,
            "{run}"
        );
        let histogram: u64 = run["verdicts"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(histogram as usize, mine.len());
        let (first, last) = (
            OffsetDateTime::parse(run["first_seen"].as_str().unwrap(), &Rfc3339).unwrap(),
            OffsetDateTime::parse(run["last_seen"].as_str().unwrap(), &Rfc3339).unwrap(),
        );
        assert!(first <= last, "{run}");
        assert_eq!(run["keep"], false);

        let one = app.get(&format!("/v1/runs/{run_id}")).await;
        assert_eq!(one.status, 200);
        assert_eq!(&one.body, run);
    }

    let missing = app.get("/v1/runs/no-such-run").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.error().0, "not_found");
}

/// Runs one statement with one bound id directly on the test's database.
async fn execute(app: &TestApp, backend: Backend, sql: &'static str, id: &str) {
    match backend {
        Backend::Sqlite => {
            let mut db = sqlx::SqliteConnection::connect(&app.database_url).await.unwrap();
            sqlx::query(sql).bind(id).execute(&mut db).await.unwrap();
        }
        Backend::Postgres => {
            let mut db = sqlx::PgConnection::connect(&app.database_url).await.unwrap();
            sqlx::query(sql).bind(id).execute(&mut db).await.unwrap();
        }
    }
}

async fn reverification_reports_drift_when_a_stored_verdict_was_edited(backend: Backend) {
    let Some(app) = app_on(backend).await else { return };
    let reply = app
        .post_json(
            "/v1/rewards",
            &json!({ "run_id": "drift", "items": [math_item("q", "<think>t</think> \\boxed{\\frac{1}{2}}", "0.5")] }),
        )
        .await;
    let id = reply.body["results"][0]["submission_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let same = app
        .post_json(&format!("/v1/submissions/{id}/reverify"), &json!({}))
        .await;
    assert_eq!(same.status, 200, "{}", same.body);
    assert_eq!(same.body["drifted"], false);
    assert_eq!(same.body["old"]["verdict"], "correct");
    assert_eq!(same.body["new"]["verdict"], "correct");

    // An older verifier had judged it wrong.
    execute(
        &app,
        backend,
        "update submissions set verdict = 'incorrect', reward = 1 where submission_id = $1",
        &id,
    )
    .await;
    let drifted = app
        .post_json(&format!("/v1/submissions/{id}/reverify"), &json!({}))
        .await;
    assert_eq!(drifted.status, 200, "{}", drifted.body);
    assert_eq!(drifted.body["drifted"], true);
    assert_eq!(drifted.body["old"]["verdict"], "incorrect");
    assert_eq!(drifted.body["old"]["reward"], 1.0);
    assert_eq!(drifted.body["new"]["verdict"], "correct");
    assert_eq!(drifted.body["new"]["reward"], 2.0);

    let record = app.get(&format!("/v1/submissions/{id}")).await;
    let checks = record.body["reverifications"].as_array().unwrap();
    assert_eq!(checks.len(), 2, "every re-check is stored");
    assert_eq!(checks[0]["drifted"], false);
    assert_eq!(checks[1]["drifted"], true);

    let missing = app
        .post_json("/v1/submissions/01ARZ3NDEKTSV4RRFFQ69G5FAV/reverify", &json!({}))
        .await;
    assert_eq!(missing.status, 404);
}

async fn retention_deletes_old_submissions_but_never_those_of_kept_runs(backend: Backend) {
    let Some(app) = app_on(backend).await else { return };
    let sent = send_mixed(&app, 3, 10).await;
    let kept = app
        .client
        .put(format!("{}/v1/runs/run-b/keep", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(kept.status(), 200);
    let run = app.get("/v1/runs/run-b").await;
    assert_eq!(run.body["keep"], true);

    let store = Store::connect(&app.database_url, Duration::from_secs(5))
        .await
        .unwrap();
    let deleted = store
        .prune(OffsetDateTime::now_utc() + time::Duration::seconds(1))
        .await
        .unwrap();
    let in_b = sent.values().filter(|s| s.run_id == "run-b").count();
    assert_eq!(deleted as usize, sent.len() - in_b);
    let left = list_all(&app, "").await;
    assert_eq!(left.len(), in_b);
    assert!(left.iter().all(|r| r["run_id"] == "run-b"));

    let released = app
        .client
        .delete(format!("{}/v1/runs/run-b/keep", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(released.status(), 200);
    let deleted = store
        .prune(OffsetDateTime::now_utc() + time::Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(deleted as usize, in_b);
}

async fn bad_query_parameters_are_refused_naming_the_parameter(backend: Backend) {
    let Some(app) = app_on(backend).await else { return };
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
        ("min_reward=lots", "min_reward"),
        ("max_reward=NaN", "max_reward"),
        ("min_reward=2&max_reward=1", "min_reward"),
        ("since=yesterday", "since"),
        ("until=2026-13-01T00:00:00Z", "until"),
        ("verdict=great", "verdict"),
        ("kind=poetry", "kind"),
        ("cursor=not-a-cursor", "cursor"),
        ("run_id=", "run_id"),
        ("verdit=correct", "verdit"),
    ] {
        let reply = app.get(&format!("/v1/submissions?{query}")).await;
        assert_eq!(reply.status, 422, "{query}: {}", reply.body);
        assert_eq!(
            reply.error(),
            ("invalid_field".to_owned(), Some(field.to_owned())),
            "{query}"
        );
    }
    let reply = app.get("/v1/submissions/export?format=xml").await;
    assert_eq!(reply.status, 422);
    assert_eq!(reply.error().1.as_deref(), Some("format"));
    let reply = app.get("/v1/runs?limit=-1").await;
    assert_eq!(reply.status, 422);
    assert_eq!(reply.error().1.as_deref(), Some("limit"));
}

async fn readiness_reports_the_storage_backend_and_an_empty_spool(backend: Backend) {
    let Some(app) = app_on(backend).await else { return };
    let reply = app.get("/readyz").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["status"], "ready");
    let expected = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(reply.body["storage"]["backend"], expected);
    assert_eq!(reply.body["storage"]["database_reachable"], true);
    assert_eq!(reply.body["storage"]["spool_backlog"], 0);
}
