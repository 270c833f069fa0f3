//! The task lifecycle, the notifications list and the error answers, driven
//! only through the Rust client that progenitor generates from the committed
//! `openapi/openapi.json` (`clients/rust`). If the spec stops describing what
//! the server does, these stop compiling or fail.

use std::num::{NonZeroU32, NonZeroU64};
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use taskman_client::reqwest::StatusCode;
use taskman_client::reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use taskman_client::types::{
    DeliveryState, NotificationKind, Status, Task, TaskInput, TaskReplacement, TaskReplacements,
};
use taskman_client::{Client, Error, IdList, ProblemExt, TaskPatch};

use crate::common::{Backend, TestApp, eventually, spawn_app, spawn_app_with};

crate::on_both_backends!(
    health_is_ok,
    a_created_task_answers_201_and_reads_back,
    listing_pages_and_filters_by_expiry,
    replacing_a_task_keeps_what_it_leaves_out,
    patching_leaves_absent_fields_and_clears_nulls,
    bulk_replace_updates_every_task,
    deleting_by_ids_deletes_exactly_those,
    deleting_one_task_then_it_is_gone,
    deleting_all_tasks_counts_them,
    an_expired_task_shows_up_in_the_notifications_list,
    a_missing_task_is_a_404_problem,
    a_blank_title_is_a_400_problem,
    a_field_error_names_the_field,
    etags_guard_writes,
    a_bearer_token_goes_in_the_underlying_reqwest_client,
);

const WAIT: Duration = Duration::from_secs(20);

fn client(app: &TestApp) -> Client {
    Client::new(&app.address)
}

fn id(task: &Task) -> NonZeroU64 {
    NonZeroU64::new(u64::try_from(task.id).expect("a positive id")).expect("a positive id")
}

fn input(title: &str) -> TaskInput {
    TaskInput {
        title: title.to_owned(),
        description: None,
        expiry_dt: None,
        priority: None,
        labels: None,
    }
}

/// A whole second `secs` from now (negative: in the past), so that it comes
/// back from either database unchanged.
fn from_now(secs: i64) -> DateTime<Utc> {
    (Utc::now() + chrono::Duration::seconds(secs)).trunc_subsecs(0)
}

async fn create(client: &Client, body: TaskInput) -> Task {
    client
        .create_task(None, &body)
        .await
        .expect("task created")
        .into_inner()
}

async fn ids_listed(client: &Client) -> Vec<i64> {
    let page = client
        .list_tasks(
            None, None, None, None, None, None, None, None, None, None, None, None, None,
        )
        .await
        .expect("tasks listed");
    page.tasks.iter().map(|task| task.id).collect()
}

async fn health_is_ok(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = client(&app).get_health().await.expect("healthy");
    assert_eq!(response.status(), StatusCode::OK);
    let health = response.into_inner();
    assert_eq!(health.status, Status::Ok);
    assert_eq!(health.database, Status::Ok);
}

async fn a_created_task_answers_201_and_reads_back(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = client(&app);
    let expiry = from_now(3600);
    let response = client
        .create_task(
            None,
            &TaskInput {
                title: "  Pay rent  ".to_owned(),
                description: Some("by transfer".parse().unwrap()),
                expiry_dt: Some(expiry),
                priority: None,
                labels: None,
            },
        )
        .await
        .expect("task created");
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created = response.into_inner();
    assert_eq!(location, format!("/v1/tasks/{}", created.id));
    assert_eq!(created.title, "Pay rent");
    assert_eq!(created.description.as_deref(), Some("by transfer"));
    assert_eq!(created.expiry_dt, Some(expiry));
    assert_eq!(created.create_dt, created.update_dt);

    let read = client
        .get_task(id(&created), None)
        .await
        .expect("task read");
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(read.into_inner(), created);
}

