//! Admission control: at most `max_concurrent_requests` requests are processed at once and at
//! most `max_queued_requests` more wait for a slot; beyond that a request is refused at once
//! with 503 and `Retry-After`, so overload costs the client a retry instead of an ever longer
//! queue that ends in timeouts for everyone. Liveness, readiness and metrics skip the line so
//! that probes and scrapes answer while the service is saturated.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use super::ApiError;

/// Seconds a shed client is told to wait: one typical batch time on a loaded server.
const RETRY_AFTER_SECONDS: u32 = 1;

/// Routes that never wait in line.
pub const EXEMPT: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

pub struct Admission {
    slots: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
}

impl Admission {
    pub fn new(max_concurrent: usize, max_waiting: usize) -> Arc<Self> {
        Arc::new(Self {
            slots: Arc::new(Semaphore::new(max_concurrent)),
            waiting: AtomicUsize::new(0),
            max_waiting,
        })
    }
}

/// Leaves the waiting count however the wait ends (slot granted, client gone, deadline).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

pub async fn admit(State(admission): State<Arc<Admission>>, request: Request, next: Next) -> Response {
    let exempt = request
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|route| EXEMPT.contains(&route.as_str()));
    if exempt {
        return next.run(request).await;
    }
    let _slot = match admission.slots.clone().try_acquire_owned() {
        Ok(slot) => slot,
        Err(_) => {
            let queued = admission.waiting.fetch_add(1, Ordering::AcqRel);
            let _waiting = Waiting(&admission.waiting);
            if queued >= admission.max_waiting {
                return overloaded();
            }
            match admission.slots.clone().acquire_owned().await {
                Ok(slot) => slot,
                Err(_) => return overloaded(),
            }
        }
    };
    next.run(request).await
}

fn overloaded() -> Response {
    let mut response = ApiError::from_status(StatusCode::SERVICE_UNAVAILABLE).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    response
}
