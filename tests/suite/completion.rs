//! Completing and reopening tasks: idempotent answers, preconditions, the
//! expiry warning a completion disarms and a reopen re-arms (never twice
//! for one expiry), rows other tools write, and the store's bulk change.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};
use sqlx::{Connection, MySqlConnection, SqliteConnection};
use taskman::domain::{TaskDraft, TaskId, TaskIds, TaskStatus, Timestamp, Title};
use taskman::store::{StoreError, StoreOptions};

use crate::adopt::original_database;
use crate::common::{
    Backend, TestApp, TestDatabase, eventually, header, json_body, problem_body, spawn_app,
    spawn_app_with, start,
};

crate::on_both_backends!(
    completing_and_reopening_answer_the_task_and_a_repeat_changes_nothing,
    a_stale_if_match_is_412_unless_the_change_is_already_made,
    completing_or_reopening_a_missing_task_is_404,
    a_body_is_refused,
    a_done_task_gets_no_warning_and_reopening_rearms_it,
    a_warning_already_given_is_not_given_again_after_a_reopen,
    completion_takes_the_task_out_of_the_expiry_cache_and_a_restart_leaves_it_out,
    a_task_another_tool_inserts_is_open_and_odd_statuses_are_served,
    the_store_changes_many_statuses_all_or_nothing,
    a_bulk_complete_or_reopen_is_all_or_nothing_in_the_order_named,
);

const FAST: &[&str] = &["--warn-before", "2s", "--tick-interval", "100ms"];
const WAIT: Duration = Duration::from_secs(20);

/// RFC 3339 for `secs` seconds from now (negative: in the past).
fn from_now(secs: f64) -> String {
    let at = Utc::now() + chrono::Duration::milliseconds((secs * 1000.0) as i64);
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

async fn post(app: &TestApp, path: &str, if_match: Option<&str>) -> reqwest::Response {
    let mut request = app.client.post(app.url(path));
    if let Some(tag) = if_match {
        request = request.header("If-Match", tag);
    }
    request.send().await.expect("request sent")
}

/// A status change that answers 200; the task and its `ETag`.
async fn change(app: &TestApp, task: &Value, action: &str) -> (Value, String) {
    let response = post(app, &format!("/v1/tasks/{}/{action}", task["id"]), None).await;
    let tag = header(&response, "etag");
    (json_body(response, 200).await, tag)
}

async fn read(app: &TestApp, task: &Value) -> Value {
    json_body(app.get(&format!("/v1/tasks/{}", task["id"])).await, 200).await
}

async fn warnings_for(app: &TestApp, task: &Value) -> Vec<Value> {
    let page = json_body(
        app.get(&format!("/v1/notifications?task_id={}", task["id"]))
            .await,
        200,
    )
    .await;
    page["notifications"].as_array().expect("list").clone()
}

async fn wait_for_warning(app: &TestApp, task: &Value) -> Vec<Value> {
    eventually(WAIT, &format!("a warning for {}", task["id"]), || async {
        let found = warnings_for(app, task).await;
        (!found.is_empty()).then_some(found)
    })
    .await
}

/// What `/metrics` says this process holds in its expiry cache.
async fn pending(app: &TestApp) -> Option<f64> {
    let text = app.get("/metrics").await.text().await.ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix("taskman_expiry_pending ")?.parse().ok())
}

