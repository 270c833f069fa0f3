//! `taskman export` and `taskman import`: a move between backends keeps
//! every id, time, version and warning; a cut or unexpected archive changes
//! nothing; an export taken under writes is one moment.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};
use sqlx::Connection;

use crate::common::{Backend, TestDatabase, json_body, list_all_tasks, start, wait_for_warnings};

const TASKMAN: &str = env!("CARGO_BIN_EXE_taskman");

crate::on_both_backends!(
    an_import_refuses_a_full_target_or_a_cut_archive_and_changes_nothing,
    an_export_under_writes_is_one_moment,
);

/// Runs `taskman --database-url URL ARGS`, feeding `input`; (success, stdout, stderr).
fn taskman(url: &str, args: &[&str], input: &[u8]) -> (bool, Vec<u8>, String) {
    let mut child = Command::new(TASKMAN)
        .arg("--database-url")
        .arg(url)
        .args(args)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("taskman runs");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || {
        // A command that refuses early closes its stdin: not an error here.
        let _ = stdin.write_all(&input);
    });
    let output = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    (
        output.status.success(),
        output.stdout,
        String::from_utf8(output.stderr).unwrap(),
    )
}

pub(crate) async fn export(url: &str) -> Vec<u8> {
    let url = url.to_owned();
    let (ok, out, err) = tokio::task::spawn_blocking(move || taskman(&url, &["export"], b""))
        .await
        .unwrap();
    assert!(ok, "export failed: {err}");
    out
}

pub(crate) async fn import(url: &str, archive: &[u8], extra: &[&str]) -> (bool, String) {
    let (url, archive) = (url.to_owned(), archive.to_vec());
    let args: Vec<String> = ["import"]
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect();
    let (ok, _, err) = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        taskman(&url, &args, &archive)
    })
    .await
    .unwrap();
    (ok, err)
}

/// The archive without its header (which names the source and the time).
fn body(archive: &[u8]) -> Vec<&[u8]> {
    archive.split(|&b| b == b'\n').skip(1).collect()
}

