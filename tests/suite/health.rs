//! `/v1/health` tells whether the database is reachable.

use serde_json::json;
use sqlx::{Connection, MySqlConnection, SqliteConnection};

use crate::common::{Backend, json_body, proxied_mysql, start};

crate::on_both_backends!(
    health_is_ok_with_the_database_up,
    health_fails_where_queries_fail_even_while_the_server_answers_pings,
);

async fn health_is_ok_with_the_database_up(backend: Backend) {
    let app = crate::common::spawn_app(backend).await;
    let health = json_body(app.get("/v1/health").await, 200).await;
    assert_eq!(health, json!({"status": "ok", "database": "ok"}));
}

/// A Galera node that is not yet synced answers pings but refuses every
/// statement; a load balancer must see it as down. Here a table health
/// reads goes away and comes back: a ping would still say ok.
async fn health_fails_where_queries_fail_even_while_the_server_answers_pings(backend: Backend) {
    let app = crate::common::spawn_app(backend).await;
    json_body(app.get("/v1/health").await, 200).await;
    let rename = async |from: &str, to: &str| {
        let statement = format!("ALTER TABLE {from} RENAME TO {to}");
        let statement = sqlx::AssertSqlSafe(statement);
        match backend {
            Backend::Sqlite => {
                let mut conn = SqliteConnection::connect(app.database.url()).await.unwrap();
                sqlx::query(statement).execute(&mut conn).await.unwrap();
            }
            Backend::MySql => {
                let mut conn = MySqlConnection::connect(app.database.url()).await.unwrap();
                sqlx::query(statement).execute(&mut conn).await.unwrap();
            }
        }
    };
    rename("write_probe", "write_probe_away").await;
    let down = app.get("/v1/health").await;
    assert_eq!(down.status(), 503);
    let body: serde_json::Value = down.json().await.unwrap();
    assert_eq!(body["database"], "unavailable", "{body}");
    rename("write_probe_away", "write_probe").await;
    json_body(app.get("/v1/health").await, 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_503_when_the_database_is_unreachable() {
    let (_database, proxy, through_proxy) = proxied_mysql().await;
    let (address, stop, _server) = start(&through_proxy, &[]).await;
    let client = reqwest::Client::new();
    let ok = client
        .get(format!("{address}/v1/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);

    proxy.cut();
    let down = client
        .get(format!("{address}/v1/health"))
        .send()
        .await
        .unwrap();
    let health = json_body(down, 503).await;
    assert_eq!(
        health,
        json!({"status": "unavailable", "database": "unavailable"})
    );
    let list = client
        .get(format!("{address}/v1/tasks"))
        .send()
        .await
        .unwrap();
    let problem = crate::common::problem_body(list, 503).await;
    assert!(
        !problem["detail"].as_str().unwrap().contains("SQL"),
        "{problem}"
    );
    let _ = stop.send(());
}
