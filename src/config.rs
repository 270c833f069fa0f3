//! Configuration: one typed struct, every field a flag and an environment
//! variable; the defaults make `make run` work with nothing installed.
//! Values that are secrets never show in `Debug` output or `--help`.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use clap::{Parser, Subcommand};
use secrecy::{ExposeSecret, SecretString};

use crate::expiry::WebhookUrl;
use crate::telemetry::LogFormat;

#[derive(Clone, Debug, Parser)]
#[command(
    name = "taskman",
    version,
    about = "A small self-hosted task service with expiry warnings"
)]
pub struct Config {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Database: `sqlite://PATH` (created if missing) or `mysql://USER:PASS@HOST:PORT/DB`
    /// (`?socket=/path/mysqld.sock` for a local server's Unix socket).
    #[arg(
        global = true,
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/taskman.db?mode=rwc",
        hide_env_values = true
    )]
    pub database_url: DatabaseUrl,

    /// Address and port to listen on. Loopback by default; set API_TOKEN before listening elsewhere.
    #[arg(
        global = true,
        long,
        env = "BIND_ADDR",
        default_value = "127.0.0.1:8080"
    )]
    pub bind_addr: SocketAddr,

    /// Most database connections held open at once.
    #[arg(global = true, long, env = "DB_MAX_CONNECTIONS", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub db_max_connections: u32,

    /// Every database call, from asking for a connection to the last row, takes at most this long; then 503.
    #[arg(global = true, long, env = "DB_TIMEOUT", default_value = "5s", value_parser = positive_duration)]
    pub db_timeout: Duration,

    /// How long shutdown waits for in-flight requests to finish.
    #[arg(global = true, long, env = "SHUTDOWN_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub shutdown_timeout: Duration,

    /// Require `Authorization: Bearer <token>` on every /v1 endpoint but /v1/health, and on /metrics.
    #[arg(
        global = true,
        long,
        env = "API_TOKEN",
        hide_env_values = true,
        conflicts_with = "api_token_file"
    )]
    pub api_token: Option<SecretString>,

    /// Read the API token from this file (its surrounding white space is ignored).
    #[arg(global = true, long, env = "API_TOKEN_FILE")]
    pub api_token_file: Option<std::path::PathBuf>,

    /// Named tokens with scopes, one per line: `NAME SCOPES TOKEN` (scopes: read, write,
    /// metrics, all). Read again when the file changes and on SIGHUP; with API_TOKEN, both are accepted.
    #[arg(global = true, long, env = "API_TOKENS_FILE")]
    pub api_tokens_file: Option<std::path::PathBuf>,

    /// How long before a task's expiry it is warned about, e.g. `15m`, `90s`, `2h`.
    #[arg(global = true, long, env = "WARN_BEFORE", default_value = "15m", value_parser = humantime::parse_duration)]
    pub warn_before: Duration,

    /// How often the expiry cache is checked for due warnings, e.g. `1s`, `100ms`.
    #[arg(global = true, long, env = "TICK_INTERVAL", default_value = "1s", value_parser = positive_duration)]
    pub tick_interval: Duration,

    /// When to reconcile the expiry cache with the database (picks up tasks
    /// written through other replicas or by other tools): cron with seconds, `sec min hour day month weekday`.
    #[arg(
        global = true,
        long,
        env = "RECONCILE_SCHEDULE",
        default_value = "*/30 * * * * *"
    )]
    pub reconcile_schedule: String,

    /// POST every warning as JSON to this URL (optional).
    #[arg(global = true, long, env = "NOTIFY_WEBHOOK_URL", hide_env_values = true, value_parser = webhook_url)]
    pub notify_webhook_url: Option<WebhookUrl>,

    /// Sign webhook bodies with HMAC-SHA256 under this secret (header `X-Taskman-Signature`).
    #[arg(
        global = true,
        long,
        env = "NOTIFY_WEBHOOK_SECRET",
        hide_env_values = true
    )]
    pub notify_webhook_secret: Option<SecretString>,

    /// How long one webhook attempt may take.
    #[arg(global = true, long, env = "WEBHOOK_TIMEOUT", default_value = "10s", value_parser = positive_duration)]
    pub webhook_timeout: Duration,

    /// The wait before the first webhook retry; it doubles with every retry, up to an hour.
    #[arg(global = true, long, env = "WEBHOOK_RETRY_BASE", default_value = "1s", value_parser = positive_duration)]
    pub webhook_retry_base: Duration,

    /// Attempts per webhook delivery before it is marked failed.
    #[arg(global = true, long, env = "WEBHOOK_MAX_ATTEMPTS", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub webhook_max_attempts: u32,

    /// How long a retry of a create with the same `Idempotency-Key` gets the first answer back.
    #[arg(global = true, long, env = "IDEMPOTENCY_TTL", default_value = "24h", value_parser = positive_duration)]
    pub idempotency_ttl: Duration,

    /// Event streams open at once; beyond it, a new stream gets 503.
    #[arg(global = true, long, env = "MAX_STREAMS", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_streams: u32,

    /// How often an idle event stream gets a keep-alive comment; a client that has gone is noticed within about two.
    #[arg(global = true, long, env = "STREAM_KEEP_ALIVE", default_value = "1s", value_parser = positive_duration)]
    pub stream_keep_alive: Duration,

    /// Client connections open at once; beyond it, a new connection gets 503 and is closed.
    #[arg(global = true, long, env = "MAX_CONNECTIONS", default_value_t = 2048, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// Requests handled at once (the event streams' and the health check's aside; a request counts once its body has arrived); beyond it, 503.
    #[arg(global = true, long, env = "MAX_IN_FLIGHT", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_in_flight: u32,

    /// How long one request may take, from its received body to its response head; then 503.
    #[arg(global = true, long, env = "REQUEST_TIMEOUT", default_value = "30s", value_parser = positive_duration)]
    pub request_timeout: Duration,

    /// How long a client may take to send a request's body, once its head is in; then 408.
    #[arg(global = true, long, env = "BODY_READ_TIMEOUT", default_value = "10s", value_parser = positive_duration)]
    pub body_read_timeout: Duration,

    /// How long a client may take to send a request's head, and may leave a keep-alive connection idle.
    #[arg(global = true, long, env = "HEADER_READ_TIMEOUT", default_value = "10s", value_parser = positive_duration)]
    pub header_read_timeout: Duration,

    /// Browser origins (`https://app.example.com`, comma-separated) whose pages may call the API
    /// from another origin: preflights are answered, credentials are never allowed.
    #[arg(global = true, long, env = "CORS_ORIGINS", value_delimiter = ',', value_parser = cors_origin)]
    pub cors_origins: Vec<String>,

    /// The path prefix the service is reached under through a reverse proxy, e.g. `/tasks`:
    /// every link it writes, and the spec's server, carry it.
    #[arg(global = true, long, env = "BASE_PATH", default_value = "", value_parser = crate::api::support_base_path)]
    pub base_path: String,

    /// Reverse proxies (addresses or CIDRs, comma-separated) whose `Forwarded` or `X-Forwarded-For`
    /// names the client in the access log; anyone else's is ignored.
    #[arg(global = true, long, env = "TRUSTED_PROXIES", value_delimiter = ',', value_parser = proxy_net)]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// Log a line per request (written off the request path).
    #[arg(global = true, long, env = "ACCESS_LOG", default_value_t = true, action = clap::ArgAction::Set)]
    pub access_log: bool,

    /// Log format: `text` for people, `json` for machines.
    #[arg(global = true, long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Let a bare `DELETE /v1/tasks` (no parameter) delete every task, as the original
    /// service did. Off by default: generated clients send exactly that for an empty id list.
    #[arg(global = true, long, env = "ALLOW_BARE_DELETE_ALL", default_value_t = false, action = clap::ArgAction::Set)]
    pub allow_bare_delete_all: bool,
}

