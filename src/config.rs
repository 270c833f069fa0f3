//! Configuration: one typed struct, every field a flag and an environment
//! variable; the defaults make `make run` work with nothing installed.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;

#[derive(Clone, Debug, Parser)]
#[command(
    name = "taskman",
    version,
    about = "A small self-hosted task service with expiry warnings"
)]
pub struct Config {
    /// Database: `sqlite://PATH` (created if missing) or `mysql://USER:PASS@HOST:PORT/DB`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/taskman.db?mode=rwc"
    )]
    pub database_url: String,

    /// Address and port to listen on. Loopback by default: there is no authentication.
    #[arg(long, env = "BIND_ADDR", default_value = "127.0.0.1:8080")]
    pub bind_addr: SocketAddr,

    /// Most database connections held open at once.
    #[arg(long, env = "DB_MAX_CONNECTIONS", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub db_max_connections: u32,

    /// How long a request waits for a database connection before answering 503.
    #[arg(long, env = "DB_ACQUIRE_TIMEOUT", default_value = "5s", value_parser = humantime::parse_duration)]
    pub db_acquire_timeout: Duration,

    /// How long shutdown waits for in-flight requests to finish.
    #[arg(long, env = "SHUTDOWN_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub shutdown_timeout: Duration,

    /// Require `Authorization: Bearer <token>` on every /v1 endpoint but /v1/health.
    #[arg(
        long,
        env = "API_TOKEN",
        hide_env_values = true,
        conflicts_with = "api_token_file"
    )]
    pub api_token: Option<String>,

    /// Read the API token from this file (its surrounding white space is ignored).
    #[arg(long, env = "API_TOKEN_FILE")]
    pub api_token_file: Option<std::path::PathBuf>,

    /// How long before a task's expiry it is warned about, e.g. `15m`, `90s`, `2h`.
    #[arg(long, env = "WARN_BEFORE", default_value = "15m", value_parser = humantime::parse_duration)]
    pub warn_before: Duration,

    /// How often the expiry cache is checked for due warnings, e.g. `1s`, `100ms`.
    #[arg(long, env = "TICK_INTERVAL", default_value = "1s", value_parser = positive_duration)]
    pub tick_interval: Duration,

    /// When to reconcile the expiry cache with the database (picks up tasks
    /// written through other replicas): cron with seconds, `sec min hour day month weekday`.
    #[arg(long, env = "RECONCILE_SCHEDULE", default_value = "*/30 * * * * *")]
    pub reconcile_schedule: String,

    /// POST every warning as JSON to this URL (optional).
    #[arg(long, env = "NOTIFY_WEBHOOK_URL")]
    pub notify_webhook_url: Option<reqwest::Url>,

    /// Sign webhook bodies with HMAC-SHA256 under this secret (header `X-Taskman-Signature`).
    #[arg(long, env = "NOTIFY_WEBHOOK_SECRET", hide_env_values = true)]
    pub notify_webhook_secret: Option<String>,

    /// How long one webhook attempt may take.
    #[arg(long, env = "WEBHOOK_TIMEOUT", default_value = "10s", value_parser = positive_duration)]
    pub webhook_timeout: Duration,

    /// The wait before the first webhook retry; it doubles with every retry, up to an hour.
    #[arg(long, env = "WEBHOOK_RETRY_BASE", default_value = "1s", value_parser = positive_duration)]
    pub webhook_retry_base: Duration,

    /// Attempts per webhook delivery before it is marked failed.
    #[arg(long, env = "WEBHOOK_MAX_ATTEMPTS", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub webhook_max_attempts: u32,
}

fn positive_duration(raw: &str) -> Result<Duration, String> {
    match humantime::parse_duration(raw) {
        Ok(duration) if duration.is_zero() => Err("must be more than zero".to_owned()),
        Ok(duration) => Ok(duration),
        Err(err) => Err(err.to_string()),
    }
}

impl Config {
    pub fn expiry_settings(&self) -> crate::expiry::ExpirySettings {
        crate::expiry::ExpirySettings {
            warn_before: self.warn_before,
            tick: self.tick_interval,
            reconcile_schedule: self.reconcile_schedule.clone(),
            webhook: self
                .notify_webhook_url
                .clone()
                .map(|url| crate::expiry::WebhookSettings {
                    url,
                    secret: self.notify_webhook_secret.clone(),
                    timeout: self.webhook_timeout,
                    retry_base: self.webhook_retry_base,
                    max_attempts: self.webhook_max_attempts,
                }),
        }
    }

    /// The API token from `API_TOKEN` or `API_TOKEN_FILE`, if either is set.
    pub fn api_token(&self) -> anyhow::Result<Option<String>> {
        let token = match (&self.api_token, &self.api_token_file) {
            (Some(token), _) => token.trim().to_owned(),
            (None, Some(path)) => std::fs::read_to_string(path)
                .map_err(|err| {
                    anyhow::anyhow!("cannot read API_TOKEN_FILE {}: {err}", path.display())
                })?
                .trim()
                .to_owned(),
            (None, None) => return Ok(None),
        };
        anyhow::ensure!(!token.is_empty(), "the API token is empty");
        Ok(Some(token))
    }

    /// Parses flags (and the environment), as `main` does; for tests.
    pub fn from_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Self::try_parse_from(args)
    }
}
