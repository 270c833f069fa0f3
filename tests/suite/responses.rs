//! Every operation's real answers, validated strictly against the served
//! spec: the status is one the operation declares, the content type is the
//! declared one, and the body matches the declared schema with no property
//! the schema leaves out and no `null` it does not allow. What a strict
//! generated client relies on.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};

use crate::common::contract::SpecValidator;
use crate::common::{Backend, SseClient, TestApp, eventually, spawn_app_with};

crate::on_both_backends!(every_answer_of_every_operation_matches_the_spec);

const WAIT: Duration = Duration::from_secs(20);

struct Checked<'a> {
    app: &'a TestApp,
    spec: &'a SpecValidator,
    token: Option<&'a str>,
}

impl Checked<'_> {
    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self.app.client.request(method, self.app.url(path));
        match self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends the request, checks the answer against `template`'s operation,
    /// asserts the status, and returns the body as JSON (`Null` if none).
    async fn send(&self, template: &str, request: RequestBuilder, status: u16) -> Value {
        let request = request.build().expect("a valid request");
        let method = request.method().as_str().to_owned();
        let url = request.url().to_string();
        let response = self
            .app
            .client
            .execute(request)
            .await
            .expect("request sent");
        let got = response.status().as_u16();
        let content_type = crate::common::header(&response, "content-type");
        let body = response.bytes().await.expect("body");
        assert_eq!(
            got,
            status,
            "{method} {url}: {}",
            String::from_utf8_lossy(&body)
        );
        self.spec
            .check(&method, template, got, &content_type, &body);
        if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body).expect("JSON")
        }
    }

    async fn json(
        &self,
        template: &str,
        method: Method,
        path: &str,
        body: &Value,
        status: u16,
    ) -> Value {
        let request = self.request(method, path).json(body);
        self.send(template, request, status).await
    }
}

fn from_now(secs: i64) -> String {
    (Utc::now() + chrono::Duration::seconds(secs)).to_rfc3339_opts(SecondsFormat::Micros, true)
}

