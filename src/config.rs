//! Configuration: command-line flags, `VERDICT_*` environment variables and an optional
//! `verdict.toml`, merged once at start-up into one [`Config`] (flags > environment > file >
//! defaults). Nothing below this module reads the environment.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::reward::{PolicyConfig, PolicyError, PolicySet};

/// The config file read when `--config` is not given and it exists in the working directory.
pub const DEFAULT_CONFIG_FILE: &str = "verdict.toml";

/// Server settings as flags and environment variables; unset values fall back to the file.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServerArgs {
    /// Config file (TOML); defaults to ./verdict.toml when present.
    #[arg(long, env = "VERDICT_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "VERDICT_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Where verdicts are stored: `sqlite://FILE` (default `sqlite://verdict.db`) or `postgres://…`.
    #[arg(long, env = "VERDICT_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Folder for sandbox images, compiled modules and the write spool.
    #[arg(long, env = "VERDICT_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Folder for the sandbox's language images and compiled modules (default: the data dir);
    /// replicas and test runs may share one.
    #[arg(long, env = "VERDICT_SANDBOX_DIR")]
    pub sandbox_dir: Option<PathBuf>,
    /// Largest accepted request body in bytes.
    #[arg(long, env = "VERDICT_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Largest accepted `/get_reward` body in bytes (a whole rollout may come in one request).
    #[arg(long, env = "VERDICT_MAX_ROLLOUT_BODY_BYTES")]
    pub max_rollout_body_bytes: Option<usize>,
    /// Most items in one `/v1/rewards` batch.
    #[arg(long, env = "VERDICT_MAX_BATCH_ITEMS")]
    pub max_batch_items: Option<usize>,
    /// Per-request deadline in milliseconds, queueing included.
    #[arg(long, env = "VERDICT_REQUEST_TIMEOUT_MS")]
    pub request_timeout_ms: Option<u64>,
    /// Requests processed at once; further requests wait in line.
    #[arg(long, env = "VERDICT_MAX_CONCURRENT_REQUESTS")]
    pub max_concurrent_requests: Option<usize>,
    /// Requests that may wait for a processing slot; beyond that a request gets 503 with
    /// `Retry-After` at once.
    #[arg(long, env = "VERDICT_MAX_QUEUED_REQUESTS")]
    pub max_queued_requests: Option<usize>,
    /// Longest wait in milliseconds for the database to commit a batch before it goes to the
    /// spool in the data directory instead.
    #[arg(long, env = "VERDICT_STORE_TIMEOUT_MS")]
    pub store_timeout_ms: Option<u64>,
    /// Reward the trainers' protocols (`/get_reward`, `/slime/reward`) give a sample verdict
    /// cannot judge, since their clients accept numbers only (default 0; the sample is
    /// reported as unjudged beside it).
    #[arg(long, env = "VERDICT_UNJUDGED_REWARD", allow_negative_numbers = true)]
    pub unjudged_reward: Option<f64>,
}

/// `verdict.toml`: the same keys as the flags, plus `[policies.NAME]` tables.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    database_url: Option<String>,
    data_dir: Option<PathBuf>,
    sandbox_dir: Option<PathBuf>,
    max_body_bytes: Option<usize>,
    max_rollout_body_bytes: Option<usize>,
    max_batch_items: Option<usize>,
    request_timeout_ms: Option<u64>,
    max_concurrent_requests: Option<usize>,
    max_queued_requests: Option<usize>,
    store_timeout_ms: Option<u64>,
    unjudged_reward: Option<f64>,
    policies: BTreeMap<String, PolicyConfig>,
    // Hardening: API keys (`[[api_keys]]`), see `crate::auth`.
    api_keys: Vec<crate::auth::ApiKeyConfig>,
    count_fuel: bool,
}

