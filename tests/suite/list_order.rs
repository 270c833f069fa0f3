//! `GET /v1/tasks` with `status`, `sort` and `order`: each filter, each
//! order both ways, cursor walks in every order while others write, and
//! cursors and values that do not fit refused.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use serde_json::{Value, json};

use crate::common::{
    Backend, TestApp, eventually, header, json_body, problem_body, spawn_app, task_ids,
};

crate::on_both_backends!(
    listing_filters_by_status,
    each_sort_orders_both_ways_with_tasks_without_an_expiry_last,
    a_cursor_walk_in_every_order_sees_each_unchanged_task_once_while_others_write,
    a_cursor_is_refused_under_other_filters_or_another_order,
    bad_status_sort_or_order_values_are_refused_naming_the_parameter,
);

const SORTS: [&str; 5] = ["id", "expiry_dt", "update_dt", "create_dt", "priority"];

/// Every page of `query` (`limit` included), by `next_cursor`; checks that
/// the `Link` header points where `next_cursor` does, with the same query.
async fn walk(app: &TestApp, query: &str) -> Vec<i64> {
    let mut seen = Vec::new();
    let mut path = format!("/v1/tasks?{query}");
    loop {
        let response = app.get(&path).await;
        let link = header(&response, "link");
        let page = json_body(response, 200).await;
        seen.extend(task_ids(&page));
        let Some(cursor) = page["next_cursor"].as_str() else {
            assert!(link.is_empty(), "{link}");
            return seen;
        };
        assert_eq!(
            link,
            format!("</v1/tasks?{query}&cursor={cursor}>; rel=\"next\""),
            "the link keeps the order and filters"
        );
        path = format!("/v1/tasks?{query}&cursor={cursor}");
        assert!(seen.len() < 10_000, "the walk does not end");
    }
}

async fn complete(app: &TestApp, id: i64) {
    let response = app
        .client
        .post(app.url(&format!("/v1/tasks/{id}/complete")))
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), 200, "complete {id}");
}

