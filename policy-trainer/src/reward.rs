//! The client of verdict's `POST /v1/rewards`: batches, a run id, timeouts and retries.
//! An item the service could not judge comes back as `None`, never as a zero reward.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde_json::Value;

pub struct RewardClient {
    url: String,
    http: reqwest::blocking::Client,
    pub run_id: String,
    pub policy: String,
    pub batch_size: usize,
    pub retries: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct RewardItem {
    pub id: String,
    pub prompt: String,
    pub completion: String,
    pub task: Value,
}

/// One judged (or unjudgeable) item.
#[derive(Debug, Clone, Default)]
pub struct Scored {
    pub reward: Option<f64>,
    pub accuracy: Option<f64>,
    pub format_ok: bool,
    pub verdict: Option<String>,
    pub error: Option<String>,
}

impl Scored {
    /// Correct when the accuracy component is positive (math `correct`, code `accepted`).
    pub fn correct(&self) -> bool {
        self.accuracy.is_some_and(|a| a > 0.0)
            || matches!(self.verdict.as_deref(), Some("correct" | "accepted"))
    }
}

impl RewardClient {
    pub fn new(base_url: &str, run_id: &str, policy: &str, timeout: Duration) -> Result<Self> {
        let http = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            url: format!("{}/v1/rewards", base_url.trim_end_matches('/')),
            http,
            run_id: run_id.to_owned(),
            policy: policy.to_owned(),
            batch_size: 64,
            retries: 4,
        })
    }

    pub fn score(&self, items: &[RewardItem]) -> Result<Vec<Scored>> {
        let mut out = Vec::with_capacity(items.len());
        for chunk in items.chunks(self.batch_size.max(1)) {
            out.extend(self.score_batch(chunk)?);
        }
        Ok(out)
    }

    fn score_batch(&self, items: &[RewardItem]) -> Result<Vec<Scored>> {
        let body = serde_json::json!({ "run_id": self.run_id, "policy": self.policy, "items": items });
        let mut delay = Duration::from_millis(200);
        let mut last_error = String::new();
        for attempt in 0..=self.retries {
            if attempt > 0 {
                std::thread::sleep(delay);
                delay *= 2;
            }
            match self.http.post(&self.url).json(&body).send() {
                Ok(resp) if resp.status().is_success() => {
                    let v: Value = resp.json().context("reading the /v1/rewards response")?;
                    return parse_results(&v, items.len());
                }
                // A 4xx means our request is wrong: retrying cannot help.
                Ok(resp) if resp.status().is_client_error() => {
                    let status = resp.status();
                    let text = resp.text().unwrap_or_default();
                    bail!("verdict refused the batch ({status}): {text}");
                }
                Ok(resp) => last_error = format!("HTTP {}", resp.status()),
                Err(e) => last_error = e.to_string(),
            }
        }
        bail!(
            "verdict at {} did not answer after {} attempts: {last_error}",
            self.url,
            self.retries + 1
        )
    }
}

fn parse_results(v: &Value, n: usize) -> Result<Vec<Scored>> {
    let results = v["results"].as_array().context("response has no results array")?;
    if results.len() != n {
        bail!("verdict returned {} results for {n} items", results.len());
    }
    Ok(results
        .iter()
        .map(|r| {
            if !r["error"].is_null() {
                return Scored {
                    error: Some(r["error"].to_string()),
                    ..Default::default()
                };
            }
            Scored {
                reward: r["reward"].as_f64(),
                accuracy: r["components"]["accuracy"].as_f64(),
                format_ok: r["format_ok"].as_bool().unwrap_or(false),
                verdict: r["verdict"].as_str().map(str::to_owned),
                error: None,
            }
        })
        .collect())
}
