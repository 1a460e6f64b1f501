//! The sandbox as the server uses it: built on first use (fetching and compiling the language
//! images takes seconds on a cold cache, and a math-only deployment never pays it), shared by
//! every app in the process (one wasmtime engine per process), and a failure to build it is an
//! error on the code items, never a reward.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use crate::code::{Sandbox, SandboxConfig};
use crate::reward::ItemError;

/// Sandboxes by data directory, process-wide, so that apps started in one process (the test
/// suite) share one engine and its compiled images.
fn built() -> &'static Mutex<HashMap<PathBuf, Arc<Sandbox>>> {
    static BUILT: OnceLock<Mutex<HashMap<PathBuf, Arc<Sandbox>>>> = OnceLock::new();
    BUILT.get_or_init(Default::default)
}

/// Serialises building process-wide: concurrent first requests, even from different apps
/// sharing a directory, fetch and compile once instead of racing on the same files.
fn building() -> &'static tokio::sync::Mutex<()> {
    static BUILDING: OnceLock<tokio::sync::Mutex<()>> = OnceLock::new();
    BUILDING.get_or_init(|| tokio::sync::Mutex::new(()))
}

/// The handle in the app state.
pub struct LazySandbox {
    dir: PathBuf,
}

impl LazySandbox {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// Whether the sandbox has been built (for readiness).
    pub fn is_built(&self) -> bool {
        built().lock().is_ok_and(|map| map.contains_key(&self.dir))
    }

    /// The sandbox, built now if this is the first use.
    pub async fn get(&self) -> Result<Arc<Sandbox>, ItemError> {
        if let Some(sandbox) = self.cached() {
            return Ok(sandbox);
        }
        let _building = building().lock().await;
        if let Some(sandbox) = self.cached() {
            return Ok(sandbox);
        }
        let dir = self.dir.clone();
        let result = tokio::task::spawn_blocking(move || {
            tracing::info!(dir = %dir.display(), "preparing the code sandbox (first use)");
            Sandbox::new(&SandboxConfig::new(&dir), &mut |line| {
                tracing::info!("sandbox: {line}")
            })
        })
        .await;
        match result {
            Ok(Ok(sandbox)) => {
                let sandbox = Arc::new(sandbox);
                if let Ok(mut map) = built().lock() {
                    map.insert(self.dir.clone(), sandbox.clone());
                }
                tracing::info!("code sandbox ready");
                Ok(sandbox)
            }
            Ok(Err(error)) => {
                tracing::error!(error = %crate::store::error_chain(&error), "cannot prepare the code sandbox");
                Err(unavailable())
            }
            Err(error) => {
                tracing::error!(%error, "preparing the code sandbox panicked");
                Err(unavailable())
            }
        }
    }

    fn cached(&self) -> Option<Arc<Sandbox>> {
        built().lock().ok()?.get(&self.dir).cloned()
    }
}

fn unavailable() -> ItemError {
    ItemError {
        code: "sandbox_unavailable",
        message: "the code sandbox could not be prepared (see the server log); the item was not scored"
            .into(),
        field: None,
    }
}
