//! Query strings, read in one place. [`ApiQuery<T>`] takes the raw pairs, lets `T` consume the
//! parameters it reads through [`QueryPairs`], and refuses whatever is left, so a typo
//! (`verdit=correct`) is a 422 naming it rather than a silently unfiltered answer. Every error
//! names the parameter and says what was expected; a query string that is not form-encoded at
//! all is a 400.

use std::ops::RangeInclusive;

use axum::extract::{FromRequestParts, Query};
use axum::http::StatusCode;
use axum::http::request::Parts;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::error::ApiError;

/// A handler's query parameters, decoded into `T`.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

/// What a set of query parameters decodes into.
pub trait FromQuery: Sized {
    /// Takes the parameters this type reads; what it leaves is refused as unknown.
    fn from_query(params: &mut QueryPairs) -> Result<Self, ApiError>;
}

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: FromQuery,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri).map_err(|rejection| {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", rejection.body_text())
        })?;
        let mut params = QueryPairs(pairs);
        let value = T::from_query(&mut params)?;
        params.finish()?;
        Ok(ApiQuery(value))
    }
}

/// The raw query pairs, consumed parameter by parameter.
#[derive(Debug)]
pub struct QueryPairs(Vec<(String, String)>);

impl QueryPairs {
    /// The value of `name` (the last one when repeated), removed from the set.
    pub fn take(&mut self, name: &str) -> Option<String> {
        let mut value = None;
        self.0.retain(|(key, v)| {
            if key == name {
                value = Some(v.clone());
                false
            } else {
                true
            }
        });
        value
    }

    /// A text value of 1 to `max_len` bytes, one of `allowed` when given.
    pub fn text(
        &mut self,
        name: &'static str,
        max_len: usize,
        allowed: Option<&[&str]>,
    ) -> Result<Option<String>, ApiError> {
        let Some(value) = self.take(name) else {
            return Ok(None);
        };
        if value.is_empty() || value.len() > max_len {
            return Err(ApiError::invalid_field(
                name,
                format!("must be 1 to {max_len} bytes long"),
            ));
        }
        if let Some(allowed) = allowed
            && !allowed.contains(&value.as_str())
        {
            return Err(ApiError::invalid_field(
                name,
                format!("unknown {name} `{value}`; expected one of {}", allowed.join(", ")),
            ));
        }
        Ok(Some(value))
    }

    /// A finite number.
    pub fn number(&mut self, name: &'static str) -> Result<Option<f64>, ApiError> {
        self.take(name)
            .map(|value| match value.parse::<f64>() {
                Ok(number) if number.is_finite() => Ok(number),
                _ => Err(ApiError::invalid_field(
                    name,
                    format!("expected a finite number, got `{value}`"),
                )),
            })
            .transpose()
    }

    /// A whole number within `range`.
    pub fn whole(&mut self, name: &'static str, range: RangeInclusive<u32>) -> Result<Option<u32>, ApiError> {
        self.take(name)
            .map(|value| match value.parse::<u32>() {
                Ok(n) if range.contains(&n) => Ok(n),
                _ => Err(ApiError::invalid_field(
                    name,
                    format!(
                        "expected a whole number from {} to {}, got `{value}`",
                        range.start(),
                        range.end()
                    ),
                )),
            })
            .transpose()
    }

    /// An RFC 3339 time.
    pub fn time(&mut self, name: &'static str) -> Result<Option<OffsetDateTime>, ApiError> {
        self.take(name)
            .map(|value| {
                OffsetDateTime::parse(&value, &Rfc3339).map_err(|error| {
                    ApiError::invalid_field(
                        name,
                        format!(
                            "expected an RFC 3339 time such as 2026-11-28T12:00:00Z, got `{value}`: {error}"
                        ),
                    )
                })
            })
            .transpose()
    }

    /// A page cursor: the `next_cursor` (a ULID) of a previous page.
    pub fn cursor(&mut self) -> Result<Option<String>, ApiError> {
        self.take("cursor")
            .map(|value| {
                ulid::Ulid::from_string(&value)
                    .map(|id| id.to_string())
                    .map_err(|_| {
                        ApiError::invalid_field("cursor", "expected the `next_cursor` of a previous page")
                    })
            })
            .transpose()
    }

    /// Refuses parameters nobody asked for.
    fn finish(self) -> Result<(), ApiError> {
        match self.0.into_iter().next() {
            None => Ok(()),
            Some((name, _)) => Err(ApiError::invalid_field(
                name.clone(),
                format!("unknown query parameter `{name}`"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Page {
        limit: u32,
        label: Option<String>,
    }

    impl FromQuery for Page {
        fn from_query(params: &mut QueryPairs) -> Result<Self, ApiError> {
            Ok(Page {
                limit: params.whole("limit", 1..=10)?.unwrap_or(5),
                label: params.text("label", 4, Some(&["a", "bb"]))?,
            })
        }
    }

    async fn decode(uri: &str) -> Result<Page, ApiError> {
        let request = axum::http::Request::builder().uri(uri).body(()).unwrap();
        let (mut parts, ()) = request.into_parts();
        ApiQuery::<Page>::from_request_parts(&mut parts, &())
            .await
            .map(|ApiQuery(page)| page)
    }

    #[tokio::test]
    async fn parameters_decode_default_and_name_the_offender() {
        let page = decode("/x?limit=3&label=bb").await.unwrap();
        assert_eq!((page.limit, page.label.as_deref()), (3, Some("bb")));
        let page = decode("/x").await.unwrap();
        assert_eq!((page.limit, page.label), (5, None));
        // The last of a repeated parameter counts.
        assert_eq!(decode("/x?limit=2&limit=4").await.unwrap().limit, 4);
        for (uri, field) in [
            ("/x?limit=0", "limit"),
            ("/x?limit=11", "limit"),
            ("/x?limit=two", "limit"),
            ("/x?label=c", "label"),
            ("/x?label=", "label"),
            ("/x?lmit=3", "lmit"),
        ] {
            let error = decode(uri).await.err().unwrap_or_else(|| panic!("{uri} decoded"));
            assert_eq!(error.status, StatusCode::UNPROCESSABLE_ENTITY, "{uri}");
            assert_eq!(error.field.as_deref(), Some(field), "{uri}");
        }
    }
}
