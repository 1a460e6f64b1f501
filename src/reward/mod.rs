//! Reward policies and the judging of one item: format check + accuracy check → reward.
//!
//! This layer knows nothing of HTTP: the API and the offline `verdict check` command both
//! hand it typed [`RewardItem`]s and get back a [`Judgement`] or an [`ItemError`].

mod code;
mod math;
mod policy;
pub mod probe;
mod shaping;

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

pub use code::{
    CallCase, CodeDetails, CodeTask, CodeTests, StdioCase, TestReport, judge_code, judge_code_item,
};
pub use policy::{DEFAULT_POLICY, Policy, PolicyConfig, PolicyError, PolicySet};
pub use shaping::{
    CodeEfficiency, CosineLength, FormatMode, GroupLength, GroupMember, Overlong, Signals, apply_group,
    carry_group_terms,
};

/// What the completion is judged against.
#[derive(Debug, Clone, PartialEq)]
pub enum Task {
    /// A math problem with a reference answer, compared exactly with the last box.
    Math { answer: String },
    /// A programming problem: the last fenced block of the task's language runs against tests
    /// in the sandbox.
    Code(CodeTask),
}

impl Task {
    pub fn kind(&self) -> TaskKind {
        match self {
            Task::Math { .. } => TaskKind::Math,
            Task::Code(_) => TaskKind::Code,
        }
    }
}

/// The task kinds of the wire format; only some of them may be judged by this build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    Math,
    Code,
}

impl TaskKind {
    pub const ALL: [TaskKind; 2] = [TaskKind::Math, TaskKind::Code];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Math => "math",
            TaskKind::Code => "code",
        }
    }
}

impl std::str::FromStr for TaskKind {
    type Err = UnknownName;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| UnknownName(text.to_owned()))
    }
}

/// A stored or requested name that is not one of a closed set's members.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown name `{0}`")]
pub struct UnknownName(pub String);

/// One completion to reward.
#[derive(Debug, Clone, PartialEq)]
pub struct RewardItem {
    pub id: Option<String>,
    pub prompt: Option<String>,
    pub completion: String,
    pub task: Task,
    /// Truncation and length, for the policy's length terms.
    pub signals: Signals,
}

/// The outcome of a judged item. A wrong or missing answer is a verdict, not an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    // Math.
    Correct,
    Incorrect,
    NoAnswer,
    Unparsable,
    // Code, per test and overall (the first failing test decides).
    Accepted,
    WrongAnswer,
    TimeLimitExceeded,
    MemoryLimitExceeded,
    OutputLimitExceeded,
    RuntimeError,
    CompileError,
    NoCode,
}

impl Verdict {
    /// Every verdict, in the order the wire format documents them.
    pub const ALL: [Verdict; 12] = [
        Verdict::Correct,
        Verdict::Incorrect,
        Verdict::NoAnswer,
        Verdict::Unparsable,
        Verdict::Accepted,
        Verdict::WrongAnswer,
        Verdict::TimeLimitExceeded,
        Verdict::MemoryLimitExceeded,
        Verdict::OutputLimitExceeded,
        Verdict::RuntimeError,
        Verdict::CompileError,
        Verdict::NoCode,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Correct => "correct",
            Verdict::Incorrect => "incorrect",
            Verdict::NoAnswer => "no_answer",
            Verdict::Unparsable => "unparsable",
            Verdict::Accepted => "accepted",
            Verdict::WrongAnswer => "wrong_answer",
            Verdict::TimeLimitExceeded => "time_limit_exceeded",
            Verdict::MemoryLimitExceeded => "memory_limit_exceeded",
            Verdict::OutputLimitExceeded => "output_limit_exceeded",
            Verdict::RuntimeError => "runtime_error",
            Verdict::CompileError => "compile_error",
            Verdict::NoCode => "no_code",
        }
    }

    /// Whether this verdict earns the accuracy reward. The one place that decides it.
    pub fn is_success(self) -> bool {
        matches!(self, Verdict::Correct | Verdict::Accepted)
    }

    /// Whether a stored verdict name is a success; `error` (a re-check that could not judge)
    /// and names of other builds are not.
    pub fn is_success_name(name: &str) -> bool {
        name.parse::<Verdict>().is_ok_and(Verdict::is_success)
    }
}

