//! Optional API keys with scopes and per-key rate limits.
//!
//! Keys are configured as `[[api_keys]]` tables in `verdict.toml` holding the SHA-256 of the
//! key, never the key itself, so a leaked config file or log line gives nothing away. With no
//! key configured the service stays open (a single-tenant deployment behind its own network
//! boundary). With keys configured every route except the operational and static ones needs
//! `Authorization: Bearer <key>` with the route's scope.
//!
//! The presented key is hashed and compared against every configured hash without stopping at
//! the first difference, so response timing does not reveal how much of a hash matched.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
pub enum Scope {
    /// Scoring: rewards, math verification, code runs, OpenRLHF's protocol.
    #[serde(rename = "reward")]
    Reward,
    /// Reading the audit trail: submissions, runs, export (and the audit UI).
    #[serde(rename = "audit:read")]
    AuditRead,
    /// Changing the audit trail: reverify, keep marks, and any route not classified otherwise.
    #[serde(rename = "admin")]
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reward => "reward",
            Self::AuditRead => "audit:read",
            Self::Admin => "admin",
        }
    }
}

/// The scope a route needs, by its route template (as the router matched it) and method;
/// `None` for routes that stay open. Anything not named here needs `admin`, so a route added
/// later is closed until someone decides otherwise.
pub fn required_scope(method: &str, route: &str) -> Option<Scope> {
    const OPEN: [&str; 6] = ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/"];
    const REWARD: [&str; 4] = ["/v1/rewards", "/v1/math/verify", "/v1/code/run", "/get_reward"];
    // GET only: uploading a dataset and starting a run re-check are `admin`, while reading a
    // re-check job's progress is `audit:read`.
    const AUDIT: [&str; 10] = [
        "/v1/submissions",
        "/v1/submissions/export",
        "/v1/submissions/{id}",
        "/v1/runs",
        "/v1/runs/{run_id}",
        "/v1/runs/{run_id}/timeline",
        "/v1/runs/{run_id}/metrics",
        "/v1/runs/{run_id}/reverify",
        "/v1/datasets",
        "/v1/datasets/{name}",
    ];
    // The static UI pages carry no data; the API calls they make carry the key.
    if OPEN.contains(&route) || route == "/ui" || route.starts_with("/ui/") {
        return None;
    }
    if REWARD.contains(&route) {
        return Some(Scope::Reward);
    }
    if AUDIT.contains(&route) && (method == "GET" || method == "HEAD") {
        return Some(Scope::AuditRead);
    }
    Some(Scope::Admin)
}

/// One `[[api_keys]]` table as written in the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConfig {
    /// Who holds the key; appears in logs and errors instead of the key.
    pub name: String,
    /// SHA-256 of the key, 64 hex digits (`verdict keys hash` prints it).
    pub sha256: String,
    pub scopes: Vec<Scope>,
    /// Sustained requests per second allowed to this key; unlimited when absent.
    #[serde(default)]
    pub rate_per_second: Option<f64>,
    /// Requests allowed at once above the sustained rate (default: one second's worth).
    #[serde(default)]
    pub burst: Option<u32>,
}

/// A validated key.
#[derive(Clone, PartialEq)]
pub struct ApiKey {
    pub name: String,
    hash: [u8; 32],
    pub scopes: Vec<Scope>,
    pub rate: Option<Rate>,
}

/// A token bucket's parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: u32,
}

// The hash is left out on purpose: configs are logged on start-up failures.
impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("name", &self.name)
            .field("scopes", &self.scopes)
            .field("rate", &self.rate)
            .finish_non_exhaustive()
    }
}

impl ApiKey {
    /// A key from its plain text, for tests and embedding.
    pub fn from_secret(name: &str, secret: &str, scopes: &[Scope], rate: Option<Rate>) -> Self {
        Self {
            name: name.to_owned(),
            hash: Sha256::digest(secret.as_bytes()).into(),
            scopes: scopes.to_vec(),
            rate,
        }
    }
}

