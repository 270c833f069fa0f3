//! Row types shared by both backends, and how stored rows become domain
//! values: leniently, since another tool may have written them.
//!
//! Input is validated once, by the domain, before it is written. What is
//! read back is served as faithfully as JSON allows, never refused: a
//! `NULL` title reads as empty, a date that cannot be read (a MySQL zero
//! date, text in an SQLite integer column) reads as `None`, and a log line
//! names the table, the row and the column.

use sqlx::{Database, Decode, Type, ValueRef};

use crate::domain::{
    Delivery, DeliveryState, Description, Labels, Notification, NotificationKind, PendingExpiry,
    Priority, Task, TaskId, TaskStatus, Timestamp, Title,
};

/// How a backend stores a [`Timestamp`].
pub trait DbTime: Sized {
    fn encode(ts: Timestamp) -> Self;
    /// `None` when the stored value is no instant at all.
    fn to_timestamp(self) -> Option<Timestamp>;
}

/// SQLite: integer microseconds since the epoch, so `ORDER BY` and range
/// filters compare instants, not text.
impl DbTime for i64 {
    fn encode(ts: Timestamp) -> Self {
        ts.micros()
    }

    fn to_timestamp(self) -> Option<Timestamp> {
        Timestamp::from_micros(self)
    }
}

/// MySQL: `DATETIME(6)` holding UTC.
impl DbTime for chrono::NaiveDateTime {
    fn encode(ts: Timestamp) -> Self {
        ts.naive_utc()
    }

    fn to_timestamp(self) -> Option<Timestamp> {
        Some(Timestamp::from_naive_utc(self))
    }
}

/// A column as stored: `NULL`, a value, or something that does not decode
/// as `T`. Decoding it never fails, so one odd row cannot fail a query.
#[derive(Debug)]
pub enum Stored<T> {
    Null,
    Value(T),
    Unreadable(String),
}

impl<'r, DB: Database, T: Decode<'r, DB> + Type<DB>> Decode<'r, DB> for Stored<T>
where
    &'r [u8]: Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        if value.is_null() {
            // sqlx's MySQL driver reports a zero date as NULL; its bytes
            // tell the two apart (a real NULL has none).
            return Ok(match <&[u8] as Decode<DB>>::decode(value) {
                Ok(bytes) if !bytes.is_empty() => Self::Unreadable("a zero date".to_owned()),
                _ => Self::Null,
            });
        }
        // SQLite stores any type in any column, and its driver converts on
        // read (text in an integer column reads as 0, a date of 1970): what
        // was stored must itself be of a type `T` reads.
        let stored = value.type_info();
        if !T::compatible(&stored) {
            return Ok(Self::Unreadable(format!("a {stored} value")));
        }
        Ok(match T::decode(value) {
            Ok(decoded) => Self::Value(decoded),
            Err(err) => Self::Unreadable(err.to_string()),
        })
    }
}

impl<DB: Database, T: Type<DB>> Type<DB> for Stored<T> {
    fn type_info() -> DB::TypeInfo {
        T::type_info()
    }

    /// Any column type: what does not decode as `T` becomes `Unreadable`.
    fn compatible(_: &DB::TypeInfo) -> bool {
        true
    }
}

