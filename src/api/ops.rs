//! Operational endpoints: liveness, readiness, Prometheus metrics and the OpenAPI document.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;

use super::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub version: &'static str,
}

/// Liveness: the process answers HTTP.
#[utoipa::path(get, tag = "ops", path = "/healthz", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// `ready`, or `degraded` while the database is away and results go to the spool.
    pub status: &'static str,
    /// Reward policies this server can apply.
    pub policies: Vec<String>,
    /// Task kinds this build can judge.
    pub kinds: Vec<&'static str>,
    pub storage: Storage,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Storage {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    pub database_reachable: bool,
    /// Results acknowledged with a `submission_id` that still wait in the spool.
    pub spool_backlog: u64,
}

/// Readiness: the server can judge rewards (policies loaded, verifiers available) and keep
/// their audit records. It stays 200 while the database is away, because results are then
/// spooled to disk and every promise is still kept: taking the replica out of a load balancer
/// would stall training for nothing. `status` says `degraded` and `storage` shows the backlog.
#[utoipa::path(get, tag = "ops", path = "/readyz", responses((status = 200, body = Readiness)))]
pub async fn readyz(State(state): State<AppState>) -> Json<Readiness> {
    let health = state.grader.recorder.health().await;
    Json(Readiness {
        status: if health.database_reachable {
            "ready"
        } else {
            "degraded"
        },
        policies: state.grader.config.policies.names().map(str::to_owned).collect(),
        kinds: vec!["math", "code"],
        storage: Storage {
            backend: health.backend,
            database_reachable: health.database_reachable,
            spool_backlog: health.spool_backlog,
        },
    })
}

/// Prometheus text exposition.
#[utoipa::path(get, tag = "ops", path = "/metrics", responses((status = 200, content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    // The backlog is read at scrape time: the recorder knows it, the registry only reports it.
    state
        .grader
        .metrics
        .spool_backlog
        .set(i64::try_from(state.grader.recorder.backlog()).unwrap_or(i64::MAX));
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.grader.metrics.render(),
    )
}

/// This document.
#[utoipa::path(get, tag = "ops", path = "/openapi.json", responses((status = 200, content_type = "application/json")))]
pub async fn openapi(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(super::openapi_document(&state))
}
