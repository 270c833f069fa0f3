//! Completion and the list's orders on the cluster: a completion through
//! one node disarms every replica's warning; bulk completes and reopens
//! racing through every node stay all or nothing; a cursor walk through
//! one node sees each unchanged task once while the others write.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use futures_util::future::join_all;
use serde_json::{Value, json};
use tokio::sync::Barrier;

use super::{Replicas, all_notifications, cluster_or_skip, list_all};
use crate::common::{eventually, json_body, metric, problem_body, start, task_ids};

fn owned(args: &[&str]) -> Vec<String> {
    args.iter().map(|arg| arg.to_string()).collect()
}

/// Every replica, one per node, holds the tasks in its cache (the later two
/// load them at start-up); each task is completed through a different node
/// before its window opens. With the reconcile job off a replica's cache
/// changes only by its start-up load and its own writes, so only the claim,
/// which reads the status in its transaction on the replica's own node,
/// stands between a stale cache and a warning. A sentinel created through
/// each replica, due after every completed task, shows that replica's tick
/// loop had its turn at all of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_completion_through_one_node_stops_every_replica_warning() {
    const TASKS: usize = 12;
    let cluster = cluster_or_skip!("a_completion_through_one_node_stops_every_replica_warning");
    let database = cluster.database().await;
    let args = owned(&[
        "--warn-before",
        "1s",
        "--tick-interval",
        "100ms",
        "--reconcile-schedule",
        "0 0 0 1 1 *",
    ]);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let urls = database.urls();
    let mut replicas = vec![start(&urls[0], &args).await];
    // The window opens in 19 s: time to start two replicas on a cluster
    // and complete every task on a loaded machine.
    let expiry = Utc::now() + chrono::Duration::seconds(20);
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
            .expect("request sent");
        tasks.push(json_body(response, 201).await);
    }
    for url in &urls[1..] {
        replicas.push(start(url, &args).await);
    }
    let addresses: Vec<String> = replicas.iter().map(|(a, _, _)| a.clone()).collect();
    for address in &addresses {
        eventually(
            Duration::from_secs(30),
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
            .expect("request sent");
        assert_eq!(json_body(response, 200).await["status"], "done");
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
            .expect("request sent");
        sentinels.push(json_body(response, 201).await);
    }
    eventually(
        Duration::from_secs(60),
        "each replica's sentinel warned",
        || async {
            let history = all_notifications(&client, &addresses[0]).await;
            sentinels
                .iter()
                .all(|s| history.iter().any(|n| n["task_id"] == s["id"]))
                .then_some(())
        },
    )
    .await;
    // Every node's history, not just one: each holds what all committed.
    for address in &addresses {
        let history = all_notifications(&client, address).await;
        let warned: Vec<&Value> = history.iter().map(|n| &n["task_id"]).collect();
        for task in &tasks {
            assert!(
                !warned.contains(&&task["id"]),
                "task {} was warned after its completion; warned: {warned:?}",
                task["id"]
            );
        }
        assert_eq!(history.len(), sentinels.len(), "warned: {warned:?}");
    }
    for (_, stop, server) in replicas {
        let _ = stop.send(());
        server
            .await
            .expect("server task")
            .expect("server stops cleanly");
    }
}

/// Three clients, one per node, complete and reopen the same tasks in bulk,
/// each naming them in its own order, at once, round after round. Galera
/// refuses all but one of the conflicting commits, which the store runs
/// again: every answer is 200 with every task in the asked state (one
/// transaction, never half of one), and one more through each node,
/// naming a task that is not there, changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bulk_completes_and_reopens_racing_through_every_node_stay_all_or_nothing() {
    const TASKS: usize = 30;
    const ROUNDS: usize = 8;
    let cluster = cluster_or_skip!(
        "bulk_completes_and_reopens_racing_through_every_node_stay_all_or_nothing"
    );
    let database = cluster.database().await;
    let replicas = Replicas::start(&database, &["--db-max-connections", "30"]).await;
    let client = replicas.client.clone();
    let mut ids = Vec::new();
    for n in 0..TASKS {
        let response = client
            .post(format!("{}/v1/tasks", replicas.on(n % 3 + 1)))
            .json(&json!({"title": format!("bulk {n}")}))
            .send()
            .await
            .expect("request sent");
        ids.push(json_body(response, 201).await["id"].as_i64().expect("id"));
    }
    let barrier = Arc::new(Barrier::new(3));
    let racers = (1..=3).map(|node| {
        let (client, address, barrier) = (
            client.clone(),
            replicas.on(node).to_owned(),
            barrier.clone(),
        );
        let mut named = ids.clone();
        named.rotate_left(node * 7);
        if node == 2 {
            named.reverse();
        }
        async move {
            for round in 0..ROUNDS {
                let action = if (round + node) % 2 == 0 {
                    "complete"
                } else {
                    "reopen"
                };
                barrier.wait().await;
                let response = client
                    .post(format!("{address}/v1/tasks/{action}"))
                    .json(&json!({ "ids": named }))
                    .send()
                    .await
                    .expect("request sent");
                let answer = json_body(response, 200).await;
                let tasks = answer["tasks"].as_array().expect("the tasks");
                let shown: Vec<i64> = tasks.iter().map(|t| t["id"].as_i64().unwrap()).collect();
                assert_eq!(
                    shown, named,
                    "node {node} round {round}: in the order named"
                );
                let status = if action == "complete" { "done" } else { "open" };
                for task in tasks {
                    assert_eq!(task["status"], status, "node {node} round {round}: {task}");
                    assert_eq!(
                        task["completed_dt"].is_null(),
                        status == "open",
                        "node {node} round {round}: {task}"
                    );
                }
            }
        }
    });
    join_all(racers).await;

    let before: HashMap<i64, Value> = list_all(&client, replicas.on(1))
        .await
        .into_iter()
        .map(|task| (task["id"].as_i64().expect("id"), task))
        .collect();
    let statuses: HashSet<&Value> = before.values().map(|t| &t["status"]).collect();
    assert_eq!(statuses.len(), 1, "one bulk committed last: {statuses:?}");
    let missing = ids.iter().max().expect("ids") + 1_000_000;
    for node in 1..=3 {
        let response = client
            .post(format!("{}/v1/tasks/reopen", replicas.on(node)))
            .json(&json!({"ids": [ids[0], missing, ids[1]]}))
            .send()
            .await
            .expect("request sent");
        let problem = problem_body(response, 404).await;
        assert_eq!(problem["missing_ids"], json!([missing]), "{problem}");
    }
    for node in 1..=3 {
        let after: HashMap<i64, Value> = list_all(&client, replicas.on(node))
            .await
            .into_iter()
            .map(|task| (task["id"].as_i64().expect("id"), task))
            .collect();
        assert_eq!(
            after, before,
            "node {node}: the refused bulks changed nothing"
        );
    }
    replicas.stop().await;
}