#[derive(Clone, Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Print the OpenAPI spec as served, and exit; needs no database.
    Openapi,
    /// Print the effective configuration (secrets hidden), and exit.
    Config,
    /// Copy the SQLite database to PATH while the server runs: one
    /// consistent, checked file (MySQL/MariaDB: use `mariadb-dump
    /// --single-transaction`).
    Backup {
        /// Where the copy goes; must not exist yet.
        path: std::path::PathBuf,
    },
    /// Write every task and warning (ids, times, versions) to stdout as
    /// JSON Lines: one consistent snapshot, taken while the server serves.
    Export,
    /// Read an export from stdin into an empty database of either backend,
    /// all or nothing.
    Import {
        /// Delete every task and warning already in the database first (in
        /// the same transaction).
        #[arg(long)]
        replace: bool,
    },
}

/// The database URL; its password never shows in `Debug` output.
#[derive(Clone)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for DatabaseUrl {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        Ok(Self(raw.to_owned()))
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match reqwest::Url::parse(&self.0) {
            Ok(mut url) if url.password().is_some() => {
                let _ = url.set_password(Some("***"));
                write!(f, "DatabaseUrl({url})")
            }
            _ => write!(f, "DatabaseUrl({})", self.0),
        }
    }
}

fn positive_duration(raw: &str) -> Result<Duration, String> {
    match humantime::parse_duration(raw) {
        Ok(duration) if duration.is_zero() => Err("must be more than zero".to_owned()),
        Ok(duration) => Ok(duration),
        Err(err) => Err(err.to_string()),
    }
}

