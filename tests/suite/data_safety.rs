//! What a client asks for happens exactly, and nothing else: a typo in a
//! parameter changes nothing, an unreadable precondition is refused, a
//! retried create makes one task, and versions follow commit order.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::common::{
    Backend, TestApp, eventually, header, json_body, problem_body, spawn_app, spawn_app_with, start,
};

crate::on_both_backends!(
    a_misspelt_or_empty_delete_parameter_deletes_nothing,
    a_delete_that_names_nothing_deletes_nothing,
    the_bare_delete_switch_restores_the_original_rule_and_nothing_more,
    every_operation_refuses_an_unknown_query_parameter,
    a_scalar_parameter_given_twice_is_refused,
    an_unreadable_precondition_is_refused_by_name,
    a_retried_create_with_the_same_key_makes_one_task,
    the_same_key_with_other_content_is_refused,
    concurrent_retries_of_one_create_make_one_task,
    concurrent_patches_leave_the_newest_version_and_its_warning,
);

async fn count_tasks(app: &TestApp) -> u64 {
    json_body(app.get("/v1/tasks?count=true").await, 200).await["total"]
        .as_u64()
        .expect("a total")
}

async fn a_misspelt_or_empty_delete_parameter_deletes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    for n in 0..3 {
        app.create_task(json!({"title": format!("keep {n}")})).await;
    }
    for query in [
        "id=2",
        "IDS=2",
        "task_ids=2",
        "ids=",
        "ids",
        "ids=1,,2",
        "ids=x",
        "ids=0",
        "&",
        "ids=2&id=3",
        "ids=+2",
        "ids=02",
        "all=1",
        "all=yes",
        "all=true&ids=2",
        "ids=2&all=true",
    ] {
        let response = app.delete(&format!("/v1/tasks?{query}")).await;
        let problem = problem_body(response, 400).await;
        assert!(
            !problem["errors"].as_array().unwrap().is_empty(),
            "{query}: {problem}"
        );
        assert_eq!(count_tasks(&app).await, 3, "after DELETE /v1/tasks?{query}");
    }
    // The field is named as sent.
    let problem = problem_body(app.delete("/v1/tasks?ids=0").await, 400).await;
    assert_eq!(problem["errors"][0]["field"], "ids", "{problem}");
    let problem = problem_body(app.delete("/v1/tasks?id=24").await, 400).await;
    assert_eq!(problem["errors"][0]["field"], "id", "{problem}");
    // The ids belong in `ids`, not in a body: a body is refused, not ignored.
    let with_body = app
        .client
        .delete(app.url("/v1/tasks"))
        .json(&json!({"ids": [1]}))
        .send()
        .await
        .unwrap();
    problem_body(with_body, 400).await;
    assert_eq!(count_tasks(&app).await, 3);
    // Only the explicit word deletes everything.
    assert_eq!(
        json_body(app.delete("/v1/tasks?all=true").await, 200).await,
        json!({"deleted": 3})
    );
}

/// A generated client drops an empty id list and sends a bare
/// `DELETE /v1/tasks`; a hand-built URL sends `DELETE /v1/tasks?`. Neither
/// may delete anything, and the answer names both ways to say what is meant.
async fn a_delete_that_names_nothing_deletes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    for n in 0..3 {
        app.create_task(json!({"title": format!("keep {n}")})).await;
    }
    for path in ["/v1/tasks", "/v1/tasks?", "/v1/tasks?all=false"] {
        let problem = problem_body(app.delete(path).await, 400).await;
        assert_eq!(problem["errors"][0]["field"], "ids", "{path}: {problem}");
        let message = problem["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains("`ids`") && message.contains("`all=true`"),
            "{path}: {message}"
        );
        assert_eq!(count_tasks(&app).await, 3, "after DELETE {path}");
    }
    assert_eq!(
        json_body(app.delete("/v1/tasks?ids=1,2&all=false").await, 200).await,
        json!({"deleted": 2})
    );
}

