//! An answered 503 means not written: a write whose caller gave up at the
//! time limit never happens later, and one that did happen is answered as
//! done.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::common::{
    Backend, Delivery, TcpProxy, TestDatabase, json_body, problem_body, proxied_mysql, start,
};

/// Tasks every bulk writer replaces at once.
const BULK_TASKS: usize = 1_000;
const BULK_WRITERS: usize = 6;
const MAX_BULK_WRITERS: usize = 30;
/// Creates at the least.
const CREATES: usize = 200;
/// Creates answered 503 needed for the test to have tested something.
const ENOUGH_503S: usize = 10;

/// Writes `count` tasks straight into the SQLite file (as another tool
/// would), far faster than a thousand creates through the API.
async fn seed_sqlite(database: &TestDatabase, count: usize) -> Vec<i64> {
    let mut conn = sqlx::SqliteConnection::connect(database.url())
        .await
        .expect("open the SQLite file");
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) \
         INSERT INTO task (title, create_dt, update_dt) \
         SELECT 'bulk ' || i, 1700000000000000, 1700000000000000 FROM n",
    )
    .bind(i64::try_from(count).unwrap())
    .execute(&mut conn)
    .await
    .expect("seed tasks");
    sqlx::query_scalar("SELECT id FROM task ORDER BY id")
        .fetch_all(&mut conn)
        .await
        .expect("seeded ids")
}

/// Every task, following `next_cursor` through pages of 1,000.
async fn list_all(client: &reqwest::Client, address: &str) -> Vec<Value> {
    let mut tasks = Vec::new();
    let mut path = "/v1/tasks?limit=1000".to_owned();
    loop {
        let response = client
            .get(format!("{address}{path}"))
            .send()
            .await
            .expect("request sent");
        let page = json_body(response, 200).await;
        tasks.extend(page["tasks"].as_array().expect("tasks").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/tasks?limit=1000&cursor={cursor}"),
            None => return tasks,
        }
    }
}

/// Bulk-replaces every seeded task, round after round, until told to stop;
/// returns the descriptions its acknowledged (200) rounds wrote.
async fn bulk_writer(
    client: reqwest::Client,
    address: String,
    writer: usize,
    ids: Arc<Vec<i64>>,
    stop: Arc<AtomicBool>,
) -> HashSet<String> {
    let mut acknowledged = HashSet::new();
    let mut round = 0;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let label = format!("writer {writer} round {round}");
        let tasks: Vec<Value> = ids
            .iter()
            .map(|id| json!({"id": id, "description": label}))
            .collect();
        let response = client
            .put(format!("{address}/v1/tasks"))
            .json(&json!({"tasks": tasks}))
            .send()
            .await
            .expect("request sent");
        match response.status().as_u16() {
            200 => {
                acknowledged.insert(label);
            }
            503 => {}
            other => panic!("bulk replace answered {other}"),
        }
    }
    acknowledged
}

/// Creates `titles` 50 at a time; each answer is a 201 or a 503 problem.
async fn create_all(
    client: &reqwest::Client,
    address: &str,
    titles: Vec<String>,
) -> Vec<(String, u16, Value)> {
    futures_util::stream::iter(titles)
        .map(|title| async move {
            let response = client
                .post(format!("{address}/v1/tasks"))
                .json(&json!({"title": title}))
                .send()
                .await
                .expect("request sent");
            let status = response.status().as_u16();
            let body = match status {
                201 => json_body(response, 201).await,
                503 => problem_body(response, 503).await,
                other => panic!("create answered {other}"),
            };
            (title, status, body)
        })
        .buffer_unordered(50)
        .collect()
        .await
}

