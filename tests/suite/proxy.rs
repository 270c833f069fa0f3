//! Behind a reverse proxy and in front of browser apps on other origins:
//! `TRUSTED_PROXIES` names the real client in the access log, and
//! `CORS_ORIGINS` lets the listed origins, and only them, call the API
//! from a page, with preflights answered before any token is asked for.

use reqwest::Method;
use serde_json::json;

use crate::common::{Backend, capture_logs, header, spawn_app_with};

const APP: &str = "https://app.example.com";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listed_origin_may_call_the_api_and_no_other_can_read_it() {
    let app = spawn_app_with(
        Backend::Sqlite,
        &[
            "--cors-origins",
            &format!("{APP},http://localhost:5173"),
            "--api-token",
            "cors-token-0123456789",
        ],
    )
    .await;
    let client = &app.client;

    // A preflight carries no token: answered, not 401.
    let preflight = client
        .request(Method::OPTIONS, app.url("/v1/tasks"))
        .header("origin", APP)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type, idempotency-key",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(header(&preflight, "access-control-allow-origin"), APP);
    let methods = header(&preflight, "access-control-allow-methods").to_ascii_uppercase();
    assert!(
        methods.contains("POST") && methods.contains("PATCH"),
        "{methods}"
    );
    let headers = header(&preflight, "access-control-allow-headers").to_ascii_lowercase();
    for wanted in [
        "authorization",
        "content-type",
        "idempotency-key",
        "if-match",
    ] {
        assert!(headers.contains(wanted), "{wanted} in {headers}");
    }
    assert!(
        preflight
            .headers()
            .get("access-control-allow-credentials")
            .is_none()
    );

    // The call itself: its answer is readable, ETag and Location included.
    let created = client
        .post(app.url("/v1/tasks"))
        .header("origin", APP)
        .bearer_auth("cors-token-0123456789")
        .json(&json!({"title": "from the app"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(header(&created, "access-control-allow-origin"), APP);
    let exposed = header(&created, "access-control-expose-headers").to_ascii_lowercase();
    assert!(
        exposed.contains("etag") && exposed.contains("location"),
        "{exposed}"
    );
    assert!(
        header(&created, "vary")
            .to_ascii_lowercase()
            .contains("origin")
    );

    // An unlisted origin gets no CORS headers: its page cannot read the
    // answer, and its preflight allows nothing.
    for method in [Method::GET, Method::OPTIONS] {
        let response = client
            .request(method.clone(), app.url("/v1/tasks"))
            .header("origin", "https://evil.example")
            .header("access-control-request-method", "DELETE")
            .bearer_auth("cors-token-0123456789")
            .send()
            .await
            .unwrap();
        assert!(
            response
                .headers()
                .get("access-control-allow-origin")
                .is_none(),
            "{method}: {:?}",
            response.headers()
        );
    }

    // The service's own pages (Swagger UI) send Origin on a POST too, and
    // are served as before.
    let own = app.url("");
    let same_origin = client
        .post(app.url("/v1/tasks"))
        .header("origin", own.trim_end_matches('/'))
        .bearer_auth("cors-token-0123456789")
        .json(&json!({"title": "from Swagger UI"}))
        .send()
        .await
        .unwrap();
    assert_eq!(same_origin.status(), 201);
}

#[test]
fn a_wildcard_or_a_path_is_not_an_origin() {
    for bad in [
        "*",
        "https://app.example.com/path",
        "app.example.com",
        "ftp://x.example",
    ] {
        let parsed = taskman::Config::from_args(["taskman", "--cors-origins", bad]);
        assert!(parsed.is_err(), "{bad} accepted");
    }
    let good = taskman::Config::from_args([
        "taskman",
        "--cors-origins",
        "https://a.example,http://localhost:5173/",
    ])
    .unwrap();
    assert_eq!(
        good.cors_origins,
        ["https://a.example", "http://localhost:5173"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_access_log_names_the_client_behind_a_trusted_proxy_only() {
    let logs = capture_logs(tracing::Level::INFO);
    let trusting = spawn_app_with(Backend::Sqlite, &["--trusted-proxies", "127.0.0.0/8,::1"]).await;
    let doubting = spawn_app_with(Backend::Sqlite, &[]).await;
    for (app, marker) in [
        (&trusting, "/v1/tasks?limit=1"),
        (&doubting, "/v1/tasks?limit=2"),
    ] {
        let response = app
            .client
            .get(app.url(marker))
            .header("x-forwarded-for", "198.51.100.23, 203.0.113.9")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let forwarded = trusting
        .client
        .get(trusting.url("/v1/tasks?limit=3"))
        .header("forwarded", r#"for="[2001:db8::7]:4711";proto=https"#)
        .send()
        .await
        .unwrap();
    assert_eq!(forwarded.status(), 200);
    let log = logs.text();
    let line = |marker: &str| {
        log.lines()
            .find(|line| line.contains(marker))
            .unwrap_or_else(|| panic!("no access log line for {marker}:\n{log}"))
            .to_owned()
    };
    assert!(
        line("limit=1").contains("remote_addr=203.0.113.9"),
        "{}",
        line("limit=1")
    );
    assert!(
        line("limit=2").contains("remote_addr=127.0.0.1:"),
        "{}",
        line("limit=2")
    );
    assert!(
        line("limit=3").contains("remote_addr=2001:db8::7"),
        "{}",
        line("limit=3")
    );
}

/// Under `BASE_PATH=/tasks`, as a proxy that strips the prefix passes
/// requests on, and as one that does not: every link written carries it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_a_base_path_every_link_carries_it() {
    let app = spawn_app_with(Backend::Sqlite, &["--base-path", "/tasks/"]).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for prefix in ["", "/tasks"] {
        let created = client
            .post(app.url(&format!("{prefix}/v1/tasks")))
            .json(&json!({"title": "under a prefix"}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201, "{prefix}");
        let location = header(&created, "location");
        assert!(location.starts_with("/tasks/v1/tasks/"), "{location}");
        // What the Location names is served under the prefix.
        let read = client.get(app.url(&location)).send().await.unwrap();
        assert_eq!(read.status(), 200, "{location}");
    }
    let page = client
        .get(app.url("/v1/tasks?limit=1"))
        .send()
        .await
        .unwrap();
    let link = header(&page, "link");
    assert!(link.starts_with("</tasks/v1/tasks?"), "{link}");
    let next = link
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(
        client.get(app.url(&next)).send().await.unwrap().status(),
        200
    );
    let root = client.get(app.url("/tasks/")).send().await.unwrap();
    assert_eq!(root.status(), 303);
    assert_eq!(header(&root, "location"), "/tasks/docs");
    let spec: serde_json::Value = client
        .get(app.url("/tasks/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(spec["servers"][0]["url"], "/tasks");
    let docs = client.get(app.url("/tasks/docs")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    let html = docs.text().await.unwrap();
    assert!(
        html.contains(r#""url":"/tasks""#) || html.contains(r#""url": "/tasks""#),
        "Swagger UI's spec names the server"
    );
    // A path that only starts like the prefix is not taken for it.
    let near = client
        .get(app.url("/tasksx/v1/tasks"))
        .send()
        .await
        .unwrap();
    assert_eq!(near.status(), 404);
}
