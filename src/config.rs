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
}

impl Config {
    /// The defaults, as if started with no flags and no environment.
    pub fn from_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Self::try_parse_from(args)
    }
}