/// Six clients (more if the machine is fast) bulk-replace 1,000 tasks over
/// and over while creates arrive, with a 300 ms limit: many creates wait
/// for the one SQLite writer past their time and are answered 503. None of
/// those is stored, every 201 is, and the tasks hold what an acknowledged
/// bulk replace wrote.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_answered_503_under_bulk_load_is_never_stored() {
    let database = TestDatabase::create(Backend::Sqlite).await;
    let (address, stop_server, _server) =
        start(database.url(), &["--db-timeout".into(), "300ms".into()]).await;
    let ids = Arc::new(seed_sqlite(&database, BULK_TASKS).await);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();

    let stop_writers = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    let mut answers: Vec<(String, u16, Value)> = Vec::new();
    let started = Instant::now();
    // Rounds of creates until enough were answered 503 to test anything,
    // adding bulk writers while too few are.
    while answers.len() < CREATES
        || answers
            .iter()
            .filter(|(_, status, _)| *status == 503)
            .count()
            < ENOUGH_503S
    {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "only {} of {} creates were answered 503 with {} bulk writers: the load was too \
             light to test anything",
            answers
                .iter()
                .filter(|(_, status, _)| *status == 503)
                .count(),
            answers.len(),
            writers.len()
        );
        let more = if writers.is_empty() { BULK_WRITERS } else { 2 };
        for _ in 0..more.min(MAX_BULK_WRITERS - writers.len()) {
            writers.push(tokio::spawn(bulk_writer(
                client.clone(),
                address.clone(),
                writers.len(),
                ids.clone(),
                stop_writers.clone(),
            )));
        }
        // Let the bulk writers fill the queue before the creates arrive.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let titles = (answers.len()..answers.len() + CREATES / 4)
            .map(|n| format!("create {n}"))
            .collect();
        answers.extend(create_all(&client, &address, titles).await);
    }
    stop_writers.store(true, Ordering::Relaxed);
    let bulk_writers = writers.len();
    let mut acknowledged_rounds = HashSet::new();
    for writer in writers {
        acknowledged_rounds.extend(writer.await.expect("bulk writer"));
    }

    let refused: Vec<&(String, u16, Value)> = answers
        .iter()
        .filter(|(_, status, _)| *status == 503)
        .collect();
    eprintln!(
        "{} of {} creates answered 503, {bulk_writers} bulk writers",
        refused.len(),
        answers.len(),
    );
    for (title, _, problem) in &refused {
        assert_eq!(
            problem["type"], "urn:taskman:problem:unavailable",
            "SQLite always knows whether a write happened: {title}: {problem}"
        );
    }
    let stored = list_all(&client, &address).await;
    let mut stored_titles: HashMap<&str, usize> = HashMap::new();
    for task in &stored {
        *stored_titles
            .entry(task["title"].as_str().expect("title"))
            .or_default() += 1;
    }
    let written_after_503: Vec<&str> = refused
        .iter()
        .map(|(title, _, _)| title.as_str())
        .filter(|title| stored_titles.contains_key(title))
        .collect();
    assert!(
        written_after_503.is_empty(),
        "{} of {} creates answered 503 were stored: {written_after_503:?}",
        written_after_503.len(),
        refused.len()
    );
    for (title, status, task) in &answers {
        if *status == 201 {
            assert_eq!(stored_titles.get(title.as_str()), Some(&1), "{task}");
        }
    }
    // The last bulk replace stored is one that was acknowledged.
    let bulk_descriptions: HashSet<&str> = stored
        .iter()
        .filter(|task| {
            task["title"]
                .as_str()
                .is_some_and(|t| t.starts_with("bulk "))
        })
        .map(|task| task["description"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(bulk_descriptions.len(), 1, "{bulk_descriptions:?}");
    let last = bulk_descriptions.into_iter().next().unwrap_or_default();
    assert!(
        last.is_empty() || acknowledged_rounds.contains(last),
        "the tasks hold {last:?}, written by a bulk replace answered 503"
    );
    let _ = stop_server.send(());
}

/// How many tasks have this title, read straight from the database.
async fn stored_with_title(database: &TestDatabase, title: &str) -> i64 {
    let mut conn = sqlx::MySqlConnection::connect(database.url())
        .await
        .expect("connect to MySQL");
    sqlx::query_scalar("SELECT COUNT(*) FROM task WHERE title = ?")
        .bind(title)
        .fetch_one(&mut conn)
        .await
        .expect("count tasks")
}

/// MySQL, through a proxy that holds back the server's answers from a
/// chosen statement on. A change whose COMMIT reached the server but whose
/// answer never came back is a 503 of type `outcome-unknown`, and is in
/// fact stored; one held up before its transaction began is a plain 503,
/// and is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_to_a_commit_is_outcome_unknown_and_one_before_it_is_not_written() {
    let (database, proxy, url) = proxied_mysql().await;
    let (address, stop_server, _server) = start(
        &url,
        &[
            "--db-timeout".into(),
            "2s".into(),
            // No background write may trip the proxy instead of the change.
            "--reconcile-schedule".into(),
            "0 0 0 1 1 *".into(),
        ],
    )
    .await;
    let client = reqwest::Client::new();
    let task = json_body(
        client
            .post(format!("{address}/v1/tasks"))
            .json(&json!({"title": "warm-up"}))
            .send()
            .await
            .expect("request sent"),
        201,
    )
    .await;
    let rename = |title: &'static str| {
        let (client, address) = (client.clone(), address.clone());
        let id = task["id"].clone();
        async move {
            client
                .patch(format!("{address}/v1/tasks/{id}"))
                .json(&json!({"title": title}))
                .send()
                .await
                .expect("request sent")
        }
    };

    proxy.freeze_after("BEGIN");
    let held_before = problem_body(rename("held before").await, 503).await;
    proxy.thaw();
    // The time-out marked the database down: it is answered 503 at once
    // until a probe gets through.
    back_up(&client, &address).await;
    proxy.freeze_after("COMMIT");
    let held_after = problem_body(rename("held after").await, 503).await;
    proxy.thaw();

    assert_eq!(
        held_before["type"], "urn:taskman:problem:unavailable",
        "{held_before}"
    );
    assert_eq!(stored_with_title(&database, "held before").await, 0);
    assert_eq!(
        held_after["type"], "urn:taskman:problem:outcome-unknown",
        "{held_after}"
    );
    assert!(
        held_after["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("read the task again")),
        "{held_after}"
    );
    assert_eq!(stored_with_title(&database, "held after").await, 1);
    let _ = stop_server.send(());
}

