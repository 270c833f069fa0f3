//! The task endpoints' success paths.

use serde_json::{Value, json};

use crate::common::{Backend, header, json_body, problem_body, spawn_app};

crate::on_both_backends!(
    creating_a_task_answers_201_with_its_location,
    a_created_task_can_be_read_back,
    listing_orders_by_id_and_pages,
    a_cursor_walk_sees_each_task_once_while_others_write,
    listing_filters_by_expiry,
    a_filtered_cursor_walk_sees_each_match_once_in_wide_and_narrow_windows,
    replacing_a_task_keeps_what_it_leaves_out_and_clears_nulls,
    patching_leaves_absent_fields_and_clears_nulls,
    bulk_replace_updates_every_task,
    bulk_replace_keeps_what_each_item_leaves_out,
    bulk_replace_with_a_missing_id_changes_nothing,
    deleting_all_tasks_counts_them,
    deleting_by_ids_deletes_only_those,
    deleting_one_task_answers_204_then_404,
    an_offset_time_comes_back_as_the_same_instant_in_utc,
    quotes_and_non_ascii_text_are_stored_verbatim,
);

async fn creating_a_task_answers_201_with_its_location(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .post_json(
            "/v1/tasks",
            &json!({"title": "  Pay rent  ", "description": "by transfer"}),
        )
        .await;
    let location = header(&response, "location");
    let task = json_body(response, 201).await;
    assert_eq!(location, format!("/v1/tasks/{}", task["id"]));
    assert_eq!(task["title"], "Pay rent");
    assert_eq!(task["description"], "by transfer");
    assert_eq!(task["expiry_dt"], Value::Null);
    assert_eq!(task["create_dt"], task["update_dt"]);
    assert!(task["create_dt"].as_str().unwrap().ends_with('Z'));
}

async fn a_created_task_can_be_read_back(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = app
        .create_task(json!({"title": "Read me", "expiry_dt": "2030-05-01T12:30:00Z"}))
        .await;
    let read = json_body(app.get(&format!("/v1/tasks/{}", created["id"])).await, 200).await;
    assert_eq!(read, created);
    let missing = problem_body(app.get("/v1/tasks/999999").await, 404).await;
    assert_eq!(missing["missing_ids"], json!([999999]));
}

