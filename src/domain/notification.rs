use super::{TaskId, Timestamp, Title};

/// Whether a warning came before or after the expiry itself. Stored and
/// sent by its lower-case name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum NotificationKind {
    /// The task expires within the warning window.
    Expiring,
    /// The expiry has already passed.
    Expired,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(raw: &str) -> Option<Self> {
        raw.parse().ok()
    }
}

/// Where a notification's webhook delivery stands. Stored and sent by its
/// lower-case name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum DeliveryState {
    /// No webhook was configured when the warning was produced.
    None,
    /// Waiting for its first or next attempt.
    Pending,
    Delivered,
    /// Every attempt failed; no more will be made.
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(raw: &str) -> Option<Self> {
        raw.parse().ok()
    }
}

/// A warning that was produced, recorded once in the database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub id: i64,
    pub task_id: TaskId,
    pub title: Title,
    pub kind: NotificationKind,
    pub expiry_dt: Timestamp,
    pub notified_at: Timestamp,
    /// Produced later than it fell due, e.g. because the service was down.
    pub late: bool,
    pub delivery: Delivery,
}

/// The webhook delivery record of a notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub state: DeliveryState,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub delivered_at: Option<Timestamp>,
}

/// A task's expiry that still awaits its warning: what the expiry service
/// holds in its cache, reads from the database and takes when it falls due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingExpiry {
    pub task_id: TaskId,
    pub expiry_dt: Timestamp,
    /// The task's `update_dt` when this expiry was set (`None` for a row
    /// whose `update_dt` cannot be read).
    pub version: Option<Timestamp>,
}

/// What the expiry service asks the store to record, if the task still has
/// this expiry and nobody recorded it yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    pub task_id: TaskId,
    pub expiry_dt: Timestamp,
    pub kind: NotificationKind,
    pub late: bool,
    pub notified_at: Timestamp,
    /// Whether a webhook delivery is to follow.
    pub deliver: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_states_round_trip_through_text() {
        for kind in [NotificationKind::Expiring, NotificationKind::Expired] {
            assert_eq!(NotificationKind::parse(kind.as_str()), Some(kind));
        }
        for state in [
            DeliveryState::None,
            DeliveryState::Pending,
            DeliveryState::Delivered,
            DeliveryState::Failed,
        ] {
            assert_eq!(DeliveryState::parse(state.as_str()), Some(state));
        }
        assert_eq!(NotificationKind::parse("soon"), None);
    }
}
