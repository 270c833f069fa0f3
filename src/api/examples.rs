//! The examples Swagger UI and the spec show. Times in request examples lie
//! far ahead, so "Try it out" with the defaults creates a task that is not
//! already expired.

use poem_openapi::types::{Example, MaybeUndefined, ToJSON};
use serde_json::{Value, json};

use super::notification_types::{DeliveryStateBody, KindBody, NotificationBody, NotificationPage};
use super::task_types::{
    DeleteResult, TaskBody, TaskIdList, TaskInput, TaskList, TaskPage, TaskPatchInput,
    TaskReplacement, TaskReplacements, TaskStatusBody, TaskUpdate,
};
use super::time::ApiTime;
use super::values::LabelList;
use crate::domain::{Priority, TaskId, Timestamp};
use crate::edge::json_string::JsonString;
use crate::edge::problem::{FieldError, Problem, ProblemKind};

fn time(micros: i64) -> ApiTime {
    Timestamp::from_micros(micros)
        .map(ApiTime::from)
        .unwrap_or_else(|| ApiTime::from(Timestamp::now()))
}

/// 2099-12-01T10:00:00Z: an expiry for request examples.
const EXPIRY: i64 = 4_099_716_000_000_000;
/// 2026-11-28T09:00:00Z: when the example task was created.
const CREATED: i64 = 1_795_856_400_000_000;
const CURSOR: &str = "dDo0Mg";

impl Example for TaskBody {
    fn example() -> Self {
        Self {
            id: 42,
            title: "Pay rent".into(),
            description: Some("Transfer to the landlord".into()),
            expiry_dt: Some(time(EXPIRY)),
            create_dt: Some(time(CREATED)),
            update_dt: Some(time(CREATED)),
            status: TaskStatusBody::Open,
            completed_dt: None,
            priority: Priority::parse(3).ok(),
            labels: vec!["home".to_owned(), "Bills".to_owned()],
        }
    }
}

impl Example for TaskInput {
    fn example() -> Self {
        Self {
            title: JsonString::new("Pay rent"),
            description: Some(JsonString::new("Transfer to the landlord")),
            expiry_dt: Some(time(EXPIRY)),
            priority: Priority::parse(3).ok(),
            labels: Some(LabelList(vec!["home".to_owned(), "Bills".to_owned()])),
        }
    }
}

// The change examples name only what they change, and clear nothing:
// Swagger UI's "Try it out" sends them as they are.

impl Example for TaskUpdate {
    fn example() -> Self {
        Self {
            title: Some(JsonString::new("Pay rent")),
            description: MaybeUndefined::Undefined,
            expiry_dt: MaybeUndefined::Value(time(EXPIRY)),
            priority: MaybeUndefined::Undefined,
            labels: MaybeUndefined::Undefined,
        }
    }
}

impl Example for TaskReplacement {
    fn example() -> Self {
        Self {
            id: 42,
            title: Some(JsonString::new("Pay rent")),
            description: MaybeUndefined::Undefined,
            expiry_dt: MaybeUndefined::Value(time(EXPIRY)),
            priority: MaybeUndefined::Undefined,
            labels: MaybeUndefined::Undefined,
        }
    }
}

impl Example for TaskPatchInput {
    fn example() -> Self {
        Self {
            title: MaybeUndefined::Undefined,
            description: MaybeUndefined::Undefined,
            expiry_dt: MaybeUndefined::Value(time(EXPIRY)),
            priority: MaybeUndefined::Undefined,
            labels: MaybeUndefined::Undefined,
        }
    }
}

impl Example for TaskIdList {
    fn example() -> Self {
        Self {
            ids: vec![TaskId::from_db(42), TaskId::from_db(43)],
        }
    }
}

impl Example for TaskReplacements {
    fn example() -> Self {
        Self {
            tasks: vec![TaskReplacement::example()],
        }
    }
}

impl Example for TaskPage {
    fn example() -> Self {
        Self {
            tasks: vec![TaskBody::example()],
            limit: 1,
            offset: 0,
            next_cursor: Some(CURSOR.into()),
            total: None,
        }
    }
}

impl Example for TaskList {
    fn example() -> Self {
        Self {
            tasks: vec![TaskBody::example()],
        }
    }
}

impl Example for DeleteResult {
    fn example() -> Self {
        Self { deleted: 3 }
    }
}

impl Example for Problem {
    fn example() -> Self {
        Problem::invalid(vec![FieldError::new(
            "title",
            "must not be empty or only white space",
        )])
    }
}