async fn listing_orders_by_id_and_pages(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(app.create_task(json!({"title": format!("task {n}")})).await["id"].clone());
    }
    let all = json_body(app.get("/v1/tasks?count=true").await, 200).await;
    assert_eq!(all["total"], 5);
    assert_eq!(all["next_cursor"], Value::Null);
    assert_eq!(all["limit"], 100);
    assert_eq!(all["offset"], 0);
    let listed: Vec<Value> = all["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].clone())
        .collect();
    assert_eq!(listed, ids);

    let page = json_body(app.get("/v1/tasks?limit=2&offset=1&count=true").await, 200).await;
    assert_eq!(page["total"], 5);
    assert_eq!(page["limit"], 2);
    assert_eq!(page["offset"], 1);
    let paged: Vec<Value> = page["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].clone())
        .collect();
    assert_eq!(paged, ids[1..3].to_vec());

    let beyond = json_body(app.get("/v1/tasks?offset=50&count=true").await, 200).await;
    assert_eq!(beyond["tasks"], json!([]));
    assert_eq!(beyond["total"], 5);
    // Without `count`, no total is computed at all.
    let uncounted = json_body(app.get("/v1/tasks").await, 200).await;
    assert!(uncounted.get("total").is_none(), "{uncounted}");
}

/// Following `next_cursor` (or the `Link` header) visits every task that
/// exists throughout exactly once, whatever is inserted or deleted meanwhile;
/// `total` comes only when asked for.
async fn a_cursor_walk_sees_each_task_once_while_others_write(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut ids = Vec::new();
    for n in 0..7 {
        ids.push(app.create_task(json!({"title": format!("walk {n}")})).await["id"].clone());
    }
    let mut seen = Vec::new();
    let mut path = "/v1/tasks?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let response = app.get(&path).await;
        let link = header(&response, "link");
        let page = json_body(response, 200).await;
        assert_eq!(page.get("total"), None, "no count unless asked: {page}");
        pages += 1;
        seen.extend(
            page["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].clone()),
        );
        if pages == 1 {
            // Between pages: one already seen and one not yet seen go, a
            // new one comes (after every other, so the walk reaches it).
            app.delete(&format!("/v1/tasks/{}", ids[0])).await;
            app.delete(&format!("/v1/tasks/{}", ids[4])).await;
            ids.push(app.create_task(json!({"title": "late"})).await["id"].clone());
        }
        let Some(cursor) = page["next_cursor"].as_str() else {
            assert!(link.is_empty(), "no Link on the last page: {link}");
            break;
        };
        assert!(
            link.contains(&format!("cursor={cursor}")) && link.ends_with("rel=\"next\""),
            "{link}"
        );
        path = format!("/v1/tasks?limit=2&cursor={cursor}");
        assert!(pages < 10, "the walk does not end");
    }
    let expected: Vec<Value> = ids
        .iter()
        .enumerate()
        .filter(|(n, _)| *n != 4)
        .map(|(_, id)| id.clone())
        .collect();
    assert_eq!(
        seen, expected,
        "each once, in id order, the deleted one skipped"
    );
    let counted = json_body(app.get("/v1/tasks?limit=2&count=true").await, 200).await;
    assert_eq!(counted["total"], 6);
}

async fn listing_filters_by_expiry(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_task(json!({"title": "none"})).await;
    let early = app
        .create_task(json!({"title": "early", "expiry_dt": "2030-01-01T00:00:00Z"}))
        .await;
    let mid = app
        .create_task(json!({"title": "mid", "expiry_dt": "2030-06-01T00:00:00Z"}))
        .await;
    let late = app
        .create_task(json!({"title": "late", "expiry_dt": "2031-01-01T00:00:00Z"}))
        .await;
    let ids = |page: &Value| -> Vec<Value> {
        page["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].clone())
            .collect()
    };

    // `+08:00` is the same instant as 2030-05-31T16:00Z: `mid` is not before it.
    let before = json_body(
        app.get("/v1/tasks?count=true&expires_before=2030-06-01T08:00:00%2B08:00")
            .await,
        200,
    )
    .await;
    assert_eq!(ids(&before), vec![early["id"].clone()]);
    assert_eq!(before["total"], 1);

    let after = json_body(
        app.get("/v1/tasks?expires_after=2030-06-01T00:00:00Z")
            .await,
        200,
    )
    .await;
    assert_eq!(ids(&after), vec![mid["id"].clone(), late["id"].clone()]);

    let window = json_body(
        app.get("/v1/tasks?expires_after=2030-01-01T00:00:00Z&expires_before=2031-01-01T00:00:00Z")
            .await,
        200,
    )
    .await;
    assert_eq!(ids(&window), vec![early["id"].clone(), mid["id"].clone()]);
}

/// The store reads a wide window along the primary key and a narrow one
/// along the expiry index (SQLite: chosen per request); both walks must
/// visit every match once, in id order. 120 tasks, every other in 2030
/// (60: wide for pages of 5), six of those in March (narrow).
async fn a_filtered_cursor_walk_sees_each_match_once_in_wide_and_narrow_windows(backend: Backend) {
    let app = spawn_app(backend).await;
    let (mut in_2030, mut in_march) = (Vec::new(), Vec::new());
    for n in 0..120u32 {
        let expiry = if n % 2 == 1 {
            "2031-06-01T00:00:00Z".to_owned()
        } else if n % 20 == 0 {
            format!("2030-03-{:02}T12:00:00Z", 1 + n / 20)
        } else {
            format!("2030-{:02}-10T00:00:00Z", 4 + n % 9)
        };
        let task = app
            .create_task(json!({"title": format!("window {n}"), "expiry_dt": expiry}))
            .await;
        if n % 2 == 0 {
            in_2030.push(task["id"].clone());
        }
        if n % 20 == 0 {
            in_march.push(task["id"].clone());
        }
    }
    let walk = |filter: &'static str| {
        let app = &app;
        async move {
            let mut seen = Vec::new();
            let mut path = format!("/v1/tasks?limit=5&{filter}");
            loop {
                let page = json_body(app.get(&path).await, 200).await;
                seen.extend(
                    page["tasks"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|t| t["id"].clone()),
                );
                let Some(cursor) = page["next_cursor"].as_str() else {
                    return seen;
                };
                path = format!("/v1/tasks?limit=5&{filter}&cursor={cursor}");
                assert!(seen.len() <= 120, "the walk does not end");
            }
        }
    };
    assert_eq!(
        walk("expires_after=2030-01-01T00:00:00Z&expires_before=2031-01-01T00:00:00Z").await,
        in_2030
    );
    assert_eq!(
        walk("expires_after=2030-03-01T00:00:00Z&expires_before=2030-04-01T00:00:00Z").await,
        in_march
    );
    // Offsets take the same two plans.
    let offset = json_body(
        app.get("/v1/tasks?limit=5&offset=50&expires_before=2031-01-01T00:00:00Z")
            .await,
        200,
    )
    .await;
    let ids: Vec<Value> = offset["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].clone())
        .collect();
    assert_eq!(ids, in_2030[50..55]);
}

/// The original service's rule, which its clients rely on: a `PUT` that
/// leaves a field out keeps it; `null` clears it.
async fn replacing_a_task_keeps_what_it_leaves_out_and_clears_nulls(backend: Backend) {
    let app = spawn_app(backend).await;
    let task = app
        .create_task(
            json!({"title": "old", "description": "old text", "expiry_dt": "2030-01-01T00:00:00Z"}),
        )
        .await;
    let path = format!("/v1/tasks/{}", task["id"]);
    let replaced = json_body(app.put_json(&path, &json!({"title": "new"})).await, 200).await;
    assert_eq!(replaced["id"], task["id"]);
    assert_eq!(replaced["title"], "new");
    assert_eq!(replaced["description"], "old text");
    assert_eq!(replaced["expiry_dt"], "2030-01-01T00:00:00Z");
    assert_eq!(replaced["create_dt"], task["create_dt"]);
    assert!(replaced["update_dt"].as_str() >= task["update_dt"].as_str());
    assert_eq!(json_body(app.get(&path).await, 200).await, replaced);

    let cleared = json_body(
        app.put_json(&path, &json!({"description": null, "expiry_dt": null}))
            .await,
        200,
    )
    .await;
    assert_eq!(cleared["title"], "new");
    assert_eq!(cleared["description"], Value::Null);
    assert_eq!(cleared["expiry_dt"], Value::Null);
    assert_eq!(json_body(app.get(&path).await, 200).await, cleared);

    let problem = problem_body(app.put_json(&path, &json!({"title": null})).await, 400).await;
    assert_eq!(problem["errors"][0]["field"], "title", "{problem}");
    // Every mistake at once: a bad title is named beside a bad time.
    let problem = problem_body(
        app.put_json(&path, &json!({"title": " ", "expiry_dt": "soon"}))
            .await,
        400,
    )
    .await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["expiry_dt", "title"], "{problem}");
    problem_body(app.put_json(&path, &json!({"title": ""})).await, 400).await;
    assert_eq!(json_body(app.get(&path).await, 200).await, cleared);
    problem_body(
        app.put_json("/v1/tasks/999999", &json!({"title": "x"}))
            .await,
        404,
    )
    .await;
}

async fn patching_leaves_absent_fields_and_clears_nulls(backend: Backend) {
    let app = spawn_app(backend).await;
    let task = app
        .create_task(
            json!({"title": "t", "description": "keep me", "expiry_dt": "2030-01-01T00:00:00Z"}),
        )
        .await;
    let path = format!("/v1/tasks/{}", task["id"]);

    let renamed = json_body(
        app.patch_json(&path, &json!({"title": "renamed"})).await,
        200,
    )
    .await;
    assert_eq!(renamed["title"], "renamed");
    assert_eq!(renamed["description"], "keep me");
    assert_eq!(renamed["expiry_dt"], "2030-01-01T00:00:00Z");

    let cleared = json_body(
        app.patch_json(&path, &json!({"expiry_dt": null})).await,
        200,
    )
    .await;
    assert_eq!(cleared["expiry_dt"], Value::Null);
    assert_eq!(cleared["description"], "keep me");

    let merge_patch = app
        .client
        .patch(app.url(&path))
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"description": null}"#)
        .send()
        .await
        .unwrap();
    let patched = json_body(merge_patch, 200).await;
    assert_eq!(patched["description"], Value::Null);
    assert_eq!(patched["title"], "renamed");

    let unchanged = json_body(app.patch_json(&path, &json!({})).await, 200).await;
    assert_eq!(unchanged["title"], "renamed");
    problem_body(
        app.patch_json("/v1/tasks/999999", &json!({"title": "x"}))
            .await,
        404,
    )
    .await;
}

