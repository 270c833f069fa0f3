//! The production backend: MySQL 8 or MariaDB 10.11 (no `RETURNING`).
//! Writes lock the rows they change (`FOR UPDATE`); times are
//! `DATETIME(6)` in UTC, and every session's time zone is UTC.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures_util::future::BoxFuture;
use sqlx::mysql::{
    MySqlConnectOptions, MySqlConnection, MySqlDatabaseError, MySqlPoolOptions, MySqlQueryResult,
};
use sqlx::{Connection, Executor, MySql};

use super::StoreOptions;
use super::connections::Connections;
use super::dialect::Dialect;
use super::error::ErrorClass;
use super::sql;
use super::sql_store::{SqlStore, Writer};

pub struct MySqlDialect;

impl Dialect for MySqlDialect {
    type Db = MySql;
    type Time = chrono::NaiveDateTime;

    const BEGIN_WRITE: &'static str = "BEGIN";
    const LOCK_ROWS: &'static str = " FOR UPDATE";
    const LOCK_TASK: &'static str = concat!(
        "SELECT ",
        sql::task_columns!(),
        " FROM task WHERE id = ? FOR UPDATE"
    );
    const CLAIM: &'static str = "INSERT IGNORE INTO notification \
         (task_id, title, kind, expiry_dt, notified_at, late, delivery_state, next_attempt_at) \
         SELECT id, COALESCE(title, ''), ?, expiry_dt, ?, ?, ?, ? FROM task \
         WHERE id = ? AND expiry_dt = ? AND RTRIM(status) <> 'done'";
    const ORDER_CLAIMS: &'static str = "INSERT INTO claim_order (id, claims) VALUES (1, 1) \
         ON DUPLICATE KEY UPDATE claims = claims + 1";
    const INSERT_IDEMPOTENCY_KEY: &'static str = "INSERT IGNORE INTO idempotency_key \
         (idem_key, fingerprint, created_at, expires_at) VALUES (?, ?, ?, ?)";
    const PLANS_WINDOWS: bool = false;
    const HINTS_TIES: bool = true;
    const TEXT_INDEX: super::text_index::TextIndex = super::text_index::TextIndex::InnoDb;
    const CODES: super::error::CodeTable = classify;

    fn rows_affected(result: &MySqlQueryResult) -> u64 {
        result.rows_affected()
    }

    fn inserted_id(result: &MySqlQueryResult) -> i64 {
        i64::try_from(result.last_insert_id()).unwrap_or(i64::MAX)
    }

    fn probe(conn: &mut MySqlConnection) -> BoxFuture<'_, sqlx::Result<()>> {
        Box::pin(async move {
            sqlx::query(super::sql::PROBE_READ)
                .execute(conn)
                .await
                .map(drop)
        })
    }
}

/// MySQL and MariaDB error numbers (sqlx's `code()` is the SQLSTATE, too
/// coarse: a lock wait timeout shares `HY000` with most errors).
fn classify(err: &dyn sqlx::error::DatabaseError) -> ErrorClass {
    match err.try_downcast_ref::<MySqlDatabaseError>() {
        Some(mysql) => classify_number(mysql.number(), err.kind()),
        None => ErrorClass::of_kind(err.kind()),
    }
}

fn classify_number(number: u16, kind: sqlx::error::ErrorKind) -> ErrorClass {
    match number {
        // Lock wait timeout, deadlock.
        1205 | 1213 => ErrorClass::Transient,
        // Disk full, table full, read-only server, read-only transaction.
        1021 | 1114 | 1290 | 1792 | 1836 => ErrorClass::CannotWrite,
        // Not there for us, and nothing happened: a Galera node not yet
        // synced (1047 "WSREP has not yet prepared node for application
        // use"), the server shutting down, the connection killed, too many
        // connections, a network error or time-out on the server's side
        // of the connection, a session the server dropped for inactivity.
        1047 | 1053 | 1927 | 1040 | 1158 | 1159 | 1160 | 1161 | 4031 => ErrorClass::ConnectionLost,
        // The statement was stopped (KILL QUERY, or a server going down).
        1317 => ErrorClass::TimedOut,
        // The statement ran past the session's time limit (MySQL, MariaDB).
        3024 | 1969 => ErrorClass::TimedOut,
        // Data too long, out of range, bad string for the column's charset.
        1406 | 1264 | 1366 => ErrorClass::Constraint,
        _ => ErrorClass::of_kind(kind),
    }
}

