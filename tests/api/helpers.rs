//! `spawn_app()` starts the real server on a free port with its own data directory, and
//! typed helpers send requests to it.

use serde_json::Value;
use tokio::sync::oneshot;
use verdict::{App, Config};

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
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
    let app = App::build(config).await.expect("server starts");
    let base = format!("http://{}", app.address());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    TestApp {
        base,
        client: reqwest::Client::new(),
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
