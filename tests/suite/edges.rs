//! The contract's edges: every error is problem+json, even hyper's own;
//! bodies are exactly JSON; the bearer scheme is case-insensitive; the
//! plain pages refuse other methods; error fields name the parameter.

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{Backend, TestApp, header, json_body, problem_body, spawn_app, spawn_app_with};

const WAIT: Duration = Duration::from_secs(30);

/// Sends `request` on a fresh connection and reads the answer until the
/// server closes. The request is written alongside, as the server may
/// answer (and close) before it has read all of it.
async fn raw_exchange(app: &TestApp, request: Vec<u8>) -> String {
    let stream = TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let writing = tokio::spawn(async move {
        let _ = writer.write_all(&request).await;
        writer
    });
    let mut received = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        match tokio::time::timeout(WAIT, reader.read(&mut buffer)).await {
            Err(_) => panic!(
                "no end to the answer: {}",
                String::from_utf8_lossy(&received)
            ),
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => {
                received.extend_from_slice(&buffer[..n]);
                // One answer is all we want; it carries its length.
                if answer_is_complete(&received) {
                    break;
                }
            }
        }
    }
    drop(writing);
    String::from_utf8_lossy(&received).into_owned()
}

fn answer_is_complete(received: &[u8]) -> bool {
    let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&received[..end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse::<usize>().ok());
    length.is_some_and(|length| received.len() >= end + 4 + length)
}

