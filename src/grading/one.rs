//! One decoded item judged: math off the async workers, code in the sandbox, a panic in a
//! verifier an `internal_error` on that item (never a reward, never a lost batch).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use super::Grader;
use crate::reward::ItemErrorCode;
use crate::reward::{self, ItemError, Judgement, Policy, RewardItem, Task};

impl Grader {
    /// Judges one decoded item: math off the async workers, code in the sandbox.
    pub async fn judge_one(&self, item: RewardItem, policy: Arc<Policy>) -> Result<Judgement, ItemError> {
        if let Task::Code(task) = &item.task {
            let sandbox = self.sandbox.get().await?;
            return reward::judge_code_item(&item, task, &policy, &sandbox).await;
        }
        tokio::task::spawn_blocking(move || guarded(|| reward::judge(&item, &policy)))
            .await
            .unwrap_or_else(|_| {
                Err(ItemError {
                    code: ItemErrorCode::InternalError,
                    message: "the verifier failed on this item; it was not scored".into(),
                    field: None,
                })
            })
    }
}

/// Runs a verifier; a panic inside it becomes an `internal_error` on that item instead of
/// taking the batch down.
pub fn guarded(judge: impl FnOnce() -> Result<Judgement, ItemError>) -> Result<Judgement, ItemError> {
    std::panic::catch_unwind(AssertUnwindSafe(judge)).unwrap_or_else(|_| {
        tracing::error!("verifier panicked");
        Err(ItemError {
            code: ItemErrorCode::InternalError,
            message: "the verifier failed on this item; it was not scored".into(),
            field: None,
        })
    })
}
