//! A task's labels: a set compared without regard to case, kept in the
//! order and case first written; set on create, kept by a change that
//! leaves them out, cleared by `null` or `[]`, replaced by a list; each
//! mistake named by its path; a listing filtered by one label or several,
//! in every order, counted and walked by cursor; rows another tool writes
//! (plain SQL, bad JSON included) indexed and served without a 500; and an
//! export and import that keep them.

use serde_json::{Value, json};
use sqlx::{Connection, MySqlConnection, SqliteConnection};

use crate::archive::{export, import};
use crate::common::{Backend, TestApp, TestDatabase, json_body, problem_body, spawn_app, start};

crate::on_both_backends!(
    labels_are_a_set_in_the_order_and_case_first_written,
    each_label_mistake_is_named_by_its_path_with_the_other_mistakes,
    labels_are_kept_by_changes_that_leave_them_out_and_cleared_or_replaced_by_those_that_send_them,
    a_bulk_replace_keeps_clears_and_replaces_labels_item_by_item,
    a_retried_create_is_answered_with_its_labels,
    a_listing_filters_by_every_label_asked_for_without_regard_to_case,
    a_cursor_walk_under_a_label_filter_sees_each_labelled_task_once,
    a_bad_label_parameter_is_refused_by_name,
    rows_another_tool_writes_are_indexed_and_served_without_an_error,
    an_export_and_import_keep_the_labels_and_their_index,
);

async fn read(app: &TestApp, id: &Value) -> Value {
    json_body(app.get(&format!("/v1/tasks/{id}")).await, 200).await
}

fn labels_of(task: &Value) -> Vec<&str> {
    task["labels"]
        .as_array()
        .unwrap_or_else(|| panic!("labels is an array: {task}"))
        .iter()
        .map(|label| label.as_str().unwrap())
        .collect()
}