async fn every_answer_of_every_operation_matches_the_spec(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &["--warn-before", "2s", "--tick-interval", "100ms"],
    )
    .await;
    let served: Value = app.get("/openapi.json").await.json().await.expect("spec");
    let spec = SpecValidator::new(served.clone());
    let c = Checked {
        app: &app,
        spec: &spec,
        token: None,
    };
    let too_large = vec![b' '; 1024 * 1024 + 1];

    // get_health
    c.send("/v1/health", c.request(Method::GET, "/v1/health"), 200)
        .await;
    c.send(
        "/v1/health",
        c.request(Method::GET, "/v1/health?verbose=1"),
        400,
    )
    .await;

    // create_task
    let tasks = "/v1/tasks";
    let expired = c
        .json(
            tasks,
            Method::POST,
            tasks,
            &json!({"title": "expired", "expiry_dt": from_now(-1)}),
            201,
        )
        .await;
    let plain = c
        .json(tasks, Method::POST, tasks, &json!({"title": "plain"}), 201)
        .await;
    let full = json!({"title": "full", "description": "all fields", "expiry_dt": from_now(86_400)});
    let full = c.json(tasks, Method::POST, tasks, &full, 201).await;
    c.json(tasks, Method::POST, tasks, &json!({"title": ""}), 400)
        .await;
    c.json(
        tasks,
        Method::POST,
        tasks,
        &json!({"title": "x", "expiry_dt": "2030-01-01T00:00:00"}),
        400,
    )
    .await;
    let keyed = |title: &str| {
        c.request(Method::POST, tasks)
            .header("Idempotency-Key", "responses-test")
            .json(&json!({ "title": title }))
    };
    c.send(tasks, keyed("first"), 201).await;
    c.send(tasks, keyed("other content"), 422).await;
    let text = |method: Method, path: &str| {
        c.request(method, path)
            .header("content-type", "text/plain")
            .body("title=x")
    };
    let huge = |method: Method, path: &str, media: &str| {
        c.request(method, path)
            .header("content-type", media)
            .body(too_large.clone())
    };
    c.send(tasks, text(Method::POST, tasks), 415).await;
    c.send(tasks, huge(Method::POST, tasks, "application/json"), 413)
        .await;

    // list_tasks
    c.send(tasks, c.request(Method::GET, tasks), 200).await;
    let first = c
        .send(
            tasks,
            c.request(Method::GET, "/v1/tasks?limit=1&count=true"),
            200,
        )
        .await;
    let cursor = first["next_cursor"].as_str().expect("a next cursor");
    c.send(
        tasks,
        c.request(Method::GET, &format!("/v1/tasks?limit=1&cursor={cursor}")),
        200,
    )
    .await;
    let filter = format!(
        "/v1/tasks?expires_after={}",
        from_now(-3600).replace('+', "%2B")
    );
    c.send(tasks, c.request(Method::GET, &filter), 200).await;
    c.send(tasks, c.request(Method::GET, "/v1/tasks?q=the"), 422)
        .await;
    c.send(
        tasks,
        c.request(Method::GET, "/v1/tasks?priority_min=5&priority_max=1"),
        422,
    )
    .await;
    c.send(
        tasks,
        c.request(Method::GET, "/v1/tasks?offset=1&limit=2"),
        200,
    )
    .await;
    c.send(tasks, c.request(Method::GET, "/v1/tasks?limt=1"), 400)
        .await;
    c.send(
        tasks,
        c.request(Method::GET, "/v1/tasks?cursor=not-a-cursor"),
        400,
    )
    .await;

    // get_task
    let task = "/v1/tasks/{id}";
    let full_path = format!("/v1/tasks/{}", full["id"]);
    let plain_path = format!("/v1/tasks/{}", plain["id"]);
    let response = app.get(&full_path).await;
    let etag = crate::common::header(&response, "etag");
    c.send(task, c.request(Method::GET, &full_path), 200).await;
    c.send(task, c.request(Method::GET, &plain_path), 200).await;
    let unchanged = c
        .request(Method::GET, &full_path)
        .header("If-None-Match", &etag);
    c.send(task, unchanged, 304).await;
    c.send(task, c.request(Method::GET, "/v1/tasks/999999"), 404)
        .await;
    c.send(task, c.request(Method::GET, "/v1/tasks/abc"), 400)
        .await;

    // replace_task
    let replacement =
        json!({"title": "replaced", "description": null, "expiry_dt": from_now(7200)});
    c.json(task, Method::PUT, &plain_path, &replacement, 200)
        .await;
    let stale = c
        .request(Method::PUT, &plain_path)
        .header("If-Match", "\"1\"")
        .json(&replacement);
    c.send(task, stale, 412).await;
    c.send(
        task,
        c.request(Method::PUT, &plain_path)
            .header("If-Match", "1")
            .json(&replacement),
        400,
    )
    .await;
    c.json(task, Method::PUT, "/v1/tasks/999999", &replacement, 404)
        .await;
    c.json(
        task,
        Method::PUT,
        &plain_path,
        &json!({"title": "x", "colour": "red"}),
        400,
    )
    .await;
    c.send(task, text(Method::PUT, &plain_path), 415).await;
    c.send(
        task,
        huge(Method::PUT, &plain_path, "application/json"),
        413,
    )
    .await;

    // patch_task
    let merge = c
        .request(Method::PATCH, &plain_path)
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"expiry_dt": null}"#);
    c.send(task, merge, 200).await;
    c.json(
        task,
        Method::PATCH,
        &plain_path,
        &json!({"description": "patched"}),
        200,
    )
    .await;
    let stale = c
        .request(Method::PATCH, &plain_path)
        .header("If-Match", "\"1\"")
        .json(&json!({"title": "t"}));
    c.send(task, stale, 412).await;
    c.json(
        task,
        Method::PATCH,
        "/v1/tasks/999999",
        &json!({"title": "t"}),
        404,
    )
    .await;
    c.json(
        task,
        Method::PATCH,
        &plain_path,
        &json!({"title": null}),
        400,
    )
    .await;
    c.send(task, text(Method::PATCH, &plain_path), 415).await;
    c.send(
        task,
        huge(Method::PATCH, &plain_path, "application/merge-patch+json"),
        413,
    )
    .await;

    // replace_tasks
    let bulk = json!({"tasks": [
        {"id": plain["id"], "title": "bulk 1"},
        {"id": full["id"], "title": "bulk 2", "description": "d", "expiry_dt": from_now(86_400)},
    ]});
    c.json(tasks, Method::PUT, tasks, &bulk, 200).await;
    let missing = json!({"tasks": [{"id": 999_999, "title": "gone"}]});
    c.json(tasks, Method::PUT, tasks, &missing, 404).await;
    let twice = json!({"tasks": [
        {"id": plain["id"], "title": "a"},
        {"id": plain["id"], "title": "b"},
    ]});
    c.json(tasks, Method::PUT, tasks, &twice, 422).await;
    c.json(
        tasks,
        Method::PUT,
        tasks,
        &json!({"tasks": [{"title": "no id"}]}),
        400,
    )
    .await;
    c.send(tasks, text(Method::PUT, tasks), 415).await;
    // A bulk replace takes up to 4 MiB.
    let too_large_bulk = vec![b' '; 4 * 1024 * 1024 + 1];
    c.send(
        tasks,
        c.request(Method::PUT, tasks)
            .header("content-type", "application/json")
            .body(too_large_bulk),
        413,
    )
    .await;

    // complete_tasks and reopen_tasks
    for action in ["complete", "reopen"] {
        let path = format!("/v1/tasks/{action}");
        let both = json!({"ids": [plain["id"], full["id"]]});
        let changed = c.json(&path, Method::POST, &path, &both, 200).await;
        assert_eq!(changed["tasks"][0]["id"], plain["id"]);
        let missing = json!({"ids": [plain["id"], 999_999]});
        let problem = c.json(&path, Method::POST, &path, &missing, 404).await;
        assert_eq!(problem["missing_ids"], json!([999_999]));
        for bad in [json!({"ids": []}), json!({"ids": [0]}), json!({"id": [1]})] {
            c.json(&path, Method::POST, &path, &bad, 400).await;
        }
        c.send(&path, text(Method::POST, &path), 415).await;
        c.send(&path, huge(Method::POST, &path, "application/json"), 413)
            .await;
    }

    // list_notifications and list_task_notifications, once the expired
    // task's warning exists.
    let history = format!("/v1/notifications?task_id={}", expired["id"]);
    eventually(WAIT, "the expired task's warning", || async {
        let page: Value = app.get(&history).await.json().await.ok()?;
        (!page["notifications"].as_array()?.is_empty()).then_some(())
    })
    .await;
    let notifications = "/v1/notifications";
    c.send(notifications, c.request(Method::GET, notifications), 200)
        .await;
    let page = c
        .send(
            notifications,
            c.request(Method::GET, "/v1/notifications?limit=1&count=true"),
            200,
        )
        .await;
    assert_eq!(
        page["notifications"].as_array().map(Vec::len),
        Some(1),
        "{page}"
    );
    c.send(notifications, c.request(Method::GET, &history), 200)
        .await;
    c.send(
        notifications,
        c.request(Method::GET, "/v1/notifications?task=1"),
        400,
    )
    .await;
    let of_task = "/v1/tasks/{id}/notifications";
    let expired_history = format!("/v1/tasks/{}/notifications", expired["id"]);
    c.send(of_task, c.request(Method::GET, &expired_history), 200)
        .await;
    c.send(
        of_task,
        c.request(Method::GET, "/v1/tasks/999999/notifications"),
        404,
    )
    .await;
    c.send(
        of_task,
        c.request(Method::GET, "/v1/tasks/0/notifications"),
        400,
    )
    .await;

    // stream_notifications: the answer, and an event against its schema.
    let stream = "/v1/notifications/stream";
    let operation = &served["paths"][stream]["get"];
    let open = c.request(Method::GET, stream).build().expect("request");
    let response = app.client.execute(open).await.expect("stream opened");
    let status = response.status().as_u16();
    spec.check(
        "GET",
        stream,
        status,
        &crate::common::header(&response, "content-type"),
        b"",
    );
    drop(response);
    let mut events = SseClient::resume(&app.url(stream), Some("0")).await;
    let (_, event) = events.next_event(WAIT).await.expect("a replayed event");
    let event_schema =
        &operation["responses"]["200"]["content"]["text/event-stream"]["x-event-schema"];
    spec.validate("stream_notifications", 200, event_schema, &event);
    c.send(
        stream,
        c.request(Method::GET, stream).header("Last-Event-ID", "-1"),
        400,
    )
    .await;

    // complete_task and reopen_task
    for (action, other) in [("complete", "reopen"), ("reopen", "complete")] {
        let template = format!("/v1/tasks/{{id}}/{action}");
        let path = format!("{full_path}/{action}");
        // `full` is open: it is completed, then reopened; each twice, the
        // second time a repeat that changes nothing.
        c.send(&template, c.request(Method::POST, &path), 200).await;
        c.send(&template, c.request(Method::POST, &path), 200).await;
        let stale = c
            .request(Method::POST, &format!("{full_path}/{other}"))
            .header("If-Match", "\"1\"");
        c.send(&format!("/v1/tasks/{{id}}/{other}"), stale, 412)
            .await;
        let missing = format!("/v1/tasks/999999/{action}");
        c.send(&template, c.request(Method::POST, &missing), 404)
            .await;
        let unquoted = c.request(Method::POST, &path).header("If-Match", "1");
        c.send(&template, unquoted, 400).await;
        c.json(&template, Method::POST, &path, &json!({}), 400)
            .await;
    }

    // delete_task and delete_tasks
    let expired_path = format!("/v1/tasks/{}", expired["id"]);
    let stale = c
        .request(Method::DELETE, &expired_path)
        .header("If-Match", "\"1\"");
    c.send(task, stale, 412).await;
    c.send(task, c.request(Method::DELETE, &expired_path), 204)
        .await;
    c.send(task, c.request(Method::DELETE, &expired_path), 404)
        .await;
    c.send(task, c.request(Method::DELETE, "/v1/tasks/-1"), 400)
        .await;
    c.send(of_task, c.request(Method::GET, &expired_history), 404)
        .await;
    let some = format!("/v1/tasks?ids={}", plain["id"]);
    c.send(tasks, c.request(Method::DELETE, &some), 200).await;
    c.send(tasks, c.request(Method::DELETE, "/v1/tasks?id=1"), 400)
        .await;
    c.send(tasks, c.request(Method::DELETE, tasks), 400).await;
    c.send(tasks, c.request(Method::DELETE, "/v1/tasks?all=true"), 200)
        .await;

    // 401 from every operation that needs the token, and 403 for a token
    // whose scope (metrics only) allows none of them.
    let mut scoped = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut scoped, b"scraper metrics responses-metrics-token\n").unwrap();
    let scoped_path = scoped.path().to_str().unwrap().to_owned();
    let guarded = spawn_app_with(
        backend,
        &[
            "--api-token",
            "responses-token",
            "--api-tokens-file",
            &scoped_path,
        ],
    )
    .await;
    let unauthorized = Checked {
        app: &guarded,
        spec: &spec,
        token: None,
    };
    let authorized = Checked {
        token: Some("responses-token"),
        ..unauthorized
    };
    let body = json!({"title": "t"});
    for (method, template, path) in [
        (Method::GET, tasks, tasks),
        (Method::POST, tasks, tasks),
        (Method::PUT, tasks, tasks),
        (Method::DELETE, tasks, tasks),
        (Method::GET, task, "/v1/tasks/1"),
        (Method::PUT, task, "/v1/tasks/1"),
        (Method::PATCH, task, "/v1/tasks/1"),
        (Method::DELETE, task, "/v1/tasks/1"),
        (
            Method::POST,
            "/v1/tasks/{id}/complete",
            "/v1/tasks/1/complete",
        ),
        (Method::POST, "/v1/tasks/{id}/reopen", "/v1/tasks/1/reopen"),
        (Method::POST, "/v1/tasks/complete", "/v1/tasks/complete"),
        (Method::POST, "/v1/tasks/reopen", "/v1/tasks/reopen"),
        (Method::GET, notifications, notifications),
        (Method::GET, stream, stream),
        (Method::GET, of_task, "/v1/tasks/1/notifications"),
    ] {
        let request = unauthorized.request(method.clone(), path).json(&body);
        unauthorized.send(template, request, 401).await;
        let forbidden = Checked {
            token: Some("responses-metrics-token"),
            ..unauthorized
        };
        let request = forbidden.request(method, path).json(&body);
        forbidden.send(template, request, 403).await;
    }
    authorized
        .send(tasks, authorized.request(Method::GET, tasks), 200)
        .await;
    authorized
        .send(
            "/v1/health",
            authorized.request(Method::GET, "/v1/health"),
            200,
        )
        .await;

    // What only a failing database produces (tests/suite/faults.rs), and
    // 409, which needs the database itself to refuse a valid write.
    let unseen: BTreeSet<(String, u16)> = spec
        .unseen()
        .into_iter()
        .filter(|(_, status)| ![500, 503, 409].contains(status))
        .collect();
    assert!(unseen.is_empty(), "declared but never checked: {unseen:?}");
}

/// The check itself can fail: a property the schema leaves out, a `null`
/// it does not allow, a status the operation does not declare.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_strict_check_refuses_what_the_spec_does_not_say() {
    let app = spawn_app_with(Backend::Sqlite, &[]).await;
    let served: Value = app.get("/openapi.json").await.json().await.expect("spec");
    let spec = SpecValidator::new(served);
    let task = app.create_task(json!({"title": "t"})).await;
    let body = |value: &Value| serde_json::to_vec(value).expect("JSON");
    let check = |status: u16, value: &Value| {
        let spec = &spec;
        let bytes = body(value);
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            spec.check("GET", "/v1/tasks/{id}", status, "application/json", &bytes)
        }))
    };
    assert!(check(200, &task).is_ok(), "the real body passes");
    let mut extra = task.clone();
    extra["colour"] = json!("red");
    assert!(check(200, &extra).is_err(), "an undeclared property fails");
    let mut null_title = task.clone();
    null_title["title"] = Value::Null;
    assert!(check(200, &null_title).is_err(), "an undeclared null fails");
    assert!(check(418, &task).is_err(), "an undeclared status fails");
}
