//! Which problems each operation can answer with: the one place that says
//! so. The spec's responses, their examples, and each handler's error type
//! (`ApiError<ThatOperation>`) all follow from this table.

use crate::edge::problem::ProblemKind::{self, *};

/// An operation of the API.
pub trait Operation: Send + Sync + 'static {
    /// Its `operationId`.
    const ID: &'static str;
    /// The problems it can answer with.
    const PROBLEMS: &'static [ProblemKind];
}

/// Every operation reads the database; every one may find it unavailable
/// or fail unexpectedly, and every one refuses unknown parameters (400).
/// With `API_TOKEN` or `API_TOKENS_FILE` set, all but the health check
/// require a token (401) whose scopes allow the request (403).
/// Every write may also lose the database's answer to its commit
/// (`OutcomeUnknown`, a 503 of its own type).
macro_rules! operations {
    ($($name:ident = $id:literal: [$($kind:ident),* $(,)?];)*) => {
        $(
            #[doc = concat!("`", $id, "`")]
            pub struct $name;

            impl Operation for $name {
                const ID: &'static str = $id;
                const PROBLEMS: &'static [ProblemKind] = &[$($kind),*];
            }
        )*

        /// Every operation's id and problems, for the spec and its tests.
        pub const ALL: &[(&str, &[ProblemKind])] = &[$(($id, <$name as Operation>::PROBLEMS)),*];
    };
}

operations! {
    GetHealth = "get_health": [BadRequest];
    ListTasks = "list_tasks": [BadRequest, Unauthorized, Forbidden, Unprocessable, Internal, Unavailable];
    CreateTask = "create_task": [
        BadRequest, Unauthorized, Forbidden, Conflict, PayloadTooLarge, UnsupportedMediaType, Unprocessable,
        Internal, Unavailable, OutcomeUnknown,
    ];
    ReplaceTasks = "replace_tasks": [
        BadRequest, Unauthorized, Forbidden, NotFound, Conflict, PayloadTooLarge, UnsupportedMediaType,
        Unprocessable, Internal, Unavailable, OutcomeUnknown,
    ];
    DeleteTasks = "delete_tasks": [
        BadRequest, Unauthorized, Forbidden, Internal, Unavailable, OutcomeUnknown,
    ];
    GetTask = "get_task": [BadRequest, Unauthorized, Forbidden, NotFound, Internal, Unavailable];
    ReplaceTask = "replace_task": [
        BadRequest, Unauthorized, Forbidden, NotFound, PreconditionFailed, Conflict, PayloadTooLarge,
        UnsupportedMediaType, Internal, Unavailable, OutcomeUnknown,
    ];
    PatchTask = "patch_task": [
        BadRequest, Unauthorized, Forbidden, NotFound, PreconditionFailed, Conflict, PayloadTooLarge,
        UnsupportedMediaType, Internal, Unavailable, OutcomeUnknown,
    ];
    DeleteTask = "delete_task": [
        BadRequest, Unauthorized, Forbidden, NotFound, PreconditionFailed, Internal, Unavailable,
        OutcomeUnknown,
    ];
    CompleteTasks = "complete_tasks": [
        BadRequest, Unauthorized, Forbidden, NotFound, Conflict, PayloadTooLarge, UnsupportedMediaType,
        Internal, Unavailable, OutcomeUnknown,
    ];
    ReopenTasks = "reopen_tasks": [
        BadRequest, Unauthorized, Forbidden, NotFound, Conflict, PayloadTooLarge, UnsupportedMediaType,
        Internal, Unavailable, OutcomeUnknown,
    ];
    CompleteTask = "complete_task": [
        BadRequest, Unauthorized, Forbidden, NotFound, PreconditionFailed, Internal, Unavailable,
        OutcomeUnknown,
    ];
    ReopenTask = "reopen_task": [
        BadRequest, Unauthorized, Forbidden, NotFound, PreconditionFailed, Internal, Unavailable,
        OutcomeUnknown,
    ];
    ListNotifications = "list_notifications": [BadRequest, Unauthorized, Forbidden, Internal, Unavailable];
    StreamNotifications = "stream_notifications": [BadRequest, Unauthorized, Forbidden, Unavailable];
    ListTaskNotifications = "list_task_notifications": [
        BadRequest, Unauthorized, Forbidden, NotFound, Internal, Unavailable,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_refuses_bad_requests_and_ids_are_unique() {
        let mut ids = std::collections::HashSet::new();
        for (id, problems) in ALL {
            assert!(ids.insert(*id), "{id} twice");
            assert!(problems.contains(&BadRequest), "{id}");
        }
    }

    #[test]
    fn a_lost_commit_answer_is_declared_by_exactly_the_writes() {
        let writes = [
            "create_task",
            "replace_tasks",
            "delete_tasks",
            "replace_task",
            "patch_task",
            "delete_task",
            "complete_task",
            "reopen_task",
            "complete_tasks",
            "reopen_tasks",
        ];
        for (id, problems) in ALL {
            assert_eq!(
                problems.contains(&OutcomeUnknown),
                writes.contains(id),
                "{id}"
            );
        }
    }
}
