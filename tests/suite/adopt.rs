//! The original service's users: taskman adopts their database in place,
//! serves the rows other tools wrote, and warns about tasks written with
//! plain SQL while it runs.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::migrate::Migrate;
use sqlx::{Connection, Executor, MySqlConnection, Row, SqliteConnection};
use taskman::{App, Config};

use crate::common::{Backend, TestDatabase, eventually, json_body, start};

const WAIT: Duration = Duration::from_secs(30);

/// Fast ticks, and a reconcile job every second: rows written outside the
/// API are picked up by it.
fn args() -> Vec<String> {
    [
        "--tick-interval",
        "100ms",
        "--reconcile-schedule",
        "*/1 * * * * *",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// The original's table, exactly (MySQL, database `task_man`), in the
/// original's collation.
pub(crate) const ORIGINAL_TABLE: &str = "CREATE TABLE task (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    title VARCHAR(50) NULL,
    description TEXT NULL,
    expiry_dt DATETIME(6) NULL,
    create_dt DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    update_dt DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
) DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_general_ci";

/// A fresh database holding the original's empty table, and a connection
/// to it as the original's clients had one.
pub(crate) async fn original_database() -> (TestDatabase, MySqlConnection) {
    let database = TestDatabase::create(Backend::MySql).await;
    let mut sql = MySqlConnection::connect(database.url())
        .await
        .expect("connect");
    // What the original's clients wrote: naive datetimes (UTC on its
    // servers), under whatever sql_mode they had; a lax one lets zero dates in.
    sql.execute("SET SESSION time_zone = '+00:00', sql_mode = ''")
        .await
        .expect("session");
    sql.execute(ORIGINAL_TABLE)
        .await
        .expect("the original's table");
    (database, sql)
}

async fn get(client: &reqwest::Client, address: &str, path: &str) -> reqwest::Response {
    client
        .get(format!("{address}{path}"))
        .send()
        .await
        .expect("request sent")
}

/// Every task, following `next_cursor` through pages of two.
async fn list_all(client: &reqwest::Client, address: &str) -> Vec<Value> {
    let mut tasks = Vec::new();
    let mut path = "/v1/tasks?limit=2".to_owned();
    loop {
        let page = json_body(get(client, address, &path).await, 200).await;
        tasks.extend(page["tasks"].as_array().expect("tasks").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/tasks?limit=2&cursor={cursor}"),
            None => return tasks,
        }
    }
}

async fn warnings(client: &reqwest::Client, address: &str, id: i64) -> Vec<Value> {
    let page = json_body(
        get(client, address, &format!("/v1/notifications?task_id={id}")).await,
        200,
    )
    .await;
    page["notifications"]
        .as_array()
        .expect("notifications")
        .clone()
}

async fn wait_for_warning(client: &reqwest::Client, address: &str, id: i64) -> Vec<Value> {
    eventually(WAIT, &format!("a warning for task {id}"), || async {
        let found = warnings(client, address, id).await;
        (!found.is_empty()).then_some(found)
    })
    .await
}

pub(crate) async fn insert_id(conn: &mut MySqlConnection, sql: &str) -> i64 {
    let done = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut *conn)
        .await
        .unwrap_or_else(|err| panic!("{sql}: {err}"));
    done.last_insert_id() as i64
}

