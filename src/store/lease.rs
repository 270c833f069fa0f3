//! The start-up lease: one replica at a time adopts the original's table
//! and applies the migrations, however many start together.
//!
//! Why a lease row and not a lock:
//! - sqlx's `GET_LOCK(name, -1)` takes nothing on MariaDB, which refuses a
//!   negative timeout (warning 1411, result NULL); and on Galera, named
//!   locks and row locks are local to one node.
//! - A row lock held in the migrating connection's transaction would not
//!   last: MySQL commits implicitly before every DDL statement.
//! - A committed write is what Galera certifies cluster-wide: of two nodes
//!   taking the lease at once, one commit fails with 1213. On one server
//!   the row lock orders the two `UPDATE`s and the second finds it taken.
//!
//! The lease is taken, renewed and released on a connection of its own, in
//! autocommit, so the migrations' implicit commits never touch it. Times
//! are the database's, so the replicas' clocks do not matter.

use std::future::Future;
use std::time::Duration;

use anyhow::Context;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlDatabaseError};
use sqlx::{ConnectOptions, Connection, Executor};

/// The lease's table; `adopt.rs` looks only at `task` and the migration
/// history, so its presence changes nothing there.
pub const LEASE_TABLE: &str = "_taskman_startup_lease";

/// Long enough that renewing every third of it cannot miss on a busy
/// server; short enough that a replica killed mid-start delays the others
/// by no more than this.
const LEASE: Duration = Duration::from_secs(30);
const RENEW_EVERY: Duration = Duration::from_secs(10);
/// How long a replica waits for another's start-up work. The holder renews
/// while it works, so this bounds a slow migration (an `ALTER` copying a
/// large table), not a dead holder, which `LEASE` bounds.
const WAIT_AT_MOST: Duration = Duration::from_secs(15 * 60);
const FIRST_RETRY: Duration = Duration::from_millis(50);
const LONGEST_RETRY: Duration = Duration::from_secs(2);

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS _taskman_startup_lease (
    id         INT          NOT NULL,
    owner      VARCHAR(255) NULL,
    expires_at DATETIME(6)  NULL,
    PRIMARY KEY (id)
) ENGINE = InnoDB";
const CREATE_ROW: &str = "INSERT IGNORE INTO _taskman_startup_lease (id) VALUES (1)";
const TAKE: &str = "UPDATE _taskman_startup_lease \
     SET owner = ?, expires_at = UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND \
     WHERE id = 1 AND (owner IS NULL OR expires_at < UTC_TIMESTAMP(6))";
const RENEW: &str = "UPDATE _taskman_startup_lease \
     SET expires_at = UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND WHERE id = 1 AND owner = ?";
const RELEASE: &str = "UPDATE _taskman_startup_lease \
     SET owner = NULL, expires_at = NULL WHERE id = 1 AND owner = ?";
const HOLDER: &str = "SELECT owner, CAST(expires_at AS CHAR) FROM _taskman_startup_lease \
     WHERE id = 1";

/// Runs `work` while holding the start-up lease of the database `connect`
/// names: waits for another holder first, renews while `work` runs, and
/// releases the lease afterwards, whether `work` succeeded or not.
pub async fn while_holding<T>(
    connect: &MySqlConnectOptions,
    work: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    let mut lease = Lease::take(connect).await?;
    let mut work = std::pin::pin!(work);
    let mut renew =
        tokio::time::interval_at(tokio::time::Instant::now() + RENEW_EVERY, RENEW_EVERY);
    let result = loop {
        tokio::select! {
            result = &mut work => break result,
            _ = renew.tick() => lease.renew().await,
        }
    };
    lease.release().await;
    result
}

struct Lease {
    conn: MySqlConnection,
    owner: String,
}

