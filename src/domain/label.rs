//! A task's labels: a small set of short strings, compared without regard
//! to case, kept in the order and case they were first written.

use super::ValidationError;

/// The most labels a task may have.
pub const MAX_LABELS: usize = 20;
/// The most characters a label may have, after trimming.
pub const MAX_LABEL_CHARS: usize = 64;

/// One label. From a client it is free of control characters (C0, DEL and
/// C1), and trimmed (white space as for a title) to 1 to 64 characters. Two
/// labels are the same label when their keys are equal: the text in
/// Unicode lowercase (`str::to_lowercase`), which is what the store indexes
/// and a filter looks up.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Label {
    text: String,
    key: String,
}

impl Label {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        // Anywhere, as for a title: a tab is refused, not trimmed.
        if raw.chars().any(char::is_control) {
            return Err(ValidationError::LabelControlCharacter);
        }
        let trimmed = trim(raw);
        if trimmed.is_empty() {
            return Err(ValidationError::LabelEmpty);
        }
        if trimmed.chars().count() > MAX_LABEL_CHARS {
            return Err(ValidationError::LabelTooLong);
        }
        Ok(Self::new(trimmed))
    }

    fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            key: text.to_lowercase(),
        }
    }

    /// As first written (trimmed).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// What labels are compared, indexed and looked up by.
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// A task's labels: at most 20 distinct ones, in the order first written;
/// a later label with the key of an earlier one is dropped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Labels(Vec<Label>);

impl Labels {
    /// The set of `labels`, each already valid; more than
    /// [`MAX_LABELS`] distinct ones are refused.
    pub fn parse(labels: impl IntoIterator<Item = Label>) -> Result<Self, ValidationError> {
        let set = Self::collect(labels);
        if set.0.len() > MAX_LABELS {
            return Err(ValidationError::TooManyLabels);
        }
        Ok(set)
    }

    /// Labels as stored: a JSON array another tool may have written
    /// anything into. Strings are trimmed and deduplicated like a client's
    /// labels; anything else (not JSON, not an array, a number, an empty
    /// string) is passed over, never refused. A label that breaks today's
    /// length or count rules is kept, as every stored value is.
    pub fn from_stored(stored: &str) -> Self {
        let Ok(serde_json::Value::Array(items)) = serde_json::from_str(stored) else {
            return Self::default();
        };
        Self::from_stored_texts(items.iter().filter_map(serde_json::Value::as_str))
    }

    /// Labels kept elsewhere (an archive): as leniently as [`Self::from_stored`].
    pub fn from_stored_texts<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        Self::collect(texts.into_iter().filter_map(|text| {
            let text = trim(text);
            (!text.is_empty()).then(|| Label::new(text))
        }))
    }

    fn collect(labels: impl IntoIterator<Item = Label>) -> Self {
        let mut seen = std::collections::HashSet::new();
        Self(
            labels
                .into_iter()
                .filter(|label| seen.insert(label.key.clone()))
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Label> {
        self.0.iter()
    }

    /// The labels as written, as a JSON array; `None` when there are none
    /// (stored as `NULL`).
    pub fn to_json(&self) -> Option<String> {
        self.json_of(Label::as_str)
    }

    /// The labels' keys, in the same order, as a JSON array; `None` when
    /// there are none.
    pub fn keys_json(&self) -> Option<String> {
        self.json_of(Label::key)
    }

    fn json_of(&self, part: impl Fn(&Label) -> &str) -> Option<String> {
        if self.0.is_empty() {
            return None;
        }
        let parts: Vec<&str> = self.0.iter().map(part).collect();
        serde_json::to_string(&parts).ok()
    }
}

/// White space as a title is trimmed of (Unicode's, and U+FEFF).
fn trim(raw: &str) -> &str {
    raw.trim_matches(|c: char| c.is_whitespace() || c == '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(raw: &[&str]) -> Result<Labels, ValidationError> {
        let parsed: Result<Vec<Label>, _> = raw.iter().map(|raw| Label::parse(raw)).collect();
        Labels::parse(parsed?)
    }

    fn texts(labels: &Labels) -> Vec<&str> {
        labels.iter().map(Label::as_str).collect()
    }

    #[test]
    fn a_label_is_trimmed_and_keyed_by_its_unicode_lowercase() {
        let label = Label::parse(" \u{3000}Ärger im Büro\u{FEFF}").unwrap();
        assert_eq!(label.as_str(), "Ärger im Büro");
        assert_eq!(label.key(), "ärger im büro");
        assert_eq!(Label::parse("ΣΊΣΥΦΟΣ").unwrap().key(), "σίσυφος");
    }

    #[test]
    fn a_label_is_1_to_64_characters_without_control_characters() {
        for blank in ["", "   ", "\u{a0}\u{FEFF}"] {
            assert_eq!(Label::parse(blank), Err(ValidationError::LabelEmpty));
        }
        for control in [
            "a\u{0}b", "a\nb", "a\u{7f}b", "a\u{85}b", "\twork", "work\n",
        ] {
            assert_eq!(
                Label::parse(control),
                Err(ValidationError::LabelControlCharacter),
                "{control:?}"
            );
        }
        let longest = "é".repeat(MAX_LABEL_CHARS);
        assert!(Label::parse(&format!("  {longest}  ")).is_ok());
        assert_eq!(
            Label::parse(&format!("{longest}x")),
            Err(ValidationError::LabelTooLong)
        );
    }

    #[test]
    fn labels_are_a_set_in_first_written_order_and_case() {
        let set = labels(&["Work", "home", " WORK ", "Home", "errands"]).unwrap();
        assert_eq!(texts(&set), ["Work", "home", "errands"]);
        assert_eq!(
            set.to_json().as_deref(),
            Some(r#"["Work","home","errands"]"#)
        );
        assert_eq!(
            set.keys_json().as_deref(),
            Some(r#"["work","home","errands"]"#)
        );
        assert_eq!(labels(&[]).unwrap().to_json(), None);
    }

    #[test]
    fn at_most_20_distinct_labels() {
        let twenty: Vec<String> = (0..MAX_LABELS).map(|n| format!("l{n}")).collect();
        let mut raw: Vec<&str> = twenty.iter().map(String::as_str).collect();
        raw.push("L0");
        assert_eq!(labels(&raw).unwrap().iter().count(), MAX_LABELS);
        raw.push("one more");
        assert_eq!(labels(&raw), Err(ValidationError::TooManyLabels));
    }

    #[test]
    fn stored_labels_are_read_leniently() {
        let stored = Labels::from_stored(r#"[" Work ", 5, null, "", "work", {"a": 1}, "Home"]"#);
        assert_eq!(texts(&stored), ["Work", "Home"]);
        for garbage in ["", "nope", "{\"a\": \"b\"}", "\"work\"", "[1, 2]"] {
            assert!(Labels::from_stored(garbage).is_empty(), "{garbage}");
        }
    }
}
