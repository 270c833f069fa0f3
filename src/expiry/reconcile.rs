//! Loading the cache from the database, whole at start-up and then, on a
//! schedule, the tasks changed since (through any replica, or by another
//! tool writing the table directly).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::ExpiryHandle;
use crate::domain::{Clock, TaskId, Timestamp};
use crate::store::{ExpiryStore, StoreResult};

/// Rows per query: the cache is streamed in, never read in one go.
const BATCH: u32 = 5_000;

/// Reconciling looks this much further back than its last run: replicas'
/// clocks (and the database's, for rows other tools write) differ a
/// little, and a transaction may commit a while after it stamped
/// `update_dt`.
const OVERLAP: Duration = Duration::from_secs(60);

pub struct Reconciler {
    handle: ExpiryHandle,
    store: Arc<dyn ExpiryStore>,
    clock: Arc<dyn Clock>,
    last_started: Mutex<Option<Timestamp>>,
}

impl Reconciler {
    pub fn new(handle: ExpiryHandle, store: Arc<dyn ExpiryStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            handle,
            store,
            clock,
            last_started: Mutex::new(None),
        }
    }

    /// Loads every task still awaiting a warning; returns how many.
    pub async fn load_all(&self) -> StoreResult<usize> {
        let started = self.clock.now();
        let loaded = self.load(None).await?;
        self.set_last_started(started);
        Ok(loaded)
    }

    /// Loads the tasks changed since the last run (all of them if none
    /// succeeded yet); returns how many.
    pub async fn reconcile(&self) -> StoreResult<usize> {
        let started = self.clock.now();
        let since = self
            .last_started
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map(|last| last.saturating_sub(OVERLAP));
        let loaded = self.load(since).await?;
        self.set_last_started(started);
        Ok(loaded)
    }

    /// Forgets idempotency keys past their time; returns how many.
    pub async fn purge_idempotency_keys(&self) -> StoreResult<u64> {
        self.store.purge_idempotency_keys(self.clock.now()).await
    }

    fn set_last_started(&self, started: Timestamp) {
        *self.last_started.lock().unwrap_or_else(|p| p.into_inner()) = Some(started);
    }

    async fn load(&self, changed_since: Option<Timestamp>) -> StoreResult<usize> {
        let mut after: Option<TaskId> = None;
        let mut loaded = 0;
        loop {
            let batch = self
                .store
                .pending_expiries(after, changed_since, BATCH)
                .await?;
            loaded += batch.pending.len();
            batch
                .pending
                .iter()
                .for_each(|pending| self.handle.track(pending));
            match batch.next_after {
                Some(last) => after = Some(last),
                None => return Ok(loaded),
            }
        }
    }
}
