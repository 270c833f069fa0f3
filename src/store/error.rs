//! What goes wrong below the API, and how a database error is classified:
//! retried, refused, unavailable, or a fault.

use crate::domain::{TaskId, ValidationError};

/// What can go wrong below the API. Never shown to clients verbatim.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
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
    Refused(#[source] sqlx::Error),
    /// The database cannot be reached, is too busy, cannot write, or did not
    /// answer in time; retrying later may succeed.
    #[error("database unavailable: {reason}")]
    Unavailable {
        reason: Unavailable,
        #[source]
        source: Option<sqlx::Error>,
    },
    /// The write's commit was sent and no answer came back (the time limit
    /// cut it off, or the connection was lost): it may or may not have
    /// taken effect. The client has to look before it writes again.
    #[error("the database did not confirm the commit")]
    OutcomeUnknown(#[source] Option<sqlx::Error>),
    /// Anything else: a bug, or a database in a state the service does not expect.
    #[error("database error")]
    Database(#[source] sqlx::Error),
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

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    pub(super) fn unavailable(reason: Unavailable, source: Option<sqlx::Error>) -> Self {
        Self::Unavailable { reason, source }
    }
}

/// How the store treats a failed database call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// A lock conflict the database resolved by aborting us (deadlock, lock
    /// wait timeout, busy): run the whole transaction again.
    Transient,
    /// The connection is gone or unusable; nothing is known to have
    /// happened. Reads may retry on another connection.
    ConnectionLost,
    /// The database cannot write: disk full, read-only, I/O error.
    CannotWrite,
    /// The database stopped the statement at its own time limit.
    TimedOut,
    /// A constraint refused the write.
    Constraint,
    /// Anything else.
    Fault,
}

/// A backend's table from its errors to [`ErrorClass`].
pub type CodeTable = fn(err: &dyn sqlx::error::DatabaseError) -> ErrorClass;

impl ErrorClass {
    pub(super) fn of(err: &sqlx::Error, codes: CodeTable) -> Self {
        use sqlx::Error as E;
        match err {
            E::Io(_) | E::Tls(_) | E::Protocol(_) | E::PoolTimedOut | E::PoolClosed => {
                Self::ConnectionLost
            }
            E::WorkerCrashed => Self::ConnectionLost,
            E::Database(db) => codes(db.as_ref()),
            _ => Self::Fault,
        }
    }

    /// What every backend's constraint errors have in common.
    pub(super) fn of_kind(kind: sqlx::error::ErrorKind) -> Self {
        use sqlx::error::ErrorKind as K;
        match kind {
            K::UniqueViolation
            | K::ForeignKeyViolation
            | K::NotNullViolation
            | K::CheckViolation => Self::Constraint,
            _ => Self::Fault,
        }
    }
}

/// What a failed `COMMIT` means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CommitFailure {
    /// The database answered with an error: the transaction did not commit
    /// (MySQL rolls it back). A lock conflict here — on MariaDB Galera, 1213
    /// is a failed certification or a brute-force abort — is worth another
    /// run of the whole transaction, like one before the commit.
    NotCommitted(ErrorClass),
    /// The answer was lost: it may have committed.
    Unknown,
}

impl CommitFailure {
    pub(super) fn of(err: &sqlx::Error, codes: CodeTable) -> Self {
        match err {
            sqlx::Error::Database(_) => Self::NotCommitted(ErrorClass::of(err, codes)),
            _ if ErrorClass::of(err, codes) == ErrorClass::ConnectionLost => Self::Unknown,
            _ => Self::NotCommitted(ErrorClass::of(err, codes)),
        }
    }
}

/// The error for a commit that failed and is not run again.
pub(super) fn settle_commit(err: sqlx::Error, codes: CodeTable) -> StoreError {
    match CommitFailure::of(&err, codes) {
        CommitFailure::Unknown => StoreError::OutcomeUnknown(Some(err)),
        CommitFailure::NotCommitted(_) => settle(err, codes),
    }
}

/// The error a client is answered with once retries are over.
pub(super) fn settle(err: sqlx::Error, codes: CodeTable) -> StoreError {
    match ErrorClass::of(&err, codes) {
        ErrorClass::Transient => StoreError::unavailable(Unavailable::Contended, Some(err)),
        ErrorClass::ConnectionLost => StoreError::unavailable(Unavailable::Unreachable, Some(err)),
        ErrorClass::CannotWrite => StoreError::unavailable(Unavailable::CannotWrite, Some(err)),
        ErrorClass::TimedOut => StoreError::unavailable(Unavailable::TimedOut, Some(err)),
        ErrorClass::Constraint => StoreError::Refused(err),
        ErrorClass::Fault => StoreError::Database(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database error the server sent, of any code.
    #[derive(Debug)]
    struct Answered;

    impl std::fmt::Display for Answered {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("Deadlock found when trying to get lock")
        }
    }

    impl std::error::Error for Answered {}

    impl sqlx::error::DatabaseError for Answered {
        fn message(&self) -> &str {
            "Deadlock found when trying to get lock"
        }

        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }

        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }

        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }

        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    fn deadlock(_: &dyn sqlx::error::DatabaseError) -> ErrorClass {
        ErrorClass::Transient
    }

    fn node_not_ready(_: &dyn sqlx::error::DatabaseError) -> ErrorClass {
        ErrorClass::ConnectionLost
    }

    #[test]
    fn a_commit_the_database_refused_did_not_happen_and_a_lost_answer_may_have() {
        let refused = sqlx::Error::Database(Box::new(Answered));
        assert_eq!(
            CommitFailure::of(&refused, deadlock),
            CommitFailure::NotCommitted(ErrorClass::Transient)
        );
        // Refused by a node that is not ready: not committed either.
        assert_eq!(
            CommitFailure::of(&refused, node_not_ready),
            CommitFailure::NotCommitted(ErrorClass::ConnectionLost)
        );
        let lost = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert_eq!(CommitFailure::of(&lost, deadlock), CommitFailure::Unknown);
        assert!(matches!(
            settle_commit(lost, deadlock),
            StoreError::OutcomeUnknown(_)
        ));
    }
}
