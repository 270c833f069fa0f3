//! Expiry warnings end to end: timeliness, exactly once, re-arm, disarm,
//! restarts, the live stream and the webhook. A 2 s window and a 100 ms tick
//! keep every test within seconds.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::common::{Backend, SseClient, TestApp, eventually, json_body, spawn_app_with};

const FAST: &[&str] = &["--warn-before", "2s", "--tick-interval", "100ms"];
/// For the tests that check a warning is not `late`: the promise is one
/// tick and half a second, so a 1 s tick leaves a loaded machine 1.5 s.
const TIMELY: &[&str] = &["--warn-before", "2s", "--tick-interval", "1s"];
const WAIT: Duration = Duration::from_secs(20);

crate::on_both_backends!(
    a_warning_comes_once_when_the_window_opens_and_not_before,
    a_task_created_inside_the_window_is_warned_at_once,
    a_task_created_already_expired_is_warned_as_expired_at_once,
    changing_the_expiry_rearms_the_warning,
    clearing_the_expiry_or_deleting_the_task_disarms_it,
    deleting_all_tasks_disarms_them,
    a_task_created_while_every_task_is_deleted_is_still_warned,
    a_restart_does_not_warn_twice,
    a_warning_missed_while_down_comes_late_after_a_restart,
    stream_subscribers_receive_each_new_warning,
    a_resumed_stream_replays_what_it_missed_then_goes_live,
    the_webhook_gets_each_warning_and_a_failed_attempt_is_retried,
    a_task_history_lists_its_warnings_newest_first,
    a_webhook_that_keeps_failing_is_given_up_after_the_last_attempt,
    shutdown_ends_open_streams_instead_of_waiting_for_them,
);

/// RFC 3339 for `secs` seconds from now (negative: in the past).
fn from_now(secs: f64) -> String {
    let at = Utc::now() + chrono::Duration::milliseconds((secs * 1000.0) as i64);
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn time(value: &Value) -> chrono::DateTime<Utc> {
    chrono::DateTime::parse_from_rfc3339(value.as_str().expect("a time string"))
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

async fn warnings_for(app: &TestApp, task_id: &Value) -> Vec<Value> {
    let page = json_body(
        app.get(&format!("/v1/notifications?task_id={task_id}"))
            .await,
        200,
    )
    .await;
    page["notifications"]
        .as_array()
        .expect("notifications")
        .clone()
}

/// Waits until the task has at least `count` warnings; returns them all.
async fn wait_for_warnings(app: &TestApp, task_id: &Value, count: usize) -> Vec<Value> {
    eventually(
        WAIT,
        &format!("{count} warning(s) for task {task_id}"),
        || async {
            let found = warnings_for(app, task_id).await;
            (found.len() >= count).then_some(found)
        },
    )
    .await
}

/// A create that commits while `DELETE /v1/tasks?all=true` runs may be
/// saved to the cache before the delete clears it, and still survive the
/// delete in the database. It is armed at once all the same, not left to
/// the reconcile job (here once a year, so it never runs).
async fn a_task_created_while_every_task_is_deleted_is_still_warned(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            "--warn-before",
            "1h",
            "--tick-interval",
            "100ms",
            "--reconcile-schedule",
            "0 0 0 1 1 *",
        ],
    )
    .await;
    let mut survivors = 0;
    for round in 0..20u64 {
        // Creates before, across and after the delete.
        let creates = (0..12u64).map(|n| {
            let app = &app;
            async move {
                tokio::time::sleep(Duration::from_micros(n * 250)).await;
                let expiry = from_now(600.0);
                app.create_task(json!({"title": format!("racer {round}.{n}"), "expiry_dt": expiry}))
                    .await
            }
        });
        let (created, deleted) = tokio::join!(
            futures_util::future::join_all(creates),
            app.delete("/v1/tasks?all=true")
        );
        assert_eq!(deleted.status(), 200);
        for task in created {
            if app.get(&format!("/v1/tasks/{}", task["id"])).await.status() == 200 {
                survivors += 1;
                let warned = wait_for_warnings(&app, &task["id"], 1).await;
                assert_eq!(warned[0]["kind"], "expiring", "{warned:?}");
            }
        }
    }
    assert!(
        survivors > 0,
        "no create outlived a delete; nothing was tested"
    );
}

