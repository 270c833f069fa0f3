//! The last contract edges: the HTTP layer's own errors are problems too,
//! bodies are exactly JSON, the bearer scheme is case-insensitive, the spec
//! and Swagger UI refuse other methods, and the one footgun of start-up
//! (an open API beyond loopback) is loud.

use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{Backend, header, json_body, problem_body, spawn_app, spawn_app_with};

/// Sends raw bytes; returns the whole answer (the server closes after it).
async fn raw(address: &str, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(address.trim_start_matches("http://"))
        .await
        .expect("connect");
    // The server may answer before it has read everything (431, 414).
    let _ = stream.write_all(request).await;
    let mut received = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        stream.read_to_end(&mut received),
    )
    .await
    .expect("the server answers and closes");
    String::from_utf8_lossy(&received).into_owned()
}

fn assert_problem(answer: &str, status: u16) {
    assert!(
        answer.starts_with(&format!("HTTP/1.1 {status} ")),
        "{}",
        &answer[..answer.len().min(300)]
    );
    let lower = answer.to_ascii_lowercase();
    assert!(
        lower.contains("content-type: application/problem+json"),
        "{answer}"
    );
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    let problem: serde_json::Value = serde_json::from_str(body).expect("a problem body");
    assert_eq!(problem["status"], status, "{problem}");
    assert!(problem["title"].is_string() && problem["type"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_layers_own_errors_are_problems() {
    let app = spawn_app(Backend::Sqlite).await;
    let long_path = format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(65_536));
    assert_problem(&raw(&app.address, long_path.as_bytes()).await, 414);
    let big_header = format!(
        "GET /v1/health HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "b".repeat(1 << 20)
    );
    assert_problem(&raw(&app.address, big_header.as_bytes()).await, 431);
    let negative = b"POST /v1/tasks HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n";
    assert_problem(&raw(&app.address, negative).await, 400);
    let spaced = b"GET /v1/ta sks HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_problem(&raw(&app.address, spaced).await, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_are_exactly_json() {
    let app = spawn_app(Backend::Sqlite).await;
    let body = r#"{"title": "t"}"#;
    for media in [
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/vnd.api+json",
        "text/plain",
    ] {
        let response = app
            .client
            .post(app.url("/v1/tasks"))
            .header("content-type", media)
            .body(body)
            .send()
            .await
            .expect("sent");
        problem_body(response, 415).await;
    }
    let gzipped = app
        .client
        .post(app.url("/v1/tasks"))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(body)
        .send()
        .await
        .expect("sent");
    problem_body(gzipped, 415).await;
    let duplicated = app
        .client
        .post(app.url("/v1/tasks"))
        .header("content-type", "application/json")
        .body(r#"{"title": "first", "title": "second"}"#)
        .send()
        .await
        .expect("sent");
    let problem = problem_body(duplicated, 400).await;
    assert!(problem.to_string().contains("title"), "{problem}");

    let task = app.create_task(json!({"title": "t"})).await;
    let merge = app
        .client
        .patch(app.url(&format!("/v1/tasks/{}", task["id"])))
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"description": "merged"}"#)
        .send()
        .await
        .expect("sent");
    assert_eq!(json_body(merge, 200).await["description"], "merged");
    let list = json_body(app.get("/v1/tasks?count=true").await, 200).await;
    assert_eq!(list["total"], 1, "nothing refused was created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = spawn_app_with(Backend::Sqlite, &["--api-token", "tok"]).await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let response = app
            .client
            .get(app.url("/v1/tasks"))
            .header("authorization", format!("{scheme} tok"))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 200, "{scheme}");
    }
    for value in ["Basic dG9rOg==", "Bearer tok2", "Bearertok", "tok"] {
        let response = app
            .client
            .get(app.url("/v1/tasks"))
            .header("authorization", value)
            .send()
            .await
            .expect("sent");
        let challenge = header(&response, "www-authenticate");
        assert!(
            challenge.starts_with("Bearer realm=\"taskman\""),
            "{challenge}"
        );
        problem_body(response, 401).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docs_and_the_spec_refuse_other_methods() {
    let app = spawn_app(Backend::Sqlite).await;
    for path in ["/docs", "/openapi.json"] {
        for method in ["POST", "DELETE", "PUT", "TRACE", "FROB"] {
            let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
            let response = app
                .client
                .request(method.clone(), app.url(path))
                .send()
                .await
                .expect("sent");
            let allow = header(&response, "allow");
            assert!(allow.contains("GET"), "{method} {path}: Allow {allow:?}");
            problem_body(response, 405).await;
        }
    }
    let icon = app.get("/favicon.ico").await;
    assert_eq!(icon.status(), 200);
    assert!(header(&icon, "content-type").starts_with("image/"));
    let docs = app
        .client
        .get(app.url("/docs"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("sent");
    assert_eq!(
        header(&docs, "content-encoding"),
        "gzip",
        "Swagger UI is served compressed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_names_the_parameter_as_sent() {
    let app = spawn_app(Backend::Sqlite).await;
    for query in ["ids=0", "ids=1,0", "ids=x"] {
        let problem = problem_body(app.delete(&format!("/v1/tasks?{query}")).await, 400).await;
        assert_eq!(problem["errors"][0]["field"], "ids", "{query}: {problem}");
    }
}

/// A writer the test reads back: what the log said.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned()
    }
}

#[test]
fn an_open_api_beyond_loopback_is_warned_about_loudly() {
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let start = |bind: &str, token: Option<&str>| {
        let directory = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/t.db?mode=rwc", directory.path().display());
        let mut args = vec!["taskman", "--database-url", &url, "--bind-addr", bind];
        if let Some(token) = token {
            args.extend(["--api-token", token]);
        }
        let config = taskman::Config::from_args(args).expect("config");
        runtime.block_on(async {
            let app = taskman::App::build(config).await.expect("builds");
            drop(app);
        });
    };
    tracing::subscriber::with_default(subscriber, || {
        start("127.0.0.1:0", None);
        assert!(!log.text().contains("WITHOUT API_TOKEN"), "{}", log.text());
        start("0.0.0.0:0", Some("tok"));
        assert!(!log.text().contains("WITHOUT API_TOKEN"), "{}", log.text());
        start("0.0.0.0:0", None);
        assert!(
            log.text().contains("WARN") && log.text().contains("WITHOUT API_TOKEN"),
            "{}",
            log.text()
        );
    });
}