/// `scheme://host[:port]`, exactly: an origin, never `*` or a path.
fn cors_origin(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    if raw == "*" {
        return Err("`*` is not allowed: list each origin".to_owned());
    }
    let url = reqwest::Url::parse(raw).map_err(|err| err.to_string())?;
    let origin = url.origin().ascii_serialization();
    if !matches!(url.scheme(), "http" | "https") || raw.trim_end_matches('/') != origin {
        return Err(format!(
            "{raw:?} is not an origin: write scheme://host[:port], e.g. https://app.example.com"
        ));
    }
    Ok(origin)
}

/// An address (`10.0.0.5`) or a network (`10.0.0.0/8`, `fd00::/8`).
fn proxy_net(raw: &str) -> Result<ipnet::IpNet, String> {
    let raw = raw.trim();
    raw.parse::<ipnet::IpNet>()
        .or_else(|_| raw.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{raw:?} is neither an address nor a CIDR network"))
}

fn webhook_url(raw: &str) -> Result<WebhookUrl, String> {
    let url = reqwest::Url::parse(raw).map_err(|err| err.to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http:// or https:// URL".to_owned());
    }
    Ok(WebhookUrl::new(url))
}

impl Config {
    /// The API token from `API_TOKEN` or `API_TOKEN_FILE`, if either is set.
    pub fn api_token(&self) -> anyhow::Result<Option<SecretString>> {
        let token = match (&self.api_token, &self.api_token_file) {
            (Some(token), _) => token.expose_secret().trim().to_owned(),
            (None, Some(path)) => std::fs::read_to_string(path)
                .map_err(|err| {
                    anyhow::anyhow!("cannot read API_TOKEN_FILE {}: {err}", path.display())
                })?
                .trim()
                .to_owned(),
            (None, None) => return Ok(None),
        };
        anyhow::ensure!(!token.is_empty(), "the API token is empty");
        Ok(Some(SecretString::from(token)))
    }

    /// The tokens the server accepts: `API_TOKEN`'s and `API_TOKENS_FILE`'s,
    /// or none (the API is open); and the file's content they were read
    /// from, which a watcher compares later versions with.
    pub fn tokens(&self) -> anyhow::Result<(crate::api::auth::Tokens, Option<String>)> {
        use crate::api::auth::{Tokens, token_set};
        let api_token = self.api_token()?;
        Ok(match (&self.api_tokens_file, api_token) {
            (None, None) => (Tokens::open(), None),
            // As a file with no lines: one token, `API_TOKEN`'s.
            (None, Some(token)) => (Tokens::required(token_set("", Some(&token))?), None),
            (Some(path), token) => {
                let text = std::fs::read_to_string(path).map_err(|err| {
                    anyhow::anyhow!("cannot read API_TOKENS_FILE {}: {err}", path.display())
                })?;
                let set = token_set(&text, token.as_ref()).map_err(|err| {
                    anyhow::anyhow!("API_TOKENS_FILE {} is not valid: {err}", path.display())
                })?;
                (Tokens::required(set), Some(text))
            }
        })
    }

    /// What `taskman config` prints: one `NAME=value` line per option, with
    /// where the value came from (flag, environment or default). Secrets
    /// show only that they are set; a database URL's password is masked.
    pub fn effective<I, T>(args: I) -> Result<String, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::CommandFactory;
        use clap::parser::ValueSource;

        let matches = Self::command().try_get_matches_from(args)?;
        let mut lines = Vec::new();
        for arg in Self::command().get_arguments() {
            let id = arg.get_id().as_str();
            let Some(env) = arg.get_env().and_then(|env| env.to_str()) else {
                continue;
            };
            let raw: Vec<String> = matches
                .get_raw(id)
                .into_iter()
                .flatten()
                .map(|value| value.to_string_lossy().into_owned())
                .collect();
            let value = match (raw.is_empty(), arg.is_hide_env_values_set(), id) {
                (true, _, _) => "(unset)".to_owned(),
                (false, true, "database_url") => format!("{:?}", DatabaseUrl(raw.join(",")))
                    .trim_start_matches("DatabaseUrl(")
                    .trim_end_matches(')')
                    .to_owned(),
                (false, true, _) => "(set, hidden)".to_owned(),
                (false, false, _) => raw.join(","),
            };
            let source = match matches.value_source(id) {
                Some(ValueSource::CommandLine) => "flag",
                Some(ValueSource::EnvVariable) => "environment",
                Some(ValueSource::DefaultValue) => "default",
                _ => "unset",
            };
            lines.push(format!("{env}={value}  # {source}"));
        }
        Ok(lines.join("\n"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_may_come_after_serve() {
        let config =
            Config::from_args(["taskman", "serve", "--bind-addr", "127.0.0.1:9999"]).unwrap();
        assert_eq!(config.bind_addr.port(), 9999);
        assert!(matches!(config.command, Some(Command::Serve)));
    }

    #[test]
    fn the_effective_configuration_hides_secrets_and_says_where_each_value_came_from() {
        let shown = Config::effective([
            "taskman",
            "config",
            "--database-url",
            "mysql://taskman:hunter2@db:3306/taskman",
            "--api-token",
            "tok3n-secret",
            "--notify-webhook-url",
            "http://u:p@hooks.example/hook?token=t0ken-in-url",
        ])
        .unwrap();
        for secret in ["hunter2", "tok3n-secret", "t0ken-in-url", "u:p"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(
            shown.contains("DATABASE_URL=mysql://taskman:***@db:3306/taskman  # flag"),
            "{shown}"
        );
        assert!(shown.contains("API_TOKEN=(set, hidden)  # flag"), "{shown}");
        assert!(shown.contains("WARN_BEFORE=15m  # default"), "{shown}");
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let config = Config::from_args([
            "taskman",
            "--database-url",
            "mysql://taskman:hunter2@db:3306/taskman",
            "--api-token",
            "tok3n-secret",
            "--notify-webhook-url",
            "http://u:p@hooks.example/hook?token=SECRET",
            "--notify-webhook-secret",
            "hmac-secret",
        ])
        .unwrap();
        let shown = format!("{config:?}");
        for secret in ["hunter2", "tok3n-secret", "SECRET", "u:p", "hmac-secret"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("db:3306"), "{shown}");
    }
}
