//! MariaDB Galera: a 3-node cluster on loopback (`scripts/galera.sh`), one
//! replica per node. Skipped, saying so, unless the tests run under that
//! script (`make test-galera`, the `galera` step of `make test`); they run
//! one at a time (`.config/nextest.toml`), since one of them kills a node.

mod node_loss;
mod races;
mod startup;
mod task_model;

use std::time::Duration;

use reqwest::Client;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::common::galera::GaleraDatabase;
use crate::common::{json_body, start};

/// The cluster for this test, or return from it (skipped).
macro_rules! cluster_or_skip {
    ($test:expr) => {
        match $crate::common::galera::cluster($test) {
            Some(cluster) => cluster,
            None => return,
        }
    };
}
pub(crate) use cluster_or_skip;

/// One replica per node of the cluster, each on its node's database URL.
pub struct Replicas {
    pub addresses: Vec<String>,
    pub client: Client,
    running: Vec<(oneshot::Sender<()>, JoinHandle<anyhow::Result<()>>)>,
}

impl Replicas {
    /// Starts them one after the other (the start-up tests start them together).
    pub async fn start(database: &GaleraDatabase, args: &[&str]) -> Self {
        let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
        let mut addresses = Vec::new();
        let mut running = Vec::new();
        for url in database.urls() {
            let (address, stop, server) = start(&url, &args).await;
            addresses.push(address);
            running.push((stop, server));
        }
        Self {
            addresses,
            client: Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client"),
            running,
        }
    }

    /// The replica on node `node` (1-based).
    pub fn on(&self, node: usize) -> &str {
        &self.addresses[node - 1]
    }

    /// Stops every replica and waits until each has stopped cleanly.
    pub async fn stop(self) {
        for (stop, server) in self.running {
            let _ = stop.send(());
            server
                .await
                .expect("server task")
                .expect("server stops cleanly");
        }
    }
}

/// Every task, through one replica.
pub async fn list_all(client: &Client, address: &str) -> Vec<Value> {
    let mut tasks = Vec::new();
    let mut path = "/v1/tasks?limit=1000".to_owned();
    loop {
        let response = client
            .get(format!("{address}{path}"))
            .send()
            .await
            .expect("request sent");
        let page = json_body(response, 200).await;
        tasks.extend(page["tasks"].as_array().expect("tasks").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/tasks?limit=1000&cursor={cursor}"),
            None => return tasks,
        }
    }
}

/// Every notification in the history, through one replica.
pub async fn all_notifications(client: &Client, address: &str) -> Vec<Value> {
    let mut all = Vec::new();
    loop {
        let url = format!("{address}/v1/notifications?limit=1000&offset={}", all.len());
        let response = client.get(url).send().await.expect("request sent");
        let page = json_body(response, 200).await;
        let items = page["notifications"]
            .as_array()
            .expect("notifications")
            .clone();
        let done = items.len() < 1000;
        all.extend(items);
        if done {
            return all;
        }
    }
}

/// Transactions a replica ran again (`taskman_db_retries_total`).
pub async fn retries(client: &reqwest::Client, address: &str) -> u64 {
    let metrics = client
        .get(format!("{address}/metrics"))
        .send()
        .await
        .expect("request sent")
        .text()
        .await
        .expect("metrics");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("taskman_db_retries_total "))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .expect("taskman_db_retries_total") as u64
}
