//! Pages on the wire: `limit`, `offset` or an opaque `cursor`, `count`;
//! and the next page as `next_cursor` and a `Link: <…>; rel="next"` header.
//!
//! A cursor is base64url of `<listing>:<id>[:<filter>[:<more>…]]`: the
//! keyset position, a digest of the filters (and order) it was made under,
//! so that a cursor used with other filters is refused rather than
//! silently wrong, and what else the listing's position holds (a sort
//! key, say).

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromParameter, ParseResult, Type};
use sha2::{Digest, Sha256};

use crate::domain::{PageRequest, PageStart};
use crate::edge::problem::FieldError;

/// A `cursor` query parameter as the spec states it: 1 to 256 base64url
/// characters. Checked by hand: poem-openapi's `pattern` validator compiles
/// its regex on every request (about 0.3 ms of CPU per cursor page).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor(String);

impl Cursor {
    pub const PATTERN: &'static str = "^[A-Za-z0-9_-]{1,256}$";

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Type for Cursor {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string(cursor)".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            pattern: Some(Self::PATTERN.to_owned()),
            ..MetaSchema::new("string")
        }))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromParameter for Cursor {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        let valid = (1..=256).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err(ParseError::custom(format!(
                "does not match the pattern {}",
                Self::PATTERN
            )))
        }
    }
}

/// Which listing a cursor belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listing {
    Tasks,
    Notifications,
}

impl Listing {
    fn tag(self) -> &'static str {
        match self {
            Self::Tasks => "t",
            Self::Notifications => "n",
        }
    }
}

/// A listing's filters as the cursor remembers them (empty for none).
pub fn filter_key(parts: &[Option<String>]) -> String {
    if parts.iter().all(Option::is_none) {
        return String::new();
    }
    let joined = parts
        .iter()
        .map(|part| part.as_deref().unwrap_or("-"))
        .collect::<Vec<_>>()
        .join("|");
    hex::encode(&Sha256::digest(joined.as_bytes())[..6])
}

pub fn encode(listing: Listing, after: i64, filters: &str) -> String {
    encode_with(listing, after, filters, &[])
}

/// A cursor whose position holds more than an id: each of `more` is
/// written after the filters (and may not contain `:`).
pub fn encode_with(listing: Listing, after: i64, filters: &str, more: &[String]) -> String {
    let mut text = format!("{}:{after}", listing.tag());
    if !filters.is_empty() || !more.is_empty() {
        text.push(':');
        text.push_str(filters);
    }
    for part in more {
        text.push(':');
        text.push_str(part);
    }
    URL_SAFE_NO_PAD.encode(text)
}

/// The id a cursor points past, and the rest of its position.
fn decode(listing: Listing, raw: &str, filters: &str) -> Option<(i64, Vec<String>)> {
    let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.split(':');
    if parts.next()? != listing.tag() {
        return None;
    }
    let after: i64 = parts.next()?.parse().ok()?;
    let made_under = parts.next().unwrap_or_default();
    let more = parts.map(str::to_owned).collect();
    (made_under == filters && after >= 0).then_some((after, more))
}

/// The page a request asks for; a cursor and a non-zero offset exclude
/// each other.
pub fn page_request(
    listing: Listing,
    limit: u32,
    offset: u64,
    cursor: Option<&str>,
    count: bool,
    filters: &str,
) -> Result<PageRequest, Vec<FieldError>> {
    let position = |after, more: Vec<String>| more.is_empty().then_some(after);
    page_request_at(listing, limit, offset, cursor, count, filters, position)
}

