//! A task's priority: set on create, kept by a change that leaves it out
//! (a client that does not know it never clears it), cleared by `null`,
//! refused out of range by field name, replayed with an idempotent create,
//! and a value another tool stored served as stored.

use serde_json::{Value, json};
use sqlx::{Connection, MySqlConnection, SqliteConnection};

use crate::common::{Backend, TestApp, json_body, problem_body, spawn_app};

crate::on_both_backends!(
    a_priority_is_set_kept_by_changes_that_leave_it_out_and_cleared_by_null,
    a_priority_out_of_range_or_of_the_wrong_type_is_refused_by_name,
    a_bulk_replace_sets_and_keeps_priorities,
    a_retried_create_is_answered_with_its_priority,
    a_priority_another_tool_stored_is_served_as_stored,
);

async fn read(app: &TestApp, id: &Value) -> Value {
    json_body(app.get(&format!("/v1/tasks/{id}")).await, 200).await
}

async fn a_priority_is_set_kept_by_changes_that_leave_it_out_and_cleared_by_null(backend: Backend) {
    let app = spawn_app(backend).await;
    let task = app.create_task(json!({"title": "t", "priority": 4})).await;
    assert_eq!(task["priority"], 4);
    let id = &task["id"];
    assert_eq!(read(&app, id).await["priority"], 4);
    let plain = app.create_task(json!({"title": "no priority"})).await;
    assert_eq!(plain["priority"], Value::Null);

    // A client that knows nothing of priorities: PUT and PATCH keep it.
    let put = app
        .put_json(&format!("/v1/tasks/{id}"), &json!({"title": "renamed"}))
        .await;
    assert_eq!(json_body(put, 200).await["priority"], 4);
    let patch = app
        .patch_json(&format!("/v1/tasks/{id}"), &json!({"description": "d"}))
        .await;
    assert_eq!(json_body(patch, 200).await["priority"], 4);

    let raised = app
        .patch_json(&format!("/v1/tasks/{id}"), &json!({"priority": 5}))
        .await;
    assert_eq!(json_body(raised, 200).await["priority"], 5);
    let cleared = app
        .put_json(&format!("/v1/tasks/{id}"), &json!({"priority": null}))
        .await;
    assert_eq!(json_body(cleared, 200).await["priority"], Value::Null);
    assert_eq!(read(&app, id).await["priority"], Value::Null);
}

async fn a_priority_out_of_range_or_of_the_wrong_type_is_refused_by_name(backend: Backend) {
    let app = spawn_app(backend).await;
    for bad in [
        json!(0),
        json!(6),
        json!(-1),
        json!("3"),
        json!(2.5),
        json!(true),
    ] {
        let response = app
            .post_json("/v1/tasks", &json!({"title": "t", "priority": bad}))
            .await;
        let problem = problem_body(response, 400).await;
        let errors = problem["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{bad}: {problem}");
        assert_eq!(errors[0]["field"], "priority", "{bad}");
        assert_eq!(
            errors[0]["message"], "must be an integer from 1 to 5",
            "{bad}"
        );
    }
    let task = app.create_task(json!({"title": "t", "priority": 2})).await;
    let response = app
        .patch_json(
            &format!("/v1/tasks/{}", task["id"]),
            &json!({"priority": 9, "title": ""}),
        )
        .await;
    let problem = problem_body(response, 400).await;
    let mut fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort();
    assert_eq!(fields, ["priority", "title"], "{problem}");
    assert_eq!(
        read(&app, &task["id"]).await["priority"],
        2,
        "nothing written"
    );
    let listed = app.get("/v1/tasks").await;
    assert_eq!(
        json_body(listed, 200).await["tasks"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn a_bulk_replace_sets_and_keeps_priorities(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app.create_task(json!({"title": "a", "priority": 1})).await;
    let b = app.create_task(json!({"title": "b", "priority": 2})).await;
    let response = app
        .put_json(
            "/v1/tasks",
            &json!({"tasks": [
                {"id": a["id"], "priority": 3},
                {"id": b["id"], "title": "b2"},
            ]}),
        )
        .await;
    let written = json_body(response, 200).await;
    assert_eq!(written["tasks"][0]["priority"], 3);
    assert_eq!(written["tasks"][1]["priority"], 2);
    let response = app
        .put_json(
            "/v1/tasks",
            &json!({"tasks": [{"id": a["id"], "priority": 0}, {"id": b["id"], "priority": 1}]}),
        )
        .await;
    let problem = problem_body(response, 400).await;
    assert_eq!(
        problem["errors"][0]["field"], "tasks[0].priority",
        "{problem}"
    );
    assert_eq!(read(&app, &b["id"]).await["priority"], 2, "nothing written");
}

async fn a_retried_create_is_answered_with_its_priority(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = json!({"title": "once", "priority": 5});
    let send = || {
        app.client
            .post(app.url("/v1/tasks"))
            .header("Idempotency-Key", "priority-retry")
            .json(&body)
            .send()
    };
    let first = json_body(send().await.unwrap(), 201).await;
    let again = json_body(send().await.unwrap(), 201).await;
    assert_eq!(first, again);
    assert_eq!(again["priority"], 5);
    let other = app
        .client
        .post(app.url("/v1/tasks"))
        .header("Idempotency-Key", "priority-retry")
        .json(&json!({"title": "once", "priority": 4}))
        .send()
        .await
        .unwrap();
    problem_body(other, 422).await;
}

async fn a_priority_another_tool_stored_is_served_as_stored(backend: Backend) {
    let app = spawn_app(backend).await;
    let task = app.create_task(json!({"title": "t"})).await;
    let id = task["id"].as_i64().unwrap();
    let update = "UPDATE task SET priority = 9 WHERE id = ?";
    match backend {
        Backend::Sqlite => {
            let mut sql = SqliteConnection::connect(app.database.url()).await.unwrap();
            sqlx::query(update)
                .bind(id)
                .execute(&mut sql)
                .await
                .unwrap();
        }
        Backend::MySql => {
            let mut sql = MySqlConnection::connect(app.database.url()).await.unwrap();
            sqlx::query(update)
                .bind(id)
                .execute(&mut sql)
                .await
                .unwrap();
        }
    }
    let served = read(&app, &task["id"]).await;
    assert_eq!(served["priority"], 9);
    assert_ne!(served["update_dt"], task["update_dt"], "the version moved");
    // Sent back as served, it is out of range: the client is told so.
    let response = app
        .patch_json(&format!("/v1/tasks/{id}"), &json!({"priority": 9}))
        .await;
    assert_eq!(
        problem_body(response, 400).await["errors"][0]["field"],
        "priority"
    );
}
