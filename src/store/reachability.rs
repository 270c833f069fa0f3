//! [`Reachability`]: a database known to be down is answered at once.
//!
//! When a node dies, every call waits for its deadline (`DB_TIMEOUT`) before
//! its 503: a pool trying to connect, or a connection waiting for an answer
//! that will not come. Once one call has found the database gone (or a
//! Galera node refusing queries, 1047), the next ones are answered 503 at
//! once, and a background probe runs the health check's query a few times
//! a second; the first that succeeds ends it. A ping would not do: a Galera
//! node that is not synced answers pings and refuses every query.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::connections::Connections;
use super::dialect::Dialect;
use super::error::{StoreError, Unavailable};

/// How often the probe tries, and how long one try may take.
const PROBE_EVERY: Duration = Duration::from_millis(200);
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

pub(super) struct Reachability<D: Dialect> {
    connections: Arc<Connections<D::Db>>,
    down: AtomicBool,
}

impl<D: Dialect> Reachability<D> {
    pub(super) fn new(connections: Arc<Connections<D::Db>>) -> Self {
        Self {
            connections,
            down: AtomicBool::new(false),
        }
    }

    /// The answer for a call while the database is known to be down.
    pub(super) fn refuse(&self) -> Option<StoreError> {
        self.down
            .load(Ordering::Acquire)
            .then(|| StoreError::unavailable(Unavailable::Unreachable, None))
    }

    /// Looks at a call's outcome: one that found the database gone (no
    /// connection, a lost one, no answer in time) starts the probe.
    pub(super) fn observe<T>(self: &Arc<Self>, outcome: &Result<T, StoreError>) {
        let gone = matches!(
            outcome,
            Err(StoreError::Unavailable {
                reason: Unavailable::Unreachable | Unavailable::TimedOut,
                ..
            }) | Err(StoreError::OutcomeUnknown(_))
        );
        if gone && !self.down.swap(true, Ordering::AcqRel) {
            tracing::warn!("the database is unreachable; answering 503 at once until it is back");
            tokio::spawn(self.clone().probe());
        }
    }

    async fn probe(self: Arc<Self>) {
        loop {
            tokio::time::sleep(PROBE_EVERY).await;
            let deadline = Instant::now() + PROBE_TIMEOUT;
            let Ok(mut conn) = self.connections.lease(deadline).await else {
                continue;
            };
            if let Ok(Ok(())) = tokio::time::timeout_at(deadline, D::probe(&mut conn)).await {
                conn.keep();
                self.down.store(false, Ordering::Release);
                tracing::info!("the database is reachable again");
                return;
            }
        }
    }
}