async fn bulk_replace_updates_every_task(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app.create_task(json!({"title": "a"})).await;
    let b = app
        .create_task(json!({"title": "b", "description": "gone soon"}))
        .await;
    let body = json!({"tasks": [
        {"id": a["id"], "title": "A", "expiry_dt": "2030-01-01T08:00:00+08:00"},
        {"id": b["id"], "title": "B"},
    ]});
    let updated = json_body(app.put_json("/v1/tasks", &body).await, 200).await;
    let tasks = updated["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 2);
    assert_eq!(tasks[0]["title"], "A");
    assert_eq!(tasks[0]["expiry_dt"], "2030-01-01T00:00:00Z");
    assert_eq!(tasks[1]["title"], "B");
    assert_eq!(tasks[1]["description"], "gone soon", "left out, so kept");
    let stored_b = json_body(app.get(&format!("/v1/tasks/{}", b["id"])).await, 200).await;
    assert_eq!(&stored_b, &tasks[1]);
}

async fn bulk_replace_keeps_what_each_item_leaves_out(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app
        .create_task(
            json!({"title": "a", "description": "keep a", "expiry_dt": "2030-01-01T00:00:00Z"}),
        )
        .await;
    let b = app
        .create_task(
            json!({"title": "b", "description": "clear b", "expiry_dt": "2031-01-01T00:00:00Z"}),
        )
        .await;
    let body = json!({"tasks": [
        {"id": a["id"], "title": "A"},
        {"id": b["id"], "description": null},
    ]});
    let updated = json_body(app.put_json("/v1/tasks", &body).await, 200).await;
    let tasks = updated["tasks"].as_array().unwrap();
    assert_eq!(
        (
            &tasks[0]["title"],
            &tasks[0]["description"],
            &tasks[0]["expiry_dt"]
        ),
        (
            &json!("A"),
            &json!("keep a"),
            &json!("2030-01-01T00:00:00Z")
        )
    );
    assert_eq!(
        (
            &tasks[1]["title"],
            &tasks[1]["description"],
            &tasks[1]["expiry_dt"]
        ),
        (&json!("b"), &Value::Null, &json!("2031-01-01T00:00:00Z"))
    );
    for task in tasks {
        let stored = json_body(app.get(&format!("/v1/tasks/{}", task["id"])).await, 200).await;
        assert_eq!(&stored, task);
    }
    // A bad title is named by its item, and nothing is written.
    let body = json!({"tasks": [
        {"id": a["id"], "title": "fine"},
        {"id": b["id"], "title": ""},
    ]});
    let problem = problem_body(app.put_json("/v1/tasks", &body).await, 400).await;
    assert_eq!(problem["errors"][0]["field"], "tasks[1].title", "{problem}");
    let stored_a = json_body(app.get(&format!("/v1/tasks/{}", a["id"])).await, 200).await;
    assert_eq!(&stored_a, &tasks[0]);
}

async fn bulk_replace_with_a_missing_id_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app.create_task(json!({"title": "a"})).await;
    let body = json!({"tasks": [
        {"id": a["id"], "title": "changed"},
        {"id": 999998, "title": "ghost"},
        {"id": 999999, "title": "ghost"},
    ]});
    let problem = problem_body(app.put_json("/v1/tasks", &body).await, 404).await;
    assert_eq!(problem["missing_ids"], json!([999998, 999999]));
    let stored = json_body(app.get(&format!("/v1/tasks/{}", a["id"])).await, 200).await;
    assert_eq!(stored, a);
}

