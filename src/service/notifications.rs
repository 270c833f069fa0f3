//! [`NotificationService`]: the warning history, and a live feed of new
//! warnings that a client can resume without gaps.

use std::collections::VecDeque;
use std::sync::Arc;

use futures_util::stream::{self, BoxStream, StreamExt};
use tokio::sync::broadcast;

use super::ServiceResult;
use crate::domain::{Notification, NotificationFilter, Page, PageRequest, TaskId};
use crate::expiry::Delivery;
use crate::store::{NotificationStore, TaskStore};
use crate::telemetry::DisplayChain;

/// Notifications read from the history per query when a feed catches up.
const CATCH_UP_PAGE: u32 = 500;

pub struct NotificationService {
    store: Arc<dyn NotificationStore>,
    tasks: Arc<dyn TaskStore>,
    feed: Arc<Delivery>,
}

impl NotificationService {
    pub fn new(
        store: Arc<dyn NotificationStore>,
        tasks: Arc<dyn TaskStore>,
        feed: Arc<Delivery>,
    ) -> Self {
        Self { store, tasks, feed }
    }

    pub async fn list(
        &self,
        filter: NotificationFilter,
        page: PageRequest,
    ) -> ServiceResult<Page<Notification>> {
        Ok(self.store.list(filter, page).await?)
    }

    /// A task's warnings; `None` when there is no such task (its history
    /// stays listed under `list` with a `task_id` filter).
    pub async fn of_task(
        &self,
        id: TaskId,
        page: PageRequest,
    ) -> ServiceResult<Option<Page<Notification>>> {
        if self.tasks.get(id).await?.is_none() {
            return Ok(None);
        }
        let filter = NotificationFilter { task_id: Some(id) };
        Ok(Some(self.store.list(filter, page).await?))
    }

    /// New warnings as they are produced, by every replica, in increasing
    /// id order. With `after` (the id of the last one a client saw), first
    /// every warning after it from the history, then the live ones, none
    /// twice and none left out: ids become visible in increasing order
    /// (see `ExpiryStore::claim`), so nothing below `after` can appear
    /// later. A subscriber too slow for the live buffer is caught up from
    /// the history too.
    pub fn follow(&self, after: Option<i64>) -> BoxStream<'static, Notification> {
        // Subscribed before the history is read: whatever is published
        // while it is read is in one or the other, and the live feed's
        // copies of what the history gave are skipped by id.
        let live = self.feed.subscribe();
        let state = Feed {
            store: self.store.clone(),
            live,
            catching_up: after,
            queued: VecDeque::new(),
            highest_sent: after.unwrap_or_default(),
        };
        stream::unfold(state, Feed::next).boxed()
    }
}

struct Feed {
    store: Arc<dyn NotificationStore>,
    live: broadcast::Receiver<Notification>,
    /// Reading the history after this id, until it is exhausted.
    catching_up: Option<i64>,
    queued: VecDeque<Notification>,
    /// The live feed comes in id order; anything up to here was sent.
    highest_sent: i64,
}

impl Feed {
    async fn next(mut self) -> Option<(Notification, Self)> {
        loop {
            if let Some(next) = self.queued.pop_front() {
                self.highest_sent = self.highest_sent.max(next.id);
                return Some((next, self));
            }
            if let Some(after) = self.catching_up {
                match self.store.after(after, CATCH_UP_PAGE).await {
                    Ok(page) if page.is_empty() => self.catching_up = None,
                    Ok(page) => {
                        self.catching_up = page.last().map(|n| n.id);
                        self.queued.extend(page);
                    }
                    Err(err) => {
                        // The client reconnects with its Last-Event-ID and
                        // catching up starts again.
                        tracing::warn!(error = %DisplayChain(&err), "cannot read the warning history for an event stream");
                        return None;
                    }
                }
                continue;
            }
            match self.live.recv().await {
                Ok(next) if next.id <= self.highest_sent => continue,
                Ok(next) => {
                    self.highest_sent = next.id;
                    return Some((next, self));
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::info!(
                        missed,
                        "an event stream fell behind; catching up from the history"
                    );
                    self.catching_up = Some(self.highest_sent);
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}