/// `ALLOW_BARE_DELETE_ALL` is for the original's clients, which send the
/// bare form to delete everything; an empty query string still deletes
/// nothing, since only a hand-built URL sends one.
async fn the_bare_delete_switch_restores_the_original_rule_and_nothing_more(backend: Backend) {
    let app = spawn_app_with(backend, &["--allow-bare-delete-all", "true"]).await;
    for n in 0..3 {
        app.create_task(json!({"title": format!("keep {n}")})).await;
    }
    problem_body(app.delete("/v1/tasks?").await, 400).await;
    problem_body(app.delete("/v1/tasks?all=false").await, 400).await;
    assert_eq!(count_tasks(&app).await, 3);
    assert_eq!(
        json_body(app.delete("/v1/tasks").await, 200).await,
        json!({"deleted": 3})
    );
}

async fn every_operation_refuses_an_unknown_query_parameter(backend: Backend) {
    let app = spawn_app(backend).await;
    let task = app.create_task(json!({"title": "t"})).await;
    let id = &task["id"];
    let cases = [
        (reqwest::Method::GET, "/v1/health".to_owned()),
        (reqwest::Method::GET, "/v1/tasks".to_owned()),
        (reqwest::Method::POST, "/v1/tasks".to_owned()),
        (reqwest::Method::PUT, "/v1/tasks".to_owned()),
        (reqwest::Method::GET, format!("/v1/tasks/{id}")),
        (reqwest::Method::PUT, format!("/v1/tasks/{id}")),
        (reqwest::Method::PATCH, format!("/v1/tasks/{id}")),
        (reqwest::Method::DELETE, format!("/v1/tasks/{id}")),
        (reqwest::Method::GET, "/v1/notifications".to_owned()),
        (reqwest::Method::GET, "/v1/notifications/stream".to_owned()),
        (
            reqwest::Method::GET,
            format!("/v1/tasks/{id}/notifications"),
        ),
    ];
    for (method, path) in cases {
        let response = app
            .client
            .request(method.clone(), app.url(&format!("{path}?limt=5")))
            .json(&json!({"title": "changed", "tasks": []}))
            .send()
            .await
            .unwrap();
        let problem = problem_body(response, 400).await;
        assert_eq!(
            problem["errors"][0]["field"], "limt",
            "{method} {path}: {problem}"
        );
    }
    let unchanged = json_body(app.get(&format!("/v1/tasks/{id}")).await, 200).await;
    assert_eq!(unchanged, task);
}

async fn a_scalar_parameter_given_twice_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let problem = problem_body(app.get("/v1/tasks?limit=1&limit=500").await, 400).await;
    assert_eq!(problem["errors"][0]["field"], "limit");
    // A list may be repeated: `ids=1&ids=2` names both.
    let a = app.create_task(json!({"title": "a"})).await;
    let b = app.create_task(json!({"title": "b"})).await;
    let deleted = json_body(
        app.delete(&format!("/v1/tasks?ids={}&ids={}", a["id"], b["id"]))
            .await,
        200,
    )
    .await;
    assert_eq!(deleted, json!({"deleted": 2}));
}

async fn an_unreadable_precondition_is_refused_by_name(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = app
        .post_json("/v1/tasks", &json!({"title": "guarded"}))
        .await;
    let tag = header(&created, "etag");
    let task = json_body(created, 201).await;
    let path = format!("/v1/tasks/{}", task["id"]);
    let unquoted = tag.trim_matches('"').to_owned();
    for (name, value) in [
        ("if-match", b"\"caf\xe9\"".to_vec()),
        ("if-match", unquoted.clone().into_bytes()),
        ("if-match", Vec::new()),
        ("if-match", b"\"5\" garbage".to_vec()),
        ("if-none-match", b"W/".to_vec()),
        ("if-none-match", Vec::new()),
    ] {
        let header_value = reqwest::header::HeaderValue::from_bytes(&value).unwrap();
        let method = if name == "if-match" {
            reqwest::Method::PATCH
        } else {
            reqwest::Method::GET
        };
        let response = app
            .client
            .request(method, app.url(&path))
            .header(name, header_value)
            .json(&json!({"title": "overwritten"}))
            .send()
            .await
            .unwrap();
        let problem = problem_body(response, 400).await;
        assert_eq!(
            problem["errors"][0]["field"]
                .as_str()
                .unwrap()
                .to_ascii_lowercase(),
            name,
            "{problem}"
        );
    }
    // A well-formed tag that is not the task's version is a 412; the task
    // is unchanged throughout.
    let stale = app
        .client
        .patch(app.url(&path))
        .header("if-match", "\"12345\"")
        .json(&json!({"title": "overwritten"}))
        .send()
        .await
        .unwrap();
    problem_body(stale, 412).await;
    assert_eq!(json_body(app.get(&path).await, 200).await, task);
}

