//! [`SqlStore`]: the one store, generic over its [`Dialect`], and the rules
//! every database call follows.
//!
//! - Every call is bounded by one deadline, from asking for a connection to
//!   reading the last row. A frozen database is a 503 within the bound.
//! - A lock conflict (deadlock, lock wait timeout, busy) reruns the whole
//!   transaction, a few times, with jittered backoff; reads also rerun on a
//!   fresh connection when theirs was lost.
//! - A connection is kept for the next call only when its call ran to the
//!   end in a known state; one whose state is unknown (a failed commit or
//!   rollback, a call cut off by the deadline or by its client going away)
//!   is closed, never handed out again.
//! - An answered time-out means not written. A write cut off before its
//!   COMMIT was sent is rolled back by the database when its connection
//!   closes; one cut off (or whose connection was lost) after COMMIT was
//!   sent may have taken effect, and says so ([`StoreError::OutcomeUnknown`]).
//!   The write queue makes the SQLite case exact (`write_queue.rs`).
//! - A write that is one self-committing statement safe to send twice (a
//!   create, by its token: `create.rs`) skips BEGIN and COMMIT; its answer
//!   lost, it is sent again on a fresh connection, which learns what the
//!   first did. Its outcome is unknown only if no answer comes by the deadline.
//! - A write that fails because the database cannot write marks the store
//!   degraded until a write succeeds again; health checks then probe.
//! - A call that finds a network database gone (MySQL) makes the next ones
//!   answer 503 at once until a probe gets through (`reachability.rs`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use sqlx::{Connection, Database};
use tokio::time::Instant;

use super::connections::{Connections, Lease, NoConnection};
use super::dialect::Dialect;
use super::error::{
    CommitFailure, ErrorClass, StoreError, StoreResult, Unavailable, settle, settle_commit,
};
use super::op::{Failure, Op, backoff};
use super::reachability::Reachability;
use super::write_queue::WriteQueue;

/// How often a transaction is run again after a lock conflict or a lost
/// connection, at most.
const MAX_ATTEMPTS: u32 = 6;

/// How a write is sent on a pooled connection.
#[derive(Clone, Copy)]
enum Sending {
    /// BEGIN, its statements, COMMIT.
    Transaction,
    /// One statement that commits by itself and may be sent again.
    Resendable,
    /// A transaction that may be run again after it committed.
    RerunnableTransaction,
}

/// How writes reach the database.
pub(super) enum Writer<D: Dialect> {
    /// Each write takes a pooled connection and its own transaction (MySQL:
    /// row locks let writers to different tasks proceed side by side).
    Pooled(Arc<Connections<D::Db>>),
    /// Writes queue for the one writer connection, which commits them in
    /// groups (SQLite: one writer at a time anyway; no busy waiting).
    Queued(WriteQueue<D>),
}

/// Whether the database is reachable, and whether it can write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatabaseHealth {
    Ok,
    /// Reachable, but writes fail (disk full, read-only, I/O errors).
    Degraded,
    Unavailable,
}

/// Counters for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub pool_size: u32,
    pub pool_idle: u32,
    /// Transactions run again after a lock conflict or a lost connection.
    pub retries: u64,
    /// Calls that gave up at the deadline.
    pub timeouts: u64,
}

pub struct SqlStore<D: Dialect> {
    pub(super) reader: Arc<Connections<D::Db>>,
    pub(super) writer: Writer<D>,
    timeout: Duration,
    /// Set when a write failed because the database cannot write; cleared
    /// by the next write that succeeds.
    cannot_write: AtomicBool,
    retries: Arc<AtomicU64>,
    timeouts: AtomicU64,
    /// For a database reached over the network (a pooled writer); SQLite
    /// cannot be unreachable.
    reachability: Option<Arc<Reachability<D>>>,
}

impl<D: Dialect> SqlStore<D> {
    pub(super) fn new(
        reader: Arc<Connections<D::Db>>,
        writer: Writer<D>,
        timeout: Duration,
    ) -> Self {
        let retries = match &writer {
            Writer::Queued(queue) => queue.retries(),
            Writer::Pooled(_) => Arc::default(),
        };
        let reachability = match &writer {
            Writer::Pooled(_) => Some(Arc::new(Reachability::new(reader.clone()))),
            Writer::Queued(_) => None,
        };
        Self {
            reader,
            writer,
            timeout,
            cannot_write: AtomicBool::new(false),
            retries,
            timeouts: AtomicU64::new(0),
            reachability,
        }
    }

    fn deadline(&self) -> Instant {
        Instant::now() + self.timeout
    }

    fn timed_out(&self) -> StoreError {
        StoreError::unavailable(Unavailable::TimedOut, None)
    }