/// Limits the HTTP layer enforces on every request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpLimits {
    pub max_body_bytes: usize,
    /// The body limit of `/get_reward`, which may carry a whole rollout.
    pub max_rollout_body_bytes: usize,
    pub max_batch_items: usize,
    pub request_timeout: Duration,
    pub max_concurrent_requests: usize,
    /// Requests waiting for a slot before new ones are shed with 503.
    pub max_queued_requests: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 32 * 1024 * 1024,
            max_rollout_body_bytes: 256 * 1024 * 1024,
            max_batch_items: 4096,
            request_timeout: Duration::from_secs(120),
            max_concurrent_requests: 512,
            max_queued_requests: 1024,
        }
    }
}

/// The whole, validated configuration of a running server.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub database_url: String,
    pub data_dir: PathBuf,
    /// Sandbox images and compiled modules.
    pub sandbox_dir: PathBuf,
    pub limits: HttpLimits,
    pub policies: PolicySet,
    /// How long a write waits for the database before the batch is spooled.
    pub store_timeout: Duration,
    /// API keys with scopes; empty means every route is open.
    pub api_keys: Vec<crate::auth::ApiKey>,
    /// Pace of whole-run re-check jobs (`POST /v1/runs/{run_id}/reverify`).
    pub reverify: ReverifyPace,
    /// Count the wasm instructions of every code run (`count_fuel = true`), reported as
    /// `fuel`; on anyway when a policy has a `code_efficiency` term. Off by default: counting
    /// slows CPU-bound guests (BENCHMARKS.md).
    pub count_fuel: bool,
    /// The reward of a sample the trainers' protocols could not judge.
    pub unjudged_reward: f64,
}

/// The default of [`Config::store_timeout`]: short enough that a training job never stalls
/// on a database hiccup, long enough for a healthy commit under load.
pub const DEFAULT_STORE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error("{key}: {problem}")]
    Invalid { key: &'static str, problem: String },
}

impl Config {
    /// Merges flags/environment over the config file over the defaults and validates the result.
    pub fn load(args: &ServerArgs) -> Result<Self, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => read_file(Path::new(DEFAULT_CONFIG_FILE))?,
            None => FileConfig::default(),
        };
        let defaults = HttpLimits::default();
        let limits = HttpLimits {
            max_body_bytes: args
                .max_body_bytes
                .or(file.max_body_bytes)
                .unwrap_or(defaults.max_body_bytes),
            max_rollout_body_bytes: args
                .max_rollout_body_bytes
                .or(file.max_rollout_body_bytes)
                .unwrap_or(defaults.max_rollout_body_bytes),
            max_batch_items: args
                .max_batch_items
                .or(file.max_batch_items)
                .unwrap_or(defaults.max_batch_items),
            request_timeout: args
                .request_timeout_ms
                .or(file.request_timeout_ms)
                .map_or(defaults.request_timeout, Duration::from_millis),
            max_concurrent_requests: args
                .max_concurrent_requests
                .or(file.max_concurrent_requests)
                .unwrap_or(defaults.max_concurrent_requests),
            max_queued_requests: args
                .max_queued_requests
                .or(file.max_queued_requests)
                .unwrap_or(defaults.max_queued_requests),
        };
        for (key, value) in [
            ("max_body_bytes", limits.max_body_bytes),
            ("max_rollout_body_bytes", limits.max_rollout_body_bytes),
            ("max_batch_items", limits.max_batch_items),
            ("max_concurrent_requests", limits.max_concurrent_requests),
            ("request_timeout_ms", limits.request_timeout.as_millis() as usize),
        ] {
            if value == 0 {
                return Err(ConfigError::Invalid {
                    key,
                    problem: "must be greater than 0".into(),
                });
            }
        }
        let database_url = args
            .database_url
            .clone()
            .or(file.database_url)
            .unwrap_or_else(|| "sqlite://verdict.db".to_owned());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(ConfigError::Invalid {
                key: "database_url",
                problem: format!("expected sqlite://FILE or postgres://…, got `{database_url}`"),
            });
        }
        let data_dir = args
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(default_data_dir);
        Ok(Self {
            listen: args
                .listen
                .or(file.listen)
                .unwrap_or_else(|| ([127, 0, 0, 1], 8080).into()),
            database_url,
            sandbox_dir: args
                .sandbox_dir
                .clone()
                .or(file.sandbox_dir)
                .unwrap_or_else(|| data_dir.clone()),
            data_dir,
            limits,
            policies: PolicySet::new(&file.policies)?,
            store_timeout: match args.store_timeout_ms.or(file.store_timeout_ms) {
                Some(0) => {
                    return Err(ConfigError::Invalid {
                        key: "store_timeout_ms",
                        problem: "must be greater than 0".into(),
                    });
                }
                Some(ms) => Duration::from_millis(ms),
                None => DEFAULT_STORE_TIMEOUT,
            },
            api_keys: crate::auth::validate(&file.api_keys).map_err(|problem| ConfigError::Invalid {
                key: "api_keys",
                problem,
            })?,
            reverify: ReverifyPace::default(),
            count_fuel: file.count_fuel,
            unjudged_reward: match args.unjudged_reward.or(file.unjudged_reward) {
                Some(reward) if !reward.is_finite() => {
                    return Err(ConfigError::Invalid {
                        key: "unjudged_reward",
                        problem: "must be a finite number".into(),
                    });
                }
                Some(reward) => reward,
                None => 0.0,
            },
        })
    }

    /// A configuration for tests and embedding: listens on `127.0.0.1:0`, default limits, and
    /// a fresh SQLite database file inside `data_dir`. The sandbox images are shared by every
    /// test (`VERDICT_SANDBOX_DIR`, else the default data dir), so they are fetched once.
    pub fn for_tests(data_dir: PathBuf) -> Self {
        Self {
            listen: ([127, 0, 0, 1], 0).into(),
            database_url: format!("sqlite://{}", data_dir.join("verdict.db").display()),
            sandbox_dir: std::env::var_os("VERDICT_SANDBOX_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(default_data_dir),
            data_dir,
            limits: HttpLimits::default(),
            policies: PolicySet::new(&BTreeMap::new()).expect("the built-in policy is valid"),
            store_timeout: DEFAULT_STORE_TIMEOUT,
            api_keys: Vec::new(),
            reverify: ReverifyPace::default(),
            count_fuel: false,
            unjudged_reward: 0.0,
        }
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|error| ConfigError::Parse {
        path: path.to_owned(),
        message: error.message().to_owned(),
    })
}

