//! The HTTP API: routes, shared state, and the tower layers every request passes through
//! (body limit, deadline, concurrency limit, tracing, metrics). Handlers stay thin: decode,
//! call the domain, encode.

mod audit;
mod auth;
mod code_run;
mod datasets;
mod docs;
mod error;
mod evaluation;
mod math;
mod openrlhf;
mod ops;
mod query;
mod replay;
mod rewards;
mod run_jobs;
mod shed;
mod slime;
/// The run timeline for the audit UI's chart.
mod timeline;
/// The audit web UI: a page and its assets, embedded in the binary and served at `/`.
pub mod ui;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;

pub use error::{ApiError, ErrorBody, ErrorDetail};

use crate::config::Config;
use crate::grading::Grader;
use crate::jobs::JobRunner;
use crate::reward::DEFAULT_POLICY;
use crate::store::Recorder;

/// Everything a handler needs, cheap to clone: the application layer and what only the HTTP
/// service has (keys, background jobs, the replay cache).
#[derive(Clone)]
pub struct AppState {
    /// Judging and recording, shared with the jobs and the command line.
    pub grader: Grader,
    /// API keys and their rate limits; open when none are configured.
    pub auth: Arc<crate::auth::Authenticator>,
    /// Whole-run re-check jobs of this process.
    pub jobs: Arc<JobRunner>,
    /// Results of keyed requests, so a trainer's retry is not judged twice.
    pub replays: Arc<replay::ReplayCache>,
}

impl AppState {
    pub fn new(config: Config, recorder: Arc<Recorder>) -> Self {
        Self {
            auth: Arc::new(crate::auth::Authenticator::new(&config.api_keys)),
            grader: Grader::new(Arc::new(config), recorder),
            jobs: Arc::default(),
            replays: Arc::default(),
        }
    }

    fn policy_name(&self, name: Option<&str>) -> String {
        name.unwrap_or(DEFAULT_POLICY).to_owned()
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "verdict",
        description = "Rule-based rewards for RL of reasoning models"
    ),
    paths(
        rewards::rewards,
        openrlhf::get_reward,
        slime::reward,
        math::verify,
        code_run::run,
        audit::list_submissions,
        audit::get_submission,
        audit::reverify,
        audit::export,
        audit::list_runs,
        audit::get_run,
        audit::keep_run,
        audit::unkeep_run,
        timeline::timeline,
        datasets::upload,
        datasets::list,
        datasets::get,
        datasets::probe,
        evaluation::metrics,
        run_jobs::start,
        run_jobs::status,
        ops::healthz,
        ops::readyz,
        ops::metrics,
        ops::openapi,
        docs::docs
    ),
    components(schemas(ErrorBody, ErrorDetail))
)]
pub struct ApiDoc;

/// The OpenAPI document of this server: the static one with the policy names this server knows
/// filled in, so clients and contract tests see which `policy` values it accepts.
pub fn openapi_document(state: &AppState) -> serde_json::Value {
    let mut document = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    let mut names: Vec<serde_json::Value> = state
        .grader
        .config
        .policies
        .names()
        .map(serde_json::Value::from)
        .collect();
    // The field is optional: `null` means the default policy.
    names.push(serde_json::Value::Null);
    for schema in ["RewardRequest", "VerifyRequest"] {
        if let Some(policy) = document.pointer_mut(&format!("/components/schemas/{schema}/properties/policy"))
        {
            policy["enum"] = serde_json::Value::from(names.clone());
        }
    }
    names.pop();
    // Every judging operation that takes `?policy=` (the trainers' protocols, the dataset
    // probe). Audit filters (`GET /v1/submissions?policy=`) also name policies of the past.
    if let Some(paths) = document
        .get_mut("paths")
        .and_then(serde_json::Value::as_object_mut)
    {
        for operation in paths.values_mut().filter_map(serde_json::Value::as_object_mut) {
            if let Some(method) = operation.get_mut("post") {
                let Some(parameters) = method
                    .get_mut("parameters")
                    .and_then(serde_json::Value::as_array_mut)
                else {
                    continue;
                };
                for parameter in parameters.iter_mut().filter(|p| p["name"] == "policy") {
                    parameter["schema"]["enum"] = serde_json::Value::from(names.clone());
                }
            }
        }
    }
    // A gold may be sent as a JSON number, every digit kept (`answer_text`).
    if let Some(gold) = document.pointer_mut("/components/schemas/VerifyRequest/properties/gold") {
        gold["type"] = serde_json::json!(["string", "number"]);
    }
    auth::document_security(&mut document, state.auth.enabled());
    document
}