async fn listing_pages_and_filters_by_expiry(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = client(&app);
    let base = from_now(3600);
    let mut tasks = Vec::new();
    for n in 0..5_i64 {
        tasks.push(
            create(
                &client,
                TaskInput {
                    expiry_dt: Some(base + chrono::Duration::minutes(n)),
                    ..input(&format!("task {n}"))
                },
            )
            .await,
        );
    }
    create(&client, input("never expires")).await;

    let page = client
        .list_tasks(
            None,
            None,
            None,
            None,
            None,
            NonZeroU32::new(2),
            Some(1),
            None,
            None,
            None,
            None,
            None,
            None,
        )
        .await
        .expect("a page");
    assert_eq!((page.total, page.limit, page.offset), (None, 2, 1));
    assert_eq!(page.tasks, tasks[1..3]);

    let all = client
        .list_tasks(
            None, None, None, None, None, None, None, None, None, None, None, None, None,
        )
        .await
        .expect("all");
    assert_eq!((all.total, all.limit, all.offset), (None, 100, 0));
    assert_eq!(all.tasks.len(), 6);

    // [after, before): at or after task 1's expiry, strictly before task 3's.
    let after = base + chrono::Duration::minutes(1);
    let before = base + chrono::Duration::minutes(3);
    let window = client
        .list_tasks(
            Some(true),
            None,
            Some(&after),
            Some(&before),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        )
        .await
        .expect("a window");
    assert_eq!(window.total, Some(2));
    assert_eq!(window.tasks, tasks[1..3]);

    let only_before = client
        .list_tasks(
            None,
            None,
            None,
            Some(&after),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        )
        .await
        .expect("before");
    assert_eq!(only_before.tasks, tasks[..1]);

    let paged_window = client
        .list_tasks(
            Some(true),
            None,
            Some(&after),
            None,
            None,
            NonZeroU32::new(1),
            Some(3),
            None,
            None,
            None,
            None,
            None,
            None,
        )
        .await
        .expect("a page of a window");
    assert_eq!(paged_window.total, Some(4));
    assert_eq!(paged_window.next_cursor, None);
    assert_eq!(paged_window.tasks, tasks[4..]);
}

async fn replacing_a_task_keeps_what_it_leaves_out(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = client(&app);
    let task = create(
        &client,
        TaskInput {
            description: Some("old".parse().unwrap()),
            ..input("old")
        },
    )
    .await;
    let expiry = from_now(7200);
    let replaced = client
        .replace_task(
            id(&task),
            None,
            &TaskPatch {
                title: Some("new".to_owned()),
                expiry_dt: Some(Some(expiry)),
                ..TaskPatch::default()
            },
        )
        .await
        .expect("replaced");
    assert_eq!(replaced.status(), StatusCode::OK);
    let replaced = replaced.into_inner();
    assert_eq!(replaced.id, task.id);
    assert_eq!(replaced.title, "new");
    assert_eq!(
        replaced.description.as_deref(),
        Some("old"),
        "a description left out is kept"
    );
    assert_eq!(replaced.expiry_dt, Some(expiry));
    assert_eq!(replaced.create_dt, task.create_dt);
    assert!(replaced.update_dt >= task.update_dt);
    let read = client.get_task(id(&task), None).await.expect("read");
    assert_eq!(read.into_inner(), replaced);
}