/// What a second start must not change: every table's columns (type,
/// nullability, default, extras), every index, and the migration history.
pub(crate) async fn schema(conn: &mut MySqlConnection) -> Vec<String> {
    let queries = [
        "SELECT CONCAT(table_name, '.', column_name, ' ', column_type, ' ', is_nullable, ' ', \
         COALESCE(column_default, '-'), ' ', extra) FROM information_schema.columns \
         WHERE table_schema = DATABASE() ORDER BY table_name, column_name",
        "SELECT CONCAT(table_name, ' ', index_name, ' ', seq_in_index, ' ', column_name) \
         FROM information_schema.statistics WHERE table_schema = DATABASE() \
         ORDER BY table_name, index_name, seq_in_index",
        "SELECT CONCAT(version, ' ', success, ' ', HEX(checksum)) FROM _sqlx_migrations \
         ORDER BY version",
    ];
    let mut found = Vec::new();
    for query in queries {
        let rows: Vec<String> = sqlx::query_scalar(query)
            .fetch_all(&mut *conn)
            .await
            .unwrap_or_else(|err| panic!("{query}: {err}"));
        found.extend(rows);
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_original_database_is_adopted_served_and_warned() {
    let (database, mut sql) = original_database().await;
    let untitled = insert_id(
        &mut sql,
        "INSERT INTO task (title, description) VALUES (NULL, 'no title')",
    )
    .await;
    let empty = insert_id(&mut sql, "INSERT INTO task (title) VALUES ('')").await;
    let longest = insert_id(
        &mut sql,
        &format!("INSERT INTO task (title) VALUES ('{}')", "x".repeat(50)),
    )
    .await;
    let in_window = insert_id(
        &mut sql,
        "INSERT INTO task (title, expiry_dt) VALUES ('due soon', UTC_TIMESTAMP(6) + INTERVAL 5 MINUTE)",
    )
    .await;
    let long_past = insert_id(
        &mut sql,
        "INSERT INTO task (title, expiry_dt) VALUES ('long past', '2020-01-01 00:00:00')",
    )
    .await;
    let far_ahead = insert_id(
        &mut sql,
        "INSERT INTO task (title, expiry_dt) VALUES ('far ahead', '2999-01-01 00:00:00')",
    )
    .await;
    let zero_date = insert_id(
        &mut sql,
        "INSERT INTO task (title, expiry_dt) VALUES ('zero date', '0000-00-00 00:00:00')",
    )
    .await;
    let ids = [
        untitled, empty, longest, in_window, long_past, far_ahead, zero_date,
    ];

    let (address, stop, server) = start(database.url(), &args()).await;
    let client = reqwest::Client::new();

    // Every row is served, ids unchanged, as faithfully as JSON allows.
    let task = |id: i64| {
        let client = &client;
        let address = &address;
        async move { json_body(get(client, address, &format!("/v1/tasks/{id}")).await, 200).await }
    };
    assert_eq!(
        task(untitled).await["title"],
        "",
        "a NULL title reads as empty"
    );
    assert_eq!(task(untitled).await["description"], "no title");
    assert_eq!(task(empty).await["title"], "");
    assert_eq!(task(longest).await["title"], "x".repeat(50));
    assert_eq!(task(far_ahead).await["expiry_dt"], "2999-01-01T00:00:00Z");
    assert_eq!(
        task(zero_date).await["expiry_dt"],
        Value::Null,
        "a zero date reads as null"
    );
    assert!(task(in_window).await["create_dt"].is_string());
    let listed: Vec<i64> = list_all(&client, &address)
        .await
        .iter()
        .map(|t| t["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(listed, ids, "every row listed once, in id order");

    // The task inside the warning window is warned, once.
    let warned = wait_for_warning(&client, &address, in_window).await;
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert_eq!(warned[0]["kind"], "expiring");
    assert_eq!(warned[0]["late"], true, "caught up at start-up");
    // One long past gets its `expired` warning, caught up, so late.
    let caught_up = wait_for_warning(&client, &address, long_past).await;
    assert_eq!(caught_up.len(), 1, "{caught_up:?}");
    assert_eq!(caught_up[0]["kind"], "expired");
    assert_eq!(caught_up[0]["late"], true);

    // Other tools keep writing with plain SQL while the service runs: the
    // database fills in the times, and a changed expiry is warned.
    let by_sql = insert_id(
        &mut sql,
        "INSERT INTO task (title, description) VALUES ('by sql', 'an ops script')",
    )
    .await;
    let inserted = task(by_sql).await;
    assert_eq!(inserted["title"], "by sql");
    assert!(inserted["create_dt"].is_string() && inserted["update_dt"].is_string());
    sql.execute(sqlx::AssertSqlSafe(format!(
        "UPDATE task SET expiry_dt = UTC_TIMESTAMP(6) + INTERVAL 1 MINUTE WHERE id = {far_ahead}"
    )))
    .await
    .expect("plain UPDATE");
    let moved = wait_for_warning(&client, &address, far_ahead).await;
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert_eq!(moved[0]["kind"], "expiring");
    let _ = stop.send(());
    server.await.expect("server task").expect("stops cleanly");

    // A second start is a no-op: same rows, same ids, same schema, and
    // nothing warned twice.
    let schema_before = schema(&mut sql).await;
    let (address, stop, server) = start(database.url(), &args()).await;
    let schema_after = schema(&mut sql).await;
    assert!(
        schema_before
            .iter()
            .any(|line| line.starts_with("task.title varchar(255) YES")),
        "the title was widened and stays nullable: {schema_before:?}"
    );
    assert_eq!(schema_before, schema_after);
    let listed: BTreeSet<i64> = list_all(&client, &address)
        .await
        .iter()
        .map(|t| t["id"].as_i64().expect("id"))
        .collect();
    let mut expected: BTreeSet<i64> = ids.into_iter().collect();
    expected.insert(by_sql);
    assert_eq!(listed, expected);
    // A new task in the window is warned: the tick loop has run since the
    // restart, and had it meant to warn an old one again, it would have.
    let probe = json_body(
        client
            .post(format!("{address}/v1/tasks"))
            .json(&json!({"title": "probe", "expiry_dt": (chrono::Utc::now() + chrono::Duration::minutes(2)).to_rfc3339()}))
            .send()
            .await
            .expect("create"),
        201,
    )
    .await;
    wait_for_warning(&client, &address, probe["id"].as_i64().expect("id")).await;
    for id in [in_window, far_ahead] {
        assert_eq!(warnings(&client, &address, id).await.len(), 1, "task {id}");
    }
    let stored: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM notification WHERE task_id IN ({in_window}, {far_ahead})"
    )))
    .fetch_one(&mut sql)
    .await
    .expect("count");
    assert_eq!(stored, 2, "one warning each in the database");
    let _ = stop.send(());
    server.await.expect("server task").expect("stops cleanly");
}

/// A taskman without adoption, pointed at the original's database, left a
/// failed migration 1: the message says to delete it, and once that is done
/// the empty history (as an adoption cut off right after creating it also
/// leaves) does not stop the next start from adopting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_first_migration_once_removed_does_not_block_adoption() {
    let database = TestDatabase::create(Backend::MySql).await;
    let mut sql = MySqlConnection::connect(database.url())
        .await
        .expect("connect");
    sql.execute(ORIGINAL_TABLE)
        .await
        .expect("the original's table");
    let kept = insert_id(&mut sql, "INSERT INTO task (title) VALUES ('kept')").await;
    sql.ensure_migrations_table("_sqlx_migrations")
        .await
        .expect("a history");
    // What a taskman without adoption left: its CREATE TABLE task failed.
    sql.execute(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (1, 'task', FALSE, X'00', -1)",
    )
    .await
    .expect("a failed migration 1");
    let config = Config::from_args([
        "taskman",
        "--database-url",
        database.url(),
        "--bind-addr",
        "127.0.0.1:0",
    ])
    .expect("config");
    let err = match App::build(config).await {
        Ok(_) => panic!("started over a failed migration 1"),
        Err(err) => format!("{err:#}"),
    };
    assert!(
        err.contains("DELETE FROM _sqlx_migrations WHERE version = 1"),
        "{err}"
    );
    // The user does as the message says.
    sql.execute("DELETE FROM _sqlx_migrations WHERE version = 1")
        .await
        .expect("the failed row removed");

    let (address, stop, server) = start(database.url(), &args()).await;
    let client = reqwest::Client::new();
    let task = json_body(
        get(&client, &address, &format!("/v1/tasks/{kept}")).await,
        200,
    )
    .await;
    assert_eq!(task["title"], "kept");
    let _ = stop.send(());
    server.await.expect("server task").expect("stops cleanly");
    let applied: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE version = 1 AND success")
            .fetch_one(&mut sql)
            .await
            .expect("history");
    assert_eq!(applied, 1, "the adopted table is recorded as migration 1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_table_of_another_shape_is_left_alone() {
    let database = TestDatabase::create(Backend::MySql).await;
    let mut sql = MySqlConnection::connect(database.url())
        .await
        .expect("connect");
    sql.execute("CREATE TABLE task (id INT PRIMARY KEY, name TEXT)")
        .await
        .expect("a foreign table");
    sql.execute("INSERT INTO task VALUES (1, 'theirs')")
        .await
        .expect("a row");
    let config = Config::from_args([
        "taskman",
        "--database-url",
        database.url(),
        "--bind-addr",
        "127.0.0.1:0",
    ])
    .expect("config");
    let err = match App::build(config).await {
        Ok(_) => panic!("taskman took over a table that is not the original's"),
        Err(err) => format!("{err:#}"),
    };
    assert!(
        err.contains("not those of the original service's table"),
        "{err}"
    );
    let columns: Vec<String> = sqlx::query_scalar(
        "SELECT column_name FROM information_schema.columns \
         WHERE table_schema = DATABASE() AND table_name = 'task' ORDER BY column_name",
    )
    .fetch_all(&mut sql)
    .await
    .expect("columns");
    assert_eq!(columns, ["id", "name"], "the table is untouched");
    let history: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables \
         WHERE table_schema = DATABASE() AND table_name = '_sqlx_migrations'",
    )
    .fetch_one(&mut sql)
    .await
    .expect("tables");
    assert_eq!(history, 0, "no migration was recorded");
}

