//! Replicas started together, one per node, all start: on a fresh
//! database, on one an older taskman migrated part-way, and on the original
//! service's (adopted once). The start-up lease is a committed row, which
//! Galera certifies cluster-wide; `GET_LOCK` would be local to one node.

use futures_util::future::join_all;
use sqlx::{Executor, MySqlConnection};
use taskman::{App, Config};

use super::cluster_or_skip;
use crate::adopt::{ORIGINAL_TABLE, insert_id, schema};
use crate::common::galera::{Galera, GaleraDatabase};
use crate::common::start;

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

/// Builds one app per node at once; every one must build, then serve a
/// list of tasks.
async fn start_together(database: &GaleraDatabase) {
    let urls = database.urls();
    let built = join_all(urls.iter().map(|url| App::build(config(url)))).await;
    let errors: Vec<String> = built
        .iter()
        .enumerate()
        .filter_map(|(n, result)| {
            result
                .as_ref()
                .err()
                .map(|err| format!("node {}: {err:#}", n + 1))
        })
        .collect();
    assert!(
        errors.is_empty(),
        "{} of {} replicas failed to start: {errors:#?}",
        errors.len(),
        urls.len()
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

/// The schema one replica started alone leaves on a fresh database, as
/// every node sees it.
async fn schema_of_a_single_start(cluster: &Galera) -> Vec<String> {
    let database = cluster.database().await;
    let (_, stop, server) = start(&database.url(1), &[]).await;
    let _ = stop.send(());
    server.await.expect("server task").expect("stops cleanly");
    same_schema_on_every_node(cluster, &database).await
}

/// The schema, which every node must agree on.
async fn same_schema_on_every_node(cluster: &Galera, database: &GaleraDatabase) -> Vec<String> {
    let first = schema(&mut database.connect(1).await).await;
    for node in 2..=cluster.nodes() {
        let mut conn = database.connect(node).await;
        assert_eq!(schema(&mut conn).await, first, "node {node}");
    }
    first
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_started_together_on_a_fresh_database_all_start() {
    let cluster = cluster_or_skip!("replicas_started_together_on_a_fresh_database_all_start");
    let expected = schema_of_a_single_start(&cluster).await;
    for trial in 0..2 {
        let database = cluster.database().await;
        start_together(&database).await;
        assert_eq!(
            same_schema_on_every_node(&cluster, &database).await,
            expected,
            "trial {trial}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_started_together_on_a_database_at_an_earlier_migration_all_start() {
    let cluster = cluster_or_skip!(
        "replicas_started_together_on_a_database_at_an_earlier_migration_all_start"
    );
    let expected = schema_of_a_single_start(&cluster).await;
    for last in [1, 3] {
        let database = cluster.database().await;
        sqlx::migrate!("./migrations/mysql")
            .run_to(last, &mut database.connect(1).await)
            .await
            .expect("the first migrations");
        start_together(&database).await;
        assert_eq!(
            same_schema_on_every_node(&cluster, &database).await,
            expected,
            "from migration {last}"
        );
    }
}

async fn rows(sql: &mut MySqlConnection) -> Vec<(i64, Option<String>)> {
    sqlx::query_as("SELECT id, title FROM task ORDER BY id")
        .fetch_all(sql)
        .await
        .expect("rows")
}

/// The original's table on the cluster, with rows of every kind its
/// clients wrote.
async fn original_with_rows(cluster: &Galera) -> (GaleraDatabase, Vec<(i64, Option<String>)>) {
    let database = cluster.database().await;
    let mut sql = database.connect(1).await;
    sql.execute("SET SESSION time_zone = '+00:00', sql_mode = ''")
        .await
        .expect("session");
    sql.execute(ORIGINAL_TABLE)
        .await
        .expect("the original's table");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_started_together_on_the_original_database_adopt_it_once() {
    let cluster =
        cluster_or_skip!("replicas_started_together_on_the_original_database_adopt_it_once");
    let expected = {
        let (database, _) = original_with_rows(&cluster).await;
        let (_, stop, server) = start(&database.url(1), &[]).await;
        let _ = stop.send(());
        server.await.expect("server task").expect("stops cleanly");
        same_schema_on_every_node(&cluster, &database).await
    };
    assert!(
        expected
            .iter()
            .any(|line| line.starts_with("task.title varchar(255) YES")),
        "adoption leaves the title nullable: {expected:?}"
    );
    let (database, before) = original_with_rows(&cluster).await;
    start_together(&database).await;
    assert_eq!(
        same_schema_on_every_node(&cluster, &database).await,
        expected
    );
    assert_eq!(
        rows(&mut database.connect(2).await).await,
        before,
        "every row kept"
    );
}
