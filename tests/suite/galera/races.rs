//! Clients racing through every replica, one per node: Galera certifies
//! conflicting commits cluster-wide and refuses all but one with 1213 at
//! COMMIT, which the store runs again. No 503 comes of it, and no update
//! is lost.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use futures_util::StreamExt;
use futures_util::future::join_all;
use serde_json::{Value, json};
use tokio::sync::Barrier;

use super::{Replicas, all_notifications, cluster_or_skip, list_all, retries};
use crate::common::{SseClient, eventually, header, json_body};

/// Fast warnings, and every replica's cache refreshed every second.
const ARGS: &[&str] = &[
    "--warn-before",
    "2s",
    "--tick-interval",
    "100ms",
    "--reconcile-schedule",
    "*/1 * * * * *",
    "--db-max-connections",
    "30",
];

fn rfc3339(at: chrono::DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Tasks created far from expiry, then each given a near expiry by three
/// PATCHes at once through the three replicas: every task is warned
/// exactly once in all, for the expiry it was left with.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_expiry_patches_through_every_replica_warn_each_task_once() {
    const TASKS: usize = 60;
    let cluster =
        cluster_or_skip!("concurrent_expiry_patches_through_every_replica_warn_each_task_once");
    let database = cluster.database().await;
    let replicas = Replicas::start(&database, ARGS).await;
    let client = replicas.client.clone();

    // A live stream on every replica: each must carry every replica's
    // warnings, in strictly increasing id order.
    let mut streams = Vec::new();
    for node in 1..=3 {
        let mut stream =
            SseClient::connect(&format!("{}/v1/notifications/stream", replicas.on(node))).await;
        streams.push(tokio::spawn(async move {
            let mut events = Vec::new();
            while events.len() < TASKS {
                match stream.next_event(Duration::from_secs(60)).await {
                    Some((id, event)) => events.push((
                        id.expect("an event id")
                            .parse::<i64>()
                            .expect("a numeric id"),
                        event["task_id"].as_i64().expect("task_id"),
                    )),
                    None => break,
                }
            }
            events
        }));
    }

    let far = rfc3339(Utc::now() + chrono::Duration::days(30));
    let ids: Vec<i64> = futures_util::stream::iter(0..TASKS)
        .map(|n| {
            let (client, address) = (client.clone(), replicas.on(n % 3 + 1).to_owned());
            let far = far.clone();
            async move {
                let response = client
                    .post(format!("{address}/v1/tasks"))
                    .json(&json!({"title": format!("task {n}"), "expiry_dt": far}))
                    .send()
                    .await
                    .expect("request sent");
                json_body(response, 201).await["id"].as_i64().expect("id")
            }
        })
        .buffer_unordered(12)
        .collect()
        .await;

    // The windows open 6 s from now at the earliest: the PATCHes are done
    // by then, so each task has one expiry left to warn about.
    let base = Utc::now() + chrono::Duration::seconds(8);
    let patches: Vec<(u16, Value)> = futures_util::stream::iter(
        ids.iter()
            .flat_map(|&id| (1..=3).map(move |node| (id, node))),
    )
    .map(|(id, node)| {
        let (client, address) = (client.clone(), replicas.on(node).to_owned());
        let expiry = rfc3339(base + chrono::Duration::milliseconds(100 * node as i64 + id % 10));
        async move {
            let response = client
                .patch(format!("{address}/v1/tasks/{id}"))
                .json(&json!({"expiry_dt": expiry}))
                .send()
                .await
                .expect("request sent");
            let status = response.status().as_u16();
            (status, response.json().await.unwrap_or(Value::Null))
        }
    })
    .buffer_unordered(30)
    .collect()
    .await;
    let failed: Vec<&(u16, Value)> = patches
        .iter()
        .filter(|(status, _)| *status != 200)
        .collect();
    assert!(failed.is_empty(), "PATCHes not answered 200: {failed:?}");
    let patched_by = Utc::now();
    assert!(
        patched_by < base - chrono::Duration::seconds(2),
        "the PATCHes took until {patched_by}, past the first window ({base} - 2 s)"
    );

    let notifications = eventually(
        Duration::from_secs(60),
        "a warning for every task",
        || async {
            let all = all_notifications(&client, replicas.on(2)).await;
            (all.len() >= TASKS).then_some(all)
        },
    )
    .await;
    // Let any would-be second warning show itself: a few ticks and a
    // reconcile on every replica.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = all_notifications(&client, replicas.on(3)).await;
    assert_eq!(after.len(), notifications.len(), "warnings kept coming");
    // Read seconds after the last PATCH: every node has applied them.
    let stored: HashMap<i64, Value> = list_all(&client, replicas.on(1))
        .await
        .into_iter()
        .map(|task| (task["id"].as_i64().expect("id"), task["expiry_dt"].clone()))
        .collect();

    let mut per_task: HashMap<i64, Vec<&Value>> = HashMap::new();
    for warning in &after {
        per_task
            .entry(warning["task_id"].as_i64().expect("task_id"))
            .or_default()
            .push(warning);
    }
    for id in &ids {
        let warnings = per_task.get(id).cloned().unwrap_or_default();
        assert_eq!(warnings.len(), 1, "task {id}: {warnings:?}");
        assert_eq!(
            warnings[0]["expiry_dt"], stored[id],
            "task {id} is warned for the expiry it was left with"
        );
    }
    assert_eq!(per_task.len(), TASKS, "no other task warned");

    let mut history: Vec<(i64, i64)> = after
        .iter()
        .map(|n| {
            (
                n["id"].as_i64().expect("id"),
                n["task_id"].as_i64().expect("task_id"),
            )
        })
        .collect();
    history.sort_unstable();
    for (node, stream) in (1..=3).zip(streams) {
        let events = stream.await.expect("stream reader");
        assert_eq!(
            events, history,
            "replica {node}'s stream is the history, in id order"
        );
    }
    // A resume after any id, on another replica, gives exactly the rest.
    for (cut, node) in [(0, 2), (TASKS / 2, 3), (TASKS - 2, 1)] {
        let url = format!("{}/v1/notifications/stream", replicas.on(node));
        let last_seen = history[cut].0.to_string();
        let mut resumed = SseClient::resume(&url, Some(&last_seen)).await;
        let mut rest = Vec::new();
        while rest.len() < TASKS - cut - 1 {
            let Some((id, event)) = resumed.next_event(Duration::from_secs(10)).await else {
                break;
            };
            rest.push((
                id.expect("an event id")
                    .parse::<i64>()
                    .expect("a numeric id"),
                event["task_id"].as_i64().expect("task_id"),
            ));
        }
        assert_eq!(
            rest,
            history[cut + 1..],
            "resumed after {last_seen} on replica {node}"
        );
    }
    replicas.stop().await;
}

