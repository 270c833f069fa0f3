//! Prometheus metrics: one registry per app (so that several apps in one
//! process, as in the tests, keep their own), rendered in the text format
//! at `GET /metrics`.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Every metric of one app.
pub struct Metrics {
    registry: Registry,
    pub http: HttpMetrics,
    pub expiry: ExpiryMetrics,
    pub store: StoreMetrics,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

/// The HTTP side: requests, latency, connections, event streams.
#[derive(Clone, Debug)]
pub struct HttpMetrics {
    pub requests: Family<RequestLabels, Counter>,
    pub latency: Family<OperationLabels, Histogram>,
    pub open_connections: Gauge,
    pub open_streams: Gauge,
    /// Requests refused at once because the server was at its limit.
    pub shed: Family<ShedLabels, Counter>,
}

/// The expiry service: what it holds, produces and delivers.
#[derive(Clone, Debug, Default)]
pub struct ExpiryMetrics {
    pub pending: Gauge,
    pub warnings: Family<WarningLabels, Counter>,
    pub webhook_attempts: Family<DeliveryLabels, Counter>,
}

/// The database pool and the store's retries, read when scraped.
#[derive(Clone, Debug, Default)]
pub struct StoreMetrics {
    pub pool_size: Gauge,
    pub pool_idle: Gauge,
    pub retries: Counter,
    pub timeouts: Counter,
    retries_seen: Arc<AtomicI64>,
    timeouts_seen: Arc<AtomicI64>,
}

impl StoreMetrics {
    /// Brings the store's running totals into the counters.
    pub fn observe(&self, stats: crate::store::StoreStats) {
        self.pool_size.set(i64::from(stats.pool_size));
        self.pool_idle.set(i64::from(stats.pool_idle));
        advance(&self.retries, &self.retries_seen, stats.retries);
        advance(&self.timeouts, &self.timeouts_seen, stats.timeouts);
    }
}

fn advance(counter: &Counter, seen: &AtomicI64, total: u64) {
    let total = i64::try_from(total).unwrap_or(i64::MAX);
    let before = seen.swap(total, Ordering::Relaxed);
    if total > before {
        counter.inc_by(u64::try_from(total - before).unwrap_or_default());
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub operation: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    pub operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ShedLabels {
    pub limit: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WarningLabels {
    pub kind: &'static str,
    pub late: bool,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    pub outcome: DeliveryResult,
}

/// Labelled in lower case, as the README and Prometheus custom have it
/// (the derived encoding would print the variant name).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum DeliveryResult {
    Delivered,
    Retry,
    Failed,
}

impl EncodeLabelValue for DeliveryResult {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> std::fmt::Result {
        let name: &'static str = self.into();
        EncodeLabelValue::encode(&name, encoder)
    }
}

/// Request latencies in seconds: 0.5 ms to about 8 s.
fn latency_histogram() -> Histogram {
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.0005, 2.0, 15,
    ))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("taskman");
        let http = HttpMetrics {
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            open_connections: Gauge::default(),
            open_streams: Gauge::default(),
            shed: Family::default(),
        };
        let expiry = ExpiryMetrics::default();
        let store = StoreMetrics::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by operation and status",
            http.requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to the response head, by operation",
            http.latency.clone(),
        );
        registry.register(
            "http_open_connections",
            "Client connections open now",
            http.open_connections.clone(),
        );
        registry.register(
            "event_streams_open",
            "Event streams (GET /v1/notifications/stream) open now",
            http.open_streams.clone(),
        );
        registry.register(
            "http_shed",
            "Requests or connections refused at once (503) at a limit, by limit",
            http.shed.clone(),
        );
        registry.register(
            "expiry_pending",
            "Task expiries waiting in the cache for their warning",
            expiry.pending.clone(),
        );
        registry.register(
            "warnings",
            "Expiry warnings produced by this process, by kind and lateness",
            expiry.warnings.clone(),
        );
        registry.register(
            "webhook_attempts",
            "Webhook delivery attempts, by outcome",
            expiry.webhook_attempts.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Database connections open in the read pool",
            store.pool_size.clone(),
        );
        registry.register(
            "db_pool_idle_connections",
            "Idle database connections in the read pool",
            store.pool_idle.clone(),
        );
        registry.register(
            "db_retries",
            "Transactions run again after a lock conflict or a lost connection",
            store.retries.clone(),
        );
        registry.register(
            "db_timeouts",
            "Database calls that gave up at the time limit",
            store.timeouts.clone(),
        );
        Self {
            registry,
            http,
            expiry,
            store,
        }
    }

    /// The Prometheus text format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_format_names_every_metric_once() {
        let metrics = Metrics::new();
        metrics
            .expiry
            .warnings
            .get_or_create(&WarningLabels {
                kind: "expiring",
                late: false,
            })
            .inc();
        let text = metrics.render();
        assert!(
            text.contains("taskman_warnings_total{kind=\"expiring\",late=\"false\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE taskman_expiry_pending gauge"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn store_totals_become_counter_increments() {
        let metrics = StoreMetrics::default();
        let stats = |retries| crate::store::StoreStats {
            retries,
            ..Default::default()
        };
        metrics.observe(stats(3));
        metrics.observe(stats(5));
        assert_eq!(metrics.retries.get(), 5);
    }
}
