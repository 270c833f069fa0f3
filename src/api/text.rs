//! The shapes of the task's text fields in the spec, from the domain's own limits.

use poem_openapi::registry::MetaSchema;

use crate::domain::{MAX_DESCRIPTION_BYTES, MAX_TITLE_CHARS};
use crate::edge::json_string::{JsonString, StringShape};

pub type TitleText = JsonString<TitleShape>;
pub type DescriptionText = JsonString<DescriptionShape>;
pub type LabelText = JsonString<LabelShape>;

/// A title: no C0 control character, at least one character that is not
/// white space (in the ECMAScript, Python and Rust senses alike), at most
/// 255 characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TitleShape;

impl StringShape for TitleShape {
    fn describe(schema: MetaSchema) -> MetaSchema {
        MetaSchema {
            max_length: Some(MAX_TITLE_CHARS),
            pattern: Some(
                r"^[^\u0000-\u001F]*[^\s\u0000-\u001F\u0085\uFEFF][^\u0000-\u001F]*$".to_owned(),
            ),
            ..schema
        }
    }
}

/// A description: at most 65,535 bytes of UTF-8, which is at most as many
/// characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DescriptionShape;

impl StringShape for DescriptionShape {
    fn describe(schema: MetaSchema) -> MetaSchema {
        MetaSchema {
            max_length: Some(MAX_DESCRIPTION_BYTES),
            ..schema
        }
    }
}

/// A label: no control character (C0, DEL, C1), and 1 to 64 characters
/// once white space around it is removed: white space (not control
/// characters, and U+FEFF), then one character that is neither, then up to
/// 62 of any but control characters and another that is neither, then
/// white space. JSON Schema's `maxLength` would count the white space too;
/// the pattern says exactly what `Label::parse` takes, so that a client, a
/// validator and the service agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelShape;

/// See [`LabelShape`].
pub const LABEL_PATTERN: &str = concat!(
    r"^(?:[^\S\u0000-\u001F\u007F-\u009F]|\uFEFF)*",
    r"[^\s\u0000-\u001F\u007F-\u009F\uFEFF]",
    r"(?:[^\u0000-\u001F\u007F-\u009F]{0,62}[^\s\u0000-\u001F\u007F-\u009F\uFEFF])?",
    r"(?:[^\S\u0000-\u001F\u007F-\u009F]|\uFEFF)*$",
);

impl StringShape for LabelShape {
    fn describe(schema: MetaSchema) -> MetaSchema {
        MetaSchema {
            pattern: Some(LABEL_PATTERN.to_owned()),
            ..schema
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Label, MAX_LABEL_CHARS};

    /// The spec's pattern takes exactly what the domain takes.
    #[test]
    fn the_label_pattern_takes_what_a_label_is() {
        let pattern = regex::Regex::new(LABEL_PATTERN).unwrap();
        let longest = "ä".repeat(MAX_LABEL_CHARS);
        let inner = format!("a{}b", " ".repeat(MAX_LABEL_CHARS - 2));
        let cases = [
            "work".to_owned(),
            "x".to_owned(),
            " Ärger im Büro \u{3000}".to_owned(),
            "\u{FEFF}home\u{FEFF}".to_owned(),
            longest.clone(),
            format!("  {longest}\u{a0}"),
            inner.clone(),
            format!("{longest}x"),
            format!("{inner}c"),
            String::new(),
            "   ".to_owned(),
            "\u{FEFF}\u{3000}".to_owned(),
            "\twork".to_owned(),
            "wo\u{0}rk".to_owned(),
            "work\u{85}".to_owned(),
            "wo\u{9f}rk".to_owned(),
            "work\n".to_owned(),
            "🦀".to_owned(),
        ];
        for case in cases {
            assert_eq!(
                pattern.is_match(&case),
                Label::parse(&case).is_ok(),
                "{case:?}"
            );
        }
    }
}
