use super::label::{MAX_LABEL_CHARS, MAX_LABELS};
use super::priority::{MAX_PRIORITY, MIN_PRIORITY};
use super::search::{MAX_QUERY_CHARS, MAX_WORD_CHARS, MIN_WORD_CHARS};
use super::{Labels, Priority, Timestamp};

pub const MAX_TITLE_CHARS: usize = 255;
/// MySQL's `TEXT` limit, in bytes.
pub const MAX_DESCRIPTION_BYTES: usize = 65_535;

/// Why a value cannot be part of a task. The API layer adds which field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("must not be empty or only white space")]
    TitleEmpty,
    #[error("must not contain control characters (U+0000 to U+001F)")]
    TitleControlCharacter,
    #[error("must be at most {MAX_TITLE_CHARS} characters")]
    TitleTooLong,
    #[error("must be at most {MAX_DESCRIPTION_BYTES} bytes of UTF-8")]
    DescriptionTooLong,
    #[error("must be a time in the years 1000 to 9999 (UTC)")]
    TimeOutOfRange,
    #[error("must be a positive id")]
    IdNotPositive,
    #[error("is required and may not be null")]
    Required,
    #[error("must be 1 to 255 visible ASCII characters")]
    IdempotencyKey,
    #[error("must name 1 to {MAX_BULK} tasks")]
    IdCount,
    #[error("must be an integer from {MIN_PRIORITY} to {MAX_PRIORITY}")]
    PriorityOutOfRange,
    #[error("`priority_min` must not be greater than `priority_max`")]
    PriorityBoundsReversed,
    #[error("must be at most {MAX_QUERY_CHARS} characters")]
    QueryTooLong,
    #[error("must not hold a word longer than {MAX_WORD_CHARS} characters")]
    QueryWordTooLong,
    #[error(
        "must hold at least one word of {MIN_WORD_CHARS} or more letters, digits or `_` \
         that is not a stopword such as `the` (shorter words and stopwords are not searched for)"
    )]
    QueryWithoutWords,
    #[error("must not be empty or only white space")]
    LabelEmpty,
    #[error("must not contain control characters")]
    LabelControlCharacter,
    #[error("must be at most {MAX_LABEL_CHARS} characters")]
    LabelTooLong,
    #[error("must hold at most {MAX_LABELS} distinct labels (compared without regard to case)")]
    TooManyLabels,
}

/// A task's identity, as assigned by the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(i64);

impl TaskId {
    pub fn parse(raw: i64) -> Result<Self, ValidationError> {
        if raw > 0 {
            Ok(Self(raw))
        } else {
            Err(ValidationError::IdNotPositive)
        }
    }

    /// For ids the database handed out, which are positive by construction.
    pub fn from_db(raw: i64) -> Self {
        Self(raw)
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A task's title. From a client it is trimmed, non-empty, free of C0
/// control characters and at most 255 characters as sent (so the spec's
/// `maxLength` and the service agree). White space is Unicode's, plus the
/// zero-width no-break space (U+FEFF) that ECMAScript's `\s` also counts, so
/// that the spec's pattern means the same everywhere.
///
/// A title read back from the database is kept as stored: another tool may
/// have written one that breaks today's rules, and it is still served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        if raw.chars().count() > MAX_TITLE_CHARS {
            return Err(ValidationError::TitleTooLong);
        }
        if raw.chars().any(|c| c < '\u{20}') {
            return Err(ValidationError::TitleControlCharacter);
        }
        let trimmed = raw.trim_matches(|c: char| c.is_whitespace() || c == '\u{FEFF}');
        if trimmed.is_empty() {
            return Err(ValidationError::TitleEmpty);
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// A stored title, whatever it holds; a missing (`NULL`) one is empty.
    pub fn from_stored(stored: Option<String>) -> Self {
        Self(stored.unwrap_or_default())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Free text, stored verbatim, of at most 65,535 bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub fn parse(raw: String) -> Result<Self, ValidationError> {
        if raw.len() > MAX_DESCRIPTION_BYTES {
            return Err(ValidationError::DescriptionTooLong);
        }
        Ok(Self(raw))
    }

    /// A stored description, kept as stored.
    pub fn from_stored(stored: String) -> Self {
        Self(stored)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether a task is still to be done. A done task gets no expiry warning.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    #[default]
    Open,
    Done,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Done => "done",
        }
    }

    /// `open` or `done`, exactly.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "open" => Some(Self::Open),
            "done" => Some(Self::Done),
            _ => None,
        }
    }

    /// A stored status: `done` (trailing spaces aside) is done; anything
    /// else another tool wrote (`DONE`, `closed`, a number) is open, as the
    /// claim of a warning reads it (`RTRIM(status) <> 'done'`), so that what
    /// a client is shown and what is warned about agree.
    pub fn from_stored(stored: Option<&str>) -> Self {
        stored
            .and_then(|stored| Self::parse(stored.trim_end_matches(' ')))
            .unwrap_or_default()
    }
}

