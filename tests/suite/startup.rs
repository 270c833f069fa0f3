//! Start-up on MySQL: replicas started together all start, on a fresh
//! database, on one at an earlier migration and on the original service's
//! (adopted once); and a migration recorded as failed is explained by what
//! the schema actually holds.

use std::time::Duration;

use futures_util::future::join_all;
use sqlx::{Connection, Executor, MySqlConnection};
use taskman::{App, Config};

use crate::adopt::{insert_id, original_database, schema};
use crate::common::{Backend, TestDatabase, start};

const REPLICAS: usize = 5;
const TRIALS: usize = 3;

fn config(database_url: &str) -> Config {
    Config::from_args([
        "taskman",
        "--database-url",
        database_url,
        "--bind-addr",
        "127.0.0.1:0",
        "--db-timeout",
        "10s",
    ])
    .expect("valid test config")
}

async fn connect(database: &TestDatabase) -> MySqlConnection {
    MySqlConnection::connect(database.url())
        .await
        .expect("connect")
}

/// Builds `REPLICAS` apps at once on one database; every one must build,
/// then serve a list of tasks.
async fn start_together(database: &TestDatabase) {
    let built = join_all((0..REPLICAS).map(|_| App::build(config(database.url())))).await;
    let errors: Vec<String> = built
        .iter()
        .filter_map(|result| result.as_ref().err().map(|err| format!("{err:#}")))
        .collect();
    assert!(
        errors.is_empty(),
        "{} of {REPLICAS} replicas failed to start: {errors:#?}",
        errors.len()
    );
    let client = reqwest::Client::new();
    for app in built.into_iter().flatten() {
        let address = format!("http://127.0.0.1:{}/v1/tasks", app.port());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        let response = client.get(&address).send().await.expect("request sent");
        assert_eq!(response.status(), 200, "{address}");
        let _ = stop.send(());
        server.await.expect("server task").expect("stops cleanly");
    }
}

/// The schema one replica, started alone, leaves on a database prepared
/// by `prepare`.
async fn schema_of_a_single_start<F, Fut>(prepare: F) -> Vec<String>
where
    F: FnOnce(TestDatabase) -> Fut,
    Fut: Future<Output = TestDatabase>,
{
    let database = prepare(TestDatabase::create(Backend::MySql).await).await;
    let (_, stop, server) = start(database.url(), &[]).await;
    let _ = stop.send(());
    server.await.expect("server task").expect("stops cleanly");
    schema(&mut connect(&database).await).await
}