async fn a_warning_comes_once_when_the_window_opens_and_not_before(backend: Backend) {
    let app = spawn_app_with(backend, TIMELY).await;
    let task = app
        .create_task(json!({"title": "Pay rent", "expiry_dt": from_now(4.0)}))
        .await;
    let expiry = time(&task["expiry_dt"]);
    let window_opens = expiry - chrono::Duration::seconds(2);

    let warnings = wait_for_warnings(&app, &task["id"], 1).await;
    let warning = &warnings[0];
    let notified_at = time(&warning["notified_at"]);
    assert!(
        notified_at >= window_opens,
        "early: {notified_at} < {window_opens}"
    );
    // At most one tick and half a second after the window opened: the
    // service itself says whether it kept that promise.
    assert_eq!(warning["kind"], "expiring");
    assert_eq!(warning["late"], false, "{warning}");
    assert_eq!(warning["title"], "Pay rent");
    assert_eq!(warning["expiry_dt"], task["expiry_dt"]);
    assert_eq!(warning["delivery_state"], "none");

    // Past the expiry itself: still exactly one warning.
    let control = app
        .create_task(json!({"title": "control", "expiry_dt": from_now(-1.0)}))
        .await;
    wait_for_warnings(&app, &control["id"], 1).await;
    tokio::time::sleep_until(
        tokio::time::Instant::now() + until(expiry) + Duration::from_millis(300),
    )
    .await;
    assert_eq!(warnings_for(&app, &task["id"]).await.len(), 1);
}

/// How long from now until `at` (zero if past).
fn until(at: chrono::DateTime<Utc>) -> Duration {
    (at - Utc::now()).to_std().unwrap_or_default()
}

async fn a_task_created_inside_the_window_is_warned_at_once(backend: Backend) {
    // A tick far longer than the wait below: the write itself wakes the
    // tick loop, it does not wait for a tick (nor for a reconcile).
    let app = spawn_app_with(backend, &["--warn-before", "2s", "--tick-interval", "30s"]).await;
    let task = app
        .create_task(json!({"title": "soon", "expiry_dt": from_now(1.5)}))
        .await;
    let warnings = wait_for_warnings(&app, &task["id"], 1).await;
    assert_eq!(warnings[0]["kind"], "expiring");
    assert_eq!(warnings[0]["late"], false, "{}", warnings[0]);
}

async fn a_task_created_already_expired_is_warned_as_expired_at_once(backend: Backend) {
    let app = spawn_app_with(backend, &["--warn-before", "2s", "--tick-interval", "30s"]).await;
    let task = app
        .create_task(json!({"title": "overdue", "expiry_dt": from_now(-3600.0)}))
        .await;
    let warnings = wait_for_warnings(&app, &task["id"], 1).await;
    assert_eq!(warnings[0]["kind"], "expired");
    assert_eq!(warnings[0]["late"], false);
}

async fn changing_the_expiry_rearms_the_warning(backend: Backend) {
    let app = spawn_app_with(backend, FAST).await;
    let task = app
        .create_task(json!({"title": "moving", "expiry_dt": from_now(1.0)}))
        .await;
    let path = format!("/v1/tasks/{}", task["id"]);
    wait_for_warnings(&app, &task["id"], 1).await;

    let patched = json_body(
        app.patch_json(&path, &json!({"expiry_dt": from_now(2.5)}))
            .await,
        200,
    )
    .await;
    let warnings = wait_for_warnings(&app, &task["id"], 2).await;
    assert_eq!(
        warnings[0]["expiry_dt"], patched["expiry_dt"],
        "newest first"
    );
    assert_eq!(warnings[1]["expiry_dt"], task["expiry_dt"]);

    let bulk = json!({"tasks": [{"id": task["id"], "title": "moved again", "expiry_dt": from_now(-10.0)}]});
    let replaced = json_body(app.put_json("/v1/tasks", &bulk).await, 200).await;
    let warnings = wait_for_warnings(&app, &task["id"], 3).await;
    assert_eq!(warnings[0]["expiry_dt"], replaced["tasks"][0]["expiry_dt"]);
    assert_eq!(warnings[0]["kind"], "expired");
    assert_eq!(warnings[0]["title"], "moved again");
}

