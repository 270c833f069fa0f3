//! [`App`]: the server and its background work, built from a [`Config`].

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::{self, ApiState, HttpSettings, StreamLimits};
use crate::config::Config;
use crate::domain::{Clock, SystemClock};
use crate::expiry::{ExpiryService, ExpirySettings, RunningExpiry, WebhookSettings};
use crate::metrics::Metrics;
use crate::server::{self, ServerSettings};
use crate::service::{NotificationService, TaskService};
use crate::store::{self, StoreOptions};

pub struct App {
    listener: TcpListener,
    port: u16,
    state: ApiState,
    http: HttpSettings,
    server: ServerSettings,
    shutdown: watch::Sender<bool>,
    expiry: RunningExpiry,
}

impl App {
    /// Opens the database (applying migrations), starts the expiry service
    /// and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let (tokens, tokens_read) = config.tokens()?;
        let tokens = Arc::new(tokens);
        if !tokens.are_required() && !config.bind_addr.ip().is_loopback() {
            tracing::warn!(
                bind_addr = %config.bind_addr,
                "LISTENING BEYOND LOOPBACK WITHOUT API_TOKEN: anyone who can reach this \
                 address can read, change and delete every task; set API_TOKEN (or \
                 API_TOKEN_FILE)"
            );
        }
        let options = StoreOptions {
            max_connections: config.db_max_connections,
            timeout: config.db_timeout,
        };
        let stores = store::connect(config.database_url.as_str(), &options).await?;
        let metrics = Arc::new(Metrics::new());
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let expiry = ExpiryService::new(
            stores.expiries.clone(),
            stores.notifications.clone(),
            clock.clone(),
            expiry_settings(&config),
            Arc::new(api::render_notification),
            metrics.expiry.clone(),
        );
        let tasks = Arc::new(TaskService::new(
            stores.tasks.clone(),
            stores.health,
            expiry.handle(),
            clock,
            config.idempotency_ttl,
        ));
        let notifications = Arc::new(NotificationService::new(
            stores.notifications,
            stores.tasks,
            expiry.feed(),
        ));
        let listener = TcpListener::bind(config.bind_addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.bind_addr))?;
        let port = listener
            .local_addr()
            .context("listener has no address")?
            .port();
        let running = expiry.start().await?;
        let (shutdown, stopping) = watch::channel(false);
        if let Some(file) = &config.api_tokens_file {
            tokio::spawn(api::auth::watch_token_file(
                tokens.clone(),
                file.clone(),
                tokens_read.map(String::into_bytes),
                config.api_token()?,
                stopping.clone(),
            ));
        }
        Ok(Self {
            listener,
            port,
            state: ApiState {
                tasks,
                notifications,
                streams: StreamLimits::new(config.max_streams as usize, config.stream_keep_alive),
                metrics,
                shutdown: stopping,
                allow_bare_delete_all: config.allow_bare_delete_all,
            },
            http: HttpSettings {
                tokens,
                access_log: config.access_log,
                trusted_proxies: api::forwarded::TrustedProxies::new(
                    config.trusted_proxies.clone(),
                ),
                cors_origins: config.cors_origins.clone(),
                base_path: config.base_path.clone(),
                max_in_flight: config.max_in_flight as usize,
                request_timeout: config.request_timeout,
                body_read_timeout: config.body_read_timeout,
            },
            server: ServerSettings {
                max_connections: config.max_connections as usize,
                header_read_timeout: config.header_read_timeout,
                shutdown_timeout: config.shutdown_timeout,
            },
            shutdown,
            expiry: running,
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
        let metrics = self.state.metrics.http.clone();
        let routes = api::routes(self.state, self.http);
        let shutdown = self.shutdown;
        let served = server::serve(self.listener, routes, self.server, metrics, async move {
            stop.await;
            let _ = shutdown.send(true);
        })
        .await;
        self.expiry.stop().await;
        served.context("server failed")
    }
}

/// The expiry service's settings, from the configuration.
fn expiry_settings(config: &Config) -> ExpirySettings {
    ExpirySettings {
        warn_before: config.warn_before,
        tick: config.tick_interval,
        reconcile_schedule: config.reconcile_schedule.clone(),
        webhook: config
            .notify_webhook_url
            .clone()
            .map(|url| WebhookSettings {
                url,
                secret: config.notify_webhook_secret.clone(),
                timeout: config.webhook_timeout,
                retry_base: config.webhook_retry_base,
                max_attempts: config.webhook_max_attempts,
            }),
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
