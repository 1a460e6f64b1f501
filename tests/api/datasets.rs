//! Registered datasets, groups, run metrics and whole-run re-checks over HTTP, against SQLite
//! and against a real PostgreSQL server: MATH-500's reference solutions scored by entry id are
//! all correct, a changed answer key is a new version and never replaces a stored one, group
//! statistics and metrics match hand-computed values, and a re-check job survives a restart
//! and reports exactly the rows whose stored verdicts were altered.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::{Connection, Row};
use tokio::sync::oneshot;
use verdict::{App, Config};

use crate::helpers::{Backend, TestApp, fresh_postgres_database, math_item, spawn_app_on};

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
    math500_reference_solutions_scored_by_entry_id_are_all_correct,
    a_changed_answer_key_is_a_new_version_and_never_replaces_a_stored_one,
    bad_uploads_and_unknown_entries_are_refused_naming_the_field,
    grouped_items_get_their_group_statistics_including_all_equal_groups,
    run_metrics_match_hand_computed_pass_at_k_and_vote_equivalent_answers_together,
    a_run_recheck_survives_a_restart_and_reports_exactly_the_altered_rows,
);

fn shared(path: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

async fn upload(app: &TestApp, query: &str, body: &str) -> crate::helpers::Reply {
    app.post_raw(
        &format!("/v1/datasets?{query}"),
        "application/x-ndjson",
        body.as_bytes().to_vec(),
    )
    .await
}

async fn math500_reference_solutions_scored_by_entry_id_are_all_correct(backend: Backend) {
    let Some(app) = spawn_app_on(backend, |_| {}).await else {
        return;
    };
    let text = shared("math/math500.jsonl");
    let reply = upload(&app, "name=math500", &text).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.body["shape"], "math500");
    assert_eq!(reply.body["entries"], 500);
    let version = reply.body["version"].as_str().unwrap().to_owned();

    let problems: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let items: Vec<Value> = problems
        .iter()
        .enumerate()
        .map(|(i, p)| {
            // Half name the version, half ask for the newest one.
            let entry = if i % 2 == 0 {
                format!("math500@{version}:{}", p["unique_id"].as_str().unwrap())
            } else {
                format!("math500:{}", p["unique_id"].as_str().unwrap())
            };
            json!({ "id": p["unique_id"], "entry": entry,
                    "completion": format!("<think>Work it out.</think> {}", p["solution"].as_str().unwrap()) })
        })
        .collect();
    let reply = app
        .post_json("/v1/rewards", &json!({ "run_id": "math500-ref", "items": items }))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let results = reply.body["results"].as_array().unwrap();
    let wrong: Vec<String> = results
        .iter()
        .filter(|r| r["verdict"] != "correct")
        .map(|r| format!("{} {} {}", r["id"], r["verdict"], r["error"]))
        .collect();
    assert!(wrong.is_empty(), "{} of 500 not correct: {wrong:#?}", wrong.len());
    assert_eq!(results.len(), 500);

    // The stored submission references the entry, version resolved, with its task.
    let first = &results[1];
    let expected_entry = format!("math500@{version}:{}", problems[1]["unique_id"].as_str().unwrap());
    assert_eq!(first["entry"], expected_entry.as_str());
    let stored = app
        .get(&format!(
            "/v1/submissions/{}",
            first["submission_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(stored.body["entry"], expected_entry.as_str());
    assert_eq!(stored.body["task"]["answer"], problems[1]["answer"]);

    // The listing and detail show the version and the metadata values.
    let list = app.get("/v1/datasets").await;
    assert_eq!(list.body["datasets"][0]["version"], version.as_str());
    let detail = app.get("/v1/datasets/math500").await;
    assert_eq!(detail.status, 200, "{}", detail.body);
    let levels: u64 = detail.body["metadata"]["level"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(levels, 500);
    assert_eq!(app.get("/v1/datasets/nope").await.status, 404);

    // Metrics break the run down by subject, level and dataset.
    let metrics = app.get("/v1/runs/math500-ref/metrics?k=1").await;
    assert_eq!(metrics.status, 200, "{}", metrics.body);
    assert_eq!(metrics.body["overall"]["problems"], 500);
    assert_eq!(metrics.body["overall"]["at_k"][0]["pass_at_k"], 1.0);
    assert_eq!(metrics.body["by"]["dataset"]["math500"]["problems"], 500);
    assert_eq!(metrics.body["by"]["level"].as_object().unwrap().len(), 5);
    assert!(
        metrics.body["by"]["subject"]["Algebra"]["problems"]
            .as_u64()
            .unwrap()
            > 0
    );
}

async fn a_changed_answer_key_is_a_new_version_and_never_replaces_a_stored_one(backend: Backend) {
    let Some(app) = spawn_app_on(backend, |_| {}).await else {
        return;
    };
    let key = "{\"id\": \"q1\", \"task\": {\"kind\": \"math\", \"answer\": \"2\"}}\n\
               {\"id\": \"q2\", \"task\": {\"kind\": \"math\", \"answer\": \"5\"}}\n";
    let first = upload(&app, "name=toy", key).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let version = first.body["version"].as_str().unwrap().to_owned();

    let again = upload(&app, &format!("name=toy&version={version}"), key).await;
    assert_eq!(
        again.status, 200,
        "same content is the same version: {}",
        again.body
    );
    assert_eq!(again.body["created"], false);
    assert_eq!(again.body["version"], version.as_str());

    let altered = key.replace("\"5\"", "\"6\"");
    let refused = upload(&app, &format!("name=toy&version={version}"), &altered).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert_eq!(refused.error().0, "version_conflict");

    // The stored key is untouched: q2 still wants 5.
    let judged = app
        .post_json(
            "/v1/rewards",
            &json!({ "items": [{ "entry": format!("toy@{version}:q2"), "completion": "<think>t</think> \\boxed{5}" }] }),
        )
        .await;
    assert_eq!(judged.body["results"][0]["verdict"], "correct", "{}", judged.body);

    // Without a version claim, the altered key is a new version and becomes the newest.
    let second = upload(&app, "name=toy", &altered).await;
    assert_eq!(second.status, 201, "{}", second.body);
    let new_version = second.body["version"].as_str().unwrap();
    assert_ne!(new_version, version);
    let latest = app
        .post_json(
            "/v1/rewards",
            &json!({ "items": [{ "entry": "toy:q2", "completion": "<think>t</think> \\boxed{6}" },
                               { "entry": format!("toy@{version}:q2"), "completion": "<think>t</think> \\boxed{6}" }] }),
        )
        .await;
    assert_eq!(latest.body["results"][0]["verdict"], "correct");
    assert_eq!(
        latest.body["results"][0]["entry"],
        format!("toy@{new_version}:q2").as_str()
    );
    assert_eq!(
        latest.body["results"][1]["verdict"], "incorrect",
        "the old version still holds 5"
    );
    let versions = app.get("/v1/datasets/toy").await;
    assert_eq!(versions.body["versions"].as_array().unwrap().len(), 2);
}

async fn bad_uploads_and_unknown_entries_are_refused_naming_the_field(backend: Backend) {
    let Some(app) = spawn_app_on(backend, |_| {}).await else {
        return;
    };
    let good = "{\"id\": \"a\", \"task\": {\"kind\": \"math\", \"answer\": \"1\"}}\n";
    let cases: [(&str, &str, &str); 5] = [
        ("name=bad%20name", good, "name"),
        ("", good, "name"),
        ("name=x&shape=csv", good, "shape"),
        (
            "name=x",
            "{\"id\": \"a\", \"task\": {\"kind\": \"math\"}}",
            "entries[0].task.answer",
        ),
        (
            "name=x",
            "{\"id\": \"a\", \"task\": {\"kind\": \"math\", \"answer\": \"1\"}}\nnot json",
            "line 2",
        ),
    ];
    for (query, body, field) in cases {
        let reply = upload(&app, query, body).await;
        assert_eq!(reply.status, 422, "{query}: {}", reply.body);
        assert_eq!(reply.error().1.as_deref(), Some(field), "{query}: {}", reply.body);
    }
    let unclaimed = upload(&app, "name=x&version=0000", good).await;
    assert_eq!(unclaimed.status, 422);
    assert_eq!(
        unclaimed.error(),
        ("version_mismatch".to_owned(), Some("version".to_owned()))
    );

    assert_eq!(upload(&app, "name=x", good).await.status, 201);
    let reply = app
        .post_json(
            "/v1/rewards",
            &json!({ "items": [
                { "entry": "x:missing", "completion": "c" },
                { "entry": "nosuch:a", "completion": "c" },
                { "entry": "x@ffff:a", "completion": "c" },
                { "entry": "x:a", "task": { "kind": "math", "answer": "1" }, "completion": "c" },
                { "entry": "no-colon", "completion": "c" },
                { "entry": 7, "completion": "c" },
                { "completion": "c" },
                { "entry": "x:a", "completion": "<think>t</think> \\boxed{1}", "group": "" },
            ] }),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let errors: Vec<(String, String)> = reply.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["error"]["code"].as_str().unwrap_or("-").to_owned(),
                r["error"]["field"].as_str().unwrap_or("-").to_owned(),
            )
        })
        .collect();
    let expected = [
        ("unknown_entry", "items[0].entry"),
        ("unknown_entry", "items[1].entry"),
        ("unknown_entry", "items[2].entry"),
        ("invalid_item", "items[3].entry"),
        ("invalid_item", "items[4].entry"),
        ("invalid_item", "items[5].entry"),
        ("invalid_item", "items[6].task"),
        ("invalid_item", "items[7].group"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(c, f)| (c.to_string(), f.to_string()))
        .collect();
    assert_eq!(errors, expected);
}

async fn grouped_items_get_their_group_statistics_including_all_equal_groups(backend: Backend) {
    let Some(app) = spawn_app_on(backend, |_| {}).await else {
        return;
    };
    let item = |group: &str, boxed: &str| {
        let mut item = math_item("x", &format!("<think>t</think> \\boxed{{{boxed}}}"), "0.5");
        item["group"] = json!(group);
        item
    };
    let items = vec![
        // g1: two right (written two ways), one wrong, one unformatted right.
        item("g1", "\\frac12"),
        item("g1", "0.5"),
        item("g1", "3"),
        json!({ "completion": "\\boxed{1/2}", "group": "g1", "task": { "kind": "math", "answer": "0.5" } }),
        // g2: all wrong with the same reward: no signal, two distinct answers.
        item("g2", "7"),
        item("g2", "8"),
        item("g2", "7"),
        // Not grouped.
        item("", "1")
            .as_object()
            .cloned()
            .map(|mut o| {
                o.remove("group");
                Value::Object(o)
            })
            .unwrap(),
    ];
    let reply = app
        .post_json("/v1/rewards", &json!({ "run_id": "groups", "items": items }))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let groups = &reply.body["groups"];
    let g1 = &groups["g1"];
    // Rewards 2, 2, 1, 1: mean 1.5, population std 0.5.
    assert_eq!(g1["size"], 4);
    assert_eq!(g1["mean"], 1.5);
    assert_eq!(g1["std"], 0.5);
    assert_eq!(g1["all_equal"], false);
    assert_eq!(
        g1["distinct_answers"], 2,
        "\\frac12, 0.5 and 1/2 are one answer: {g1}"
    );
    assert_eq!(g1["success_rate"], 0.75);
    let g2 = &groups["g2"];
    assert_eq!(g2["size"], 3);
    assert_eq!(g2["all_equal"], true);
    assert_eq!(g2["std"], 0.0);
    assert_eq!(g2["distinct_answers"], 2);
    assert_eq!(groups.as_object().unwrap().len(), 2);

    let results = reply.body["results"].as_array().unwrap();
    assert_eq!(results[0]["advantage"], 1.0);
    assert_eq!(results[2]["advantage"], -1.0);
    assert_eq!(results[4]["advantage"], 0.0);
    assert!(results[7].get("advantage").is_none() && results[7].get("group").is_none());
    let stored = app
        .get(&format!(
            "/v1/submissions/{}",
            results[4]["submission_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(stored.body["group_id"], "g2");

    // Without groups the response is as before: no `groups` key.
    let plain = app
        .post_json(
            "/v1/rewards",
            &json!({ "items": [math_item("a", "\\boxed{1}", "1")] }),
        )
        .await;
    assert!(plain.body.get("groups").is_none(), "{}", plain.body);
}

async fn run_metrics_match_hand_computed_pass_at_k_and_vote_equivalent_answers_together(backend: Backend) {
    let Some(app) = spawn_app_on(backend, |_| {}).await else {
        return;
    };
    let key = "{\"id\": \"p\", \"task\": {\"kind\": \"math\", \"answer\": \"1/2\"}, \"metadata\": {\"subject\": \"A\", \"level\": 1}}\n\
               {\"id\": \"q\", \"task\": {\"kind\": \"math\", \"answer\": \"4\"}, \"metadata\": {\"subject\": \"B\", \"level\": 2}}\n";
    assert_eq!(upload(&app, "name=evalset", key).await.status, 201);
    // p: 5 samples, 2 right written as 0.5 and \frac12, 3 wrong split 3, 7, 9:
    // the majority of 5 is the right answer only because 0.5 and \frac12 are one.
    // q: 4 samples, 1 right.
    let p = ["0.5", "3", "\\frac12", "7", "9"];
    let q = ["4", "5", "5", "6"];
    let mut items = Vec::new();
    for answer in p {
        items.push(
            json!({ "entry": "evalset:p", "completion": format!("<think>t</think> \\boxed{{{answer}}}") }),
        );
    }
    for answer in q {
        items.push(
            json!({ "entry": "evalset:q", "completion": format!("<think>t</think> \\boxed{{{answer}}}") }),
        );
    }
    // Sent one at a time so that submission order is the order above.
    for item in items {
        let reply = app
            .post_json("/v1/rewards", &json!({ "run_id": "evalrun", "items": [item] }))
            .await;
        assert!(reply.body["results"][0]["verdict"].is_string(), "{}", reply.body);
    }
    let reply = app.get("/v1/runs/evalrun/metrics?k=1,2,5").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let overall = &reply.body["overall"];
    assert_eq!(overall["problems"], 2);
    assert_eq!(overall["samples"], 9);
    let at = |k: usize, key: &str| overall["at_k"][k][key].as_f64();
    // pass@1: (2/5 + 1/4) / 2; pass@2: p = 1 - C(3,2)/C(5,2) = 0.7, q = 1 - C(3,2)/C(4,2) = 0.5.
    assert!((at(0, "pass_at_k").unwrap() - (0.4 + 0.25) / 2.0).abs() < 1e-12);
    assert!((at(1, "pass_at_k").unwrap() - (0.7 + 0.5) / 2.0).abs() < 1e-12);
    // k = 5: only p has 5 samples; pass@5 = 1; majority over 0.5, 3, \frac12, 7, 9 is right.
    assert_eq!(overall["at_k"][2]["problems"], 1);
    assert_eq!(overall["at_k"][2]["problems_short"], 1);
    assert_eq!(at(2, "pass_at_k"), Some(1.0));
    assert_eq!(at(2, "majority_at_k"), Some(1.0));
    assert!((at(2, "mean_at_k").unwrap() - 0.4).abs() < 1e-12);
    // mean@2 over the first two samples: p 1/2, q 1/2.
    assert_eq!(at(1, "mean_at_k"), Some(0.5));
    // majority@2: p's first two (0.5, 3) tie and the first answer wins: right; q's (4, 5): right.
    assert_eq!(at(1, "majority_at_k"), Some(1.0));
    let by = &reply.body["by"];
    assert_eq!(by["subject"]["A"]["problems"], 1);
    assert_eq!(by["level"]["2"]["samples"], 4);
    assert_eq!(by["dataset"]["evalset"]["problems"], 2);

    let bad = app.get("/v1/runs/evalrun/metrics?k=0").await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.error().1.as_deref(), Some("k"));
    assert_eq!(app.get("/v1/runs/none/metrics").await.status, 404);
}

/// A server started and stopped by the test, so that a second one can take over its database.
struct Server {
    base: String,
    client: reqwest::Client,
    stop: oneshot::Sender<()>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(config: Config) -> Self {
        let app = App::build(config).await.expect("server starts");
        let base = format!("http://{}", app.address());
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        Self {
            base,
            client: reqwest::Client::new(),
            stop,
            served,
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.send().await.expect("request sent");
        (
            response.status().as_u16(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(self.client.post(format!("{}{path}", self.base)).json(body))
            .await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.client.get(format!("{}{path}", self.base))).await
    }

    /// Graceful shutdown: in-flight requests finish and re-check jobs stop after their batch.
    async fn stop(self) {
        let _ = self.stop.send(());
        self.served.await.unwrap().unwrap();
    }
}

async fn a_run_recheck_survives_a_restart_and_reports_exactly_the_altered_rows(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_tests(dir.path().to_owned());
    if backend == Backend::Postgres {
        let Some(url) = fresh_postgres_database().await else {
            return;
        };
        config.database_url = url;
    }
    // Small batches with a pause, so that the job is still running when the server stops.
    config.reverify = verdict::config::ReverifyPace {
        batch: 100,
        pause: Duration::from_millis(40),
    };
    let first = Server::start(config.clone()).await;
    const ROWS: usize = 3000;
    let mut ids = Vec::new();
    for batch in 0..3 {
        let items: Vec<Value> = (0..ROWS / 3)
            .map(|i| {
                let n = batch * 1000 + i;
                let boxed = if n % 3 == 0 { n + 1 } else { n };
                math_item(
                    &format!("i{n}"),
                    &format!("<think>t</think> \\boxed{{{boxed}}}"),
                    &n.to_string(),
                )
            })
            .collect();
        let (status, body) = first
            .post("/v1/rewards", &json!({ "run_id": "big", "items": items }))
            .await;
        assert_eq!(status, 200, "{body}");
        for result in body["results"].as_array().unwrap() {
            ids.push((
                result["submission_id"].as_str().unwrap().to_owned(),
                result["verdict"].as_str().unwrap().to_owned(),
            ));
        }
    }
    assert_eq!(ids.len(), ROWS);

    // Alter 23 stored verdicts behind the service's back: flip right to wrong and back.
    let altered: BTreeSet<String> = ids.iter().step_by(131).map(|(id, _)| id.clone()).collect();
    assert_eq!(altered.len(), 23);
    for (id, verdict) in ids.iter().filter(|(id, _)| altered.contains(id)) {
        let forged = if verdict == "correct" {
            "incorrect"
        } else {
            "correct"
        };
        execute(
            &config.database_url,
            backend,
            "update submissions set verdict = $1 where submission_id = $2",
            &[forged, id],
        )
        .await;
    }

    let (status, started) = first.post("/v1/runs/big/reverify", &json!({})).await;
    assert_eq!(status, 202, "{started}");
    assert_eq!(started["total"], ROWS);
    let job_id = started["job_id"].as_str().unwrap().to_owned();
    let (again, same) = first.post("/v1/runs/big/reverify", &json!({})).await;
    assert_eq!(
        (again, same["job_id"].as_str()),
        (200, Some(job_id.as_str())),
        "one job per run at a time"
    );

    // Stop the server midway.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, report) = first.get("/v1/runs/big/reverify").await;
        if report["processed"].as_u64().unwrap() >= 500 {
            break;
        }
        assert!(Instant::now() < deadline, "no progress: {report}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.stop().await;

    // A new server on the same database resumes the job by itself.
    let second = Server::start(config.clone()).await;
    let (_, at_restart) = second
        .get(&format!("/v1/runs/big/reverify?job_id={job_id}"))
        .await;
    let processed_at_restart = at_restart["processed"].as_u64().unwrap();
    assert!(
        (500..ROWS as u64).contains(&processed_at_restart),
        "stopped midway: {processed_at_restart}"
    );
    let report = loop {
        let (status, report) = second.get("/v1/runs/big/reverify").await;
        assert_eq!(status, 200, "{report}");
        if report["status"] != "running" {
            break report;
        }
        assert!(
            Instant::now() < deadline + Duration::from_secs(60),
            "not done: {report}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(report["status"], "done", "{report}");
    assert_eq!(report["processed"], ROWS);
    assert_eq!(report["progress"], 1.0);
    assert_eq!(report["changed"], altered.len());
    let changed: BTreeSet<String> = report["changed_submissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(changed, altered, "exactly the altered rows");
    let forged_correct = ids
        .iter()
        .filter(|(id, verdict)| altered.contains(id) && verdict == "incorrect")
        .count() as u64;
    assert_eq!(report["flips_to_failure"].as_u64().unwrap(), forged_correct);
    assert_eq!(
        report["flips_to_success"].as_u64().unwrap(),
        altered.len() as u64 - forged_correct
    );
    assert_eq!(report["examples"].as_array().unwrap().len(), 10);

    // Every submission was re-checked exactly once, restart or not.
    let (total, distinct) = count_checks(&config.database_url, backend, &job_id).await;
    assert_eq!((total, distinct), (ROWS as i64, ROWS as i64));
    second.stop().await;
}

async fn execute(url: &str, backend: Backend, sql: &'static str, binds: &[&str]) {
    match backend {
        Backend::Sqlite => {
            let mut db = sqlx::SqliteConnection::connect(url).await.unwrap();
            let mut query = sqlx::query(sql);
            for bind in binds {
                query = query.bind(bind.to_string());
            }
            query.execute(&mut db).await.unwrap();
        }
        Backend::Postgres => {
            let mut db = sqlx::PgConnection::connect(url).await.unwrap();
            let mut query = sqlx::query(sql);
            for bind in binds {
                query = query.bind(bind.to_string());
            }
            query.execute(&mut db).await.unwrap();
        }
    }
}

async fn count_checks(url: &str, backend: Backend, job_id: &str) -> (i64, i64) {
    let sql =
        "select count(*) as n, count(distinct submission_id) as d from reverifications where job_id = $1";
    match backend {
        Backend::Sqlite => {
            let mut db = sqlx::SqliteConnection::connect(url).await.unwrap();
            let row = sqlx::query(sql)
                .bind(job_id.to_owned())
                .fetch_one(&mut db)
                .await
                .unwrap();
            (row.get("n"), row.get("d"))
        }
        Backend::Postgres => {
            let mut db = sqlx::PgConnection::connect(url).await.unwrap();
            let row = sqlx::query(sql)
                .bind(job_id.to_owned())
                .fetch_one(&mut db)
                .await
                .unwrap();
            (row.get("n"), row.get("d"))
        }
    }
}

/// Code answer keys work the same way: HumanEval imported as published, its canonical
/// solutions scored by entry id in the real sandbox.
#[tokio::test]
async fn humaneval_canonical_solutions_scored_by_entry_id_are_accepted() {
    let app = crate::helpers::spawn_app().await;
    let text = shared("code/HumanEval.jsonl");
    let reply = upload(&app, "name=humaneval", &text).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(
        (reply.body["shape"].as_str(), reply.body["entries"].as_u64()),
        (Some("humaneval"), Some(164))
    );
    let problems: Vec<Value> = text
        .lines()
        .take(4)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut items = Vec::new();
    for (p, body) in problems.iter().flat_map(|p| {
        [
            (p, p["canonical_solution"].as_str().unwrap()),
            (p, "    return None\n"),
        ]
    }) {
        let code = format!("{}{body}", p["prompt"].as_str().unwrap());
        items.push(
            json!({ "entry": format!("humaneval:{}", p["task_id"].as_str().unwrap()),
                           "completion": format!("<think>t</think>\n```python\n{code}\n```\n") }),
        );
    }
    let reply = app.post_json("/v1/rewards", &json!({ "items": items })).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let verdicts: Vec<&str> = reply.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["verdict"].as_str().unwrap_or("error"))
        .collect();
    for (index, verdict) in verdicts.iter().enumerate() {
        assert_eq!(
            *verdict == "accepted",
            index % 2 == 0,
            "{index}: {}",
            reply.body["results"][index]
        );
    }
}
