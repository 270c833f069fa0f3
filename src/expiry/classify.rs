//! What a due warning is: pure rules, tested without a clock.

use super::{DueExpiry, ExpirySettings};
use crate::domain::{NotificationKind, Timestamp};

/// `expired` once the expiry has passed, `expiring` before; late when it
/// comes well after it fell due, which is the later of the start of the
/// warning window and the moment this expiry was set.
pub fn classify(
    due: &DueExpiry,
    now: Timestamp,
    settings: &ExpirySettings,
) -> (NotificationKind, bool) {
    let kind = if due.expiry_dt <= now {
        NotificationKind::Expired
    } else {
        NotificationKind::Expiring
    };
    let fell_due = due
        .expiry_dt
        .saturating_sub(settings.warn_before)
        .max(due.version);
    let late = now > fell_due.saturating_add(settings.late_after());
    (kind, late)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::domain::TaskId;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_micros(secs * 1_000_000).unwrap()
    }

    fn settings() -> ExpirySettings {
        ExpirySettings {
            warn_before: Duration::from_secs(900),
            tick: Duration::from_secs(1),
            reconcile_schedule: String::new(),
            webhook: None,
        }
    }

    fn due(expiry: i64, set_at: i64) -> DueExpiry {
        DueExpiry {
            task_id: TaskId::from_db(1),
            expiry_dt: at(expiry),
            version: at(set_at),
        }
    }

    #[test]
    fn a_warning_in_time_is_expiring_and_not_late() {
        assert_eq!(
            classify(&due(10_000, 0), at(9_100), &settings()),
            (NotificationKind::Expiring, false)
        );
    }

    #[test]
    fn an_expiry_set_inside_the_window_warns_at_once_not_late() {
        assert_eq!(
            classify(&due(10_000, 9_500), at(9_500), &settings()),
            (NotificationKind::Expiring, false)
        );
    }

    #[test]
    fn an_expiry_set_in_the_past_is_expired_but_not_late() {
        assert_eq!(
            classify(&due(1_000, 5_000), at(5_000), &settings()),
            (NotificationKind::Expired, false)
        );
    }

    #[test]
    fn a_warning_missed_while_down_is_late() {
        assert_eq!(
            classify(&due(10_000, 0), at(9_500), &settings()),
            (NotificationKind::Expiring, true)
        );
        assert_eq!(
            classify(&due(10_000, 0), at(20_000), &settings()),
            (NotificationKind::Expired, true)
        );
    }

    #[test]
    fn a_tick_or_two_behind_is_not_late() {
        assert_eq!(
            classify(&due(10_000, 0), at(9_104), &settings()),
            (NotificationKind::Expiring, false)
        );
        assert_eq!(
            classify(&due(10_000, 0), at(9_105), &settings()),
            (NotificationKind::Expiring, true)
        );
    }
}
