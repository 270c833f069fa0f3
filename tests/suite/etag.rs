//! ETags and conditional requests: two clients cannot silently overwrite
//! each other.

use serde_json::{Value, json};

use crate::common::{Backend, TestApp, header, json_body, problem_body, spawn_app};

crate::on_both_backends!(
    every_single_task_response_carries_its_etag,
    a_current_if_none_match_answers_304,
    a_stale_if_match_is_refused_and_changes_nothing,
    of_two_editors_of_one_version_only_the_first_wins,
    a_bad_title_is_a_bad_request_whatever_the_if_match,
);

/// A title that breaks the rules is judged against the stored one (it may
/// be that title sent back), but still before the precondition: a request
/// that is wrong in itself is 400, not 412 (found by the contract run).
async fn a_bad_title_is_a_bad_request_whatever_the_if_match(backend: Backend) {
    let app = spawn_app(backend).await;
    let (path, _) = create_tagged(&app, "keep me").await;
    let stale = "\"1\"";
    for method in [reqwest::Method::PUT, reqwest::Method::PATCH] {
        for title in ["x".repeat(300), "   ".to_owned()] {
            let body = json!({ "title": title });
            let response = conditional(&app, method.clone(), &path, stale, Some(body)).await;
            let problem = problem_body(response, 400).await;
            assert_eq!(problem["errors"][0]["field"], "title", "{method} {problem}");
        }
    }
    assert_eq!(
        json_body(app.get(&path).await, 200).await["title"],
        "keep me"
    );
}

async fn conditional(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    if_match: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = app
        .client
        .request(method, app.url(path))
        .header("if-match", if_match);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

/// Creates a task; returns its path and the ETag of the 201.
async fn create_tagged(app: &TestApp, title: &str) -> (String, String) {
    let created = app.post_json("/v1/tasks", &json!({ "title": title })).await;
    let tag = header(&created, "etag");
    let task = json_body(created, 201).await;
    (format!("/v1/tasks/{}", task["id"]), tag)
}

async fn if_none_match(app: &TestApp, path: &str, tag: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .header("if-none-match", tag)
        .send()
        .await
        .unwrap()
}

async fn every_single_task_response_carries_its_etag(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = app
        .post_json("/v1/tasks", &json!({"title": "tagged"}))
        .await;
    let created_tag = header(&created, "etag");
    let task = json_body(created, 201).await;
    assert!(
        created_tag.starts_with('"') && created_tag.ends_with('"'),
        "{created_tag}"
    );
    let path = format!("/v1/tasks/{}", task["id"]);

    let read = app.get(&path).await;
    assert_eq!(header(&read, "etag"), created_tag);
    let patched = app.patch_json(&path, &json!({"title": "changed"})).await;
    let patched_tag = header(&patched, "etag");
    json_body(patched, 200).await;
    assert_ne!(patched_tag, created_tag);
    let replaced = app.put_json(&path, &json!({"title": "again"})).await;
    assert_ne!(header(&replaced, "etag"), patched_tag);
}

async fn a_current_if_none_match_answers_304(backend: Backend) {
    let app = spawn_app(backend).await;
    let (path, tag) = create_tagged(&app, "cached").await;

    let fresh = if_none_match(&app, &path, &tag).await;
    assert_eq!(fresh.status(), 304);
    assert_eq!(header(&fresh, "etag"), tag);
    assert_eq!(fresh.text().await.unwrap(), "");

    app.patch_json(&path, &json!({"description": "new"})).await;
    let stale = if_none_match(&app, &path, &tag).await;
    assert_eq!(json_body(stale, 200).await["description"], "new");
}

async fn a_stale_if_match_is_refused_and_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (path, old_tag) = create_tagged(&app, "guarded").await;
    let current = app.patch_json(&path, &json!({"title": "moved on"})).await;
    let current_tag = header(&current, "etag");
    let current = json_body(current, 200).await;

    use reqwest::Method;
    for (method, body) in [
        (Method::PUT, Some(json!({"title": "x"}))),
        (Method::PATCH, Some(json!({"title": "x"}))),
        (Method::DELETE, None),
    ] {
        let weak_body = body.clone().or(Some(json!({})));
        let refused = conditional(&app, method, &path, &old_tag, body).await;
        problem_body(refused, 412).await;
        let weak = conditional(
            &app,
            Method::PATCH,
            &path,
            &format!("W/{current_tag}"),
            weak_body,
        )
        .await;
        problem_body(weak, 412).await;
    }
    assert_eq!(json_body(app.get(&path).await, 200).await, current);

    let ok = conditional(
        &app,
        Method::PATCH,
        &path,
        &format!("\"1\", {current_tag}"),
        Some(json!({"title": "mine"})),
    )
    .await;
    assert_eq!(json_body(ok, 200).await["title"], "mine");
    let any = conditional(
        &app,
        Method::PATCH,
        &path,
        "*",
        Some(json!({"title": "any"})),
    )
    .await;
    json_body(any, 200).await;
    problem_body(
        conditional(
            &app,
            Method::PATCH,
            "/v1/tasks/999999",
            "*",
            Some(json!({})),
        )
        .await,
        404,
    )
    .await;
    let latest = header(&app.get(&path).await, "etag");
    assert_eq!(
        conditional(&app, Method::DELETE, &path, &latest, None)
            .await
            .status(),
        204
    );
}

async fn of_two_editors_of_one_version_only_the_first_wins(backend: Backend) {
    let app = spawn_app(backend).await;
    let (path, tag) = create_tagged(&app, "shared").await;

    let first = conditional(
        &app,
        reqwest::Method::PATCH,
        &path,
        &tag,
        Some(json!({"description": "alice"})),
    )
    .await;
    assert_eq!(first.status(), 200);
    let second = conditional(
        &app,
        reqwest::Method::PATCH,
        &path,
        &tag,
        Some(json!({"description": "bob"})),
    )
    .await;
    problem_body(second, 412).await;
    assert_eq!(
        json_body(app.get(&path).await, 200).await["description"],
        "alice"
    );
}
