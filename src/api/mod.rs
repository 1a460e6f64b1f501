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
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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

/// The document's frame: title and shared schemas. The operations come from the routes
/// themselves ([`documented_routes`]), registered once with their handlers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "verdict",
        description = "Rule-based rewards for RL of reasoning models"
    ),
    components(schemas(ErrorBody, ErrorDetail))
)]
pub struct ApiDoc;

/// The document of the routes as registered, before anything this server's configuration adds.
fn static_document() -> &'static serde_json::Value {
    static DOCUMENT: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let (api, rollouts) = documented_routes();
        serde_json::to_value(api.merge(rollouts).into_openapi()).unwrap_or_default()
    })
}

/// The OpenAPI document of this server: the static one with the policy names this server knows
/// filled in, so clients and contract tests see which `policy` values it accepts.
pub fn openapi_document(state: &AppState) -> serde_json::Value {
    let mut document = static_document().clone();
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

/// Every documented route with its OpenAPI operation, registered once: the API, and apart
/// (for its larger body limit) the rollout route.
fn documented_routes() -> (OpenApiRouter<AppState>, OpenApiRouter<AppState>) {
    let api = OpenApiRouter::with_openapi(ApiDoc::openapi())
        // Judging, in verdict's own protocol and in the trainers'.
        .routes(routes!(rewards::rewards))
        .routes(routes!(math::verify))
        .routes(routes!(code_run::run))
        .routes(routes!(slime::reward))
        // The audit trail.
        .routes(routes!(audit::list_submissions))
        .routes(routes!(audit::export))
        .routes(routes!(audit::get_submission))
        .routes(routes!(audit::reverify))
        .routes(routes!(audit::list_runs))
        .routes(routes!(audit::get_run))
        .routes(routes!(audit::keep_run, audit::unkeep_run))
        .routes(routes!(timeline::timeline))
        // Datasets, evaluation and whole-run re-checks.
        .routes(routes!(datasets::upload, datasets::list))
        .routes(routes!(datasets::get))
        .routes(routes!(datasets::probe))
        .routes(routes!(evaluation::metrics))
        .routes(routes!(run_jobs::start, run_jobs::status))
        // Operations.
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
        .routes(routes!(ops::openapi))
        .routes(routes!(docs::docs));
    let rollouts = OpenApiRouter::new().routes(routes!(openrlhf::get_reward));
    (api, rollouts)
}

/// The router with every route and layer.
pub fn router(state: AppState) -> Router {
    let limits = state.grader.config.limits.clone();
    let (api, rollouts) = documented_routes();
    // Older OpenRLHF versions send a whole rollout in one `/get_reward` request, so that route
    // alone takes bodies up to the rollout limit.
    let rollouts = Router::from(rollouts)
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(limits.max_rollout_body_bytes));
    Router::from(api)
        // The audit UI's page and assets (`/`, `/ui/…`), outside the API document.
        .merge(ui::router())
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
