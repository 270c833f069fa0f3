//! A client that goes away mid-call never poisons a database connection:
//! whatever the call was doing (a stream's catch-up, a list page), the
//! connection it held is closed, never handed to the next request.
//!
//! On MySQL a connection dropped in the middle of reading a result set
//! could lose its place in the protocol; handed out again, its next
//! statement waited for an answer that never came, until the time limit.

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::json;
use sqlx::{Connection, Executor, MySqlConnection, SqliteConnection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{Backend, TestApp, TestDatabase, spawn_app_with};

crate::on_both_backends!(requests_after_cut_off_calls_are_answered_at_once);

/// Rounds of cut-off calls, each followed by a round of ordinary requests.
const ROUNDS: usize = 20;
/// Calls cut off per round, and ordinary requests per round.
const PER_ROUND: usize = 10;
/// Generous for a loaded machine, and far below the database time limit a
/// poisoned connection waits for.
const PROMPTLY: Duration = Duration::from_secs(5);
const DB_TIMEOUT: &str = "20s";

/// Enough history that a catch-up reads it in many pages, and tasks large
/// enough that a page of them takes a while to read.
const HISTORY_ROWS: usize = 20_000;
const TASK_ROWS: usize = 1_000;

async fn requests_after_cut_off_calls_are_answered_at_once(backend: Backend) {
    // One connection: whatever a cut-off call leaves behind, the next
    // request meets (with more, a fresh one could hide a poisoned one).
    let app = spawn_app_with(
        backend,
        &["--db-timeout", DB_TIMEOUT, "--db-max-connections", "1"],
    )
    .await;
    seed(&app.database).await;
    let target = app.address.trim_start_matches("http://").to_owned();

    for round in 0..ROUNDS {
        let cut_offs = (0..PER_ROUND).map(|i| {
            let target = target.clone();
            let nth = round * PER_ROUND + i;
            async move {
                if nth.is_multiple_of(2) {
                    cut_off_stream(&target, nth).await;
                } else {
                    cut_off_list(&target, nth).await;
                }
            }
        });
        join_all(cut_offs).await;

        let ordinary = (0..PER_ROUND).map(|i| ordinary_request(&app, round, i));
        for (what, outcome) in join_all(ordinary).await {
            match outcome {
                Ok(status) => assert!(
                    (200..300).contains(&status),
                    "round {round}: {what} answered {status}"
                ),
                Err(_) => panic!("round {round}: {what} not answered within {PROMPTLY:?}"),
            }
        }
    }
}

/// One ordinary request, and its status if answered promptly.
async fn ordinary_request(
    app: &TestApp,
    round: usize,
    i: usize,
) -> (&'static str, Result<u16, tokio::time::error::Elapsed>) {
    let (what, request) = match i % 3 {
        0 => (
            "POST /v1/tasks",
            app.client
                .post(app.url("/v1/tasks"))
                .json(&json!({"title": format!("after round {round}")})),
        ),
        1 => ("GET /v1/tasks/1", app.client.get(app.url("/v1/tasks/1"))),
        _ => (
            "GET /v1/notifications",
            app.client.get(app.url("/v1/notifications?limit=5")),
        ),
    };
    let outcome = tokio::time::timeout(PROMPTLY, async {
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let _ = response.bytes().await;
        status
    })
    .await;
    (what, outcome)
}

/// Opens the event stream with `Last-Event-ID` (its catch-up reads the
/// whole history), reads the head and a varying part of the body, and
/// goes away.
async fn cut_off_stream(target: &str, nth: usize) {
    let mut stream = TcpStream::connect(target).await.expect("connect");
    stream
        .write_all(
            b"GET /v1/notifications/stream HTTP/1.1\r\nHost: t\r\n\
              Accept: text/event-stream\r\nLast-Event-ID: 1\r\n\r\n",
        )
        .await
        .expect("request");
    let wanted = (nth % 5) * 64 * 1024;
    let mut received = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    loop {
        let head_seen = received.windows(4).any(|w| w == b"\r\n\r\n");
        if head_seen && received.len() >= wanted {
            break;
        }
        let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buffer))
            .await
            .expect("the stream answers")
            .expect("read");
        assert!(
            n > 0,
            "the stream ended after {} bytes: its catch-up failed",
            received.len()
        );
        received.extend_from_slice(&buffer[..n]);
    }
    assert!(
        received.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&received[..received.len().min(200)])
    );
    // Unread data makes the close a reset: gone, as a crashed client is.
}

/// Asks for a full page of large tasks and goes away after a varying
/// moment: before the answer (while the page is read) or during it.
async fn cut_off_list(target: &str, nth: usize) {
    let mut stream = TcpStream::connect(target).await.expect("connect");
    stream
        .write_all(b"GET /v1/tasks?limit=1000 HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .expect("request");
    let patience = Duration::from_millis((nth % 7) as u64 * 5);
    let mut buffer = [0u8; 16 * 1024];
    let _ = tokio::time::timeout(patience, stream.read(&mut buffer)).await;
}

/// Writes the history and the tasks straight into the database.
async fn seed(database: &TestDatabase) {
    let title = "t".repeat(255);
    let description = "d".repeat(1000);
    let when = match database.backend() {
        Backend::MySql => "'2026-01-01 00:00:00'",
        Backend::Sqlite => "1767225600000000",
    };
    let mut statements = Vec::new();
    for start in (0..HISTORY_ROWS).step_by(500) {
        let rows: Vec<String> = (start..start + 500)
            .map(|i| format!("({i}, '{title}', 'expiring', {when}, {when}, 0, 'none')"))
            .collect();
        statements.push(format!(
            "INSERT INTO notification (task_id, title, kind, expiry_dt, notified_at, late, \
             delivery_state) VALUES {}",
            rows.join(", ")
        ));
    }
    for start in (0..TASK_ROWS).step_by(100) {
        let rows: Vec<String> = (start..start + 100)
            .map(|_| format!("('{title}', '{description}', {when})"))
            .collect();
        statements.push(format!(
            "INSERT INTO task (title, description, expiry_dt) VALUES {}",
            rows.join(", ")
        ));
    }
    match database.backend() {
        Backend::MySql => {
            let mut conn = MySqlConnection::connect(database.url())
                .await
                .expect("connect");
            for statement in statements {
                conn.execute(sqlx::AssertSqlSafe(statement))
                    .await
                    .expect("seed");
            }
        }
        Backend::Sqlite => {
            let mut conn = SqliteConnection::connect(database.url())
                .await
                .expect("connect");
            for statement in statements {
                conn.execute(sqlx::AssertSqlSafe(statement))
                    .await
                    .expect("seed");
            }
        }
    }
}
