//! A node that is not there for its replica: one that refuses queries
//! (not synced, or taken out of service), and one killed with `kill -9`
//! under write load, then started again to rejoin the cluster.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::{Connection, Executor, MySqlConnection};

use super::{Replicas, cluster_or_skip, retries};
use crate::common::eventually;
use crate::common::galera::Galera;

/// The replicas' `DB_TIMEOUT`.
const DB_TIMEOUT: Duration = Duration::from_secs(8);
const ARGS: &[&str] = &["--db-timeout", "8s", "--db-max-connections", "20"];

/// A request's answer: its status, its problem type if any, and how long
/// it took.
#[derive(Clone, Debug)]
struct Answer {
    status: u16,
    problem: Option<String>,
    took: Duration,
    at: Instant,
}

async fn send(request: reqwest::RequestBuilder) -> Answer {
    let at = Instant::now();
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let retry_after = response.headers().contains_key("retry-after");
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status == 503 && body.get("type").is_some() {
        assert!(retry_after, "a 503 problem without Retry-After: {body}");
    }
    Answer {
        status,
        problem: body["type"].as_str().map(str::to_owned),
        took: at.elapsed(),
        at,
    }
}

/// Makes node `node` refuse every query with 1047, as a node that is not
/// synced does, until dropped.
struct RefusingQueries {
    conn: Option<MySqlConnection>,
}

impl RefusingQueries {
    async fn on(cluster: &Galera, node: usize) -> Self {
        let mut conn = MySqlConnection::connect(cluster.server(node))
            .await
            .expect("connect to the node");
        conn.execute("SET GLOBAL wsrep_reject_queries = ALL")
            .await
            .expect("node refuses queries");
        Self { conn: Some(conn) }
    }

    async fn end(mut self) {
        if let Some(mut conn) = self.conn.take() {
            conn.execute("SET GLOBAL wsrep_reject_queries = NONE")
                .await
                .expect("node answers queries");
        }
    }
}

impl Drop for RefusingQueries {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        // A test that failed must not leave the node refusing.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let _ = conn.execute("SET GLOBAL wsrep_reject_queries = NONE").await;
            });
        })
        .join();
    }
}

/// A node that refuses queries (1047, "WSREP has not yet prepared node for
/// application use", as while it rejoins) is no 500: its replica answers
/// 503 with `Retry-After`, the health check too, and once one call found
/// it so, at once, without sending anything more to the database until
/// the background probe finds it answering real queries again. Then it
/// serves again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_refusing_queries_is_503_never_500_until_it_answers_again() {
    let cluster =
        cluster_or_skip!("a_node_refusing_queries_is_503_never_500_until_it_answers_again");
    let database = cluster.database().await;
    let replicas = Replicas::start(&database, ARGS).await;
    let (client, refusing) = (replicas.client.clone(), replicas.on(3).to_owned());
    let health = || send(client.get(format!("{refusing}/v1/health")));
    let list = || send(client.get(format!("{refusing}/v1/tasks")));
    let create = || {
        send(
            client
                .post(format!("{refusing}/v1/tasks"))
                .json(&json!({"title": "while refused"})),
        )
    };
    assert_eq!(list().await.status, 200);
    assert_eq!(health().await.status, 200);

    let refused = RefusingQueries::on(&cluster, 3).await;
    let first = list().await;
    assert_eq!(first.status, 503, "{first:?}");
    assert_eq!(
        first.problem.as_deref(),
        Some("urn:taskman:problem:unavailable")
    );
    let retries_before = retries(&client, &refusing).await;
    let mut answers = Vec::new();
    // Over two seconds: several rounds of the background probe.
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        answers.push(list().await);
        answers.push(create().await);
        answers.push(health().await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let retries_after = retries(&client, &refusing).await;
    for answer in &answers {
        assert_eq!(answer.status, 503, "{answer:?}");
    }
    let slowest = answers.iter().map(|a| a.took).max().unwrap_or_default();
    eprintln!(
        "{} requests while the node refused queries: all 503, the slowest in {slowest:?}; \
         {} retries",
        answers.len(),
        retries_after - retries_before
    );
    // Before: the probe pinged, which a node refusing queries answers; every
    // request after a ping went to the database again, and retried.
    assert_eq!(
        retries_after, retries_before,
        "requests reached the database while it was known to refuse them"
    );
    assert!(
        slowest < DB_TIMEOUT / 4,
        "a request took {slowest:?} while the node was known to refuse queries"
    );

    refused.end().await;
    let back = Instant::now();
    eventually(Duration::from_secs(10), "health 200 again", || async {
        (health().await.status == 200).then_some(())
    })
    .await;
    eprintln!(
        "health 200 again {:?} after the node answered",
        back.elapsed()
    );
    assert_eq!(list().await.status, 200);
    assert_eq!(create().await.status, 201);
    replicas.stop().await;
}