/// Transactions run again by all replicas (after a deadlock, or Galera
/// refusing a commit).
async fn total_retries(replicas: &Replicas) -> u64 {
    let mut total = 0;
    for address in &replicas.addresses {
        total += retries(&replicas.client, address).await;
    }
    total
}

/// What one racer saw in one round.
struct Attempt {
    status: u16,
    if_match: String,
}

/// 20 clients, spread over the three replicas, each read the task's ETag
/// and PATCH it with `If-Match`, all at once, for 10 rounds. Every answer
/// is 200 or 412, never 503; no two PATCHes succeed from the same version
/// (that would be a lost update).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn if_match_racers_on_every_replica_get_200_or_412_and_lose_nothing() {
    const CLIENTS: usize = 20;
    const ROUNDS: usize = 10;
    let cluster =
        cluster_or_skip!("if_match_racers_on_every_replica_get_200_or_412_and_lose_nothing");
    let database = cluster.database().await;
    let replicas = Replicas::start(&database, ARGS).await;
    let client = replicas.client.clone();
    let task = json_body(
        client
            .post(format!("{}/v1/tasks", replicas.on(1)))
            .json(&json!({"title": "raced"}))
            .send()
            .await
            .expect("request sent"),
        201,
    )
    .await;
    let path = format!("/v1/tasks/{}", task["id"]);

    let barrier = Arc::new(Barrier::new(CLIENTS));
    let racers = (0..CLIENTS).map(|racer| {
        let (client, barrier, path) = (client.clone(), barrier.clone(), path.clone());
        let address = replicas.on(racer % 3 + 1).to_owned();
        tokio::spawn(async move {
            let mut attempts = Vec::new();
            for round in 0..ROUNDS {
                barrier.wait().await;
                let read = client
                    .get(format!("{address}{path}"))
                    .send()
                    .await
                    .expect("request sent");
                assert_eq!(read.status(), 200, "racer {racer} round {round}: read");
                let if_match = header(&read, "etag");
                let response = client
                    .patch(format!("{address}{path}"))
                    .header("if-match", &if_match)
                    .json(&json!({"description": format!("racer {racer} round {round}")}))
                    .send()
                    .await
                    .expect("request sent");
                let status = response.status().as_u16();
                let body = response.text().await.unwrap_or_default();
                assert!(
                    status == 200 || status == 412,
                    "racer {racer} round {round} (through {address}): {status} {body}"
                );
                attempts.push(Attempt { status, if_match });
            }
            attempts
        })
    });
    let attempts: Vec<Attempt> = join_all(racers)
        .await
        .into_iter()
        .flat_map(|racer| racer.expect("racer"))
        .collect();

    let won: Vec<&Attempt> = attempts.iter().filter(|a| a.status == 200).collect();
    let mut from_versions = HashSet::new();
    for attempt in &won {
        assert!(
            from_versions.insert(attempt.if_match.clone()),
            "two PATCHes succeeded from version {}: a lost update",
            attempt.if_match
        );
    }
    assert!(won.len() >= ROUNDS, "only {} PATCHes won", won.len());
    eprintln!(
        "{} of {} PATCHes won, {} got 412; {} transactions run again",
        won.len(),
        attempts.len(),
        attempts.len() - won.len(),
        total_retries(&replicas).await
    );
    replicas.stop().await;
}

