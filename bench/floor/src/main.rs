//! The stack floor: a poem handler that runs taskman's SELECT by id and
//! single-row INSERT through sqlx and nothing else (no validation, logging,
//! metrics or problem bodies), so `make bench` can show how much of a
//! request's cost is taskman's own code.
//!
//! Usage: `DATABASE_URL=... BIND_ADDR=127.0.0.1:PORT taskman-bench-floor`
//! against a database whose `task` table taskman has already created.

use poem::{
    EndpointExt, Route, Server, handler,
    http::StatusCode,
    listener::TcpListener,
    post,
    web::{Data, Json, Path},
};
use serde_json::{Value, json};
use sqlx::{MySqlPool, SqlitePool};

#[derive(Clone)]
enum Db {
    MySql(MySqlPool),
    Sqlite(SqlitePool),
}

type Row = (i64, String, Option<String>);

const SELECT: &str = "SELECT id, title, description FROM task WHERE id = ?";
const INSERT: &str = "INSERT INTO task (title, description, expiry_dt, create_dt, update_dt) \
     VALUES (?, NULL, NULL, ?, ?)";

#[handler]
async fn get_task(Path(id): Path<i64>, db: Data<&Db>) -> poem::Result<Json<Value>> {
    let row: Option<Row> = match *db {
        Db::MySql(p) => sqlx::query_as(SELECT).bind(id).fetch_optional(p).await,
        Db::Sqlite(p) => sqlx::query_as(SELECT).bind(id).fetch_optional(p).await,
    }
    .map_err(|e| poem::Error::new(e, StatusCode::SERVICE_UNAVAILABLE))?;
    let (id, title, description) =
        row.ok_or_else(|| poem::Error::from_status(StatusCode::NOT_FOUND))?;
    Ok(Json(
        json!({ "id": id, "title": title, "description": description }),
    ))
}

#[handler]
async fn create_task(
    Json(body): Json<Value>,
    db: Data<&Db>,
) -> poem::Result<(StatusCode, Json<Value>)> {
    let title = body["title"].as_str().unwrap_or("floor").to_owned();
    let now = chrono::Utc::now().naive_utc();
    let id = match *db {
        Db::MySql(p) => sqlx::query(INSERT)
            .bind(&title)
            .bind(now)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.last_insert_id() as i64),
        // taskman's SQLite schema stores times as integer microseconds.
        Db::Sqlite(p) => {
            let us = now.and_utc().timestamp_micros();
            sqlx::query(INSERT)
                .bind(&title)
                .bind(us)
                .bind(us)
                .execute(p)
                .await
                .map(|r| r.last_insert_rowid())
        }
    }
    .map_err(|e| poem::Error::new(e, StatusCode::SERVICE_UNAVAILABLE))?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "title": title })),
    ))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("DATABASE_URL")?;
    let bind = std::env::var("BIND_ADDR").unwrap_or_else(|_| "127.0.0.1:8090".into());
    let db = if url.starts_with("sqlite:") {
        Db::Sqlite(SqlitePool::connect(&url).await?)
    } else {
        Db::MySql(MySqlPool::connect(&url).await?)
    };
    let app = Route::new()
        .at("/v1/tasks", post(create_task))
        .at("/v1/tasks/:id", poem::get(get_task))
        .data(db);
    Server::new(TcpListener::bind(bind)).run(app).await?;
    Ok(())
}
