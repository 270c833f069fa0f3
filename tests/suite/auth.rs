//! The optional bearer token.

use serde_json::json;

use crate::common::{Backend, TestApp, header, json_body, problem_body, spawn_app_with};

crate::on_both_backends!(
    with_a_token_every_v1_endpoint_but_health_requires_it,
    the_token_can_come_from_a_file,
);

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
) -> reqwest::Response {
    let mut request = app.client.request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if path == "/v1/tasks" {
        request = request.json(&json!({"title": "t"}));
    }
    request.send().await.unwrap()
}

async fn with_a_token_every_v1_endpoint_but_health_requires_it(backend: Backend) {
    let app = spawn_app_with(backend, &["--api-token", "s3cret"]).await;
    use reqwest::Method;
    for (method, path) in [
        (Method::GET, "/v1/tasks"),
        (Method::POST, "/v1/tasks"),
        (Method::DELETE, "/v1/tasks"),
        (Method::GET, "/v1/tasks/1"),
        (Method::PATCH, "/v1/tasks/1"),
        (Method::GET, "/v1/notifications"),
        (Method::GET, "/v1/notifications/stream"),
        (Method::GET, "/v1/tasks/1/notifications"),
    ] {
        let missing = send(&app, method.clone(), path, None).await;
        assert_eq!(
            header(&missing, "www-authenticate"),
            r#"Bearer realm="taskman""#,
            "{method} {path}"
        );
        problem_body(missing, 401).await;
        let wrong = send(&app, method.clone(), path, Some("guess")).await;
        assert!(
            header(&wrong, "www-authenticate").contains("invalid_token"),
            "{method} {path}"
        );
        problem_body(wrong, 401).await;
    }
    // Nothing was created by the refused requests.
    let page = json_body(
        send(
            &app,
            reqwest::Method::GET,
            "/v1/tasks?count=true",
            Some("s3cret"),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(page["total"], 0);
    let created = send(&app, reqwest::Method::POST, "/v1/tasks", Some("s3cret")).await;
    assert_eq!(created.status(), 201);

    assert_eq!(app.get("/v1/health").await.status(), 200);
    assert_eq!(app.get("/openapi.json").await.status(), 200);
    assert_eq!(app.get("/docs").await.status(), 200);
    let stream = app
        .client
        .get(app.url("/v1/notifications/stream"))
        .bearer_auth("s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    drop(stream);
    // A stream client without the token is refused before any event.
    let refused = app
        .client
        .get(app.url("/v1/notifications/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
}

async fn the_token_can_come_from_a_file(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    std::fs::write(&path, "from-a-file\n").unwrap();
    let app = spawn_app_with(backend, &["--api-token-file", path.to_str().unwrap()]).await;
    assert_eq!(
        send(&app, reqwest::Method::GET, "/v1/tasks", Some("from-a-file"))
            .await
            .status(),
        200
    );
    problem_body(
        send(&app, reqwest::Method::GET, "/v1/tasks", Some("from-a-fil")).await,
        401,
    )
    .await;
    problem_body(
        send(&app, reqwest::Method::GET, "/v1/tasks", None).await,
        401,
    )
    .await;
}
