//! The archive format of `taskman export` and `taskman import`: JSON Lines,
//! one record per line — a header, every task, every warning, then an end
//! record whose counts let an import tell a whole archive from a cut one.
//!
//! Times are RFC 3339 in UTC with up to microsecond precision, exactly as
//! stored; a stored time that cannot be read (a MySQL zero date) is `null`.
//! Ids are kept, so the warning history still points at its tasks.

use serde::{Deserialize, Serialize};

use super::{TaskStatus, Timestamp};

/// `format` in the header.
pub const ARCHIVE_FORMAT: &str = "taskman-archive";
/// Bumped when a record changes in a way an older import cannot read.
/// Version 2 added `status`, `completed_dt` and `priority` to tasks;
/// version 3 added `labels` (an older import, which refuses fields it does
/// not know, then refuses the header rather than a task part-way).
pub const ARCHIVE_VERSION: u32 = 3;
/// The oldest version an import still reads: a task of a version 1
/// archive has none of those fields, and is imported open, without a
/// priority or labels.
pub const OLDEST_ARCHIVE_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ArchiveRecord {
    Header(ArchiveHeader),
    Task(ArchivedTask),
    Notification(ArchivedNotification),
    End(ArchiveEnd),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveHeader {
    pub format: String,
    pub version: u32,
    /// Which backend it was taken from (`sqlite`, `mysql`); informative.
    pub source: String,
    #[serde(with = "rfc3339")]
    pub exported_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchivedTask {
    pub id: i64,
    pub title: String,
    pub description: Option<String>,
    #[serde(with = "rfc3339_opt")]
    pub expiry_dt: Option<Timestamp>,
    #[serde(with = "rfc3339_opt")]
    pub create_dt: Option<Timestamp>,
    /// The task's version (its `ETag`): kept, so a client's `If-Match`
    /// still holds after a move.
    #[serde(with = "rfc3339_opt")]
    pub update_dt: Option<Timestamp>,
    /// Left out (a version 1 archive): open.
    #[serde(default)]
    pub status: TaskStatus,
    #[serde(default, with = "rfc3339_opt")]
    pub completed_dt: Option<Timestamp>,
    /// As stored; left out (a version 1 archive): none.
    #[serde(default)]
    pub priority: Option<i64>,
    /// As stored (read leniently); left out (versions 1 and 2): none.
    #[serde(default)]
    pub labels: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchivedNotification {
    pub id: i64,
    pub task_id: i64,
    pub title: String,
    pub kind: String,
    #[serde(with = "rfc3339")]
    pub expiry_dt: Timestamp,
    #[serde(with = "rfc3339")]
    pub notified_at: Timestamp,
    pub late: bool,
    pub delivery_state: String,
    pub delivery_attempts: u32,
    pub last_error: Option<String>,
    #[serde(with = "rfc3339_opt")]
    pub delivered_at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveEnd {
    pub tasks: u64,
    pub notifications: u64,
    /// Every task id up to this one was handed out at the source (some
    /// since deleted); the target hands out only higher ones, so the
    /// history never points at a new task by an old id.
    pub task_ids_used: i64,
}

mod rfc3339 {
    use chrono::DateTime;
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::domain::Timestamp;

    pub fn serialize<S: Serializer>(at: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(at)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        let raw = String::deserialize(deserializer)?;
        let parsed = DateTime::parse_from_rfc3339(&raw).map_err(serde::de::Error::custom)?;
        Timestamp::parse(parsed).map_err(serde::de::Error::custom)
    }
}

mod rfc3339_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::domain::Timestamp;

    pub fn serialize<S: Serializer>(
        at: &Option<Timestamp>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => super::rfc3339::serialize(at, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Timestamp>, D::Error> {
        #[derive(Deserialize)]
        struct Wrapped(#[serde(with = "super::rfc3339")] Timestamp);
        Ok(Option::<Wrapped>::deserialize(deserializer)?.map(|Wrapped(at)| at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> ArchiveRecord {
        ArchiveRecord::Task(ArchivedTask {
            id: 7,
            title: "Pay \"rent\" ✓".to_owned(),
            description: None,
            expiry_dt: Timestamp::from_micros(1_800_000_000_123_456),
            create_dt: Timestamp::from_micros(1_700_000_000_000_000),
            update_dt: Timestamp::from_micros(1_700_000_000_000_001),
            status: TaskStatus::Done,
            completed_dt: Timestamp::from_micros(1_700_000_000_000_001),
            priority: Some(4),
            labels: vec!["Home".to_owned(), "ärger".to_owned()],
        })
    }

    #[test]
    fn a_record_is_one_json_line_and_reads_back_the_same() {
        let line = serde_json::to_string(&task()).unwrap();
        assert!(!line.contains('\n'));
        assert_eq!(
            line,
            r#"{"type":"task","id":7,"title":"Pay \"rent\" ✓","description":null,"expiry_dt":"2027-01-15T08:00:00.123456Z","create_dt":"2023-11-14T22:13:20Z","update_dt":"2023-11-14T22:13:20.000001Z","status":"done","completed_dt":"2023-11-14T22:13:20.000001Z","priority":4,"labels":["Home","ärger"]}"#
        );
        assert_eq!(
            serde_json::from_str::<ArchiveRecord>(&line).unwrap(),
            task()
        );
    }

    #[test]
    fn a_task_of_a_version_1_archive_reads_as_open() {
        let line = r#"{"type":"task","id":7,"title":"t","description":null,"expiry_dt":null,"create_dt":null,"update_dt":null}"#;
        let ArchiveRecord::Task(task) = serde_json::from_str(line).unwrap() else {
            panic!("not a task");
        };
        assert_eq!(task.status, TaskStatus::Open);
        assert_eq!(task.completed_dt, None);
        assert_eq!(task.priority, None);
        assert!(task.labels.is_empty());
    }

    #[test]
    fn an_unknown_field_or_type_is_refused() {
        let extra = r#"{"type":"task","id":7,"title":"t","description":null,"expiry_dt":null,"create_dt":null,"update_dt":null,"colour":"red"}"#;
        assert!(serde_json::from_str::<ArchiveRecord>(extra).is_err());
        assert!(serde_json::from_str::<ArchiveRecord>(r#"{"type":"label"}"#).is_err());
    }
}
