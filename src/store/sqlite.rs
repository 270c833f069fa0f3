//! The embedded default: one SQLite file, WAL mode, times as integer microseconds.

use std::str::FromStr;

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Sqlite, SqlitePool, Transaction};

use super::rows::{self, DbTime};
use super::{
    DeliveryOutcome, Page, PageRequest, PendingExpiry, PoolOptions, StoreError, StoreResult,
    TaskFilter,
};
use crate::domain::{
    Claim, DeliveryState, Notification, Precondition, Task, TaskDraft, TaskId, TaskPatch, Timestamp,
};

type Db = Sqlite;
type Time = i64;

/// Write transactions start with `BEGIN IMMEDIATE`, so the plain read is
/// already serialised against other writers.
const LOCK_TASK: &str = rows::SELECT_TASK;

/// Inserts only while the task still has this expiry; the unique key on
/// (task_id, expiry_dt) turns a second claim into a no-op.
const CLAIM: &str = "INSERT OR IGNORE INTO notification \
     (task_id, title, kind, expiry_dt, notified_at, late, delivery_state, next_attempt_at) \
     SELECT id, title, ?, expiry_dt, ?, ?, ?, ? FROM task WHERE id = ? AND expiry_dt = ?";

fn inserted_id(result: &sqlx::sqlite::SqliteQueryResult) -> i64 {
    result.last_insert_rowid()
}

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub async fn connect(database_url: &str, options: &PoolOptions) -> anyhow::Result<Self> {
        let connect = SqliteConnectOptions::from_str(database_url)
            .with_context(|| format!("invalid SQLite URL {database_url:?}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(std::time::Duration::from_secs(10));
        if let Some(dir) = connect.get_filename().parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .with_context(|| format!("cannot open SQLite database {database_url:?}"))?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .context("cannot apply SQLite migrations")?;
        Ok(Self { pool })
    }

    /// Takes the write lock up front: a deferred transaction that reads and
    /// then writes can fail with SQLITE_BUSY instead of waiting its turn.
    async fn begin_write(&self) -> StoreResult<Transaction<'static, Db>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

super::task_sql::impl_task_store!(SqliteStore);
super::notification_sql::impl_notification_store!(SqliteStore);
