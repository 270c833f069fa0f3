//! What a due warning is: pure rules, tested without a clock.

use super::ExpirySettings;
use crate::domain::{NotificationKind, PendingExpiry, Timestamp};

/// `expired` once the expiry has passed, `expiring` before.
///
/// A warning falls due at the later of the start of its window and the
/// moment its expiry was set. It is late when it comes more than the
/// promised delay (one tick and a small slack) after that, and always when
/// it fell due before this process started: it was caught up after a
/// restart, however short the downtime.
pub fn classify(
    due: &PendingExpiry,
    now: Timestamp,
    started_at: Timestamp,
    settings: &ExpirySettings,
) -> (NotificationKind, bool) {
    let kind = if due.expiry_dt <= now {
        NotificationKind::Expired
    } else {
        NotificationKind::Expiring
    };
    let window_opens = due.expiry_dt.saturating_sub(settings.warn_before);
    let fell_due = due
        .version
        .map_or(window_opens, |set_at| window_opens.max(set_at));
    let late = now > fell_due.saturating_add(settings.promised_delay()) || fell_due < started_at;
    (kind, late)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::domain::TaskId;

    fn at(millis: i64) -> Timestamp {
        Timestamp::from_micros(millis * 1_000).unwrap()
    }

    fn secs(s: i64) -> Timestamp {
        at(s * 1_000)
    }

    fn settings() -> ExpirySettings {
        ExpirySettings {
            warn_before: Duration::from_secs(900),
            tick: Duration::from_secs(1),
            reconcile_schedule: String::new(),
            webhook: None,
        }
    }

    fn due(expiry: Timestamp, set_at: Timestamp) -> PendingExpiry {
        PendingExpiry {
            task_id: TaskId::from_db(1),
            expiry_dt: expiry,
            version: Some(set_at),
        }
    }

    /// Started long before everything below.
    const UP_SINCE: i64 = -1_000_000;

    fn classify_up(due: &PendingExpiry, now: Timestamp) -> (NotificationKind, bool) {
        classify(due, now, secs(UP_SINCE), &settings())
    }

    #[test]
    fn a_warning_in_time_is_expiring_and_not_late() {
        assert_eq!(
            classify_up(&due(secs(10_000), secs(0)), secs(9_100)),
            (NotificationKind::Expiring, false)
        );
    }

    #[test]
    fn an_expiry_set_inside_the_window_warns_at_once_not_late() {
        assert_eq!(
            classify_up(&due(secs(10_000), secs(9_500)), secs(9_500)),
            (NotificationKind::Expiring, false)
        );
    }

    #[test]
    fn an_expiry_set_in_the_past_is_expired_but_not_late() {
        assert_eq!(
            classify_up(&due(secs(1_000), secs(5_000)), secs(5_000)),
            (NotificationKind::Expired, false)
        );
    }

    #[test]
    fn up_to_one_tick_and_half_a_second_behind_is_in_time() {
        let expiring = due(secs(10_000), secs(0));
        let window_opens = 9_100_000;
        assert_eq!(
            classify_up(&expiring, at(window_opens + 1_500)),
            (NotificationKind::Expiring, false)
        );
        assert_eq!(
            classify_up(&expiring, at(window_opens + 1_501)),
            (NotificationKind::Expiring, true)
        );
    }

    #[test]
    fn a_warning_missed_while_down_is_late_however_short_the_downtime() {
        let expiring = due(secs(10_000), secs(0));
        // Fell due at 9,100 s; the process started 100 ms later and warned
        // at once: within the slack, but caught up after a restart.
        let started = at(9_100_100);
        assert_eq!(
            classify(&expiring, at(9_100_200), started, &settings()),
            (NotificationKind::Expiring, true)
        );
        assert_eq!(
            classify(&expiring, secs(20_000), started, &settings()),
            (NotificationKind::Expired, true)
        );
    }

    #[test]
    fn a_task_set_after_the_start_is_not_late_for_the_start() {
        let expiring = due(secs(10_000), secs(9_500));
        assert_eq!(
            classify(&expiring, secs(9_500), secs(9_000), &settings()),
            (NotificationKind::Expiring, false)
        );
    }

    #[test]
    fn an_unreadable_version_counts_from_the_window() {
        let mut expiring = due(secs(10_000), secs(0));
        expiring.version = None;
        assert_eq!(
            classify_up(&expiring, secs(9_100)),
            (NotificationKind::Expiring, false)
        );
    }
}