fn records(archive: &[u8]) -> Vec<Value> {
    archive
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| serde_json::from_slice(line).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_tasks_move_sqlite_to_mysql_and_back_unchanged() {
    const TASKS: i64 = 100_000;
    let source = TestDatabase::create(Backend::Sqlite).await;
    // Served once (schema, a real warning, a deleted newest task), then
    // filled by another tool, as an operator's database would be.
    let (address, stop, server) = start(source.url(), &[]).await;
    let client = reqwest::Client::new();
    let soon = (chrono::Utc::now() + chrono::Duration::minutes(1)).to_rfc3339();
    let warned = json_body(
        client
            .post(format!("{address}/v1/tasks"))
            .json(&json!({"title": "warned ✓", "description": "line\nbreak", "expiry_dt": soon}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    wait_for_warnings(&client, &address, 1).await;
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    let mut conn = sqlx::SqliteConnection::connect(source.url()).await.unwrap();
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM n WHERE i < ?) \
         INSERT INTO task (id, title, description, expiry_dt, create_dt, update_dt) \
         SELECT i, 'task ' || i || ' \"quoted\" ünïcode', CASE WHEN i % 3 = 0 THEN NULL ELSE 'd' || i END, \
         CASE WHEN i % 2 = 0 THEN NULL ELSE 1900000000000000 + i * 1000001 END, \
         1700000000000000 + i, 1700000000000000 + i * 7 FROM n",
    )
    .bind(TASKS + 1)
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query("DELETE FROM task WHERE id = ?")
        .bind(TASKS + 1)
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();

    let from_sqlite = export(source.url()).await;
    let all = records(&from_sqlite);
    assert_eq!(
        all.len() as i64,
        1 + TASKS + 1 + 1,
        "header, tasks, warning, end"
    );
    assert_eq!(all[0]["type"], "header");
    assert_eq!(all[1]["id"], warned["id"]);
    assert_eq!(all[1]["update_dt"], warned["update_dt"]);
    assert_eq!(all[all.len() - 2]["type"], "notification");
    assert_eq!(
        all[all.len() - 1],
        json!({"type": "end", "tasks": TASKS, "notifications": 1, "task_ids_used": TASKS + 1})
    );

    let mysql = TestDatabase::create(Backend::MySql).await;
    let (ok, told) = import(mysql.url(), &from_sqlite, &[]).await;
    assert!(ok, "{told}");
    assert!(
        told.contains(&format!("imported {TASKS} tasks and 1 warnings")),
        "{told}"
    );
    let from_mysql = export(mysql.url()).await;
    assert_eq!(body(&from_mysql), body(&from_sqlite));

    let back = TestDatabase::create(Backend::Sqlite).await;
    let (ok, told) = import(back.url(), &from_mysql, &[]).await;
    assert!(ok, "{told}");
    assert_eq!(body(&export(back.url()).await), body(&from_sqlite));

    // Served, the moved databases answer as the source did, and hand out
    // no id the source used (the deleted newest one included).
    for target in [&mysql, &back] {
        let (address, stop, server) = start(target.url(), &[]).await;
        let first = json_body(
            client
                .get(format!("{address}/v1/tasks/{}", warned["id"]))
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
        assert_eq!(first, warned);
        let history: Value = client
            .get(format!("{address}/v1/notifications"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(history["notifications"][0]["task_id"], warned["id"]);
        let created = json_body(
            client
                .post(format!("{address}/v1/tasks"))
                .json(&json!({"title": "new"}))
                .send()
                .await
                .unwrap(),
            201,
        )
        .await;
        assert_eq!(created["id"], TASKS + 2);
        let _ = stop.send(());
        server.await.unwrap().unwrap();
    }
}

async fn an_import_refuses_a_full_target_or_a_cut_archive_and_changes_nothing(backend: Backend) {
    let source = TestDatabase::create(Backend::Sqlite).await;
    let (address, stop, server) = start(source.url(), &[]).await;
    let client = reqwest::Client::new();
    for title in ["one", "two", "three"] {
        let response = client
            .post(format!("{address}/v1/tasks"))
            .json(&json!({"title": title}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    let archive = export(source.url()).await;

    let target = TestDatabase::create(backend).await;
    let (address, stop, server) = start(target.url(), &[]).await;
    let kept = json_body(
        client
            .post(format!("{address}/v1/tasks"))
            .json(&json!({"title": "already here"}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let (ok, told) = import(target.url(), &archive, &[]).await;
    assert!(!ok);
    assert!(told.contains("--replace"), "{told}");

    // Cut before its end record, with a bad line, or with a count that
    // does not match: refused, and --replace deletes nothing.
    let lines: Vec<&[u8]> = archive.split(|&b| b == b'\n').collect();
    let cut = lines[..lines.len() - 2].join(&b'\n');
    let mut bad = lines.clone();
    bad[2] = br#"{"type":"task","id":"two"}"#;
    let bad = bad.join(&b'\n');
    let miscounted = String::from_utf8(archive.clone())
        .unwrap()
        .replace(r#""tasks":3"#, r#""tasks":4"#);
    for (broken, why) in [
        (cut, "before its end record"),
        (bad, "line 3 is not an archive record"),
        (miscounted.into_bytes(), "counts 4 tasks"),
        (Vec::new(), "empty"),
    ] {
        let (ok, told) = import(target.url(), &broken, &["--replace"]).await;
        assert!(!ok);
        assert!(told.contains(why), "{why}: {told}");
        assert_eq!(list_all_tasks(&client, &address).await, vec![kept.clone()]);
    }

    let (ok, told) = import(target.url(), &archive, &["--replace"]).await;
    assert!(ok, "{told}");
    let titles: Vec<Value> = list_all_tasks(&client, &address)
        .await
        .iter()
        .map(|task| task["title"].clone())
        .collect();
    assert_eq!(titles, [json!("one"), json!("two"), json!("three")]);
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

/// Writers change every task at once (an atomic bulk replace) and create
/// tasks throughout; the export must show one moment: every task from the
/// same round, and no task above the id counter it recorded.
async fn an_export_under_writes_is_one_moment(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let (address, stop, server) = start(database.url(), &[]).await;
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    for n in 0..200 {
        let task = json_body(
            client
                .post(format!("{address}/v1/tasks"))
                .json(&json!({"title": format!("t{n}"), "description": "round 0"}))
                .send()
                .await
                .unwrap(),
            201,
        )
        .await;
        ids.push(task["id"].clone());
    }
    let stopping = Arc::new(AtomicBool::new(false));
    let bulk = {
        let (client, address, stopping, ids) = (
            client.clone(),
            address.clone(),
            stopping.clone(),
            ids.clone(),
        );
        tokio::spawn(async move {
            let mut round = 1;
            while !stopping.load(Ordering::Acquire) {
                let items: Vec<Value> = ids
                    .iter()
                    .map(|id| json!({"id": id, "description": format!("round {round}")}))
                    .collect();
                let response = client
                    .put(format!("{address}/v1/tasks"))
                    .json(&json!({"tasks": items}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
                round += 1;
            }
            round
        })
    };
    let creators: Vec<_> = (0..4)
        .map(|_| {
            let (client, address, stopping) = (client.clone(), address.clone(), stopping.clone());
            tokio::spawn(async move {
                while !stopping.load(Ordering::Acquire) {
                    let response = client
                        .post(format!("{address}/v1/tasks"))
                        .json(&json!({"title": "new", "description": "new"}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status(), 201);
                }
            })
        })
        .collect();
    // Each export's two reads (the id counter, then the tasks) are close
    // together; many exports make sure creates fall between them.
    for _ in 0..20 {
        let archive = records(&export(database.url()).await);
        let end = archive.last().unwrap().clone();
        let tasks: Vec<&Value> = archive.iter().filter(|r| r["type"] == "task").collect();
        let rounds: std::collections::BTreeSet<&str> = tasks
            .iter()
            .filter(|task| task["title"] != "new")
            .map(|task| task["description"].as_str().unwrap())
            .collect();
        assert_eq!(rounds.len(), 1, "one round in an export: {rounds:?}");
        let highest = tasks
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .max()
            .unwrap();
        assert!(highest <= end["task_ids_used"].as_i64().unwrap(), "{end}");
        assert_eq!(end["tasks"], tasks.len());
    }
    stopping.store(true, Ordering::Release);
    assert!(bulk.await.unwrap() > 1, "the bulk writer ran");
    for creator in creators {
        creator.await.unwrap();
    }
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