/// A walk through node 1, in an order by a key, while a writer on node 2
/// creates tasks and one on node 3 completes and reopens some of the
/// earlier ones (each a new version, so each moves in the update order):
/// every task the writers never touched is shown exactly once, in the
/// order asked for. Galera gives each node its own auto-increment offset,
/// so the ids interleave; the tie-break by id still holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cursor_walk_through_one_node_sees_each_unchanged_task_once_while_the_others_write() {
    const TASKS: usize = 30;
    let cluster = cluster_or_skip!(
        "a_cursor_walk_through_one_node_sees_each_unchanged_task_once_while_the_others_write"
    );
    let database = cluster.database().await;
    let replicas = Replicas::start(&database, &["--db-max-connections", "30"]).await;
    let client = replicas.client.clone();
    for n in 0..TASKS {
        let expiry = match n % 4 {
            0 => Value::Null,
            k => json!(format!("2030-0{k}-01T00:00:00Z")),
        };
        let priority = if n % 5 == 0 {
            Value::Null
        } else {
            json!(n % 5)
        };
        let response = client
            .post(format!("{}/v1/tasks", replicas.on(n % 3 + 1)))
            .json(&json!({"title": format!("w{n}"), "expiry_dt": expiry, "priority": priority}))
            .send()
            .await
            .expect("request sent");
        json_body(response, 201).await;
    }
    for query in [
        "sort=id&order=desc",
        "sort=expiry_dt&order=asc",
        "sort=priority&order=desc",
        "sort=update_dt&order=asc",
        "sort=create_dt&order=desc&status=open",
    ] {
        let open_only = query.contains("status=open");
        let before: Vec<Value> = list_all(&client, replicas.on(1))
            .await
            .into_iter()
            .filter(|task| !open_only || task["status"] == "open")
            .collect();
        // The order the walk must show, read from the server itself before
        // the writers start: one page holds them all.
        let expected_all = task_ids(
            &json_body(
                client
                    .get(format!("{}/v1/tasks?{query}&limit=1000", replicas.on(1)))
                    .send()
                    .await
                    .expect("request sent"),
                200,
            )
            .await,
        );
        assert_eq!(expected_all.len(), before.len(), "{query}");

        // With each page through node 1, at the same moment: a create
        // through node 2, and a completion or reopen through node 3.
        let targets: Vec<i64> = expected_all.iter().copied().step_by(4).collect();
        let mut touched = HashSet::new();
        let mut seen = Vec::new();
        let mut path = format!("/v1/tasks?{query}&limit=3");
        for pages in 0.. {
            assert!(pages < 200, "{query}: the walk does not end");
            let target = targets[(pages / 2) % targets.len()];
            touched.insert(target);
            let action = if pages % 2 == 0 { "complete" } else { "reopen" };
            let (page, created, changed) = tokio::join!(
                client.get(format!("{}{path}", replicas.on(1))).send(),
                client
                    .post(format!("{}/v1/tasks", replicas.on(2)))
                    .json(&json!({"title": "during", "expiry_dt": "2030-02-01T00:00:00Z", "priority": 3}))
                    .send(),
                client
                    .post(format!("{}/v1/tasks/{target}/{action}", replicas.on(3)))
                    .send(),
            );
            json_body(created.expect("request sent"), 201).await;
            json_body(changed.expect("request sent"), 200).await;
            let page = json_body(page.expect("request sent"), 200).await;
            seen.extend(task_ids(&page));
            let Some(cursor) = page["next_cursor"].as_str() else {
                break;
            };
            path = format!("/v1/tasks?{query}&limit=3&cursor={cursor}");
        }

        let unchanged: Vec<i64> = expected_all
            .iter()
            .copied()
            .filter(|id| !touched.contains(id))
            .collect();
        let shown: Vec<i64> = seen
            .iter()
            .copied()
            .filter(|id| unchanged.contains(id))
            .collect();
        assert_eq!(
            shown, unchanged,
            "{query}: every unchanged task once, in order; walk: {seen:?}"
        );
        assert!(
            unchanged.len() >= 15 && touched.len() >= 4,
            "{query}: the walk checks too little ({} touched)",
            touched.len()
        );
    }
    replicas.stop().await;
}
