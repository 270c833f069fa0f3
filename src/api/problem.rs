//! How the service's errors and the domain's refusals are told as problem
//! documents. An operation's own error type, which declares in the spec
//! exactly the problems that operation can return, is `ApiError`
//! (`api_error.rs`).

use crate::domain::{TaskId, ValidationError};
use crate::edge::problem::{FieldError, Problem, ProblemKind};
use crate::service::{ServiceError, Unavailable};
use crate::telemetry::DisplayChain;

impl FieldError {
    pub fn invalid(field: impl Into<String>, err: &ValidationError) -> Self {
        Self::new(field, err.to_string())
    }
}

impl Problem {
    pub fn not_found(ids: Vec<TaskId>) -> Self {
        let list = ids.iter().map(ToString::to_string).collect::<Vec<_>>();
        let detail = match list.as_slice() {
            [one] => format!("no task with id {one}"),
            many => format!("no tasks with ids {}", many.join(", ")),
        };
        Self {
            missing_ids: Some(ids.into_iter().map(TaskId::get).collect()),
            ..Self::new(ProblemKind::NotFound, None, detail)
        }
    }
}

/// How a service error is told to the client; internals go to the log only.
pub fn problem_of_service(err: &ServiceError) -> Problem {
    match err {
        ServiceError::Refused(_) => {
            tracing::warn!(error = %DisplayChain(err), "the database refused a write");
        }
        ServiceError::Unavailable { .. } => {
            tracing::warn!(error = %DisplayChain(err), "database unavailable");
        }
        ServiceError::OutcomeUnknown(_) => {
            tracing::warn!(error = %DisplayChain(err), "a write's outcome is unknown");
        }
        ServiceError::Internal(_) => {
            tracing::error!(error = %DisplayChain(err), "store failure");
        }
        _ => {}
    }
    describe_service_error(err)
}

/// The problem a service error is answered with, without logging it: what
/// the spec's examples show.
pub fn describe_service_error(err: &ServiceError) -> Problem {
    match err {
        ServiceError::NotFound(ids) => Problem::not_found(ids.clone()),
        ServiceError::PreconditionFailed(id) => Problem::new(
            ProblemKind::PreconditionFailed,
            None,
            format!("task {id} has changed since the version in If-Match; fetch it again"),
        ),
        ServiceError::InvalidTitle(invalid) => Problem::invalid(
            invalid
                .iter()
                .map(|(_, err)| FieldError::invalid("title", err))
                .collect(),
        ),
        ServiceError::IdempotencyKeyReused => Problem::about_fields(
            ProblemKind::Unprocessable,
            "idempotency-key-reused",
            vec![FieldError::new(
                "Idempotency-Key",
                "was used before for a create with other content; use a new key for a new task",
            )],
        ),
        ServiceError::Refused(_) => Problem::new(
            ProblemKind::Conflict,
            None,
            "the database refused the change; nothing was changed",
        ),
        ServiceError::Unavailable { reason, .. } => {
            let detail = match reason {
                Unavailable::TimedOut => {
                    "the database did not answer in time; nothing was changed; try again shortly"
                }
                Unavailable::Unreachable => {
                    "the database is unreachable; nothing was changed; try again shortly"
                }
                Unavailable::Contended => {
                    "the database is too busy; nothing was changed; try again shortly"
                }
                Unavailable::CannotWrite => {
                    "the database cannot write now (disk full or read-only); nothing was \
                     changed; try again later"
                }
            };
            Problem::unavailable(detail)
        }
        ServiceError::OutcomeUnknown(_) => Problem::new(
            ProblemKind::OutcomeUnknown,
            None,
            "the database did not confirm the change, which may or may not have been made; \
                 read the task again (or retry a create with the same Idempotency-Key) before \
                 trying again",
        ),
        ServiceError::Internal(_) => Problem::internal(),
    }
}
