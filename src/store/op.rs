//! [`Op`]: a unit of work on one connection, as both write paths (a pooled
//! transaction, the SQLite write queue) and the read path run it, and how
//! it fails.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use sqlx::Database;

use super::error::StoreError;

/// The first backoff; it doubles with each attempt, and a random part of it
/// is taken, so that the writers that collided do not collide again.
const BASE_BACKOFF: Duration = Duration::from_millis(4);

/// Why a database call inside the store failed.
#[derive(Debug)]
pub(super) enum Failure {
    /// The database said no; classified by the caller.
    Sql(sqlx::Error),
    /// The operation decided the answer (not found, precondition failed…);
    /// the transaction is rolled back and this is the result.
    Refused(StoreError),
}

impl From<sqlx::Error> for Failure {
    fn from(err: sqlx::Error) -> Self {
        Self::Sql(err)
    }
}

impl From<StoreError> for Failure {
    fn from(err: StoreError) -> Self {
        Self::Refused(err)
    }
}

pub(super) type OpResult<T> = Result<T, Failure>;

/// A unit of work on one connection. It may run more than once (after a
/// lock conflict), so it owns what it needs rather than borrowing it.
pub(super) type Op<DB, T> = Arc<
    dyn for<'c> Fn(&'c mut <DB as Database>::Connection) -> BoxFuture<'c, OpResult<T>>
        + Send
        + Sync,
>;

/// A random wait in `[base·2^(attempt-1) / 2, base·2^(attempt-1)]`.
pub(super) fn backoff(attempt: u32) -> Duration {
    let ceiling = BASE_BACKOFF.saturating_mul(1 << attempt.saturating_sub(1).min(10));
    let half = ceiling / 2;
    half + half.mul_f64(fastrand::f64())
}