/// The router with every route and layer.
pub fn router(state: AppState) -> Router {
    let limits = state.grader.config.limits.clone();
    // Older OpenRLHF versions send a whole rollout in one `/get_reward` request, so that route
    // alone takes bodies up to the rollout limit.
    let rollouts = Router::new()
        .route("/get_reward", post(openrlhf::get_reward))
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(limits.max_rollout_body_bytes));
    Router::new()
        .route("/v1/rewards", post(rewards::rewards))
        .route("/v1/math/verify", post(math::verify))
        .route("/v1/code/run", post(code_run::run))
        .route("/slime/reward", post(slime::reward))
        .route("/v1/submissions", get(audit::list_submissions))
        .route("/v1/submissions/export", get(audit::export))
        .route("/v1/submissions/{id}", get(audit::get_submission))
        .route("/v1/submissions/{id}/reverify", post(audit::reverify))
        .route("/v1/runs", get(audit::list_runs))
        .route("/v1/runs/{run_id}", get(audit::get_run))
        .route(
            "/v1/runs/{run_id}/keep",
            put(audit::keep_run).delete(audit::unkeep_run),
        )
        // The audit UI: its JSON series, and its page and assets (`/`, `/ui/…`).
        .route("/v1/runs/{run_id}/timeline", get(timeline::timeline))
        .merge(ui::router())
        .route("/v1/datasets", post(datasets::upload).get(datasets::list))
        .route("/v1/datasets/{name}", get(datasets::get))
        .route("/v1/datasets/{name}/probe", post(datasets::probe))
        .route("/v1/runs/{run_id}/metrics", get(evaluation::metrics))
        .route(
            "/v1/runs/{run_id}/reverify",
            post(run_jobs::start).get(run_jobs::status),
        )
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(ops::openapi))
        .route("/docs", get(docs::docs))
        .fallback(|| async { ApiError::from_status(StatusCode::NOT_FOUND) })
        // Innermost first: the body limit is checked by the extractor (413), requests beyond
        // the concurrency limit wait in a bounded line (503 beyond it), the deadline covers
        // the wait, and the key is checked before a request takes a place in line.
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
        .merge(rollouts)
        .layer(middleware::from_fn_with_state(
            shed::Admission::new(limits.max_concurrent_requests, limits.max_queued_requests),
            shed::admit,
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(middleware::from_fn_with_state(
            state.auth.clone(),
            auth::require_key,
        ))
        // A handler that panics answers a JSON 500 (logged once) and the server goes on;
        // verifier panics are caught closer, per item, by the application layer.
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(middleware::from_fn(json_errors))
        .layer(middleware::from_fn_with_state(state.clone(), track_metrics))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let route = request
                .extensions()
                .get::<MatchedPath>()
                .map_or("unmatched", MatchedPath::as_str);
            tracing::info_span!("request", method = %request.method(), route)
        }))
        .with_state(state)
}

/// Counts and times each request by method, route template and status.
async fn track_metrics(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let _in_flight = InFlight::enter(&state.grader.metrics.http_in_flight);
    let response = next.run(request).await;
    state
        .grader
        .metrics
        .observe_request(&method, &route, response.status().as_u16(), started.elapsed());
    response
}

/// Counts a request as in flight until dropped, so a request abandoned by its client (its
/// future dropped mid-way) still leaves the gauge.
struct InFlight(prometheus::IntGauge);

impl InFlight {
    fn enter(gauge: &prometheus::IntGauge) -> Self {
        gauge.inc();
        Self(gauge.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Gives error responses produced by layers and the router (413, 408, 405…) the same JSON
/// body as handler errors, so clients parse one error shape.
async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value == HeaderValue::from_static("application/json"));
    if (status.is_client_error() || status.is_server_error()) && !is_json {
        return ApiError::from_status(status).into_response();
    }
    response
}