/// The stored tasks with this title, as (id, create_dt as text), read
/// straight from the database.
async fn stored_tasks(database: &TestDatabase, title: &str) -> Vec<(i64, String)> {
    let mut conn = sqlx::MySqlConnection::connect(database.url())
        .await
        .expect("connect to MySQL");
    sqlx::query_as(
        "SELECT id, DATE_FORMAT(create_dt, '%Y-%m-%dT%H:%i:%s.%fZ') FROM task \
         WHERE title = ? ORDER BY id",
    )
    .bind(title)
    .fetch_all(&mut conn)
    .await
    .expect("read tasks")
}

/// A server on MySQL through a proxy, and a warm-up create (its statement
/// prepared, its connection pooled).
async fn proxied_server(
    timeout: &str,
) -> (
    TestDatabase,
    TcpProxy,
    String,
    tokio::sync::oneshot::Sender<()>,
) {
    let (database, proxy, url) = proxied_mysql().await;
    let (address, stop_server, _server) = start(
        &url,
        &[
            "--db-timeout".into(),
            timeout.into(),
            "--reconcile-schedule".into(),
            "0 0 0 1 1 *".into(),
        ],
    )
    .await;
    json_body(post_title(&address, "warm-up").await, 201).await;
    (database, proxy, address, stop_server)
}

async fn post_title(address: &str, title: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{address}/v1/tasks"))
        .json(&json!({"title": title}))
        .send()
        .await
        .expect("request sent")
}

/// A create whose connection is lost just as the database stores it (the
/// statement that commits it reached the server, its answer did not come
/// back) is answered 201 with the task as stored: one task, its id and
/// times those in the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_answer_is_lost_once_it_is_stored_is_answered_with_the_stored_task() {
    let (database, proxy, address, stop_server) = proxied_server("5s").await;

    proxy.cut_at_commit_of("stored, answer lost", Delivery::Delivered);
    let response = post_title(&address, "stored, answer lost").await;

    assert_eq!(proxy.cuts(), 1, "the proxy cut no connection");
    let created = json_body(response, 201).await;
    let stored = stored_tasks(&database, "stored, answer lost").await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(created["id"], stored[0].0, "{created} {stored:?}");
    assert_eq!(created["create_dt"], stored[0].1, "{created} {stored:?}");
    let read = json_body(
        reqwest::get(format!("{address}/v1/tasks/{}", created["id"]))
            .await
            .expect("request sent"),
        200,
    )
    .await;
    assert_eq!(read, created);
    let _ = stop_server.send(());
}

/// A create whose connection is lost before the statement that would
/// commit it reaches the database is sent again, and stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_statement_is_lost_before_it_is_stored_is_stored_once() {
    let (database, proxy, address, stop_server) = proxied_server("5s").await;

    proxy.cut_at_commit_of("lost before stored", Delivery::Dropped);
    let response = post_title(&address, "lost before stored").await;

    assert_eq!(proxy.cuts(), 1, "the proxy cut no connection");
    let created = json_body(response, 201).await;
    let stored = stored_tasks(&database, "lost before stored").await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(created["id"], stored[0].0, "{created} {stored:?}");
    let _ = stop_server.send(());
}

