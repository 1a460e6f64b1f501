//! The one error type of the HTTP layer and its JSON shape, `{"error": {"code", "message",
//! "field"}}`, plus the JSON body extractor whose rejections use the same shape.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::wire::field_of;

/// An error answered to the client. 4xx carry a precise message; 5xx a generic one, with the
/// cause logged once here.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
}

/// The error body, also used in the OpenAPI document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `invalid_field`, `payload_too_large`.
    pub code: String,
    /// What is wrong, for people.
    pub message: String,
    /// The offending field as a path (`items[2].task.answer`), when one is to blame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message)
        }
    }

    /// A failure of the service itself: logged with its cause chain, reported generically.
    pub fn internal(error: &(dyn std::error::Error + 'static)) -> Self {
        let chain = crate::telemetry::error_chain(error);
        tracing::error!(error = %chain, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "internal server error",
        )
    }

    /// The error a bare status code stands for, for responses produced by tower layers and
    /// the router (timeouts, body limits, unknown routes) that carry no JSON body of their own.
    pub fn from_status(status: StatusCode) -> Self {
        let (code, message) = match status {
            StatusCode::NOT_FOUND => ("not_found", "no such route"),
            StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "method not allowed on this route"),
            StatusCode::PAYLOAD_TOO_LARGE => {
                ("payload_too_large", "request body exceeds the configured limit")
            }
            StatusCode::REQUEST_TIMEOUT => ("timeout", "request took longer than the configured deadline"),
            StatusCode::SERVICE_UNAVAILABLE => ("overloaded", "server is overloaded, retry later"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                "unsupported_media_type",
                "expected Content-Type: application/json",
            ),
            s if s.is_server_error() => ("internal_error", "internal server error"),
            _ => ("bad_request", "bad request"),
        };
        Self::new(status, code, message)
    }
}

/// Store failures are the service's own: logged once here with their cause chain. A database
/// or spool that is away is a 503 (retry later); anything else a 500.
impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        let chain = crate::store::error_chain(&error);
        match error {
            StoreError::Migrate { .. } | StoreError::UnsupportedUrl(_) | StoreError::Task(_) => {
                tracing::error!(error = %chain, "store failure");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "internal server error",
                )
            }
            _ => {
                tracing::error!(error = %chain, "storage unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_unavailable",
                    "the audit storage is unavailable; retry later",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                field: self.field,
            },
        };
        (self.status, axum::Json(body)).into_response()
    }
}

/// `Json<T>` with our error shape: 415 without a JSON content type, 413 over the body limit,
/// 400 for malformed JSON, 422 naming the field for JSON of the wrong shape.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_body(req, state).await?;
        decode(&bytes).map(ApiJson)
    }
}

/// [`ApiJson`] that keeps the body's bytes too, for handlers that key a request by its content.
pub struct ApiJsonBytes<T>(pub T, pub Bytes);

impl<S, T> FromRequest<S> for ApiJsonBytes<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_body(req, state).await?;
        let value = decode(&bytes)?;
        Ok(Self(value, bytes))
    }
}

/// The body of a request that declares JSON, within the body limit.
async fn json_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim();
            mime.eq_ignore_ascii_case("application/json") || mime.to_ascii_lowercase().ends_with("+json")
        });
    if !is_json {
        return Err(ApiError::from_status(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    }
    let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
        let status = rejection.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::from_status(status)
        } else {
            ApiError::new(status, "unreadable_body", rejection.body_text())
        }
    })?;
    Ok(bytes)
}

/// Deserialises JSON, naming the path of the first offending field.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let malformed = |error: serde_json::Error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("malformed JSON: {error}"),
        )
    };
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.classify() != serde_json::error::Category::Data {
            return malformed(inner);
        }
        let message = inner.to_string();
        ApiError {
            field: field_of(&path, &message),
            ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message)
        }
    })?;
    // Trailing garbage after the value is malformed JSON too.
    deserializer.end().map_err(malformed)?;
    Ok(value)
}

/// A request the application layer refused: the caller's field (422), the store (503 or 500),
/// or the service itself (500).
impl From<crate::grading::GradingError> for ApiError {
    fn from(error: crate::grading::GradingError) -> Self {
        use crate::grading::GradingError;
        match error {
            GradingError::Invalid { code, field, message } => {
                let mut api = Self::invalid_field(field, message);
                api.code = code;
                api
            }
            GradingError::Store(error) => error.into(),
            GradingError::Internal(_) => Self::internal(&error),
        }
    }
}

/// The answer to a request whose handler panicked: the generic 500 body, the panic logged.
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    tracing::error!(panic = %message, "handler panicked");
    ApiError::from_status(StatusCode::INTERNAL_SERVER_ERROR).into_response()
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::extract::Request;
    use axum::routing::get;
    use tower::ServiceExt;
    use tower_http::catch_panic::CatchPanicLayer;

    use super::*;

    async fn boom() -> &'static str {
        panic!("on purpose")
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_a_json_500_and_the_router_serves_on() {
        let router: Router = Router::new()
            .route("/boom", get(boom))
            .route("/fine", get(|| async { "fine" }))
            .layer(CatchPanicLayer::custom(panic_response));
        let response = router
            .clone()
            .oneshot(Request::get("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["code"], "internal_error");
        let response = router
            .oneshot(Request::get("/fine").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
}
