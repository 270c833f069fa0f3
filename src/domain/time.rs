use chrono::{DateTime, Datelike, NaiveDateTime, TimeZone, Utc};

use super::ValidationError;

/// A UTC instant with whole microseconds: the precision both MySQL's
/// `DATETIME(6)` and our SQLite encoding keep, so a value written is the value
/// read back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

const ONE_MICROSECOND: std::time::Duration = std::time::Duration::from_micros(1);

/// MySQL's `DATETIME` range; holding every backend to it keeps them alike.
const MIN_YEAR: i32 = 1000;
const MAX_YEAR: i32 = 9999;

impl Timestamp {
    /// The earliest instant a task's times may hold: 1000-01-01T00:00:00Z.
    pub const MIN: Self = Self::from_micros_const(-30_610_224_000_000_000);
    /// The latest: 9999-12-31T23:59:59.999999Z.
    pub const MAX: Self = Self::from_micros_const(253_402_300_799_999_999);

    const fn from_micros_const(micros: i64) -> Self {
        match DateTime::from_timestamp_micros(micros) {
            Some(at) => Self(at),
            None => panic!("a constant instant out of chrono's range"),
        }
    }

    /// Truncates to microseconds; rejects instants outside years 1000..=9999.
    pub fn parse<Tz: TimeZone>(value: DateTime<Tz>) -> Result<Self, ValidationError> {
        let utc = value.with_timezone(&Utc);
        if !(MIN_YEAR..=MAX_YEAR).contains(&utc.year()) {
            return Err(ValidationError::TimeOutOfRange);
        }
        Ok(Self::truncating(utc))
    }

    fn truncating(utc: DateTime<Utc>) -> Self {
        let micros = utc.timestamp_micros();
        Self(DateTime::from_timestamp_micros(micros).unwrap_or(utc))
    }

    pub fn now() -> Self {
        Self::truncating(Utc::now())
    }

    pub fn from_micros(micros: i64) -> Option<Self> {
        DateTime::from_timestamp_micros(micros).map(Self)
    }

    /// For values read back from MySQL, which stores naive UTC.
    pub fn from_naive_utc(naive: NaiveDateTime) -> Self {
        Self::truncating(Utc.from_utc_datetime(&naive))
    }

    pub fn micros(self) -> i64 {
        self.0.timestamp_micros()
    }

    pub fn naive_utc(self) -> NaiveDateTime {
        self.0.naive_utc()
    }

    pub fn as_datetime(self) -> DateTime<Utc> {
        self.0
    }

    /// Saturates instead of overflowing: a far-away instant minus a window
    /// stays a valid instant.
    pub fn saturating_sub(self, by: std::time::Duration) -> Self {
        let by = chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
        self.0
            .checked_sub_signed(by)
            .map_or(Self(DateTime::<Utc>::MIN_UTC), Self::truncating)
    }

    pub fn saturating_add(self, by: std::time::Duration) -> Self {
        let by = chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
        self.0
            .checked_add_signed(by)
            .map_or(Self(DateTime::<Utc>::MAX_UTC), Self::truncating)
    }

    /// The version a write gives a task: now, but always at least one
    /// microsecond past the version it replaces, so that versions grow in
    /// the order the writes commit even when clocks (or replicas) disagree.
    pub fn next_version(previous: Option<Timestamp>, now: Timestamp) -> Timestamp {
        match previous {
            Some(previous) if previous >= now => previous.saturating_add(ONE_MICROSECOND),
            _ => now,
        }
    }

    /// How long from `self` until `later`, zero if `later` is not later.
    pub fn until(self, later: Timestamp) -> std::time::Duration {
        (later.0 - self.0).to_std().unwrap_or_default()
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    #[test]
    fn an_offset_time_becomes_the_same_instant_in_utc() {
        let input = DateTime::parse_from_rfc3339("2026-01-01T10:00:00+08:00").unwrap();
        let ts = Timestamp::parse(input).unwrap();
        assert_eq!(ts.to_string(), "2026-01-01T02:00:00Z");
    }

    #[test]
    fn nanoseconds_are_truncated_to_microseconds() {
        let input = DateTime::parse_from_rfc3339("2026-01-01T00:00:00.123456789Z").unwrap();
        let ts = Timestamp::parse(input).unwrap();
        assert_eq!(ts.to_string(), "2026-01-01T00:00:00.123456Z");
        assert_eq!(Timestamp::from_micros(ts.micros()), Some(ts));
    }

    #[test]
    fn years_outside_the_database_range_are_rejected() {
        let early = FixedOffset::east_opt(0)
            .unwrap()
            .with_ymd_and_hms(999, 12, 31, 0, 0, 0)
            .unwrap();
        assert_eq!(
            Timestamp::parse(early),
            Err(ValidationError::TimeOutOfRange)
        );
        let late = DateTime::parse_from_rfc3339("9999-12-31T23:00:00-05:00").unwrap();
        assert_eq!(Timestamp::parse(late), Err(ValidationError::TimeOutOfRange));
    }

    #[test]
    fn a_new_version_is_now_or_just_past_the_previous_one() {
        let at = |micros| Timestamp::from_micros(micros).unwrap();
        assert_eq!(Timestamp::next_version(None, at(10)), at(10));
        assert_eq!(Timestamp::next_version(Some(at(5)), at(10)), at(10));
        assert_eq!(Timestamp::next_version(Some(at(10)), at(10)), at(11));
        assert_eq!(Timestamp::next_version(Some(at(20)), at(10)), at(21));
    }

    #[test]
    fn the_range_ends_are_the_first_and_last_instants_of_the_years_1000_to_9999() {
        assert_eq!(Timestamp::MIN.to_string(), "1000-01-01T00:00:00Z");
        assert_eq!(Timestamp::MAX.to_string(), "9999-12-31T23:59:59.999999Z");
    }

    #[test]
    fn subtracting_a_window_saturates() {
        let ts = Timestamp::from_micros(0).unwrap();
        let huge = std::time::Duration::from_secs(u64::MAX);
        assert!(ts.saturating_sub(huge) < ts);
        assert!(ts.saturating_add(huge) > ts);
    }
}