/// `$XDG_CACHE_HOME/verdict`, else `~/.cache/verdict`, else `./.verdict`.
fn default_data_dir() -> PathBuf {
    if let Some(cache) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(cache).join("verdict");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(home).join(".cache").join("verdict");
    }
    PathBuf::from(".verdict")
}

/// How fast re-check jobs go: rows per committed batch, and an optional pause between
/// batches so that a re-check does not crowd out the training traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReverifyPace {
    pub batch: u32,
    pub pause: Duration,
}

impl Default for ReverifyPace {
    fn default() -> Self {
        Self {
            batch: 200,
            pause: Duration::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_config(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("verdict.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let (_dir, path) = write_config(
            "listen = \"127.0.0.1:9000\"\nmax_batch_items = 10\n[policies.lenient]\ntext_fallbacks = true\n",
        );
        let args = ServerArgs {
            config: Some(path),
            max_batch_items: Some(20),
            ..ServerArgs::default()
        };
        let config = Config::load(&args).unwrap();
        assert_eq!(config.listen, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(config.limits.max_batch_items, 20);
        assert_eq!(config.limits.max_body_bytes, HttpLimits::default().max_body_bytes);
        assert!(config.policies.get("lenient").unwrap().math.text_fallbacks);
        assert!(config.policies.get("r1").is_some());
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused_with_their_name() {
        let (_dir, path) = write_config("listn = \"x\"\n");
        let err = Config::load(&ServerArgs {
            config: Some(path),
            ..ServerArgs::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("listn"), "{err}");

        let (_dir, path) = write_config("[policies.bad]\nformat_weight = -2\n");
        let err = Config::load(&ServerArgs {
            config: Some(path),
            ..ServerArgs::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("format_weight"), "{err}");

        let (_dir, path) = write_config("");
        let err = Config::load(&ServerArgs {
            database_url: Some("mysql://x".into()),
            config: Some(path),
            ..ServerArgs::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("database_url"), "{err}");
    }
}