async fn patching_leaves_absent_fields_and_clears_nulls(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = client(&app);
    let expiry = from_now(3600);
    let task = create(
        &client,
        TaskInput {
            title: "patch me".to_owned(),
            description: Some("keep me".parse().unwrap()),
            expiry_dt: Some(expiry),
            priority: None,
            labels: None,
        },
    )
    .await;

    let renamed = client
        .patch_task(
            id(&task),
            None,
            &TaskPatch {
                title: Some("renamed".to_owned()),
                ..TaskPatch::default()
            },
        )
        .await
        .expect("patched")
        .into_inner();
    assert_eq!(renamed.title, "renamed");
    assert_eq!(renamed.description.as_deref(), Some("keep me"));
    assert_eq!(renamed.expiry_dt, Some(expiry));

    let cleared = client
        .patch_task(
            id(&task),
            None,
            &TaskPatch {
                description: Some(None),
                ..TaskPatch::default()
            },
        )
        .await
        .expect("patched")
        .into_inner();
    assert_eq!(cleared.title, "renamed");
    assert_eq!(cleared.description, None);
    assert_eq!(cleared.expiry_dt, Some(expiry), "an absent field stays");

    let later = from_now(7200);
    let moved = client
        .patch_task(
            id(&task),
            None,
            &TaskPatch {
                expiry_dt: Some(Some(later)),
                description: Some(Some("back".to_owned())),
                ..TaskPatch::default()
            },
        )
        .await
        .expect("patched")
        .into_inner();
    assert_eq!(moved.expiry_dt, Some(later));
    assert_eq!(moved.description.as_deref(), Some("back"));

    let no_expiry = client
        .patch_task(
            id(&task),
            None,
            &TaskPatch {
                expiry_dt: Some(None),
                ..TaskPatch::default()
            },
        )
        .await
        .expect("patched")
        .into_inner();
    assert_eq!(no_expiry.expiry_dt, None);
    assert_eq!(no_expiry.description.as_deref(), Some("back"));
    assert_eq!(no_expiry.title, "renamed");

    let unchanged = client
        .patch_task(id(&task), None, &TaskPatch::default())
        .await
        .expect("an empty patch")
        .into_inner();
    assert_eq!(
        (
            &unchanged.title,
            &unchanged.description,
            unchanged.expiry_dt
        ),
        (
            &no_expiry.title,
            &no_expiry.description,
            no_expiry.expiry_dt
        )
    );
    let read = client.get_task(id(&task), None).await.expect("read");
    assert_eq!(read.into_inner(), unchanged);
}

async fn bulk_replace_updates_every_task(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = client(&app);
    let first = create(&client, input("first")).await;
    let second = create(
        &client,
        TaskInput {
            description: Some("drop me".parse().unwrap()),
            ..input("second")
        },
    )
    .await;
    let untouched = create(&client, input("untouched")).await;
    let expiry = from_now(3600);
    let written = client
        .replace_tasks(&TaskReplacements {
            tasks: vec![
                TaskReplacement {
                    id: id(&first),
                    title: Some("first, replaced".to_owned()),
                    description: Some("now described".parse().unwrap()),
                    expiry_dt: Some(expiry),
                    priority: None,
                    labels: None,
                },
                TaskReplacement {
                    id: id(&second),
                    title: Some("second, replaced".to_owned()),
                    description: None,
                    expiry_dt: None,
                    priority: None,
                    labels: None,
                },
            ],
        })
        .await
        .expect("bulk replaced");
    assert_eq!(written.status(), StatusCode::OK);
    let written = written.into_inner().tasks;
    assert_eq!(written.len(), 2);
    assert_eq!(written[0].id, first.id);
    assert_eq!(written[0].title, "first, replaced");
    assert_eq!(written[0].description.as_deref(), Some("now described"));
    assert_eq!(written[0].expiry_dt, Some(expiry));
    assert_eq!(written[1].id, second.id);
    assert_eq!(written[1].title, "second, replaced");
    assert_eq!(
        written[1].description.as_deref(),
        Some("drop me"),
        "left out (the generated type cannot send null), so kept"
    );

    let all = client
        .list_tasks(
            None, None, None, None, None, None, None, None, None, None, None, None, None,
        )
        .await
        .expect("listed")
        .into_inner()
        .tasks;
    assert_eq!(all, [written[0].clone(), written[1].clone(), untouched]);
}

