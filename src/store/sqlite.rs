//! The embedded default: one SQLite file in WAL mode. One writer
//! connection behind a queue that commits waiting writes together; a pool
//! of readers that WAL never blocks. Times are integer microseconds.

use std::str::FromStr;
use std::sync::Arc;

use anyhow::Context;
use futures_util::future::BoxFuture;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions,
    SqliteQueryResult, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Sqlite};

use super::StoreOptions;
use super::connections::Connections;
use super::dialect::Dialect;
use super::error::ErrorClass;
use super::sql_store::{SqlStore, Writer};
use super::write_queue::{Connect, WriteQueue};

pub struct SqliteDialect;

impl Dialect for SqliteDialect {
    type Db = Sqlite;
    type Time = i64;

    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    const LOCK_ROWS: &'static str = "";
    const LOCK_TASK: &'static str = super::sql::SELECT_TASK;
    const CLAIM: &'static str = "INSERT OR IGNORE INTO notification \
         (task_id, title, kind, expiry_dt, notified_at, late, delivery_state, next_attempt_at) \
         SELECT id, COALESCE(title, ''), ?, expiry_dt, ?, ?, ?, ? FROM task \
         WHERE id = ? AND expiry_dt = ? AND RTRIM(status) <> 'done'";
    const ORDER_CLAIMS: &'static str = "INSERT INTO claim_order (id, claims) VALUES (1, 1) \
         ON CONFLICT (id) DO UPDATE SET claims = claims + 1";
    const INSERT_IDEMPOTENCY_KEY: &'static str = "INSERT OR IGNORE INTO idempotency_key \
         (idem_key, fingerprint, created_at, expires_at) VALUES (?, ?, ?, ?)";
    const PLANS_WINDOWS: bool = true;
    const HINTS_TIES: bool = false;
    const TEXT_INDEX: super::text_index::TextIndex = super::text_index::TextIndex::Fts5;
    const CODES: super::error::CodeTable = classify;

    fn rows_affected(result: &SqliteQueryResult) -> u64 {
        result.rows_affected()
    }

    fn inserted_id(result: &SqliteQueryResult) -> i64 {
        result.last_insert_rowid()
    }

    fn probe(conn: &mut SqliteConnection) -> BoxFuture<'_, sqlx::Result<()>> {
        Box::pin(async move {
            sqlx::query(super::sql::PROBE_READ)
                .execute(conn)
                .await
                .map(drop)
        })
    }
}

/// SQLite's extended result codes (its `code()`), which keep the primary
/// code in the low byte.
fn classify(err: &dyn sqlx::error::DatabaseError) -> ErrorClass {
    classify_code(err.code().as_deref().unwrap_or_default(), err.kind())
}

fn classify_code(code: &str, kind: sqlx::error::ErrorKind) -> ErrorClass {
    let Ok(code) = code.parse::<u32>() else {
        return ErrorClass::of_kind(kind);
    };
    match code & 0xff {
        // BUSY, LOCKED
        5 | 6 => ErrorClass::Transient,
        // READONLY, IOERR, FULL, CANTOPEN
        8 | 10 | 13 | 14 => ErrorClass::CannotWrite,
        // CONSTRAINT, TOOBIG, MISMATCH
        18..=20 => ErrorClass::Constraint,
        _ => ErrorClass::of_kind(kind),
    }
}