/// A stored task. Times another tool wrote that cannot be read are `None`
/// (the store logs which row); tasks written through the API always have
/// `create_dt` and `update_dt`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    pub id: TaskId,
    pub title: Title,
    pub description: Option<Description>,
    pub expiry_dt: Option<Timestamp>,
    pub create_dt: Option<Timestamp>,
    /// The task's version: every write moves it forward (see
    /// [`Timestamp::next_version`]), so it orders a task's writes as they
    /// were committed.
    pub update_dt: Option<Timestamp>,
    pub status: TaskStatus,
    /// When the task was last completed; `None` while it is open (and for
    /// a row another tool marked done without a time).
    pub completed_dt: Option<Timestamp>,
    pub priority: Option<Priority>,
    pub labels: Labels,
}

impl Task {
    /// The version `ETag`, `If-Match` and `If-None-Match` compare.
    pub fn version(&self) -> i64 {
        self.update_dt.map_or(0, Timestamp::micros)
    }

    /// The expiry a warning is still to come for: none once the task is
    /// done. (Whether it was already given is the claim's to know.)
    pub fn armed_expiry(&self) -> Option<Timestamp> {
        match self.status {
            TaskStatus::Open => self.expiry_dt,
            TaskStatus::Done => None,
        }
    }

    /// The task with `status` as of `now`: completing stamps
    /// `completed_dt`, reopening clears it. `None` when it already has that
    /// status: the change is made, and nothing is to be written.
    pub fn with_status(&self, status: TaskStatus, now: Timestamp) -> Option<StatusChange> {
        if self.status == status {
            return None;
        }
        Some(StatusChange {
            status,
            completed_dt: match status {
                TaskStatus::Done => Some(now),
                TaskStatus::Open => None,
            },
        })
    }
}

/// What a status change writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusChange {
    pub status: TaskStatus,
    pub completed_dt: Option<Timestamp>,
}

/// The most tasks one bulk request may name.
pub const MAX_BULK: usize = 1000;

/// The tasks a bulk status change names: 1 to [`MAX_BULK`] ids, each once,
/// in the order first named (a repeat names the same change again, and is
/// dropped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskIds(Vec<TaskId>);

impl TaskIds {
    pub fn parse(ids: impl IntoIterator<Item = TaskId>) -> Result<Self, ValidationError> {
        let mut seen = std::collections::HashSet::new();
        let ids: Vec<TaskId> = ids.into_iter().filter(|id| seen.insert(*id)).collect();
        if ids.is_empty() || ids.len() > MAX_BULK {
            return Err(ValidationError::IdCount);
        }
        Ok(Self(ids))
    }

    pub fn as_slice(&self) -> &[TaskId] {
        &self.0
    }
}

/// Everything a client chooses about a task: the body of a create or a full
/// replace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskDraft {
    pub title: Title,
    pub description: Option<Description>,
    pub expiry_dt: Option<Timestamp>,
    pub priority: Option<Priority>,
    pub labels: Labels,
}

/// A title a client sent to change a task. Text that breaks the input
/// rules is kept with its reason: it is still accepted when it is the
/// task's stored title sent back unchanged (an empty or overlong title
/// another tool wrote, served as it is), so a client can write back what it
/// read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TitleEdit {
    sent: String,
    parsed: Result<Title, ValidationError>,
}

impl TitleEdit {
    pub fn parse(sent: String) -> Self {
        let parsed = Title::parse(&sent);
        Self { sent, parsed }
    }

    /// Why the text is not a title, unless it turns out to be the stored one.
    pub fn invalid(&self) -> Option<&ValidationError> {
        self.parsed.as_ref().err()
    }

    /// The title after the edit of a task whose title is `stored`.
    pub fn apply_to(&self, stored: &Title) -> Result<Title, ValidationError> {
        if self.sent == stored.as_str() {
            return Ok(stored.clone());
        }
        self.parsed.clone()
    }
}

