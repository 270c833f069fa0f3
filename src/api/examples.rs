//! The examples Swagger UI and the spec show for each wire type.

use poem_openapi::types::{Example, MaybeUndefined};

use super::json_string::JsonString;
use super::notification_types::{DeliveryStateBody, KindBody, NotificationBody, NotificationPage};
use super::problem::{FieldError, Problem};
use super::task_types::{
    DeleteResult, TaskBody, TaskInput, TaskList, TaskPage, TaskPatchInput, TaskReplacement,
    TaskReplacements,
};
use super::time::ApiTime;
use crate::domain::Timestamp;

fn time(micros: i64) -> ApiTime {
    Timestamp::from_micros(micros)
        .map(ApiTime::from)
        .unwrap_or_else(|| ApiTime::from(Timestamp::now()))
}

/// 2026-01-01T02:00:00Z, 2025-12-30T09:00:00Z.
const EXPIRY: i64 = 1_767_232_800_000_000;
const CREATED: i64 = 1_767_085_200_000_000;

impl Example for TaskBody {
    fn example() -> Self {
        Self {
            id: 42,
            title: "Pay rent".into(),
            description: Some("Transfer to the landlord".into()),
            expiry_dt: Some(time(EXPIRY)),
            create_dt: time(CREATED),
            update_dt: time(CREATED),
        }
    }
}

impl Example for TaskInput {
    fn example() -> Self {
        Self {
            title: JsonString::new("Pay rent"),
            description: Some(JsonString::new("Transfer to the landlord")),
            expiry_dt: Some(time(EXPIRY)),
        }
    }
}

impl Example for TaskReplacement {
    fn example() -> Self {
        Self {
            id: 42,
            title: JsonString::new("Pay rent"),
            description: None,
            expiry_dt: Some(time(EXPIRY)),
        }
    }
}

impl Example for TaskPatchInput {
    fn example() -> Self {
        Self {
            title: MaybeUndefined::Undefined,
            description: MaybeUndefined::Null,
            expiry_dt: MaybeUndefined::Value(time(EXPIRY)),
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
            total: 1,
            limit: 100,
            offset: 0,
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
        Self {
            kind: "urn:taskman:problem:validation".into(),
            title: "Bad Request".into(),
            status: 400,
            detail: "title: must not be empty or only white space".into(),
            errors: vec![FieldError {
                field: "title".into(),
                message: "must not be empty or only white space".into(),
            }],
            missing_ids: Vec::new(),
        }
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
            total: 1,
            limit: 100,
            offset: 0,
        }
    }
}