pub async fn open(
    database_url: &str,
    options: &StoreOptions,
) -> anyhow::Result<SqlStore<MySqlDialect>> {
    let connect = MySqlConnectOptions::from_str(database_url)
        .context("invalid MySQL URL")?
        .charset("utf8mb4")
        .timezone(Some("+00:00".to_owned()));
    // One direct connection first: through a pool, a refused connection
    // only surfaces as a pool timeout, which hides the cause. It also does
    // the start-up work: adopting a legacy table, then the migrations.
    let mut first = MySqlConnection::connect_with(&connect)
        .await
        .context("cannot connect to MySQL")?;
    let session = Session::for_server(&mut first, options.timeout).await?;
    let migrator = sqlx::migrate!("./migrations/mysql");
    // Under the lease, so that replicas started together do this one at a
    // time; each looks again at what is left once it holds the lease
    // (adoption only if still needed, and the migrator skips what is applied).
    super::lease::while_holding(&connect, async {
        super::adopt::adopt_legacy_table(&mut first, &migrator).await?;
        super::mysql_migrations::run(&migrator, &mut first).await
    })
    .await?;
    first.close().await.context("cannot connect to MySQL")?;

    let pool = MySqlPoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.timeout)
        // No ping on every acquire (a round trip per request); only a
        // connection idle long enough for a proxy or the server to have
        // dropped it is checked first. A broken one fails its query, which
        // reads retry on a fresh connection.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > IDLE_CHECK {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .after_connect(move |conn, _| {
            let session = session.clone();
            Box::pin(async move { session.apply(conn).await })
        })
        .connect_with(connect)
        .await
        .context("cannot connect to MySQL")?;
    let connections = Arc::new(Connections::new(pool));
    Ok(SqlStore::new(
        connections.clone(),
        Writer::Pooled(connections),
        options.timeout,
    ))
}

/// A connection idle longer than this is pinged before it is handed out.
const IDLE_CHECK: Duration = Duration::from_secs(30);

/// Per-session settings. Limits, so that the server itself gives up on a
/// statement or a lock before the store's deadline: the connection then
/// stays usable, and a lock wait becomes a retry instead of a hang. And on
/// a MariaDB Galera node, causal reads: a node applies the others' writes a
/// moment after they commit, so without them a task created through one
/// replica could be 404 through another, and an `If-Match` read there stale.
#[derive(Clone, Debug)]
struct Session {
    statements: String,
}

impl Session {
    async fn for_server(conn: &mut MySqlConnection, timeout: Duration) -> anyhow::Result<Self> {
        let version: String = sqlx::query_scalar("SELECT VERSION()")
            .fetch_one(&mut *conn)
            .await
            .context("cannot read the MySQL server version")?;
        // A lock wait ends well inside the deadline, leaving time to retry.
        let lock_wait = (timeout.as_secs() / 3).clamp(1, 50);
        // The server stops a statement just before the deadline would.
        let statement = timeout.mul_f64(0.9);
        let statement_limit = if version.to_ascii_lowercase().contains("mariadb") {
            format!("max_statement_time = {:.3}", statement.as_secs_f64())
        } else {
            // MySQL limits only SELECTs this way; writes are bounded by the
            // lock wait and the store's deadline.
            format!("max_execution_time = {}", statement.as_millis().max(1))
        };
        // A read (and the start of a transaction) waits until this node
        // has applied every write the cluster committed before it.
        let causal_reads = if is_galera_node(conn).await? {
            ", SESSION wsrep_sync_wait = 1"
        } else {
            ""
        };
        let session = Self {
            statements: format!(
                "SET SESSION innodb_lock_wait_timeout = {lock_wait}, SESSION {statement_limit}\
                 {causal_reads}"
            ),
        };
        session
            .apply(conn)
            .await
            .context("cannot set MySQL session limits")?;
        Ok(session)
    }

    async fn apply(&self, conn: &mut MySqlConnection) -> sqlx::Result<()> {
        conn.execute(sqlx::AssertSqlSafe(self.statements.clone()))
            .await
            .map(drop)
    }
}

/// Whether the server is a MariaDB Galera node (MySQL has no `wsrep_on`).
async fn is_galera_node(conn: &mut MySqlConnection) -> anyhow::Result<bool> {
    let wsrep: Option<(String, String)> = sqlx::query_as("SHOW VARIABLES LIKE 'wsrep_on'")
        .fetch_optional(&mut *conn)
        .await
        .context("cannot read the server's wsrep_on")?;
    Ok(wsrep.is_some_and(|(_, on)| on.eq_ignore_ascii_case("ON")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::error::ErrorKind as K;

    #[test]
    fn mysql_codes_are_classified() {
        assert_eq!(classify_number(1213, K::Other), ErrorClass::Transient);
        assert_eq!(classify_number(1205, K::Other), ErrorClass::Transient);
        assert_eq!(classify_number(1290, K::Other), ErrorClass::CannotWrite);
        assert_eq!(classify_number(1969, K::Other), ErrorClass::TimedOut);
        assert_eq!(classify_number(1317, K::Other), ErrorClass::TimedOut);
        for not_there in [1047, 1053, 1927, 1040, 1158, 1159, 1160, 1161, 4031] {
            assert_eq!(
                classify_number(not_there, K::Other),
                ErrorClass::ConnectionLost,
                "{not_there}"
            );
        }
        assert_eq!(
            classify_number(1062, K::UniqueViolation),
            ErrorClass::Constraint
        );
        assert_eq!(classify_number(1064, K::Other), ErrorClass::Fault);
    }
}
