//! Backups as the README's "Backup and restore" section makes them: `taskman
//! backup` of the SQLite default while writes go on, and `mariadb-dump
//! --single-transaction` of a MySQL database; each restored copy is served
//! and compared with the original.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{
    Backend, TestDatabase, eventually, json_body, list_all_tasks, start, wait_for_warnings,
};

const TASKMAN: &str = env!("CARGO_BIN_EXE_taskman");

fn taskman(args: &[&str]) -> std::process::Output {
    Command::new(TASKMAN)
        .args(args)
        .env_clear()
        .stdin(Stdio::null())
        .output()
        .expect("taskman runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_online_sqlite_backup_is_a_consistent_copy_while_writes_go_on() {
    let database = TestDatabase::create(Backend::Sqlite).await;
    let (address, stop, server) = start(database.url(), &[]).await;
    let client = reqwest::Client::new();
    // A task with a warning already in the history.
    let soon = (chrono::Utc::now() + chrono::Duration::minutes(1)).to_rfc3339();
    let warned = json_body(
        client
            .post(format!("{address}/v1/tasks"))
            .json(&json!({"title": "warned", "expiry_dt": soon}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    wait_for_warnings(&client, &address, 1).await;

    // Writers create tasks until told to stop; `acknowledged` counts 201s.
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let stopping = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for writer in 0..4 {
        let (client, address) = (client.clone(), address.clone());
        let (acknowledged, stopping) = (acknowledged.clone(), stopping.clone());
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stopping.load(Ordering::Acquire) {
                let response = client
                    .post(format!("{address}/v1/tasks"))
                    .json(
                        &json!({"title": format!("w{writer}-{n}"), "description": "x".repeat(500)}),
                    )
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 201);
                acknowledged.fetch_add(1, Ordering::AcqRel);
                n += 1;
            }
        }));
    }
    eventually(Duration::from_secs(20), "writes under way", || async {
        (acknowledged.load(Ordering::Acquire) >= 200).then_some(())
    })
    .await;

    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    let before = acknowledged.load(Ordering::Acquire) + 1;
    let output = {
        let (url, copy) = (database.url().to_owned(), copy.clone());
        tokio::task::spawn_blocking(move || {
            taskman(&["--database-url", &url, "backup", copy.to_str().unwrap()])
        })
        .await
        .unwrap()
    };
    assert!(output.status.success(), "{output:?}");
    let after = acknowledged.load(Ordering::Acquire) + 1 + 4;
    let told = String::from_utf8(output.stderr).unwrap();
    assert!(told.starts_with("backed up "), "{told}");
    stopping.store(true, Ordering::Release);
    for writer in writers {
        writer.await.unwrap();
    }

    // The copy is one file: served on its own, it holds a point in time.
    assert!(!dir.path().join("copy.db-wal").exists());
    let copy_url = format!("sqlite://{}", copy.display());
    let (copy_address, copy_stop, copy_server) = start(&copy_url, &[]).await;
    let copied = list_all_tasks(&client, &copy_address).await;
    let live = list_all_tasks(&client, &address).await;
    assert!(
        (before..=after).contains(&copied.len()),
        "{} tasks in the copy, {before}..={after} acknowledged around the backup",
        copied.len()
    );
    assert!(
        told.contains(&format!("backed up {} tasks and 1 warnings", copied.len())),
        "{told}"
    );
    // Every task in the copy is the live one as it was (same id, content,
    // version); ids leave no hole below the newest copied one.
    for (copied, live) in copied.iter().zip(&live) {
        assert_eq!(copied, live);
    }
    assert_eq!(copied[0], warned);
    let history: Value = client
        .get(format!("{copy_address}/v1/notifications"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(history["notifications"][0]["task_id"], warned["id"]);

    for (stop, server) in [(stop, server), (copy_stop, copy_server)] {
        let _ = stop.send(());
        server.await.unwrap().unwrap();
    }
}

#[test]
fn a_backup_never_overwrites_and_points_mysql_users_to_mariadb_dump() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("none.db").display());
    let missing = taskman(&["--database-url", &url, "backup", "x.db"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("there is no database at"));
    assert!(!dir.path().join("none.db").exists(), "nothing created");

    let taken = dir.path().join("taken.db");
    std::fs::write(&taken, "keep me").unwrap();
    let refused = taskman(&["--database-url", &url, "backup", taken.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("already exists"));
    assert_eq!(std::fs::read_to_string(&taken).unwrap(), "keep me");

    let mysql = taskman(&[
        "--database-url",
        "mysql://u@127.0.0.1:1/db",
        "backup",
        "y.db",
    ]);
    assert!(!mysql.status.success());
    assert!(
        String::from_utf8_lossy(&mysql.stderr).contains("mariadb-dump --single-transaction"),
        "{mysql:?}"
    );
}

/// `mariadb-dump --single-transaction` and a restore into an empty database,
/// as the README shows them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mariadb_dump_restores_tasks_history_and_the_id_counter() {
    let source = TestDatabase::create(Backend::MySql).await;
    let (address, stop, server) = start(source.url(), &[]).await;
    let client = reqwest::Client::new();
    let soon = (chrono::Utc::now() + chrono::Duration::minutes(1)).to_rfc3339();
    for n in 0..5 {
        let body = if n == 0 {
            json!({"title": "warned", "expiry_dt": soon})
        } else {
            json!({"title": format!("t{n}")})
        };
        let response = client
            .post(format!("{address}/v1/tasks"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    // The newest task is deleted: its id must not be handed out again.
    let response = client
        .delete(format!("{address}/v1/tasks/5"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    wait_for_warnings(&client, &address, 1).await;

    let target = TestDatabase::create(Backend::MySql).await;
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("taskman.sql");
    mariadb(
        "mariadb-dump",
        source.url(),
        &["--single-transaction"],
        None,
        Some(&dump),
    );
    mariadb("mariadb", target.url(), &[], Some(&dump), None);

    let (copy_address, copy_stop, copy_server) = start(target.url(), &[]).await;
    assert_eq!(
        list_all_tasks(&client, &copy_address).await,
        list_all_tasks(&client, &address).await
    );
    let history = |address: String| {
        let client = client.clone();
        async move {
            client
                .get(format!("{address}/v1/notifications"))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()["notifications"]
                .clone()
        }
    };
    assert_eq!(
        history(copy_address.clone()).await,
        history(address.clone()).await
    );
    let next = json_body(
        client
            .post(format!("{copy_address}/v1/tasks"))
            .json(&json!({"title": "after the restore"}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    assert_eq!(next["id"], 6, "the id counter came along");

    for (stop, server) in [(stop, server), (copy_stop, copy_server)] {
        let _ = stop.send(());
        server.await.unwrap().unwrap();
    }
}

/// Runs a MariaDB client tool against the database of `url`.
fn mariadb(tool: &str, url: &str, extra: &[&str], stdin: Option<&Path>, stdout: Option<&Path>) {
    let url = url::Url::parse(url).unwrap();
    let database = url.path().trim_start_matches('/');
    let mut command = Command::new(tool);
    command
        .arg(format!("--host={}", url.host_str().unwrap()))
        .arg(format!("--port={}", url.port().unwrap_or(3306)))
        .arg(format!("--user={}", url.username()))
        .arg("--protocol=tcp");
    if let Some(password) = url.password() {
        command.arg(format!("--password={password}"));
    }
    command.args(extra).arg(database);
    command.stdin(match stdin {
        Some(path) => Stdio::from(std::fs::File::open(path).unwrap()),
        None => Stdio::null(),
    });
    if let Some(path) = stdout {
        command.stdout(Stdio::from(std::fs::File::create(path).unwrap()));
    }
    let status = command
        .status()
        .unwrap_or_else(|err| panic!("{tool} runs: {err}"));
    assert!(status.success(), "{tool} failed");
}
