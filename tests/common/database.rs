//! A fresh database per test: a temp SQLite file, or a uniquely named MySQL
//! database on the server named by `TEST_MYSQL_URL`, dropped afterwards.

use sqlx::Connection;
use sqlx::mysql::MySqlConnection;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    MySql,
}

pub struct TestDatabase {
    url: String,
    kind: Kind,
}

enum Kind {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    MySql { server_url: String, name: String },
}

/// The MySQL server for tests. Never skipped: without one, MySQL tests fail
/// and say how to provide it.
pub fn mysql_server_url() -> String {
    std::env::var("TEST_MYSQL_URL")
        .map(|url| url.trim_end_matches('/').to_owned())
        .expect(
            "TEST_MYSQL_URL is not set. Run `make test`, which starts a throwaway MariaDB, \
             or set TEST_MYSQL_URL=mysql://USER:PASS@HOST:PORT",
        )
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}/taskman.db?mode=rwc", dir.path().display());
                Self {
                    url,
                    kind: Kind::Sqlite(dir),
                }
            }
            Backend::MySql => {
                let server_url = mysql_server_url();
                let name = format!("taskman_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = MySqlConnection::connect(&server_url)
                    .await
                    .unwrap_or_else(|err| panic!("cannot connect to TEST_MYSQL_URL: {err}"));
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE `{name}`")))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                Self {
                    url: format!("{server_url}/{name}"),
                    kind: Kind::MySql { server_url, name },
                }
            }
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn backend(&self) -> Backend {
        match self.kind {
            Kind::Sqlite(_) => Backend::Sqlite,
            Kind::MySql { .. } => Backend::MySql,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Kind::MySql { server_url, name } = &self.kind else {
            return;
        };
        let (server_url, name) = (server_url.clone(), name.clone());
        // Drop runs outside async; a short-lived runtime on its own thread
        // drops the database even when the test panicked.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                if let Ok(mut conn) = MySqlConnection::connect(&server_url).await {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS `{name}`"
                    )))
                    .execute(&mut conn)
                    .await;
                }
            });
        })
        .join();
    }
}
