//! taskman behind Debian's nginx under a sub-path, as the README's "Behind a
//! reverse proxy" describes it: the API, its links, Swagger UI's page and
//! spec, an event stream (unbuffered) and the client's forwarded address,
//! all through the proxy.
//!
//! `make test` installs nginx when it can (as root); elsewhere, without an
//! nginx binary, the test says so and passes.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{Backend, SseClient, TestDatabase, capture_logs, eventually, header, start};

struct Nginx(Child);

impl Drop for Nginx {
    /// SIGTERM, not SIGKILL: nginx's master then stops its workers; killed
    /// outright, it would leave them running.
    fn drop(&mut self) {
        let pid = i32::try_from(self.0.id()).expect("a pid");
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let _ = self.0.wait();
    }
}

fn nginx_binary() -> Option<String> {
    std::env::var("TASKMAN_NGINX")
        .ok()
        .into_iter()
        .chain([
            "/usr/sbin/nginx".to_owned(),
            "/usr/local/sbin/nginx".to_owned(),
        ])
        .find(|path| std::path::Path::new(path).exists())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_swagger_ui_and_streams_work_through_nginx_under_a_sub_path() {
    let Some(nginx) = nginx_binary() else {
        eprintln!("SKIPPED: no nginx binary (make test installs Debian's nginx-light as root)");
        return;
    };
    let logs = capture_logs(tracing::Level::INFO);
    let database = TestDatabase::create(Backend::Sqlite).await;
    let args: Vec<String> = ["--base-path", "/tasks", "--trusted-proxies", "127.0.0.1"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let (address, stop, server) = start(database.url(), &args).await;
    let upstream = address.trim_start_matches("http://").to_owned();

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let d = dir.path().display();
    let conf = format!(
        "daemon off; worker_processes 1; pid {d}/nginx.pid; error_log {d}/error.log; {user}
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  server {{
    listen 127.0.0.1:{port};
    location /tasks/ {{
      proxy_pass http://{upstream}/;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_read_timeout 1h;
    }}
  }}
}}
",
        user = if unsafe { libc::geteuid() } == 0 {
            "user root;"
        } else {
            ""
        },
    );
    let conf_path = dir.path().join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let nginx_process = Nginx(
        Command::new(&nginx)
            .arg("-c")
            .arg(&conf_path)
            .arg("-p")
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts"),
    );
    let proxy = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    eventually(
        Duration::from_secs(20),
        "nginx to serve the health check",
        || async {
            let response = client
                .get(format!("{proxy}/tasks/v1/health"))
                .send()
                .await
                .ok()?;
            (response.status() == 200).then_some(())
        },
    )
    .await;

    // The stream asks proxies not to buffer it (nginx takes the header
    // and keeps it to itself).
    let direct = client
        .get(format!("{address}/v1/notifications/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&direct, "x-accel-buffering"), "no");
    drop(direct);

    // A stream through the proxy (with nginx's default buffering), opened
    // before the warning exists.
    let mut stream = SseClient::connect(&format!("{proxy}/tasks/v1/notifications/stream")).await;

    // The API and its links, through the proxy; the client says who it is.
    let soon = (chrono::Utc::now() + chrono::Duration::minutes(1)).to_rfc3339();
    let created = client
        .post(format!("{proxy}/tasks/v1/tasks"))
        .header("x-forwarded-for", "198.51.100.77")
        .json(&json!({"title": "through nginx", "expiry_dt": soon}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let location = header(&created, "location");
    assert!(location.starts_with("/tasks/v1/tasks/"), "{location}");
    let task: Value = created.json().await.unwrap();
    let read = client
        .get(format!("{proxy}{location}"))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    client
        .post(format!("{proxy}/tasks/v1/tasks"))
        .json(&json!({"title": "second"}))
        .send()
        .await
        .unwrap();
    let page = client
        .get(format!("{proxy}/tasks/v1/tasks?limit=1"))
        .send()
        .await
        .unwrap();
    let link = header(&page, "link");
    let next = link
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap()
        .to_owned();
    assert!(next.starts_with("/tasks/v1/tasks?"), "{link}");
    let second: Value = client
        .get(format!("{proxy}{next}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(second["tasks"][0]["title"], "second");

    // The warning arrives through the unbuffered proxy.
    let (_, warning) = stream
        .next_event(Duration::from_secs(20))
        .await
        .expect("the warning through nginx");
    assert_eq!(warning["task_id"], task["id"]);

    // Swagger UI and the spec it embeds, through the proxy.
    let root = client.get(format!("{proxy}/tasks/")).send().await.unwrap();
    assert_eq!(header(&root, "location"), "/tasks/docs");
    let docs = client
        .get(format!("{proxy}/tasks/docs"))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), 200);
    let spec: Value = client
        .get(format!("{proxy}/tasks/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(spec["servers"][0]["url"], "/tasks");

    // Stopped, nginx leaves no worker behind (killed outright, its master
    // would orphan them, one per run of this test).
    let master = nginx_process.0.id();
    let workers: Vec<String> =
        std::fs::read_to_string(format!("/proc/{master}/task/{master}/children"))
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
    assert!(!workers.is_empty(), "nginx runs a worker");
    drop(nginx_process);
    eventually(
        Duration::from_secs(10),
        "nginx's workers to exit",
        || async {
            workers
                .iter()
                .all(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists())
                .then_some(())
        },
    )
    .await;

    // The access log names the client, not the proxy.
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    let log = logs.text();
    let line = log
        .lines()
        .find(|line| line.contains("method=POST") && line.contains("status=201"))
        .unwrap_or_else(|| panic!("no access log line for the create:\n{log}"));
    assert!(line.contains("remote_addr=198.51.100.77"), "{line}");
}
