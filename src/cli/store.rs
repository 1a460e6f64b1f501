//! What the store commands share: the configured store, migrated, on a small runtime; and
//! the ages `prune` reads.

use std::time::Duration;

use anyhow::Context;

use crate::config::{Config, ServerArgs};
use crate::store::Store;

/// Runs `work` with the configured store, migrated, on a small runtime.
pub(super) fn with_store<F, Fut, T>(args: &ServerArgs, work: F) -> anyhow::Result<T>
where
    F: FnOnce(Store, Config) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let config = Config::load(args).context("invalid configuration")?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let store = Store::connect(&config.database_url, config.store_timeout)
            .await
            .with_context(|| format!("cannot open the database at {}", config.database_url))?;
        store.migrate().await?;
        work(store, config).await
    })
}

/// `30d`, `12h`, `90m`, `3600s` into a duration.
pub(super) fn parse_age(text: &str) -> Result<Duration, String> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("expected a number and a unit such as 30d, got `{text}`"))?;
    let seconds = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        "s" => 1,
        _ => return Err(format!("unknown unit `{unit}`; use d, h, m or s")),
    };
    number
        .checked_mul(seconds)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("`{text}` is too long"))
}
