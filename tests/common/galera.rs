//! The throwaway Galera cluster `scripts/galera.sh run` starts: its nodes'
//! URLs, a fresh database on it per test, and the script's control
//! commands (kill a node, start it again, wait until it is synced).
//!
//! The Galera tests run only under that script (`make test-galera`, the
//! `galera` step of `make test`); anywhere else they say so and pass.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use sqlx::{Connection, Executor, MySqlConnection};

/// The running cluster, as the harness describes it.
#[derive(Clone)]
pub struct Galera {
    /// Each node's server URL, node 1 first (no database name).
    servers: Vec<String>,
    script: PathBuf,
}

/// The cluster, or `None` (with a line saying why the test is skipped)
/// when the tests do not run under `scripts/galera.sh`.
pub fn cluster(test: &str) -> Option<Galera> {
    match std::env::var("TEST_GALERA_URLS") {
        Ok(urls) if !urls.trim().is_empty() => Some(Galera {
            servers: urls
                .split(',')
                .map(|url| url.trim().trim_end_matches('/').to_owned())
                .collect(),
            script: std::env::var("TEST_GALERA_SCRIPT")
                .map(PathBuf::from)
                .unwrap_or_else(|_| {
                    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/galera.sh")
                }),
        }),
        _ => {
            eprintln!(
                "SKIPPED {test}: TEST_GALERA_URLS is not set; the Galera tests run under \
                 scripts/galera.sh (make test-galera, or the galera step of make test)"
            );
            None
        }
    }
}

/// A database made for one test on the cluster, dropped afterwards.
pub struct GaleraDatabase {
    name: String,
    servers: Vec<String>,
}

impl Galera {
    pub fn nodes(&self) -> usize {
        self.servers.len()
    }

    /// A fresh, uniquely named database, visible on every node.
    pub async fn database(&self) -> GaleraDatabase {
        let name = format!("taskman_galera_{}", uuid::Uuid::new_v4().simple());
        let mut conn = connect(&self.servers[0]).await;
        conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE `{name}`")))
            .await
            .expect("create the test database");
        let database = GaleraDatabase {
            name,
            servers: self.servers.clone(),
        };
        // DDL is replicated in total order, but applied on the other nodes
        // a moment later.
        for node in 1..=self.nodes() {
            super::eventually(
                Duration::from_secs(30),
                "the test database on every node",
                || async {
                    MySqlConnection::connect(&database.url(node))
                        .await
                        .ok()
                        .map(drop)
                },
            )
            .await;
        }
        database
    }

    /// `kill -9` of node `node` (1-based), waiting until it is gone.
    pub fn kill(&self, node: usize) {
        self.control("kill", node);
    }

    /// Starts node `node` again; it rejoins and is synced some time later.
    pub fn start(&self, node: usize) {
        self.control("start", node);
    }

    /// Waits until node `node` is synced (the script gives up after 120 s).
    pub fn wait_synced(&self, node: usize) {
        self.control("wait-synced", node);
    }

    /// Brings node `node` back if it is down, and waits until it is
    /// synced; never panics (for a guard's `Drop`).
    pub fn restore(&self, node: usize) {
        let _ = self.run("start", node);
        if let Err(err) = self.run("wait-synced", node) {
            eprintln!("{err}");
        }
    }

    fn control(&self, command: &str, node: usize) {
        if let Err(err) = self.run(command, node) {
            panic!("{err}");
        }
    }

    fn run(&self, command: &str, node: usize) -> Result<(), String> {
        let output = Command::new(&self.script)
            .args([command, &node.to_string()])
            .output()
            .map_err(|err| format!("cannot run {}: {err}", self.script.display()))?;
        if output.status.success() {
            return Ok(());
        }
        Err(format!(
            "galera.sh {command} {node} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }

    /// Node `node`'s server URL, without a database.
    pub fn server(&self, node: usize) -> &str {
        &self.servers[node - 1]
    }
}

impl GaleraDatabase {
    /// This database on node `node` (1-based).
    pub fn url(&self, node: usize) -> String {
        format!("{}/{}", self.servers[node - 1], self.name)
    }

    /// Every node's URL of this database, node 1 first.
    pub fn urls(&self) -> Vec<String> {
        (1..=self.servers.len())
            .map(|node| self.url(node))
            .collect()
    }

    /// A connection to this database on node `node`, with causal reads: it
    /// sees every write committed on any node before each of its reads.
    pub async fn connect(&self, node: usize) -> MySqlConnection {
        let mut conn = connect(&self.url(node)).await;
        conn.execute("SET SESSION wsrep_sync_wait = 1")
            .await
            .expect("causal reads");
        conn
    }
}

async fn connect(url: &str) -> MySqlConnection {
    MySqlConnection::connect(url)
        .await
        .unwrap_or_else(|err| panic!("cannot connect to the Galera node {url}: {err}"))
}

impl Drop for GaleraDatabase {
    fn drop(&mut self) {
        let (servers, name) = (self.servers.clone(), self.name.clone());
        // As `TestDatabase`: a runtime of its own, so that it runs even when
        // the test panicked; any node that answers will do.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                for server in servers {
                    if let Ok(mut conn) = MySqlConnection::connect(&server).await {
                        let dropped = conn
                            .execute(sqlx::AssertSqlSafe(format!(
                                "DROP DATABASE IF EXISTS `{name}`"
                            )))
                            .await;
                        if dropped.is_ok() {
                            return;
                        }
                    }
                }
            });
        })
        .join();
    }
}
