//! [`ServiceError`]: what a use case can fail with, as the HTTP edge needs
//! to tell it apart. The causes are kept for the log, never shown.

use crate::domain::{TaskId, ValidationError};
use crate::store::{self, StoreError};

/// A failure's cause, for the log only.
type Cause = Box<dyn std::error::Error + Send + Sync>;

/// What can go wrong in a use case. The messages are the store's: a cause
/// reads the same in the log whichever layer reports it.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// These tasks do not exist; nothing was changed.
    #[error("no task with id {0:?}")]
    NotFound(Vec<TaskId>),
    /// The task is no longer at the version the client named; nothing was changed.
    #[error("task {0} has changed")]
    PreconditionFailed(TaskId),
    /// A change sent a title that breaks the rules and is not the task's
    /// stored title sent back; nothing was changed.
    #[error("invalid title for tasks {0:?}")]
    InvalidTitle(Vec<(TaskId, ValidationError)>),
    /// The idempotency key was used before for a different task; nothing was changed.
    #[error("idempotency key reused for a different request")]
    IdempotencyKeyReused,
    /// The database refused the write by one of its own constraints.
    #[error("the database refused the write")]
    Refused(#[source] Cause),
    /// The database cannot serve now; retrying later may succeed.
    #[error("database unavailable: {reason}")]
    Unavailable {
        reason: Unavailable,
        #[source]
        source: Option<Cause>,
    },
    /// A write was sent to commit and no answer came back: it may or may
    /// not have taken effect.
    #[error("the database did not confirm the commit")]
    OutcomeUnknown(#[source] Option<Cause>),
    /// Anything else: a bug, or a database in a state the service does not expect.
    #[error("database error")]
    Internal(#[source] Cause),
}

/// Why the database is unavailable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unavailable {
    #[error("it did not answer within the time limit")]
    TimedOut,
    #[error("it cannot be reached")]
    Unreachable,
    #[error(
        "it stayed locked by other writers (or refused a conflicting commit) until the retries or the time limit ran out"
    )]
    Contended,
    #[error("it cannot write (disk full, read-only or I/O error)")]
    CannotWrite,
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl From<StoreError> for ServiceError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound(ids) => Self::NotFound(ids),
            StoreError::PreconditionFailed(id) => Self::PreconditionFailed(id),
            StoreError::InvalidTitle(invalid) => Self::InvalidTitle(invalid),
            StoreError::IdempotencyKeyReused => Self::IdempotencyKeyReused,
            StoreError::Refused(source) => Self::Refused(source.into()),
            StoreError::Unavailable { reason, source } => Self::Unavailable {
                reason: reason.into(),
                source: source.map(Into::into),
            },
            StoreError::OutcomeUnknown(source) => Self::OutcomeUnknown(source.map(Into::into)),
            StoreError::Database(source) => Self::Internal(source.into()),
        }
    }
}

impl From<store::Unavailable> for Unavailable {
    fn from(reason: store::Unavailable) -> Self {
        match reason {
            store::Unavailable::TimedOut => Self::TimedOut,
            store::Unavailable::Unreachable => Self::Unreachable,
            store::Unavailable::Contended => Self::Contended,
            store::Unavailable::CannotWrite => Self::CannotWrite,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::DisplayChain;

    #[test]
    fn a_store_error_reads_the_same_in_the_log_as_a_service_error() {
        let lost = || sqlx::Error::Io(std::io::Error::other("connection reset"));
        let errors = [
            StoreError::Refused(lost()),
            StoreError::Unavailable {
                reason: store::Unavailable::Contended,
                source: Some(lost()),
            },
            StoreError::Unavailable {
                reason: store::Unavailable::TimedOut,
                source: None,
            },
            StoreError::OutcomeUnknown(Some(lost())),
            StoreError::Database(lost()),
            StoreError::NotFound(vec![TaskId::from_db(7)]),
        ];
        for err in errors {
            let logged = DisplayChain(&err).to_string();
            assert_eq!(DisplayChain(&ServiceError::from(err)).to_string(), logged);
        }
    }
}