impl Example for NotificationBody {
    fn example() -> Self {
        Self {
            id: 7,
            task_id: 42,
            title: "Pay rent".into(),
            kind: KindBody::Expiring,
            expiry_dt: time(EXPIRY),
            notified_at: time(EXPIRY - 900_000_000),
            late: false,
            delivery_state: DeliveryStateBody::Delivered,
            delivery_attempts: 1,
            last_delivery_error: None,
            delivered_at: Some(time(EXPIRY - 899_800_000)),
        }
    }
}

impl Example for NotificationPage {
    fn example() -> Self {
        Self {
            notifications: vec![NotificationBody::example()],
            limit: 1,
            offset: 0,
            next_cursor: Some(CURSOR.into()),
            total: None,
        }
    }
}

/// The health check's body when the database is down.
pub fn unhealthy() -> Value {
    json!({"status": "unavailable", "database": "unavailable"})
}

/// An example of `kind` as operation `op` answers it.
pub fn problem(op: &str, kind: ProblemKind) -> Value {
    let id = || TaskId::from_db(42);
    let example = match kind {
        ProblemKind::BadRequest => match op {
            "create_task" | "replace_task" | "replace_tasks" | "patch_task" => {
                let field = if op == "replace_tasks" {
                    "tasks[0].title"
                } else {
                    "title"
                };
                Problem::invalid(vec![FieldError::new(
                    field,
                    "must not be empty or only white space",
                )])
            }
            "list_tasks" | "list_notifications" | "list_task_notifications" => {
                Problem::invalid(vec![FieldError::new(
                    "limit",
                    super::parameters::PARAMETERS.expectation("limit"),
                )])
            }
            "get_task" | "delete_task" => Problem::invalid(vec![FieldError::new(
                "If-None-Match",
                super::etag::EXPECTED,
            )]),
            "complete_task" | "reopen_task" => {
                Problem::invalid(vec![FieldError::new("If-Match", super::etag::EXPECTED)])
            }
            "delete_tasks" => Problem::invalid(vec![FieldError::new(
                "id",
                "is not a parameter of this operation; it takes ids",
            )]),
            _ => Problem::invalid(vec![FieldError::new(
                "verbose",
                "is not a parameter of this operation, which takes none",
            )]),
        },
        ProblemKind::Unauthorized => Problem::new(
            kind,
            None,
            "this endpoint requires `Authorization: Bearer <token>`",
        ),
        ProblemKind::Forbidden => Problem::new(
            kind,
            None,
            "the token \"dashboard\" does not have the `write` scope this request needs",
        ),
        ProblemKind::NotFound if op == "replace_tasks" => {
            Problem::not_found(vec![TaskId::from_db(98), TaskId::from_db(99)])
        }
        ProblemKind::NotFound => Problem::not_found(vec![id()]),
        ProblemKind::PreconditionFailed => Problem::new(
            kind,
            None,
            "task 42 has changed since the version in If-Match; fetch it again",
        ),
        ProblemKind::Conflict => Problem::new(
            kind,
            None,
            "the database refused the change; nothing was changed",
        ),
        ProblemKind::PayloadTooLarge => {
            Problem::new(kind, None, "the request body is larger than 1048576 bytes")
        }
        ProblemKind::UnsupportedMediaType => Problem::new(
            kind,
            None,
            "this operation does not take a body of type `text/plain`",
        ),
        ProblemKind::Unprocessable if op == "create_task" => {
            super::problem::describe_service_error(
                &crate::service::ServiceError::IdempotencyKeyReused,
            )
        }
        ProblemKind::Unprocessable if op == "list_tasks" => Problem::about_fields(
            kind,
            "unsearchable-query",
            vec![FieldError::invalid(
                "q",
                &crate::domain::ValidationError::QueryWithoutWords,
            )],
        ),
        ProblemKind::Unprocessable => Problem::about_fields(
            kind,
            "conflicting-items",
            vec![FieldError::new(
                "tasks[1].id",
                "id 42 appears more than once",
            )],
        ),
        ProblemKind::Internal => Problem::internal(),
        ProblemKind::Unavailable if op == "stream_notifications" => {
            Problem::unavailable("too many event streams are open; try again shortly")
        }
        ProblemKind::Unavailable => {
            super::problem::describe_service_error(&crate::service::ServiceError::Unavailable {
                reason: crate::service::Unavailable::TimedOut,
                source: None,
            })
        }
        ProblemKind::OutcomeUnknown => super::problem::describe_service_error(
            &crate::service::ServiceError::OutcomeUnknown(None),
        ),
    };
    example.to_json().unwrap_or_default()
}
