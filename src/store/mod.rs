//! Persistence: small interfaces, one generic SQL store behind them, and a
//! dialect per backend that supplies what differs (connections, locking,
//! time encoding, statements that are not portable, error codes).

mod adopt;
mod archive;
mod backup;
mod connections;
mod create;
mod dialect;
mod error;
mod expiries;
mod lease;
mod locks;
mod migrate;
mod mysql;
mod mysql_migrations;
mod notifications;
mod op;
mod reachability;
mod rows;
mod sql;
mod sql_store;
mod sqlite;
mod status;
mod task_list;
mod tasks;
mod text_index;
mod write_queue;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::domain::{
    Claim, Created, IdempotentCreate, Notification, NotificationFilter, Page, PageRequest,
    PendingExpiry, Precondition, Task, TaskDraft, TaskFilter, TaskId, TaskIds, TaskOrder,
    TaskPatch, TaskPosition, TaskStatus, Timestamp,
};

pub use archive::{export, import};
pub use backup::{BackupSummary, backup};
pub use error::{StoreError, StoreResult, Unavailable};
pub use sql_store::{DatabaseHealth, SqlStore, StoreStats};

/// The task table. Every write is one transaction: it happens whole or not
/// at all. The store stamps `update_dt` itself, under the row lock, so a
/// task's versions grow in commit order.
#[async_trait]
pub trait TaskStore: Send + Sync + 'static {
    /// Creates the task; with an idempotency key, a repeat of an earlier
    /// create answers that create's task instead (see [`Created`]).
    async fn create(
        &self,
        draft: &TaskDraft,
        now: Timestamp,
        idempotency: Option<&IdempotentCreate>,
    ) -> StoreResult<Created>;
    async fn get(&self, id: TaskId) -> StoreResult<Option<Task>>;
    /// A page of the tasks `filter` admits, in `order`.
    async fn list(
        &self,
        filter: TaskFilter,
        order: TaskOrder,
        page: PageRequest<TaskPosition>,
    ) -> StoreResult<Page<Task, TaskPosition>>;
    /// Changes the fields the patch names (`PATCH` and `PUT` alike); a title
    /// that breaks the rules is [`StoreError::InvalidTitle`] unless it is
    /// the stored one sent back.
    async fn patch(
        &self,
        id: TaskId,
        patch: &TaskPatch,
        now: Timestamp,
        condition: &Precondition,
    ) -> StoreResult<Task>;
    /// All or nothing: if any id is missing, [`StoreError::NotFound`] names
    /// every missing one (and [`StoreError::InvalidTitle`] every bad title).
    /// Rows are locked in ascending id order, so two bulk writes cannot
    /// deadlock each other.
    async fn replace_many(
        &self,
        items: &[(TaskId, TaskPatch)],
        now: Timestamp,
    ) -> StoreResult<Vec<Task>>;
    /// Completes (`Done`) or reopens (`Open`) the task: completing stamps
    /// `completed_dt` with `now`, reopening clears it. A task that already
    /// has the status is answered as it is, and nothing is written (its
    /// version stays), whatever `condition` names: the change a client
    /// asks for is already made, maybe by its own earlier attempt whose
    /// answer it lost (RFC 9110 §13.1.1 allows a 2xx then). Otherwise a
    /// `condition` that does not hold is [`StoreError::PreconditionFailed`].
    async fn set_status(
        &self,
        id: TaskId,
        status: TaskStatus,
        now: Timestamp,
        condition: &Precondition,
    ) -> StoreResult<Task>;
    /// [`TaskStore::set_status`] for many tasks, all or nothing: if any id
    /// is missing, [`StoreError::NotFound`] names every missing one, in the
    /// order given, and nothing changes. Answers every task, in the order
    /// given; those that had the status already are as they were.
    async fn set_status_many(
        &self,
        ids: &TaskIds,
        status: TaskStatus,
        now: Timestamp,
    ) -> StoreResult<Vec<Task>>;
    async fn delete(&self, id: TaskId, condition: &Precondition) -> StoreResult<()>;
    /// Deletes the given tasks that exist; returns how many there were.
    async fn delete_many(&self, ids: &[TaskId]) -> StoreResult<u64>;
    async fn delete_all(&self) -> StoreResult<u64>;
}

