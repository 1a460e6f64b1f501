//! What a re-check job found: its progress, the verdicts that flipped (counted both ways),
//! and a few flips with their completions.

use serde::Serialize;
use serde_json::Value;

use crate::grading::Grader;
use crate::reward::Verdict;
use crate::store::{self, JobStatus, ReverifyJob, Transition};

/// Changed submissions listed in a report; the counts are always complete.
const MAX_LISTED: u32 = 10_000;
/// Flips shown with their completions.
const EXAMPLES: usize = 10;
/// Characters of a completion shown in an example.
const EXCERPT_CHARS: usize = 400;

/// A job with what it found so far.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReverifyReport {
    #[serde(flatten)]
    pub job: ReverifyJob,
    /// `processed / total`, 1 when done.
    pub progress: f64,
    /// Re-checks from a success (`correct`, `accepted`) to anything else.
    pub flips_to_failure: u64,
    /// Re-checks from anything else to a success.
    pub flips_to_success: u64,
    /// Every verdict change by old and new verdict.
    pub transitions: Vec<Transition>,
    /// The submissions whose verdict changed, in id order (at most 10,000 listed).
    pub changed_submissions: Vec<String>,
    /// A few of them with their completions.
    pub examples: Vec<FlipExample>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FlipExample {
    pub submission_id: String,
    pub item_id: Option<String>,
    pub old_verdict: String,
    pub new_verdict: String,
    pub old_reward: f64,
    pub new_reward: f64,
    pub stored_extracted: Option<String>,
    /// What today's verifier extracted and why it decided.
    #[schema(value_type = Object)]
    pub new_details: Value,
    /// The completion's first 400 characters.
    pub completion: String,
}

/// Reads a job's findings. Shared with `verdict reverify`.
pub async fn report(grader: &Grader, job: ReverifyJob) -> Result<ReverifyReport, store::StoreError> {
    let store = grader.recorder.store();
    let transitions = store.job_transitions(&job.job_id).await?;
    let success = Verdict::is_success_name;
    let (mut to_failure, mut to_success) = (0, 0);
    for t in &transitions {
        match (success(&t.old_verdict), success(&t.new_verdict)) {
            (true, false) => to_failure += t.count,
            (false, true) => to_success += t.count,
            _ => {}
        }
    }
    let changes = store.job_changes(&job.job_id, MAX_LISTED).await?;
    let mut examples = Vec::new();
    for change in changes.iter().take(EXAMPLES) {
        let stored = store.submission(&change.submission_id).await?;
        examples.push(FlipExample {
            submission_id: change.submission_id.clone(),
            item_id: stored.as_ref().and_then(|s| s.item_id.clone()),
            old_verdict: change.old_verdict.clone(),
            new_verdict: change.new_verdict.clone(),
            old_reward: change.old_reward,
            new_reward: change.new_reward,
            stored_extracted: stored.as_ref().and_then(|s| s.extracted.clone()),
            new_details: change.details.clone(),
            completion: stored
                .map(|s| s.completion.chars().take(EXCERPT_CHARS).collect())
                .unwrap_or_default(),
        });
    }
    let progress = if job.status == JobStatus::Done || job.total == 0 {
        1.0
    } else {
        (job.processed as f64 / job.total as f64).min(1.0)
    };
    Ok(ReverifyReport {
        progress,
        flips_to_failure: to_failure,
        flips_to_success: to_success,
        transitions,
        changed_submissions: changes.into_iter().map(|c| c.submission_id).collect(),
        examples,
        job,
    })
}