impl std::str::FromStr for Verdict {
    type Err = UnknownName;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|verdict| verdict.as_str() == text)
            .ok_or_else(|| UnknownName(text.to_owned()))
    }
}

/// The evidence behind a verdict, by task kind.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Details {
    Math(MathDetails),
    Code(CodeDetails),
}

/// The evidence behind a math verdict, shown to auditors.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MathDetails {
    /// The parsed reference answer in canonical form.
    pub gold: String,
    /// The parsed prediction in canonical form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predicted: Option<String>,
    /// The rule that decided the comparison.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<&'static str>,
    /// Why the prediction could not be parsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parse_error: Option<String>,
    /// Why the format reward was withheld.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format_error: Option<&'static str>,
    /// Where the answer came from: `boxed` or `text_fallback`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub answer_source: Option<crate::math::AnswerSource>,
    /// How many different answers the answer part boxes, when more than one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distinct_boxed_answers: Option<usize>,
}

/// The reward for one item with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Judgement {
    pub reward: f64,
    /// Each term of the reward, already weighted, by name (`accuracy`, `format`, …).
    pub components: BTreeMap<&'static str, f64>,
    pub verdict: Verdict,
    pub format_ok: bool,
    pub extracted: Option<String>,
    pub details: Details,
    pub elapsed_ms: f64,
}

/// Why an item could not be judged, as a stable machine-readable code. A closed set: clients
/// and dashboards match on these names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemErrorCode {
    /// The service failed on this item (a verifier panicked, a task was lost); never a reward.
    InternalError,
    /// A field of the item is missing or of the wrong shape; `field` names it.
    InvalidItem,
    /// A line of `verdict check` input is not JSON.
    InvalidJson,
    /// A trainer's label could not be turned into a task.
    InvalidLabel,
    /// The task itself cannot be judged (a gold the verifier cannot parse).
    InvalidTask,
    /// OpenRLHF sent a query whose prompt has no label.
    PromptNotFound,
    /// The sandbox failed while running the program; not the program's fault.
    SandboxError,
    /// The sandbox could not be prepared; the code item was not run.
    SandboxUnavailable,
    /// The named dataset entry does not exist.
    UnknownEntry,
    /// The task kind is neither `math` nor `code`.
    UnknownKind,
}

impl ItemErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemErrorCode::InternalError => "internal_error",
            ItemErrorCode::InvalidItem => "invalid_item",
            ItemErrorCode::InvalidJson => "invalid_json",
            ItemErrorCode::InvalidLabel => "invalid_label",
            ItemErrorCode::InvalidTask => "invalid_task",
            ItemErrorCode::PromptNotFound => "prompt_not_found",
            ItemErrorCode::SandboxError => "sandbox_error",
            ItemErrorCode::SandboxUnavailable => "sandbox_unavailable",
            ItemErrorCode::UnknownEntry => "unknown_entry",
            ItemErrorCode::UnknownKind => "unknown_kind",
        }
    }
}

impl std::fmt::Display for ItemErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an item could not be judged at all. It is reported on the item, never scored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ItemError {
    /// A stable machine-readable code such as `invalid_item` or `sandbox_unavailable`.
    #[schema(value_type = String)]
    pub code: ItemErrorCode,
    pub message: String,
    /// The offending field, relative to the item (`task.answer`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ItemError {
    pub fn new(code: ItemErrorCode, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: Some(field.into()),
        }
    }

    /// A failure of the service on this item, reported as such and never scored.
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            code: ItemErrorCode::InternalError,
            message: message.into(),
            field: None,
        }
    }
}

/// Judges a math item under `policy`. Pure CPU work, bounded by the verifier's own limits;
/// code items need the sandbox and go through [`judge_code`].
pub fn judge(item: &RewardItem, policy: &Policy) -> Result<Judgement, ItemError> {
    let started = Instant::now();
    let mut judgement = match &item.task {
        Task::Math { answer } => math::judge(
            &item.completion,
            policy.think_opened(item.prompt.as_deref()),
            answer,
            policy,
        )?,
        Task::Code(_) => {
            return Err(ItemError {
                code: ItemErrorCode::InternalError,
                message: "a code item reached the math judge; it was not scored".into(),
                field: None,
            });
        }
    };
    shaping::apply(&mut judgement, &item.completion, &item.signals, policy);
    judgement.elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
    Ok(judgement)
}

#[cfg(test)]
mod tests;
