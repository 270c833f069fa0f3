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

/// A merge-patch: `None` leaves a field alone, `Some(None)` clears it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskPatch {
    pub title: Option<Title>,
    pub description: Option<Option<Description>>,
    pub expiry_dt: Option<Option<Timestamp>>,
}

impl TaskPatch {
    /// The task as it is after the patch.
    pub fn apply_to(self, current: &Task) -> TaskDraft {
        TaskDraft {
            title: self.title.unwrap_or_else(|| current.title.clone()),
            description: self
                .description
                .unwrap_or_else(|| current.description.clone()),
            expiry_dt: self.expiry_dt.unwrap_or(current.expiry_dt),
        }
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
            title: Some(Title::parse("new").unwrap()),
            description: None,
            expiry_dt: Some(None),
        };
        let draft = patch.apply_to(&task);
        assert_eq!(draft.title.as_str(), "new");
        assert_eq!(draft.description, task.description);
        assert_eq!(draft.expiry_dt, None);
    }
}
