//! How the expiry service behaves, taken from [`crate::Config`].

use std::time::Duration;

/// When and how warnings are produced.
#[derive(Clone, Debug)]
pub struct ExpirySettings {
    /// How long before its expiry a task is warned about.
    pub warn_before: Duration,
    /// How often the cache is checked for due warnings.
    pub tick: Duration,
    /// Six-field cron (seconds first) for reconciling the cache with the database.
    pub reconcile_schedule: String,
    pub webhook: Option<WebhookSettings>,
}

#[derive(Clone, Debug)]
pub struct WebhookSettings {
    pub url: reqwest::Url,
    pub secret: Option<String>,
    pub timeout: Duration,
    /// The wait before the first retry; each further retry waits twice as long.
    pub retry_base: Duration,
    pub max_attempts: u32,
}

impl ExpirySettings {
    /// A warning produced more than this after it fell due counts as late:
    /// the loop may be a tick behind, and a busy machine adds a little.
    pub fn late_after(&self) -> Duration {
        self.tick * 2 + Duration::from_secs(2)
    }
}
