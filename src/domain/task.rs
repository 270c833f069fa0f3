use super::Timestamp;

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
}

impl Task {
    /// The version `ETag`, `If-Match` and `If-None-Match` compare.
    pub fn version(&self) -> i64 {
        self.update_dt.map_or(0, Timestamp::micros)
    }
}

/// Everything a client chooses about a task: the body of a create or a full
/// replace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskDraft {
    pub title: Title,
    pub description: Option<Description>,
    pub expiry_dt: Option<Timestamp>,
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
        };
        let patch = TaskPatch {
            title: Some(TitleEdit::parse("new".into())),
            description: None,
            expiry_dt: Some(None),
        };
        let draft = patch.apply_to(&task).unwrap();
        assert_eq!(draft.title.as_str(), "new");
        assert_eq!(draft.description, task.description);
        assert_eq!(draft.expiry_dt, None);
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
