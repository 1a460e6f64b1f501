//! The API-key check as a middleware: it runs after routing, so it sees the route template
//! the request matched and asks [`crate::auth`] which scope that route needs. Refusals use the
//! common error shape; the key itself is never logged, only the name of a recognised key.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;
use crate::auth::{Authenticator, Refusal};

pub async fn require_key(State(auth): State<Arc<Authenticator>>, request: Request, next: Next) -> Response {
    // Unmatched requests (404s, static files served by a fallback) reveal nothing to protect.
    let Some(route) = request.extensions().get::<MatchedPath>() else {
        return next.run(request).await;
    };
    let decision = auth.check(
        request.method().as_str(),
        route.as_str(),
        request
            .headers()
            .get(header::AUTHORIZATION)
            .map(HeaderValue::as_bytes),
    );
    match decision {
        Ok(_) => next.run(request).await,
        Err(refusal) => refuse(refusal),
    }
}

fn refuse(refusal: Refusal) -> Response {
    match refusal {
        Refusal::Missing => {
            let mut response = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "this route needs an API key: send `Authorization: Bearer <key>`",
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            response
        }
        Refusal::Unknown => {
            tracing::info!("request with an unknown API key refused");
            let mut response =
                ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "unknown API key").into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
            response
        }
        Refusal::Forbidden { key, scope } => {
            tracing::info!(key = %key, scope = scope.as_str(), "API key lacks the route's scope");
            ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "the key `{key}` lacks the scope `{}` this route needs",
                    scope.as_str()
                ),
            )
            .into_response()
        }
        Refusal::Limited { key, retry_after } => {
            // Whole seconds, rounded up: a client that waits this long finds a token.
            let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            let seconds = seconds.max(1);
            let mut response = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("the key `{key}` is over its rate limit; retry in {seconds} s"),
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            response
        }
    }
}

/// Adds the bearer scheme to the OpenAPI document and, when keys are configured, each
/// protected operation's security requirement (with the scope as its role, as OpenAPI 3.1
/// allows) and its 401/403/429 answers. Without keys the operations say nothing about
/// security, which is the truth of an open server. Every operation that waits in line also
/// documents the 503 of load shedding.
pub fn document_security(document: &mut serde_json::Value, keys_configured: bool) {
    use serde_json::json;
    document["components"]["securitySchemes"]["bearer"] = json!({
        "type": "http",
        "scheme": "bearer",
        "description": "An API key from `[[api_keys]]` in verdict.toml, as `Authorization: Bearer <key>`. \
                        Needed only when keys are configured; each key has scopes: `reward`, `audit:read`, `admin`."
    });
    let error = |description: &str, retry: bool| {
        let mut response = json!({
            "description": description,
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } } }
        });
        if retry {
            response["headers"] = json!({ "Retry-After": {
                "description": "Seconds to wait before retrying",
                "schema": { "type": "integer", "minimum": 1 }
            } });
        }
        response
    };
    let Some(paths) = document
        .get_mut("paths")
        .and_then(serde_json::Value::as_object_mut)
    else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, operation) in item.iter_mut() {
            if !["get", "put", "post", "delete", "patch", "head"].contains(&method.as_str()) {
                continue;
            }
            let responses = &mut operation["responses"];
            if !super::shed::EXEMPT.contains(&path.as_str()) && responses.get("503").is_none() {
                responses["503"] = error(
                    "Overloaded (or the audit storage is away); retry after `Retry-After` seconds",
                    true,
                );
            }
            let Some(scope) = crate::auth::required_scope(&method.to_ascii_uppercase(), path) else {
                continue;
            };
            if !keys_configured {
                continue;
            }
            operation["security"] = json!([{ "bearer": [scope.as_str()] }]);
            let responses = &mut operation["responses"];
            responses["401"] = error("Missing or unknown API key", false);
            responses["403"] = error("The API key lacks this route's scope", false);
            responses["429"] = error("The API key is over its rate limit", true);
        }
    }
}