    /// A 503 at once while the database is known to be down.
    fn refused(&self) -> Option<StoreError> {
        self.reachability.as_ref().and_then(|r| r.refuse())
    }

    /// Counts the calls that gave up at the deadline (a commit whose answer
    /// did not come in time among them), and notes one that found the
    /// database gone.
    fn count<T>(&self, outcome: StoreResult<T>) -> StoreResult<T> {
        if let Some(reachability) = &self.reachability {
            reachability.observe(&outcome);
        }
        if let Err(
            StoreError::Unavailable {
                reason: Unavailable::TimedOut,
                ..
            }
            | StoreError::OutcomeUnknown(None),
        ) = &outcome
        {
            self.timeouts.fetch_add(1, Ordering::Relaxed);
        }
        outcome
    }

    /// Runs a read on a pooled connection, within the deadline, again on a
    /// fresh connection if this one was lost.
    pub(super) async fn read<T: Send + 'static>(&self, op: Op<D::Db, T>) -> StoreResult<T> {
        if let Some(refused) = self.refused() {
            return Err(refused);
        }
        let outcome = self.read_within(op).await;
        self.count(outcome)
    }

    async fn read_within<T: Send + 'static>(&self, op: Op<D::Db, T>) -> StoreResult<T> {
        let deadline = self.deadline();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut conn = self.acquire(&self.reader, deadline).await?;
            let failure = match tokio::time::timeout_at(deadline, op(&mut conn)).await {
                // Dropping the lease closes the connection, cut off mid-call.
                Err(_) => {
                    out_of_time(attempt);
                    return Err(self.timed_out());
                }
                Ok(Ok(value)) => {
                    conn.keep();
                    return Ok(value);
                }
                Ok(Err(Failure::Refused(err))) => {
                    conn.keep();
                    return Err(err);
                }
                Ok(Err(Failure::Sql(err))) => err,
            };
            let class = ErrorClass::of(&failure, D::CODES);
            // Given back before any wait for another attempt. The database
            // answered with an error unless the connection was lost: the
            // statement is over, the connection clean.
            if class == ErrorClass::ConnectionLost {
                drop(conn);
            } else {
                conn.keep();
            }
            if !self.retry(class, attempt, deadline).await {
                return Err(settle(failure, D::CODES));
            }
        }
    }

    /// Runs a write: in its own transaction (`Pooled`), or in the writer's
    /// next group commit (`Queued`).
    pub(super) async fn write<T: Send + 'static>(&self, op: Op<D::Db, T>) -> StoreResult<T> {
        self.write_as(op, Sending::Transaction).await
    }

    /// Runs a write that is one statement, committing by itself, and that
    /// has no further effect when sent again (a create carrying its token):
    /// one round trip instead of three (`Pooled`), or the writer's next
    /// group commit (`Queued`).
    pub(super) async fn write_resendable<T: Send + 'static>(
        &self,
        op: Op<D::Db, T>,
    ) -> StoreResult<T> {
        self.write_as(op, Sending::Resendable).await
    }

    /// Runs a write in its own transaction that has no further effect
    /// when run again after it committed (an idempotent create), so that
    /// a commit whose answer was lost is run again to learn what happened.
    pub(super) async fn write_rerunnable<T: Send + 'static>(
        &self,
        op: Op<D::Db, T>,
    ) -> StoreResult<T> {
        self.write_as(op, Sending::RerunnableTransaction).await
    }

    async fn write_as<T: Send + 'static>(
        &self,
        op: Op<D::Db, T>,
        sending: Sending,
    ) -> StoreResult<T> {
        if let Some(refused) = self.refused() {
            return Err(refused);
        }
        let deadline = self.deadline();
        let outcome = match (&self.writer, sending) {
            (Writer::Pooled(connections), Sending::Transaction) => {
                self.write_pooled(connections, op, deadline, false).await
            }
            (Writer::Pooled(connections), Sending::RerunnableTransaction) => {
                self.write_pooled(connections, op, deadline, true).await
            }
            (Writer::Pooled(connections), Sending::Resendable) => {
                self.write_resending(connections, op, deadline).await
            }
            (Writer::Queued(queue), _) => queue.submit(op, deadline).await,
        };
        match &outcome {
            Ok(_) => self.cannot_write.store(false, Ordering::Relaxed),
            Err(StoreError::Unavailable {
                reason: Unavailable::CannotWrite,
                ..
            }) => self.cannot_write.store(true, Ordering::Relaxed),
            Err(_) => {}
        }
        self.count(outcome)
    }

    /// Sends a resendable write, without a transaction, until it is
    /// answered. Its answer lost (the connection dropped, or silent past
    /// half the time left), it may have taken effect: it is sent again on a
    /// fresh connection, which answers what the first did (a create finds
    /// its task by its token). Only when no answer comes by the deadline
    /// after such a loss is the outcome unknown.
    async fn write_resending<T: Send + 'static>(
        &self,
        connections: &Connections<D::Db>,
        op: Op<D::Db, T>,
        deadline: Instant,
    ) -> StoreResult<T> {
        let mut attempt = 0;
        // Whether an attempt whose answer was lost may have taken effect.
        let mut lost = false;
        loop {
            attempt += 1;
            let mut conn = match self.acquire(connections, deadline).await {
                Ok(conn) => conn,
                Err(_) if lost => return Err(StoreError::OutcomeUnknown(None)),
                Err(err) => return Err(err),
            };
            // A silent connection is given up on with time left to ask
            // another; the last attempt, resolving a loss, gets it all.
            let limit = if lost {
                deadline
            } else {
                let now = Instant::now();
                now + deadline.saturating_duration_since(now) / 2
            };
            let failure = match tokio::time::timeout_at(limit, op(&mut conn)).await {
                Ok(Ok(value)) => {
                    conn.keep();
                    return Ok(value);
                }
                Ok(Err(Failure::Refused(err))) => {
                    conn.keep();
                    return Err(err);
                }
                Ok(Err(Failure::Sql(err))) => Some(err),
                // Dropping the lease closes the connection, cut off mid-call.
                Err(_) => None,
            };
            let class = match &failure {
                Some(err) => ErrorClass::of(err, D::CODES),
                None => ErrorClass::ConnectionLost,
            };
            // An error the database answered means the statement did not
            // take effect, and (unless the server is dropping it) the
            // connection is clean; any other failure lost the answer.
            match &failure {
                Some(sqlx::Error::Database(_)) if class != ErrorClass::ConnectionLost => {
                    conn.keep()
                }
                Some(sqlx::Error::Database(_)) => drop(conn),
                _ => {
                    lost = true;
                    drop(conn);
                }
            }
            if !self.retry(class, attempt, deadline).await {
                return Err(match failure {
                    Some(err) if lost => StoreError::OutcomeUnknown(Some(err)),
                    Some(err) => settle(err, D::CODES),
                    None => StoreError::OutcomeUnknown(None),
                });
            }
        }
    }

    /// `rerun_lost_commit`: the transaction has no further effect when run
    /// again after it committed (an idempotent create finds its key's
    /// record), so one whose commit answer was lost is run again on a fresh
    /// connection to learn what happened.
    async fn write_pooled<T: Send + 'static>(
        &self,
        connections: &Connections<D::Db>,
        op: Op<D::Db, T>,
        deadline: Instant,
        rerun_lost_commit: bool,
    ) -> StoreResult<T> {
        let mut attempt = 0;
        // Whether an earlier attempt's commit may have taken effect.
        let mut lost = false;
        let unless_lost = |lost: bool, err: StoreError| {
            if lost {
                StoreError::OutcomeUnknown(None)
            } else {
                err
            }
        };
        loop {
            attempt += 1;
            let mut conn = match self.acquire(connections, deadline).await {
                Ok(conn) => conn,
                Err(err) => return Err(unless_lost(lost, err)),
            };
            let committing = AtomicBool::new(false);
            let outcome = tokio::time::timeout_at(
                deadline,
                in_transaction::<D, T>(&mut conn, &op, &committing),
            );
            let (result, reusable) = match outcome.await {
                // Dropping the lease closes the connection: the database
                // rolls back a transaction it was not told to commit.
                Err(_) if !committing.load(Ordering::Acquire) => {
                    out_of_time(attempt);
                    return Err(unless_lost(
                        lost,
                        StoreError::unavailable(Unavailable::TimedOut, None),
                    ));
                }
                Err(_) => {
                    out_of_time(attempt);
                    return Err(StoreError::OutcomeUnknown(None));
                }
                Ok(done) => done,
            };
            if reusable {
                conn.keep();
            } else {
                drop(conn);
            }
            let settled = |err: sqlx::Error| {
                if lost {
                    StoreError::OutcomeUnknown(Some(err))
                } else {
                    settle_commit(err, D::CODES)
                }
            };
            match result {
                Ok(value) => return Ok(value),
                Err(TxFailure::Refused(err)) => return Err(err),
                // The commit failed. Refused by the database, it did not
                // happen, and a lock conflict (Galera's certification) is
                // run again; with its answer lost, it is run again only if
                // that is safe, else the caller is told the outcome is
                // unknown.
                Err(TxFailure::AtCommit(err)) => match CommitFailure::of(&err, D::CODES) {
                    CommitFailure::NotCommitted(class)
                        if self.retry(class, attempt, deadline).await => {}
                    CommitFailure::Unknown
                        if rerun_lost_commit
                            && self
                                .retry(ErrorClass::ConnectionLost, attempt, deadline)
                                .await =>
                    {
                        lost = true;
                    }
                    _ => return Err(settled(err)),
                },
                Err(TxFailure::BeforeCommit(err)) => {
                    let class = ErrorClass::of(&err, D::CODES);
                    if !self.retry(class, attempt, deadline).await {
                        return Err(if lost {
                            StoreError::OutcomeUnknown(Some(err))
                        } else {
                            settle(err, D::CODES)
                        });
                    }
                }
            }
        }
    }

    async fn acquire<'c>(
        &self,
        connections: &'c Connections<D::Db>,
        deadline: Instant,
    ) -> StoreResult<Lease<'c, D::Db>> {
        match connections.lease(deadline).await {
            Ok(conn) => Ok(conn),
            Err(NoConnection::TimedOut) => Err(self.timed_out()),
            Err(NoConnection::Failed(err)) => Err(settle(err, D::CODES)),
        }
    }

    /// Waits before another attempt, if the failure is worth one and there
    /// is time for it; says whether to go on.
    async fn retry(&self, class: ErrorClass, attempt: u32, deadline: Instant) -> bool {
        if !matches!(class, ErrorClass::Transient | ErrorClass::ConnectionLost) {
            return false;
        }
        // Said here, with the count: the answer's error only says why.
        if attempt >= MAX_ATTEMPTS {
            tracing::warn!(
                attempts = attempt,
                ?class,
                "a database call failed {attempt} times in a row; giving up"
            );
            return false;
        }
        let pause = backoff(attempt);
        if Instant::now() + pause >= deadline {
            tracing::warn!(
                attempts = attempt,
                ?class,
                "a database call failed {attempt} times and its time limit is near; giving up"
            );
            return false;
        }
        self.retries.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(pause).await;
        true
    }

    /// Answering queries? And, when the last write failed for want of a
    /// writable database, able to write again? `read` is a real query, not a
    /// ping: a MariaDB Galera node that is not yet synced answers pings but
    /// refuses every statement (1047), and health must fail where requests do.
    pub(super) async fn check_health(
        &self,
        read: Op<D::Db, ()>,
        write: Op<D::Db, ()>,
    ) -> DatabaseHealth {
        if self.read(read).await.is_err() {
            return DatabaseHealth::Unavailable;
        }
        if !self.cannot_write.load(Ordering::Relaxed) {
            return DatabaseHealth::Ok;
        }
        match self.write(write).await {
            Ok(()) => DatabaseHealth::Ok,
            Err(_) => DatabaseHealth::Degraded,
        }
    }

    pub(super) fn stats(&self) -> StoreStats {
        let (size, idle) = self.reader.counts();
        StoreStats {
            pool_size: size,
            pool_idle: u32::try_from(idle).unwrap_or(u32::MAX),
            retries: self.retries.load(Ordering::Relaxed),
            timeouts: self.timeouts.load(Ordering::Relaxed),
        }
    }
}

