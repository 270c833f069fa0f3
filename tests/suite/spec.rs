//! The committed `openapi/openapi.json` is exactly what the server serves;
//! `make openapi` rewrites it from the served spec.

use serde_json::Value;

use crate::common::{Backend, json_body, spawn_app};

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_committed_spec_matches_the_served_one() {
    let app = spawn_app(Backend::Sqlite).await;
    let served = json_body(app.get("/openapi.json").await, 200).await;
    let committed: Value = std::fs::read_to_string(COMMITTED)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    assert!(
        committed == served,
        "openapi/openapi.json differs from the served spec; run `make openapi` and commit it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_has_an_id_a_summary_and_a_tag() {
    let app = spawn_app(Backend::Sqlite).await;
    let spec = json_body(app.get("/openapi.json").await, 200).await;
    let mut ids = std::collections::HashSet::new();
    for (path, operations) in spec["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let id = operation["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            assert!(ids.insert(id.to_owned()), "duplicate operationId {id}");
            assert!(
                operation["summary"].is_string(),
                "{method} {path} has no summary"
            );
            assert!(
                operation["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{method} {path} has no tag"
            );
        }
    }
    assert!(ids.len() >= 9, "{ids:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swagger_ui_is_served_and_the_root_redirects_to_it() {
    let app = spawn_app(Backend::Sqlite).await;
    let docs = app.get("/docs").await;
    assert_eq!(docs.status(), 200);
    let html = docs.text().await.unwrap();
    assert!(html.contains("swagger"), "no Swagger UI in /docs");
    assert!(
        !html.contains("cdn."),
        "Swagger UI must not load assets from a CDN"
    );
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let root = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(root.status(), 303);
    assert_eq!(root.headers()["location"], "/docs");
}
