//! `taskman export` and `taskman import` on either backend (the format is
//! `domain::archive`): the export reads everything in one read transaction,
//! a consistent snapshot taken while the server goes on serving writes; the
//! import writes everything in one transaction, so a cut or malformed
//! archive leaves the target as it was.

use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use futures_util::TryStreamExt;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Connection, Database, Executor, IntoArguments, QueryBuilder};

use super::dialect::Dialect;
use super::mysql::MySqlDialect;
use super::rows::{DbTime, NotificationRow, TaskRow};
use super::sql;
use super::sqlite::SqliteDialect;
use super::{Backend, StoreOptions};
use crate::domain::{
    ARCHIVE_FORMAT, ARCHIVE_VERSION, ArchiveEnd, ArchiveHeader, ArchiveRecord,
    ArchivedNotification, ArchivedTask, DeliveryState, Labels, OLDEST_ARCHIVE_VERSION, Priority,
    Task, Timestamp,
};

type Conn<D> = <<D as Dialect>::Db as Database>::Connection;

/// Rows per multi-row `INSERT` of an import.
const INSERT_BATCH: usize = 500;

/// How long an export or import waits for a lock or a connection.
const PATIENCE: Duration = Duration::from_secs(30);

const ALL_TASKS: &str = concat!("SELECT ", sql::task_columns!(), " FROM task ORDER BY id");
const ALL_NOTIFICATIONS: &str = "SELECT id, task_id, title, kind, expiry_dt, notified_at, late, \
     delivery_state, delivery_attempts, last_error, delivered_at FROM notification ORDER BY id";
const ANY_ROWS: &str = "SELECT (SELECT COUNT(*) FROM (SELECT id FROM task LIMIT 1) AS t) \
     + (SELECT COUNT(*) FROM (SELECT id FROM notification LIMIT 1) AS n)";

/// What differs between the backends here.
struct ArchiveSql {
    source: &'static str,
    /// Starts a read transaction whose reads all see one moment.
    begin_snapshot: &'static [&'static str],
    /// The highest task id ever handed out (some since deleted), or one the
    /// history still names.
    task_ids_used: &'static str,
    /// Within the import's transaction, make new ids start above `?`.
    raise_task_ids: &'static [&'static str],
}

const SQLITE: ArchiveSql = ArchiveSql {
    source: "sqlite",
    begin_snapshot: &["BEGIN"],
    task_ids_used: "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'task'), 0), \
         COALESCE((SELECT MAX(id) FROM task), 0), COALESCE((SELECT MAX(task_id) FROM notification), 0))",
    raise_task_ids: &[
        "INSERT INTO sqlite_sequence (name, seq) SELECT 'task', ? \
         WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'task')",
        "UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'task'",
    ],
};

const MYSQL: ArchiveSql = ArchiveSql {
    source: "mysql",
    begin_snapshot: &[
        "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
        "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
    ],
    task_ids_used: "SELECT CAST(GREATEST(COALESCE((SELECT AUTO_INCREMENT - 1 FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'task'), 0), \
         COALESCE((SELECT MAX(id) FROM task), 0), COALESCE((SELECT MAX(task_id) FROM notification), 0)) AS SIGNED)",
    // An `ALTER TABLE` after the commit (it would end the transaction).
    raise_task_ids: &[],
};

/// Writes every task and warning of the database at `database_url` to
/// `out`, one record at a time, as of one moment.
pub async fn export(
    database_url: &str,
    out: &mut dyn FnMut(&ArchiveRecord) -> anyhow::Result<()>,
) -> anyhow::Result<ArchiveEnd> {
    if Backend::of(database_url)? == Backend::Sqlite {
        let options = sqlite_options(database_url)?;
        ensure!(
            options.get_filename().exists(),
            "there is no database at {}",
            options.get_filename().display()
        );
    }
    prepare(database_url).await?;
    match Backend::of(database_url)? {
        Backend::Sqlite => {
            let mut conn = sqlite_connection(database_url).await?;
            export_from::<SqliteDialect>(&mut conn, &SQLITE, out).await
        }
        Backend::MySql => {
            let mut conn = mysql_connection(database_url).await?;
            export_from::<MySqlDialect>(&mut conn, &MYSQL, out).await
        }
    }
}

