//! `spawn_app()` starts the real server on a free port with its own data directory (and its
//! own SQLite database in it), and typed helpers send requests to it. `spawn_app_on` starts it
//! on a chosen backend: PostgreSQL tests each get a fresh database in the server named by
//! `VERDICT_TEST_POSTGRES_URL` (see `scripts/with-postgres.sh`).

use serde_json::Value;
use tokio::sync::oneshot;
use verdict::{App, Config};

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    /// The audit database this server writes to, for tests that look behind the API.
    pub database_url: String,
    _data_dir: tempfile::TempDir,
    _stop: oneshot::Sender<()>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts a server whose config `customise` may change first (limits, policies).
pub async fn spawn_app_with(customise: impl FnOnce(&mut Config)) -> TestApp {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::for_tests(data_dir.path().to_owned());
    customise(&mut config);
    start(config, data_dir).await
}

/// The audit backends the storage suite runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Starts a server on `backend`, or `None` when PostgreSQL tests were skipped on purpose.
pub async fn spawn_app_on(backend: Backend, customise: impl FnOnce(&mut Config)) -> Option<TestApp> {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::for_tests(data_dir.path().to_owned());
    if backend == Backend::Postgres {
        config.database_url = fresh_postgres_database().await?;
    }
    customise(&mut config);
    Some(start(config, data_dir).await)
}

/// The test server's URL, `None` only when `VERDICT_TEST_SKIP_POSTGRES=1` says to skip. A
/// missing URL is a failure, never a silent skip.
pub fn postgres_url() -> Option<String> {
    match std::env::var("VERDICT_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("VERDICT_TEST_SKIP_POSTGRES").as_deref() == Ok("1") => {
            eprintln!("skipping a PostgreSQL test: VERDICT_TEST_SKIP_POSTGRES=1");
            None
        }
        _ => panic!(
            "the PostgreSQL tests need a server: run `scripts/test.sh` (or `scripts/with-postgres.sh \
             cargo test`), or set VERDICT_TEST_SKIP_POSTGRES=1 to skip them on purpose"
        ),
    }
}

/// Creates an empty database for one test, so that tests run in parallel without sharing
/// rows, and returns its URL.
pub async fn fresh_postgres_database() -> Option<String> {
    use sqlx::Connection;
    let admin_url = postgres_url()?;
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .expect("connect to the test PostgreSQL server");
    let name = format!("verdict_test_{}", ulid::Ulid::new().to_string().to_lowercase());
    // The name is ours (letters and digits), not input.
    sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
        .execute(&mut admin)
        .await
        .expect("create a test database");
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (admin_url.as_str(), String::new()),
    };
    let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
    Some(format!("{server}/{name}{query}"))
}

async fn start(config: Config, data_dir: tempfile::TempDir) -> TestApp {
    let database_url = config.database_url.clone();
    let app = App::build(config).await.expect("server starts");
    let base = format!("http://{}", app.address());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    TestApp {
        base,
        client: reqwest::Client::new(),
        database_url,
        _data_dir: data_dir,
        _stop: stop,
    }
}

pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub content_type: String,
}

impl TestApp {
    pub async fn post_json(&self, path: &str, body: &Value) -> Reply {
        self.post_raw(path, "application/json", serde_json::to_vec(body).unwrap())
            .await
    }

    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Reply {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request sent");
        Reply::read(response).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request sent");
        Reply::read(response).await
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request sent");
        (response.status().as_u16(), response.text().await.unwrap())
    }
}

impl Reply {
    async fn read(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|value| value.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let bytes = response.bytes().await.unwrap();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Self {
            status,
            body,
            content_type,
        }
    }

    /// Asserts the common error shape and returns (code, field).
    pub fn error(&self) -> (String, Option<String>) {
        assert!(
            self.content_type.starts_with("application/json"),
            "error bodies are JSON, got {:?}: {}",
            self.content_type,
            self.body
        );
        let error = &self.body["error"];
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{}",
            self.body
        );
        (
            error["code"].as_str().expect("error.code").to_owned(),
            error["field"].as_str().map(str::to_owned),
        )
    }
}

pub fn math_item(id: &str, completion: &str, answer: &str) -> Value {
    serde_json::json!({ "id": id, "completion": completion, "task": { "kind": "math", "answer": answer } })
}
