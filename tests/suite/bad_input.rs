//! Every bad input gets a problem+json answer with the right status, and
//! changes nothing.

use serde_json::{Value, json};

use crate::common::{Backend, TestApp, json_body, problem_body, spawn_app};

crate::on_both_backends!(
    an_unknown_field_is_rejected_by_name,
    a_client_cannot_choose_the_id,
    invalid_titles_are_rejected,
    an_overlong_description_is_rejected,
    wrong_json_types_and_malformed_json_are_rejected,
    a_time_without_an_offset_is_rejected,
    a_time_out_of_the_database_range_is_rejected,
    bad_path_ids_are_rejected,
    unknown_routes_and_wrong_methods_get_problems,
    a_body_over_one_mebibyte_is_rejected,
    a_non_json_body_is_rejected,
    bad_list_parameters_are_rejected,
    bad_delete_ids_are_rejected,
    a_bulk_replace_naming_an_id_twice_is_rejected,
    a_patch_may_not_null_the_title,
);

/// Runs `check` and then asserts the stored tasks are exactly as before.
/// The first page of tasks, with the count of them all.
async fn changes_nothing(app: &TestApp) -> Value {
    json_body(app.get("/v1/tasks?count=true").await, 200).await
}

async fn an_unknown_field_is_rejected_by_name(backend: Backend) {
    let app = spawn_app(backend).await;
    let before = changes_nothing(&app).await;
    let problem = problem_body(
        app.post_json(
            "/v1/tasks",
            &json!({"title": "t", "expiry": "2030-01-01T00:00:00Z"}),
        )
        .await,
        400,
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("expiry"),
        "{problem}"
    );
    let task = app.create_task(json!({"title": "t"})).await;
    let path = format!("/v1/tasks/{}", task["id"]);
    let problem = problem_body(app.patch_json(&path, &json!({"titel": "x"})).await, 400).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("titel"),
        "{problem}"
    );
    problem_body(
        app.put_json(&path, &json!({"title": "x", "extra": 1}))
            .await,
        400,
    )
    .await;
    let page = changes_nothing(&app).await;
    assert_eq!(page["total"], before["total"].as_u64().unwrap() + 1);
    assert_eq!(page["tasks"][0], task);
}

async fn a_client_cannot_choose_the_id(backend: Backend) {
    let app = spawn_app(backend).await;
    let problem = problem_body(
        app.post_json("/v1/tasks", &json!({"id": 42, "title": "t"}))
            .await,
        400,
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("id"),
        "{problem}"
    );
    assert_eq!(changes_nothing(&app).await["total"], 0);
}

async fn invalid_titles_are_rejected(backend: Backend) {
    let app = spawn_app(backend).await;
    for body in [
        json!({}),
        json!({"title": null}),
        json!({"title": ""}),
        json!({"title": "   \t "}),
        json!({"title": "a".repeat(256)}),
        json!({"title": format!(" {} ", "a".repeat(254))}),
        json!({"title": "\u{85}\u{feff}\u{3000}"}),
        // C0 control characters, NUL included, anywhere in the title.
        json!({"title": "nul\u{0}inside"}),
        json!({"title": "bell\u{7}"}),
        json!({"title": "line\nbreak"}),
        json!({"title": "\u{1b}[31mred"}),
    ] {
        let problem = problem_body(app.post_json("/v1/tasks", &body).await, 400).await;
        if body["title"].is_string() {
            assert_eq!(problem["errors"][0]["field"], "title", "{problem}");
        }
    }
    assert_eq!(changes_nothing(&app).await["total"], 0);
}

async fn an_overlong_description_is_rejected(backend: Backend) {
    let app = spawn_app(backend).await;
    // 32,768 two-byte characters: under the character limit, over 65,535 bytes.
    let body = json!({"title": "t", "description": "é".repeat(32_768)});
    let problem = problem_body(app.post_json("/v1/tasks", &body).await, 400).await;
    assert_eq!(problem["errors"][0]["field"], "description", "{problem}");
    let fits = json!({"title": "t", "description": "a".repeat(65_535)});
    app.create_task(fits).await;
    assert_eq!(changes_nothing(&app).await["total"], 1);
}

