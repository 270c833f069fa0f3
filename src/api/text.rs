//! The shapes of the task's text fields in the spec, from the domain's own limits.

use poem_openapi::registry::MetaSchema;

use crate::domain::{MAX_DESCRIPTION_BYTES, MAX_TITLE_CHARS};
use crate::edge::json_string::{JsonString, StringShape};

pub type TitleText = JsonString<TitleShape>;
pub type DescriptionText = JsonString<DescriptionShape>;

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