/// The stored values already logged as unreadable: each is logged once per
/// process, not at every read of its row (a task list read every second
/// would fill the log). Bounded: past [`LOGGED_AT_MOST`] values, later ones
/// are no longer logged.
struct LoggedOnce(std::sync::Mutex<std::collections::HashSet<(&'static str, i64, String)>>);

const LOGGED_AT_MOST: usize = 10_000;

static UNREADABLE_LOGGED: std::sync::LazyLock<LoggedOnce> =
    std::sync::LazyLock::new(|| LoggedOnce(std::sync::Mutex::default()));

impl LoggedOnce {
    fn first_time(&self, table: &'static str, id: i64, column: &str) -> bool {
        let Ok(mut logged) = self.0.lock() else {
            return true;
        };
        if logged.len() >= LOGGED_AT_MOST {
            return false;
        }
        logged.insert((table, id, column.to_owned()))
    }
}

/// Reads one column of one row, logging what cannot be read.
struct RowReader {
    table: &'static str,
    id: i64,
}

impl RowReader {
    fn value<T>(&self, column: &str, stored: Stored<T>) -> Option<T> {
        match stored {
            Stored::Null => None,
            Stored::Value(value) => Some(value),
            Stored::Unreadable(why) => {
                self.unreadable(column, &why);
                None
            }
        }
    }

    fn time<T: DbTime>(&self, column: &str, stored: Stored<T>) -> Option<Timestamp> {
        let value = self.value(column, stored)?;
        let time = value.to_timestamp();
        if time.is_none() {
            self.unreadable(column, "not an instant");
        }
        time
    }

    /// A task's status: anything but `done` is open (see
    /// [`TaskStatus::from_stored`]); a value taskman does not write is
    /// logged.
    fn status(&self, stored: Stored<String>) -> TaskStatus {
        let odd = match &stored {
            Stored::Value(value) if TaskStatus::parse(value).is_some() => None,
            Stored::Value(value) => Some(format!("{value:?} is neither open nor done")),
            Stored::Null => Some("NULL".to_owned()),
            Stored::Unreadable(why) => Some(why.clone()),
        };
        let status = match &stored {
            Stored::Value(value) => TaskStatus::from_stored(Some(value)),
            _ => TaskStatus::Open,
        };
        if let Some(why) = odd
            && UNREADABLE_LOGGED.first_time(self.table, self.id, "status")
        {
            tracing::warn!(
                table = self.table,
                id = self.id,
                column = "status",
                reason = why,
                served = status.as_str(),
                "stored status is not one taskman writes; it is served as `served`"
            );
        }
        status
    }

    /// A task's labels, read leniently ([`Labels::from_stored`]): `NULL`
    /// is none, and so is anything but a JSON array (logged).
    fn labels(&self, stored: Stored<String>) -> Labels {
        let Some(stored) = self.value("labels", stored) else {
            return Labels::default();
        };
        let labels = Labels::from_stored(&stored);
        if labels.is_empty() && !matches!(stored.trim(), "" | "[]") {
            self.unreadable("labels", "no label is a string of a JSON array");
        }
        labels
    }

    fn unreadable(&self, column: &str, why: &str) {
        if !UNREADABLE_LOGGED.first_time(self.table, self.id, column) {
            return;
        }
        tracing::warn!(
            table = self.table,
            id = self.id,
            column,
            reason = why,
            "stored value cannot be read; it is served as null"
        );
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct TaskRow<T> {
    id: i64,
    title: Stored<String>,
    description: Stored<String>,
    expiry_dt: Stored<T>,
    create_dt: Stored<T>,
    update_dt: Stored<T>,
    status: Stored<String>,
    completed_dt: Stored<T>,
    priority: Stored<i64>,
    labels: Stored<String>,
}

impl<T: DbTime> From<TaskRow<T>> for Task {
    fn from(row: TaskRow<T>) -> Self {
        let read = RowReader {
            table: "task",
            id: row.id,
        };
        Task {
            id: TaskId::from_db(row.id),
            title: Title::from_stored(read.value("title", row.title)),
            description: read
                .value("description", row.description)
                .map(Description::from_stored),
            expiry_dt: read.time("expiry_dt", row.expiry_dt),
            create_dt: read.time("create_dt", row.create_dt),
            update_dt: read.time("update_dt", row.update_dt),
            status: read.status(row.status),
            completed_dt: read.time("completed_dt", row.completed_dt),
            priority: read
                .value("priority", row.priority)
                .map(Priority::from_stored),
            labels: read.labels(row.labels),
        }
    }
}

/// A task's expiry as the expiry service reads it.
#[derive(Debug, sqlx::FromRow)]
pub struct PendingRow<T> {
    id: i64,
    expiry_dt: Stored<T>,
    update_dt: Stored<T>,
}

impl<T: DbTime> PendingRow<T> {
    pub fn id(&self) -> i64 {
        self.id
    }

    /// `None`, with a log line, when the expiry cannot be read: such a task
    /// is skipped for warnings, and the rest go on.
    pub fn into_pending(self) -> Option<PendingExpiry> {
        let read = RowReader {
            table: "task",
            id: self.id,
        };
        let expiry_dt = read.time("expiry_dt", self.expiry_dt);
        if expiry_dt.is_none() {
            tracing::warn!(
                table = "task",
                id = self.id,
                "task skipped for expiry warnings: its expiry_dt cannot be read"
            );
        }
        Some(PendingExpiry {
            task_id: TaskId::from_db(self.id),
            expiry_dt: expiry_dt?,
            version: read.time("update_dt", self.update_dt),
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct NotificationRow<T> {
    id: i64,
    task_id: i64,
    title: Stored<String>,
    kind: Stored<String>,
    expiry_dt: Stored<T>,
    notified_at: Stored<T>,
    late: Stored<bool>,
    delivery_state: Stored<String>,
    delivery_attempts: Stored<i32>,
    last_error: Stored<String>,
    delivered_at: Stored<T>,
}

impl<T: DbTime> NotificationRow<T> {
    pub fn id(&self) -> i64 {
        self.id
    }

    /// `None`, with a log line, for a row this service did not write and
    /// cannot make sense of; listings skip it.
    pub fn into_notification(self) -> Option<Notification> {
        let read = RowReader {
            table: "notification",
            id: self.id,
        };
        let kind = read
            .value("kind", self.kind)
            .and_then(|kind| NotificationKind::parse(&kind));
        let expiry_dt = read.time("expiry_dt", self.expiry_dt);
        let notified_at = read.time("notified_at", self.notified_at);
        let (Some(kind), Some(expiry_dt), Some(notified_at)) = (kind, expiry_dt, notified_at)
        else {
            tracing::warn!(
                table = "notification",
                id = self.id,
                "notification skipped: its kind or times cannot be read"
            );
            return None;
        };
        Some(Notification {
            id: self.id,
            task_id: TaskId::from_db(self.task_id),
            title: Title::from_stored(read.value("title", self.title)),
            kind,
            expiry_dt,
            notified_at,
            late: read.value("late", self.late).unwrap_or(false),
            delivery: Delivery {
                state: read
                    .value("delivery_state", self.delivery_state)
                    .and_then(|state| DeliveryState::parse(&state))
                    .unwrap_or(DeliveryState::None),
                attempts: read
                    .value("delivery_attempts", self.delivery_attempts)
                    .and_then(|n| u32::try_from(n).ok())
                    .unwrap_or_default(),
                last_error: read.value("last_error", self.last_error),
                delivered_at: read.time("delivered_at", self.delivered_at),
            },
        })
    }
}

/// What a create with an idempotency key recorded: the request's
/// fingerprint and, once the task exists, the task as it was created.
#[derive(Debug, sqlx::FromRow)]
pub struct IdempotencyRow<T> {
    pub fingerprint: String,
    pub expires_at: Stored<T>,
    pub task_id: Option<i64>,
    pub title: Stored<String>,
    pub description: Stored<String>,
    pub expiry_dt: Stored<T>,
    pub create_dt: Stored<T>,
    pub priority: Stored<i64>,
    pub labels: Stored<String>,
}

impl<T: DbTime> IdempotencyRow<T> {
    pub fn expires_at(&mut self) -> Option<Timestamp> {
        let stored = std::mem::replace(&mut self.expires_at, Stored::Null);
        RowReader {
            table: "idempotency_key",
            id: self.task_id.unwrap_or_default(),
        }
        .time("expires_at", stored)
    }

    /// The task as the first request created it.
    pub fn into_task(self) -> Option<Task> {
        let id = self.task_id?;
        let read = RowReader {
            table: "idempotency_key",
            id,
        };
        let created = read.time("create_dt", self.create_dt);
        Some(Task {
            id: TaskId::from_db(id),
            title: Title::from_stored(read.value("title", self.title)),
            description: read
                .value("description", self.description)
                .map(Description::from_stored),
            expiry_dt: read.time("expiry_dt", self.expiry_dt),
            create_dt: created,
            update_dt: created,
            status: TaskStatus::Open,
            completed_dt: None,
            priority: read
                .value("priority", self.priority)
                .map(Priority::from_stored),
            labels: read.labels(self.labels),
        })
    }
}
