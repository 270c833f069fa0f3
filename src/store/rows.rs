//! Row types shared by both backends; each backend supplies its time encoding.

use crate::domain::{
    Delivery, DeliveryState, Description, Notification, NotificationKind, Task, TaskId, Timestamp,
    Title,
};

use super::StoreError;

/// How a backend stores a [`Timestamp`].
pub trait DbTime: Sized {
    fn encode(ts: Timestamp) -> Self;
    fn decode(self) -> Result<Timestamp, StoreError>;
}

/// SQLite: integer microseconds since the epoch, so `ORDER BY` and range
/// filters compare instants, not text.
impl DbTime for i64 {
    fn encode(ts: Timestamp) -> Self {
        ts.micros()
    }

    fn decode(self) -> Result<Timestamp, StoreError> {
        Timestamp::from_micros(self).ok_or_else(|| StoreError::Corrupt(format!("time {self}")))
    }
}

/// MySQL: `DATETIME(6)` holding UTC.
impl DbTime for chrono::NaiveDateTime {
    fn encode(ts: Timestamp) -> Self {
        ts.naive_utc()
    }

    fn decode(self) -> Result<Timestamp, StoreError> {
        Ok(Timestamp::from_naive_utc(self))
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct TaskRow<T> {
    id: i64,
    title: String,
    description: Option<String>,
    expiry_dt: Option<T>,
    create_dt: T,
    update_dt: T,
}

impl<T: DbTime> TryFrom<TaskRow<T>> for Task {
    type Error = StoreError;

    fn try_from(row: TaskRow<T>) -> Result<Self, Self::Error> {
        let corrupt = |what: &str, err: crate::domain::ValidationError| {
            StoreError::Corrupt(format!("task {}: {what} {err}", row.id))
        };
        Ok(Task {
            id: TaskId::from_db(row.id),
            title: Title::parse(&row.title).map_err(|e| corrupt("title", e))?,
            description: row
                .description
                .map(Description::parse)
                .transpose()
                .map_err(|e| corrupt("description", e))?,
            expiry_dt: row.expiry_dt.map(DbTime::decode).transpose()?,
            create_dt: row.create_dt.decode()?,
            update_dt: row.update_dt.decode()?,
        })
    }
}

pub const SELECT_TASK: &str =
    "SELECT id, title, description, expiry_dt, create_dt, update_dt FROM task WHERE id = ?";
pub const LIST_TASKS: &str = "SELECT id, title, description, expiry_dt, create_dt, update_dt \
     FROM task WHERE (? IS NULL OR expiry_dt < ?) AND (? IS NULL OR expiry_dt >= ?) \
     ORDER BY id LIMIT ? OFFSET ?";
pub const COUNT_TASKS: &str = "SELECT COUNT(*) FROM task \
     WHERE (? IS NULL OR expiry_dt < ?) AND (? IS NULL OR expiry_dt >= ?)";
pub const INSERT_TASK: &str = "INSERT INTO task (title, description, expiry_dt, create_dt, update_dt) \
     VALUES (?, ?, ?, ?, ?)";
pub const UPDATE_TASK: &str =
    "UPDATE task SET title = ?, description = ?, expiry_dt = ?, update_dt = ? WHERE id = ?";
pub const DELETE_TASK: &str = "DELETE FROM task WHERE id = ?";
pub const DELETE_ALL_TASKS: &str = "DELETE FROM task";

#[derive(Debug, sqlx::FromRow)]
pub struct PendingRow<T> {
    id: i64,
    expiry_dt: T,
    update_dt: T,
}

impl<T: DbTime> TryFrom<PendingRow<T>> for super::PendingExpiry {
    type Error = StoreError;

    fn try_from(row: PendingRow<T>) -> Result<Self, Self::Error> {
        Ok(Self {
            task_id: TaskId::from_db(row.id),
            expiry_dt: row.expiry_dt.decode()?,
            version: row.update_dt.decode()?,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct NotificationRow<T> {
    id: i64,
    task_id: i64,
    title: String,
    kind: String,
    expiry_dt: T,
    notified_at: T,
    late: bool,
    delivery_state: String,
    delivery_attempts: i32,
    last_error: Option<String>,
    delivered_at: Option<T>,
}

impl<T: DbTime> TryFrom<NotificationRow<T>> for Notification {
    type Error = StoreError;

    fn try_from(row: NotificationRow<T>) -> Result<Self, Self::Error> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("notification {}: {what}", row.id));
        Ok(Notification {
            id: row.id,
            task_id: TaskId::from_db(row.task_id),
            title: Title::parse(&row.title).map_err(|_| corrupt("title"))?,
            kind: NotificationKind::parse(&row.kind).ok_or_else(|| corrupt("kind"))?,
            expiry_dt: row.expiry_dt.decode()?,
            notified_at: row.notified_at.decode()?,
            late: row.late,
            delivery: Delivery {
                state: DeliveryState::parse(&row.delivery_state)
                    .ok_or_else(|| corrupt("delivery_state"))?,
                attempts: u32::try_from(row.delivery_attempts).unwrap_or_default(),
                last_error: row.last_error,
                delivered_at: row.delivered_at.map(DbTime::decode).transpose()?,
            },
        })
    }
}

/// A task awaits a warning while it has an expiry that no notification
/// records yet.
macro_rules! awaiting_warning {
    () => {
        " t.expiry_dt IS NOT NULL AND NOT EXISTS \
         (SELECT 1 FROM notification n WHERE n.task_id = t.id AND n.expiry_dt = t.expiry_dt)"
    };
}

pub const PENDING_EXPIRY: &str = concat!(
    "SELECT t.id, t.expiry_dt, t.update_dt FROM task t WHERE t.id = ? AND",
    awaiting_warning!()
);
pub const PENDING_BATCH: &str = concat!(
    "SELECT t.id, t.expiry_dt, t.update_dt FROM task t WHERE t.id > ? AND",
    awaiting_warning!(),
    " ORDER BY t.id LIMIT ?"
);
pub const CHANGED_PENDING_BATCH: &str = concat!(
    "SELECT t.id, t.expiry_dt, t.update_dt FROM task t WHERE t.update_dt >= ? AND t.id > ? AND",
    awaiting_warning!(),
    " ORDER BY t.id LIMIT ?"
);

pub const SELECT_NOTIFICATION: &str = "SELECT id, task_id, title, kind, expiry_dt, notified_at, late, \
     delivery_state, delivery_attempts, last_error, delivered_at FROM notification WHERE id = ?";
pub const LIST_NOTIFICATIONS: &str = "SELECT id, task_id, title, kind, expiry_dt, notified_at, late, \
     delivery_state, delivery_attempts, last_error, delivered_at FROM notification \
     WHERE (? IS NULL OR task_id = ?) ORDER BY id DESC LIMIT ? OFFSET ?";
pub const COUNT_NOTIFICATIONS: &str =
    "SELECT COUNT(*) FROM notification WHERE (? IS NULL OR task_id = ?)";
pub const DUE_DELIVERIES: &str = "SELECT id, task_id, title, kind, expiry_dt, notified_at, late, \
     delivery_state, delivery_attempts, last_error, delivered_at FROM notification \
     WHERE delivery_state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?";
/// Takes a delivery for one replica until the lease ends; matches only if
/// no other replica took it meanwhile.
pub const LEASE_DELIVERY: &str = "UPDATE notification SET next_attempt_at = ? \
     WHERE id = ? AND delivery_state = 'pending' AND next_attempt_at <= ?";
pub const RECORD_DELIVERY: &str = "UPDATE notification SET delivery_state = ?, \
     delivery_attempts = delivery_attempts + 1, last_error = COALESCE(?, last_error), \
     next_attempt_at = ?, delivered_at = ? \
     WHERE id = ?";
