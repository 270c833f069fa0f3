//! Row types shared by both backends; each backend supplies its time encoding.

use crate::domain::{Description, Task, TaskId, Timestamp, Title};

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