async fn deleting_by_ids_deletes_exactly_those(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = client(&app);
    let a = create(&client, input("a")).await;
    let b = create(&client, input("b")).await;
    let c = create(&client, input("c")).await;
    let d = create(&client, input("d")).await;
    // More than one id, so a client that repeated the parameter
    // (`ids=1&ids=3`) instead of sending `ids=1,3` would fail here.
    let result = client
        .delete_tasks(None, Some(&IdList::from(vec![a.id, c.id, 999_999])))
        .await
        .expect("deleted");
    assert_eq!(result.status(), StatusCode::OK);
    assert_eq!(result.deleted, 2);
    assert_eq!(ids_listed(&client).await, [b.id, d.id]);
}

async fn deleting_one_task_then_it_is_gone(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = client(&app);
    let keep = create(&client, input("keep")).await;
    let task = create(&client, input("delete me")).await;
    let deleted = client.delete_task(id(&task), None).await.expect("deleted");
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(ids_listed(&client).await, [keep.id]);

    for err in [
        client.get_task(id(&task), None).await.map(|_| ()),
        client.delete_task(id(&task), None).await.map(|_| ()),
    ] {
        let (status, problem) = err
            .expect_err("gone")
            .into_problem()
            .await
            .expect("a problem body");
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(problem.missing_ids, [task.id]);
    }
}

async fn deleting_all_tasks_counts_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = client(&app);
    for n in 0..3 {
        create(&client, input(&format!("task {n}"))).await;
    }
    let result = client
        .delete_tasks(Some(true), None)
        .await
        .expect("deleted all");
    assert_eq!(result.deleted, 3);
    let page = client
        .list_tasks(
            Some(true),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        )
        .await
        .expect("listed");
    assert_eq!(page.total, Some(0));
    assert!(page.tasks.is_empty());
    assert_eq!(
        client
            .delete_tasks(Some(true), None)
            .await
            .expect("again")
            .deleted,
        0
    );
}

async fn an_expired_task_shows_up_in_the_notifications_list(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &["--warn-before", "2s", "--tick-interval", "100ms"],
    )
    .await;
    let client = client(&app);
    let expiry = from_now(-60);
    let task = create(
        &client,
        TaskInput {
            expiry_dt: Some(expiry),
            ..input("already expired")
        },
    )
    .await;
    let other = create(&client, input("never expires")).await;

    let warning = eventually(WAIT, "the expired task's warning", || async {
        let page = client
            .list_notifications(None, None, None, None, Some(id(&task)))
            .await
            .expect("notifications listed")
            .into_inner();
        page.notifications.into_iter().next()
    })
    .await;
    assert_eq!(warning.task_id, task.id);
    assert_eq!(warning.title, "already expired");
    assert_eq!(warning.kind, NotificationKind::Expired);
    assert_eq!(warning.expiry_dt, expiry);
    assert_eq!(warning.delivery_state, DeliveryState::None);

    let all = client
        .list_notifications(Some(true), None, None, None, None)
        .await
        .expect("all notifications")
        .into_inner();
    assert_eq!(all.total, Some(1));
    assert_eq!(all.notifications, std::slice::from_ref(&warning));
    let history = client
        .list_task_notifications(id(&task), None, None, None, None)
        .await
        .expect("the task's history")
        .into_inner();
    assert_eq!(history.notifications, [warning]);
    let none = client
        .list_task_notifications(id(&other), Some(true), None, None, None)
        .await
        .expect("the other task's history");
    assert_eq!(none.total, Some(0));
}

async fn a_missing_task_is_a_404_problem(backend: Backend) {
    let app = spawn_app(backend).await;
    let err = client(&app)
        .get_task(NonZeroU64::new(999_999).unwrap(), None)
        .await
        .expect_err("no such task");
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
    let (status, problem) = err.into_problem().await.expect("a problem body");
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(problem.status, 404);
    assert_eq!(problem.title, "Not Found");
    assert!(problem.detail.contains("999999"), "{problem:?}");
    assert_eq!(problem.missing_ids, [999_999]);
}

