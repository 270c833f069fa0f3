//! What an operator sees: webhook errors without the URL's secrets,
//! secrets absent from `Debug`, `/metrics`, and JSON log lines.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::common::{Backend, eventually, json_body, problem_body, spawn_app_with};

const WAIT: Duration = Duration::from_secs(30);
const FAST: &[&str] = &["--warn-before", "2s", "--tick-interval", "100ms"];

fn a_second_ago() -> String {
    (Utc::now() - chrono::Duration::seconds(1)).to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A port nothing listens on: bound, then let go.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

fn assert_no_secret(text: &str) {
    for secret in ["SECRET", "user", "pass", "/hook", "whsecret"] {
        assert!(!text.contains(secret), "{secret:?} leaked: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_error_names_the_host_and_nothing_secret() {
    let port = closed_port();
    let url = format!("http://user:pass@127.0.0.1:{port}/hook?token=SECRET");
    let mut args = FAST.to_vec();
    args.extend([
        "--notify-webhook-url",
        &url,
        "--notify-webhook-secret",
        "whsecret",
        "--webhook-retry-base",
        "200ms",
    ]);
    let app = spawn_app_with(Backend::Sqlite, &args).await;
    app.create_task(json!({"title": "hooked", "expiry_dt": a_second_ago()}))
        .await;
    let error = eventually(WAIT, "a failed webhook attempt recorded", || async {
        let page = json_body(app.get("/v1/notifications").await, 200).await;
        page["notifications"][0]["last_delivery_error"]
            .as_str()
            .map(str::to_owned)
    })
    .await;
    assert!(error.contains(&format!("127.0.0.1:{port}")), "{error}");
    assert_no_secret(&error);
}

#[test]
fn a_config_debug_print_shows_no_secret() {
    let config = taskman::Config::from_args([
        "taskman",
        "--database-url",
        "mysql://dbuser:dbpassword@127.0.0.1:3306/taskman",
        "--api-token",
        "tok-very-secret",
        "--notify-webhook-url",
        "http://user:pass@127.0.0.1:9/hook?token=SECRET",
        "--notify-webhook-secret",
        "whsecret",
    ])
    .expect("valid config");
    let printed = format!("{config:?} {config:#?}");
    for secret in [
        "tok-very-secret",
        "whsecret",
        "dbpassword",
        "SECRET",
        ":pass@",
    ] {
        assert!(!printed.contains(secret), "{secret:?} leaked: {printed}");
    }
}

/// The value of the sample `name` (with its labels, as printed), if any.
fn sample(metrics: &str, name: &str) -> Option<f64> {
    metrics
        .lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_cover_requests_streams_expiry_webhooks_and_the_pool() {
    let port = closed_port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let mut args = FAST.to_vec();
    args.extend([
        "--notify-webhook-url",
        &url,
        "--webhook-retry-base",
        "200ms",
        "--api-token",
        "tok",
    ]);
    let app = spawn_app_with(Backend::Sqlite, &args).await;
    let authed = |request: reqwest::RequestBuilder| request.bearer_auth("tok");

    problem_body(app.get("/metrics").await, 401).await;
    let created = authed(app.client.post(app.url("/v1/tasks")))
        .json(&json!({"title": "far", "expiry_dt": "2999-01-01T00:00:00Z"}))
        .send()
        .await
        .expect("request sent");
    assert_eq!(created.status(), 201);
    let expired = authed(app.client.post(app.url("/v1/tasks")))
        .json(&json!({"title": "gone", "expiry_dt": a_second_ago()}))
        .send()
        .await
        .expect("request sent");
    assert_eq!(expired.status(), 201);
    let missing = authed(app.client.get(app.url("/v1/tasks/999999")))
        .send()
        .await
        .expect("request sent");
    assert_eq!(missing.status(), 404);
    let stream = authed(app.client.get(app.url("/v1/notifications/stream")))
        .send()
        .await
        .expect("stream opened");
    assert_eq!(stream.status(), 200);

    let metrics = eventually(WAIT, "a warning and a failed webhook attempt", || async {
        let response = authed(app.client.get(app.url("/metrics")))
            .send()
            .await
            .ok()?;
        assert_eq!(response.status(), 200);
        let text = response.text().await.ok()?;
        let warned = sample(
            &text,
            r#"taskman_warnings_total{kind="expired",late="false"}"#,
        )
        .or_else(|| {
            sample(
                &text,
                r#"taskman_warnings_total{kind="expired",late="true"}"#,
            )
        });
        let retried = sample(&text, r#"taskman_webhook_attempts_total{outcome="retry"}"#);
        (warned >= Some(1.0) && retried >= Some(1.0)).then_some(text)
    })
    .await;
    let expect = |name: &str, check: &dyn Fn(f64) -> bool| {
        let value = sample(&metrics, name).unwrap_or_else(|| panic!("no {name} in {metrics}"));
        assert!(check(value), "{name} = {value}: {metrics}");
    };
    expect(
        r#"taskman_http_requests_total{operation="create_task",status="201"}"#,
        &|v| v == 2.0,
    );
    expect(
        r#"taskman_http_requests_total{operation="get_task",status="404"}"#,
        &|v| v == 1.0,
    );
    expect(
        r#"taskman_http_request_duration_seconds_count{operation="create_task"}"#,
        &|v| v == 2.0,
    );
    expect("taskman_event_streams_open", &|v| v == 1.0);
    expect("taskman_http_open_connections", &|v| v >= 1.0);
    // The far task waits in the cache; the expired one was warned.
    expect("taskman_expiry_pending", &|v| v == 1.0);
    expect("taskman_db_pool_connections", &|v| v >= 1.0);
    expect("taskman_db_pool_idle_connections", &|v| v >= 0.0);
    expect("taskman_db_retries_total", &|v| v >= 0.0);
    assert!(
        metrics.contains("taskman_http_request_duration_seconds_bucket{"),
        "{metrics}"
    );
    drop(stream);
}

/// The built binary, run as an operator would: `LOG_FORMAT=json` gives one
/// JSON object a line; listening beyond loopback without a token warns
/// loudly; a failing webhook's log line keeps the URL's secrets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_warn_loudly_and_keep_secrets() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
    let hook = format!(
        "http://user:pass@127.0.0.1:{}/hook?token=SECRET",
        closed_port()
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_taskman"))
        .env_clear()
        .env("DATABASE_URL", &database)
        .env("BIND_ADDR", "0.0.0.0:0")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .env("WARN_BEFORE", "2s")
        .env("TICK_INTERVAL", "100ms")
        .env("WEBHOOK_RETRY_BASE", "200ms")
        .env("NOTIFY_WEBHOOK_URL", &hook)
        .env("NOTIFY_WEBHOOK_SECRET", "whsecret")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("taskman starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut child = KillOnDrop(child);
    let (send, mut lines) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen: Vec<Value> = Vec::new();
    let mut next_line = async || -> Value {
        let line = tokio::time::timeout(WAIT, lines.recv())
            .await
            .expect("a log line in time")
            .expect("taskman still running");
        serde_json::from_str(&line).unwrap_or_else(|_| panic!("not a JSON line: {line}"))
    };

    let port = loop {
        let line = next_line().await;
        seen.push(line.clone());
        let message = line["fields"]["message"].as_str().unwrap_or_default();
        if let Some(rest) = message.strip_prefix("taskman listening on port ") {
            break rest
                .split(';')
                .next()
                .and_then(|port| port.parse::<u16>().ok())
                .expect("a port");
        }
    };
    let warning = seen
        .iter()
        .find(|line| {
            line["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("WITHOUT API_TOKEN"))
        })
        .unwrap_or_else(|| panic!("no loud warning in {seen:?}"));
    assert_eq!(warning["level"], "WARN", "{warning}");
    assert!(warning["timestamp"].is_string(), "{warning}");

    let created = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/v1/tasks"))
        .json(&json!({"title": "logged", "expiry_dt": a_second_ago()}))
        .send()
        .await
        .expect("request sent");
    assert_eq!(created.status(), 201);
    let failed = loop {
        let line = next_line().await;
        seen.push(line.clone());
        if line["fields"]["message"] == "webhook delivery failed" {
            break line;
        }
    };
    assert!(
        failed.to_string().contains("127.0.0.1"),
        "the host is named: {failed}"
    );
    let everything: String = seen.iter().map(Value::to_string).collect();
    assert_no_secret(&everything);
    child.0.kill().expect("taskman stops");
}

/// The child must not outlive a failed test.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A start with nothing wrong logs no warning: the spec's examples of 503
/// answers are built without reporting a database failure that never
/// happened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_start_logs_no_warning() {
    let logs = crate::common::capture_logs(tracing::Level::WARN);
    let database = crate::common::TestDatabase::create(crate::common::Backend::Sqlite).await;
    let (address, stop, server) = crate::common::start(database.url(), &[]).await;
    let client = reqwest::Client::new();
    for path in ["/v1/health", "/openapi.json", "/docs"] {
        let response = client.get(format!("{address}{path}")).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    let log = logs.text();
    assert!(log.is_empty(), "warnings on a quiet start:\n{log}");
}
