//! Named tokens with scopes from `API_TOKENS_FILE`, rotated while the server
//! runs: the scope decides (401 without an accepted token, 403 without the
//! scope), a rotation that lists old and new together refuses nothing, and
//! a broken file never locks anyone out or opens the API.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use crate::common::{Backend, eventually, header, problem_body, spawn_app_with};

const TASKMAN: &str = env!("CARGO_BIN_EXE_taskman");

const READER: &str = "reader-token-0123456789";
const WRITER: &str = "writer-token-0123456789";
const PROMETHEUS: &str = "prometheus-token-0123456789";

fn tokens_file(lines: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut file, lines.as_bytes()).unwrap();
    file
}

/// Replaces the file's content in one step, as a deployment tool would.
fn rewrite(file: &tempfile::NamedTempFile, lines: &str) {
    let next = file.path().with_extension("next");
    std::fs::write(&next, lines).unwrap();
    std::fs::rename(&next, file.path()).unwrap();
}

async fn status(
    client: &reqwest::Client,
    method: Method,
    url: &str,
    token: Option<&str>,
) -> reqwest::Response {
    let mut request = client.request(method.clone(), url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if method == Method::POST {
        request = request.json(&json!({"title": "t"}));
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_token_is_allowed_only_what_its_scopes_say() {
    let file = tokens_file(&format!(
        "# name scopes token\nreader read {READER}\nwriter read,write {WRITER}\nprometheus metrics {PROMETHEUS}\n"
    ));
    let path = file.path().to_str().unwrap().to_owned();
    let app = spawn_app_with(
        Backend::Sqlite,
        &[
            "--api-tokens-file",
            &path,
            "--api-token",
            "the-old-single-token",
        ],
    )
    .await;
    let client = &app.client;
    let tasks = app.url("/v1/tasks");
    let metrics = app.url("/metrics");
    for (method, url, token, expected) in [
        (Method::GET, &tasks, Some(READER), 200),
        (Method::GET, &tasks, Some(WRITER), 200),
        (Method::POST, &tasks, Some(WRITER), 201),
        (Method::POST, &tasks, Some("the-old-single-token"), 201),
        (Method::GET, &metrics, Some(PROMETHEUS), 200),
        (Method::GET, &metrics, Some("the-old-single-token"), 200),
        (Method::GET, &tasks, None, 401),
        (Method::GET, &tasks, Some("not-a-token-0123456789"), 401),
        (Method::GET, &app.url("/v1/health"), None, 200),
    ] {
        let response = status(client, method.clone(), url, token).await;
        assert_eq!(response.status(), expected, "{method} {url} with {token:?}");
    }
    for (method, url, token, scope) in [
        (Method::POST, &tasks, READER, "write"),
        (Method::GET, &tasks, PROMETHEUS, "read"),
        (Method::GET, &metrics, WRITER, "metrics"),
    ] {
        let response = status(client, method.clone(), url, Some(token)).await;
        assert_eq!(
            header(&response, "www-authenticate"),
            format!(r#"Bearer realm="taskman", error="insufficient_scope", scope="{scope}""#)
        );
        let problem = problem_body(response, 403).await;
        assert_eq!(problem["type"], "urn:taskman:problem:forbidden");
        assert!(
            problem["detail"].as_str().unwrap().contains(scope),
            "{problem}"
        );
        assert!(
            !problem.to_string().contains(token),
            "no token in {problem}"
        );
    }
    let count = client
        .get(app.url("/v1/tasks?count=true"))
        .bearer_auth(READER)
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(count["total"], 2, "only the two allowed creates wrote");
}

/// A client switches from the old token to the new one while the operator
/// rotates: old only → old and new → new only. No request is refused
/// until the old token is dropped, and then the old token is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_that_overlaps_old_and_new_refuses_no_request() {
    const OLD: &str = "old-token-0123456789";
    const NEW: &str = "new-token-0123456789";
    let file = tokens_file(&format!("app all {OLD}\n"));
    let path = file.path().to_str().unwrap().to_owned();
    let app = spawn_app_with(Backend::Sqlite, &["--api-tokens-file", &path]).await;

    let use_new = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let refused = Arc::new(AtomicUsize::new(0));
    let sent = Arc::new(AtomicUsize::new(0));
    let client_task = {
        let (client, url) = (app.client.clone(), app.url("/v1/tasks"));
        let (use_new, stop, refused, sent) =
            (use_new.clone(), stop.clone(), refused.clone(), sent.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Acquire) {
                let token = if use_new.load(Ordering::Acquire) {
                    NEW
                } else {
                    OLD
                };
                // Only the token's refusal counts; a loaded machine's
                // dropped connection or 503 is not what this is about.
                let Ok(response) = client.get(&url).bearer_auth(token).send().await else {
                    continue;
                };
                sent.fetch_add(1, Ordering::AcqRel);
                if [401, 403].contains(&response.status().as_u16()) {
                    refused.fetch_add(1, Ordering::AcqRel);
                }
            }
        })
    };

    rewrite(&file, &format!("app-old all {OLD}\napp-new all {NEW}\n"));
    let client = app.client.clone();
    eventually(
        Duration::from_secs(30),
        "the new token accepted",
        || async {
            let response = client
                .get(app.url("/v1/tasks"))
                .bearer_auth(NEW)
                .send()
                .await
                .unwrap();
            (response.status() == 200).then_some(())
        },
    )
    .await;
    use_new.store(true, Ordering::Release);
    rewrite(&file, &format!("app all {NEW}\n"));
    eventually(Duration::from_secs(30), "the old token refused", || async {
        let response = client
            .get(app.url("/v1/tasks"))
            .bearer_auth(OLD)
            .send()
            .await
            .unwrap();
        (response.status() == 401).then_some(())
    })
    .await;
    stop.store(true, Ordering::Release);
    client_task.await.unwrap();
    assert!(sent.load(Ordering::Acquire) > 0);
    assert_eq!(
        refused.load(Ordering::Acquire),
        0,
        "a request was refused during the rotation"
    );
}

struct Server {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(tokens_file: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database = format!("sqlite://{}/t.db?mode=rwc", dir.keep().display());
        let mut child = Command::new(TASKMAN)
            .args([
                "serve",
                "--bind-addr",
                "127.0.0.1:0",
                "--database-url",
                &database,
            ])
            .env_clear()
            .env("API_TOKENS_FILE", tokens_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The first log line (from now on) that contains `text`.
    fn wait_for(&mut self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(text) => return line,
                Ok(line) => self.seen.push(line),
                Err(_) => panic!("no {text:?} within 60 s:\n{}", self.seen.join("\n")),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_and_a_broken_file_keeps_the_tokens_in_force() {
    const TOKEN: &str = "kept-token-0123456789";
    let file = tokens_file(&format!("ops all {TOKEN}\n"));
    let mut server = Server::start(file.path().to_str().unwrap());
    let listening = server.wait_for("taskman listening on port");
    let port = listening
        .split("port ")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .unwrap()
        .trim()
        .to_owned();
    let url = format!("http://127.0.0.1:{port}/v1/tasks");
    let client = reqwest::Client::new();
    let get = |token: &'static str| {
        let (client, url) = (client.clone(), url.clone());
        async move {
            client
                .get(&url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(get(TOKEN).await, 200);
    // The access log names the token, never shows it.
    let logged = server.wait_for("uri=/v1/tasks");
    assert!(
        logged.contains("token=ops") || logged.contains("token=\"ops\""),
        "{logged}"
    );
    assert!(logged.contains("status=200"), "{logged}");

    // SIGHUP reads the file again (even unchanged), and the server lives on.
    unsafe { libc::kill(server.child.id() as i32, libc::SIGHUP) };
    server.wait_for("API tokens reloaded");
    assert_eq!(get(TOKEN).await, 200);

    // A typo in a rotation: logged, and the tokens in force stay.
    rewrite(&file, "ops all\n");
    let error = server.wait_for("API_TOKENS_FILE is not valid");
    assert!(error.contains("line 1"), "{error}");
    assert_eq!(get(TOKEN).await, 200);
    // An empty file is valid: it leaves no token, and the API stays closed.
    rewrite(&file, "# nobody\n");
    server.wait_for("API tokens reloaded");
    assert_eq!(get(TOKEN).await, 401);
    assert!(
        server.seen.iter().all(|line| !line.contains(TOKEN)),
        "a token was logged"
    );
}

#[test]
fn a_broken_tokens_file_at_start_up_is_refused_by_line() {
    let file = tokens_file("ok read 0123456789abcdef\nbad\n");
    let output = Command::new(TASKMAN)
        .args(["serve", "--bind-addr", "127.0.0.1:0"])
        .env_clear()
        .env("API_TOKENS_FILE", file.path())
        .env("DATABASE_URL", "sqlite://unused.db")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("line 2"), "{said}");
    assert!(!said.contains("0123456789abcdef"), "{said}");
}

/// The file changes after the server read it but before its watcher first
/// looks (here: before this single-threaded runtime runs the watcher at
/// all). The watcher compares with what the server read, so the change is
/// taken, not mistaken for the content in force.
#[tokio::test(flavor = "current_thread")]
async fn a_change_made_while_the_server_starts_is_not_missed() {
    const FIRST: &str = "first-token-0123456789";
    const SECOND: &str = "second-token-0123456789";
    let file = tokens_file(&format!("app all {FIRST}\n"));
    let database = crate::common::TestDatabase::create(Backend::Sqlite).await;
    let args = vec![
        "--api-tokens-file".to_owned(),
        file.path().to_str().unwrap().to_owned(),
    ];
    let (address, stop, server) = crate::common::start(database.url(), &args).await;
    rewrite(&file, &format!("app all {SECOND}\n"));
    let client = reqwest::Client::new();
    eventually(
        Duration::from_secs(30),
        "the second token accepted",
        || async {
            let response = client
                .get(format!("{address}/v1/tasks"))
                .bearer_auth(SECOND)
                .send()
                .await
                .unwrap();
            (response.status() == 200).then_some(())
        },
    )
    .await;
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