async fn a_blank_title_is_a_400_problem(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = client(&app);
    let (status, problem) = client
        .create_task(None, &input("   "))
        .await
        .expect_err("a blank title is refused")
        .into_problem()
        .await
        .expect("a problem body");
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem.status, 400);
    assert!(problem.detail.contains("title"), "{problem:?}");
    assert_eq!(problem.errors[0].field, "title", "{problem:?}");
    assert!(ids_listed(&client).await.is_empty());
}

/// The problem's `errors` name the offending field; here one that only the
/// server can judge (each id at most once per bulk replace).
async fn a_field_error_names_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = client(&app);
    let task = create(&client, input("once")).await;
    let twice = TaskReplacement {
        id: id(&task),
        title: Some("twice".to_owned()),
        description: None,
        expiry_dt: None,
        priority: None,
        labels: None,
    };
    let (status, problem) = client
        .replace_tasks(&TaskReplacements {
            tasks: vec![twice.clone(), twice],
        })
        .await
        .expect_err("a duplicate id is refused")
        .into_problem()
        .await
        .expect("a problem body");
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem.status, 422);
    assert_eq!(problem.errors.len(), 1, "{problem:?}");
    assert_eq!(problem.errors[0].field, "tasks[1].id", "{problem:?}");
    assert!(!problem.errors[0].message.is_empty());
}

/// The spec's `ETag` / `If-Match` / `If-None-Match` come through as response
/// headers and optional arguments; a stale `If-Match` is a 412 problem.
async fn etags_guard_writes(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = client(&app);
    let created = client
        .create_task(None, &input("versioned"))
        .await
        .expect("created");
    let old_tag = created.headers()["etag"].to_str().unwrap().to_owned();
    let task = created.into_inner();

    let patched = client
        .patch_task(
            id(&task),
            // The spec's pattern makes each a checked type of the client.
            Some(&old_tag.parse().expect("an ETag fits If-Match")),
            &TaskPatch {
                title: Some("v2".to_owned()),
                ..TaskPatch::default()
            },
        )
        .await
        .expect("If-Match with the current tag");
    let new_tag = patched.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(new_tag, old_tag);

    let (status, problem) = client
        .delete_task(
            id(&task),
            Some(&old_tag.parse().expect("an ETag fits If-Match")),
        )
        .await
        .expect_err("a stale tag")
        .into_problem()
        .await
        .expect("a problem body");
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(problem.status, 412);

    // progenitor has no success type for 304, so it is an unexpected
    // response, without a problem body.
    let not_modified = client
        .get_task(
            id(&task),
            Some(&new_tag.parse().expect("an ETag fits If-None-Match")),
        )
        .await
        .expect_err("304 is not typed");
    assert!(
        matches!(&not_modified, Error::UnexpectedResponse(r) if r.status() == StatusCode::NOT_MODIFIED)
    );
    let unchanged = not_modified
        .into_problem()
        .await
        .expect_err("no problem body");
    assert_eq!(unchanged.status(), Some(StatusCode::NOT_MODIFIED));
}

/// With `API_TOKEN` set, a client built on a reqwest client with a default
/// `Authorization` header gets through; one without gets a 401 problem.
async fn a_bearer_token_goes_in_the_underlying_reqwest_client(backend: Backend) {
    let app = spawn_app_with(backend, &["--api-token", "s3cret"]).await;
    let mut headers = HeaderMap::new();
    let mut bearer = HeaderValue::from_static("Bearer s3cret");
    bearer.set_sensitive(true);
    headers.insert(AUTHORIZATION, bearer);
    let http = taskman_client::reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap();
    let authorized = Client::new_with_client(&app.address, http);
    let task = create(&authorized, input("with a token")).await;
    assert_eq!(ids_listed(&authorized).await, [task.id]);

    let anonymous = client(&app);
    let (status, problem) = anonymous
        .get_task(id(&task), None)
        .await
        .expect_err("no token")
        .into_problem()
        .await
        .expect("a problem body");
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(problem.status, 401);
    let health = anonymous.get_health().await.expect("health needs no token");
    assert_eq!(health.into_inner().status, Status::Ok);
}
