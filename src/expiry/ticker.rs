//! The tick loop: takes due expiries from the cache, claims each warning in
//! the database, and hands the won ones to delivery.

use std::sync::Arc;

use futures_util::StreamExt;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use super::classify::classify;
use super::delivery::Delivery;
use super::{ExpiryHandle, ExpirySettings};
use crate::domain::{Claim, Clock, PendingExpiry, Timestamp};
use crate::metrics::{ExpiryMetrics, WarningLabels};
use crate::store::{ExpiryStore, StoreError};
use crate::telemetry::DisplayChain;

/// Due warnings are claimed this many to a transaction: claims commit one
/// transaction after another (see `ExpiryStore::claim`), so a burst is
/// claimed in few of them.
const CLAIM_BATCH: usize = 256;

/// Lost claims are looked up again a few at a time.
const LOOKUP_CONCURRENCY: usize = 8;

pub struct Ticker {
    pub handle: ExpiryHandle,
    pub store: Arc<dyn ExpiryStore>,
    pub clock: Arc<dyn Clock>,
    pub settings: Arc<ExpirySettings>,
    pub delivery: Arc<Delivery>,
    pub metrics: ExpiryMetrics,
    /// When this process started: a warning that fell due before it was
    /// missed while the service was down.
    pub started_at: Timestamp,
}

impl Ticker {
    /// Ticks until `stop` turns true. A tick in progress finishes first, so
    /// every warning claimed is also logged.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut interval = tokio::time::interval(self.settings.tick);
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        while !*stop.borrow() {
            tokio::select! {
                _ = interval.tick() => {}
                () = self.handle.changed() => {}
                _ = stop.changed() => break,
            }
            self.tick().await;
        }
    }

    pub async fn tick(&self) {
        let now = self.clock.now();
        let due = {
            let mut cache = self.handle.cache();
            let due = cache.take_due(now.saturating_add(self.settings.warn_before));
            self.metrics
                .pending
                .set(i64::try_from(cache.len()).unwrap_or(i64::MAX));
            due
        };
        if due.is_empty() {
            return;
        }
        for batch in due.chunks(CLAIM_BATCH) {
            self.warn(batch, now).await;
        }
    }

    async fn warn(&self, due: &[PendingExpiry], now: Timestamp) {
        let claims: Vec<Claim> = due
            .iter()
            .map(|due| {
                let (kind, late) = classify(due, now, self.started_at, &self.settings);
                Claim {
                    task_id: due.task_id,
                    expiry_dt: due.expiry_dt,
                    kind,
                    late,
                    notified_at: now,
                    deliver: self.settings.webhook.is_some(),
                }
            })
            .collect();
        let won = match self.store.claim(&claims).await {
            Ok(won) => won,
            Err(err) => {
                for due in due {
                    self.retry_later(due, &err);
                }
                return;
            }
        };
        for notification in &won {
            self.metrics
                .warnings
                .get_or_create(&WarningLabels {
                    kind: notification.kind.as_str(),
                    late: notification.late,
                })
                .inc();
            self.delivery.deliver(notification, now);
        }
        // Another replica warned first, or the task changed or vanished
        // since the cache learnt of it: look again at what it is now.
        let lost = due.iter().filter(|due| {
            !won.iter()
                .any(|n| n.task_id == due.task_id && n.expiry_dt == due.expiry_dt)
        });
        futures_util::stream::iter(lost)
            .for_each_concurrent(LOOKUP_CONCURRENCY, |due| async move {
                match self.store.pending_expiry(due.task_id).await {
                    Ok(Some(pending)) => self.handle.track(&pending),
                    Ok(None) => {}
                    Err(err) => self.retry_later(due, &err),
                }
            })
            .await;
    }

    /// The database is the truth and it did not answer: keep the entry for
    /// the next tick.
    fn retry_later(&self, due: &PendingExpiry, err: &StoreError) {
        tracing::warn!(
            task_id = %due.task_id,
            error = %DisplayChain(err),
            "cannot claim warning; will retry"
        );
        self.handle
            .cache()
            .upsert(due.task_id, Some(due.expiry_dt), due.version);
    }
}