async fn fresh(database: TestDatabase) -> TestDatabase {
    database
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_started_together_on_a_fresh_database_all_start() {
    let expected = schema_of_a_single_start(fresh).await;
    for trial in 0..TRIALS {
        let database = TestDatabase::create(Backend::MySql).await;
        start_together(&database).await;
        assert_eq!(
            schema(&mut connect(&database).await).await,
            expected,
            "trial {trial}"
        );
    }
}

/// Applies migrations 1 to `last` only, as an older taskman left them.
async fn migrated_to(database: &TestDatabase, last: i64) {
    sqlx::migrate!("./migrations/mysql")
        .run_to(last, &mut connect(database).await)
        .await
        .expect("the first migrations");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_started_together_on_a_database_at_an_earlier_migration_all_start() {
    let expected = schema_of_a_single_start(fresh).await;
    for last in 1..=3 {
        let database = TestDatabase::create(Backend::MySql).await;
        migrated_to(&database, last).await;
        start_together(&database).await;
        assert_eq!(
            schema(&mut connect(&database).await).await,
            expected,
            "from migration {last}"
        );
    }
}

/// The original's table with rows of every kind its clients wrote.
async fn original_with_rows() -> (TestDatabase, Vec<(i64, Option<String>)>) {
    let (database, mut sql) = original_database().await;
    for insert in [
        "INSERT INTO task (title, description) VALUES (NULL, 'no title')",
        "INSERT INTO task (title) VALUES ('')",
        "INSERT INTO task (title, expiry_dt) VALUES ('zero date', '0000-00-00 00:00:00')",
        "INSERT INTO task (title, expiry_dt) VALUES ('far ahead', '2999-01-01 00:00:00')",
    ] {
        insert_id(&mut sql, insert).await;
    }
    let rows = rows(&mut sql).await;
    (database, rows)
}

async fn rows(sql: &mut MySqlConnection) -> Vec<(i64, Option<String>)> {
    sqlx::query_as("SELECT id, title FROM task ORDER BY id")
        .fetch_all(sql)
        .await
        .expect("rows")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_started_together_on_the_original_database_adopt_it_once() {
    let expected = schema_of_a_single_start(|_unused| async { original_with_rows().await.0 }).await;
    assert!(
        expected
            .iter()
            .any(|line| line.starts_with("task.title varchar(255) YES")),
        "adoption leaves the title nullable: {expected:?}"
    );
    for trial in 0..TRIALS {
        let (database, before) = original_with_rows().await;
        start_together(&database).await;
        let mut sql = connect(&database).await;
        assert_eq!(schema(&mut sql).await, expected, "trial {trial}");
        assert_eq!(
            rows(&mut sql).await,
            before,
            "trial {trial}: every row kept"
        );
    }
}

/// Starts one app alone and returns its error, which it must have.
async fn start_fails(database: &TestDatabase) -> String {
    match App::build(config(database.url())).await {
        Ok(_) => panic!("started over a migration recorded as failed"),
        Err(err) => format!("{err:#}"),
    }
}

async fn migrated_database() -> (TestDatabase, MySqlConnection) {
    let database = TestDatabase::create(Backend::MySql).await;
    let (_, stop, server) = start(database.url(), &[]).await;
    let _ = stop.send(());
    server.await.expect("server task").expect("stops cleanly");
    let sql = connect(&database).await;
    (database, sql)
}

/// What a Galera deadlock at the end of migration 1 left: the table made,
/// its record failed, the later migrations applied. Deleting the record
/// would send the next start down the adoption path (title nullable); the
/// message says to mark it applied, and that works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complete_migration_recorded_as_failed_is_to_be_marked_applied() {
    let (database, mut sql) = migrated_database().await;
    let complete = schema(&mut sql).await;
    sql.execute("UPDATE _sqlx_migrations SET success = FALSE WHERE version = 1")
        .await
        .expect("migration 1 recorded as failed");

    let err = start_fails(&database).await;
    assert!(
        err.contains("every change migration 1 makes is in the schema"),
        "{err}"
    );
    assert!(
        err.contains("UPDATE _sqlx_migrations SET success = TRUE WHERE version = 1"),
        "{err}"
    );
    assert!(!err.contains("DELETE FROM"), "{err}");
    // Nor, further down the message, sqlx's own advice to remove the row.
    assert!(!err.contains("remove row"), "{err}");

    sql.execute("UPDATE _sqlx_migrations SET success = TRUE WHERE version = 1")
        .await
        .expect("as the message says");
    let (_, stop, server) = start(database.url(), &[]).await;
    let _ = stop.send(());
    server.await.expect("server task").expect("stops cleanly");
    assert_eq!(schema(&mut sql).await, complete, "the title stays NOT NULL");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_migration_recorded_as_failed_names_what_is_missing() {
    let (database, mut sql) = migrated_database().await;
    sql.execute("DROP INDEX notification_task_id ON notification")
        .await
        .expect("one change of migration 4 undone");
    sql.execute("UPDATE _sqlx_migrations SET success = FALSE WHERE version = 4")
        .await
        .expect("migration 4 recorded as failed");

    let err = start_fails(&database).await;
    assert!(
        err.contains("migration 4 took effect only in part"),
        "{err}"
    );
    assert!(
        err.contains("missing: index notification_task_id on notification"),
        "{err}"
    );
    assert!(!err.contains("DELETE FROM"), "{err}");
    assert!(!err.contains("remove row"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_recorded_as_failed_without_any_effect_is_to_be_run_again() {
    let database = TestDatabase::create(Backend::MySql).await;
    migrated_to(&database, 3).await;
    let mut sql = connect(&database).await;
    sql.execute(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (4, 'idempotency and probe', FALSE, X'00', -1)",
    )
    .await
    .expect("migration 4 recorded as failed");

    let err = start_fails(&database).await;
    assert!(err.contains("none of migration 4's changes"), "{err}");
    assert!(
        err.contains("DELETE FROM _sqlx_migrations WHERE version = 4"),
        "{err}"
    );
    sql.execute("DELETE FROM _sqlx_migrations WHERE version = 4")
        .await
        .expect("as the message says");
    let (_, stop, server) = start(database.url(), &[]).await;
    let _ = stop.send(());
    server.await.expect("server task").expect("stops cleanly");
}

/// A replica that died holding the start-up lease delays the next start
/// until the lease expires, and no longer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_left_by_a_dead_replica_is_taken_once_it_expires() {
    let (database, mut sql) = migrated_database().await;
    // Back to a fresh database that still has the lease table.
    sql.execute("DROP TABLE task, notification, idempotency_key, write_probe, _sqlx_migrations")
        .await
        .expect("everything but the lease dropped");
    sql.execute(
        "UPDATE _taskman_startup_lease \
         SET owner = 'a dead replica', expires_at = UTC_TIMESTAMP(6) + INTERVAL 2 SECOND",
    )
    .await
    .expect("a lease held");

    let started = tokio::time::Instant::now();
    let app = App::build(config(database.url()))
        .await
        .expect("app builds");
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "started after {:?}, inside the dead replica's lease",
        started.elapsed()
    );
    drop(app);
    let owner: Option<String> =
        sqlx::query_scalar("SELECT owner FROM _taskman_startup_lease WHERE id = 1")
            .fetch_one(&mut sql)
            .await
            .expect("the lease");
    assert_eq!(owner, None, "released after start-up");
    assert_eq!(
        schema(&mut sql).await,
        schema_of_a_single_start(fresh).await
    );
}
