//! What one sandboxed run produced: a status from the fixed taxonomy of docs/code-semantics.md plus the
//! captured output. Everything the guest can do ends here as data, never as an `Err`.

use serde::Serialize;

/// The status of one run (`POST /v1/code/run` statuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Exited with code 0 within every limit.
    Ok,
    /// A non-zero exit, an uncaught exception, or a trap (stack overflow, out-of-bounds access,
    /// an exit code WASI p1 cannot carry such as `sys.exit(200)`).
    RuntimeError,
    /// The wall-clock limit passed, whether the guest was computing or blocked in a host call.
    TimeLimitExceeded,
    /// The memory limiter refused a growth during the run, whatever the guest did next (it
    /// usually raises `MemoryError` and exits 1).
    MemoryLimitExceeded,
    /// stdout or stderr went past its cap; the guest saw a write error from then on.
    OutputLimitExceeded,
    /// The program did not parse (Python `SyntaxError`, JavaScript `SyntaxError` at load).
    CompileError,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Ok => "ok",
            RunStatus::RuntimeError => "runtime_error",
            RunStatus::TimeLimitExceeded => "time_limit_exceeded",
            RunStatus::MemoryLimitExceeded => "memory_limit_exceeded",
            RunStatus::OutputLimitExceeded => "output_limit_exceeded",
            RunStatus::CompileError => "compile_error",
        }
    }
}

/// The result of one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunOutcome {
    pub status: RunStatus,
    /// The guest's exit code when it exited through WASI `proc_exit` or returned from
    /// `_start` (0); `None` after a trap or a timeout.
    pub exit_code: Option<i32>,
    /// stdout, at most the output limit (bytes past it were refused).
    pub stdout: Vec<u8>,
    /// stderr, at most the output limit.
    pub stderr: Vec<u8>,
    /// Wall-clock time from instantiation to exit, in milliseconds (queueing not included).
    pub time_ms: f64,
    /// Wasm instructions executed (wasmtime fuel) when the sandbox counts them: the same
    /// for the same program and input on any machine, unlike `time_ms`.
    pub fuel: Option<u64>,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    /// For a trap or a refused exit code, wasmtime's one-line description (for the audit,
    /// not for comparison).
    pub trap: Option<String>,
}

impl RunOutcome {
    /// stdout as text, invalid UTF-8 replaced.
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// stderr as text, invalid UTF-8 replaced.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}
