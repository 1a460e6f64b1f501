//! The sandbox as the server uses it: built on first use (fetching and compiling the language
//! images takes seconds on a cold cache, and a math-only deployment never pays it), shared by
//! every app in the process (one wasmtime engine per process), and a failure to build it is an
//! error on the code items, never a reward.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use crate::code::{Sandbox, SandboxConfig};
use crate::reward::ItemError;
use crate::reward::ItemErrorCode;

/// What a sandbox is built from: its data directory and whether it counts fuel.
type SandboxKey = (PathBuf, bool);

/// Sandboxes by data directory and fuel counting, process-wide, so that apps started in one
/// process (the test suite) share one engine and its compiled images.
fn built() -> &'static Mutex<HashMap<SandboxKey, Arc<Sandbox>>> {
    static BUILT: OnceLock<Mutex<HashMap<SandboxKey, Arc<Sandbox>>>> = OnceLock::new();
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
    key: SandboxKey,
}

impl LazySandbox {
    pub fn new(dir: PathBuf, count_fuel: bool) -> Self {
        Self {
            key: (dir, count_fuel),
        }
    }

    /// Whether the sandbox has been built (for readiness).
    pub fn is_built(&self) -> bool {
        built().lock().is_ok_and(|map| map.contains_key(&self.key))
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
        let (dir, count_fuel) = self.key.clone();
        let result = tokio::task::spawn_blocking(move || {
            tracing::info!(dir = %dir.display(), count_fuel, "preparing the code sandbox (first use)");
            let config = SandboxConfig {
                count_fuel,
                ..SandboxConfig::new(&dir)
            };
            Sandbox::new(&config, &mut |line| tracing::info!("sandbox: {line}"))
        })
        .await;
        match result {
            Ok(Ok(sandbox)) => {
                let sandbox = Arc::new(sandbox);
                if let Ok(mut map) = built().lock() {
                    map.insert(self.key.clone(), sandbox.clone());
                }
                tracing::info!("code sandbox ready");
                Ok(sandbox)
            }
            Ok(Err(error)) => {
                tracing::error!(error = %crate::telemetry::error_chain(&error), "cannot prepare the code sandbox");
                Err(unavailable())
            }
            Err(error) => {
                tracing::error!(%error, "preparing the code sandbox panicked");
                Err(unavailable())
            }
        }
    }

    fn cached(&self) -> Option<Arc<Sandbox>> {
        built().lock().ok()?.get(&self.key).cloned()
    }
}

fn unavailable() -> ItemError {
    ItemError {
        code: ItemErrorCode::SandboxUnavailable,
        message: "the code sandbox could not be prepared (see the server log); the item was not scored"
            .into(),
        field: None,
    }
}
