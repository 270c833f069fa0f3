//! Logging: `RUST_LOG` picks the level (default `info`), `LOG_FORMAT` the
//! format. Lines are written by a background thread, so that a slow
//! terminal or pipe never holds a request up.

use std::io::IsTerminal;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// For people.
    Text,
    /// One JSON object a line, for log collectors.
    Json,
}

/// Installs the subscriber; keep the guard until exit, or the last lines
/// may be lost.
pub fn init(format: LogFormat) -> Option<WorkerGuard> {
    // The scheduler's own INFO lines ("Uninited", "Job creator created")
    // say nothing an operator needs.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tokio_cron_scheduler=warn"));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        // Under a flood, drop log lines rather than block or grow without bound.
        .lossy(true)
        .finish(std::io::stderr());
    let installed = match format {
        LogFormat::Text => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_target(false)
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(writer)
            .try_init(),
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(writer)
            .try_init(),
    };
    installed.is_ok().then_some(guard)
}

/// Formats an error with its whole `source()` chain, for the log.
pub struct DisplayChain<'a>(pub &'a dyn std::error::Error);

impl std::fmt::Display for DisplayChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}
