//! Typed settings, read once from the environment. Secrets are kept out of `Debug`.

use std::time::Duration;

use anyhow::{bail, Context};

use crate::db::DatabaseUrl;
use crate::domain::webhook::RetryPolicy;

const DEFAULT_SQLITE_PATH: &str = "./data/plan-tracker.db";

#[derive(Clone)]
pub struct Settings {
    pub bind: String,
    pub database_url: DatabaseUrl,
    pub db_pool_size: u32,
    pub db_checkout_timeout: Duration,
    /// HS256 key; `None` means a random key is generated at start (tokens die with the process).
    pub jwt_secret: Option<Vec<u8>>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub token_ttl: Duration,
    /// How long a token's account or API client, once read, is trusted without reading it
    /// again, and a verified own token without checking it again (`CALLER_CACHE_MS`; zero
    /// reads and checks on every request).
    pub caller_cache_ttl: Duration,
    pub max_body_bytes: usize,
    pub cors_origins: Vec<String>,
    pub login_max_failures: u32,
    pub login_lockout: Duration,
    pub shutdown_timeout: Duration,
    pub bootstrap_admin_password: Option<String>,
    pub log_format: LogFormat,
    pub workers: usize,
    /// External issuers whose tokens are accepted (`TRUSTED_ISSUERS`).
    pub trusted_issuers: Vec<crate::auth::issuers::IssuerConfig>,
    pub webhooks: WebhookSettings,
}

