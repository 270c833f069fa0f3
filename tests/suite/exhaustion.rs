//! No client can exhaust the server: streams are released when their
//! client goes, slow and idle connections are closed, and what is over a
//! limit gets a fast 503 with `Retry-After` instead of a queue.
//!
//! The app runs in the test's own process (nextest gives each test one),
//! so `/proc/self/fd` counts the server's descriptors.

use std::time::Duration;

use serde_json::json;
use sqlx::{Connection, Executor, SqliteConnection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{
    Backend, SseClient, eventually, header, json_body, problem_body, spawn_app_with,
};

const WAIT: Duration = Duration::from_secs(30);

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

fn host_port(address: &str) -> String {
    address.trim_start_matches("http://").to_owned()
}

/// Reads until the peer closes the connection; what it sent meanwhile.
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout(WAIT, stream.read(&mut buffer)).await {
            Err(_) => panic!(
                "the server kept the connection open; it sent: {}",
                String::from_utf8_lossy(&received)
            ),
            Ok(Ok(0)) | Ok(Err(_)) => return String::from_utf8_lossy(&received).into_owned(),
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
        }
    }
}

/// A thousand clients open the event stream, read its head and vanish:
/// every descriptor comes back, and the health check answers throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churned_streams_are_released_and_health_stays_up() {
    let app = spawn_app_with(Backend::Sqlite, &[]).await;
    json_body(app.get("/v1/health").await, 200).await;
    let baseline = open_descriptors();
    let target = host_port(&app.address);

    let churners: Vec<_> = (0..4)
        .map(|_| {
            let target = target.clone();
            tokio::spawn(async move {
                for _ in 0..250 {
                    let mut stream = TcpStream::connect(&target).await.expect("connect");
                    stream
                        .write_all(
                            b"GET /v1/notifications/stream HTTP/1.1\r\nHost: t\r\n\
                              Accept: text/event-stream\r\n\r\n",
                        )
                        .await
                        .expect("request");
                    let mut head = Vec::new();
                    let mut buffer = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        let n = stream.read(&mut buffer).await.expect("read");
                        assert!(n > 0, "closed before the head");
                        head.extend_from_slice(&buffer[..n]);
                    }
                    assert!(
                        head.starts_with(b"HTTP/1.1 200"),
                        "{}",
                        String::from_utf8_lossy(&head)
                    );
                }
            })
        })
        .collect();
    let mut probes = 0;
    while !churners.iter().all(|churner| churner.is_finished()) {
        json_body(app.get("/v1/health").await, 200).await;
        probes += 1;
    }
    for churner in churners {
        churner.await.expect("churner");
    }
    assert!(probes > 0);

    eventually(
        WAIT,
        "closed streams released, descriptors and all",
        || async {
            let metrics = app.get("/metrics").await.text().await.ok()?;
            let none_open = metrics
                .lines()
                .any(|line| line.starts_with("taskman_event_streams_open") && line.ends_with(" 0"));
            (none_open && open_descriptors() <= baseline + 8).then_some(())
        },
    )
    .await;
}

/// Beyond `--max-streams`, a new stream is refused at once with 503 and
/// `Retry-After`; when one closes, there is room again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_beyond_the_cap_get_503_until_one_closes() {
    let app = spawn_app_with(Backend::Sqlite, &["--max-streams", "2"]).await;
    let url = app.url("/v1/notifications/stream");
    let first = SseClient::connect(&url).await;
    let _second = SseClient::connect(&url).await;
    let refused = app.get("/v1/notifications/stream").await;
    assert_eq!(header(&refused, "retry-after"), "1");
    let problem = problem_body(refused, 503).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("stream"),
        "{problem}"
    );
    drop(first);
    eventually(WAIT, "room for a new stream", || async {
        let response = app.get("/v1/notifications/stream").await;
        (response.status() == 200).then_some(())
    })
    .await;
}

/// A client that sends half a request head, and one that leaves a
/// keep-alive connection idle, are disconnected after
/// `--header-read-timeout`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_connections_are_closed() {
    let app = spawn_app_with(Backend::Sqlite, &["--header-read-timeout", "1s"]).await;
    let target = host_port(&app.address);

    let mut slow = TcpStream::connect(&target).await.expect("connect");
    slow.write_all(b"GET /v1/health HTTP/1.1\r\nHost: t\r\nX-Slow: 1")
        .await
        .expect("half a head");
    let said = read_until_closed(&mut slow).await;
    assert!(!said.contains("200 OK"), "{said}");

    let mut idle = TcpStream::connect(&target).await.expect("connect");
    idle.write_all(b"GET /v1/health HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .expect("a request");
    let said = read_until_closed(&mut idle).await;
    assert!(
        said.starts_with("HTTP/1.1 200"),
        "answered, then closed: {said}"
    );

    let mut silent = TcpStream::connect(&target).await.expect("connect");
    read_until_closed(&mut silent).await;
    json_body(app.get("/v1/health").await, 200).await;
}