pub async fn open(
    database_url: &str,
    options: &StoreOptions,
) -> anyhow::Result<SqlStore<SqliteDialect>> {
    let connect = SqliteConnectOptions::from_str(database_url)
        .with_context(|| format!("invalid SQLite URL {database_url:?}"))?;
    anyhow::ensure!(
        !connect.get_filename().as_os_str().is_empty()
            && !database_url.contains(":memory:")
            && !database_url.contains("mode=memory"),
        "an in-memory SQLite database is not supported (each connection would see its own): \
         use a file, e.g. sqlite://data/taskman.db"
    );
    let connect = connect
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // Every commit is on disk before it is acknowledged; the write
        // queue shares one sync among the writes committed together.
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(options.timeout);
    if let Some(dir) = connect.get_filename().parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut writer = connect
        .connect()
        .await
        .with_context(|| format!("cannot open SQLite database {database_url:?}"))?;
    super::migrate::run(
        &sqlx::migrate!("./migrations/sqlite"),
        &mut writer,
        "sqlite",
    )
    .await?;
    let readers = SqlitePoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.timeout)
        // A file does not go away under a connection; a failing one is
        // closed when a read fails.
        .test_before_acquire(false)
        .connect_with(connect.clone())
        .await
        .with_context(|| format!("cannot open SQLite database {database_url:?}"))?;
    let reconnect: Connect<Sqlite> = Arc::new(move || {
        let connect = connect.clone();
        Box::pin(async move { connect.connect().await })
    });
    Ok(SqlStore::new(
        Arc::new(Connections::new(readers)),
        Writer::Queued(WriteQueue::start(writer, reconnect)),
        options.timeout,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::error::ErrorKind as K;

    #[test]
    fn sqlite_codes_are_classified_by_their_primary_code() {
        assert_eq!(classify_code("5", K::Other), ErrorClass::Transient);
        assert_eq!(classify_code("517", K::Other), ErrorClass::Transient);
        assert_eq!(classify_code("13", K::Other), ErrorClass::CannotWrite);
        assert_eq!(classify_code("266", K::Other), ErrorClass::CannotWrite);
        assert_eq!(
            classify_code("2067", K::UniqueViolation),
            ErrorClass::Constraint
        );
        assert_eq!(classify_code("1", K::Other), ErrorClass::Fault);
    }

    /// The two plans a filtered page chooses between are the plans SQLite
    /// runs: one walks the primary key and sorts nothing, the other walks
    /// the expiry index; the window count reads the index alone.
    #[tokio::test]
    async fn a_filtered_page_has_a_plan_for_each_window_width() {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .unwrap();
        let schema = concat!(
            include_str!("../../migrations/sqlite/0001_task.sql"),
            include_str!("../../migrations/sqlite/0002_notification.sql"),
            include_str!("../../migrations/sqlite/0003_task_time_defaults.sql"),
            include_str!("../../migrations/sqlite/0004_idempotency_and_probe.sql"),
            include_str!("../../migrations/sqlite/0007_task_status.sql"),
            include_str!("../../migrations/sqlite/0008_task_priority.sql"),
            include_str!("../../migrations/sqlite/0009_task_order_indexes.sql"),
            include_str!("../../migrations/sqlite/0011_task_labels.sql"),
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(schema))
            .execute(&mut conn)
            .await
            .unwrap();
        let mut plan = async |statement: &str| -> String {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "EXPLAIN QUERY PLAN {statement}"
            )));
            for _ in 0..statement.matches('?').count() {
                query = query.bind(0);
            }
            let rows: Vec<(i64, i64, i64, String)> = query.fetch_all(&mut conn).await.unwrap();
            rows.into_iter()
                .map(|row| row.3)
                .collect::<Vec<_>>()
                .join("; ")
        };
        let page = |window| {
            super::super::task_list::Shape {
                sort: crate::domain::TaskSort::Id,
                direction: crate::domain::SortDirection::Asc,
                range: super::super::task_list::Range::Id,
                window,
                status: None,
                priority_min: false,
                priority_max: false,
                search: None,
                tie_hint: false,
                labels: 0,
                as_of: false,
                count: false,
            }
            .statement()
        };
        let by_id = plan(page(super::super::task_list::Window::ByScan)).await;
        assert!(
            !by_id.contains("task_expiry_id") && !by_id.contains("B-TREE"),
            "{by_id}"
        );
        let by_expiry = plan(page(super::super::task_list::Window::ByIndex)).await;
        assert!(by_expiry.contains("INDEX task_expiry_id"), "{by_expiry}");
        let count = plan(super::super::sql::COUNT_EXPIRING_UP_TO).await;
        assert!(count.contains("COVERING INDEX task_expiry_id"), "{count}");
    }
}
