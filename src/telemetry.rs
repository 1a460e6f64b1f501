//! Logging and metrics: the tracing subscriber and the Prometheus registry with every metric
//! the service exports. Labels are route templates and domain outcomes, never unbounded
//! values such as ids.

use std::time::Duration;

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};
use tracing_subscriber::EnvFilter;

/// Installs the global tracing subscriber: `RUST_LOG` filters (default `info`), and
/// `VERDICT_LOG_FORMAT=json` switches to one JSON object per line for log shippers.
pub fn init_tracing(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    // A second init (tests, embedding) keeps the first subscriber; that is fine.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Every metric of the service, registered in one registry owned by the app state.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    /// Requests being served or waiting for a concurrency slot: the queue depth operators watch.
    pub http_in_flight: IntGauge,
    /// Acknowledged submissions waiting in the spool for the database.
    pub spool_backlog: IntGauge,
    pub rewards: IntCounterVec,
    pub item_errors: IntCounterVec,
    pub verification_duration: HistogramVec,
    /// One sandboxed test run, by language.
    pub sandbox_run_duration: HistogramVec,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new(
                "verdict_http_requests_total",
                "HTTP requests by route template and status",
            ),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "verdict_http_request_duration_seconds",
                "HTTP request latency by route template",
            )
            .buckets(prometheus::exponential_buckets(0.000_1, 2.5, 14).expect("valid buckets")),
            &["method", "route"],
        )
        .expect("valid metric");
        let http_in_flight = IntGauge::new(
            "verdict_http_requests_in_flight",
            "Requests in progress or queued for a concurrency slot",
        )
        .expect("valid metric");
        let spool_backlog = IntGauge::new(
            "verdict_spool_backlog_rows",
            "Acknowledged submissions in the spool, not yet in the database",
        )
        .expect("valid metric");
        let rewards = IntCounterVec::new(
            Opts::new("verdict_rewards_total", "Judged items by task kind and verdict"),
            &["kind", "verdict"],
        )
        .expect("valid metric");
        let item_errors = IntCounterVec::new(
            Opts::new(
                "verdict_item_errors_total",
                "Items that could not be judged, by error code",
            ),
            &["code"],
        )
        .expect("valid metric");
        let verification_duration = HistogramVec::new(
            HistogramOpts::new(
                "verdict_verification_seconds",
                "Time to judge one item, by task kind",
            )
            .buckets(prometheus::exponential_buckets(0.000_01, 3.0, 14).expect("valid buckets")),
            &["kind"],
        )
        .expect("valid metric");
        let sandbox_run_duration = HistogramVec::new(
            HistogramOpts::new(
                "verdict_sandbox_run_seconds",
                "Time of one sandboxed test run, by language",
            )
            .buckets(prometheus::exponential_buckets(0.000_5, 2.0, 16).expect("valid buckets")),
            &["language"],
        )
        .expect("valid metric");
        for collector in [
            Box::new(http_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(http_duration.clone()),
            Box::new(http_in_flight.clone()),
            Box::new(spool_backlog.clone()),
            Box::new(rewards.clone()),
            Box::new(item_errors.clone()),
            Box::new(verification_duration.clone()),
            Box::new(sandbox_run_duration.clone()),
        ] {
            registry.register(collector).expect("metric names are unique");
        }
        Self {
            registry,
            http_requests,
            http_duration,
            http_in_flight,
            spool_backlog,
            rewards,
            item_errors,
            verification_duration,
            sandbox_run_duration,
        }
    }

    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.http_requests
            .with_label_values(&[method, route, status_label(status)])
            .inc();
        self.http_duration
            .with_label_values(&[method, route])
            .observe(elapsed.as_secs_f64());
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .unwrap_or_else(|error| format!("# metrics encoding failed: {error}\n"))
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Status codes as static labels, so the label set stays bounded.
fn status_label(status: u16) -> &'static str {
    match status {
        200 => "200",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        408 => "408",
        413 => "413",
        415 => "415",
        422 => "422",
        429 => "429",
        500 => "500",
        503 => "503",
        s if s < 300 => "2xx",
        s if s < 400 => "3xx",
        s if s < 500 => "4xx",
        _ => "5xx",
    }
}

/// An error with its causes, `outer: inner: root`, for one log line.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
