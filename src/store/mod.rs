//! Persistence: one small interface, one module per backend.

mod mysql;
mod notification_sql;
mod rows;
mod sqlite;
mod task_sql;

use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::{
    Claim, Notification, Precondition, Task, TaskDraft, TaskId, TaskPatch, Timestamp,
};

pub use mysql::MySqlStore;
pub use sqlite::SqliteStore;

/// What can go wrong below the API. Never shown to clients verbatim.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// These tasks do not exist; nothing was changed.
    #[error("no task with id {0:?}")]
    NotFound(Vec<TaskId>),
    /// The task is no longer at the version the client named; nothing was changed.
    #[error("task {0} has changed")]
    PreconditionFailed(TaskId),
    /// The database cannot be reached or is too busy to answer now.
    #[error("database unavailable")]
    Unavailable(#[source] sqlx::Error),
    #[error("database error")]
    Database(#[source] sqlx::Error),
    /// A stored row breaks a rule the service keeps; a bug or a hand edit.
    #[error("stored row is invalid: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        use sqlx::Error as E;
        match &err {
            E::Io(_) | E::Tls(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed => {
                Self::Unavailable(err)
            }
            E::Database(db) if is_transient(db.code().as_deref()) => Self::Unavailable(err),
            _ => Self::Database(err),
        }
    }
}

/// Lock and deadlock codes a retry can clear: SQLite BUSY/LOCKED, MySQL
/// lock wait timeout (1205) and deadlock (1213).
fn is_transient(code: Option<&str>) -> bool {
    matches!(code, Some("5" | "6" | "517" | "1205" | "1213" | "40001"))
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Which tasks a listing shows.
#[derive(Clone, Copy, Debug, Default)]
pub struct TaskFilter {
    /// Only tasks whose expiry is strictly before this instant.
    pub expires_before: Option<Timestamp>,
    /// Only tasks whose expiry is at or after this instant.
    pub expires_after: Option<Timestamp>,
}

#[derive(Clone, Copy, Debug)]
pub struct PageRequest {
    pub limit: u32,
    pub offset: u64,
}

#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
}

/// A task's expiry that still awaits its warning, as the expiry service
/// needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingExpiry {
    pub task_id: TaskId,
    pub expiry_dt: Timestamp,
    /// The task's `update_dt`: when this expiry was set.
    pub version: Timestamp,
}

/// The result of one webhook delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered {
        at: Timestamp,
    },
    Retry {
        error: String,
        next_attempt_at: Timestamp,
    },
    Failed {
        error: String,
    },
}

/// The notification table and the queries the expiry service makes of tasks.
#[async_trait]
pub trait NotificationStore: Send + Sync + 'static {
    /// Records the warning if the task still has this expiry and no one
    /// recorded it before: the claim that makes a warning exactly-once
    /// across restarts and replicas. `None` when the claim was not won.
    async fn claim(&self, claim: &Claim) -> StoreResult<Option<Notification>>;
    /// The task's expiry, if it still awaits a warning.
    async fn pending_expiry(&self, id: TaskId) -> StoreResult<Option<PendingExpiry>>;
    /// One batch, by id after `after`, of the tasks awaiting a warning;
    /// with `changed_since`, only those changed at or after it.
    async fn pending_expiries(
        &self,
        after: Option<TaskId>,
        changed_since: Option<Timestamp>,
        limit: u32,
    ) -> StoreResult<Vec<PendingExpiry>>;
    /// Newest first.
    async fn list_notifications(
        &self,
        task_id: Option<TaskId>,
        page: PageRequest,
    ) -> StoreResult<Page<Notification>>;
    /// Takes up to `limit` deliveries due at `now` for this replica until
    /// `lease_until`.
    async fn lease_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Notification>>;
    async fn record_delivery(&self, id: i64, outcome: &DeliveryOutcome) -> StoreResult<()>;
}

/// Both interfaces of one backend.
pub trait Store: TaskStore + NotificationStore {}
impl<T: TaskStore + NotificationStore> Store for T {}

/// The task table. Every write is one transaction: it happens whole or not at all.
#[async_trait]
pub trait TaskStore: Send + Sync + 'static {
    async fn ping(&self) -> StoreResult<()>;
    async fn create(&self, draft: &TaskDraft, now: Timestamp) -> StoreResult<Task>;
    async fn get(&self, id: TaskId) -> StoreResult<Option<Task>>;
    async fn list(&self, filter: TaskFilter, page: PageRequest) -> StoreResult<Page<Task>>;
    async fn replace(
        &self,
        id: TaskId,
        draft: &TaskDraft,
        now: Timestamp,
        condition: &Precondition,
    ) -> StoreResult<Task>;
    async fn patch(
        &self,
        id: TaskId,
        patch: TaskPatch,
        now: Timestamp,
        condition: &Precondition,
    ) -> StoreResult<Task>;
    /// All or nothing: if any id is missing, [`StoreError::NotFound`] names every missing one.
    async fn replace_many(
        &self,
        items: &[(TaskId, TaskDraft)],
        now: Timestamp,
    ) -> StoreResult<Vec<Task>>;
    async fn delete(&self, id: TaskId, condition: &Precondition) -> StoreResult<()>;
    /// Deletes the given tasks that exist; returns how many there were.
    async fn delete_many(&self, ids: &[TaskId]) -> StoreResult<u64>;
    async fn delete_all(&self) -> StoreResult<u64>;
}

/// The two views of one opened backend.
#[derive(Clone)]
pub struct Stores {
    pub tasks: Arc<dyn TaskStore>,
    pub notifications: Arc<dyn NotificationStore>,
}

impl Stores {
    fn of<S: Store>(store: S) -> Self {
        let store = Arc::new(store);
        Self {
            tasks: store.clone(),
            notifications: store,
        }
    }
}

/// Opens the backend named by the URL's scheme and applies its migrations.
pub async fn connect(database_url: &str, options: &PoolOptions) -> anyhow::Result<Stores> {
    Ok(match Backend::of(database_url)? {
        Backend::Sqlite => Stores::of(SqliteStore::connect(database_url, options).await?),
        Backend::MySql => Stores::of(MySqlStore::connect(database_url, options).await?),
    })
}

/// Pool settings shared by both backends.
#[derive(Clone, Debug)]
pub struct PoolOptions {
    pub max_connections: u32,
    pub acquire_timeout: std::time::Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    MySql,
}

impl Backend {
    pub fn of(database_url: &str) -> anyhow::Result<Self> {
        let scheme = database_url.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" => Ok(Self::Sqlite),
            "mysql" => Ok(Self::MySql),
            _ => anyhow::bail!(
                "unsupported DATABASE_URL scheme {scheme:?}: use sqlite://PATH or mysql://USER:PASS@HOST:PORT/DB"
            ),
        }
    }
}
