//! The audit API: stored submissions listed with filters and cursor pagination, read whole,
//! re-judged with today's code, exported as a stream; per-run aggregates; keep marks that
//! retention respects. Query parameters are parsed here once, naming the offending parameter
//! when one is wrong.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::query::{ApiQuery, FromQuery, QueryPairs};

use crate::reward::{TaskKind, Verdict};
use crate::store::{self, Reverification, RunStats, Store, Submission, SubmissionFilter};

/// Page size when the caller gives none.
const DEFAULT_LIMIT: u32 = 100;
/// The largest page a caller may ask for.
const MAX_LIMIT: u32 = 1000;
/// Rows fetched per database round trip while exporting.
const EXPORT_PAGE: u32 = 500;
/// Longest accepted text filter value.
const MAX_FILTER_LEN: usize = 256;
/// The filters of `/v1/submissions` and its export, as documented in the OpenAPI document.
/// Decoding is done by [`Listing`] and [`ExportParams`] through [`ApiQuery`], which also refuses
/// unknown parameters; this type only describes them.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "describes the query parameters; `ApiQuery` decodes them")]
pub struct SubmissionQuery {
    /// Only this run.
    #[param(min_length = 1, max_length = 256)]
    run_id: Option<String>,
    /// Only this task kind.
    #[param(inline, value_type = Option<String>, pattern = "^(math|code)$")]
    kind: Option<String>,
    /// Only this verdict.
    #[param(value_type = Option<String>, pattern = "^(correct|incorrect|no_answer|unparsable|accepted|wrong_answer|time_limit_exceeded|memory_limit_exceeded|output_limit_exceeded|runtime_error|compile_error|no_code)$")]
    verdict: Option<String>,
    /// Only this policy name.
    #[param(min_length = 1, max_length = 256)]
    policy: Option<String>,
    /// Reward at least this (not above `max_reward`).
    min_reward: Option<f64>,
    /// Reward at most this.
    max_reward: Option<f64>,
    /// Created at or after this RFC 3339 time.
    #[param(value_type = Option<String>, format = DateTime)]
    since: Option<String>,
    /// Created before this RFC 3339 time.
    #[param(value_type = Option<String>, format = DateTime)]
    until: Option<String>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[0-9A-HJKMNP-TV-Z]{26}$")]
    cursor: Option<String>,
    /// Page size (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// The export's own parameter, beside the [`SubmissionQuery`] filters.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "describes the query parameter; `ApiQuery` decodes it")]
pub struct ExportQuery {
    /// `jsonl` (default) or `csv`.
    #[param(value_type = Option<String>, pattern = "^(jsonl|csv)$")]
    format: Option<String>,
}

/// The page size of `/v1/runs`.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "describes the query parameter; `ApiQuery` decodes it")]
pub struct RunsQuery {
    /// Most runs listed (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// `/v1/submissions`: the filters, the cursor and the page size.
pub struct Listing {
    filter: SubmissionFilter,
    cursor: Option<String>,
    limit: u32,
}

impl FromQuery for Listing {
    fn from_query(params: &mut QueryPairs) -> Result<Self, ApiError> {
        Ok(Listing {
            filter: submission_filter(params)?,
            cursor: params.cursor()?,
            limit: params.whole("limit", 1..=MAX_LIMIT)?.unwrap_or(DEFAULT_LIMIT),
        })
    }
}

/// The export: its format and the filters.
pub struct ExportParams {
    format: Format,
    filter: SubmissionFilter,
}

impl FromQuery for ExportParams {
    fn from_query(params: &mut QueryPairs) -> Result<Self, ApiError> {
        let format = match params.take("format").as_deref() {
            None | Some("jsonl") => Format::Jsonl,
            Some("csv") => Format::Csv,
            Some(other) => {
                return Err(ApiError::invalid_field(
                    "format",
                    format!("unknown format `{other}`; expected jsonl or csv"),
                ));
            }
        };
        Ok(ExportParams {
            format,
            filter: submission_filter(params)?,
        })
    }
}

/// `/v1/runs`: the page size.
pub struct RunsPage {
    limit: u32,
}

impl FromQuery for RunsPage {
    fn from_query(params: &mut QueryPairs) -> Result<Self, ApiError> {
        Ok(RunsPage {
            limit: params.whole("limit", 1..=MAX_LIMIT)?.unwrap_or(DEFAULT_LIMIT),
        })
    }
}

/// The filters [`SubmissionQuery`] documents.
fn submission_filter(params: &mut QueryPairs) -> Result<SubmissionFilter, ApiError> {
    let filter = SubmissionFilter {
        run_id: params.text("run_id", MAX_FILTER_LEN, None)?,
        kind: params.text("kind", MAX_FILTER_LEN, Some(&TaskKind::ALL.map(TaskKind::as_str)))?,
        verdict: params.text(
            "verdict",
            MAX_FILTER_LEN,
            Some(&Verdict::ALL.map(Verdict::as_str)),
        )?,
        policy: params.text("policy", MAX_FILTER_LEN, None)?,
        min_reward: params.number("min_reward")?,
        max_reward: params.number("max_reward")?,
        since: params.time("since")?,
        until: params.time("until")?,
    };
    if let (Some(min), Some(max)) = (filter.min_reward, filter.max_reward)
        && min > max
    {
        return Err(ApiError::invalid_field(
            "min_reward",
            "must not exceed max_reward",
        ));
    }
    Ok(filter)
}

fn not_found(what: &str, id: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no {what} `{id}`"))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SubmissionPage {
    pub submissions: Vec<Submission>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Stored submissions, newest first, filtered and paginated.
#[utoipa::path(
    get,
    tag = "audit",
    path = "/v1/submissions",
    params(SubmissionQuery),
    responses(
        (status = 200, description = "A page of submissions, newest first", body = SubmissionPage),
        (status = 422, description = "A parameter is invalid; `field` names it", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    )
)]
pub async fn list_submissions(
    State(state): State<AppState>,
    ApiQuery(Listing {
        filter,
        cursor,
        limit,
    }): ApiQuery<Listing>,
) -> Result<Json<SubmissionPage>, ApiError> {
    // One row more than asked tells whether another page follows.
    let mut submissions = state
        .grader
        .recorder
        .store()
        .submissions(&filter, cursor.as_deref(), limit + 1)
        .await?;
    let next_cursor = if submissions.len() > limit as usize {
        submissions.truncate(limit as usize);
        submissions.last().map(|s| s.submission_id.clone())
    } else {
        None
    };
    Ok(Json(SubmissionPage {
        submissions,
        next_cursor,
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SubmissionRecord {
    #[serde(flatten)]
    pub submission: Submission,
    /// Every re-check of this submission, oldest first.
    pub reverifications: Vec<Reverification>,
}

/// One stored submission, whole: task, prompt, completion, evidence, and its re-checks.
#[utoipa::path(
    get,
    tag = "audit",
    path = "/v1/submissions/{id}",
    params(("id" = String, Path, description = "The `submission_id` of a reward result")),
    responses(
        (status = 200, description = "The stored record", body = SubmissionRecord),
        (status = 404, description = "No such submission", body = ErrorBody),
    )
)]
pub async fn get_submission(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<SubmissionRecord>, ApiError> {
    let store = state.grader.recorder.store();
    let submission = store
        .submission(&id)
        .await?
        .ok_or_else(|| not_found("submission", &id))?;
    let reverifications = store.reverifications(&id).await?;
    Ok(Json(SubmissionRecord {
        submission,
        reverifications,
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReverifyResponse {
    pub submission_id: String,
    pub reverification_id: String,
    /// Whether today's verdict or reward differs from the stored one.
    pub drifted: bool,
    pub old: Outcome,
    pub new: Outcome,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Outcome {
    pub verdict: String,
    pub reward: f64,
    pub policy_version: String,
    pub service_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<Value>,
}

/// Judges a stored submission again with this build's verifier and the policy of the same
/// name as configured now, stores the re-check and reports whether the outcome drifted.
#[utoipa::path(
    post,
    tag = "audit",
    path = "/v1/submissions/{id}/reverify",
    params(("id" = String, Path, description = "The `submission_id` to judge again")),
    responses(
        (status = 200, description = "Old and new outcomes and whether they drifted", body = ReverifyResponse),
        (status = 404, description = "No such submission", body = ErrorBody),
        (status = 409, description = "The submission's policy is no longer configured", body = ErrorBody),
    )
)]
pub async fn reverify(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ReverifyResponse>, ApiError> {
    let store = state.grader.recorder.store();
    let old = store
        .submission(&id)
        .await?
        .ok_or_else(|| not_found("submission", &id))?;
    if state.grader.config.policies.get(&old.policy).is_none() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "policy_gone",
            format!(
                "policy `{}` is no longer configured, so it cannot judge again",
                old.policy
            ),
        ));
    }
    // The item as it was sent, through today's parser, verifier and policy: the same re-check
    // whole-run jobs make.
    let check = crate::jobs::recheck(&state.grader, &old).await;
    let drifted = check.drifted;
    store.insert_reverification(&check).await?;
    Ok(Json(ReverifyResponse {
        submission_id: old.submission_id,
        reverification_id: check.reverification_id,
        drifted,
        old: Outcome {
            verdict: old.verdict,
            reward: old.reward,
            policy_version: old.policy_version,
            service_version: old.service_version,
            details: None,
        },
        new: Outcome {
            verdict: check.new_verdict,
            reward: check.new_reward,
            policy_version: check.policy_version,
            service_version: check.service_version,
            details: Some(check.details),
        },
    }))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Jsonl,
    Csv,
}

/// Matching submissions as JSON lines or CSV, streamed page by page so that the size of the
/// export never sits in memory.
#[utoipa::path(
    get,
    tag = "audit",
    path = "/v1/submissions/export",
    params(ExportQuery, SubmissionQuery),
    responses(
        (status = 200, description = "One submission per line (JSONL) or row (CSV), newest first",
            content((String = "application/x-ndjson"), (String = "text/csv"))),
        (status = 422, description = "A parameter is invalid; `field` names it", body = ErrorBody),
    )
)]
pub async fn export(
    State(state): State<AppState>,
    ApiQuery(ExportParams { format, filter }): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    let store = state.grader.recorder.store().clone();
    // The first page is read before answering, so that a database that is away is a clean 503
    // rather than a stream that breaks off.
    let first = store.submissions(&filter, None, EXPORT_PAGE).await?;
    let export = Export {
        store,
        filter,
        format,
        next: Some(first),
        cursor: None,
        started: false,
        finished: false,
    };
    let stream = futures_util::stream::unfold(export, Export::next_chunk);
    let (content_type, extension) = match format {
        Format::Jsonl => ("application/x-ndjson", "jsonl"),
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"submissions.{extension}\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// The state of a streamed export: one page of rows per chunk, keyset-paginated.
struct Export {
    store: Store,
    filter: SubmissionFilter,
    format: Format,
    next: Option<Vec<Submission>>,
    cursor: Option<String>,
    started: bool,
    finished: bool,
}

const CSV_HEADER: &str = "submission_id,created_at,run_id,item_id,policy,policy_version,kind,verdict,\
                          format_ok,reward,elapsed_ms,extracted,service_version,components,task,prompt,\
                          completion,details,entry,group_id,truncated,completion_tokens\n";

impl Export {
    async fn next_chunk(mut self) -> Option<(Result<Bytes, std::io::Error>, Self)> {
        if self.finished {
            return None;
        }
        let mut out = Vec::new();
        if !self.started {
            self.started = true;
            if self.format == Format::Csv {
                out.extend_from_slice(CSV_HEADER.as_bytes());
            }
        }
        let page = match self.next.take() {
            Some(page) => page,
            None => match self
                .store
                .submissions(&self.filter, self.cursor.as_deref(), EXPORT_PAGE)
                .await
            {
                Ok(page) => page,
                Err(error) => {
                    tracing::error!(error = %store::error_chain(&error), "export broke off");
                    self.finished = true;
                    return Some((Err(std::io::Error::other(error)), self));
                }
            },
        };
        self.finished = page.len() < EXPORT_PAGE as usize;
        self.cursor = page.last().map(|s| s.submission_id.clone());
        for submission in &page {
            match self.format {
                Format::Jsonl => {
                    // Serialising plain data into a Vec cannot fail.
                    let _ = serde_json::to_writer(&mut out, submission);
                    out.push(b'\n');
                }
                Format::Csv => csv_row(&mut out, submission),
            }
        }
        Some((Ok(Bytes::from(out)), self))
    }
}

fn csv_row(out: &mut Vec<u8>, s: &Submission) {
    let created_at = s.created_at.format(&Rfc3339).unwrap_or_default();
    let fields: [String; 22] = [
        s.submission_id.clone(),
        created_at,
        s.run_id.clone().unwrap_or_default(),
        s.item_id.clone().unwrap_or_default(),
        s.policy.clone(),
        s.policy_version.clone(),
        s.kind.clone(),
        s.verdict.clone(),
        s.format_ok.to_string(),
        s.reward.to_string(),
        s.elapsed_ms.to_string(),
        s.extracted.clone().unwrap_or_default(),
        s.service_version.clone(),
        s.components.to_string(),
        s.task.to_string(),
        s.prompt.clone().unwrap_or_default(),
        s.completion.clone(),
        s.details.to_string(),
        // Added with datasets and groups; appended so that older column positions hold.
        s.entry.clone().unwrap_or_default(),
        s.group_id.clone().unwrap_or_default(),
        s.truncated.to_string(),
        s.completion_tokens.map(|t| t.to_string()).unwrap_or_default(),
    ];
    for (index, field) in fields.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        csv_field(out, field);
    }
    out.push(b'\n');
}

/// RFC 4180 quoting: fields with a comma, quote or line break are quoted, quotes doubled.
fn csv_field(out: &mut Vec<u8>, field: &str) {
    if field.contains([',', '"', '\n', '\r']) {
        out.push(b'"');
        out.extend_from_slice(field.replace('"', "\"\"").as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(field.as_bytes());
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunList {
    pub runs: Vec<RunStats>,
}

/// Every run's aggregates, most recently active first.
#[utoipa::path(
    get,
    tag = "audit",
    path = "/v1/runs",
    params(RunsQuery),
    responses(
        (status = 200, description = "Every run with its aggregates", body = RunList),
        (status = 422, description = "A parameter is invalid; `field` names it", body = ErrorBody),
    )
)]
pub async fn list_runs(
    State(state): State<AppState>,
    ApiQuery(RunsPage { limit }): ApiQuery<RunsPage>,
) -> Result<Json<RunList>, ApiError> {
    let mut runs = state.grader.recorder.store().runs(None).await?;
    runs.truncate(limit as usize);
    Ok(Json(RunList { runs }))
}

/// One run's aggregates: count, mean reward, accuracy and format rates, verdict histogram,
/// first and last seen.
#[utoipa::path(
    get,
    tag = "audit",
    path = "/v1/runs/{run_id}",
    params(("run_id" = String, Path, description = "The `run_id` sent with `/v1/rewards`")),
    responses(
        (status = 200, description = "The run's aggregates", body = RunStats),
        (status = 404, description = "No submission carries this run id", body = ErrorBody),
    )
)]
pub async fn get_run(
    State(state): State<AppState>,
    Path(run_id): Path<String>,
) -> Result<Json<RunStats>, ApiError> {
    state
        .grader
        .recorder
        .store()
        .runs(Some(&run_id))
        .await?
        .into_iter()
        .next()
        .map(Json)
        .ok_or_else(|| not_found("run", &run_id))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeepMark {
    pub run_id: String,
    pub keep: bool,
}

/// Marks a run kept: `verdict prune` never deletes its submissions. A run may be marked
/// before its first submission arrives. `DELETE` removes the mark.
#[utoipa::path(
    put,
    tag = "audit",
    path = "/v1/runs/{run_id}/keep",
    params(("run_id" = String, Path, description = "The run to keep")),
    responses(
        (status = 200, description = "The run is kept", body = KeepMark),
        (status = 422, description = "The run id is empty or too long", body = ErrorBody),
    )
)]
pub async fn keep_run(
    State(state): State<AppState>,
    Path(run_id): Path<String>,
) -> Result<Json<KeepMark>, ApiError> {
    set_keep(&state, run_id, true).await
}

/// Removes a run's keep mark, so retention applies to it again.
#[utoipa::path(
    delete,
    tag = "audit",
    path = "/v1/runs/{run_id}/keep",
    params(("run_id" = String, Path, description = "The run to release")),
    responses((status = 200, description = "The run is no longer kept", body = KeepMark))
)]
pub async fn unkeep_run(
    State(state): State<AppState>,
    Path(run_id): Path<String>,
) -> Result<Json<KeepMark>, ApiError> {
    set_keep(&state, run_id, false).await
}

async fn set_keep(state: &AppState, run_id: String, keep: bool) -> Result<Json<KeepMark>, ApiError> {
    if run_id.is_empty() || run_id.len() > MAX_FILTER_LEN {
        return Err(ApiError::invalid_field(
            "run_id",
            format!("must be 1 to {MAX_FILTER_LEN} bytes long"),
        ));
    }
    state.grader.recorder.store().set_keep(&run_id, keep).await?;
    Ok(Json(KeepMark { run_id, keep }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;

    #[test]
    fn csv_fields_with_separators_quotes_or_newlines_are_quoted() {
        let mut out = Vec::new();
        csv_field(&mut out, "plain");
        out.push(b'|');
        csv_field(&mut out, "a,b");
        out.push(b'|');
        csv_field(&mut out, "say \"hi\"\nthen");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "plain|\"a,b\"|\"say \"\"hi\"\"\nthen\""
        );
    }

    #[test]
    fn a_csv_row_has_a_value_under_every_header_column() {
        let submission = Submission {
            submission_id: "01J0".into(),
            run_id: Some("run".into()),
            item_id: None,
            policy: "default".into(),
            policy_version: "default@abc".into(),
            kind: "math".into(),
            task: serde_json::json!({"answer": "1"}),
            prompt: None,
            completion: "plain".into(),
            extracted: Some("1".into()),
            verdict: "correct".into(),
            format_ok: true,
            reward: 2.0,
            components: serde_json::json!({"accuracy": 1.0}),
            details: serde_json::json!({}),
            elapsed_ms: 0.5,
            service_version: "0.1.0".into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            entry: Some("math500@v1:7".into()),
            group_id: Some("g1".into()),
            truncated: true,
            completion_tokens: Some(42),
        };
        let mut out = Vec::new();
        csv_row(&mut out, &submission);
        let row = String::from_utf8(out).unwrap();
        // No field of this row needs quoting, so a plain split finds the columns.
        let row: Vec<&str> = row.trim_end().split(',').collect();
        let header: Vec<&str> = CSV_HEADER.trim_end().split(',').collect();
        assert_eq!(row.len(), header.len(), "{row:?}");
        let column = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
        assert_eq!(column("entry"), "math500@v1:7");
        assert_eq!(column("group_id"), "g1");
        assert_eq!(column("truncated"), "true");
        assert_eq!(column("completion_tokens"), "42");
        assert_eq!(column("verdict"), "correct");
    }
}
