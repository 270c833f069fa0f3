//! Faults end in a clear answer and a full recovery: lock conflicts are
//! retried, a full disk is a 503 until there is room again, a frozen
//! database is a 503 within the time limit, and a warning missed during a
//! short crash is marked late.

use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use futures_util::StreamExt;
use serde_json::{Value, json};
use sqlx::{Connection, Executor};

use crate::common::{
    Backend, DiskLimit, TcpProxy, TestDatabase, eventually, json_body, problem_body,
    spawn_app_with, start,
};

crate::on_both_backends!(a_warning_missed_during_a_short_crash_is_late);

/// RFC 3339 for `millis` milliseconds from now.
fn from_now_ms(millis: i64) -> String {
    (Utc::now() + chrono::Duration::milliseconds(millis))
        .to_rfc3339_opts(SecondsFormat::Micros, true)
}

async fn a_warning_missed_during_a_short_crash_is_late(backend: Backend) {
    let mut app = spawn_app_with(
        backend,
        &["--warn-before", "2s", "--tick-interval", "100ms"],
    )
    .await;
    // Its window opens 1.5 s from now; the service is down from now until
    // just after that, a short outage.
    let task = app
        .create_task(json!({"title": "missed", "expiry_dt": from_now_ms(3_500)}))
        .await;
    app.stop().await;
    let window_opens = chrono::DateTime::parse_from_rfc3339(task["expiry_dt"].as_str().unwrap())
        .unwrap()
        - chrono::Duration::seconds(2);
    let wait = (window_opens.with_timezone(&Utc) - Utc::now())
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(200)).await;
    app.restart().await;
    let warning = eventually(Duration::from_secs(20), "the caught-up warning", || async {
        let page = json_body(
            app.get(&format!("/v1/notifications?task_id={}", task["id"]))
                .await,
            200,
        )
        .await;
        page["notifications"].as_array().unwrap().first().cloned()
    })
    .await;
    assert_eq!(warning["kind"], "expiring", "{warning}");
    assert_eq!(
        warning["late"], true,
        "a warning caught up after a restart is late: {warning}"
    );
}

/// Another client's transaction holding `task`'s row lock until it ends.
async fn hold_row_lock(database: &TestDatabase, task: i64) -> sqlx::MySqlConnection {
    let mut holder = sqlx::MySqlConnection::connect(database.url())
        .await
        .unwrap();
    holder.execute("BEGIN").await.unwrap();
    sqlx::query("SELECT id FROM task WHERE id = ? FOR UPDATE")
        .bind(task)
        .fetch_one(&mut holder)
        .await
        .unwrap();
    holder
}

/// A MySQL address for a proxy in front of the test server.
async fn mysql_target(database: &TestDatabase) -> (url::Url, std::net::SocketAddr) {
    let url = url::Url::parse(database.url()).unwrap();
    let target = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(3306));
    let target = tokio::net::lookup_host(target)
        .await
        .unwrap()
        .next()
        .unwrap();
    (url, target)
}

