//! `POST /v1/code/run`: run one program in the sandbox with the given stdin and limits, like
//! other sandboxes' run-code endpoints, for debugging tasks and for clients that judge
//! themselves. Nothing is stored: there is no reward.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::{ApiError, ApiJson, ErrorBody};
use crate::code::{Language, LimitMaxima, Limits, RunStatus};

/// Largest accepted program, so one request cannot hand the interpreter megabytes of source.
const MAX_CODE_BYTES: usize = 1024 * 1024;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "language": "python", "code": "print(sum(map(int, input().split())))", "stdin": "1 2\n" }))]
pub struct CodeRunRequest {
    /// `python` (or `py`, `python3`) or `javascript` (or `js`).
    #[schema(
        pattern = "^([Pp][Yy]([Tt][Hh][Oo][Nn]3?)?|[Jj][Aa][Vv][Aa][Ss][Cc][Rr][Ii][Pp][Tt]|[Jj][Ss])$"
    )]
    pub language: String,
    /// The program; it must contain more than whitespace (at most 1 MiB).
    #[schema(pattern = "\\S")]
    pub code: String,
    #[serde(default)]
    pub stdin: String,
    pub limits: Option<RunLimits>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunLimits {
    // The bounds are the sandbox's maxima (`LimitMaxima::default`); 0 is refused.
    #[schema(minimum = 1, maximum = 60000)]
    #[schema(value_type = Option<u64>)]
    pub time_ms: Option<crate::wire::WholeNumber>,
    #[schema(minimum = 1, maximum = 1024)]
    #[schema(value_type = Option<u64>)]
    pub memory_mb: Option<crate::wire::WholeNumber>,
    #[schema(minimum = 1, maximum = 67108864)]
    #[schema(value_type = Option<u64>)]
    pub output_bytes: Option<crate::wire::WholeNumber>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CodeRunResponse {
    /// `ok`, `runtime_error`, `time_limit_exceeded`, `memory_limit_exceeded`,
    /// `output_limit_exceeded` or `compile_error`.
    #[schema(value_type = String)]
    pub status: RunStatus,
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub time_ms: f64,
    /// Wasm instructions executed (wasmtime fuel): the same for the same program and input
    /// on any machine, unlike `time_ms`. Absent when the server does not count fuel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fuel: Option<u64>,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    /// Why the run ended when the status alone does not say (a trap, a refused exit code).
    pub note: Option<String>,
}

#[utoipa::path(
    post,
    tag = "code_run",
    path = "/v1/code/run",
    request_body = CodeRunRequest,
    responses(
        (status = 200, description = "What the program did", body = CodeRunResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 413, description = "Body over the size limit", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json", body = ErrorBody),
        (status = 422, description = "Unknown language, empty or oversized code, limits out of range", body = ErrorBody),
        (status = 503, description = "The sandbox could not be prepared", body = ErrorBody),
    )
)]
pub async fn run(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<CodeRunRequest>,
) -> Result<Json<CodeRunResponse>, ApiError> {
    let language: Language = request
        .language
        .parse()
        .map_err(|error: crate::code::UnknownLanguage| {
            ApiError::invalid_field("language", error.to_string())
        })?;
    if request.code.trim().is_empty() || request.code.len() > MAX_CODE_BYTES {
        return Err(ApiError::invalid_field(
            "code",
            format!("must be 1 to {MAX_CODE_BYTES} bytes of source"),
        ));
    }
    let limits = match &request.limits {
        None => Limits::defaults(&LimitMaxima::default()),
        Some(limits) => Limits::new(
            crate::wire::whole_number_value(limits.time_ms),
            crate::wire::whole_number_value(limits.memory_mb),
            crate::wire::whole_number_value(limits.output_bytes),
            &LimitMaxima::default(),
        )
        .map_err(|error| ApiError::invalid_field(format!("limits.{}", error.field), error.to_string()))?,
    };
    let sandbox = state.grader.sandbox.get().await.map_err(|error| {
        ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "sandbox_unavailable",
            error.message,
        )
    })?;
    let outcome = sandbox
        .run(language, &request.code, request.stdin.as_bytes(), &limits)
        .await
        .map_err(|error| ApiError::internal(&error))?;
    state
        .grader
        .metrics
        .sandbox_run_duration
        .with_label_values(&[language.as_str()])
        .observe(outcome.time_ms / 1e3);
    Ok(Json(CodeRunResponse {
        stdout: outcome.stdout_text(),
        stderr: outcome.stderr_text(),
        status: outcome.status,
        exit_code: outcome.exit_code,
        time_ms: outcome.time_ms,
        fuel: outcome.fuel,
        stdout_truncated: outcome.stdout_truncated,
        stderr_truncated: outcome.stderr_truncated,
        note: outcome.trap,
    }))
}