/// Beyond `--max-connections`, a new connection gets a 503 problem with
/// `Retry-After` and is closed; the ones already open are served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_get_503() {
    let app = spawn_app_with(Backend::Sqlite, &["--max-connections", "2"]).await;
    let target = host_port(&app.address);
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(&target).await.expect("connect");
        // A request answered on it shows the server has taken it.
        stream
            .write_all(b"GET /v1/health HTTP/1.1\r\nHost: t\r\n\r\n")
            .await
            .expect("request");
        let mut buffer = [0u8; 1024];
        let n = stream.read(&mut buffer).await.expect("answer");
        assert!(buffer[..n].starts_with(b"HTTP/1.1 200"));
        held.push(stream);
    }
    let mut extra = TcpStream::connect(&target).await.expect("connect");
    let _ = extra
        .write_all(b"GET /v1/tasks HTTP/1.1\r\nHost: t\r\n\r\n")
        .await;
    let said = read_until_closed(&mut extra).await;
    assert!(said.starts_with("HTTP/1.1 503"), "{said}");
    let lower = said.to_ascii_lowercase();
    assert!(lower.contains("retry-after: 1"), "{said}");
    assert!(
        lower.contains("content-type: application/problem+json"),
        "{said}"
    );
    drop(held);
    eventually(WAIT, "room for a new connection", || async {
        let response = reqwest::get(app.url("/v1/health")).await.ok()?;
        (response.status() == 200).then_some(())
    })
    .await;
}

/// A connection the server has taken (a request was answered on it), kept open.
async fn hold_a_connection(target: &str) -> TcpStream {
    let mut held = TcpStream::connect(target).await.expect("connect");
    held.write_all(b"GET /v1/health HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .expect("request");
    let mut buffer = [0u8; 1024];
    let n = held.read(&mut buffer).await.expect("answer");
    assert!(buffer[..n].starts_with(b"HTTP/1.1 200"));
    held
}

/// Over the connection cap the 503 waits for the request head: sent before
/// it, HTTP clients take it as a broken connection, not a 503 to retry on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_is_answered_after_its_request() {
    let app = spawn_app_with(Backend::Sqlite, &["--max-connections", "1"]).await;
    let target = host_port(&app.address);
    let _held = hold_a_connection(&target).await;

    let mut extra = TcpStream::connect(&target).await.expect("connect");
    extra
        .write_all(b"GET /v1/tasks HTTP/1.1\r\n")
        .await
        .expect("half a head");
    let mut buffer = [0u8; 1024];
    let early = tokio::time::timeout(Duration::from_millis(300), extra.read(&mut buffer)).await;
    assert!(early.is_err(), "answered before the request: {early:?}");
    extra.write_all(b"Host: t\r\n\r\n").await.expect("rest");
    let said = read_until_closed(&mut extra).await;
    assert!(said.starts_with("HTTP/1.1 503"), "{said}");

    let response = reqwest::get(app.url("/v1/tasks"))
        .await
        .expect("an answer, not an error");
    assert_eq!(response.status(), 503);
    assert_eq!(header(&response, "retry-after"), "1");
}

/// A load balancer's health check is answered at the connection cap too,
/// or a busy replica is taken for a dead one; that connection carries the
/// one request, so it cannot be used to get past the cap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_answered_at_the_connection_cap() {
    let app = spawn_app_with(Backend::Sqlite, &["--max-connections", "1"]).await;
    let target = host_port(&app.address);
    let held = hold_a_connection(&target).await;

    let health = reqwest::get(app.url("/v1/health"))
        .await
        .expect("an answer");
    assert_eq!(health.status(), 200);
    assert_eq!(header(&health, "connection"), "close");
    // Sent in pieces, as a slow checker might.
    let mut slow = TcpStream::connect(&target).await.expect("connect");
    slow.write_all(b"GET /v1/hea").await.expect("part");
    tokio::time::sleep(Duration::from_millis(50)).await;
    slow.write_all(b"lth HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .expect("rest");
    let said = read_until_closed(&mut slow).await;
    assert!(said.starts_with("HTTP/1.1 200"), "{said}");
    // Anything else is still refused.
    let tasks = reqwest::get(app.url("/v1/tasks")).await.expect("an answer");
    assert_eq!(tasks.status(), 503);
    drop(held);
}

