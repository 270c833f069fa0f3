//! Where a won warning goes: the log at once, and a nudge to the history
//! follower (which publishes it to the live streams, in id order, with
//! every other replica's) and to the webhook sender, which works from the
//! database.

use std::sync::Arc;

use tokio::sync::{Notify, broadcast};

use crate::domain::{Notification, NotificationKind, Timestamp};

/// Subscribers further behind than this many warnings skip ahead; the
/// sender never waits for them.
const STREAM_BUFFER: usize = 1024;

pub struct Delivery {
    stream: broadcast::Sender<Notification>,
    webhook_due: Arc<Notify>,
    claimed: Notify,
}

impl Default for Delivery {
    fn default() -> Self {
        Self::new()
    }
}

impl Delivery {
    pub fn new() -> Self {
        Self {
            stream: broadcast::channel(STREAM_BUFFER).0,
            webhook_due: Arc::new(Notify::new()),
            claimed: Notify::new(),
        }
    }

    /// A live feed of new warnings, every replica's, in increasing id
    /// order; a subscriber that falls behind skips ahead.
    pub fn subscribe(&self) -> broadcast::Receiver<Notification> {
        self.stream.subscribe()
    }

    pub(super) fn webhook_due(&self) -> Arc<Notify> {
        self.webhook_due.clone()
    }

    /// Resolves when this replica has claimed warnings since the last call.
    pub(super) async fn claimed(&self) {
        self.claimed.notified().await;
    }

    /// Only the history follower publishes, so that the stream's order is
    /// the history's.
    pub(super) fn publish(&self, notification: &Notification) {
        // No subscribers is not an error: the history keeps every warning.
        let _ = self.stream.send(notification.clone());
    }

    pub(super) fn deliver(&self, notification: &Notification, now: Timestamp) {
        tracing::warn!(
            task_id = %notification.task_id,
            notification_id = notification.id,
            late = notification.late,
            "{}",
            describe(notification, now)
        );
        self.claimed.notify_one();
        if notification.delivery.state == crate::domain::DeliveryState::Pending {
            self.webhook_due.notify_one();
        }
    }
}

/// `task 42 "Pay rent" expires at 2026-…Z (in 15m)`, as the original service
/// printed it.
pub fn describe(notification: &Notification, now: Timestamp) -> String {
    let head = format!(
        "task {} {:?} ",
        notification.task_id,
        notification.title.as_str()
    );
    match notification.kind {
        NotificationKind::Expiring => {
            let left = now.until(notification.expiry_dt);
            let rounded = std::time::Duration::from_secs(left.as_secs());
            format!(
                "{head}expires at {} (in {})",
                notification.expiry_dt,
                humantime::format_duration(rounded)
            )
        }
        NotificationKind::Expired => format!("{head}expired at {}", notification.expiry_dt),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Delivery as DeliveryRecord, DeliveryState, TaskId, Title};

    fn notification(kind: NotificationKind) -> Notification {
        Notification {
            id: 1,
            task_id: TaskId::from_db(42),
            title: Title::parse("Pay \"rent\"").unwrap(),
            kind,
            expiry_dt: Timestamp::from_micros(1_800_000_000_000_000).unwrap(),
            notified_at: Timestamp::from_micros(0).unwrap(),
            late: false,
            delivery: DeliveryRecord {
                state: DeliveryState::None,
                attempts: 0,
                last_error: None,
                delivered_at: None,
            },
        }
    }

    #[test]
    fn the_log_line_reads_like_the_original() {
        let now = Timestamp::from_micros(1_800_000_000_000_000 - 900_000_000).unwrap();
        assert_eq!(
            describe(&notification(NotificationKind::Expiring), now),
            r#"task 42 "Pay \"rent\"" expires at 2027-01-15T08:00:00Z (in 15m)"#
        );
        assert_eq!(
            describe(&notification(NotificationKind::Expired), now),
            r#"task 42 "Pay \"rent\"" expired at 2027-01-15T08:00:00Z"#
        );
    }
}