async fn deleting_all_tasks_counts_them(backend: Backend) {
    let app = spawn_app(backend).await;
    for n in 0..3 {
        app.create_task(json!({"title": format!("t{n}")})).await;
    }
    let result = json_body(app.delete("/v1/tasks?all=true").await, 200).await;
    assert_eq!(result, json!({"deleted": 3}));
    let page = json_body(app.get("/v1/tasks?count=true").await, 200).await;
    assert_eq!(page["total"], 0);
}

async fn deleting_by_ids_deletes_only_those(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app.create_task(json!({"title": "a"})).await;
    let b = app.create_task(json!({"title": "b"})).await;
    let c = app.create_task(json!({"title": "c"})).await;
    let result = json_body(
        app.delete(&format!("/v1/tasks?ids={},{},999999", a["id"], c["id"]))
            .await,
        200,
    )
    .await;
    assert_eq!(result, json!({"deleted": 2}));
    let page = json_body(app.get("/v1/tasks").await, 200).await;
    assert_eq!(page["tasks"], json!([b]));

    // Repeated `ids`, as many client generators send them, count too.
    let d = app.create_task(json!({"title": "d"})).await;
    let repeated = app
        .delete(&format!("/v1/tasks?ids={}&ids={}", b["id"], d["id"]))
        .await;
    assert_eq!(json_body(repeated, 200).await, json!({"deleted": 2}));
}

