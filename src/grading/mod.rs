//! The application layer: what the service does with a request once it is decoded, whichever
//! door it came in by (`/v1/rewards`, the trainers' protocols, a re-check, `verdict check`).
//! Judge one item or a batch: resolve dataset entries, decode, judge math off the async
//! workers, run code in the sandbox, apply group terms, build the audit rows and record them.
//! Handlers decode, call this, encode (ARCHITECTURE.md).

mod batch;
mod datasets;
mod entries;
mod groups;
mod one;
mod sandbox;

use std::sync::Arc;

pub use datasets::{math_golds, parse_and_check as parse_dataset};
pub use entries::DatasetCache;
pub use groups::annotate as annotate_groups;
pub use one::guarded;
pub use sandbox::LazySandbox;

use crate::config::Config;
use crate::reward::{DEFAULT_POLICY, Policy};
use crate::store::{Recorder, StoreError};
use crate::telemetry::Metrics;

/// What judging needs, cheap to clone: the configuration (policies, limits), the metrics, the
/// audit store behind its spool, the code sandbox (built on first use) and the registered
/// dataset versions in memory.
#[derive(Clone)]
pub struct Grader {
    pub config: Arc<Config>,
    pub metrics: Metrics,
    /// The audit store behind its spool: every judged item is recorded through it.
    pub recorder: Arc<Recorder>,
    /// The code sandbox, built on first use.
    pub sandbox: Arc<LazySandbox>,
    /// Registered dataset versions in memory, for reward items that name an entry.
    pub datasets: Arc<DatasetCache>,
}

impl Grader {
    pub fn new(config: Arc<Config>, recorder: Arc<Recorder>) -> Self {
        Self {
            sandbox: Arc::new(LazySandbox::new(
                config.sandbox_dir.clone(),
                config.count_fuel || config.policies.needs_fuel(),
            )),
            config,
            metrics: Metrics::new(),
            recorder,
            datasets: Arc::default(),
        }
    }

    /// The named policy (or `r1`), or an error naming the `policy` field.
    pub fn policy(&self, name: Option<&str>) -> Result<Arc<Policy>, GradingError> {
        let name = name.unwrap_or(DEFAULT_POLICY);
        self.config.policies.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.config.policies.names().collect();
            GradingError::invalid(
                "policy",
                format!("unknown policy `{name}`; known: {}", known.join(", ")),
            )
        })
    }
}

/// Why a whole request could not be graded. Problems of one item are not this: they are that
/// item's [`crate::reward::ItemError`] and the rest of the batch is judged.
#[derive(Debug, thiserror::Error)]
pub enum GradingError {
    /// A field of the request the caller must fix.
    #[error("{field}: {message}")]
    Invalid {
        code: &'static str,
        field: String,
        message: String,
    },
    /// The audit store failed; nothing was promised to the caller.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A failure of the service itself (a worker task that panicked or was cancelled).
    #[error("{0}")]
    Internal(String),
}

impl GradingError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            code: "invalid_field",
            field: field.into(),
            message: message.into(),
        }
    }

    fn internal(error: &tokio::task::JoinError) -> Self {
        Self::Internal(format!("a grading task failed: {error}"))
    }
}