async fn wrong_json_types_and_malformed_json_are_rejected(backend: Backend) {
    let app = spawn_app(backend).await;
    for body in [
        json!({"title": 5}),
        json!({"title": "t", "description": 5}),
        json!({"title": "t", "expiry_dt": 1700000000}),
        json!(["title"]),
        json!("title"),
    ] {
        problem_body(app.post_json("/v1/tasks", &body).await, 400).await;
    }
    for raw in [
        "{",
        "{\"title\": \"t\",}",
        "",
        "null",
        "{\"title\": \"\\ud800\"}",
    ] {
        let response = app
            .client
            .post(app.url("/v1/tasks"))
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        problem_body(response, 400).await;
    }
    assert_eq!(changes_nothing(&app).await["total"], 0);
}

async fn a_time_without_an_offset_is_rejected(backend: Backend) {
    let app = spawn_app(backend).await;
    for time in [
        "2026-01-01T10:00:00",
        "2026-01-01",
        "tomorrow",
        "2026-13-01T00:00:00Z",
    ] {
        let problem = problem_body(
            app.post_json("/v1/tasks", &json!({"title": "t", "expiry_dt": time}))
                .await,
            400,
        )
        .await;
        assert!(
            problem["detail"].as_str().unwrap().contains("offset"),
            "{problem}"
        );
    }
    assert_eq!(changes_nothing(&app).await["total"], 0);
}

async fn a_time_out_of_the_database_range_is_rejected(backend: Backend) {
    let app = spawn_app(backend).await;
    for time in ["0999-12-31T23:59:59Z", "9999-12-31T23:00:00-05:00"] {
        let problem = problem_body(
            app.post_json("/v1/tasks", &json!({"title": "t", "expiry_dt": time}))
                .await,
            400,
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], "expiry_dt", "{problem}");
    }
    let edge = app
        .create_task(json!({"title": "t", "expiry_dt": "9999-12-31T23:59:59.999999Z"}))
        .await;
    assert_eq!(edge["expiry_dt"], "9999-12-31T23:59:59.999999Z");
}

async fn bad_path_ids_are_rejected(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in [
        "/v1/tasks/abc",
        "/v1/tasks/0",
        "/v1/tasks/-1",
        "/v1/tasks/1.5",
        "/v1/tasks/99999999999999999999",
    ] {
        for response in [
            app.get(path).await,
            app.delete(path).await,
            app.patch_json(path, &json!({})).await,
            app.get(&format!("{path}/notifications")).await,
        ] {
            let problem = problem_body(response, 400).await;
            assert_eq!(problem["errors"][0]["field"], "id", "{path}: {problem}");
        }
    }
}

async fn unknown_routes_and_wrong_methods_get_problems(backend: Backend) {
    let app = spawn_app(backend).await;
    problem_body(app.get("/v1/nope").await, 404).await;
    problem_body(app.get("/v2/tasks").await, 404).await;
    problem_body(
        app.post_json("/v1/tasks/1", &json!({"title": "t"})).await,
        405,
    )
    .await;
    problem_body(
        app.client.patch(app.url("/v1/tasks")).send().await.unwrap(),
        405,
    )
    .await;
    problem_body(
        app.client.post(app.url("/v1/health")).send().await.unwrap(),
        405,
    )
    .await;
}