/// The warning history, as clients read it.
#[async_trait]
pub trait NotificationStore: Send + Sync + 'static {
    /// Newest first.
    async fn list(
        &self,
        filter: NotificationFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Notification>>;
    /// Oldest first, every notification with an id above `after`, at most
    /// `limit`: what a resuming event stream missed.
    async fn after(&self, after: i64, limit: u32) -> StoreResult<Vec<Notification>>;
    /// The highest notification id so far (0 for none).
    async fn latest_id(&self) -> StoreResult<i64>;
}

/// What the expiry service records and reads: claims, pending expiries and
/// webhook deliveries.
#[async_trait]
pub trait ExpiryStore: Send + Sync + 'static {
    /// Records each warning if its task still has this expiry and no one
    /// recorded it before: the claim that makes a warning exactly-once
    /// across restarts and replicas. Returns the claims won, in id order.
    /// All in one transaction, which commits after every earlier claim
    /// transaction (see `Dialect::ORDER_CLAIMS`): ids become visible in
    /// increasing order, which is what lets streams follow the history.
    async fn claim(&self, claims: &[Claim]) -> StoreResult<Vec<Notification>>;
    /// The task's expiry, if it still awaits a warning.
    async fn pending_expiry(&self, id: TaskId) -> StoreResult<Option<PendingExpiry>>;
    /// One batch, by id after `after`, of the tasks awaiting a warning;
    /// with `changed_since`, only those changed at or after it. A row whose
    /// expiry cannot be read is left out (and logged), not an error.
    async fn pending_expiries(
        &self,
        after: Option<TaskId>,
        changed_since: Option<Timestamp>,
        limit: u32,
    ) -> StoreResult<PendingBatch>;
    /// Takes up to `limit` deliveries due at `now` for this replica until
    /// `lease_until`.
    async fn lease_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Notification>>;
    async fn record_delivery(&self, id: i64, outcome: &DeliveryOutcome) -> StoreResult<()>;
    /// Forgets idempotency keys that expired before `now`; returns how many.
    async fn purge_idempotency_keys(&self, now: Timestamp) -> StoreResult<u64>;
}

/// One batch of pending expiries, and where the next batch starts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PendingBatch {
    pub pending: Vec<PendingExpiry>,
    /// The last id read, readable or not; `None` when the batch was the last.
    pub next_after: Option<TaskId>,
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

/// Whether the database can serve: reachable, and able to write.
#[async_trait]
pub trait HealthCheck: Send + Sync + 'static {
    async fn health(&self) -> DatabaseHealth;
    /// Pool and retry counters, for metrics.
    fn stats(&self) -> StoreStats;
}

/// Every interface of one opened backend.
#[derive(Clone)]
pub struct Stores {
    pub tasks: Arc<dyn TaskStore>,
    pub notifications: Arc<dyn NotificationStore>,
    pub expiries: Arc<dyn ExpiryStore>,
    pub health: Arc<dyn HealthCheck>,
}

impl Stores {
    fn of<S: TaskStore + NotificationStore + ExpiryStore + HealthCheck>(store: S) -> Self {
        let store = Arc::new(store);
        Self {
            tasks: store.clone(),
            notifications: store.clone(),
            expiries: store.clone(),
            health: store,
        }
    }
}

/// How the store talks to its database.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Most connections held open at once.
    pub max_connections: u32,
    /// Every store call, from asking for a connection to the last row, takes
    /// at most this long; then it fails as [`Unavailable::TimedOut`].
    pub timeout: Duration,
}

/// Opens the backend named by the URL's scheme and applies its migrations.
pub async fn connect(database_url: &str, options: &StoreOptions) -> anyhow::Result<Stores> {
    Ok(match Backend::of(database_url)? {
        Backend::Sqlite => Stores::of(sqlite::open(database_url, options).await?),
        Backend::MySql => Stores::of(mysql::open(database_url, options).await?),
    })
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
