use clap::Parser;
use taskman::config::Command;
use taskman::{App, Config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    if let Some(Command::Openapi) = config.command {
        println!("{}", taskman::api::spec_pretty());
        return Ok(());
    }
    let _logs = taskman::telemetry::init(config.log_format);
    let app = App::build(config).await?;
    tracing::info!(
        "taskman listening on port {port}; Swagger UI at http://localhost:{port}/docs",
        port = app.port()
    );
    app.run_until_stopped().await
}
