//! Rows the original service or another tool wrote, as a client meets
//! them: a `NULL` or empty title can be read, sent back unchanged and
//! patched around; a date that cannot be read is served as `null` and
//! logged once per row, not at every read.

use serde_json::{Value, json};
use sqlx::{Connection, MySqlConnection, SqliteConnection};

use crate::adopt::original_database;
use crate::common::{Backend, TestDatabase, capture_logs, json_body, start};

async fn insert(sql: &mut MySqlConnection, statement: &str) -> i64 {
    sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()))
        .execute(&mut *sql)
        .await
        .unwrap_or_else(|err| panic!("{statement}: {err}"))
        .last_insert_id() as i64
}

async fn send(client: &reqwest::Client, method: &str, url: String, body: &Value) -> Value {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let response = client
        .request(method.clone(), &url)
        .json(body)
        .send()
        .await
        .expect("request sent");
    json_body(response, 200).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_null_title_on_an_adopted_database_round_trips() {
    let (database, mut sql) = original_database().await;
    let untitled = insert(
        &mut sql,
        "INSERT INTO task (title, description) VALUES (NULL, 'no title')",
    )
    .await;
    let empty = insert(&mut sql, "INSERT INTO task (title) VALUES ('')").await;
    let (address, stop, server) = start(database.url(), &[]).await;
    let client = reqwest::Client::new();

    for id in [untitled, empty] {
        let url = format!("{address}/v1/tasks/{id}");
        let read = json_body(client.get(&url).send().await.unwrap(), 200).await;
        assert_eq!(read["title"], "");
        // Sent back as it was read: accepted, and nothing but the version moves.
        let body = json!({
            "title": read["title"],
            "description": read["description"],
            "expiry_dt": read["expiry_dt"],
        });
        let put = send(&client, "PUT", url.clone(), &body).await;
        assert_eq!(put["title"], "");
        assert_eq!(put["description"], read["description"]);
        // Patched without touching the title.
        let patched = send(
            &client,
            "PATCH",
            url.clone(),
            &json!({"description": "now"}),
        )
        .await;
        assert_eq!(patched["title"], "");
        assert_eq!(patched["description"], "now");
        // A bulk replace may send it back too.
        let bulk = send(
            &client,
            "PUT",
            format!("{address}/v1/tasks"),
            &json!({"tasks": [{"id": id, "title": "", "description": "bulk"}]}),
        )
        .await;
        assert_eq!(bulk["tasks"][0]["title"], "");
        // Setting an empty title is still refused where there is one.
        let refused = client
            .patch(&url)
            .json(&json!({"title": "   "}))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 400);
    }
    let stored: Option<String> = sqlx::query_scalar("SELECT title FROM task WHERE id = ?")
        .bind(untitled)
        .fetch_one(&mut sql)
        .await
        .expect("the row");
    assert_eq!(stored, None, "the NULL stays NULL: nothing wrote the title");
    let _ = stop.send(());
    server.await.expect("server task").expect("stops cleanly");
}

/// The migration guide's collation note: after adoption, the original's
/// case-insensitive `WHERE title = …` no longer matches another case, and
/// the remedy it gives does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adoption_makes_plain_sql_title_comparisons_exact() {
    let (database, mut sql) = original_database().await;
    insert(&mut sql, "INSERT INTO task (title) VALUES ('Pay rent')").await;
    let count = async |sql: &mut MySqlConnection, statement: &'static str| -> i64 {
        sqlx::query_scalar(statement)
            .fetch_one(&mut *sql)
            .await
            .unwrap_or_else(|err| panic!("{statement}: {err}"))
    };
    let before = count(
        &mut sql,
        "SELECT COUNT(*) FROM task WHERE title = 'pay rent'",
    )
    .await;
    assert_eq!(before, 1, "the original's table compares without case");
    let (_, stop, server) = start(database.url(), &[]).await;
    let _ = stop.send(());
    server.await.expect("server task").expect("stops cleanly");
    let after = count(
        &mut sql,
        "SELECT COUNT(*) FROM task WHERE title = 'pay rent'",
    )
    .await;
    assert_eq!(after, 0, "adopted, the table compares exactly");
    let remedy = count(
        &mut sql,
        "SELECT COUNT(*) FROM task WHERE title = 'pay rent' COLLATE utf8mb4_general_ci",
    )
    .await;
    assert_eq!(remedy, 1, "the guide's remedy");
}

/// SQLite: an empty and an overlong title another tool wrote.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn titles_another_tool_wrote_on_sqlite_round_trip() {
    let database = TestDatabase::create(Backend::Sqlite).await;
    let (address, stop, server) = start(database.url(), &[]).await;
    let mut sql = SqliteConnection::connect(database.url())
        .await
        .expect("connect");
    let client = reqwest::Client::new();
    for title in [String::new(), "y".repeat(300)] {
        let id = sqlx::query("INSERT INTO task (title) VALUES (?)")
            .bind(&title)
            .execute(&mut sql)
            .await
            .expect("insert")
            .last_insert_rowid();
        let url = format!("{address}/v1/tasks/{id}");
        let read = json_body(client.get(&url).send().await.unwrap(), 200).await;
        assert_eq!(read["title"], title.as_str());
        let put = send(&client, "PUT", url.clone(), &json!({"title": title})).await;
        assert_eq!(put["title"], title.as_str());
        let patched = send(&client, "PATCH", url, &json!({"description": "x"})).await;
        assert_eq!(patched["title"], title.as_str());
    }
    let _ = stop.send(());
    server.await.expect("server task").expect("stops cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_date_is_served_as_null_and_logged_once_per_row() {
    let captured = capture_logs(tracing::Level::WARN);
    let (database, mut sql) = original_database().await;
    let zero = insert(
        &mut sql,
        "INSERT INTO task (title, expiry_dt) VALUES ('zero date', '0000-00-00 00:00:00')",
    )
    .await;
    let (address, stop, server) = start(database.url(), &[]).await;
    let client = reqwest::Client::new();
    for _ in 0..3 {
        let read = json_body(
            client
                .get(format!("{address}/v1/tasks/{zero}"))
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
        assert_eq!(read["expiry_dt"], Value::Null);
        json_body(
            client
                .get(format!("{address}/v1/tasks"))
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
    }
    let _ = stop.send(());
    server.await.expect("server task").expect("stops cleanly");
    let log = captured.text();
    let lines: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("stored value cannot be read; it is served as null"))
        .filter(|line| line.contains("column=\"expiry_dt\"") || line.contains("column=expiry_dt"))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "one WARN for the row, not one per read:\n{log}"
    );
    assert!(
        lines[0].contains("table=\"task\"") || lines[0].contains("table=task"),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains(&format!("id={zero}")), "{}", lines[0]);
}