/// 10 clients, spread over the three replicas, each append their mark to
/// one task's description 10 times: read it with its ETag, PATCH it with
/// `If-Match`, and read again after a 412. No 503, and the final
/// description holds every append exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_read_modify_write_counter_through_every_replica_loses_no_append() {
    const CLIENTS: usize = 10;
    const APPENDS: usize = 10;
    let cluster =
        cluster_or_skip!("a_read_modify_write_counter_through_every_replica_loses_no_append");
    let database = cluster.database().await;
    let replicas = Replicas::start(&database, ARGS).await;
    let client = replicas.client.clone();
    let task = json_body(
        client
            .post(format!("{}/v1/tasks", replicas.on(1)))
            .json(&json!({"title": "counter", "description": ""}))
            .send()
            .await
            .expect("request sent"),
        201,
    )
    .await;
    let path = format!("/v1/tasks/{}", task["id"]);

    let appenders = (0..CLIENTS).map(|appender| {
        let (client, path) = (client.clone(), path.clone());
        let address = replicas.on(appender % 3 + 1).to_owned();
        tokio::spawn(async move {
            let mut conflicts = 0;
            for append in 0..APPENDS {
                loop {
                    let read = client
                        .get(format!("{address}{path}"))
                        .send()
                        .await
                        .expect("request sent");
                    let etag = header(&read, "etag");
                    let current = json_body(read, 200).await;
                    let description = format!(
                        "{}[{appender}.{append}]",
                        current["description"].as_str().unwrap_or("")
                    );
                    let response = client
                        .patch(format!("{address}{path}"))
                        .header("if-match", &etag)
                        .json(&json!({"description": description}))
                        .send()
                        .await
                        .expect("request sent");
                    match response.status().as_u16() {
                        200 => break,
                        412 => conflicts += 1,
                        status => panic!(
                            "appender {appender} (through {address}): {status} {}",
                            response.text().await.unwrap_or_default()
                        ),
                    }
                }
            }
            conflicts
        })
    });
    let conflicts: usize = join_all(appenders)
        .await
        .into_iter()
        .map(|appender| appender.expect("appender"))
        .sum();

    // Read with causal reads: a node may serve a read before it has
    // applied what another node committed a moment ago.
    let description: String = sqlx::query_scalar("SELECT description FROM task WHERE id = ?")
        .bind(task["id"].as_i64().expect("id"))
        .fetch_one(&mut database.connect(2).await)
        .await
        .expect("the counter");
    for appender in 0..CLIENTS {
        for append in 0..APPENDS {
            let mark = format!("[{appender}.{append}]");
            assert_eq!(
                description.matches(&mark).count(),
                1,
                "{mark} in {description}"
            );
        }
    }
    eprintln!(
        "{} appends, {conflicts} answered 412 and read again; {} transactions run again",
        CLIENTS * APPENDS,
        total_retries(&replicas).await
    );
    replicas.stop().await;
}