/// A create whose first statement is held up in the network, its
/// connection lost, is sent again and stored; the first statement landing
/// afterwards is refused by the create's token: one task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_first_statement_lands_after_its_resend_is_stored_once() {
    let (database, proxy, address, stop_server) = proxied_server("5s").await;

    proxy.cut_at_commit_of("lands late", Delivery::Late);
    let response = post_title(&address, "lands late").await;
    proxy.deliver_late();
    let refused = crate::common::eventually(
        Duration::from_secs(10),
        "the late statement answered",
        || async { proxy.late_statement_refused() },
    )
    .await;

    assert_eq!(proxy.cuts(), 1, "the proxy cut no connection");
    let created = json_body(response, 201).await;
    assert!(refused, "the late statement was not refused");
    let stored = stored_tasks(&database, "lands late").await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(created["id"], stored[0].0, "{created} {stored:?}");
    let _ = stop_server.send(());
}

/// A create with an `Idempotency-Key` is a transaction (key and task
/// together); its COMMIT's answer lost, it is run again on a fresh
/// connection, where the key finds the task if the COMMIT took effect, and
/// makes it if not: 201 and one task, both ways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotent_create_whose_commit_answer_is_lost_is_answered_with_its_one_task() {
    let (database, proxy, address, stop_server) = proxied_server("5s").await;

    for (title, key, delivery) in [
        ("keyed, committed", "key-committed", Delivery::Delivered),
        (
            "keyed, not committed",
            "key-not-committed",
            Delivery::Dropped,
        ),
    ] {
        proxy.cut_at_commit_of(title, delivery);
        let response = reqwest::Client::new()
            .post(format!("{address}/v1/tasks"))
            .header("Idempotency-Key", key)
            .json(&json!({"title": title}))
            .send()
            .await
            .expect("request sent");

        let created = json_body(response, 201).await;
        let stored = stored_tasks(&database, title).await;
        assert_eq!(stored.len(), 1, "{title}: {stored:?}");
        assert_eq!(created["id"], stored[0].0, "{title}: {created} {stored:?}");
    }
    assert_eq!(proxy.cuts(), 2, "the proxy cut fewer connections");
    let _ = stop_server.send(());
}

/// A create whose statement reached the database, which then answers
/// nothing more until after `DB_TIMEOUT`, is a 503 that says the outcome is
/// unknown (never "nothing was changed"): the task is in fact stored, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_the_database_stops_answering_is_outcome_unknown_and_stored_once() {
    let (database, proxy, address, stop_server) = proxied_server("2s").await;

    proxy.freeze_after("never answered");
    let response = post_title(&address, "never answered").await;
    proxy.thaw();

    let problem = problem_body(response, 503).await;
    assert_eq!(
        problem["type"], "urn:taskman:problem:outcome-unknown",
        "{problem}"
    );
    crate::common::eventually(Duration::from_secs(10), "the task stored", || async {
        (stored_tasks(&database, "never answered").await.len() == 1).then_some(())
    })
    .await;
    let _ = stop_server.send(());
}

/// Waits until the service answers with the database again.
async fn back_up(client: &reqwest::Client, address: &str) {
    crate::common::eventually(Duration::from_secs(20), "the database back", || async {
        let health = client
            .get(format!("{address}/v1/health"))
            .send()
            .await
            .ok()?;
        (health.status() == 200).then_some(())
    })
    .await;
}

/// A database that stops answering costs one call its whole `DB_TIMEOUT`;
/// the calls after it are answered 503 at once, and service resumes within
/// moments of the database answering again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_known_down_is_answered_at_once_until_it_is_back() {
    let (_database, proxy, url) = proxied_mysql().await;
    let (address, stop_server, _server) = start(&url, &["--db-timeout".into(), "6s".into()]).await;
    let client = reqwest::Client::new();
    let list = || {
        let (client, address) = (client.clone(), address.clone());
        async move {
            let started = std::time::Instant::now();
            let response = client
                .get(format!("{address}/v1/tasks"))
                .send()
                .await
                .expect("request sent");
            (response, started.elapsed())
        }
    };
    json_body(list().await.0, 200).await;

    proxy.freeze();
    let (first, _) = list().await;
    problem_body(first, 503).await;
    for _ in 0..5 {
        let (next, took) = list().await;
        problem_body(next, 503).await;
        // Before: each waited its whole 6 s.
        assert!(
            took < Duration::from_secs(3),
            "a known-down database took {took:?}"
        );
    }
    let health = client
        .get(format!("{address}/v1/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 503);

    proxy.thaw();
    back_up(&client, &address).await;
    json_body(list().await.0, 200).await;
    let _ = stop_server.send(());
}
