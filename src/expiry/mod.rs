//! Expiry warnings: an in-memory cache of upcoming expiries, a tick loop that
//! claims due warnings in the database, and their delivery (log, live
//! stream, webhook). The rest of the service talks to it only through
//! [`ExpiryHandle`].

mod cache;
mod classify;
mod delivery;
mod follower;
mod handle;
mod reconcile;
mod settings;
mod ticker;
mod webhook;

use std::sync::Arc;

use anyhow::Context;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_cron_scheduler::{Job, JobScheduler};

pub use cache::ExpiryCache;
pub use delivery::Delivery;
pub use handle::ExpiryHandle;
use reconcile::Reconciler;
pub use settings::{ExpirySettings, WebhookSettings, WebhookUrl};
pub use webhook::{RenderNotification, signature};

use crate::domain::Clock;
use crate::metrics::ExpiryMetrics;
use crate::store::{ExpiryStore, NotificationStore};
use crate::telemetry::DisplayChain;

/// Expired idempotency keys are forgotten at minute 17 of every hour.
const PURGE_SCHEDULE: &str = "0 17 * * * *";

/// The expiry service: its cache handle, settings and delivery; [`ExpiryService::start`] runs it.
pub struct ExpiryService {
    handle: ExpiryHandle,
    store: Arc<dyn ExpiryStore>,
    history: Arc<dyn NotificationStore>,
    clock: Arc<dyn Clock>,
    settings: Arc<ExpirySettings>,
    delivery: Arc<Delivery>,
    render: RenderNotification,
    metrics: ExpiryMetrics,
}

/// What [`ExpiryService::start`] leaves running.
pub struct RunningExpiry {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
    scheduler: JobScheduler,
}

impl ExpiryService {
    pub fn new(
        store: Arc<dyn ExpiryStore>,
        history: Arc<dyn NotificationStore>,
        clock: Arc<dyn Clock>,
        settings: ExpirySettings,
        render: RenderNotification,
        metrics: ExpiryMetrics,
    ) -> Self {
        Self {
            handle: ExpiryHandle::new(),
            store,
            history,
            clock,
            settings: Arc::new(settings),
            delivery: Arc::new(Delivery::new()),
            render,
            metrics,
        }
    }

    pub fn handle(&self) -> ExpiryHandle {
        self.handle.clone()
    }

    /// Where new warnings are published; subscribe for a live feed.
    pub fn feed(&self) -> Arc<Delivery> {
        self.delivery.clone()
    }

    /// Loads the cache (in the background, so serving starts at once), then
    /// runs the tick loop, the history follower that feeds live streams,
    /// the reconcile schedule and the webhook sender.
    pub async fn start(&self) -> anyhow::Result<RunningExpiry> {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let reconciler = Arc::new(Reconciler::new(
            self.handle.clone(),
            self.store.clone(),
            self.clock.clone(),
        ));

        let follower = follower::HistoryFollower {
            store: self.history.clone(),
            delivery: self.delivery.clone(),
            every: self.settings.tick,
        };
        tasks.spawn(follower.run(stopped.clone()));

        let ticker = ticker::Ticker {
            handle: self.handle.clone(),
            store: self.store.clone(),
            clock: self.clock.clone(),
            settings: self.settings.clone(),
            delivery: self.delivery.clone(),
            metrics: self.metrics.clone(),
            started_at: self.clock.now(),
        };
        let loader = reconciler.clone();
        let ticker_stop = stopped.clone();
        tasks.spawn(async move {
            match loader.load_all().await {
                Ok(count) => tracing::info!(count, "expiry cache loaded"),
                // The reconcile job loads everything on its next run.
                Err(err) => {
                    tracing::error!(error = %DisplayChain(&err), "cannot load expiry cache")
                }
            }
            ticker.run(ticker_stop).await;
        });

        // A delete of every task asks for the changes of the last minute to
        // be read again (see `ExpiryHandle::all_removed`).
        let reloader = reconciler.clone();
        let reload_handle = self.handle.clone();
        let mut reload_stop = stopped.clone();
        tasks.spawn(async move {
            loop {
                tokio::select! {
                    () = reload_handle.reload_wanted() => {}
                    _ = reload_stop.changed() => break,
                }
                if let Err(err) = reloader.reconcile().await {
                    tracing::warn!(
                        error = %DisplayChain(&err),
                        "cannot reload the expiry cache after a delete of every task; \
                         the reconcile job tries again"
                    );
                }
            }
        });

        if let Some(webhook) = &self.settings.webhook {
            let sender = webhook::WebhookSender::new(
                self.store.clone(),
                self.clock.clone(),
                webhook.clone(),
                self.delivery.webhook_due(),
                self.render.clone(),
                self.metrics.clone(),
            )?;
            tasks.spawn(sender.run(stopped.clone()));
        }

        let scheduler = JobScheduler::new()
            .await
            .context("cannot create scheduler")?;
        let reconciling = reconciler.clone();
        let reconcile = Job::new_async(self.settings.reconcile_schedule.as_str(), move |_, _| {
            let reconciler = reconciling.clone();
            Box::pin(async move {
                match reconciler.reconcile().await {
                    Ok(count) => tracing::debug!(count, "expiry cache reconciled"),
                    Err(err) => tracing::warn!(
                        error = %DisplayChain(&err),
                        "cannot reconcile expiry cache; the next run tries again"
                    ),
                }
            })
        })
        .with_context(|| {
            format!(
                "invalid RECONCILE_SCHEDULE {:?}",
                self.settings.reconcile_schedule
            )
        })?;
        let purge = Job::new_async(PURGE_SCHEDULE, move |_, _| {
            let reconciler = reconciler.clone();
            Box::pin(async move {
                match reconciler.purge_idempotency_keys().await {
                    Ok(count) => tracing::debug!(count, "expired idempotency keys purged"),
                    Err(err) => tracing::warn!(
                        error = %DisplayChain(&err),
                        "cannot purge expired idempotency keys; the next run tries again"
                    ),
                }
            })
        })
        .context("invalid idempotency-key purge schedule")?;
        for job in [reconcile, purge] {
            scheduler
                .add(job)
                .await
                .context("cannot schedule a background job")?;
        }
        scheduler.start().await.context("cannot start scheduler")?;

        Ok(RunningExpiry {
            stop,
            tasks,
            scheduler,
        })
    }
}

impl RunningExpiry {
    /// Stops the schedule and lets the tick loop and webhook sender finish
    /// what they are doing.
    pub async fn stop(mut self) {
        if let Err(err) = self.scheduler.shutdown().await {
            tracing::warn!(error = %DisplayChain(&err), "scheduler did not shut down cleanly");
        }
        let _ = self.stop.send(true);
        while let Some(result) = self.tasks.join_next().await {
            if let Err(err) = result {
                tracing::error!(error = %DisplayChain(&err), "expiry task failed");
            }
        }
    }
}
