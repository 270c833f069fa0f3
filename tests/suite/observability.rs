//! What the service shows about itself: metrics, logs and delivery errors,
//! without ever showing a secret.

use std::process::Stdio;
use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};

use crate::common::{Backend, eventually, json_body, problem_body, spawn_app_with};

const WAIT: Duration = Duration::from_secs(30);

/// A free loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// A webhook URL with credentials in its user info, path and query: a
/// failed delivery names the host and what went wrong, and none of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_webhook_never_shows_its_credentials() {
    let url = format!(
        "http://hookuser:hookpass@127.0.0.1:{}/private-hook-path?token=SECRET-QUERY",
        closed_port()
    );
    let app = spawn_app_with(
        Backend::Sqlite,
        &[
            "--warn-before",
            "2s",
            "--tick-interval",
            "100ms",
            "--notify-webhook-url",
            &url,
            "--notify-webhook-secret",
            "SIGNING-SECRET",
            "--webhook-retry-base",
            "100ms",
        ],
    )
    .await;
    let expired = (Utc::now() - chrono::Duration::seconds(1)).to_rfc3339();
    let task = app
        .create_task(json!({"title": "hooked", "expiry_dt": expired}))
        .await;
    let failed = eventually(WAIT, "a failed delivery", || async {
        let page = json_body(
            app.get(&format!("/v1/notifications?task_id={}", task["id"]))
                .await,
            200,
        )
        .await;
        let notification = page["notifications"].get(0)?.clone();
        notification["last_delivery_error"]
            .is_string()
            .then_some(notification)
    })
    .await;
    let error = failed["last_delivery_error"].as_str().expect("error text");
    assert!(error.contains("127.0.0.1"), "names the host: {error}");
    for secret in [
        "hookuser",
        "hookpass",
        "private-hook-path",
        "SECRET-QUERY",
        "SIGNING-SECRET",
    ] {
        assert!(!error.contains(secret), "{secret} shown in {error}");
        let served = app
            .get("/v1/notifications")
            .await
            .text()
            .await
            .expect("body");
        assert!(!served.contains(secret), "{secret} served");
        let metrics = app.get("/metrics").await.text().await.expect("metrics");
        assert!(!metrics.contains(secret), "{secret} in the metrics");
        assert!(
            metrics.contains("taskman_webhook_attempts_total{"),
            "{metrics}"
        );
    }
}

#[test]
fn a_printed_config_shows_no_secret() {
    let config = taskman::Config::from_args([
        "taskman",
        "--api-token",
        "API-TOKEN-VALUE",
        "--notify-webhook-url",
        "http://u:URL-PASSWORD@example.test/hook?key=URL-QUERY",
        "--notify-webhook-secret",
        "WEBHOOK-SECRET-VALUE",
    ])
    .expect("config");
    let printed = format!("{config:?} {config:#?}");
    for secret in [
        "API-TOKEN-VALUE",
        "URL-PASSWORD",
        "URL-QUERY",
        "WEBHOOK-SECRET-VALUE",
    ] {
        assert!(!printed.contains(secret), "{secret} in {printed}");
    }
}

/// One sample line of a metric family with these labels, as a number.
fn sample(metrics: &str, name: &str, labels: &[&str]) -> Option<f64> {
    metrics
        .lines()
        .filter(|line| !line.starts_with('#'))
        .find(|line| {
            line.split(['{', ' ']).next() == Some(name)
                && labels.iter().all(|label| line.contains(label))
        })
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_happens_behind_the_token() {
    let app = spawn_app_with(
        Backend::Sqlite,
        &[
            "--api-token",
            "tok",
            "--warn-before",
            "2s",
            "--tick-interval",
            "100ms",
        ],
    )
    .await;
    let authed = |request: reqwest::RequestBuilder| request.bearer_auth("tok");
    problem_body(app.get("/metrics").await, 401).await;
    let expired = (Utc::now() - chrono::Duration::seconds(1)).to_rfc3339();
    let pending = (Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    for body in [
        json!({"title": "gone by", "expiry_dt": expired}),
        json!({"title": "later", "expiry_dt": pending}),
    ] {
        let response = authed(app.client.post(app.url("/v1/tasks")))
            .json(&body)
            .send()
            .await
            .expect("sent");
        json_body(response, 201).await;
    }
    let missing = authed(app.client.get(app.url("/v1/tasks/999")))
        .send()
        .await
        .expect("sent");
    problem_body(missing, 404).await;
    let _stream = authed(app.client.get(app.url("/v1/notifications/stream")))
        .send()
        .await
        .expect("stream");

    let metrics = eventually(WAIT, "the warning counted", || async {
        let response = authed(app.client.get(app.url("/metrics")))
            .send()
            .await
            .ok()?;
        assert!(
            crate::common::header(&response, "content-type").starts_with("text/plain")
                || crate::common::header(&response, "content-type")
                    .starts_with("application/openmetrics-text")
        );
        let text = response.text().await.ok()?;
        (sample(&text, "taskman_warnings_total", &["kind=\"expired\""])? >= 1.0).then_some(text)
    })
    .await;
    let at_least_one = |name: &str, labels: &[&str]| {
        let value = sample(&metrics, name, labels)
            .unwrap_or_else(|| panic!("no {name} {labels:?} in\n{metrics}"));
        assert!(value >= 1.0, "{name} {labels:?} = {value}");
    };
    at_least_one("taskman_http_requests_total", &["create_task", "201"]);
    at_least_one("taskman_http_requests_total", &["get_task", "404"]);
    at_least_one(
        "taskman_http_request_duration_seconds_count",
        &["create_task"],
    );
    at_least_one("taskman_event_streams_open", &[]);
    at_least_one("taskman_http_open_connections", &[]);
    at_least_one("taskman_expiry_pending", &[]);
    at_least_one("taskman_db_pool_connections", &[]);
    // (Shed requests and webhook attempts appear once there are any; the
    // exhaustion and webhook tests make some.)
    for family in [
        "taskman_db_pool_idle_connections",
        "taskman_db_retries",
        "taskman_db_timeouts",
    ] {
        assert!(
            metrics.contains(&format!("# TYPE {family}")),
            "{family}:\n{metrics}"
        );
    }
}

/// `LOG_FORMAT=json`: every line the server writes is one JSON object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_per_line() {
    let directory = tempfile::tempdir().expect("temp dir");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_taskman"))
        .env_clear()
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/t.db?mode=rwc", directory.path().display()),
        )
        .env("BIND_ADDR", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server starts");
    let stderr = child.stderr.take().expect("stderr");
    // Blocking reads on a thread of their own; the deadline is the test's.
    let lines = tokio::task::spawn_blocking(move || {
        BufReader::new(stderr)
            .lines()
            .take(2)
            .map(|line| line.expect("read"))
            .collect::<Vec<_>>()
    });
    let lines = tokio::time::timeout(WAIT, lines).await;
    let _ = child.kill();
    let _ = child.wait();
    let lines = lines.expect("two log lines in time").expect("reader");
    assert_eq!(lines.len(), 2, "the server logs at start-up: {lines:?}");
    for line in lines {
        let object: Value =
            serde_json::from_str(&line).unwrap_or_else(|err| panic!("not JSON ({err}): {line}"));
        assert!(
            object["level"].is_string() && object["fields"].is_object(),
            "{object}"
        );
    }
}