/// Writes the archive `records` into the database at `database_url`, all
/// or nothing. The database must hold no tasks and no warnings, unless
/// `replace`: then everything in it is deleted first, in the same
/// transaction.
pub async fn import(
    database_url: &str,
    records: &mut dyn Iterator<Item = anyhow::Result<ArchiveRecord>>,
    replace: bool,
) -> anyhow::Result<ArchiveEnd> {
    prepare(database_url).await?;
    match Backend::of(database_url)? {
        Backend::Sqlite => {
            let mut conn = sqlite_connection(database_url).await?;
            import_into::<SqliteDialect>(&mut conn, &SQLITE, records, replace).await
        }
        Backend::MySql => {
            let mut conn = mysql_connection(database_url).await?;
            let end = import_into::<MySqlDialect>(&mut conn, &MYSQL, records, replace).await?;
            // An integer, so formatting it into the statement is safe.
            let raise = format!(
                "ALTER TABLE task AUTO_INCREMENT = {}",
                end.task_ids_used + 1
            );
            sqlx::raw_sql(sqlx::AssertSqlSafe(raise))
                .execute(&mut conn)
                .await
                .context("cannot move the task id counter past the archive's ids")?;
            Ok(end)
        }
    }
}

/// Opens the database as the server would (adopting the original's table
/// and applying migrations, under the start-up lease), so that the schema
/// is the one this version reads and writes.
async fn prepare(database_url: &str) -> anyhow::Result<()> {
    let options = StoreOptions {
        max_connections: 1,
        timeout: PATIENCE,
    };
    drop(super::connect(database_url, &options).await?);
    Ok(())
}

fn sqlite_options(database_url: &str) -> anyhow::Result<SqliteConnectOptions> {
    Ok(SqliteConnectOptions::from_str(database_url)
        .with_context(|| format!("invalid SQLite URL {database_url:?}"))?
        .busy_timeout(PATIENCE))
}

async fn sqlite_connection(database_url: &str) -> anyhow::Result<SqliteConnection> {
    SqliteConnection::connect_with(&sqlite_options(database_url)?)
        .await
        .context("cannot open the SQLite database")
}

async fn mysql_connection(database_url: &str) -> anyhow::Result<MySqlConnection> {
    let options = MySqlConnectOptions::from_str(database_url)
        .context("invalid MySQL URL")?
        .charset("utf8mb4")
        .timezone(Some("+00:00".to_owned()));
    MySqlConnection::connect_with(&options)
        .await
        .context("cannot connect to MySQL")
}

async fn export_from<D: Dialect>(
    conn: &mut Conn<D>,
    sql: &ArchiveSql,
    out: &mut dyn FnMut(&ArchiveRecord) -> anyhow::Result<()>,
) -> anyhow::Result<ArchiveEnd>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'r> TaskRow<D::Time>: sqlx::FromRow<'r, <D::Db as Database>::Row>,
    for<'r> NotificationRow<D::Time>: sqlx::FromRow<'r, <D::Db as Database>::Row>,
    for<'r> (i64,): sqlx::FromRow<'r, <D::Db as Database>::Row>,
{
    for statement in sql.begin_snapshot {
        sqlx::raw_sql(*statement).execute(&mut *conn).await?;
    }
    out(&ArchiveRecord::Header(ArchiveHeader {
        format: ARCHIVE_FORMAT.to_owned(),
        version: ARCHIVE_VERSION,
        source: sql.source.to_owned(),
        exported_at: Timestamp::now(),
    }))?;
    let (task_ids_used,) = sqlx::query_as::<_, (i64,)>(sql.task_ids_used)
        .fetch_one(&mut *conn)
        .await
        .context("cannot read the task id counter")?;
    let mut tasks = 0;
    {
        let mut rows = sqlx::query_as::<_, TaskRow<D::Time>>(ALL_TASKS).fetch(&mut *conn);
        while let Some(row) = rows.try_next().await.context("cannot read the tasks")? {
            out(&ArchiveRecord::Task(archived_task(Task::from(row))))?;
            tasks += 1;
        }
    }
    let mut notifications = 0;
    {
        let mut rows =
            sqlx::query_as::<_, NotificationRow<D::Time>>(ALL_NOTIFICATIONS).fetch(&mut *conn);
        while let Some(row) = rows.try_next().await.context("cannot read the warnings")? {
            // A row this service cannot make sense of is logged and left out,
            // as in every listing.
            let Some(notification) = row.into_notification() else {
                continue;
            };
            out(&ArchiveRecord::Notification(ArchivedNotification {
                id: notification.id,
                task_id: notification.task_id.get(),
                title: notification.title.as_str().to_owned(),
                kind: notification.kind.as_str().to_owned(),
                expiry_dt: notification.expiry_dt,
                notified_at: notification.notified_at,
                late: notification.late,
                delivery_state: notification.delivery.state.as_str().to_owned(),
                delivery_attempts: notification.delivery.attempts,
                last_error: notification.delivery.last_error,
                delivered_at: notification.delivery.delivered_at,
            }))?;
            notifications += 1;
        }
    }
    sqlx::raw_sql("COMMIT").execute(&mut *conn).await?;
    let end = ArchiveEnd {
        tasks,
        notifications,
        task_ids_used,
    };
    out(&ArchiveRecord::End(end.clone()))?;
    Ok(end)
}