async fn deleting_one_task_answers_204_then_404(backend: Backend) {
    let app = spawn_app(backend).await;
    let task = app.create_task(json!({"title": "bye"})).await;
    let path = format!("/v1/tasks/{}", task["id"]);
    let response = app.delete(&path).await;
    assert_eq!(response.status(), 204);
    assert_eq!(response.text().await.unwrap(), "");
    problem_body(app.get(&path).await, 404).await;
    problem_body(app.delete(&path).await, 404).await;
}

async fn an_offset_time_comes_back_as_the_same_instant_in_utc(backend: Backend) {
    let app = spawn_app(backend).await;
    let task = app
        .create_task(json!({"title": "tz", "expiry_dt": "2026-01-01T10:00:00+08:00"}))
        .await;
    assert_eq!(task["expiry_dt"], "2026-01-01T02:00:00Z");
    let precise = app
        .create_task(json!({"title": "us", "expiry_dt": "2026-03-01T12:00:00.123456789-02:30"}))
        .await;
    assert_eq!(precise["expiry_dt"], "2026-03-01T14:30:00.123456Z");
    let read = json_body(app.get(&format!("/v1/tasks/{}", precise["id"])).await, 200).await;
    assert_eq!(read["expiry_dt"], "2026-03-01T14:30:00.123456Z");
}

async fn quotes_and_non_ascii_text_are_stored_verbatim(backend: Backend) {
    let app = spawn_app(backend).await;
    let title = r#"Ünïcødé 🚀 "double" 'single' \back\slash; DROP TABLE task;--"#;
    let description = "  line one\n\tline two — 日本語 😀 \"quoted\"  ";
    let task = app
        .create_task(json!({"title": title, "description": description}))
        .await;
    let read = json_body(app.get(&format!("/v1/tasks/{}", task["id"])).await, 200).await;
    assert_eq!(read["title"], title);
    assert_eq!(read["description"], description);
    let long_title = "é".repeat(255);
    let long = app.create_task(json!({"title": long_title})).await;
    assert_eq!(long["title"], long_title.as_str());
}