/// The hex SHA-256 of a key, as `[[api_keys]] sha256` expects it.
pub fn hash_key(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Validates the configured keys; the error names the offending entry and field.
pub fn validate(configs: &[ApiKeyConfig]) -> Result<Vec<ApiKey>, String> {
    let mut keys: Vec<ApiKey> = Vec::with_capacity(configs.len());
    for (index, config) in configs.iter().enumerate() {
        let at = |field: &str| format!("api_keys[{index}].{field}");
        if config.name.trim().is_empty() {
            return Err(format!("{}: must not be empty", at("name")));
        }
        if keys.iter().any(|key| key.name == config.name) {
            return Err(format!("{}: `{}` is used twice", at("name"), config.name));
        }
        let hash = parse_hex_hash(&config.sha256).ok_or_else(|| {
            format!(
                "{}: expected 64 hex digits (see `verdict keys hash`)",
                at("sha256")
            )
        })?;
        if keys.iter().any(|key| key.hash == hash) {
            return Err(format!("{}: the same key is configured twice", at("sha256")));
        }
        if config.scopes.is_empty() {
            return Err(format!(
                "{}: name at least one of reward, audit:read, admin",
                at("scopes")
            ));
        }
        let rate = match (config.rate_per_second, config.burst) {
            (None, None) => None,
            (None, Some(_)) => return Err(format!("{}: needs rate_per_second", at("burst"))),
            (Some(per_second), burst) => {
                if !(per_second.is_finite() && per_second > 0.0) {
                    return Err(format!("{}: must be a positive number", at("rate_per_second")));
                }
                let burst = burst.unwrap_or_else(|| per_second.ceil().clamp(1.0, f64::from(u32::MAX)) as u32);
                if burst == 0 {
                    return Err(format!("{}: must be at least 1", at("burst")));
                }
                Some(Rate { per_second, burst })
            }
        };
        keys.push(ApiKey {
            name: config.name.clone(),
            hash,
            scopes: config.scopes.clone(),
            rate,
        });
    }
    Ok(keys)
}

fn parse_hex_hash(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut hash = [0u8; 32];
    for (byte, pair) in hash.iter_mut().zip(text.as_bytes().chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(hash)
}

/// Compares two hashes in time independent of where they differ.
fn same_hash(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(difference) == 0
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// No `Authorization: Bearer` header (401).
    Missing,
    /// A key that matches no configured hash (401).
    Unknown,
    /// A known key without the route's scope (403).
    Forbidden { key: String, scope: Scope },
    /// The key's bucket is empty (429); retry after this long.
    Limited { key: String, retry_after: Duration },
}

/// The keys of a running server with their rate-limit buckets.
pub struct Authenticator {
    keys: Vec<(ApiKey, Option<Mutex<Bucket>>)>,
}

impl Authenticator {
    pub fn new(keys: &[ApiKey]) -> Self {
        Self {
            keys: keys
                .iter()
                .map(|key| (key.clone(), key.rate.map(|rate| Mutex::new(Bucket::full(rate)))))
                .collect(),
        }
    }

    /// Whether any key is configured; without keys every route is open.
    pub fn enabled(&self) -> bool {
        !self.keys.is_empty()
    }

    /// Decides one request: `Ok(None)` for an open route, `Ok(Some(name))` for an allowed key.
    pub fn check(
        &self,
        method: &str,
        route: &str,
        authorization: Option<&[u8]>,
    ) -> Result<Option<&str>, Refusal> {
        if !self.enabled() {
            return Ok(None);
        }
        let Some(scope) = required_scope(method, route) else {
            return Ok(None);
        };
        let secret = authorization.and_then(bearer).ok_or(Refusal::Missing)?;
        let presented: [u8; 32] = Sha256::digest(secret).into();
        let mut found = None;
        for (index, (key, _)) in self.keys.iter().enumerate() {
            // Every hash is compared, match or not.
            if same_hash(&presented, &key.hash) && found.is_none() {
                found = Some(index);
            }
        }
        let (key, bucket) = &self.keys[found.ok_or(Refusal::Unknown)?];
        if !key.scopes.contains(&scope) {
            return Err(Refusal::Forbidden {
                key: key.name.clone(),
                scope,
            });
        }
        if let Some(bucket) = bucket {
            let mut bucket = bucket.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            bucket
                .take(Instant::now())
                .map_err(|retry_after| Refusal::Limited {
                    key: key.name.clone(),
                    retry_after,
                })?;
        }
        Ok(Some(&key.name))
    }
}

/// The key of an `Authorization: Bearer <key>` header (scheme case-insensitive).
fn bearer(header: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = header.split_at_checked(7)?;
    let secret = rest.trim_ascii();
    (scheme.eq_ignore_ascii_case(b"bearer ") && !secret.is_empty()).then_some(secret)
}

/// A token bucket: `burst` tokens, refilled at `per_second`; a request takes one.
struct Bucket {
    rate: Rate,
    tokens: f64,
    refilled: Instant,
}

impl Bucket {
    fn full(rate: Rate) -> Self {
        Self {
            rate,
            tokens: f64::from(rate.burst),
            refilled: Instant::now(),
        }
    }

    /// Takes a token, or says how long until one is there.
    fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate.per_second).min(f64::from(self.rate.burst));
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - self.tokens) / self.rate.per_second,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Result<Vec<ApiKey>, String> {
        #[derive(Deserialize)]
        struct File {
            api_keys: Vec<ApiKeyConfig>,
        }
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        validate(&file.api_keys)
    }

    #[test]
    fn a_hash_from_the_cli_format_round_trips_and_matches_its_key() {
        let hash = hash_key("s3cret");
        assert_eq!(hash.len(), 64);
        let keys = config(&format!(
            "[[api_keys]]\nname = \"trainer\"\nsha256 = \"{hash}\"\nscopes = [\"reward\"]\n"
        ))
        .unwrap();
        let auth = Authenticator::new(&keys);
        assert_eq!(
            auth.check("POST", "/v1/rewards", Some(b"Bearer s3cret")),
            Ok(Some("trainer"))
        );
        assert_eq!(
            auth.check("POST", "/v1/rewards", Some(b"bearer   s3cret ")),
            Ok(Some("trainer"))
        );
        assert_eq!(
            auth.check("POST", "/v1/rewards", Some(b"Bearer s3cre")),
            Err(Refusal::Unknown)
        );
        assert_eq!(
            auth.check("POST", "/v1/rewards", Some(b"Basic s3cret")),
            Err(Refusal::Missing)
        );
        assert_eq!(auth.check("POST", "/v1/rewards", None), Err(Refusal::Missing));
        assert_eq!(auth.check("GET", "/healthz", None), Ok(None));
        assert_eq!(
            auth.check("GET", "/v1/runs", Some(b"Bearer s3cret")),
            Err(Refusal::Forbidden {
                key: "trainer".into(),
                scope: Scope::AuditRead
            })
        );
    }

    #[test]
    fn bad_entries_are_refused_naming_the_field() {
        let hash = hash_key("k");
        for (text, field) in [
            (
                "[[api_keys]]\nname = \"a\"\nsha256 = \"abc\"\nscopes = [\"reward\"]\n".to_owned(),
                "api_keys[0].sha256",
            ),
            (
                format!("[[api_keys]]\nname = \"a\"\nsha256 = \"{hash}\"\nscopes = []\n"),
                "api_keys[0].scopes",
            ),
            (
                format!(
                    "[[api_keys]]\nname = \"a\"\nsha256 = \"{hash}\"\nscopes = [\"reward\"]\nrate_per_second = 0\n"
                ),
                "api_keys[0].rate_per_second",
            ),
            (
                format!(
                    "[[api_keys]]\nname = \"a\"\nsha256 = \"{hash}\"\nscopes = [\"reward\"]\n[[api_keys]]\nname = \"a\"\nsha256 = \"{}\"\nscopes = [\"admin\"]\n",
                    hash_key("other")
                ),
                "api_keys[1].name",
            ),
            (
                format!("[[api_keys]]\nname = \"a\"\nsha256 = \"{hash}\"\nscopes = [\"root\"]\n"),
                "root",
            ),
        ] {
            let error = config(&text).unwrap_err();
            assert!(error.contains(field), "{error} should name {field}");
        }
    }

    #[test]
    fn routes_not_named_need_admin_and_audit_writes_need_admin() {
        assert_eq!(
            required_scope("GET", "/v1/submissions/{id}"),
            Some(Scope::AuditRead)
        );
        assert_eq!(
            required_scope("POST", "/v1/submissions/{id}/reverify"),
            Some(Scope::Admin)
        );
        assert_eq!(
            required_scope("PUT", "/v1/runs/{run_id}/keep"),
            Some(Scope::Admin)
        );
        assert_eq!(required_scope("POST", "/v1/runs"), Some(Scope::Admin));
        assert_eq!(required_scope("POST", "/v1/some/new/route"), Some(Scope::Admin));
        assert_eq!(required_scope("GET", "/ui/app.js"), None);
    }

    #[test]
    fn the_bucket_allows_its_burst_then_says_when_to_retry() {
        let rate = Rate {
            per_second: 2.0,
            burst: 3,
        };
        let mut bucket = Bucket::full(rate);
        let now = bucket.refilled;
        for _ in 0..3 {
            assert!(bucket.take(now).is_ok());
        }
        let wait = bucket.take(now).unwrap_err();
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-6, "{wait:?}");
        assert!(bucket.take(now + Duration::from_millis(500)).is_ok());
        assert!(bucket.take(now + Duration::from_millis(500)).is_err());
    }
}