/// SQLite: rows another tool wrote — an empty or overlong title, text in a
/// time column — are served, and do not stop the warnings of valid rows
/// written the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_rows_written_by_other_tools_are_served_and_warned() {
    let database = TestDatabase::create(Backend::Sqlite).await;
    let (address, stop, server) = start(database.url(), &args()).await;
    let client = reqwest::Client::new();
    let mut sql = SqliteConnection::connect(database.url())
        .await
        .expect("connect");
    let mut insert = async |sql_text: String| -> i64 {
        sqlx::query(sqlx::AssertSqlSafe(sql_text.clone()))
            .execute(&mut sql)
            .await
            .unwrap_or_else(|err| panic!("{sql_text}: {err}"))
            .last_insert_rowid()
    };
    let empty = insert("INSERT INTO task (title) VALUES ('')".to_owned()).await;
    let overlong = insert(format!(
        "INSERT INTO task (title) VALUES ('{}')",
        "y".repeat(300)
    ))
    .await;
    let garbage =
        insert("INSERT INTO task (title, expiry_dt) VALUES ('garbage', 'next tuesday')".to_owned())
            .await;
    let soon_micros = (chrono::Utc::now() + chrono::Duration::minutes(5)).timestamp_micros();
    let due = insert(format!(
        "INSERT INTO task (title, expiry_dt) VALUES ('due by sql', {soon_micros})"
    ))
    .await;

    for (id, title) in [(empty, String::new()), (overlong, "y".repeat(300))] {
        let task = json_body(
            get(&client, &address, &format!("/v1/tasks/{id}")).await,
            200,
        )
        .await;
        assert_eq!(task["title"], title.as_str());
        assert!(
            task["create_dt"].is_string(),
            "the database gave it a time: {task}"
        );
    }
    let unreadable = json_body(
        get(&client, &address, &format!("/v1/tasks/{garbage}")).await,
        200,
    )
    .await;
    assert_eq!(unreadable["expiry_dt"], Value::Null, "{unreadable}");
    let listed: Vec<i64> = list_all(&client, &address)
        .await
        .iter()
        .map(|t| t["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(listed, [empty, overlong, garbage, due]);

    let warned = wait_for_warning(&client, &address, due).await;
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert_eq!(warned[0]["kind"], "expiring");
    assert!(warnings(&client, &address, garbage).await.is_empty());

    // An UPDATE by another tool moves the version on (the trigger) and is
    // warned for the new expiry.
    let before = json_body(
        get(&client, &address, &format!("/v1/tasks/{empty}")).await,
        200,
    )
    .await;
    let soon_micros = (chrono::Utc::now() + chrono::Duration::minutes(3)).timestamp_micros();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE task SET expiry_dt = {soon_micros} WHERE id = {empty}"
    )))
    .execute(&mut sql)
    .await
    .expect("plain UPDATE");
    let after = json_body(
        get(&client, &address, &format!("/v1/tasks/{empty}")).await,
        200,
    )
    .await;
    // Compared as instants: as text, "…:50Z" sorts after "…:50.5Z".
    let version = |task: &Value| {
        chrono::DateTime::parse_from_rfc3339(task["update_dt"].as_str().expect("update_dt"))
            .expect("an RFC 3339 time")
    };
    assert!(version(&after) > version(&before), "{before} -> {after}");
    wait_for_warning(&client, &address, empty).await;
    let rows: i64 = sqlx::query("SELECT COUNT(*) AS n FROM notification")
        .fetch_one(&mut sql)
        .await
        .expect("count")
        .get("n");
    assert_eq!(rows, 2);
    let _ = stop.send(());
    server.await.expect("server task").expect("stops cleanly");
}