async fn clearing_the_expiry_or_deleting_the_task_disarms_it(backend: Backend) {
    let app = spawn_app_with(backend, FAST).await;
    // The window opens in 8 s: time to disarm five tasks even on a
    // loaded machine, before any of them could fall due.
    let expiry = from_now(10.0);
    let mut disarmed = Vec::new();
    for title in ["cleared", "replaced", "bulk", "deleted", "deleted by id"] {
        disarmed.push(
            app.create_task(json!({"title": title, "expiry_dt": expiry}))
                .await,
        );
    }
    let control = app
        .create_task(json!({"title": "control", "expiry_dt": expiry}))
        .await;

    let path = |task: &Value| format!("/v1/tasks/{}", task["id"]);
    json_body(
        app.patch_json(&path(&disarmed[0]), &json!({"expiry_dt": null}))
            .await,
        200,
    )
    .await;
    json_body(
        app.put_json(&path(&disarmed[1]), &json!({"expiry_dt": null}))
            .await,
        200,
    )
    .await;
    let bulk = json!({"tasks": [{"id": disarmed[2]["id"], "expiry_dt": null}]});
    json_body(app.put_json("/v1/tasks", &bulk).await, 200).await;
    assert_eq!(app.delete(&path(&disarmed[3])).await.status(), 204);
    json_body(
        app.delete(&format!("/v1/tasks?ids={}", disarmed[4]["id"]))
            .await,
        200,
    )
    .await;

    // The control, armed for the same instant, is warned: the others had their chance.
    wait_for_warnings(&app, &control["id"], 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    for task in &disarmed {
        assert_eq!(
            warnings_for(&app, &task["id"]).await,
            Vec::<Value>::new(),
            "{task}"
        );
    }
    let all = json_body(app.get("/v1/notifications?count=true").await, 200).await;
    assert_eq!(all["total"], 1);
}

async fn deleting_all_tasks_disarms_them(backend: Backend) {
    let app = spawn_app_with(backend, FAST).await;
    // Time to spare before the window opens, even on a loaded machine.
    let expiry = from_now(10.0);
    for n in 0..3 {
        app.create_task(json!({"title": format!("t{n}"), "expiry_dt": expiry}))
            .await;
    }
    json_body(app.delete("/v1/tasks?all=true").await, 200).await;
    let control = app
        .create_task(json!({"title": "control", "expiry_dt": expiry}))
        .await;
    wait_for_warnings(&app, &control["id"], 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let all = json_body(app.get("/v1/notifications?count=true").await, 200).await;
    assert_eq!(all["total"], 1, "{all}");
}

async fn a_restart_does_not_warn_twice(backend: Backend) {
    let mut app = spawn_app_with(backend, FAST).await;
    let task = app
        .create_task(json!({"title": "once", "expiry_dt": from_now(1.0)}))
        .await;
    wait_for_warnings(&app, &task["id"], 1).await;
    app.restart().await;
    let control = app
        .create_task(json!({"title": "control", "expiry_dt": from_now(-1.0)}))
        .await;
    wait_for_warnings(&app, &control["id"], 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(warnings_for(&app, &task["id"]).await.len(), 1);
}

async fn a_warning_missed_while_down_comes_late_after_a_restart(backend: Backend) {
    let mut app = spawn_app_with(backend, FAST).await;
    let task = app
        .create_task(json!({"title": "missed", "expiry_dt": from_now(3.0)}))
        .await;
    app.stop().await;
    assert!(server_is_unreachable(&app).await);
    // Down past the expiry, and past the grace a tick-late warning gets.
    let expiry = time(&task["expiry_dt"]);
    tokio::time::sleep(until(expiry) + Duration::from_millis(1000)).await;
    app.restart().await;
    let warnings = wait_for_warnings(&app, &task["id"], 1).await;
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0]["kind"], "expired");
    assert_eq!(warnings[0]["late"], true);
}

async fn server_is_unreachable(app: &TestApp) -> bool {
    app.client.get(app.url("/v1/health")).send().await.is_err()
}

async fn stream_subscribers_receive_each_new_warning(backend: Backend) {
    let app = spawn_app_with(backend, FAST).await;
    let mut first = SseClient::connect(&app.url("/v1/notifications/stream")).await;
    let mut second = SseClient::connect(&app.url("/v1/notifications/stream")).await;
    let task = app
        .create_task(json!({"title": "streamed", "expiry_dt": from_now(-1.0)}))
        .await;

    let event = first
        .next_json(WAIT)
        .await
        .expect("an event on the first stream");
    assert_eq!(event["task_id"], task["id"]);
    assert_eq!(event["kind"], "expired");
    let stored = wait_for_warnings(&app, &task["id"], 1).await;
    assert_eq!(
        event, stored[0],
        "the stream sends the same JSON as the history"
    );
    assert_eq!(second.next_json(WAIT).await, Some(event));
}

/// A client that reconnects with `Last-Event-ID` gets every warning after
/// that id from the history, in order, then live ones: no gap, no repeat.
async fn a_resumed_stream_replays_what_it_missed_then_goes_live(backend: Backend) {
    let app = spawn_app_with(backend, FAST).await;
    let stream_url = app.url("/v1/notifications/stream");
    let expired_task = |title: &str| json!({"title": title, "expiry_dt": from_now(-1.0)});

    let mut first = SseClient::connect(&stream_url).await;
    let seen = app.create_task(expired_task("seen")).await;
    let (seen_id, event) = first.next_event(WAIT).await.expect("the first event");
    assert_eq!(event["task_id"], seen["id"]);
    let seen_id = seen_id.expect("every event has an id");
    assert_eq!(
        seen_id,
        event["id"].to_string(),
        "the event id is the notification id"
    );
    drop(first);

    // Warnings produced while no client is connected.
    let mut missed = Vec::new();
    for title in ["missed 1", "missed 2", "missed 3"] {
        let task = app.create_task(expired_task(title)).await;
        missed.push(wait_for_warnings(&app, &task["id"], 1).await[0].clone());
    }

    let mut resumed = SseClient::resume(&stream_url, Some(&seen_id)).await;
    for expected in &missed {
        let (id, event) = resumed.next_event(WAIT).await.expect("a replayed event");
        assert_eq!(&event, expected, "replayed in order, as stored");
        assert_eq!(id, Some(expected["id"].to_string()));
    }
    let live = app.create_task(expired_task("live")).await;
    let (_, event) = resumed.next_event(WAIT).await.expect("a live event");
    assert_eq!(
        event["task_id"], live["id"],
        "the first event after the replay is the new warning, nothing repeated"
    );
    assert_eq!(
        resumed.next_event(Duration::from_millis(1500)).await,
        None,
        "nothing more: no duplicates"
    );

    // Resuming from the newest id replays nothing.
    let newest = event["id"].to_string();
    let mut caught_up = SseClient::resume(&stream_url, Some(&newest)).await;
    assert_eq!(
        caught_up.next_event(Duration::from_millis(1500)).await,
        None
    );
    let unreadable = app
        .client
        .get(&stream_url)
        .header("Last-Event-ID", "abc")
        .send()
        .await
        .expect("request sent");
    crate::common::problem_body(unreadable, 400).await;
}

async fn the_webhook_gets_each_warning_and_a_failed_attempt_is_retried(backend: Backend) {
    let receiver = crate::common::WebhookReceiver::start(1).await;
    let mut args: Vec<&str> = FAST.to_vec();
    let url = receiver.url();
    args.extend([
        "--notify-webhook-url",
        url.as_str(),
        "--notify-webhook-secret",
        "s3cret",
        "--webhook-retry-base",
        "200ms",
    ]);
    let app = spawn_app_with(backend, &args).await;
    let task = app
        .create_task(json!({"title": "hooked", "expiry_dt": from_now(-1.0)}))
        .await;

    let calls = eventually(WAIT, "two webhook calls", || async {
        let calls = receiver.calls();
        (calls.len() >= 2).then_some(calls)
    })
    .await;
    assert_eq!(calls[0].status, 500, "the first attempt is made to fail");
    assert_eq!(calls[1].status, 200);
    let warning = eventually(WAIT, "delivery recorded", || async {
        let found = warnings_for(&app, &task["id"]).await;
        found
            .into_iter()
            .find(|w| w["delivery_state"] == "delivered")
    })
    .await;
    assert_eq!(warning["delivery_attempts"], 2);
    assert_eq!(
        warning["last_delivery_error"],
        format!(
            "{} answered HTTP 500 Internal Server Error",
            receiver.origin()
        )
    );
    assert!(warning["delivered_at"].is_string());
    for call in &calls {
        assert_eq!(
            call.delivery_id,
            warning["id"].to_string(),
            "a stable delivery id"
        );
        assert_eq!(
            call.signature,
            taskman::expiry::signature("s3cret", call.body.as_bytes())
        );
        let body: Value = serde_json::from_str(&call.body).expect("JSON body");
        assert_eq!(body["id"], warning["id"]);
        assert_eq!(body["task_id"], task["id"]);
        assert_eq!(body["kind"], "expired");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.calls().len(), 2, "no delivery after success");
}

async fn a_task_history_lists_its_warnings_newest_first(backend: Backend) {
    let app = spawn_app_with(backend, FAST).await;
    let task = app
        .create_task(json!({"title": "history", "expiry_dt": from_now(-5.0)}))
        .await;
    let path = format!("/v1/tasks/{}", task["id"]);
    wait_for_warnings(&app, &task["id"], 1).await;
    json_body(
        app.patch_json(&path, &json!({"expiry_dt": from_now(-2.0)}))
            .await,
        200,
    )
    .await;
    wait_for_warnings(&app, &task["id"], 2).await;

    let history = json_body(
        app.get(&format!("{path}/notifications?count=true")).await,
        200,
    )
    .await;
    assert_eq!(history["total"], 2);
    let items = history["notifications"].as_array().unwrap();
    assert!(items[0]["id"].as_i64() > items[1]["id"].as_i64());

    // Once the task is deleted its own resource is gone (404); its history
    // stays listed under /v1/notifications.
    assert_eq!(app.delete(&path).await.status(), 204);
    crate::common::problem_body(app.get(&format!("{path}/notifications")).await, 404).await;
    let after = json_body(
        app.get(&format!(
            "/v1/notifications?count=true&task_id={}",
            task["id"]
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(after["total"], 2);
    crate::common::problem_body(app.get("/v1/tasks/999999/notifications").await, 404).await;
    crate::common::problem_body(app.get("/v1/notifications?task_id=0").await, 400).await;
}

async fn a_webhook_that_keeps_failing_is_given_up_after_the_last_attempt(backend: Backend) {
    let receiver = crate::common::WebhookReceiver::start(usize::MAX).await;
    let url = receiver.url();
    let mut args: Vec<&str> = FAST.to_vec();
    args.extend([
        "--notify-webhook-url",
        url.as_str(),
        "--webhook-retry-base",
        "100ms",
        "--webhook-max-attempts",
        "3",
    ]);
    let app = spawn_app_with(backend, &args).await;
    let task = app
        .create_task(json!({"title": "unreachable", "expiry_dt": from_now(-1.0)}))
        .await;

    let warning = eventually(WAIT, "the delivery to be given up", || async {
        let found = warnings_for(&app, &task["id"]).await;
        found.into_iter().find(|w| w["delivery_state"] == "failed")
    })
    .await;
    assert_eq!(warning["delivery_attempts"], 3);
    assert_eq!(
        warning["last_delivery_error"],
        format!(
            "{} answered HTTP 500 Internal Server Error",
            receiver.origin()
        )
    );
    assert_eq!(warning["delivered_at"], Value::Null);
    // Without a secret there is no signature.
    assert!(
        receiver
            .calls()
            .iter()
            .all(|call| call.signature.is_empty())
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.calls().len(), 3, "no attempt after the last one");
}

async fn shutdown_ends_open_streams_instead_of_waiting_for_them(backend: Backend) {
    let mut args: Vec<&str> = FAST.to_vec();
    // Far longer than the deadline below: only ending the stream can meet it.
    args.extend(["--shutdown-timeout", "120s"]);
    let mut app = spawn_app_with(backend, &args).await;
    let mut stream = SseClient::connect(&app.url("/v1/notifications/stream")).await;
    app.create_task(json!({"title": "before shutdown", "expiry_dt": from_now(-1.0)}))
        .await;
    assert!(stream.next_json(WAIT).await.is_some(), "the stream is live");

    tokio::time::timeout(Duration::from_secs(20), app.stop())
        .await
        .expect("shutdown finished while a stream was open");
    assert_eq!(
        stream.next_json(Duration::from_secs(5)).await,
        None,
        "the stream ended"
    );
}
