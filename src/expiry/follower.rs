//! [`HistoryFollower`]: one per replica, it reads the warning history in id
//! order and publishes each new warning to this replica's live streams —
//! every replica's warnings, not only the ones claimed here.
//!
//! Claims commit one after another (see `ExpiryStore::claim`), so the
//! history read by id is always a prefix of what it will be: a warning
//! published after id N never has an id below N, and a client resuming
//! after the last id it saw misses nothing.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use super::delivery::Delivery;
use crate::store::{NotificationStore, StoreError};
use crate::telemetry::DisplayChain;

/// Warnings read from the history per query.
const PAGE: u32 = 500;

/// The history is read at least this often, however long the tick.
pub const MAX_FOLLOW_INTERVAL: Duration = Duration::from_secs(1);

pub struct HistoryFollower {
    pub store: Arc<dyn NotificationStore>,
    pub delivery: Arc<Delivery>,
    /// How often the history is read when this replica claims nothing (a
    /// claim here is published at once).
    pub every: Duration,
}

impl HistoryFollower {
    /// Follows from the newest warning at start until `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut interval = tokio::time::interval(self.every.min(MAX_FOLLOW_INTERVAL));
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut position = None;
        let mut failing = false;
        while !*stop.borrow() {
            let read = match position {
                None => self.store.latest_id().await.map_err(|err| (None, err)),
                Some(after) => self.publish_after(after).await,
            };
            match read {
                Ok(last) => {
                    if failing {
                        tracing::info!(
                            "the warning history can be read again; live streams resume"
                        );
                    }
                    failing = false;
                    position = Some(last);
                }
                Err((reached, err)) => {
                    if !failing {
                        tracing::warn!(
                            error = %DisplayChain(&err),
                            "cannot read the warning history; live streams wait until it can be read"
                        );
                    }
                    failing = true;
                    position = reached.or(position);
                }
            }
            tokio::select! {
                _ = interval.tick() => {}
                () = self.delivery.claimed() => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Publishes every warning after `after`; returns the last id published,
    /// or on failure how far it got and why it stopped.
    async fn publish_after(&self, mut after: i64) -> Result<i64, (Option<i64>, StoreError)> {
        loop {
            let page = self
                .store
                .after(after, PAGE)
                .await
                .map_err(|err| (Some(after), err))?;
            for notification in &page {
                self.delivery.publish(notification);
                after = notification.id;
            }
            if page.len() < PAGE as usize {
                return Ok(after);
            }
        }
    }
}