/// Asserts a raw answer is a problem with `status`.
fn assert_raw_problem(answer: &str, status: u16) {
    assert!(
        answer.starts_with(&format!("HTTP/1.1 {status} ")),
        "{answer}"
    );
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{answer}"
    );
    let problem: serde_json::Value = serde_json::from_str(body).expect("a JSON problem body");
    assert_eq!(problem["status"], status, "{problem}");
    assert!(problem["type"].is_string(), "{problem}");
    assert!(problem["title"].is_string(), "{problem}");
    assert!(problem["detail"].is_string(), "{problem}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_layers_own_errors_are_problems() {
    let app = spawn_app(Backend::Sqlite).await;

    let long_path = format!("/v1/tasks/{}", "a".repeat(64 * 1024));
    let answer = raw_exchange(
        &app,
        format!("GET {long_path} HTTP/1.1\r\nHost: t\r\n\r\n").into_bytes(),
    )
    .await;
    assert_raw_problem(&answer, 414);

    let huge_header = "x".repeat(1024 * 1024);
    let answer = raw_exchange(
        &app,
        format!("GET /v1/health HTTP/1.1\r\nHost: t\r\nX-Huge: {huge_header}\r\n\r\n").into_bytes(),
    )
    .await;
    assert_raw_problem(&answer, 431);

    let answer = raw_exchange(
        &app,
        b"POST /v1/tasks HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
          Content-Length: -5\r\n\r\n{}"
            .to_vec(),
    )
    .await;
    assert_raw_problem(&answer, 400);

    let answer = raw_exchange(&app, b"GET /v1/ta sks HTTP/1.1\r\nHost: t\r\n\r\n".to_vec()).await;
    assert_raw_problem(&answer, 400);

    json_body(app.get("/v1/health").await, 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_are_plain_json_and_nothing_else() {
    let app = spawn_app(Backend::Sqlite).await;
    let body = json!({"title": "typed"}).to_string();
    for content_type in [
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/vnd.api+json",
        "text/plain",
    ] {
        let response = app
            .client
            .post(app.url("/v1/tasks"))
            .header("content-type", content_type)
            .body(body.clone())
            .send()
            .await
            .expect("request sent");
        problem_body(response, 415).await;
    }
    let gzipped = app
        .client
        .post(app.url("/v1/tasks"))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(vec![0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00])
        .send()
        .await
        .expect("request sent");
    let problem = problem_body(gzipped, 415).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("gzip"),
        "{problem}"
    );
    let listed = json_body(app.get("/v1/tasks").await, 200).await;
    assert_eq!(listed["tasks"], json!([]), "nothing was created");

    let task = app.create_task(json!({"title": "before"})).await;
    let path = format!("/v1/tasks/{}", task["id"]);
    let patched = app
        .client
        .patch(app.url(&path))
        .header("content-type", "application/merge-patch+json")
        .body(json!({"title": "after"}).to_string())
        .send()
        .await
        .expect("request sent");
    assert_eq!(json_body(patched, 200).await["title"], "after");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_keys_in_a_body_are_refused() {
    let app = spawn_app(Backend::Sqlite).await;
    let response = app
        .client
        .post(app.url("/v1/tasks"))
        .header("content-type", "application/json")
        .body(r#"{"title": "first", "title": "second"}"#)
        .send()
        .await
        .expect("request sent");
    let problem = problem_body(response, 400).await;
    assert!(problem.to_string().contains("title"), "{problem}");
    let listed = json_body(app.get("/v1/tasks").await, 200).await;
    assert_eq!(listed["tasks"], json!([]), "nothing was created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = spawn_app_with(Backend::Sqlite, &["--api-token", "tok"]).await;
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let response = app
            .client
            .get(app.url("/v1/tasks"))
            .header("authorization", format!("{scheme} tok"))
            .send()
            .await
            .expect("request sent");
        json_body(response, 200).await;
    }
    let wrong = app
        .client
        .get(app.url("/v1/tasks"))
        .header("authorization", "bearer nope")
        .send()
        .await
        .expect("request sent");
    problem_body(wrong, 401).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plain_pages_refuse_other_methods_with_allow() {
    let app = spawn_app(Backend::Sqlite).await;
    for path in ["/docs", "/openapi.json"] {
        for method in ["POST", "DELETE", "PUT", "PATCH", "TRACE", "FROBNICATE"] {
            let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
            let response = app
                .client
                .request(method.clone(), app.url(path))
                .send()
                .await
                .expect("request sent");
            assert_eq!(header(&response, "allow"), "GET, HEAD", "{method} {path}");
            problem_body(response, 405).await;
        }
        let page = app.get(path).await;
        assert_eq!(page.status(), 200, "GET {path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_names_the_parameter_as_the_spec_does() {
    let app = spawn_app(Backend::Sqlite).await;
    for query in ["ids=0", "ids=abc", "ids=1,x"] {
        let problem = problem_body(app.delete(&format!("/v1/tasks?{query}")).await, 400).await;
        assert_eq!(problem["errors"][0]["field"], "ids", "{query}: {problem}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_favicon_is_served() {
    let app = spawn_app(Backend::Sqlite).await;
    let response = app.get("/favicon.ico").await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), "image/svg+xml");
    let body = response.text().await.expect("body");
    assert!(body.contains("<svg"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swagger_ui_and_the_spec_are_served_compressed() {
    let app = spawn_app(Backend::Sqlite).await;
    for path in ["/docs", "/openapi.json"] {
        let response = app
            .client
            .get(app.url(path))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "content-encoding"), "gzip", "{path}");
    }
}

/// The documented 1,000-item limit of a bulk replace is reachable with
/// full-size items: 255-character titles, 1,000-byte descriptions and an
/// expiry (about 1.4 MB); a body over 4 MiB still gets 413.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_replace_of_a_thousand_full_size_tasks_fits() {
    let app = spawn_app(Backend::Sqlite).await;
    let mut ids = Vec::new();
    for batch in 0..10 {
        let creates = (0..100).map(|i| app.create_task(json!({"title": format!("t{batch}-{i}")})));
        for task in futures_util::future::join_all(creates).await {
            ids.push(task["id"].clone());
        }
    }
    assert_eq!(ids.len(), 1000);
    let items: Vec<_> = ids
        .iter()
        .map(|id| {
            json!({
                "id": id,
                "title": "t".repeat(255),
                "description": "d".repeat(1000),
                "expiry_dt": "2099-12-31T23:59:59.999999+00:00",
            })
        })
        .collect();
    let body = json!({ "tasks": items });
    assert!(body.to_string().len() > 1024 * 1024, "over the old 1 MiB");
    let replaced = json_body(app.put_json("/v1/tasks", &body).await, 200).await;
    assert_eq!(replaced["tasks"].as_array().expect("tasks").len(), 1000);

    let too_large = app
        .client
        .put(app.url("/v1/tasks"))
        .header("content-type", "application/json")
        .body(vec![b' '; 4 * 1024 * 1024 + 1])
        .send()
        .await
        .expect("request sent");
    problem_body(too_large, 413).await;
}

/// A request line too long for the server's read buffer (1 MB of query
/// string) is a 414 problem, as a shorter over-long one is, not a 431.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_megabyte_query_string_is_a_uri_too_long() {
    let app = spawn_app(Backend::Sqlite).await;
    let query = "a".repeat(1024 * 1024);
    let answer = raw_exchange(
        &app,
        format!("GET /v1/tasks?q={query} HTTP/1.1\r\nHost: t\r\n\r\n").into_bytes(),
    )
    .await;
    assert_raw_problem(&answer, 414);
    json_body(app.get("/v1/health").await, 200).await;
}

/// A client that speaks HTTP/2 without asking (prior knowledge) gets an
/// HTTP/1.1 505 problem that says so, not a silently closed connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_prior_knowledge_client_is_told_http1_only() {
    let app = spawn_app(Backend::Sqlite).await;
    let mut request = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    // An empty SETTINGS frame, as an HTTP/2 client sends next.
    request.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    let answer = raw_exchange(&app, request).await;
    assert_raw_problem(&answer, 505);
    assert!(answer.contains("HTTP/1.1 only"), "{answer}");
    json_body(app.get("/v1/health").await, 200).await;
}