/// A change to some fields of a task, as `PATCH` (a merge patch) and `PUT`
/// send it: `None` leaves a field alone, `Some(None)` clears it. A field a
/// client left out is never cleared.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskPatch {
    pub title: Option<TitleEdit>,
    pub description: Option<Option<Description>>,
    pub expiry_dt: Option<Option<Timestamp>>,
    pub priority: Option<Option<Priority>>,
    /// `Some` replaces the labels (an empty set clears them).
    pub labels: Option<Labels>,
}

impl TaskPatch {
    /// The task as it is after the patch; an error if a title that breaks
    /// the rules is not the stored one sent back.
    pub fn apply_to(&self, current: &Task) -> Result<TaskDraft, ValidationError> {
        let title = match &self.title {
            Some(edit) => edit.apply_to(&current.title)?,
            None => current.title.clone(),
        };
        Ok(TaskDraft {
            title,
            description: self
                .description
                .clone()
                .unwrap_or_else(|| current.description.clone()),
            expiry_dt: self.expiry_dt.unwrap_or(current.expiry_dt),
            priority: self.priority.unwrap_or(current.priority),
            labels: self
                .labels
                .clone()
                .unwrap_or_else(|| current.labels.clone()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_is_trimmed() {
        assert_eq!(
            Title::parse("  Pay rent \u{3000}").unwrap().as_str(),
            "Pay rent"
        );
    }

    #[test]
    fn a_blank_title_is_rejected() {
        assert_eq!(Title::parse(""), Err(ValidationError::TitleEmpty));
        assert_eq!(Title::parse(" \u{a0} "), Err(ValidationError::TitleEmpty));
        assert_eq!(
            Title::parse("\u{85}\u{FEFF}\u{3000}"),
            Err(ValidationError::TitleEmpty)
        );
    }

    #[test]
    fn a_title_with_a_control_character_is_rejected() {
        for raw in ["Pay\0rent", "Pay\u{1b}[31mrent", "Pay\trent", "\u{7}"] {
            assert_eq!(
                Title::parse(raw),
                Err(ValidationError::TitleControlCharacter),
                "{raw:?}"
            );
        }
        assert!(Title::parse("Pay rent \u{7f} é").is_ok());
    }

    #[test]
    fn a_stored_title_is_kept_as_it_is() {
        assert_eq!(Title::from_stored(None).as_str(), "");
        assert_eq!(Title::from_stored(Some("  ".into())).as_str(), "  ");
    }

    #[test]
    fn a_title_is_measured_in_characters_not_bytes() {
        assert!(Title::parse(&"é".repeat(MAX_TITLE_CHARS)).is_ok());
        assert_eq!(
            Title::parse(&"a".repeat(MAX_TITLE_CHARS + 1)),
            Err(ValidationError::TitleTooLong)
        );
    }

    #[test]
    fn a_description_is_measured_in_bytes_and_kept_verbatim() {
        let text = " keeps \"quotes\" and spaces ".to_owned();
        assert_eq!(Description::parse(text.clone()).unwrap().as_str(), text);
        assert!(Description::parse("a".repeat(MAX_DESCRIPTION_BYTES)).is_ok());
        assert_eq!(
            Description::parse("é".repeat(MAX_DESCRIPTION_BYTES / 2 + 1)),
            Err(ValidationError::DescriptionTooLong)
        );
    }

    #[test]
    fn ids_must_be_positive() {
        assert!(TaskId::parse(1).is_ok());
        assert_eq!(TaskId::parse(0), Err(ValidationError::IdNotPositive));
        assert_eq!(TaskId::parse(-5), Err(ValidationError::IdNotPositive));
    }

    #[test]
    fn a_patch_changes_only_what_it_names() {
        let now = Timestamp::now();
        let task = Task {
            id: TaskId::from_db(1),
            title: Title::parse("old").unwrap(),
            description: Some(Description::parse("keep".into()).unwrap()),
            expiry_dt: Some(now),
            create_dt: Some(now),
            update_dt: Some(now),
            status: TaskStatus::Open,
            completed_dt: None,
            priority: Priority::parse(2).ok(),
            labels: Labels::default(),
        };
        let patch = TaskPatch {
            title: Some(TitleEdit::parse("new".into())),
            description: None,
            expiry_dt: Some(None),
            priority: None,
            labels: None,
        };
        let draft = patch.apply_to(&task).unwrap();
        assert_eq!(draft.title.as_str(), "new");
        assert_eq!(draft.description, task.description);
        assert_eq!(draft.expiry_dt, None);
        assert_eq!(draft.priority, task.priority);
        let cleared = TaskPatch {
            priority: Some(None),
            ..TaskPatch::default()
        };
        assert_eq!(cleared.apply_to(&task).unwrap().priority, None);
    }

    fn open_task(expiry_dt: Option<Timestamp>) -> Task {
        let now = Timestamp::now();
        Task {
            id: TaskId::from_db(1),
            title: Title::parse("t").unwrap(),
            description: None,
            expiry_dt,
            create_dt: Some(now),
            update_dt: Some(now),
            status: TaskStatus::Open,
            completed_dt: None,
            priority: None,
            labels: Labels::default(),
        }
    }

    #[test]
    fn completing_stamps_the_time_and_reopening_clears_it() {
        let now = Timestamp::from_micros(1_800_000_000_000_000).unwrap();
        let open = open_task(None);
        let done = open.with_status(TaskStatus::Done, now).unwrap();
        assert_eq!(done.status, TaskStatus::Done);
        assert_eq!(done.completed_dt, Some(now));
        let completed = Task {
            status: TaskStatus::Done,
            completed_dt: Some(now),
            ..open.clone()
        };
        let reopened = completed.with_status(TaskStatus::Open, now).unwrap();
        assert_eq!(reopened.completed_dt, None);
    }

    #[test]
    fn a_status_the_task_already_has_writes_nothing() {
        let now = Timestamp::now();
        assert_eq!(open_task(None).with_status(TaskStatus::Open, now), None);
        let done = Task {
            status: TaskStatus::Done,
            ..open_task(None)
        };
        assert_eq!(done.with_status(TaskStatus::Done, now), None);
    }

    #[test]
    fn a_done_task_has_no_armed_expiry() {
        let expiry = Some(Timestamp::now());
        assert_eq!(open_task(expiry).armed_expiry(), expiry);
        let done = Task {
            status: TaskStatus::Done,
            ..open_task(expiry)
        };
        assert_eq!(done.armed_expiry(), None);
    }

    #[test]
    fn only_done_exactly_is_a_stored_done() {
        assert_eq!(TaskStatus::from_stored(Some("done")), TaskStatus::Done);
        assert_eq!(TaskStatus::from_stored(Some("done  ")), TaskStatus::Done);
        for odd in [
            Some("DONE"),
            Some(" done"),
            Some("closed"),
            Some(""),
            None,
            Some("open"),
        ] {
            assert_eq!(TaskStatus::from_stored(odd), TaskStatus::Open, "{odd:?}");
        }
    }

    #[test]
    fn bulk_ids_are_one_to_a_thousand_each_once_in_order() {
        let ids = |raw: &[i64]| {
            raw.iter()
                .map(|&id| TaskId::from_db(id))
                .collect::<Vec<_>>()
        };
        let parsed = TaskIds::parse(ids(&[3, 1, 3, 2])).unwrap();
        assert_eq!(parsed.as_slice(), ids(&[3, 1, 2]).as_slice());
        assert_eq!(TaskIds::parse(Vec::new()), Err(ValidationError::IdCount));
        let many: Vec<i64> = (1..=MAX_BULK as i64 + 1).collect();
        assert_eq!(TaskIds::parse(ids(&many)), Err(ValidationError::IdCount));
        assert!(TaskIds::parse(ids(&many[..MAX_BULK])).is_ok());
    }

    #[test]
    fn a_stored_title_that_breaks_the_rules_may_be_sent_back_but_not_set() {
        let now = Timestamp::now();
        let task = Task {
            id: TaskId::from_db(1),
            title: Title::from_stored(None),
            description: None,
            expiry_dt: None,
            create_dt: Some(now),
            update_dt: Some(now),
            status: TaskStatus::Open,
            completed_dt: None,
            priority: Priority::parse(2).ok(),
            labels: Labels::default(),
        };
        let unchanged = TaskPatch {
            title: Some(TitleEdit::parse(String::new())),
            ..TaskPatch::default()
        };
        assert_eq!(unchanged.apply_to(&task).unwrap().title, task.title);
        let blank = TaskPatch {
            title: Some(TitleEdit::parse("  ".into())),
            ..TaskPatch::default()
        };
        assert_eq!(blank.apply_to(&task), Err(ValidationError::TitleEmpty));
        let named = Task {
            title: Title::parse("Pay rent").unwrap(),
            ..task
        };
        assert_eq!(unchanged.apply_to(&named), Err(ValidationError::TitleEmpty));
    }
}
