//! Test helpers: spawn the real app on a free port against a fresh database.

#![allow(dead_code)]

pub mod contract;
mod database;
mod disk;
pub mod galera;
mod proxy;
mod sse;
mod webhook;

use std::time::Duration;

use reqwest::{Client, Response};
use serde_json::Value;
use taskman::{App, Config};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use database::{Backend, TestDatabase};
pub use disk::DiskLimit;
pub use proxy::{Delivery, TcpProxy, proxied_mysql};
pub use sse::SseClient;
pub use webhook::WebhookReceiver;

/// A running app and a client for it. Dropping it stops the server and
/// drops its database.
pub struct TestApp {
    pub address: String,
    pub client: Client,
    pub database: TestDatabase,
    extra_args: Vec<String>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, &[]).await
}

/// Spawns the app with extra command-line flags, e.g. `["--warn-before", "2s"]`.
pub async fn spawn_app_with(backend: Backend, extra_args: &[&str]) -> TestApp {
    let database = TestDatabase::create(backend).await;
    let extra_args: Vec<String> = extra_args.iter().map(|s| s.to_string()).collect();
    let (address, stop, server) = start(database.url(), &extra_args).await;
    TestApp {
        address,
        client: Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        database,
        extra_args,
        stop: Some(stop),
        server: Some(server),
    }
}

/// Starts one server on a free port; the returned sender stops it.
pub async fn start(
    database_url: &str,
    extra_args: &[String],
) -> (String, oneshot::Sender<()>, JoinHandle<anyhow::Result<()>>) {
    let mut args = vec![
        "taskman".to_owned(),
        "--database-url".to_owned(),
        database_url.to_owned(),
        "--bind-addr".to_owned(),
        "127.0.0.1:0".to_owned(),
    ];
    // Generous for a loaded machine; tests of the limit itself set their own.
    if !extra_args.iter().any(|arg| arg == "--db-timeout") {
        args.extend(["--db-timeout".to_owned(), "10s".to_owned()]);
    }
    args.extend(extra_args.iter().cloned());
    let config = Config::from_args(args).expect("valid test config");
    let app = App::build(config).await.expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    (address, stop, server)
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Stops the server gracefully and waits until it has stopped.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("server task")
                .expect("server stops cleanly");
        }
    }

    /// Stops the server and starts a new one on the same database.
    pub async fn restart(&mut self) {
        self.stop().await;
        let (address, stop, server) = start(self.database.url(), &self.extra_args).await;
        self.address = address;
        self.stop = Some(stop);
        self.server = Some(server);
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn put_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .put(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn patch_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .patch(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.client
            .delete(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// Creates a task and returns its JSON, asserting 201.
    pub async fn create_task(&self, body: Value) -> Value {
        let response = self.post_json("/v1/tasks", &body).await;
        assert_eq!(response.status(), 201, "create {body}");
        response.json().await.expect("task JSON")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Reads a JSON body, asserting the status and content type first.
/// Every task, oldest first, following `next_cursor` through pages.
pub async fn list_all_tasks(client: &reqwest::Client, address: &str) -> Vec<Value> {
    let mut tasks = Vec::new();
    let mut url = format!("{address}/v1/tasks?limit=1000");
    loop {
        let response = client.get(&url).send().await.expect("request sent");
        let page = json_body(response, 200).await;
        tasks.extend(page["tasks"].as_array().expect("tasks").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => url = format!("{address}/v1/tasks?limit=1000&cursor={cursor}"),
            None => return tasks,
        }
    }
}

/// Waits until the server at `address` has `count` warnings in its history.
pub async fn wait_for_warnings(client: &reqwest::Client, address: &str, count: usize) {
    eventually(Duration::from_secs(20), "the warnings", || async {
        let page: Value = client
            .get(format!("{address}/v1/notifications"))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (page["notifications"].as_array()?.len() == count).then_some(())
    })
    .await;
}

pub async fn json_body(response: Response, status: u16) -> Value {
    let got = response.status().as_u16();
    let content_type = header(&response, "content-type");
    let body = response.text().await.expect("body");
    assert_eq!(got, status, "unexpected status; body: {body}");
    assert!(
        content_type.starts_with("application/json"),
        "content type {content_type}"
    );
    serde_json::from_str(&body).expect("JSON body")
}

/// The ids of a page of tasks, in its order.
pub fn task_ids(page: &Value) -> Vec<i64> {
    page["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|task| task["id"].as_i64().expect("an id"))
        .collect()
}

/// A metric's value as the server at `address` reports it on `/metrics`;
/// `None` while it cannot be read.
pub async fn metric(client: &reqwest::Client, address: &str, name: &str) -> Option<f64> {
    let text = client
        .get(format!("{address}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// Reads a problem+json body, asserting the status, content type and shape.
pub async fn problem_body(response: Response, status: u16) -> Value {
    let got = response.status().as_u16();
    let content_type = header(&response, "content-type");
    let body = response.text().await.expect("body");
    assert_eq!(got, status, "unexpected status; body: {body}");
    assert_eq!(content_type, "application/problem+json", "body: {body}");
    let problem: Value = serde_json::from_str(&body).expect("JSON problem");
    assert_eq!(problem["status"], status, "{problem}");
    assert!(problem["type"].is_string(), "{problem}");
    assert!(problem["title"].is_string(), "{problem}");
    assert!(
        problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{problem}"
    );
    problem
}

pub fn header(response: &Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().expect("ASCII header").to_owned())
        .unwrap_or_default()
}

/// Polls `check` until it returns `Some`, or panics after `deadline`.
pub async fn eventually<T, F, Fut>(deadline: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = tokio::time::Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            start.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs each named `async fn(Backend)` as a test on SQLite and on MySQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await
                }
            )*
        }
        mod mysql {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::MySql).await
                }
            )*
        }
    };
}

/// Log lines, as a test's own subscriber writes them (see [`capture_logs`]).
#[derive(Clone, Default)]
pub struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// Sends this test process's log lines at `level` and above to the returned
/// buffer (nextest runs each test in a process of its own).
pub fn capture_logs(level: tracing::Level) -> Captured {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    captured
}
