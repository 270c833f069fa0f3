//! The production backend: MySQL 8 or MariaDB 10.11 (no `RETURNING`).

use std::str::FromStr;

use anyhow::Context;
use sqlx::mysql::MySqlConnection;
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use sqlx::{Connection, MySql, MySqlPool, Transaction};

use super::rows::{self, DbTime};
use super::{
    DeliveryOutcome, Page, PageRequest, PendingExpiry, PoolOptions, StoreError, StoreResult,
    TaskFilter,
};
use crate::domain::{
    Claim, DeliveryState, Notification, Precondition, Task, TaskDraft, TaskId, TaskPatch, Timestamp,
};

type Db = MySql;
type Time = chrono::NaiveDateTime;

/// Locks the row so that two concurrent patches cannot lose each other's fields.
const LOCK_TASK: &str = "SELECT id, title, description, expiry_dt, create_dt, update_dt \
     FROM task WHERE id = ? FOR UPDATE";

/// Inserts only while the task still has this expiry; the unique key on
/// (task_id, expiry_dt) turns a second claim into a no-op.
const CLAIM: &str = "INSERT IGNORE INTO notification \
     (task_id, title, kind, expiry_dt, notified_at, late, delivery_state, next_attempt_at) \
     SELECT id, title, ?, expiry_dt, ?, ?, ?, ? FROM task WHERE id = ? AND expiry_dt = ?";

fn inserted_id(result: &sqlx::mysql::MySqlQueryResult) -> i64 {
    i64::try_from(result.last_insert_id()).unwrap_or(i64::MAX)
}

pub struct MySqlStore {
    pool: MySqlPool,
}

impl MySqlStore {
    pub async fn connect(database_url: &str, options: &PoolOptions) -> anyhow::Result<Self> {
        let connect = MySqlConnectOptions::from_str(database_url)
            .context("invalid MySQL URL")?
            .charset("utf8mb4")
            .timezone(Some("+00:00".to_owned()));
        // One direct attempt first: through the pool, a refused connection
        // only surfaces as a pool timeout, which hides the cause.
        MySqlConnection::connect_with(&connect)
            .await
            .context("cannot connect to MySQL")?
            .close()
            .await
            .context("cannot connect to MySQL")?;
        let pool = MySqlPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .context("cannot connect to MySQL")?;
        sqlx::migrate!("./migrations/mysql")
            .run(&pool)
            .await
            .context("cannot apply MySQL migrations")?;
        Ok(Self { pool })
    }

    async fn begin_write(&self) -> StoreResult<Transaction<'static, Db>> {
        Ok(self.pool.begin().await?)
    }
}

super::task_sql::impl_task_store!(MySqlStore);
super::notification_sql::impl_notification_store!(MySqlStore);
