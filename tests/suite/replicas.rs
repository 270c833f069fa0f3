//! Several replicas on one MariaDB: each keeps its own cache, the database
//! claim keeps every warning exactly once in total.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::common::{Backend, SseClient, TestDatabase, eventually, metric, start};

const REPLICA_ARGS: &[&str] = &[
    "--warn-before",
    "1s",
    "--tick-interval",
    "100ms",
    "--reconcile-schedule",
    "*/1 * * * * *",
    "--db-max-connections",
    "20",
];

/// One stream's events as they arrive: (event id, task id).
type Streamed = Arc<Mutex<Vec<(i64, i64)>>>;

fn args() -> Vec<String> {
    REPLICA_ARGS.iter().map(|s| s.to_string()).collect()
}

async fn all_notifications(client: &reqwest::Client, address: &str) -> Vec<Value> {
    let mut all = Vec::new();
    loop {
        let url = format!("{address}/v1/notifications?limit=1000&offset={}", all.len());
        let page: Value = client.get(url).send().await.unwrap().json().await.unwrap();
        let items = page["notifications"].as_array().unwrap().clone();
        let done = items.len() < 1000;
        all.extend(items);
        if done {
            return all;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_warn_about_every_task_exactly_once() {
    const TASKS: usize = 1200;
    let database = TestDatabase::create(Backend::MySql).await;
    let mut replicas = Vec::new();
    for _ in 0..3 {
        replicas.push(start(database.url(), &args()).await);
    }
    let addresses: Vec<String> = replicas
        .iter()
        .map(|(address, _, _)| address.clone())
        .collect();

    // Every replica's live stream, each read into its own list of
    // (event id, task id).
    let streamed: Vec<Streamed> = (0..addresses.len()).map(|_| Arc::default()).collect();
    let mut readers = Vec::new();
    for (address, streamed) in addresses.iter().zip(&streamed) {
        let mut stream = SseClient::connect(&format!("{address}/v1/notifications/stream")).await;
        let streamed = streamed.clone();
        readers.push(tokio::spawn(async move {
            while let Some((id, event)) = stream.next_event(Duration::from_secs(30)).await {
                let id: i64 = id.expect("an event id").parse().unwrap();
                assert_eq!(event["id"].as_i64(), Some(id));
                streamed
                    .lock()
                    .unwrap()
                    .push((id, event["task_id"].as_i64().unwrap()));
            }
        }));
    }

    // Created round-robin through all replicas, expiring over three seconds.
    let client = reqwest::Client::new();
    let start_at = Utc::now() + chrono::Duration::seconds(4);
    let created: Vec<i64> = futures_util::stream::iter(0..TASKS)
        .map(|n| {
            let client = client.clone();
            let address = addresses[n % addresses.len()].clone();
            let expiry = start_at + chrono::Duration::milliseconds((n * 3000 / TASKS) as i64);
            async move {
                let body = json!({
                    "title": format!("task {n}"),
                    "expiry_dt": expiry.to_rfc3339_opts(SecondsFormat::Micros, true),
                });
                let response = client
                    .post(format!("{address}/v1/tasks"))
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 201);
                response.json::<Value>().await.unwrap()["id"]
                    .as_i64()
                    .unwrap()
            }
        })
        .buffer_unordered(24)
        .collect()
        .await;
    assert_eq!(created.len(), TASKS);

    let notifications = eventually(
        Duration::from_secs(60),
        "a warning for every task",
        || async {
            let all = all_notifications(&client, &addresses[0]).await;
            (all.len() >= TASKS).then_some(all)
        },
    )
    .await;
    // Let any would-be duplicate show itself.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let notifications_after = all_notifications(&client, &addresses[1]).await;
    assert_eq!(notifications_after.len(), notifications.len());

    let mut per_task: HashMap<i64, usize> = HashMap::new();
    for n in &notifications_after {
        *per_task.entry(n["task_id"].as_i64().unwrap()).or_default() += 1;
    }
    assert_eq!(per_task.len(), TASKS, "every task warned");
    assert!(
        per_task.values().all(|&count| count == 1),
        "a task was warned twice"
    );
    for id in &created {
        assert_eq!(per_task.get(id), Some(&1), "task {id}");
    }

    // Every replica's stream carried every replica's warnings, once each,
    // in strictly increasing id order (ids become visible in that order, so
    // a client resuming after any id it saw misses nothing).
    let mut history: Vec<(i64, i64)> = notifications_after
        .iter()
        .map(|n| (n["id"].as_i64().unwrap(), n["task_id"].as_i64().unwrap()))
        .collect();
    history.sort_unstable();
    for (replica, streamed) in streamed.iter().enumerate() {
        let events = eventually(
            Duration::from_secs(10),
            "every warning on every replica's stream",
            || async {
                let events = streamed.lock().unwrap().clone();
                (events.len() >= history.len()).then_some(events)
            },
        )
        .await;
        let inversions = events
            .windows(2)
            .filter(|pair| pair[0].0 >= pair[1].0)
            .count();
        assert_eq!(inversions, 0, "replica {replica}'s stream out of id order");
        assert_eq!(events, history, "replica {replica}'s stream is the history");
    }

    // A resume after any event, on another replica, gives exactly the rest.
    for cut in [0, history.len() / 3, history.len() - 2] {
        let last_seen = history[cut].0.to_string();
        let url = format!("{}/v1/notifications/stream", addresses[(cut + 1) % 3]);
        let mut resumed = SseClient::resume(&url, Some(&last_seen)).await;
        let mut rest = Vec::new();
        while let Some((id, event)) = resumed.next_event(Duration::from_secs(2)).await {
            rest.push((
                id.unwrap().parse::<i64>().unwrap(),
                event["task_id"].as_i64().unwrap(),
            ));
        }
        assert_eq!(rest, history[cut + 1..], "resumed after {last_seen}");
    }

    for (_, stop, server) in replicas {
        let _ = stop.send(());
        server.await.unwrap().unwrap();
    }
    for reader in readers {
        reader.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_task_written_through_one_replica_is_warned_by_another() {
    let database = TestDatabase::create(Backend::MySql).await;
    let (writer, stop_writer, writer_server) = start(database.url(), &args()).await;
    let (other, stop_other, other_server) = start(database.url(), &args()).await;
    let client = reqwest::Client::new();
    let expiry =
        (Utc::now() + chrono::Duration::seconds(3)).to_rfc3339_opts(SecondsFormat::Micros, true);
    let task: Value = client
        .post(format!("{writer}/v1/tasks"))
        .json(&json!({"title": "handed over", "expiry_dt": expiry}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The writer goes away before the window opens; only the other replica is left.
    let _ = stop_writer.send(());
    writer_server.await.unwrap().unwrap();

    let warning = eventually(
        Duration::from_secs(20),
        "the other replica's warning",
        || async {
            all_notifications(&client, &other)
                .await
                .into_iter()
                .find(|n| n["task_id"] == task["id"])
        },
    )
    .await;
    assert_eq!(warning["kind"], "expiring");
    let _ = stop_other.send(());
    other_server.await.unwrap().unwrap();
}

async fn warned(client: &reqwest::Client, address: &str, task: &Value) -> bool {
    all_notifications(client, address)
        .await
        .iter()
        .any(|n| n["task_id"] == task["id"])
}

/// Every replica holds the tasks in its cache; each is completed through
/// one of them before its window opens. The claim reads the task's status
/// in its own transaction, so the replicas whose caches still hold it do
/// not warn. With the reconcile job off, a replica's cache changes only by
/// its start-up load and its own writes: a sentinel created through a
/// replica, due after every completed task, is warned by that replica
/// alone, after its tick loop had its turn at every completed task.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_completion_through_one_replica_stops_every_replica_warning() {
    const TASKS: usize = 12;
    let args: Vec<String> = [
        "--warn-before",
        "1s",
        "--tick-interval",
        "100ms",
        "--reconcile-schedule",
        "0 0 0 1 1 *",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let database = TestDatabase::create(Backend::MySql).await;
    let client = reqwest::Client::new();
    let mut replicas = vec![start(database.url(), &args).await];
    // The window opens in 11 s: time to start two more replicas and
    // complete every task on a loaded machine.
    let expiry = Utc::now() + chrono::Duration::seconds(12);
    let window_opens = expiry - chrono::Duration::seconds(1);
    let at = |offset_ms: i64| {
        (expiry + chrono::Duration::milliseconds(offset_ms))
            .to_rfc3339_opts(SecondsFormat::Micros, true)
    };
    let mut tasks = Vec::new();
    for n in 0..TASKS {
        let response = client
            .post(format!("{}/v1/tasks", replicas[0].0))
            .json(&json!({"title": format!("done {n}"), "expiry_dt": at(0)}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        tasks.push(response.json::<Value>().await.unwrap());
    }
    for _ in 1..3 {
        replicas.push(start(database.url(), &args).await);
    }
    let addresses: Vec<String> = replicas.iter().map(|(a, _, _)| a.clone()).collect();
    for address in &addresses {
        eventually(
            Duration::from_secs(20),
            "every task in every replica's cache",
            || async {
                (metric(&client, address, "taskman_expiry_pending").await? == TASKS as f64)
                    .then_some(())
            },
        )
        .await;
    }

    for (n, task) in tasks.iter().enumerate() {
        let address = &addresses[n % addresses.len()];
        let response = client
            .post(format!("{address}/v1/tasks/{}/complete", task["id"]))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    assert!(
        Utc::now() < window_opens,
        "the completions ended after the window opened; the test shows nothing"
    );
    let mut sentinels = Vec::new();
    for address in &addresses {
        let response = client
            .post(format!("{address}/v1/tasks"))
            .json(&json!({"title": "sentinel", "expiry_dt": at(300)}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        sentinels.push(response.json::<Value>().await.unwrap());
    }

    for sentinel in &sentinels {
        eventually(
            Duration::from_secs(30),
            "each replica's sentinel warned",
            || async { warned(&client, &addresses[0], sentinel).await.then_some(()) },
        )
        .await;
    }
    let history = all_notifications(&client, &addresses[0]).await;
    let warned: Vec<&Value> = history.iter().map(|n| &n["task_id"]).collect();
    for task in &tasks {
        assert!(
            !warned.contains(&&task["id"]),
            "task {} was warned after its completion; warned: {warned:?}",
            task["id"]
        );
    }
    assert_eq!(history.len(), sentinels.len(), "warned: {warned:?}");

    for (_, stop, server) in replicas {
        let _ = stop.send(());
        server.await.unwrap().unwrap();
    }
}
