//! The reward protocol's shapes and their parsing into domain items: the request and result
//! types of a batch, a trainer's labels, code tasks, and the numbers-only score the trainers'
//! own protocols read. Shared by the HTTP layer, `verdict check`, the command line, the fuzz
//! targets and the benches; nothing here knows about HTTP (ARCHITECTURE.md).

mod answer_text;
mod code_task;
mod field;
mod item;
mod ks;
mod labels;
mod rewards;
mod sample_score;
mod whole_number;

pub use answer_text::string_or_number;
pub use code_task::parse_code_task;
pub use field::field_of;
pub(crate) use item::from_value;
pub use item::{MAX_RUN_ID_LEN, parse_item, substitute_label};
pub use ks::parse_ks;
pub use labels::task_from_label;
pub use rewards::{
    FailedItem, ItemResult, JudgedItem, RewardItemSchema, RewardRequest, RewardResponse, TaskSchema,
    prefix_field,
};
pub use sample_score::{SampleError, SampleScore};
pub use whole_number::{WholeNumber, value as whole_number_value};
