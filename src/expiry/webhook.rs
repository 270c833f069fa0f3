//! Webhook delivery, driven from the database: at least once, retried with
//! exponential backoff, never in the way of the tick loop or the API.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;
use tokio::sync::{Notify, watch};

use super::WebhookSettings;
use crate::domain::{Clock, Notification};
use crate::metrics::{DeliveryLabels, DeliveryResult, ExpiryMetrics};
use crate::store::{DeliveryOutcome, ExpiryStore};
use crate::telemetry::DisplayChain;

/// Renders a notification as the JSON body receivers get: the same document
/// the API serves, rendered by the API layer.
pub type RenderNotification = Arc<dyn Fn(&Notification) -> String + Send + Sync>;

const DELIVERY_ID_HEADER: &str = "X-Delivery-Id";
const SIGNATURE_HEADER: &str = "X-Taskman-Signature";

const BATCH: u32 = 16;
const LONGEST_BACKOFF: Duration = Duration::from_secs(3600);

pub struct WebhookSender {
    store: Arc<dyn ExpiryStore>,
    clock: Arc<dyn Clock>,
    settings: WebhookSettings,
    client: reqwest::Client,
    due: Arc<Notify>,
    render: RenderNotification,
    metrics: ExpiryMetrics,
}

impl WebhookSender {
    pub fn new(
        store: Arc<dyn ExpiryStore>,
        clock: Arc<dyn Clock>,
        settings: WebhookSettings,
        due: Arc<Notify>,
        render: RenderNotification,
        metrics: ExpiryMetrics,
    ) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("taskman/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            store,
            clock,
            settings,
            client,
            due,
            render,
            metrics,
        })
    }

    /// Sends due deliveries until `stop` turns true; pending ones stay in
    /// the database for the next start.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let poll = self.settings.retry_base.min(Duration::from_secs(1));
        while !*stop.borrow() {
            self.send_due().await;
            tokio::select! {
                () = tokio::time::sleep(poll) => {}
                () = self.due.notified() => {}
                _ = stop.changed() => break,
            }
        }
    }

    async fn send_due(&self) {
        loop {
            let now = self.clock.now();
            // Long enough for one attempt; if this replica dies mid-attempt,
            // another takes the delivery over when the lease ends.
            let lease_until = now.saturating_add(self.settings.timeout + Duration::from_secs(5));
            let batch = match self.store.lease_deliveries(now, lease_until, BATCH).await {
                Ok(batch) => batch,
                Err(err) => {
                    tracing::warn!(error = %DisplayChain(&err), "cannot read pending webhook deliveries");
                    return;
                }
            };
            if batch.is_empty() {
                return;
            }
            futures_util::future::join_all(batch.iter().map(|n| self.attempt(n))).await;
        }
    }

    async fn attempt(&self, notification: &Notification) {
        let body = (self.render)(notification);
        let mut request = self
            .client
            .post(self.settings.url.url().clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(DELIVERY_ID_HEADER, notification.id.to_string());
        if let Some(secret) = &self.settings.secret {
            request = request.header(
                SIGNATURE_HEADER,
                signature(secret.expose_secret(), body.as_bytes()),
            );
        }
        let outcome = match request.body(body).send().await {
            Ok(response) if response.status().is_success() => DeliveryOutcome::Delivered {
                at: self.clock.now(),
            },
            Ok(response) => self.failure(
                notification,
                format!(
                    "{} answered HTTP {}",
                    self.settings.url.origin(),
                    response.status()
                ),
            ),
            Err(err) => self.failure(notification, describe(&err, &self.settings.url.origin())),
        };
        let result = match &outcome {
            DeliveryOutcome::Delivered { .. } => DeliveryResult::Delivered,
            DeliveryOutcome::Retry { .. } => DeliveryResult::Retry,
            DeliveryOutcome::Failed { .. } => DeliveryResult::Failed,
        };
        self.metrics
            .webhook_attempts
            .get_or_create(&DeliveryLabels { outcome: result })
            .inc();
        if let DeliveryOutcome::Retry { error, .. } | DeliveryOutcome::Failed { error } = &outcome {
            tracing::warn!(notification_id = notification.id, error = %error, "webhook delivery failed");
        }
        if let Err(err) = self.store.record_delivery(notification.id, &outcome).await {
            // The lease runs out and the delivery is tried again: at least once.
            tracing::warn!(
                notification_id = notification.id,
                error = %DisplayChain(&err),
                "cannot record webhook delivery"
            );
        }
    }

    fn failure(&self, notification: &Notification, error: String) -> DeliveryOutcome {
        let attempts = notification.delivery.attempts + 1;
        if attempts >= self.settings.max_attempts {
            DeliveryOutcome::Failed { error }
        } else {
            DeliveryOutcome::Retry {
                error,
                next_attempt_at: self
                    .clock
                    .now()
                    .saturating_add(backoff(self.settings.retry_base, attempts)),
            }
        }
    }
}

/// What went wrong, naming only the webhook's origin: the URL's path, query
/// and user info may hold credentials, and this text is stored, served and
/// logged. The causes below reqwest (connect, TLS, I/O) name no URL.
fn describe(err: &reqwest::Error, origin: &str) -> String {
    let what = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "cannot connect"
    } else if err.is_redirect() {
        "redirected (redirects are not followed)"
    } else if err.is_body() || err.is_decode() {
        "broke off the response"
    } else {
        "request failed"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(err);
    while let Some(inner) = source {
        cause = inner.to_string();
        source = inner.source();
    }
    if cause.is_empty() {
        format!("POST {origin}: {what}")
    } else {
        format!("POST {origin}: {what}: {cause}")
    }
}

/// The wait after the `attempts`-th failure: base, 2×base, 4×base, …, at most an hour.
pub fn backoff(base: Duration, attempts: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempts.saturating_sub(1));
    base.saturating_mul(factor).min(LONGEST_BACKOFF)
}

/// `sha256=<hex HMAC-SHA256 of the body>`, as receivers verify it.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let base = Duration::from_secs(1);
        assert_eq!(backoff(base, 1), Duration::from_secs(1));
        assert_eq!(backoff(base, 2), Duration::from_secs(2));
        assert_eq!(backoff(base, 5), Duration::from_secs(16));
        assert_eq!(backoff(base, 40), LONGEST_BACKOFF);
    }

    #[tokio::test]
    async fn a_delivery_error_names_the_origin_and_not_the_credentials() {
        // Nothing listens on port 9 of this machine's loopback.
        let url = "http://user:pass@127.0.0.1:9/hook?token=SECRET";
        let err = reqwest::Client::new().post(url).send().await.unwrap_err();
        let text = describe(&err.without_url(), "http://127.0.0.1:9");
        assert!(
            text.starts_with("POST http://127.0.0.1:9: cannot connect"),
            "{text}"
        );
        for secret in ["SECRET", "pass", "hook", "token"] {
            assert!(!text.contains(secret), "{text}");
        }
    }

    #[test]
    fn the_signature_is_hmac_sha256_in_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
