//! [`ExpiryHandle`]: the one narrow way the rest of the service tells the
//! expiry service about task changes.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use super::ExpiryCache;
use crate::domain::{PendingExpiry, Task, TaskId};

#[derive(Clone, Default)]
pub struct ExpiryHandle {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    cache: Mutex<ExpiryCache>,
    /// Wakes the tick loop early, so that a warning already due is produced
    /// at once instead of at the next tick.
    changed: Notify,
    /// Asks for the cache to be reloaded from the database now.
    reload: Notify,
}

impl ExpiryHandle {
    pub fn new() -> Self {
        Self::default()
    }

    /// A task as written: its warning armed for its expiry while it is
    /// open, disarmed once it is done or has no expiry.
    pub fn task_saved(&self, task: &Task) {
        self.cache()
            .upsert(task.id, task.armed_expiry(), task.update_dt);
        self.shared.changed.notify_one();
    }

    /// A task awaiting its warning, as read from the database.
    pub(super) fn track(&self, pending: &PendingExpiry) {
        self.cache()
            .upsert(pending.task_id, Some(pending.expiry_dt), pending.version);
        self.shared.changed.notify_one();
    }

    pub fn task_removed(&self, id: TaskId) {
        self.cache().remove(id);
    }

    /// Every task was deleted. A task created while the delete ran may
    /// have survived it, and been saved here before the cache was cleared:
    /// the database is read again at once instead of at the next reconcile.
    pub fn all_removed(&self) {
        self.cache().clear();
        self.shared.reload.notify_one();
    }

    /// The cache, for the tick loop. A panic while holding the lock cannot
    /// leave the cache half-updated in a way that matters (the database is
    /// the truth and the reconcile job reloads it), so a poisoned lock is
    /// taken over rather than propagated.
    pub(super) fn cache(&self) -> MutexGuard<'_, ExpiryCache> {
        self.shared
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) async fn changed(&self) {
        self.shared.changed.notified().await;
    }

    pub(super) async fn reload_wanted(&self) {
        self.shared.reload.notified().await;
    }
}