/// Restarts a node killed in a test, however the test ends.
struct Restore<'a> {
    cluster: &'a Galera,
    node: usize,
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        self.cluster.restore(self.node);
    }
}

/// What a writer saw: its creates' titles and answers, through which
/// replica.
struct Written {
    replica: usize,
    title: String,
    answer: Answer,
}

/// Creates tasks through replica `replica` until told to stop.
async fn writer(
    client: reqwest::Client,
    address: String,
    replica: usize,
    writer: usize,
    stop: Arc<AtomicBool>,
) -> Vec<Written> {
    let mut written = Vec::new();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let title = format!("writer {writer} create {n}");
        let answer = send(
            client
                .post(format!("{address}/v1/tasks"))
                .json(&json!({"title": title})),
        )
        .await;
        if answer.status == 503 {
            // As a client told to retry after a second would, but sooner.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        written.push(Written {
            replica,
            title,
            answer,
        });
    }
    written
}

/// The titles stored, read on `node` with causal reads.
async fn stored_titles(
    database: &crate::common::galera::GaleraDatabase,
    node: usize,
) -> Vec<String> {
    sqlx::query_scalar("SELECT title FROM task")
        .fetch_all(&mut database.connect(node).await)
        .await
        .expect("the tasks")
}

/// `kill -9` of node 3 while two clients per replica create tasks: no
/// acknowledged create is lost, and none answered a plain 503 is stored;
/// the survivors answer only 201 or 503; node 3's replica answers 503,
/// quickly once it has found the node gone, and its health check says 503
/// until the node is back and synced. Started again, the node rejoins and
/// its replica serves again, without a 500 at any point.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_node_loses_no_acknowledged_write_and_its_replica_recovers_without_a_500() {
    let cluster = cluster_or_skip!(
        "a_killed_node_loses_no_acknowledged_write_and_its_replica_recovers_without_a_500"
    );
    let database = cluster.database().await;
    let replicas = Replicas::start(&database, ARGS).await;
    let client = replicas.client.clone();

    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..6)
        .map(|n| {
            let replica = n % 3 + 1;
            tokio::spawn(writer(
                client.clone(),
                replicas.on(replica).to_owned(),
                replica,
                n,
                stop.clone(),
            ))
        })
        .collect();
    let checking = Arc::new(AtomicBool::new(true));
    let health_checks = {
        let (client, address, checking) =
            (client.clone(), replicas.on(3).to_owned(), checking.clone());
        tokio::spawn(async move {
            let mut seen = Vec::new();
            while checking.load(Ordering::Relaxed) {
                seen.push(send(client.get(format!("{address}/v1/health"))).await);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            seen
        })
    };
    tokio::time::sleep(Duration::from_secs(2)).await;

    let restore = Restore {
        cluster: &cluster,
        node: 3,
    };
    let killed = {
        let cluster = cluster.clone();
        tokio::task::spawn_blocking(move || cluster.kill(3))
            .await
            .expect("kill");
        Instant::now()
    };
    // Long enough for the survivors to evict the node (evs.suspect_timeout,
    // 5 s) and for its replica to find it gone.
    tokio::time::sleep(DB_TIMEOUT + Duration::from_secs(3)).await;
    let health = send(client.get(format!("{}/v1/health", replicas.on(3)))).await;
    assert_eq!(health.status, 503, "health with the node dead: {health:?}");

    let restarted = {
        let cluster = cluster.clone();
        tokio::task::spawn_blocking(move || cluster.start(3))
            .await
            .expect("start");
        Instant::now()
    };
    let healthy = eventually(
        Duration::from_secs(120),
        "node 3's replica healthy again",
        || async {
            let health = send(client.get(format!("{}/v1/health", replicas.on(3)))).await;
            (health.status == 200).then_some(Instant::now())
        },
    )
    .await;
    // The node is synced by now: its replica answered a real query.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    checking.store(false, Ordering::Relaxed);
    let mut written = Vec::new();
    for writer in writers {
        written.extend(writer.await.expect("writer"));
    }
    let health_checks = health_checks.await.expect("health checks");
    drop(restore);
    eprintln!(
        "node 3 killed, restarted {:?} later, its replica healthy {:?} after that",
        restarted - killed,
        healthy - restarted
    );

    // No 500, ever; survivors answer 201 or 503.
    for w in &written {
        assert!(
            w.answer.status == 201 || w.answer.status == 503,
            "replica {} answered {:?} to {}",
            w.replica,
            w.answer,
            w.title
        );
    }
    for check in &health_checks {
        assert!(
            check.status == 200 || check.status == 503,
            "health answered {check:?}"
        );
    }

    // No acknowledged write lost; none answered a plain 503 stored.
    let stored = stored_titles(&database, 1).await;
    let mut seen = HashSet::new();
    for title in &stored {
        assert!(seen.insert(title.as_str()), "{title} stored twice");
    }
    let acknowledged: Vec<&Written> = written.iter().filter(|w| w.answer.status == 201).collect();
    for w in &acknowledged {
        assert!(
            seen.contains(w.title.as_str()),
            "{} acknowledged, lost",
            w.title
        );
    }
    let refused: Vec<&Written> = written
        .iter()
        .filter(|w| w.answer.problem.as_deref() == Some("urn:taskman:problem:unavailable"))
        .collect();
    let stored_after_503: Vec<&str> = refused
        .iter()
        .map(|w| w.title.as_str())
        .filter(|title| seen.contains(title))
        .collect();
    assert!(
        stored_after_503.is_empty(),
        "answered 503 (unavailable: nothing written), but stored: {stored_after_503:?}"
    );
    assert_eq!(
        stored_titles(&database, 3).await.len(),
        stored.len(),
        "the rejoined node has every task"
    );

    // Node 3's replica, while its node was gone: 503s, and after the first
    // ones each at once, well inside DB_TIMEOUT.
    let down: Vec<&Answer> = written
        .iter()
        .filter(|w| w.replica == 3 && w.answer.at > killed && w.answer.at < restarted)
        .map(|w| &w.answer)
        .collect();
    assert!(
        down.iter().all(|a| a.status == 503),
        "node 3's replica answered while its node was dead: {down:?}"
    );
    let later: Vec<Duration> = down
        .iter()
        .filter(|a| a.at > killed + DB_TIMEOUT + Duration::from_secs(1))
        .map(|a| a.took)
        .collect();
    let slowest = later.iter().max().copied().unwrap_or_default();
    eprintln!(
        "node 3's replica with its node dead: {} creates answered 503, {} of them after the \
         first {DB_TIMEOUT:?}, the slowest of those in {slowest:?}",
        down.len(),
        later.len()
    );
    assert!(!later.is_empty(), "no request reached node 3's replica");
    assert!(
        slowest < DB_TIMEOUT / 2,
        "node 3's replica took {slowest:?} to answer with its node known dead"
    );
    // Its health check said so from the time the node was found dead
    // until after the restart.
    let health_while_dead: Vec<&Answer> = health_checks
        .iter()
        .filter(|a| a.at > killed + DB_TIMEOUT + Duration::from_secs(1) && a.at < restarted)
        .collect();
    assert!(
        health_while_dead.iter().all(|a| a.status == 503),
        "health while the node was dead: {health_while_dead:?}"
    );
    // Serving again after the rejoin.
    let after: Vec<&Written> = written
        .iter()
        .filter(|w| w.replica == 3 && w.answer.at > healthy)
        .collect();
    assert!(
        after.iter().any(|w| w.answer.status == 201),
        "node 3's replica created nothing after its rejoin"
    );
    let mut outcomes: HashMap<(usize, u16, Option<String>), usize> = HashMap::new();
    for w in &written {
        *outcomes
            .entry((w.replica, w.answer.status, w.answer.problem.clone()))
            .or_default() += 1;
    }
    let mut outcomes: Vec<_> = outcomes.into_iter().collect();
    outcomes.sort();
    eprintln!(
        "{} creates, {} acknowledged; by (replica, status, problem): {outcomes:?}",
        written.len(),
        acknowledged.len()
    );
    replicas.stop().await;
}