impl Lease {
    async fn take(connect: &MySqlConnectOptions) -> anyhow::Result<Self> {
        let mut conn = connect
            .connect()
            .await
            .context("cannot connect to MySQL for the start-up lease")?;
        let owner = owner_name();
        let started = tokio::time::Instant::now();
        let mut retry = FIRST_RETRY;
        let mut reported: Option<String> = None;
        let mut prepared = false;
        loop {
            match try_take(&mut conn, &owner, &mut prepared).await {
                Ok(true) => {
                    tracing::debug!(owner, "took the start-up lease");
                    return Ok(Self { conn, owner });
                }
                Ok(false) => {}
                // Galera refused our commit in favour of another node's.
                Err(err) if is_conflict(&err) => {}
                Err(err) => {
                    return Err(err).context("cannot take the start-up lease");
                }
            }
            let (holder, until) = holder(&mut conn).await;
            if reported.as_ref() != Some(&holder) {
                tracing::info!(
                    holder,
                    until_utc = until,
                    "waiting for another replica's start-up work (adoption, migrations)"
                );
                reported = Some(holder.clone());
            }
            anyhow::ensure!(
                started.elapsed() < WAIT_AT_MOST,
                "gave up after {WAIT_AT_MOST:?} waiting for the start-up lease held by {holder} \
                 (in table {LEASE_TABLE}). If that replica is gone, its lease runs out within \
                 {LEASE:?}"
            );
            // Jitter keeps replicas that started together from retrying in step.
            tokio::time::sleep(retry.mul_f64(0.5 + fastrand::f64())).await;
            retry = (retry * 2).min(LONGEST_RETRY);
        }
    }

    /// A renewal that fails is logged, not fatal: the work cannot be
    /// stopped half-way, and the migrator skips what another replica
    /// finds done.
    async fn renew(&mut self) {
        let renewed = sqlx::query(RENEW)
            .bind(micros(LEASE))
            .bind(&self.owner)
            .execute(&mut self.conn)
            .await;
        match renewed {
            Ok(done) if done.rows_affected() == 1 => {}
            Ok(_) => tracing::warn!(
                owner = self.owner,
                "lost the start-up lease while still working; another replica may start too"
            ),
            Err(err) => tracing::warn!(
                owner = self.owner,
                error = %err,
                "cannot renew the start-up lease"
            ),
        }
    }

    async fn release(mut self) {
        let released = sqlx::query(RELEASE)
            .bind(&self.owner)
            .execute(&mut self.conn)
            .await;
        if let Err(err) = released {
            tracing::warn!(
                owner = self.owner,
                error = %err,
                "cannot release the start-up lease; it runs out by itself"
            );
        }
        let _ = self.conn.close().await;
    }
}

/// One attempt; true if this replica now holds the lease. Autocommit: the
/// `UPDATE` returning is its commit, certified on Galera. The table and its
/// row are made once per replica (DDL is cluster-wide on Galera; not worth
/// repeating every retry).
async fn try_take(
    conn: &mut MySqlConnection,
    owner: &str,
    prepared: &mut bool,
) -> sqlx::Result<bool> {
    if !*prepared {
        conn.execute(CREATE_TABLE).await?;
        conn.execute(CREATE_ROW).await?;
        *prepared = true;
    }
    let taken = sqlx::query(TAKE)
        .bind(owner)
        .bind(micros(LEASE))
        .execute(&mut *conn)
        .await?;
    Ok(taken.rows_affected() == 1)
}

/// Who holds the lease and until when, for the log; unknown if unreadable.
async fn holder(conn: &mut MySqlConnection) -> (String, String) {
    let found: Option<(Option<String>, Option<String>)> = sqlx::query_as(HOLDER)
        .fetch_optional(conn)
        .await
        .unwrap_or_default();
    match found {
        Some((owner, until)) => (
            owner.unwrap_or_else(|| "nobody (just released)".to_owned()),
            until.unwrap_or_default(),
        ),
        None => ("unknown".to_owned(), String::new()),
    }
}

/// Lock wait timeout, deadlock: Galera's certification failure is 1213.
fn is_conflict(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .and_then(|err| err.try_downcast_ref::<MySqlDatabaseError>())
        .is_some_and(|err| matches!(err.number(), 1205 | 1213))
}

/// Names this process in the lease, so that a waiting replica's log says
/// whom it waits for.
fn owner_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown-host".to_owned());
    format!(
        "{host} pid {} ({:08x})",
        std::process::id(),
        fastrand::u32(..)
    )
}

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}