/// How webhooks are delivered and overdue events raised.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Accept `http://` targets (development and tests); otherwise only `https://`.
    pub allow_http: bool,
    /// How often the worker looks for due deliveries when idle.
    pub poll_interval: Duration,
    /// The longest one delivery attempt may take.
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// How often overdue tasks and missing reports are looked for.
    pub overdue_scan_interval: Duration,
    /// How far back a passed deadline still raises its overdue event.
    pub overdue_lookback_days: u32,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("bind", &self.bind)
            .field("backend", &self.database_url.backend_name())
            .field("db_pool_size", &self.db_pool_size)
            .field("jwt_secret_set", &self.jwt_secret.is_some())
            .field("jwt_issuer", &self.jwt_issuer)
            .field("jwt_audience", &self.jwt_audience)
            .field("token_ttl", &self.token_ttl)
            .field("caller_cache_ttl", &self.caller_cache_ttl)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("cors_origins", &self.cors_origins)
            .field("webhooks", &self.webhooks)
            .field(
                "trusted_issuers",
                &self
                    .trusted_issuers
                    .iter()
                    .map(|i| i.issuer.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`, so tests can supply their own environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let number = |name: &str, default: u64| -> anyhow::Result<u64> {
            match get(name) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse()
                    .with_context(|| format!("{name} must be a whole number, got {v:?}")),
            }
        };
        let jwt_secret = get("JWT_SECRET").map(String::into_bytes);
        if matches!(&jwt_secret, Some(s) if s.len() < 32) {
            bail!("JWT_SECRET must be at least 32 bytes long");
        }
        let log_format = match get("LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => bail!("LOG_FORMAT must be json or pretty, got {other:?}"),
        };
        let flag = |name: &str| -> anyhow::Result<bool> {
            match get(name).as_deref().map(str::trim) {
                None | Some("false" | "0") => Ok(false),
                Some("true" | "1") => Ok(true),
                Some(other) => bail!("{name} must be true or false, got {other:?}"),
            }
        };
        let millis = |name: &str, default: u64| -> anyhow::Result<Duration> {
            Ok(Duration::from_millis(number(name, default)?.max(1)))
        };
        let webhooks = WebhookSettings {
            allow_http: flag("WEBHOOK_ALLOW_HTTP")?,
            poll_interval: millis("WEBHOOK_POLL_MS", 1000)?,
            timeout: millis("WEBHOOK_TIMEOUT_MS", 10_000)?,
            retry: RetryPolicy {
                base: millis("WEBHOOK_BACKOFF_BASE_MS", 30_000)?,
                cap: millis("WEBHOOK_BACKOFF_MAX_MS", 3_600_000)?,
                window: Duration::from_secs(number("WEBHOOK_RETRY_WINDOW_SECS", 86_400)?),
            },
            overdue_scan_interval: millis("WEBHOOK_OVERDUE_SCAN_MS", 60_000)?,
            overdue_lookback_days: u32::try_from(number("WEBHOOK_OVERDUE_LOOKBACK_DAYS", 7)?)?,
        };
        let max_body_bytes = usize::try_from(number("MAX_BODY_BYTES", 1024 * 1024)?)?;
        if max_body_bytes < 1024 {
            bail!("MAX_BODY_BYTES must be at least 1024");
        }
        Ok(Settings {
            bind: get("BIND").unwrap_or_else(|| "127.0.0.1:8080".into()),
            database_url: DatabaseUrl::parse(
                &get("DATABASE_URL").unwrap_or_else(|| DEFAULT_SQLITE_PATH.into()),
            ),
            db_pool_size: u32::try_from(number("DB_POOL_SIZE", default_pool_size())?)?.max(1),
            db_checkout_timeout: Duration::from_secs(number("DB_TIMEOUT_SECS", 5)?.max(1)),
            jwt_secret,
            jwt_issuer: get("JWT_ISSUER").unwrap_or_else(|| "plan-tracker".into()),
            jwt_audience: get("JWT_AUDIENCE").unwrap_or_else(|| "plan-tracker".into()),
            token_ttl: Duration::from_secs(number("TOKEN_TTL_SECS", 3600)?.clamp(60, 86_400)),
            caller_cache_ttl: Duration::from_millis(number("CALLER_CACHE_MS", 1000)?.min(60_000)),
            max_body_bytes,
            cors_origins: get("CORS_ORIGINS")
                .map(|v| {
                    v.split(',')
                        .map(|o| o.trim().to_owned())
                        .filter(|o| !o.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            login_max_failures: u32::try_from(number("LOGIN_MAX_FAILURES", 5)?)?.max(1),
            login_lockout: Duration::from_secs(number("LOGIN_LOCKOUT_SECS", 300)?.max(1)),
            shutdown_timeout: Duration::from_secs(number("SHUTDOWN_TIMEOUT_SECS", 30)?),
            bootstrap_admin_password: get("BOOTSTRAP_ADMIN_PASSWORD"),
            log_format,
            workers: usize::try_from(number("WORKERS", 0)?)?,
            webhooks,
            trusted_issuers: match get("TRUSTED_ISSUERS") {
                Some(value) => crate::auth::issuers::parse_setting(&value)?,
                None => Vec::new(),
            },
        })
    }
}

/// Twice the CPU count: a database connection spends about half its time waiting on the
/// network, so two per core keep the cores busy (PostgreSQL's wiki: cores × 2 plus the disks).
/// More only queue inside the database: on 2 cores, 10 connections made the filtered list's
/// p99 under load 11–14 ms where 4 made it 7–8 ms at the same throughput (bench/RESULTS.md).
fn default_pool_size() -> u64 {
    2 * std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults_to_sqlite_file_and_loopback() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.bind, "127.0.0.1:8080");
        assert_eq!(
            s.database_url,
            DatabaseUrl::Sqlite {
                path: DEFAULT_SQLITE_PATH.into()
            }
        );
        assert_eq!(s.max_body_bytes, 1024 * 1024);
        assert!(s.jwt_secret.is_none());
        assert!(!s.webhooks.allow_http);
        assert_eq!(s.webhooks.retry.window, Duration::from_secs(86_400));
    }

    #[test]
    fn rejects_short_secret_and_bad_numbers() {
        assert!(settings(&[("JWT_SECRET", "short")]).is_err());
        assert!(settings(&[("MAX_BODY_BYTES", "lots")]).is_err());
        assert!(settings(&[("LOG_FORMAT", "xml")]).is_err());
        assert!(settings(&[("WEBHOOK_ALLOW_HTTP", "yes")]).is_err());
        assert!(settings(&[("WEBHOOK_POLL_MS", "soon")]).is_err());
        assert!(settings(&[("TRUSTED_ISSUERS", "[{\"issuer\": 1}]")]).is_err());
    }

    #[test]
    fn caller_cache_defaults_to_a_second_can_be_off_and_is_capped() {
        assert_eq!(
            settings(&[]).unwrap().caller_cache_ttl,
            Duration::from_secs(1)
        );
        let off = settings(&[("CALLER_CACHE_MS", "0")]).unwrap();
        assert_eq!(off.caller_cache_ttl, Duration::ZERO);
        let long = settings(&[("CALLER_CACHE_MS", "3600000")]).unwrap();
        assert_eq!(long.caller_cache_ttl, Duration::from_secs(60));
        assert!(settings(&[("CALLER_CACHE_MS", "-1")]).is_err());
    }

    #[test]
    fn debug_never_shows_secrets() {
        let s = settings(&[
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef-secret"),
            ("BOOTSTRAP_ADMIN_PASSWORD", "Sup3r-secret-pw"),
        ])
        .unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains("secret-pw") && !shown.contains("abcdef-secret"));
    }
}
