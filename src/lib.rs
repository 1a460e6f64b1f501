//! verdict: a reward oracle for reinforcement learning of reasoning models. It judges a
//! completion's format (`<think>…</think>` then an answer) and accuracy (an exact math
//! comparison, or tests run in a WebAssembly sandbox) and answers with a reward and the evidence for it.

/// HTTP routes, shared state and middleware; handlers decode, call the application layer, encode.
pub mod api;
/// Start-up: bind, serve, shut down gracefully.
pub mod app;
/// Optional API keys: scopes, hashed secrets, per-key rate limits.
pub mod auth;
/// Offline grading of a JSONL file with the same code as the server (`verdict check`).
pub mod check;
/// The command line: each `verdict` subcommand as a function over the library.
pub mod cli;
/// The code sandbox: untrusted programs in wasmtime with exact limits, and the test harness.
pub mod code;
/// The `<think>…</think>` layout of a completion: answer part and format check.
pub mod completion;
/// Flags, environment and `verdict.toml` merged into one validated `Config`.
pub mod config;
/// Registered datasets: answer keys imported from known shapes, versioned by content hash.
pub mod dataset;
/// Evaluation over stored verdicts: group statistics, pass@k, mean@k, majority@k.
pub mod eval;
/// The application layer: judge one item or a batch and record it, whoever asks.
pub mod grading;
/// Background jobs: whole-run re-checks that resume after a restart.
pub mod jobs;
/// Exact math answer verification: extraction, parsing, comparison.
pub mod math;
/// Reward policies and the judging of one item.
pub mod reward;
/// The audit trail: every judged item stored durably (SQLite or PostgreSQL), with its spool.
pub mod store;
/// Tracing setup and the Prometheus metrics.
pub mod telemetry;
/// The reward protocol's shapes and their parsing into domain items, shared by every entry point.
pub mod wire;

pub use app::App;
pub use config::Config;
