//! Start-up as a library function: [`App::build`] binds the listener (port 0 allowed) and
//! exposes the real address; [`App::run_until_stopped`] serves until SIGTERM or ctrl-c and
//! drains in-flight requests. `main` and the integration tests call the same code. Start-up
//! also opens the audit store, applies its migrations and starts the spool replayer.

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;

use crate::api::{self, AppState};
use crate::config::Config;
use crate::store::{Recorder, Store, StoreError};

/// The longest shutdown waits for spooled submissions to reach the database; what is left
/// stays in the spool (on disk) and the next start replays it.
const SPOOL_FLUSH_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

pub struct App {
    listener: TcpListener,
    address: SocketAddr,
    router: axum::Router,
    recorder: std::sync::Arc<Recorder>,
    /// Background re-check jobs, stopped at shutdown (they resume at the next start).
    jobs: std::sync::Arc<crate::jobs::JobRunner>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create the data directory {path}")]
    DataDir {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the audit store")]
    Store(#[from] StoreError),
    #[error("cannot listen on {address}")]
    Bind {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

impl App {
    pub async fn build(config: Config) -> Result<Self, StartError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| StartError::DataDir {
            path: config.data_dir.clone(),
            source,
        })?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartError::Bind {
                address: config.listen,
                source,
            })?;
        let address = listener.local_addr().map_err(|source| StartError::Bind {
            address: config.listen,
            source,
        })?;
        let store = Store::connect(&config.database_url, config.store_timeout).await?;
        store.migrate().await?;
        let recorder = Recorder::open(store, &config.data_dir.join("spool"), config.store_timeout)?;
        recorder.spawn_replayer();
        let state = AppState::new(config, recorder.clone());
        state.jobs.resume(&state.grader).await?;
        let jobs = state.jobs.clone();
        let router = api::router(state);
        Ok(Self {
            listener,
            address,
            router,
            recorder,
            jobs,
        })
    }

    /// The address actually bound (the real port when the config asked for port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until SIGTERM or ctrl-c, then finishes the requests in flight.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes, then finishes the requests in flight (each bounded by
    /// the request deadline; new connections are no longer accepted) and flushes the spool.
    pub async fn run_until(self, stop: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        tracing::info!(address = %self.address, "verdict listening");
        let served = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(stop)
            .await;
        self.jobs.stop();
        let left = self.recorder.flush(SPOOL_FLUSH_DEADLINE).await;
        if left > 0 {
            tracing::warn!(
                rows = left,
                "stopping with spooled submissions; the next start replays them"
            );
        }
        tracing::info!("stopped");
        served
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: draining in-flight requests");
}