/// How far a failed transaction got.
pub(super) enum TxFailure {
    Refused(StoreError),
    /// Nothing was committed; running it again is safe.
    BeforeCommit(sqlx::Error),
    /// The commit itself failed: it may or may not have taken effect.
    AtCommit(sqlx::Error),
}

/// Runs `op` in a transaction on `conn`. Also says whether the connection
/// is in a known state afterwards (its transaction committed or rolled
/// back); if not, the caller must close it. `committing` is set just
/// before COMMIT is sent, for a caller that cuts the call off.
pub(super) async fn in_transaction<D: Dialect, T>(
    conn: &mut <D::Db as Database>::Connection,
    op: &Op<D::Db, T>,
    committing: &AtomicBool,
) -> (Result<T, TxFailure>, bool) {
    let mut tx = match conn.begin_with(D::BEGIN_WRITE).await {
        Ok(tx) => tx,
        Err(err) => return (Err(TxFailure::BeforeCommit(err)), false),
    };
    let value = match op(&mut *tx).await {
        Ok(value) => value,
        Err(failure) => {
            let reusable = tx.rollback().await.is_ok();
            let failure = match failure {
                Failure::Refused(err) => TxFailure::Refused(err),
                Failure::Sql(err) => TxFailure::BeforeCommit(err),
            };
            return (Err(failure), reusable);
        }
    };
    committing.store(true, Ordering::Release);
    match tx.commit().await {
        Ok(()) => (Ok(value), true),
        Err(err) => (Err(TxFailure::AtCommit(err)), false),
    }
}

/// Says, when a call that was tried more than once runs out of time, how
/// many attempts it made (the answer's error says only why).
fn out_of_time(attempt: u32) {
    if attempt > 1 {
        tracing::warn!(
            attempts = attempt,
            "a database call failed {} times and ran out of time in attempt {attempt}; giving up",
            attempt - 1
        );
    }
}