async fn post_with_key(app: &TestApp, key: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(app.url("/v1/tasks"))
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn a_retried_create_with_the_same_key_makes_one_task(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let body = json!({"title": "  Pay rent ", "expiry_dt": "2099-01-01T10:00:00+01:00"});
    let first = post_with_key(&app, "rent-2099-01", &body).await;
    let (location, etag) = (header(&first, "location"), header(&first, "etag"));
    let created = json_body(first, 201).await;
    // The same request again, then the same content written another way.
    let same_content = json!({"expiry_dt": "2099-01-01T09:00:00Z", "title": "Pay rent"});
    for retry in [&body, &same_content] {
        let again = post_with_key(&app, "rent-2099-01", retry).await;
        assert_eq!(header(&again, "location"), location);
        assert_eq!(header(&again, "etag"), etag);
        assert_eq!(json_body(again, 201).await, created);
    }
    // The record outlives a restart, and a change to the task since.
    json_body(
        app.patch_json(&location, &json!({"description": "changed"}))
            .await,
        200,
    )
    .await;
    app.restart().await;
    let after_restart = post_with_key(&app, "rent-2099-01", &body).await;
    assert_eq!(json_body(after_restart, 201).await, created);
    assert_eq!(count_tasks(&app).await, 1);
    // Another key is another task.
    json_body(post_with_key(&app, "rent-2099-02", &body).await, 201).await;
    assert_eq!(count_tasks(&app).await, 2);
    // A key that is not visible ASCII is refused, by name.
    let bad = app
        .client
        .post(app.url("/v1/tasks"))
        .header(
            "idempotency-key",
            reqwest::header::HeaderValue::from_bytes(b"schl\xfcssel").unwrap(),
        )
        .json(&body)
        .send()
        .await
        .unwrap();
    let problem = problem_body(bad, 400).await;
    assert_eq!(problem["errors"][0]["field"], "Idempotency-Key");
    assert_eq!(count_tasks(&app).await, 2);
}

async fn the_same_key_with_other_content_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    json_body(
        post_with_key(&app, "k-1", &json!({"title": "first"})).await,
        201,
    )
    .await;
    let problem = problem_body(
        post_with_key(&app, "k-1", &json!({"title": "second"})).await,
        422,
    )
    .await;
    assert_eq!(
        problem["errors"][0]["field"], "Idempotency-Key",
        "{problem}"
    );
    assert_eq!(count_tasks(&app).await, 1);
}

async fn concurrent_retries_of_one_create_make_one_task(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = json!({"title": "once only"});
    let answers: Vec<Value> = futures_util::stream::iter(0..16)
        .map(|_| async { json_body(post_with_key(&app, "burst", &body).await, 201).await })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(
        answers.windows(2).all(|pair| pair[0] == pair[1]),
        "{answers:?}"
    );
    assert_eq!(count_tasks(&app).await, 1);
}