async fn completing_and_reopening_answer_the_task_and_a_repeat_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let task = app
        .create_task(json!({"title": "Pay rent", "expiry_dt": "2099-01-01T00:00:00Z"}))
        .await;
    assert_eq!(task["status"], "open");
    assert_eq!(task["completed_dt"], Value::Null);

    let before = Utc::now();
    let (done, tag) = change(&app, &task, "complete").await;
    assert_eq!(done["status"], "done");
    let completed = chrono::DateTime::parse_from_rfc3339(done["completed_dt"].as_str().unwrap())
        .expect("completed_dt is a time");
    assert!(completed >= before - chrono::Duration::seconds(1), "{done}");
    assert_ne!(
        done["update_dt"], task["update_dt"],
        "a completion is a new version"
    );
    assert_eq!(tag, format!("\"{}\"", version(&done)));
    assert_eq!(read(&app, &task).await, done);

    // Again: the same task, the same version, nothing written.
    let (again, again_tag) = change(&app, &task, "complete").await;
    assert_eq!(again, done);
    assert_eq!(again_tag, tag);

    // A client that does not know about status keeps it on PUT and PATCH.
    let put = json_body(
        app.put_json(
            &format!("/v1/tasks/{}", task["id"]),
            &json!({"title": "Pay rent, done"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(put["status"], "done");
    assert_eq!(put["completed_dt"], done["completed_dt"]);

    let (open, open_tag) = change(&app, &task, "reopen").await;
    assert_eq!(open["status"], "open");
    assert_eq!(open["completed_dt"], Value::Null);
    assert_eq!(open["title"], "Pay rent, done");
    assert_ne!(open["update_dt"], put["update_dt"]);
    let (open_again, open_again_tag) = change(&app, &task, "reopen").await;
    assert_eq!(open_again, open);
    assert_eq!(open_again_tag, open_tag);
    assert_eq!(read(&app, &task).await, open);
}

/// A task's version as its `ETag` carries it: `update_dt` in microseconds.
fn version(task: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(task["update_dt"].as_str().unwrap())
        .unwrap()
        .timestamp_micros()
}

async fn a_stale_if_match_is_412_unless_the_change_is_already_made(backend: Backend) {
    let app = spawn_app(backend).await;
    let task = app.create_task(json!({"title": "guarded"})).await;
    let path = format!("/v1/tasks/{}/complete", task["id"]);
    let stale = format!("\"{}\"", version(&task) - 1);
    problem_body(post(&app, &path, Some(&stale)).await, 412).await;
    assert_eq!(
        read(&app, &task).await,
        task,
        "a refused completion changes nothing"
    );

    let current = format!("\"{}\"", version(&task));
    let response = post(&app, &path, Some(&current)).await;
    let done = json_body(response, 200).await;
    assert_eq!(done["status"], "done");
    // The same request again (its answer lost, say): its If-Match is stale
    // now, but what it asks for is made; 200, and nothing changes.
    let repeat = json_body(post(&app, &path, Some(&current)).await, 200).await;
    assert_eq!(repeat, done);

    let reopen = format!("/v1/tasks/{}/reopen", task["id"]);
    problem_body(post(&app, &reopen, Some(&current)).await, 412).await;
    assert_eq!(read(&app, &task).await, done);
    let tag = format!("\"{}\"", version(&done));
    let reopened = json_body(post(&app, &reopen, Some(&tag)).await, 200).await;
    assert_eq!(reopened["status"], "open");
}

async fn completing_or_reopening_a_missing_task_is_404(backend: Backend) {
    let app = spawn_app(backend).await;
    for action in ["complete", "reopen"] {
        let missing = problem_body(
            post(&app, &format!("/v1/tasks/424242/{action}"), None).await,
            404,
        )
        .await;
        assert_eq!(missing["missing_ids"], json!([424242]), "{action}");
        problem_body(
            post(&app, &format!("/v1/tasks/0/{action}"), None).await,
            400,
        )
        .await;
    }
}

async fn a_body_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let task = app.create_task(json!({"title": "no body"})).await;
    let response = app
        .post_json(
            &format!("/v1/tasks/{}/complete", task["id"]),
            &json!({"status": "done"}),
        )
        .await;
    let problem = problem_body(response, 400).await;
    assert_eq!(problem["errors"][0]["field"], "(body)", "{problem}");
    assert_eq!(read(&app, &task).await["status"], "open");
}

/// A task completed before its warning window opens gets no warning; a
/// control due just after it does. Reopened, it is warned.
async fn a_done_task_gets_no_warning_and_reopening_rearms_it(backend: Backend) {
    let app = spawn_app_with(backend, FAST).await;
    // The window opens in 3 s: time to complete it on a loaded machine.
    let task = app
        .create_task(json!({"title": "done early", "expiry_dt": from_now(5.0)}))
        .await;
    let control = app
        .create_task(json!({"title": "control", "expiry_dt": from_now(5.1)}))
        .await;
    let (done, _) = change(&app, &task, "complete").await;
    assert_eq!(done["status"], "done");

    // The control is due after the task: by the time it is warned, the
    // task's turn (same tick or an earlier one) has passed.
    wait_for_warning(&app, &control).await;
    assert_eq!(warnings_for(&app, &task).await, Vec::<Value>::new());

    change(&app, &task, "reopen").await;
    let warned = wait_for_warning(&app, &task).await;
    assert_eq!(warned.len(), 1);
    assert_eq!(warned[0]["expiry_dt"], task["expiry_dt"]);
}

async fn a_warning_already_given_is_not_given_again_after_a_reopen(backend: Backend) {
    let app = spawn_app_with(backend, FAST).await;
    let task = app
        .create_task(json!({"title": "overdue", "expiry_dt": from_now(-60.0)}))
        .await;
    let first = wait_for_warning(&app, &task).await;
    assert_eq!(first.len(), 1);
    change(&app, &task, "complete").await;
    change(&app, &task, "reopen").await;
    // Armed again, and due at once; a control armed after it is claimed
    // in the same tick or a later one.
    let control = app
        .create_task(json!({"title": "control", "expiry_dt": from_now(-30.0)}))
        .await;
    wait_for_warning(&app, &control).await;
    assert_eq!(warnings_for(&app, &task).await, first);

    // A new expiry is a new warning, done or not before.
    let moved = json_body(
        app.patch_json(
            &format!("/v1/tasks/{}", task["id"]),
            &json!({"expiry_dt": from_now(-10.0)}),
        )
        .await,
        200,
    )
    .await;
    let warnings = eventually(WAIT, "the new expiry's warning", || async {
        let found = warnings_for(&app, &task).await;
        (found.len() == 2).then_some(found)
    })
    .await;
    assert_eq!(warnings[0]["expiry_dt"], moved["expiry_dt"]);
}

/// The cache itself: completing takes a task out, reopening puts it back,
/// and a start-up load leaves a done task out.
async fn completion_takes_the_task_out_of_the_expiry_cache_and_a_restart_leaves_it_out(
    backend: Backend,
) {
    let mut app = spawn_app_with(backend, FAST).await;
    let far = from_now(3600.0);
    let task = app
        .create_task(json!({"title": "far", "expiry_dt": far}))
        .await;
    let other = app
        .create_task(json!({"title": "other", "expiry_dt": far}))
        .await;
    let held = async |app: &TestApp, count: f64| {
        eventually(WAIT, &format!("{count} pending in the cache"), || async {
            (pending(app).await? == count).then_some(())
        })
        .await
    };
    held(&app, 2.0).await;
    change(&app, &task, "complete").await;
    held(&app, 1.0).await;
    change(&app, &task, "reopen").await;
    held(&app, 2.0).await;
    change(&app, &task, "complete").await;
    held(&app, 1.0).await;

    app.restart().await;
    // The gauge is first set by the tick loop, which starts once the cache
    // is loaded: its first reading other than 0 is the whole load.
    let loaded = eventually(WAIT, "the cache loaded", || async {
        pending(&app).await.filter(|n| *n > 0.0)
    })
    .await;
    assert_eq!(loaded, 1.0, "only {} is pending", other["id"]);
}

/// A row inserted by plain SQL naming only a title and description is an
/// open task; a status another tool wrote that taskman does not write is
/// served as open, never as an error.
async fn a_task_another_tool_inserts_is_open_and_odd_statuses_are_served(backend: Backend) {
    let app = spawn_app(backend).await;
    let insert = "INSERT INTO task (title, description) VALUES ('by hand', 'plain SQL')";
    let mut odd: Vec<(&str, Value, Value)> = vec![
        (
            "UPDATE task SET status = 'DONE' WHERE id = ?",
            json!("open"),
            Value::Null,
        ),
        (
            "UPDATE task SET status = 'done' WHERE id = ?",
            json!("done"),
            Value::Null,
        ),
        (
            "UPDATE task SET status = 'done  ' WHERE id = ?",
            json!("done"),
            Value::Null,
        ),
    ];
    let id = match backend {
        Backend::Sqlite => {
            let mut sql = SqliteConnection::connect(app.database.url()).await.unwrap();
            let id = sqlx::query(insert)
                .execute(&mut sql)
                .await
                .unwrap()
                .last_insert_rowid();
            odd.push((
                "UPDATE task SET status = 7 WHERE id = ?",
                json!("open"),
                Value::Null,
            ));
            for (statement, status, completed) in &odd {
                sqlx::query(sqlx::AssertSqlSafe(*statement))
                    .bind(id)
                    .execute(&mut sql)
                    .await
                    .unwrap();
                check_served(&app, id, status, completed).await;
            }
            id
        }
        Backend::MySql => {
            let mut sql = MySqlConnection::connect(app.database.url()).await.unwrap();
            sqlx::raw_sql("SET SESSION sql_mode = ''")
                .execute(&mut sql)
                .await
                .unwrap();
            let id = sqlx::query(insert)
                .execute(&mut sql)
                .await
                .unwrap()
                .last_insert_id() as i64;
            odd.push((
                "UPDATE task SET status = 'done', completed_dt = '0000-00-00 00:00:00' WHERE id = ?",
                json!("done"),
                Value::Null,
            ));
            for (statement, status, completed) in &odd {
                sqlx::query(sqlx::AssertSqlSafe(*statement))
                    .bind(id)
                    .execute(&mut sql)
                    .await
                    .unwrap();
                check_served(&app, id, status, completed).await;
            }
            id
        }
    };
    // A client may set it right.
    let task = json!({"id": id});
    let (open, _) = change(&app, &task, "reopen").await;
    assert_eq!(open["status"], "open");
    let (done, _) = change(&app, &task, "complete").await;
    assert!(done["completed_dt"].is_string(), "{done}");
}

async fn check_served(app: &TestApp, id: i64, status: &Value, completed: &Value) {
    let task = json_body(app.get(&format!("/v1/tasks/{id}")).await, 200).await;
    assert_eq!(&task["status"], status, "{task}");
    assert_eq!(&task["completed_dt"], completed, "{task}");
    assert_eq!(task["title"], "by hand");
    let listed = json_body(app.get("/v1/tasks").await, 200).await;
    assert_eq!(&listed["tasks"][0]["status"], status, "{listed}");
}

/// The original service's database, adopted: its rows, and rows its
/// clients go on inserting, are open tasks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_of_the_original_database_are_open_tasks() {
    let (database, mut sql) = original_database().await;
    sqlx::query("INSERT INTO task (title, expiry_dt) VALUES ('before', '2099-01-01 00:00:00')")
        .execute(&mut sql)
        .await
        .unwrap();
    let (address, stop, server) = start(database.url(), &[]).await;
    sqlx::query("INSERT INTO task (title, description) VALUES ('after', 'by the old client')")
        .execute(&mut sql)
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let page = json_body(
        client
            .get(format!("{address}/v1/tasks"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let tasks = page["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 2, "{page}");
    for task in tasks {
        assert_eq!(task["status"], "open", "{task}");
        assert_eq!(task["completed_dt"], Value::Null, "{task}");
    }
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

async fn the_store_changes_many_statuses_all_or_nothing(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let options = StoreOptions {
        max_connections: 2,
        timeout: Duration::from_secs(10),
    };
    let stores = taskman::store::connect(database.url(), &options)
        .await
        .expect("store opens");
    let now = Timestamp::now();
    let expiry = Timestamp::from_micros(now.micros() + 3_600_000_000);
    let mut tasks = Vec::new();
    for n in 0..3 {
        let draft = TaskDraft {
            title: Title::parse(&format!("bulk {n}")).unwrap(),
            description: None,
            expiry_dt: expiry,
            priority: None,
            labels: Default::default(),
        };
        let created = match stores.tasks.create(&draft, now, None).await.unwrap() {
            taskman::domain::Created::New(task) | taskman::domain::Created::Replayed(task) => task,
        };
        tasks.push(created);
    }
    let ids = |list: &[TaskId]| TaskIds::parse(list.iter().copied()).unwrap();
    let (a, b, c) = (tasks[0].id, tasks[1].id, tasks[2].id);
    let (gone, also_gone) = (
        TaskId::parse(999_998).unwrap(),
        TaskId::parse(999_999).unwrap(),
    );

    // A missing id: nothing changes, and every missing id is named in the
    // order given.
    let later = Timestamp::from_micros(now.micros() + 1_000).unwrap();
    let refused = stores
        .tasks
        .set_status_many(&ids(&[also_gone, c, gone, a]), TaskStatus::Done, later)
        .await;
    match refused {
        Err(StoreError::NotFound(missing)) => assert_eq!(missing, vec![also_gone, gone]),
        other => panic!("expected NotFound, got {other:?}"),
    }
    for task in &tasks {
        assert_eq!(
            stores.tasks.get(task.id).await.unwrap().as_ref(),
            Some(task)
        );
    }

    // All there: every one done, answered in the order named.
    let done = stores
        .tasks
        .set_status_many(&ids(&[c, a]), TaskStatus::Done, later)
        .await
        .unwrap();
    assert_eq!(done.iter().map(|t| t.id).collect::<Vec<_>>(), vec![c, a]);
    for task in &done {
        assert_eq!(task.status, TaskStatus::Done);
        assert_eq!(task.completed_dt, Some(later));
        assert_eq!(
            stores.tasks.get(task.id).await.unwrap().as_ref(),
            Some(task)
        );
    }
    // Done tasks await no warning: neither loaded nor looked up.
    let batch = stores
        .expiries
        .pending_expiries(None, None, 100)
        .await
        .unwrap();
    let pending: Vec<TaskId> = batch.pending.iter().map(|p| p.task_id).collect();
    assert_eq!(pending, vec![b]);
    assert_eq!(stores.expiries.pending_expiry(a).await.unwrap(), None);

    // Again, with one more: the done ones stay as they were, version included.
    let even_later = Timestamp::from_micros(now.micros() + 2_000).unwrap();
    let again = stores
        .tasks
        .set_status_many(&ids(&[a, b, c]), TaskStatus::Done, even_later)
        .await
        .unwrap();
    assert_eq!(again[0], done[1]);
    assert_eq!(again[2], done[0]);
    assert_eq!(again[1].completed_dt, Some(even_later));

    let reopened = stores
        .tasks
        .set_status_many(&ids(&[b]), TaskStatus::Open, even_later)
        .await
        .unwrap();
    assert_eq!(reopened[0].status, TaskStatus::Open);
    assert_eq!(reopened[0].completed_dt, None);
    assert!(reopened[0].update_dt > again[1].update_dt);
}

async fn a_bulk_complete_or_reopen_is_all_or_nothing_in_the_order_named(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app.create_task(json!({"title": "a"})).await;
    let b = app.create_task(json!({"title": "b"})).await;
    let c = app.create_task(json!({"title": "c"})).await;

    // A missing id: 404 naming it, and nothing completed.
    let response = app
        .post_json(
            "/v1/tasks/complete",
            &json!({"ids": [b["id"], 999_999, a["id"], 999_998]}),
        )
        .await;
    let problem = problem_body(response, 404).await;
    assert_eq!(problem["missing_ids"], json!([999_999, 999_998]));
    for task in [&a, &b, &c] {
        assert_eq!(read(&app, task).await["status"], "open");
    }

    // In the order named; an id named twice counts once.
    let response = app
        .post_json(
            "/v1/tasks/complete",
            &json!({"ids": [c["id"], a["id"], c["id"]]}),
        )
        .await;
    let done = json_body(response, 200).await;
    let ids: Vec<&Value> = done["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["id"])
        .collect();
    assert_eq!(ids, [&c["id"], &a["id"]]);
    assert!(
        done["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["status"] == "done")
    );
    assert_eq!(read(&app, &b).await["status"], "open");

    // A repeat changes nothing, version included; a mixed reopen reopens
    // the done ones and answers the open one as it is.
    let again = app
        .post_json("/v1/tasks/complete", &json!({"ids": [c["id"], a["id"]]}))
        .await;
    assert_eq!(json_body(again, 200).await, done);
    let response = app
        .post_json("/v1/tasks/reopen", &json!({"ids": [a["id"], b["id"]]}))
        .await;
    let reopened = json_body(response, 200).await;
    assert_eq!(reopened["tasks"][0]["status"], "open");
    assert_eq!(reopened["tasks"][0]["completed_dt"], Value::Null);
    assert_eq!(reopened["tasks"][1], read(&app, &b).await);
    assert_eq!(read(&app, &c).await["status"], "done");
}