fn archived_task(task: Task) -> ArchivedTask {
    ArchivedTask {
        id: task.id.get(),
        title: task.title.as_str().to_owned(),
        description: task.description.map(|d| d.as_str().to_owned()),
        expiry_dt: task.expiry_dt,
        create_dt: task.create_dt,
        update_dt: task.update_dt,
        status: task.status,
        completed_dt: task.completed_dt,
        priority: task.priority.map(Priority::get),
        labels: task.labels.iter().map(|l| l.as_str().to_owned()).collect(),
    }
}

async fn import_into<D: Dialect>(
    conn: &mut Conn<D>,
    sql: &ArchiveSql,
    records: &mut dyn Iterator<Item = anyhow::Result<ArchiveRecord>>,
    replace: bool,
) -> anyhow::Result<ArchiveEnd>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'q> i64: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> bool: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> String: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> Option<String>: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> Option<D::Time>: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> Option<i64>: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'r> (i64,): sqlx::FromRow<'r, <D::Db as Database>::Row>,
{
    sqlx::raw_sql(D::BEGIN_WRITE).execute(&mut *conn).await?;
    let result = import_records::<D>(conn, sql, records, replace).await;
    match result {
        Ok(end) => {
            sqlx::raw_sql("COMMIT")
                .execute(&mut *conn)
                .await
                .context("cannot commit the import")?;
            Ok(end)
        }
        Err(err) => {
            // Nothing of a failed import stays.
            let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
            Err(err)
        }
    }
}

async fn import_records<D: Dialect>(
    conn: &mut Conn<D>,
    sql: &ArchiveSql,
    records: &mut dyn Iterator<Item = anyhow::Result<ArchiveRecord>>,
    replace: bool,
) -> anyhow::Result<ArchiveEnd>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'q> i64: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> bool: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> String: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> Option<String>: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> Option<D::Time>: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> Option<i64>: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'r> (i64,): sqlx::FromRow<'r, <D::Db as Database>::Row>,
{
    let (found,) = sqlx::query_as::<_, (i64,)>(ANY_ROWS)
        .fetch_one(&mut *conn)
        .await?;
    if found > 0 {
        ensure!(
            replace,
            "the target database already holds tasks or warnings; import into an empty \
             database, or pass --replace to delete everything in it first (in the same \
             transaction: if the import fails, nothing is deleted)"
        );
        for table in ["notification", "task", "idempotency_key"] {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
                .execute(&mut *conn)
                .await?;
        }
    }
    match records.next().transpose()? {
        Some(ArchiveRecord::Header(header)) => ensure!(
            header.format == ARCHIVE_FORMAT
                && (OLDEST_ARCHIVE_VERSION..=ARCHIVE_VERSION).contains(&header.version),
            "this is not a taskman archive this version reads (format {:?} version {}; \
             expected {ARCHIVE_FORMAT:?} version {OLDEST_ARCHIVE_VERSION} to {ARCHIVE_VERSION})",
            header.format,
            header.version
        ),
        Some(_) => bail!("the archive does not start with its header record"),
        None => bail!("the archive is empty"),
    }
    let now = Timestamp::now();
    let (mut tasks, mut notifications) = (Vec::new(), Vec::new());
    let (mut task_count, mut notification_count) = (0u64, 0u64);
    let end = loop {
        match records.next().transpose()? {
            Some(ArchiveRecord::Task(task)) => {
                tasks.push(task);
                task_count += 1;
                if tasks.len() == INSERT_BATCH {
                    insert_tasks::<D>(conn, &std::mem::take(&mut tasks), now).await?;
                }
            }
            Some(ArchiveRecord::Notification(notification)) => {
                notifications.push(notification);
                notification_count += 1;
                if notifications.len() == INSERT_BATCH {
                    insert_notifications::<D>(conn, &std::mem::take(&mut notifications), now)
                        .await?;
                }
            }
            Some(ArchiveRecord::End(end)) => break end,
            Some(ArchiveRecord::Header(_)) => bail!("a second header record in the archive"),
            None => {
                bail!("the archive ends before its end record (cut off?); nothing was imported")
            }
        }
    };
    ensure!(
        records.next().is_none(),
        "records after the archive's end record; nothing was imported"
    );
    ensure!(
        (end.tasks, end.notifications) == (task_count, notification_count),
        "the archive's end record counts {} tasks and {} warnings, but it holds {task_count} \
         and {notification_count}; nothing was imported",
        end.tasks,
        end.notifications
    );
    insert_tasks::<D>(conn, &tasks, now).await?;
    insert_notifications::<D>(conn, &notifications, now).await?;
    for raise in sql.raise_task_ids {
        sqlx::query(*raise)
            .bind(end.task_ids_used)
            .execute(&mut *conn)
            .await?;
    }
    Ok(end)
}

