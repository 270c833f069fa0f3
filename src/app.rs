//! [`App`]: the server and its background work, built from a [`Config`].

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use poem::Server;
use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};
use tokio::sync::watch;

use crate::api::{self, ApiState};
use crate::config::Config;
use crate::domain::{Clock, SystemClock};
use crate::expiry::{ExpiryService, RunningExpiry};
use crate::service::TaskService;
use crate::store::{self, PoolOptions};

pub struct App {
    acceptor: TcpAcceptor,
    port: u16,
    state: ApiState,
    shutdown: watch::Sender<bool>,
    expiry: RunningExpiry,
    config: Config,
}

impl App {
    /// Opens the database (applying migrations), starts the expiry service
    /// and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let pool = PoolOptions {
            max_connections: config.db_max_connections,
            acquire_timeout: config.db_acquire_timeout,
        };
        let api_token = config.api_token()?;
        let stores = store::connect(&config.database_url, &pool).await?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let expiry = ExpiryService::new(
            stores.notifications.clone(),
            clock.clone(),
            config.expiry_settings(),
            Arc::new(api::render_notification),
        );
        let tasks = Arc::new(TaskService::new(stores.tasks, expiry.handle(), clock));
        let acceptor = TcpListener::bind(config.bind_addr)
            .into_acceptor()
            .await
            .with_context(|| format!("cannot listen on {}", config.bind_addr))?;
        let port = acceptor
            .local_addr()
            .first()
            .and_then(|addr| addr.as_socket_addr().map(|a| a.port()))
            .context("listener has no TCP address")?;
        let running = expiry.start().await?;
        let (shutdown, stopping) = watch::channel(false);
        Ok(Self {
            acceptor,
            port,
            state: ApiState {
                tasks,
                notifications: stores.notifications,
                feed: expiry.feed(),
                shutdown: stopping,
                api_token,
            },
            shutdown,
            expiry: running,
            config,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGINT or SIGTERM.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes; then stops accepting, ends open event
    /// streams, finishes in-flight requests, and stops the expiry service.
    pub async fn run_until(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let routes = api::routes(self.state);
        let shutdown = self.shutdown;
        let served = Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(
                routes,
                async move {
                    stop.await;
                    let _ = shutdown.send(true);
                },
                Some(self.config.shutdown_timeout),
            )
            .await;
        self.expiry.stop().await;
        served.context("server failed")
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