/// Another client holds a task's row lock longer than the server's lock
/// wait; the server's write waits, times out inside MySQL, runs its
/// transaction again, and succeeds once the lock is free: a 200, not a 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_wait_timeout_is_retried_not_reported() {
    let database = TestDatabase::create(Backend::MySql).await;
    // MySQL's lock wait is a third of the limit: 3 s here, time for retries.
    let (address, stop, _server) =
        start(database.url(), &["--db-timeout".into(), "10s".into()]).await;
    let client = reqwest::Client::new();
    let task = json_body(
        client
            .post(format!("{address}/v1/tasks"))
            .json(&json!({"title": "locked"}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let mut holder = hold_row_lock(&database, task["id"].as_i64().unwrap()).await;
    let patch = {
        let client = client.clone();
        let url = format!("{address}/v1/tasks/{}", task["id"]);
        tokio::spawn(async move {
            client
                .patch(url)
                .json(&json!({"description": "after the lock"}))
                .send()
                .await
                .unwrap()
        })
    };
    // Held until the server has given up waiting once and gone again.
    eventually(
        Duration::from_secs(30),
        "the server to retry after a lock wait timeout",
        || async {
            let metrics = client
                .get(format!("{address}/metrics"))
                .send()
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            let retries: u64 = metrics
                .lines()
                .find_map(|line| line.strip_prefix("taskman_db_retries_total "))?
                .parse()
                .ok()?;
            (retries >= 1).then_some(())
        },
    )
    .await;
    holder.execute("COMMIT").await.unwrap();
    let patched = json_body(patch.await.unwrap(), 200).await;
    assert_eq!(patched["description"], "after the lock");
    let _ = stop.send(());
}

/// The lock is held past the write's whole time limit: the server tries
/// again while there is time, then answers 503, and its log says how many
/// attempts there were (not "every retry" when there was one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_gives_up_says_how_many_attempts_it_made() {
    let logs = crate::common::capture_logs(tracing::Level::WARN);
    let database = TestDatabase::create(Backend::MySql).await;
    // MySQL's lock wait is a third of the limit: 1 s of 3 s.
    let (address, stop, _server) =
        start(database.url(), &["--db-timeout".into(), "3s".into()]).await;
    let client = reqwest::Client::new();
    let task = json_body(
        client
            .post(format!("{address}/v1/tasks"))
            .json(&json!({"title": "locked"}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let mut holder = hold_row_lock(&database, task["id"].as_i64().unwrap()).await;
    let response = client
        .patch(format!("{address}/v1/tasks/{}", task["id"]))
        .json(&json!({"description": "never"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    holder.execute("ROLLBACK").await.unwrap();
    let log = logs.text();
    let gave_up = log
        .lines()
        .find(|line| line.contains("giving up"))
        .unwrap_or_else(|| panic!("no line says it gave up:\n{log}"));
    let attempts: u32 = gave_up
        .split("attempts=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no attempt count in {gave_up}"));
    assert!(attempts >= 2, "retried at least once: {gave_up}");
    assert!(gave_up.contains("failed "), "{gave_up}");
    assert_eq!(
        log.matches("giving up").count(),
        1,
        "one line per call:\n{log}"
    );
    let _ = stop.send(());
}

/// Eight clients at a time bulk-replace the same sixty tasks (48 requests),
/// half naming them in
/// ascending and half in descending order: the store locks rows in id
/// order, so they queue instead of deadlocking, and every answer is 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crossed_bulk_replaces_all_succeed() {
    let database = TestDatabase::create(Backend::MySql).await;
    let (address, stop, _server) = start(
        database.url(),
        // A generous limit: under load the crossing writers queue for the
        // row locks a while; what must not happen is a deadlock or a 5xx.
        &[
            "--db-max-connections".into(),
            "16".into(),
            "--db-timeout".into(),
            "30s".into(),
        ],
    )
    .await;
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    for n in 0..60 {
        let task = client
            .post(format!("{address}/v1/tasks"))
            .json(&json!({"title": format!("contended {n}")}))
            .send()
            .await
            .unwrap();
        ids.push(json_body(task, 201).await["id"].as_i64().unwrap());
    }
    let statuses: Vec<u16> = futures_util::stream::iter(0..48)
        .map(|round| {
            let client = client.clone();
            let address = address.clone();
            let mut order = ids.clone();
            if round % 2 == 1 {
                order.reverse();
            }
            async move {
                let tasks: Vec<Value> = order
                    .iter()
                    .map(|id| json!({"id": id, "title": format!("round {round}")}))
                    .collect();
                client
                    .put(format!("{address}/v1/tasks"))
                    .json(&json!({"tasks": tasks}))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    assert!(statuses.iter().all(|status| *status == 200), "{statuses:?}");
    // All or nothing: every task carries the title of one and the same round.
    let page = json_body(
        client
            .get(format!("{address}/v1/tasks?limit=100"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let titles: std::collections::HashSet<&str> = page["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles.len(), 1, "{titles:?}");
    let _ = stop.send(());
}

/// The database's disk fills: writes answer 503 (never 500), the health
/// check says the database cannot write, reads go on; once there is room
/// again, writes succeed without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_a_503_and_recovers_without_a_restart() {
    let disk = DiskLimit::new().await;
    let url = format!("sqlite://{}/taskman.db?mode=rwc", disk.path().display());
    let (address, stop, _server) = start(&url, &["--db-timeout".into(), "3s".into()]).await;
    let client = reqwest::Client::new();
    let first = json_body(
        client
            .post(format!("{address}/v1/tasks"))
            .json(&json!({"title": "before"}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    disk.fill();
    let big = "x".repeat(60_000);
    let mut refused = None;
    for n in 0..200 {
        let response = client
            .post(format!("{address}/v1/tasks"))
            .json(&json!({"title": format!("filler {n}"), "description": big}))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        assert!(
            status == 201 || status == 503,
            "a full disk answered {status}"
        );
        if status == 503 {
            refused = Some(problem_body(response, 503).await);
            break;
        }
    }
    let refused = refused.expect("the disk never filled");
    assert!(
        refused["detail"].as_str().unwrap().contains("cannot write"),
        "{refused}"
    );
    // Writes keep failing cleanly, reads go on, and health tells the truth.
    for _ in 0..3 {
        let write = client
            .post(format!("{address}/v1/tasks"))
            .json(&json!({"title": "x", "description": big}))
            .send()
            .await
            .unwrap();
        problem_body(write, 503).await;
    }
    json_body(
        client
            .get(format!("{address}/v1/tasks/{}", first["id"]))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let health = json_body_any(
        client
            .get(format!("{address}/v1/health"))
            .send()
            .await
            .unwrap(),
        503,
    )
    .await;
    assert_eq!(health["database"], "degraded", "{health}");

    disk.free();
    let after = eventually(
        Duration::from_secs(20),
        "a write after space was freed",
        || async {
            let response = client
                .post(format!("{address}/v1/tasks"))
                .json(&json!({"title": "after"}))
                .send()
                .await
                .unwrap();
            (response.status() == 201).then_some(())
        },
    )
    .await;
    let () = after;
    let health = json_body(
        client
            .get(format!("{address}/v1/health"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(health["database"], "ok");
    for n in 0..20 {
        json_body(
            client
                .post(format!("{address}/v1/tasks"))
                .json(&json!({"title": format!("later {n}")}))
                .send()
                .await
                .unwrap(),
            201,
        )
        .await;
    }
    let _ = stop.send(());
}

/// A JSON body with the given status, whatever its content type.
async fn json_body_any(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status);
    response.json().await.unwrap()
}

/// The database stops answering (its process is stopped, or everything
/// between is frozen): every request, health included, gets a 503 within
/// the time limit instead of hanging; when it answers again, so does the
/// service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_database_is_a_503_within_the_time_limit() {
    match Freezable::find().await {
        Freezable::Process { url, pid } => {
            frozen(&url, || signal(&pid, "STOP"), || signal(&pid, "CONT")).await
        }
        Freezable::Proxy { database, proxy } => {
            let (mut url, _) = mysql_target(&database).await;
            url.set_host(Some("127.0.0.1")).unwrap();
            url.set_port(Some(proxy.port)).unwrap();
            frozen(url.as_str(), || proxy.freeze(), || proxy.thaw()).await;
        }
    }
}

enum Freezable {
    /// A server of our own (scripts/test-with-mysql.sh starts it) that this
    /// test may stop with SIGSTOP.
    Process { url: String, pid: String },
    /// Without one, a proxy that stops forwarding: the same from here.
    Proxy {
        database: TestDatabase,
        proxy: TcpProxy,
    },
}

impl Freezable {
    async fn find() -> Self {
        if let (Ok(server), Ok(pid)) = (
            std::env::var("TEST_MYSQL_FREEZABLE_URL"),
            std::env::var("TEST_MYSQL_FREEZABLE_PID"),
        ) {
            let name = format!("taskman_frozen_{}", uuid::Uuid::new_v4().simple());
            let mut conn = sqlx::MySqlConnection::connect(&server)
                .await
                .expect("the freezable server");
            conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE `{name}`")))
                .await
                .unwrap();
            return Self::Process {
                url: format!("{}/{name}", server.trim_end_matches('/')),
                pid,
            };
        }
        let database = TestDatabase::create(Backend::MySql).await;
        let (_, target) = mysql_target(&database).await;
        let proxy = TcpProxy::start(target).await;
        Self::Proxy { database, proxy }
    }
}

fn signal(pid: &str, name: &str) {
    let status = std::process::Command::new("kill")
        .args([format!("-{name}"), pid.to_owned()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{name} {pid}");
}

async fn frozen(url: &str, freeze: impl FnOnce(), thaw: impl FnOnce()) {
    const LIMIT: Duration = Duration::from_secs(2);
    let (address, stop, _server) = start(url, &["--db-timeout".into(), "2s".into()]).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let task = json_body(
        client
            .post(format!("{address}/v1/tasks"))
            .json(&json!({"title": "before"}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    freeze();
    let requests = [
        client.get(format!("{address}/v1/tasks/{}", task["id"])),
        client.get(format!("{address}/v1/tasks")),
        client
            .post(format!("{address}/v1/tasks"))
            .json(&json!({"title": "during"})),
        client
            .patch(format!("{address}/v1/tasks/{}", task["id"]))
            .json(&json!({"title": "during"})),
        client.post(format!("{address}/v1/tasks/{}/complete", task["id"])),
        client
            .post(format!("{address}/v1/tasks/reopen"))
            .json(&json!({"ids": [task["id"]]})),
        client.get(format!(
            "{address}/v1/tasks?status=open&sort=priority&order=desc"
        )),
    ];
    let answers: Vec<(u16, Duration)> =
        futures_util::future::join_all(requests.map(|request| async move {
            let started = Instant::now();
            let response = request.send().await.expect("an answer, not a hang");
            (response.status().as_u16(), started.elapsed())
        }))
        .await;
    let health_started = Instant::now();
    let health = client
        .get(format!("{address}/v1/health"))
        .send()
        .await
        .unwrap();
    let health_took = health_started.elapsed();
    thaw();
    for (status, took) in &answers {
        assert_eq!(*status, 503, "{answers:?}");
        // The bound is the time limit; the slack is for a loaded machine,
        // far below the hang this guards against.
        assert!(*took < LIMIT * 5, "{answers:?}");
    }
    assert_eq!(health.status(), 503);
    assert!(health_took < LIMIT * 5, "{health_took:?}");
    eventually(
        Duration::from_secs(30),
        "the service to answer again",
        || async {
            let response = client
                .get(format!("{address}/v1/tasks/{}", task["id"]))
                .send()
                .await
                .ok()?;
            (response.status() == 200).then_some(())
        },
    )
    .await;
    json_body(
        client
            .post(format!("{address}/v1/tasks"))
            .json(&json!({"title": "after"}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let _ = stop.send(());
}

/// A real deadlock between the server's bulk replace and another client:
/// whichever MySQL picks as the victim, the server's request ends in 200
/// (run again when it was the victim), never in a 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadlock_with_another_client_is_retried_not_reported() {
    let database = TestDatabase::create(Backend::MySql).await;
    let (address, stop, _server) = start(database.url(), &[]).await;
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    for n in 0..2 {
        let task = client
            .post(format!("{address}/v1/tasks"))
            .json(&json!({"title": format!("t{n}")}))
            .send()
            .await
            .unwrap();
        ids.push(json_body(task, 201).await["id"].as_i64().unwrap());
    }
    let mut other = sqlx::MySqlConnection::connect(database.url())
        .await
        .unwrap();
    other.execute("BEGIN").await.unwrap();
    sqlx::query("SELECT id FROM task WHERE id = ? FOR UPDATE")
        .bind(ids[1])
        .fetch_one(&mut other)
        .await
        .unwrap();
    // The server locks the first task, then waits for the second.
    let bulk = {
        let client = client.clone();
        let address = address.clone();
        let ids = ids.clone();
        tokio::spawn(async move {
            let tasks: Vec<Value> = ids
                .iter()
                .map(|id| json!({"id": id, "title": "bulk"}))
                .collect();
            client
                .put(format!("{address}/v1/tasks"))
                .json(&json!({"tasks": tasks}))
                .send()
                .await
                .unwrap()
        })
    };
    // Wait until the server's transaction is waiting for the lock.
    eventually(
        Duration::from_secs(10),
        "the server to wait for the row lock",
        || async {
            let mut probe = sqlx::MySqlConnection::connect(database.url()).await.ok()?;
            // The server's locking read still running after 200 ms: it
            // holds the first row and waits for the second. (innodb_trx
            // alone missed the waiting transaction now and then on MariaDB
            // 10.11, and this test timed out.)
            let waiting: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM information_schema.processlist \
                 WHERE db = DATABASE() AND command IN ('Query', 'Execute') AND time_ms > 200 \
                 AND info LIKE 'SELECT id, title%FOR UPDATE%'",
            )
            .fetch_one(&mut probe)
            .await
            .ok()?;
            (waiting > 0).then_some(())
        },
    )
    .await;
    // Now the other client wants the first task: a cycle, and MySQL breaks it.
    let other_won = sqlx::query("SELECT id FROM task WHERE id = ? FOR UPDATE")
        .bind(ids[0])
        .fetch_one(&mut other)
        .await
        .is_ok();
    let _ = other
        .execute(if other_won { "COMMIT" } else { "ROLLBACK" })
        .await;
    let response = bulk.await.unwrap();
    json_body(response, 200).await;
    if other_won {
        let metrics = client
            .get(format!("{address}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            !metrics.contains("taskman_db_retries_total 0\n"),
            "the server was the deadlock's victim and should have run its transaction again: {metrics}"
        );
    }
    let _ = stop.send(());
}