/// 30 clients send one create with the same `Idempotency-Key` at once,
/// ten through each replica: each gets the same task, and there is one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_idempotency_key_from_clients_on_every_replica_makes_one_task() {
    const CLIENTS: usize = 30;
    let cluster =
        cluster_or_skip!("one_idempotency_key_from_clients_on_every_replica_makes_one_task");
    let database = cluster.database().await;
    let replicas = Replicas::start(&database, ARGS).await;
    let client = replicas.client.clone();

    let barrier = Arc::new(Barrier::new(CLIENTS));
    let creates = (0..CLIENTS).map(|n| {
        let (client, barrier) = (client.clone(), barrier.clone());
        let address = replicas.on(n % 3 + 1).to_owned();
        tokio::spawn(async move {
            barrier.wait().await;
            let response = client
                .post(format!("{address}/v1/tasks"))
                .header("idempotency-key", "one-key-three-nodes")
                .json(&json!({"title": "made once"}))
                .send()
                .await
                .expect("request sent");
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            assert_eq!(status, 201, "client {n} (through {address}): {body}");
            serde_json::from_str::<Value>(&body).expect("a task")
        })
    });
    let answers: Vec<Value> = join_all(creates)
        .await
        .into_iter()
        .map(|answer| answer.expect("client"))
        .collect();
    assert!(
        answers.windows(2).all(|pair| pair[0] == pair[1]),
        "different answers: {answers:?}"
    );
    let stored: Vec<i64> = sqlx::query_scalar("SELECT id FROM task")
        .fetch_all(&mut database.connect(3).await)
        .await
        .expect("the tasks");
    assert_eq!(stored, [answers[0]["id"].as_i64().expect("id")]);
    replicas.stop().await;
}

/// A client behind a load balancer reaches a different replica with each
/// request: what it wrote through one it reads at once through the
/// others, though each node applies the others' writes a moment after
/// they commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_write_through_one_replica_is_read_at_once_through_the_others() {
    const ROUNDS: usize = 60;
    let cluster =
        cluster_or_skip!("a_write_through_one_replica_is_read_at_once_through_the_others");
    let database = cluster.database().await;
    let replicas = Replicas::start(&database, ARGS).await;
    let client = replicas.client.clone();
    let read = |node: usize, path: String| {
        let (client, address) = (client.clone(), replicas.on(node).to_owned());
        async move {
            let response = client
                .get(format!("{address}{path}"))
                .send()
                .await
                .expect("request sent");
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            assert_eq!(status, 200, "{path} through replica {node}: {body}");
            serde_json::from_str::<Value>(&body).expect("a task")
        }
    };
    for round in 0..ROUNDS {
        let writer = round % 3 + 1;
        let others = [writer % 3 + 1, (writer + 1) % 3 + 1];
        let created = json_body(
            client
                .post(format!("{}/v1/tasks", replicas.on(writer)))
                .json(&json!({"title": format!("round {round}")}))
                .send()
                .await
                .expect("request sent"),
            201,
        )
        .await;
        let path = format!("/v1/tasks/{}", created["id"]);
        for node in others {
            assert_eq!(read(node, path.clone()).await, created, "round {round}");
        }
        let patched = json_body(
            client
                .patch(format!("{}{path}", replicas.on(others[0])))
                .json(&json!({"description": "changed"}))
                .send()
                .await
                .expect("request sent"),
            200,
        )
        .await;
        for node in [writer, others[1]] {
            assert_eq!(read(node, path.clone()).await, patched, "round {round}");
        }
    }
    replicas.stop().await;
}