/// RFC 3339 for `millis` milliseconds from now.
fn from_now_ms(millis: i64) -> String {
    (Utc::now() + chrono::Duration::milliseconds(millis))
        .to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Thirty PATCHes at once on each of several tasks, half of them moving the
/// expiry an hour away and half to a few seconds from now. Whichever commits
/// last is the task: its version is the newest one acknowledged, and if its
/// expiry is near, its warning comes on time, for that expiry.
async fn concurrent_patches_leave_the_newest_version_and_its_warning(backend: Backend) {
    const TASKS: usize = 6;
    const PATCHES: usize = 30;
    let app = spawn_app_with(
        backend,
        // A 1 s tick: the `late` promise (a tick and half a second) leaves
        // a loaded machine room.
        &["--warn-before", "2s", "--tick-interval", "1s"],
    )
    .await;
    let mut tasks = Vec::new();
    for n in 0..TASKS {
        tasks.push(
            app.create_task(json!({"title": format!("raced {n}")}))
                .await,
        );
    }
    let patches: Vec<(Value, String, Value)> = futures_util::stream::iter(
        tasks
            .iter()
            .flat_map(|task| (0..PATCHES).map(move |n| (task["id"].clone(), n))),
    )
    .map(|(id, n)| {
        let app = &app;
        async move {
            let expiry = if n % 2 == 0 {
                from_now_ms(3_600_000)
            } else {
                from_now_ms(6_000 + 40 * n as i64)
            };
            let response = app
                .patch_json(&format!("/v1/tasks/{id}"), &json!({"expiry_dt": expiry}))
                .await;
            let tag = header(&response, "etag");
            (id, tag, json_body(response, 200).await)
        }
    })
    .buffer_unordered(48)
    .collect()
    .await;

    let mut acknowledged: HashMap<String, Vec<(i64, Value)>> = HashMap::new();
    for (id, tag, body) in patches {
        let version: i64 = tag.trim_matches('"').parse().expect("a numeric ETag");
        acknowledged
            .entry(id.to_string())
            .or_default()
            .push((version, body));
    }
    let mut near = Vec::new();
    for task in &tasks {
        let id = task["id"].to_string();
        let mut seen = acknowledged.remove(&id).unwrap();
        seen.sort_by_key(|(version, _)| *version);
        let versions: Vec<i64> = seen.iter().map(|(v, _)| *v).collect();
        let mut distinct = versions.clone();
        distinct.dedup();
        assert_eq!(
            distinct.len(),
            PATCHES,
            "task {id}: a version repeated: {versions:?}"
        );
        let stored_response = app.get(&format!("/v1/tasks/{id}")).await;
        let stored_tag = header(&stored_response, "etag");
        let stored = json_body(stored_response, 200).await;
        let (newest, newest_body) = seen.last().unwrap();
        assert_eq!(
            stored_tag,
            format!("\"{newest}\""),
            "task {id}: the stored version is not the newest acknowledged"
        );
        assert_eq!(&stored, newest_body, "task {id}");
        let expiry =
            chrono::DateTime::parse_from_rfc3339(stored["expiry_dt"].as_str().unwrap()).unwrap();
        if expiry < Utc::now() + chrono::Duration::minutes(1) {
            near.push(stored);
        }
    }
    // Each task whose stored expiry is near is warned, for that expiry, in time.
    for task in near {
        let id = &task["id"];
        let warning = eventually(
            Duration::from_secs(20),
            "the stored expiry's warning",
            || async {
                let page = json_body(
                    app.get(&format!("/v1/notifications?task_id={id}")).await,
                    200,
                )
                .await;
                page["notifications"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|n| n["expiry_dt"] == task["expiry_dt"])
                    .cloned()
            },
        )
        .await;
        assert_eq!(warning["expiry_dt"], task["expiry_dt"], "{warning}");
        assert_eq!(warning["late"], false, "{warning}");
    }
}

/// Two replicas on one database: a create retried through the other one
/// still makes one task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotent_create_holds_across_replicas() {
    let database = crate::common::TestDatabase::create(Backend::MySql).await;
    let (first, stop_first, _one) = start(database.url(), &[]).await;
    let (second, stop_second, _two) = start(database.url(), &[]).await;
    let client = reqwest::Client::new();
    let body = json!({"title": "through either replica"});
    let mut answers = Vec::new();
    for address in [&first, &second, &first] {
        let response = client
            .post(format!("{address}/v1/tasks"))
            .header("idempotency-key", "replicated")
            .json(&body)
            .send()
            .await
            .unwrap();
        answers.push(json_body(response, 201).await);
    }
    assert!(
        answers.windows(2).all(|pair| pair[0] == pair[1]),
        "{answers:?}"
    );
    let listed = json_body(
        client
            .get(format!("{second}/v1/tasks?count=true"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(listed["total"], 1);
    let _ = stop_first.send(());
    let _ = stop_second.send(());
}