/// The ids a listing shows, in its order.
async fn listed(app: &TestApp, query: &str) -> Vec<i64> {
    let page = json_body(app.get(&format!("/v1/tasks?{query}")).await, 200).await;
    page["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|task| task["id"].as_i64().unwrap())
        .collect()
}

async fn post_empty(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.post(app.url(path)).send().await.unwrap()
}

fn fields_of(problem: &Value) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = problem["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("errors: {problem}"))
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    fields.sort();
    fields
}

/// Runs one statement as another tool would, on the test's database.
async fn plain_sql(app: &TestApp, backend: Backend, statement: &'static str, binds: &[&str]) {
    match backend {
        Backend::Sqlite => {
            let mut conn = SqliteConnection::connect(app.database.url()).await.unwrap();
            let mut query = sqlx::query(statement);
            for bind in binds {
                query = query.bind(*bind);
            }
            query.execute(&mut conn).await.unwrap();
            conn.close().await.unwrap();
        }
        Backend::MySql => {
            let mut conn = MySqlConnection::connect(app.database.url()).await.unwrap();
            let mut query = sqlx::query(statement);
            for bind in binds {
                query = query.bind(*bind);
            }
            query.execute(&mut conn).await.unwrap();
            conn.close().await.unwrap();
        }
    }
}

async fn labels_are_a_set_in_the_order_and_case_first_written(backend: Backend) {
    let app = spawn_app(backend).await;
    let task = app
        .create_task(json!({
            "title": "t",
            "labels": ["Work", " home\u{3000}", "WORK", "Home", "Ärger", "ärger", "errands"],
        }))
        .await;
    assert_eq!(labels_of(&task), ["Work", "home", "Ärger", "errands"]);
    assert_eq!(labels_of(&read(&app, &task["id"]).await), labels_of(&task));

    for none in [
        json!({"title": "plain"}),
        json!({"title": "n", "labels": null}),
    ] {
        let plain = app.create_task(none).await;
        assert_eq!(plain["labels"], json!([]), "always present");
        assert_eq!(read(&app, &plain["id"]).await["labels"], json!([]));
    }
}

async fn each_label_mistake_is_named_by_its_path_with_the_other_mistakes(backend: Backend) {
    let app = spawn_app(backend).await;
    let long = "x".repeat(65);
    let response = app
        .post_json(
            "/v1/tasks",
            &json!({
                "title": " ",
                "priority": 9,
                "labels": ["ok", "  ", "bell\u{7}", long, 5, "x".repeat(64)],
            }),
        )
        .await;
    let problem = problem_body(response, 400).await;
    let fields = fields_of(&problem);
    let named: Vec<&str> = fields.iter().map(|(field, _)| field.as_str()).collect();
    assert_eq!(
        named,
        [
            "labels[1]",
            "labels[2]",
            "labels[3]",
            "labels[4]",
            "priority",
            "title"
        ],
        "{problem}"
    );
    assert_eq!(fields[0].1, "must not be empty or only white space");
    assert_eq!(fields[1].1, "must not contain control characters");
    assert_eq!(fields[2].1, "must be at most 64 characters");
    assert_eq!(fields[3].1, "must be a string");

    let too_many: Vec<String> = (0..21).map(|n| format!("l{n}")).collect();
    for (body, field, message) in [
        (
            json!({"title": "t", "labels": too_many}),
            "labels",
            "must hold at most 20 items",
        ),
        (
            json!({"title": "t", "labels": "work"}),
            "labels",
            "must be an array",
        ),
    ] {
        let problem = problem_body(app.post_json("/v1/tasks", &body).await, 400).await;
        assert_eq!(
            fields_of(&problem),
            [(field.to_owned(), message.to_owned())],
            "{body}"
        );
    }

    let task = app
        .create_task(json!({"title": "t", "labels": ["kept"]}))
        .await;
    let id = &task["id"];
    for (method, body) in [
        ("put", json!({"labels": ["fine", ""], "expiry_dt": "soon"})),
        (
            "patch",
            json!({"labels": ["fine", ""], "expiry_dt": "soon"}),
        ),
    ] {
        let path = format!("/v1/tasks/{id}");
        let response = match method {
            "put" => app.put_json(&path, &body).await,
            _ => app.patch_json(&path, &body).await,
        };
        let problem = problem_body(response, 400).await;
        let named: Vec<String> = fields_of(&problem).into_iter().map(|(f, _)| f).collect();
        assert_eq!(named, ["expiry_dt", "labels[1]"], "{method}: {problem}");
    }
    let response = app
        .put_json(
            "/v1/tasks",
            &json!({"tasks": [
                {"id": id, "labels": ["fine"]},
                {"id": id, "labels": ["\u{0}"], "description": 1},
            ]}),
        )
        .await;
    let problem = problem_body(response, 400).await;
    let named: Vec<String> = fields_of(&problem).into_iter().map(|(f, _)| f).collect();
    assert_eq!(
        named,
        ["tasks[1].description", "tasks[1].labels[0]"],
        "{problem}"
    );
    assert_eq!(
        labels_of(&read(&app, id).await),
        ["kept"],
        "nothing written"
    );
}

async fn labels_are_kept_by_changes_that_leave_them_out_and_cleared_or_replaced_by_those_that_send_them(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let task = app
        .create_task(json!({"title": "t", "labels": ["Work", "home"]}))
        .await;
    let id = &task["id"];
    let path = format!("/v1/tasks/{id}");

    // A client that knows nothing of labels: PUT and PATCH keep them, and
    // so do completing and reopening.
    let put = app.put_json(&path, &json!({"title": "renamed"})).await;
    assert_eq!(labels_of(&json_body(put, 200).await), ["Work", "home"]);
    let patch = app.patch_json(&path, &json!({"description": "d"})).await;
    assert_eq!(labels_of(&json_body(patch, 200).await), ["Work", "home"]);
    for change in ["complete", "reopen"] {
        let changed = post_empty(&app, &format!("{path}/{change}")).await;
        assert_eq!(labels_of(&json_body(changed, 200).await), ["Work", "home"]);
    }
    assert_eq!(listed(&app, "label=work").await, [id.as_i64().unwrap()]);

    // A value replaces them; the index follows.
    let replaced = app
        .patch_json(&path, &json!({"labels": ["Errands", "WORK"]}))
        .await;
    assert_eq!(
        labels_of(&json_body(replaced, 200).await),
        ["Errands", "WORK"]
    );
    assert_eq!(listed(&app, "label=home").await, Vec::<i64>::new());
    assert_eq!(listed(&app, "label=errands").await, [id.as_i64().unwrap()]);
    // A change of case alone (the keys stay the same), of a label outside
    // ASCII too, is still written and still found.
    let recased = app
        .put_json(&path, &json!({"labels": ["ärger", "work"]}))
        .await;
    assert_eq!(labels_of(&json_body(recased, 200).await), ["ärger", "work"]);
    let recased = app
        .put_json(&path, &json!({"labels": ["ÄRGER", "work"]}))
        .await;
    assert_eq!(labels_of(&json_body(recased, 200).await), ["ÄRGER", "work"]);
    assert_eq!(listed(&app, "label=ärger").await, [id.as_i64().unwrap()]);
    assert_eq!(listed(&app, "label=Ärger").await, [id.as_i64().unwrap()]);

    // `null` and `[]` clear them, with PUT and with PATCH.
    for (clear, put) in [
        (json!(null), true),
        (json!([]), true),
        (json!(null), false),
        (json!([]), false),
    ] {
        let set = app.patch_json(&path, &json!({"labels": ["again"]})).await;
        assert_eq!(labels_of(&json_body(set, 200).await), ["again"]);
        let body = json!({ "labels": clear });
        let response = if put {
            app.put_json(&path, &body).await
        } else {
            app.patch_json(&path, &body).await
        };
        assert_eq!(json_body(response, 200).await["labels"], json!([]));
        assert_eq!(read(&app, id).await["labels"], json!([]));
        assert_eq!(listed(&app, "label=again").await, Vec::<i64>::new());
    }
}

async fn a_bulk_replace_keeps_clears_and_replaces_labels_item_by_item(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app
        .create_task(json!({"title": "a", "labels": ["a"]}))
        .await;
    let b = app
        .create_task(json!({"title": "b", "labels": ["b"]}))
        .await;
    let c = app
        .create_task(json!({"title": "c", "labels": ["c"]}))
        .await;
    let response = app
        .put_json(
            "/v1/tasks",
            &json!({"tasks": [
                {"id": a["id"], "title": "a2"},
                {"id": b["id"], "labels": null},
                {"id": c["id"], "labels": ["C", "shared"]},
            ]}),
        )
        .await;
    let written = json_body(response, 200).await;
    assert_eq!(labels_of(&written["tasks"][0]), ["a"]);
    assert_eq!(written["tasks"][1]["labels"], json!([]));
    assert_eq!(labels_of(&written["tasks"][2]), ["C", "shared"]);
    assert_eq!(listed(&app, "label=b").await, Vec::<i64>::new());
    assert_eq!(
        listed(&app, "label=shared&label=c").await,
        [c["id"].as_i64().unwrap()]
    );
}

async fn a_retried_create_is_answered_with_its_labels(backend: Backend) {
    let app = spawn_app(backend).await;
    let send = |body: Value| {
        app.client
            .post(app.url("/v1/tasks"))
            .header("Idempotency-Key", "labels-retry")
            .json(&body)
            .send()
    };
    let body = json!({"title": "once", "labels": ["Rent", "home"]});
    let first = json_body(send(body.clone()).await.unwrap(), 201).await;
    let again = json_body(send(body).await.unwrap(), 201).await;
    assert_eq!(first, again);
    assert_eq!(labels_of(&again), ["Rent", "home"]);
    // The same labels, repeated and spaced: the same request.
    let same = json!({"title": "once", "labels": ["Rent", " home", "RENT"]});
    assert_eq!(json_body(send(same).await.unwrap(), 201).await, first);
    // Other labels, or none: another request under the same key.
    for other in [
        json!({"title": "once", "labels": ["rent", "home"]}),
        json!({"title": "once"}),
    ] {
        problem_body(send(other).await.unwrap(), 422).await;
    }
    assert_eq!(listed(&app, "label=rent").await.len(), 1, "one task");
}

async fn a_listing_filters_by_every_label_asked_for_without_regard_to_case(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut ids = Vec::new();
    for (title, labels, priority, expiry) in [
        ("w1", json!(["Work"]), 1, "2030-01-03T00:00:00Z"),
        ("wh", json!(["work", "Home"]), 3, "2030-01-01T00:00:00Z"),
        ("h", json!(["home"]), 2, "2030-01-02T00:00:00Z"),
        ("w2", json!(["WORK", "urgent"]), 5, "2030-01-04T00:00:00Z"),
        ("none", json!([]), 4, "2030-01-05T00:00:00Z"),
    ] {
        let task = app
            .create_task(json!({
                "title": title, "labels": labels, "priority": priority, "expiry_dt": expiry,
            }))
            .await;
        ids.push(task["id"].as_i64().unwrap());
    }
    let [w1, wh, h, w2, _none] = ids[..] else {
        unreachable!()
    };
    let done = post_empty(&app, &format!("/v1/tasks/{w2}/complete")).await;
    json_body(done, 200).await;

    assert_eq!(listed(&app, "label=work").await, [w1, wh, w2]);
    assert_eq!(listed(&app, "label=WoRk").await, [w1, wh, w2]);
    assert_eq!(listed(&app, "label=%20work%20").await, [w1, wh, w2]);
    assert_eq!(listed(&app, "label=work&label=HOME").await, [wh]);
    assert_eq!(listed(&app, "label=work&label=work").await, [w1, wh, w2]);
    assert_eq!(
        listed(&app, "label=home&label=urgent").await,
        Vec::<i64>::new()
    );
    assert_eq!(listed(&app, "label=nobody").await, Vec::<i64>::new());
    assert_eq!(listed(&app, "label=work&order=desc").await, [w2, wh, w1]);
    assert_eq!(
        listed(&app, "label=work&sort=priority&order=desc").await,
        [w2, wh, w1]
    );
    assert_eq!(
        listed(&app, "label=work&sort=expiry_dt").await,
        [wh, w1, w2]
    );
    assert_eq!(listed(&app, "label=work&status=open").await, [w1, wh]);
    assert_eq!(listed(&app, "label=work&status=done").await, [w2]);
    assert_eq!(
        listed(
            &app,
            "label=work&expires_after=2030-01-02T00:00:00Z&expires_before=2030-01-04T00:00:00Z"
        )
        .await,
        [w1]
    );
    assert_eq!(
        listed(&app, "label=home&sort=update_dt&order=desc").await,
        [h, wh]
    );

    let counted = json_body(
        app.get("/v1/tasks?label=work&count=true&limit=1").await,
        200,
    )
    .await;
    assert_eq!(counted["total"], 3);
    assert_eq!(counted["tasks"].as_array().unwrap().len(), 1);
    let counted = json_body(
        app.get("/v1/tasks?label=work&status=open&sort=expiry_dt&count=true")
            .await,
        200,
    )
    .await;
    assert_eq!(counted["total"], 2);
    let offset = listed(&app, "label=work&sort=expiry_dt&offset=2").await;
    assert_eq!(offset, [w2]);
}

async fn a_cursor_walk_under_a_label_filter_sees_each_labelled_task_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut labelled = Vec::new();
    for n in 0..13 {
        let labels = if n % 3 == 0 {
            json!(["other"])
        } else {
            json!(["Walk", format!("n{n}")])
        };
        let expiry = (n % 2 == 0).then(|| format!("2030-01-{:02}T00:00:00Z", 20 - n));
        let task = app
            .create_task(json!({"title": format!("t{n}"), "labels": labels, "expiry_dt": expiry}))
            .await;
        if n % 3 != 0 {
            labelled.push(task["id"].as_i64().unwrap());
        }
    }
    for (order, query) in [
        ("id", "label=walk&limit=2"),
        (
            "expiry desc",
            "label=WALK&sort=expiry_dt&order=desc&limit=3",
        ),
        ("update", "label=walk&sort=update_dt&limit=4&count=true"),
    ] {
        let mut seen = Vec::new();
        let mut next = format!("/v1/tasks?{query}");
        let mut first_cursor = None;
        loop {
            let page = json_body(app.get(&next).await, 200).await;
            seen.extend(
                page["tasks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|task| task["id"].as_i64().unwrap()),
            );
            let Some(cursor) = page["next_cursor"].as_str() else {
                break;
            };
            first_cursor.get_or_insert_with(|| cursor.to_owned());
            next = format!("/v1/tasks?{query}&cursor={cursor}");
        }
        seen.sort_unstable();
        assert_eq!(seen, labelled, "{order}");
        // An offset that reaches into the tail without an expiry counts
        // only labelled tasks with one.
        let by_expiry = listed(&app, "label=walk&sort=expiry_dt&limit=100").await;
        assert_eq!(by_expiry.len(), labelled.len());
        let deep = listed(&app, "label=walk&sort=expiry_dt&offset=5").await;
        assert_eq!(deep, by_expiry[5..], "{order}");
        // A cursor belongs to its label set: another is refused, while the
        // same set in another case or order is the same listing.
        let cursor = first_cursor.expect("more than one page");
        let other = app
            .get(&format!(
                "/v1/tasks?{}&cursor={cursor}",
                query
                    .replace("label=walk", "label=other")
                    .replace("label=WALK", "label=other")
            ))
            .await;
        assert_eq!(
            problem_body(other, 400).await["errors"][0]["field"],
            "cursor",
            "{order}"
        );
        let more = app
            .get(&format!("/v1/tasks?{}&label=n1&cursor={cursor}", query))
            .await;
        problem_body(more, 400).await;
        let recased = app
            .get(&format!(
                "/v1/tasks?{}&cursor={cursor}",
                query
                    .replace("label=walk", "label=Walk")
                    .replace("label=WALK", "label=wAlK")
            ))
            .await;
        json_body(recased, 200).await;
    }
}

async fn a_bad_label_parameter_is_refused_by_name(backend: Backend) {
    let app = spawn_app(backend).await;
    let long = "x".repeat(65);
    let too_many: String = (0..21).map(|n| format!("label=l{n}&")).collect();
    for query in [
        "label=".to_owned(),
        "label=%20%20".to_owned(),
        format!("label={long}"),
        "label=a%07b".to_owned(),
        "label=ok&label=".to_owned(),
        too_many,
    ] {
        let response = app.get(&format!("/v1/tasks?{query}")).await;
        let problem = problem_body(response, 400).await;
        assert_eq!(problem["errors"][0]["field"], "label", "{query}: {problem}");
    }
    let twenty: String = (0..20).map(|n| format!("label=l{n}&")).collect();
    assert_eq!(listed(&app, &twenty).await, Vec::<i64>::new());
}

async fn rows_another_tool_writes_are_indexed_and_served_without_an_error(backend: Backend) {
    let app = spawn_app(backend).await;
    // Labels alone, as a tool that knows nothing of their keys writes them.
    plain_sql(
        &app,
        backend,
        "INSERT INTO task (title, labels) VALUES ('tool', ?)",
        &[r#"["Tool", " shared ", 7, null, "", {"a": "b"}, "TOOL"]"#],
    )
    .await;
    // Not JSON, not an array, or nothing at all.
    for garbage in ["not json [", r#"{"a": "b"}"#, r#""shared""#, "[1, 2]"] {
        plain_sql(
            &app,
            backend,
            "INSERT INTO task (title, labels) VALUES ('garbage', ?)",
            &[garbage],
        )
        .await;
    }
    plain_sql(
        &app,
        backend,
        "INSERT INTO task (title, description) VALUES ('plain', 'by hand')",
        &[],
    )
    .await;
    let all = json_body(app.get("/v1/tasks").await, 200).await;
    let all = all["tasks"].as_array().unwrap().clone();
    assert_eq!(all.len(), 6);
    let tool = all[0]["id"].as_i64().unwrap();
    assert_eq!(labels_of(&all[0]), ["Tool", "shared"]);
    for task in &all[1..] {
        assert_eq!(task["labels"], json!([]), "{task}");
    }
    assert_eq!(listed(&app, "label=tool").await, [tool]);
    assert_eq!(listed(&app, "label=shared").await, [tool]);

    // An update of the labels alone: the index follows, the version moves.
    let before = read(&app, &json!(tool)).await;
    plain_sql(
        &app,
        backend,
        "UPDATE task SET labels = '[\"Moved\"]' WHERE title = 'tool'",
        &[],
    )
    .await;
    let after = read(&app, &json!(tool)).await;
    assert_eq!(labels_of(&after), ["Moved"]);
    assert_ne!(after["update_dt"], before["update_dt"], "the version moved");
    assert_eq!(listed(&app, "label=moved").await, [tool]);
    assert_eq!(listed(&app, "label=tool").await, Vec::<i64>::new());
    // Garbage written over good labels: no labels, no error, none indexed.
    plain_sql(
        &app,
        backend,
        "UPDATE task SET labels = '[oops' WHERE title = 'tool'",
        &[],
    )
    .await;
    assert_eq!(read(&app, &json!(tool)).await["labels"], json!([]));
    assert_eq!(listed(&app, "label=moved").await, Vec::<i64>::new());
    // A client can set labels on such a row again.
    let path = format!("/v1/tasks/{tool}");
    let relabelled = app.patch_json(&path, &json!({"labels": ["Back"]})).await;
    assert_eq!(labels_of(&json_body(relabelled, 200).await), ["Back"]);
    assert_eq!(listed(&app, "label=back").await, [tool]);
    // A delete by hand takes the index rows with it.
    plain_sql(&app, backend, "DELETE FROM task WHERE title = 'tool'", &[]).await;
    assert_eq!(listed(&app, "label=back").await, Vec::<i64>::new());
    let count = json_body(app.get("/v1/tasks?label=back&count=true").await, 200).await;
    assert_eq!(count["total"], 0);
}

async fn an_export_and_import_keep_the_labels_and_their_index(backend: Backend) {
    let app = spawn_app(backend).await;
    let task = app
        .create_task(json!({"title": "moved", "labels": ["Home", "Ärger"]}))
        .await;
    app.create_task(json!({"title": "bare"})).await;
    let archive = export(app.database.url()).await;
    let records: Vec<Value> = archive
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| serde_json::from_slice(line).unwrap())
        .collect();
    assert_eq!(records[0]["version"], 3, "{}", records[0]);
    assert_eq!(records[1]["labels"], json!(["Home", "Ärger"]));
    assert_eq!(records[2]["labels"], json!([]));

    let target = TestDatabase::create(backend).await;
    let (ok, err) = import(target.url(), &archive, &[]).await;
    assert!(ok, "import failed: {err}");
    let (address, stop, server) = start(target.url(), &[]).await;
    let client = reqwest::Client::new();
    let get = |path: String| client.get(format!("{address}{path}")).send();
    let moved = json_body(get(format!("/v1/tasks/{}", task["id"])).await.unwrap(), 200).await;
    assert_eq!(moved, task);
    let found = json_body(
        get("/v1/tasks?label=ärger&label=HOME".into())
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(found["tasks"], json!([task]));
    let _ = stop.send(());
    server.await.unwrap().unwrap();

    // An archive of an older version (no labels) still imports.
    let older = String::from_utf8(archive)
        .unwrap()
        .replace("\"version\":3", "\"version\":2")
        .replace(",\"labels\":[\"Home\",\"Ärger\"]", "")
        .replace(",\"labels\":[]", "");
    let again = TestDatabase::create(backend).await;
    let (ok, err) = import(again.url(), older.as_bytes(), &[]).await;
    assert!(ok, "import of a version 2 archive failed: {err}");
}
