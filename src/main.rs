use clap::Parser;
use taskman::config::Command;
use taskman::{App, Config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    match config.command {
        Some(Command::Openapi) => {
            println!("{}", taskman::api::spec_pretty());
            return Ok(());
        }
        Some(Command::Config) => {
            println!("{}", Config::effective(std::env::args_os())?);
            return Ok(());
        }
        Some(Command::Backup { path }) => {
            return taskman::commands::backup(config.database_url.as_str(), &path).await;
        }
        Some(Command::Export) => {
            return taskman::commands::export(config.database_url.as_str()).await;
        }
        Some(Command::Import { replace }) => {
            return taskman::commands::import(config.database_url.as_str(), replace).await;
        }
        Some(Command::Serve) | None => {}
    }
    let _logs = taskman::telemetry::init(config.log_format);
    tracing::info!(
        version = %env!("CARGO_PKG_VERSION"),
        database = ?config.database_url,
        bind_addr = %config.bind_addr,
        max_connections = config.max_connections,
        max_in_flight = config.max_in_flight,
        max_streams = config.max_streams,
        db_timeout = ?config.db_timeout,
        warn_before = ?config.warn_before,
        tick_interval = ?config.tick_interval,
        "taskman starting"
    );
    let app = App::build(config).await?;
    tracing::info!(
        "taskman listening on port {port}; Swagger UI at http://localhost:{port}/docs",
        port = app.port()
    );
    app.run_until_stopped().await
}