async fn listing_filters_by_status(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut all = Vec::new();
    for n in 0..5 {
        let expiry = if n % 2 == 0 {
            json!("2030-01-01T00:00:00Z")
        } else {
            Value::Null
        };
        let task = app
            .create_task(json!({"title": format!("t{n}"), "expiry_dt": expiry}))
            .await;
        all.push(task["id"].as_i64().unwrap());
    }
    complete(&app, all[1]).await;
    complete(&app, all[2]).await;

    let done = json_body(app.get("/v1/tasks?status=done&count=true").await, 200).await;
    assert_eq!(task_ids(&done), vec![all[1], all[2]]);
    assert_eq!(done["total"], 2);
    assert!(
        done["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["status"] == "done")
    );
    let open = json_body(app.get("/v1/tasks?status=open&count=true").await, 200).await;
    assert_eq!(task_ids(&open), vec![all[0], all[3], all[4]]);
    assert_eq!(open["total"], 3);
    let both = json_body(app.get("/v1/tasks?count=true").await, 200).await;
    assert_eq!(task_ids(&both), all);
    assert_eq!(both["total"], 5);
    // With the expiry window: tasks 0, 2 and 4 expire in 2030.
    let window = "expires_after=2029-01-01T00:00:00Z&count=true";
    let open_in_window = json_body(
        app.get(&format!("/v1/tasks?status=open&{window}")).await,
        200,
    )
    .await;
    assert_eq!(task_ids(&open_in_window), vec![all[0], all[4]]);
    assert_eq!(open_in_window["total"], 2);
    // And page by page.
    assert_eq!(
        walk(&app, "status=open&limit=1").await,
        vec![all[0], all[3], all[4]]
    );
    assert_eq!(
        walk(&app, "status=done&limit=1&sort=id&order=desc").await,
        vec![all[2], all[1]]
    );
}

/// Five tasks: `a` and `d` share an expiry, `b` and `e` have none; their
/// versions are made in the order b, d, c, a, e; `a` and `d` share a
/// priority, `c` has none.
async fn each_sort_orders_both_ways_with_tasks_without_an_expiry_last(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut id = HashMap::new();
    for (name, expiry, priority) in [
        ("a", json!("2030-03-01T00:00:00Z"), json!(2)),
        ("b", Value::Null, json!(5)),
        ("c", json!("2030-01-01T00:00:00+05:00"), Value::Null),
        ("d", json!("2030-03-01T00:00:00Z"), json!(2)),
        ("e", Value::Null, json!(1)),
    ] {
        let task = app
            .create_task(json!({"title": name, "expiry_dt": expiry, "priority": priority}))
            .await;
        id.insert(name, task["id"].as_i64().unwrap());
    }
    for name in ["c", "a", "e"] {
        let response = app
            .patch_json(
                &format!("/v1/tasks/{}", id[name]),
                &json!({"description": "touched"}),
            )
            .await;
        json_body(response, 200).await;
    }
    let names =
        |order: &str| -> Vec<i64> { order.chars().map(|c| id[c.to_string().as_str()]).collect() };
    let expected = [
        ("sort=id", "abcde"),
        ("sort=id&order=desc", "edcba"),
        ("sort=expiry_dt", "cadbe"),
        ("sort=expiry_dt&order=asc", "cadbe"),
        ("sort=expiry_dt&order=desc", "dacEB"),
        ("sort=create_dt", "abcde"),
        ("sort=create_dt&order=desc", "edcba"),
        ("sort=update_dt", "bdcae"),
        ("sort=update_dt&order=desc", "eacdb"),
        ("sort=priority", "eadbC"),
        ("sort=priority&order=desc", "bdaeC"),
        ("order=desc", "edcba"),
    ];
    for (query, order) in expected {
        let order = order.to_lowercase();
        let want = names(&order);
        let page = json_body(app.get(&format!("/v1/tasks?{query}&count=true")).await, 200).await;
        assert_eq!(task_ids(&page), want, "{query}");
        assert_eq!(page["total"], 5, "{query}");
        for limit in [1, 2, 3] {
            assert_eq!(
                walk(&app, &format!("{query}&limit={limit}")).await,
                want,
                "{query}, {limit} a page"
            );
        }
        // Offsets count through the tasks without an expiry as well.
        for offset in 0..=5 {
            let page = json_body(
                app.get(&format!("/v1/tasks?{query}&limit=2&offset={offset}"))
                    .await,
                200,
            )
            .await;
            let end = (offset + 2).min(5);
            assert_eq!(
                task_ids(&page),
                want[offset..end],
                "{query}, offset {offset}"
            );
        }
    }
}

/// A task as it was before the walk, for the order the walk should show.
struct Before {
    id: i64,
    expiry: Option<DateTime<FixedOffset>>,
    create: DateTime<FixedOffset>,
    update: DateTime<FixedOffset>,
    priority: Option<i64>,
}

fn time(value: &Value) -> Option<DateTime<FixedOffset>> {
    value
        .as_str()
        .map(|raw| DateTime::parse_from_rfc3339(raw).expect("a time"))
}

/// The ids in the order `sort` and `order` should list them.
fn in_order(tasks: &[&Before], sort: &str, descending: bool) -> Vec<i64> {
    let micros = |time: DateTime<FixedOffset>| time.timestamp_micros();
    let mut keyed: Vec<(Option<i64>, i64)> = tasks
        .iter()
        .map(|task| {
            let key = match sort {
                "id" => None,
                "expiry_dt" => task.expiry.map(micros),
                "update_dt" => Some(micros(task.update)),
                "create_dt" => Some(micros(task.create)),
                "priority" => task.priority,
                other => panic!("{other}"),
            };
            (key, task.id)
        })
        .collect();
    keyed.sort_by(|(a_key, a_id), (b_key, b_id)| {
        // Without a key, last either way; else by key, then id.
        let nulls = a_key.is_none().cmp(&b_key.is_none());
        let rest = a_key.cmp(b_key).then(a_id.cmp(b_id));
        nulls.then(if descending { rest.reverse() } else { rest })
    });
    keyed.into_iter().map(|(_, id)| id).collect()
}

/// What a walk must show, in every order, with or without a status filter,
/// while tasks are created, completed and reopened (by a writer running
/// throughout; and between pages by the walk itself, which moves a task it
/// has seen ahead of its position and completes one it has not): every task that existed before the first page and
/// was not changed until after the last one exactly once, in the walk's
/// order; no task twice, changed or not.
async fn a_cursor_walk_in_every_order_sees_each_unchanged_task_once_while_others_write(
    backend: Backend,
) {
    let app = Arc::new(spawn_app(backend).await);
    for n in 0..24 {
        let expiry = match n % 4 {
            0 => Value::Null,
            k => json!(format!("2030-0{k}-01T00:00:00Z")),
        };
        let priority = match n % 6 {
            0 => Value::Null,
            k => json!(k),
        };
        app.create_task(
            json!({"title": format!("w{n}"), "expiry_dt": expiry, "priority": priority}),
        )
        .await;
    }
    let mut queries: Vec<String> = Vec::new();
    for sort in SORTS {
        for order in ["asc", "desc"] {
            queries.push(format!("sort={sort}&order={order}"));
        }
    }
    queries.push("sort=expiry_dt&order=asc&status=open".into());
    queries.push("sort=update_dt&order=desc&status=open".into());
    for query in queries {
        let status_open = query.contains("status=open");
        let sort = query.split('&').next().unwrap().trim_start_matches("sort=");
        let descending = query.contains("order=desc");
        // Before: every task as it is now.
        let all = json_body(app.get("/v1/tasks?limit=1000").await, 200).await;
        let before: Vec<Before> = all["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|task| !status_open || task["status"] == "open")
            .map(|task| Before {
                id: task["id"].as_i64().unwrap(),
                expiry: time(&task["expiry_dt"]),
                create: time(&task["create_dt"]).unwrap(),
                update: time(&task["update_dt"]).unwrap(),
                priority: task["priority"].as_i64(),
            })
            .collect();
        let existing: Vec<i64> = task_ids(&all);
        let touched = Arc::new(std::sync::Mutex::new(HashSet::new()));
        let writes = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let writer = tokio::spawn({
            let (app, touched, writes, stop) =
                (app.clone(), touched.clone(), writes.clone(), stop.clone());
            let existing = existing.clone();
            async move {
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) && n < 20 {
                    let expiry = if n % 3 == 0 {
                        Value::Null
                    } else {
                        json!("2030-02-01T00:00:00Z")
                    };
                    app.create_task(json!({"title": "during", "expiry_dt": expiry}))
                        .await;
                    // Every third existing task, completed or reopened.
                    let id = existing[3 * (n % (existing.len() / 3))];
                    touched.lock().unwrap().insert(id);
                    let action = if n % 2 == 0 { "complete" } else { "reopen" };
                    let response = app
                        .client
                        .post(app.url(&format!("/v1/tasks/{id}/{action}")))
                        .send()
                        .await
                        .expect("request sent");
                    assert_eq!(response.status(), 200);
                    writes.fetch_add(1, Ordering::SeqCst);
                    n += 1;
                    tokio::task::yield_now().await;
                }
            }
        });

        let limit = 3;
        let mut seen: Vec<i64> = Vec::new();
        let mut path = format!("/v1/tasks?{query}&limit={limit}");
        let mut pages = 0;
        loop {
            let page = json_body(app.get(&path).await, 200).await;
            seen.extend(task_ids(&page));
            pages += 1;
            if pages == 1 {
                // One task already seen and one not yet seen change; one
                // more is created; and the writer is under way.
                let unseen = in_order(&before.iter().collect::<Vec<_>>(), sort, descending)
                    .into_iter()
                    .rev()
                    .find(|id| !seen.contains(id))
                    .expect("a task not yet seen");
                // The seen one moves ahead in every order (a later
                // expiry, a new version).
                touched.lock().unwrap().extend([seen[0], unseen]);
                let moved = app
                    .patch_json(
                        &format!("/v1/tasks/{}", seen[0]),
                        &json!({"expiry_dt": "2031-01-01T00:00:00Z", "description": query}),
                    )
                    .await;
                json_body(moved, 200).await;
                complete(&app, unseen).await;
                app.create_task(json!({"title": "between pages"})).await;
                eventually(
                    Duration::from_secs(10),
                    "the writer's first writes",
                    || async { (writes.load(Ordering::SeqCst) >= 2).then_some(()) },
                )
                .await;
            }
            let Some(cursor) = page["next_cursor"].as_str() else {
                break;
            };
            path = format!("/v1/tasks?{query}&limit={limit}&cursor={cursor}");
            assert!(pages < 200, "{query}: the walk does not end");
        }
        stop.store(true, Ordering::SeqCst);
        writer.await.expect("the writer");

        let mut once = HashSet::new();
        for id in &seen {
            assert!(
                once.insert(*id),
                "{query}: task {id} shown twice in {seen:?}"
            );
        }
        let touched = touched.lock().unwrap().clone();
        let unchanged: Vec<&Before> = before
            .iter()
            .filter(|task| !touched.contains(&task.id))
            .collect();
        let expected = in_order(&unchanged, sort, descending);
        let shown: Vec<i64> = seen
            .iter()
            .copied()
            .filter(|id| expected.contains(id))
            .collect();
        assert_eq!(
            shown, expected,
            "{query}: every unchanged task once, in order"
        );
        assert!(
            unchanged.len() >= 10,
            "{query}: the walk checks too little: {} before, {} touched",
            before.len(),
            touched.len()
        );
    }
}

async fn a_cursor_is_refused_under_other_filters_or_another_order(backend: Backend) {
    let app = spawn_app(backend).await;
    for n in 0..4 {
        app.create_task(json!({"title": format!("c{n}"), "expiry_dt": "2030-01-01T00:00:00Z"}))
            .await;
    }
    let made_under = "sort=expiry_dt&order=desc&status=open&expires_after=2029-01-01T00:00:00Z";
    let page = json_body(
        app.get(&format!("/v1/tasks?limit=1&{made_under}")).await,
        200,
    )
    .await;
    let cursor = page["next_cursor"].as_str().expect("a cursor").to_owned();
    let same = json_body(
        app.get(&format!("/v1/tasks?limit=1&{made_under}&cursor={cursor}"))
            .await,
        200,
    )
    .await;
    assert_eq!(same["tasks"].as_array().unwrap().len(), 1);
    for other in [
        "sort=expiry_dt&order=asc&status=open&expires_after=2029-01-01T00:00:00Z",
        "sort=expiry_dt&status=open&expires_after=2029-01-01T00:00:00Z",
        "sort=update_dt&order=desc&status=open&expires_after=2029-01-01T00:00:00Z",
        "sort=id&order=desc&status=open&expires_after=2029-01-01T00:00:00Z",
        "sort=expiry_dt&order=desc&status=done&expires_after=2029-01-01T00:00:00Z",
        "sort=expiry_dt&order=desc&expires_after=2029-01-01T00:00:00Z",
        "sort=expiry_dt&order=desc&status=open",
        "",
    ] {
        let problem = problem_body(
            app.get(&format!("/v1/tasks?limit=1&{other}&cursor={cursor}"))
                .await,
            400,
        )
        .await;
        assert_eq!(
            problem["errors"][0]["field"], "cursor",
            "{other}: {problem}"
        );
    }
    // And a cursor of the plain listing under an order.
    let plain = json_body(app.get("/v1/tasks?limit=1").await, 200).await;
    let plain = plain["next_cursor"].as_str().expect("a cursor");
    for other in ["sort=expiry_dt", "order=desc", "status=open"] {
        let problem = problem_body(
            app.get(&format!("/v1/tasks?{other}&cursor={plain}")).await,
            400,
        )
        .await;
        assert_eq!(
            problem["errors"][0]["field"], "cursor",
            "{other}: {problem}"
        );
    }
}

async fn bad_status_sort_or_order_values_are_refused_naming_the_parameter(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_task(json!({"title": "only"})).await;
    for (query, field) in [
        ("sort=title", "sort"),
        ("sort=", "sort"),
        ("sort=ID", "sort"),
        ("sort=urgency", "sort"),
        ("order=up", "order"),
        ("order=DESC", "order"),
        ("status=closed", "status"),
        ("status=", "status"),
    ] {
        let problem = problem_body(app.get(&format!("/v1/tasks?{query}")).await, 400).await;
        let errors = problem["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{query}: {problem}");
        assert_eq!(errors[0]["field"], field, "{query}: {problem}");
        // Refused for its value, which the message says how to write: the
        // parameter itself is known.
        let message = errors[0]["message"].as_str().unwrap();
        assert!(message.starts_with("must be "), "{query}: {problem}");
    }
    let problem = problem_body(app.get("/v1/tasks?sorting=id").await, 400).await;
    assert_eq!(problem["errors"][0]["field"], "sorting", "{problem}");
}
