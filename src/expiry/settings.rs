//! How the expiry service behaves; built by the app from its configuration.

use std::time::Duration;

use secrecy::SecretString;

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
    pub url: WebhookUrl,
    pub secret: Option<SecretString>,
    pub timeout: Duration,
    /// The wait before the first retry; each further retry waits twice as long.
    pub retry_base: Duration,
    pub max_attempts: u32,
}

/// The webhook's URL. Its user info, path and query may carry credentials,
/// so only its scheme, host and port are ever shown (`Debug` included).
#[derive(Clone)]
pub struct WebhookUrl(reqwest::Url);

impl WebhookUrl {
    pub fn new(url: reqwest::Url) -> Self {
        Self(url)
    }

    pub fn url(&self) -> &reqwest::Url {
        &self.0
    }

    /// `http://host:port`: what logs and delivery errors may name.
    pub fn origin(&self) -> String {
        self.0.origin().ascii_serialization()
    }
}

impl std::fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WebhookUrl({}/…)", self.origin())
    }
}

/// What the promised delay allows beyond one tick: the claim's round trip
/// and a busy machine.
const SLACK: Duration = Duration::from_millis(500);

impl ExpirySettings {
    /// The promise: a warning comes at most this long after it falls due.
    /// Later than that, it is marked `late`.
    pub fn promised_delay(&self) -> Duration {
        self.tick + SLACK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_url_shows_only_its_origin() {
        let url = WebhookUrl::new(
            "http://u:p@hooks.example:8080/hook?token=SECRET"
                .parse()
                .unwrap(),
        );
        assert_eq!(url.origin(), "http://hooks.example:8080");
        let shown = format!("{url:?}");
        assert!(
            !shown.contains("SECRET") && !shown.contains("u:p") && !shown.contains("hook?"),
            "{shown}"
        );
    }
}