async fn a_body_over_one_mebibyte_is_rejected(backend: Backend) {
    let app = spawn_app(backend).await;
    let huge = json!({"title": "t", "description": "a".repeat(1024 * 1024)});
    problem_body(app.post_json("/v1/tasks", &huge).await, 413).await;

    // The same without a Content-Length header: a chunked body.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![
        Ok(b"{\"title\":\"t\",\"description\":\"".to_vec()),
        Ok(vec![b'a'; 1024 * 1024]),
        Ok(b"\"}".to_vec()),
    ];
    let response = app
        .client
        .post(app.url("/v1/tasks"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    problem_body(response, 413).await;
    assert_eq!(changes_nothing(&app).await["total"], 0);
}

async fn a_non_json_body_is_rejected(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .client
        .post(app.url("/v1/tasks"))
        .header("content-type", "text/plain")
        .body("title=t")
        .send()
        .await
        .unwrap();
    problem_body(response, 415).await;
    let response = app
        .client
        .post(app.url("/v1/tasks"))
        .body("{}")
        .send()
        .await
        .unwrap();
    problem_body(response, 415).await;
    assert_eq!(changes_nothing(&app).await["total"], 0);
}

async fn bad_list_parameters_are_rejected(backend: Backend) {
    let app = spawn_app(backend).await;
    for query in [
        "limit=0",
        "limit=1001",
        "limit=-1",
        "limit=abc",
        "offset=-1",
        "expires_before=yesterday",
        "expires_after=2026-01-01T00:00:00",
    ] {
        problem_body(app.get(&format!("/v1/tasks?{query}")).await, 400).await;
    }
    // A cursor is only what an earlier page of the same listing gave.
    app.create_task(json!({"title": "one"})).await;
    app.create_task(json!({"title": "two"})).await;
    let filtered = "/v1/tasks?limit=1&expires_after=2000-01-01T00:00:00Z";
    app.create_task(json!({"title": "e1", "expiry_dt": "2999-01-01T00:00:00Z"}))
        .await;
    app.create_task(json!({"title": "e2", "expiry_dt": "2999-01-02T00:00:00Z"}))
        .await;
    let page = json_body(app.get(filtered).await, 200).await;
    let other_listing = page["next_cursor"]
        .as_str()
        .expect("a next cursor")
        .to_owned();
    for query in [
        "cursor=".to_owned(),
        "cursor=0".to_owned(),
        "cursor=not-a-cursor".to_owned(),
        "cursor=%2B%2F%3D".to_owned(),
        format!("cursor={}", "A".repeat(300)),
        format!("cursor={other_listing}"),
        format!("cursor={other_listing}&offset=1&expires_after=2000-01-01T00:00:00Z"),
    ] {
        let problem = problem_body(app.get(&format!("/v1/tasks?{query}")).await, 400).await;
        let field = problem["errors"][0]["field"].as_str().unwrap_or_default();
        assert!(["cursor", "offset"].contains(&field), "{query}: {problem}");
    }
}

async fn bad_delete_ids_are_rejected(backend: Backend) {
    let app = spawn_app(backend).await;
    let task = app.create_task(json!({"title": "survivor"})).await;
    for query in ["ids=", "ids=abc", "ids=1,x", "ids=0", "ids=-3"] {
        problem_body(app.delete(&format!("/v1/tasks?{query}")).await, 400).await;
    }
    let too_many = (1..=1001)
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(",");
    problem_body(app.delete(&format!("/v1/tasks?ids={too_many}")).await, 400).await;
    assert_eq!(changes_nothing(&app).await["tasks"], json!([task]));
}

async fn a_bulk_replace_naming_an_id_twice_is_rejected(backend: Backend) {
    let app = spawn_app(backend).await;
    let task = app.create_task(json!({"title": "once"})).await;
    let body = json!({"tasks": [
        {"id": task["id"], "title": "first"},
        {"id": task["id"], "title": "second"},
    ]});
    let problem = problem_body(app.put_json("/v1/tasks", &body).await, 422).await;
    assert_eq!(problem["errors"][0]["field"], "tasks[1].id", "{problem}");
    let invalid = json!({"tasks": [{"id": task["id"], "title": " "}]});
    problem_body(app.put_json("/v1/tasks", &invalid).await, 400).await;
    problem_body(
        app.put_json("/v1/tasks", &json!({"tasks": [{"title": "no id"}]}))
            .await,
        400,
    )
    .await;
    problem_body(app.put_json("/v1/tasks", &json!({})).await, 400).await;
    assert_eq!(changes_nothing(&app).await["tasks"], json!([task]));
}

async fn a_patch_may_not_null_the_title(backend: Backend) {
    let app = spawn_app(backend).await;
    let task = app.create_task(json!({"title": "keep"})).await;
    let path = format!("/v1/tasks/{}", task["id"]);
    let problem = problem_body(app.patch_json(&path, &json!({"title": null})).await, 400).await;
    assert_eq!(problem["errors"][0]["field"], "title", "{problem}");
    problem_body(app.patch_json(&path, &json!({"title": ""})).await, 400).await;
    problem_body(
        app.patch_json(&path, &json!({"expiry_dt": "soon"})).await,
        400,
    )
    .await;
    assert_eq!(json_body(app.get(&path).await, 200).await, task);
}