/// [`page_request`] for a listing whose position holds more than an id:
/// `position` reads it from the cursor's id and the rest of it, or
/// refuses it (`None`).
pub fn page_request_at<P>(
    listing: Listing,
    limit: u32,
    offset: u64,
    cursor: Option<&str>,
    count: bool,
    filters: &str,
    position: impl FnOnce(i64, Vec<String>) -> Option<P>,
) -> Result<PageRequest<P>, Vec<FieldError>> {
    let start = match cursor {
        None => PageStart::Offset(offset),
        Some(_) if offset != 0 => {
            return Err(vec![FieldError::new(
                "offset",
                "cannot be combined with `cursor`; a cursor page starts where the cursor points",
            )]);
        }
        Some(raw) => {
            match decode(listing, raw, filters).and_then(|(after, more)| position(after, more)) {
                Some(at) => PageStart::After(at),
                None => {
                    return Err(vec![FieldError::new(
                        "cursor",
                        super::parameters::PARAMETERS.expectation("cursor"),
                    )]);
                }
            }
        }
    };
    Ok(PageRequest {
        limit,
        start,
        count_total: count,
    })
}

/// `<path?query with cursor=next and no offset>; rel="next"`.
pub fn next_link(path: &str, query: Option<&str>, cursor: &str) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if name != "cursor" && name != "offset" {
            out.append_pair(&name, &value);
        }
    }
    out.append_pair("cursor", cursor);
    format!("<{path}?{}>; rel=\"next\"", out.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_parameter_is_what_its_pattern_says() {
        let pattern = regex::Regex::new(Cursor::PATTERN).unwrap();
        let long = "A".repeat(256);
        let too_long = "A".repeat(257);
        for raw in [
            "dDo0Mg", "a", "A-_z09", &long, &too_long, "", "dDo0Mg=", "a b", "a+b", "a/b", "é",
            "a\n", " a",
        ] {
            assert_eq!(
                Cursor::parse_from_parameter(raw).is_ok(),
                pattern.is_match(raw),
                "{raw:?}"
            );
        }
        let MetaSchemaRef::Inline(schema) = Cursor::schema_ref() else {
            panic!("an inline schema");
        };
        assert_eq!(schema.pattern.as_deref(), Some(Cursor::PATTERN));
    }

    #[test]
    fn a_cursor_round_trips_under_the_same_filters_only() {
        let filters = filter_key(&[Some("2026".into()), None]);
        let cursor = encode(Listing::Tasks, 42, &filters);
        assert_eq!(
            decode(Listing::Tasks, &cursor, &filters),
            Some((42, Vec::new()))
        );
        assert_eq!(decode(Listing::Tasks, &cursor, ""), None);
        let keyed = encode_with(Listing::Tasks, 42, &filters, &["7".into(), "9".into()]);
        assert_eq!(
            decode(Listing::Tasks, &keyed, &filters),
            Some((42, vec!["7".into(), "9".into()]))
        );
        assert_eq!(decode(Listing::Tasks, &keyed, ""), None);
        assert_eq!(
            page_request(Listing::Tasks, 10, 0, Some(&keyed), false, &filters).unwrap_err()[0]
                .field,
            "cursor",
            "a listing by id takes no sort key"
        );
        assert_eq!(decode(Listing::Notifications, &cursor, &filters), None);
        assert_eq!(encode(Listing::Tasks, 42, ""), "dDo0Mg");
        for garbage in ["", "!!", "dDo", "eDo0Mg"] {
            assert_eq!(decode(Listing::Tasks, garbage, ""), None, "{garbage}");
        }
    }

    #[test]
    fn a_cursor_and_an_offset_exclude_each_other() {
        let cursor = encode(Listing::Tasks, 7, "");
        let page = page_request(Listing::Tasks, 10, 0, Some(&cursor), false, "").unwrap();
        assert_eq!(page.start, PageStart::After(7));
        let errors = page_request(Listing::Tasks, 10, 5, Some(&cursor), false, "").unwrap_err();
        assert_eq!(errors[0].field, "offset");
    }

    #[test]
    fn the_next_link_keeps_the_filters_and_replaces_the_position() {
        let link = next_link(
            "/v1/tasks",
            Some("limit=2&offset=4&expires_after=x%2B1"),
            "abc",
        );
        assert_eq!(
            link,
            "</v1/tasks?limit=2&expires_after=x%2B1&cursor=abc>; rel=\"next\""
        );
    }
}
