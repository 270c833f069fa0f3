use clap::Parser;
use taskman::{App, Config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    taskman::telemetry::init();
    let app = App::build(config).await?;
    tracing::info!(
        "taskman listening on port {port}; Swagger UI at http://localhost:{port}/docs",
        port = app.port()
    );
    app.run_until_stopped().await
}