async fn insert_tasks<D: Dialect>(
    conn: &mut Conn<D>,
    tasks: &[ArchivedTask],
    now: Timestamp,
) -> anyhow::Result<()>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'q> i64: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> String: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> Option<String>: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> Option<D::Time>: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> Option<i64>: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
{
    if tasks.is_empty() {
        return Ok(());
    }
    let mut insert = QueryBuilder::<D::Db>::new(
        "INSERT INTO task (id, title, description, expiry_dt, create_dt, update_dt, status, \
         completed_dt, priority, labels, label_keys) ",
    );
    insert.push_values(tasks, |mut row, task| {
        // A time the source could not read is stamped with the import's.
        row.push_bind(task.id)
            .push_bind(task.title.clone())
            .push_bind(task.description.clone())
            .push_bind(task.expiry_dt.map(D::Time::encode))
            .push_bind(Some(D::Time::encode(task.create_dt.unwrap_or(now))))
            .push_bind(Some(D::Time::encode(task.update_dt.unwrap_or(now))))
            .push_bind(task.status.as_str().to_owned())
            .push_bind(task.completed_dt.map(D::Time::encode))
            .push_bind(task.priority);
        // Keys as taskman makes them, for the trigger that indexes them.
        let labels = Labels::from_stored_texts(task.labels.iter().map(String::as_str));
        row.push_bind(labels.to_json())
            .push_bind(labels.keys_json());
    });
    insert.build().execute(&mut *conn).await.with_context(|| {
        format!(
            "cannot insert tasks {}..={}",
            tasks[0].id,
            tasks[tasks.len() - 1].id
        )
    })?;
    Ok(())
}

async fn insert_notifications<D: Dialect>(
    conn: &mut Conn<D>,
    notifications: &[ArchivedNotification],
    now: Timestamp,
) -> anyhow::Result<()>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'q> i64: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> bool: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> String: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> Option<String>: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> Option<D::Time>: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> Option<i64>: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
{
    if notifications.is_empty() {
        return Ok(());
    }
    let mut insert = QueryBuilder::<D::Db>::new(
        "INSERT INTO notification (id, task_id, title, kind, expiry_dt, notified_at, late, \
         delivery_state, delivery_attempts, next_attempt_at, last_error, delivered_at) ",
    );
    insert.push_values(notifications, |mut row, n| {
        // A webhook delivery still to make is due at once on the target.
        let pending = n.delivery_state == DeliveryState::Pending.as_str();
        row.push_bind(n.id)
            .push_bind(n.task_id)
            .push_bind(n.title.clone())
            .push_bind(n.kind.clone())
            .push_bind(Some(D::Time::encode(n.expiry_dt)))
            .push_bind(Some(D::Time::encode(n.notified_at)))
            .push_bind(n.late)
            .push_bind(n.delivery_state.clone())
            .push_bind(i64::from(n.delivery_attempts))
            .push_bind(pending.then(|| D::Time::encode(now)))
            .push_bind(n.last_error.clone())
            .push_bind(n.delivered_at.map(D::Time::encode));
    });
    insert
        .build()
        .execute(&mut *conn)
        .await
        .context("cannot insert warnings")?;
    Ok(())
}
