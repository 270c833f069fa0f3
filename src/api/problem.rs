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

impl ProblemKind {
    /// The response's description in the spec.
    pub const fn description(self) -> &'static str {
        match self {
            Self::BadRequest => {
                "The request is malformed: a parameter, header or body field is wrong, or \
                 unknown; `errors` names each one"
            }
            Self::Unauthorized => {
                "The server requires `Authorization: Bearer <token>` (API_TOKEN is set) and \
                 the request has no valid one"
            }
            Self::Forbidden => {
                "The bearer token is valid but its scopes (API_TOKENS_FILE) do not allow this \
                 request: `read` for GET, `write` for a change"
            }
            Self::NotFound => "No such task; `missing_ids` names every missing id",
            Self::PreconditionFailed => {
                "The task is no longer at a version `If-Match` names; nothing was changed"
            }
            Self::Conflict => "The database refused the change; nothing was changed",
            Self::PayloadTooLarge => {
                "The request body is over 1 MiB (over 4 MiB for a bulk `PUT /v1/tasks`)"
            }
            Self::UnsupportedMediaType => {
                "The body is not of a media type this operation takes, or is encoded \
                 (Content-Encoding)"
            }
            Self::Unprocessable => {
                "Well-formed, but not possible: an id named twice in one request, an \
                 `Idempotency-Key` reused for a different task, or a listing that cannot be \
                 answered (`q` without a word that can be searched for, `priority_min` above \
                 `priority_max`)"
            }
            Self::Internal => "An unexpected fault; the details are in the server log",
            Self::Unavailable => {
                "The database is unreachable, cannot write, or did not answer in time, or \
                 the server is at its limit; nothing was changed; retry after `Retry-After` \
                 seconds"
            }
            // It shares the 503 with `Unavailable`, and describes both.
            Self::OutcomeUnknown => {
                "The database is unreachable, cannot write, or did not answer in time, or \
                 the server is at its limit; nothing was changed; retry after `Retry-After` \
                 seconds. Except with type `urn:taskman:problem:outcome-unknown`: the change \
                 was sent to the database to commit and no answer came back, so it may or may \
                 not have been made; read the task again before retrying a change or a delete, \
                 and retry a create only with the same `Idempotency-Key`"
            }
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