/// Beyond `--max-in-flight`, a request is answered 503 `overloaded` with
/// `Retry-After` at once instead of queueing; a request past
/// `--request-timeout` (here: a write waiting for a database locked by
/// another program) gets a problem, not a hang; the health check is exempt
/// from the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_beyond_the_limits_get_a_fast_503() {
    let app = spawn_app_with(
        Backend::Sqlite,
        &[
            "--max-in-flight",
            "2",
            "--request-timeout",
            "10s",
            "--db-timeout",
            "60s",
        ],
    )
    .await;
    let task = app.create_task(json!({"title": "t"})).await;
    let task_path = format!("/v1/tasks/{}", task["id"]);
    let mut lock = SqliteConnection::connect(app.database.url())
        .await
        .expect("connect");
    lock.execute("BEGIN IMMEDIATE")
        .await
        .expect("the write lock");

    // Two writes that hold their place, waiting for the lock, for the 10 s
    // of the request time limit. A probe that comes before one of them has
    // been taken in can take its place (it is then shed itself, and
    // answered at once): such a one is replaced, until a probe finds both
    // places taken.
    let hold = || {
        let (client, url) = (app.client.clone(), app.url("/v1/tasks"));
        tokio::spawn(async move {
            let response = client
                .post(url)
                .json(&json!({"title": "waits"}))
                .send()
                .await
                .expect("request sent");
            (response.status(), response.text().await.unwrap_or_default())
        })
    };
    let mut holders = vec![hold(), hold()];
    let deadline = tokio::time::Instant::now() + WAIT;
    let shed = loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no request was shed while two were in flight"
        );
        let response = app.get(&task_path).await;
        let retry_after = header(&response, "retry-after");
        let problem: serde_json::Value = response.json().await.expect("JSON");
        let detail = problem["detail"].as_str().unwrap_or_default();
        if detail.contains("requests in flight") {
            break (retry_after, problem);
        }
        for holder in holders.iter_mut() {
            if holder.is_finished() {
                *holder = hold();
            }
        }
    };
    assert_eq!(shed.0, "1");
    assert_eq!(shed.1["status"], 503);
    assert_eq!(
        shed.1["type"], "urn:taskman:problem:overloaded",
        "{}",
        shed.1
    );
    json_body(app.get("/v1/health").await, 200).await;

    for holder in holders {
        let (status, said) = holder.await.expect("holder");
        assert_eq!(status, 503, "{said}");
        assert!(said.contains("the request took too long"), "{said}");
    }
    lock.execute("ROLLBACK").await.expect("unlock");
    json_body(app.get(&task_path).await, 200).await;
    app.create_task(json!({"title": "after"})).await;
}

/// Starts a POST whose body then arrives a byte every half second; returns
/// once the server has begun to read the body (its `100 Continue`).
async fn dribble_a_body(target: &str) -> TcpStream {
    let mut stream = TcpStream::connect(target).await.expect("connect");
    stream
        .write_all(
            b"POST /v1/tasks HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
              Expect: 100-continue\r\nContent-Length: 40\r\n\r\n",
        )
        .await
        .expect("a request head");
    let mut said = Vec::new();
    let mut buffer = [0u8; 1024];
    while !said.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(WAIT, stream.read(&mut buffer))
            .await
            .expect("an answer to the head")
            .expect("read");
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&said));
        said.extend_from_slice(&buffer[..n]);
    }
    assert!(
        said.starts_with(b"HTTP/1.1 100"),
        "the body is asked for, not refused: {}",
        String::from_utf8_lossy(&said)
    );
    stream
}

/// Bodies that arrive a byte at a time take no place among the requests in
/// flight: with more of them than `--max-in-flight`, a GET and a whole POST
/// are answered at once, and each slow body gets a 408 problem after
/// `--body-read-timeout`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_bodies_do_not_starve_other_requests() {
    let app = spawn_app_with(
        Backend::Sqlite,
        &["--max-in-flight", "8", "--body-read-timeout", "10s"],
    )
    .await;
    let task = app.create_task(json!({"title": "t"})).await;
    let target = host_port(&app.address);

    let mut dribblers = Vec::new();
    for _ in 0..10 {
        let mut stream = dribble_a_body(&target).await;
        dribblers.push(tokio::spawn(async move {
            for byte in b"{\"title\": \"slow\"" {
                if stream.write_all(&[*byte]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            read_until_closed(&mut stream).await
        }));
    }

    let started = tokio::time::Instant::now();
    json_body(app.get(&format!("/v1/tasks/{}", task["id"])).await, 200).await;
    app.create_task(json!({"title": "fast"})).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered at once, not after the slow bodies: {:?}",
        started.elapsed()
    );

    for dribbler in dribblers {
        let said = dribbler.await.expect("dribbler");
        assert!(said.starts_with("HTTP/1.1 408"), "{said}");
        let lower = said.to_ascii_lowercase();
        assert!(
            lower.contains("content-type: application/problem+json"),
            "{said}"
        );
        assert!(said.contains("\"status\":408"), "{said}");
    }
    json_body(app.get("/v1/tasks").await, 200).await;
}
