//! [`Dialect`]: what differs between the backends, for the generic
//! [`super::SqlStore`].

use futures_util::future::BoxFuture;
use sqlx::database::HasStatementCache;
use sqlx::{Database, Decode, Encode, Type};

use super::error::CodeTable;
use super::rows::DbTime;
use super::text_index::TextIndex;

/// A connection of the backend's database.
pub type Conn<D> = <<D as Dialect>::Db as Database>::Connection;

/// One backend's flavour of SQL and of its driver.
pub trait Dialect: Send + Sync + 'static {
    type Db: Database + HasStatementCache;
    /// How a [`crate::domain::Timestamp`] is stored.
    type Time: DbTime
        + for<'q> Encode<'q, Self::Db>
        + for<'r> Decode<'r, Self::Db>
        + Type<Self::Db>
        + Copy
        + Send
        + Sync
        + Unpin
        + 'static;

    /// Opens a write transaction (SQLite: take the write lock up front, so
    /// that a read-then-write cannot fail half way with a lock conflict).
    const BEGIN_WRITE: &'static str;
    /// Appended to a `SELECT` inside a write transaction to lock the rows
    /// it reads (`FOR UPDATE` on MySQL; SQLite writes take the whole
    /// database up front, so nothing there).
    const LOCK_ROWS: &'static str;
    /// Reads and locks one task for a write.
    const LOCK_TASK: &'static str;
    /// Inserts a notification only while the task still has this expiry
    /// and is not done, as the claim's own transaction reads the row: a
    /// completion committed through any replica before it wins over every
    /// replica's cache. The unique key on (task_id, expiry_dt) makes a
    /// second claim a no-op, also after the task is reopened.
    const CLAIM: &'static str;
    /// Run first in every claim transaction: takes the `claim_order` row's
    /// lock (making the row again if a tool deleted it), so that claims
    /// commit one after another and notification ids become visible in
    /// increasing order.
    const ORDER_CLAIMS: &'static str;
    /// Inserts an idempotency key unless it is taken.
    const INSERT_IDEMPOTENCY_KEY: &'static str;

    /// Whether the store must choose, per expiry window, between walking
    /// the expiry index (then sorting by id) and walking the primary key
    /// for a filtered page. MariaDB estimates a range's size from the index
    /// and chooses well; SQLite, built without STAT4, cannot and always
    /// takes the index, sorting every task of a wide window for each page.
    const PLANS_WINDOWS: bool;

    /// Whether the ties part of a keyed page (`key = ? AND id > ?`) names
    /// the order's index. MariaDB otherwise may read it as `ref` on the
    /// key alone and walk every task sharing the key from the far end
    /// (measured: 0.8 s for a deep page over 500k tasks with one expiry,
    /// 0.8 ms with the hint, which makes it a range on `(key, id)`).
    const HINTS_TIES: bool;

    /// The index `q` reads (migration 0012).
    const TEXT_INDEX: TextIndex;

    /// The backend's error codes, classified.
    const CODES: CodeTable;

    fn rows_affected(result: &<Self::Db as Database>::QueryResult) -> u64;
    fn inserted_id(result: &<Self::Db as Database>::QueryResult) -> i64;

    /// The health check's read ([`super::sql::PROBE_READ`]) on `conn`: a
    /// real query, which fails wherever requests would. A ping does not: a
    /// MariaDB Galera node that is not synced answers it, and refuses
    /// every statement (1047).
    fn probe(conn: &mut <Self::Db as Database>::Connection) -> BoxFuture<'_, sqlx::Result<()>>;
}
