//! The headers of this API, as [`RawHeader`](crate::edge::headers::RawHeader) reads them.

use super::etag::{EXPECTED, TagList, parse_tag_list};
use crate::domain::{IdempotencyKey, MAX_IDEMPOTENCY_KEY_CHARS};
use crate::edge::headers::HeaderValue;

impl HeaderValue for TagList {
    const DESCRIPTION: &'static str =
        "`*`, or entity tags as the `ETag` header gives them, quotes included";
    const EXPECTED: &'static str = EXPECTED;
    // RFC 9110 §8.8.3 without obs-text, which no ETag of ours contains.
    const PATTERN: &'static str = r#"^(\*|(W/)?"[!#-~]*"([ \t]*,[ \t]*(W/)?"[!#-~]*")*)$"#;
    const LIST: bool = true;

    fn parse(raw: &[u8]) -> Option<Self> {
        parse_tag_list(raw)
    }
}

impl HeaderValue for IdempotencyKey {
    const DESCRIPTION: &'static str = "1 to 255 visible ASCII characters, e.g. a UUID";
    const MAX_LENGTH: Option<usize> = Some(MAX_IDEMPOTENCY_KEY_CHARS);
    const EXPECTED: &'static str = "must be 1 to 255 visible ASCII characters";
    const PATTERN: &'static str = "^[!-~]{1,255}$";
    const LIST: bool = false;

    fn parse(raw: &[u8]) -> Option<Self> {
        IdempotencyKey::parse(std::str::from_utf8(raw).ok()?).ok()
    }
}

/// `Last-Event-ID`: the id of the last event a resuming client saw.
pub struct LastEventId(pub i64);

impl HeaderValue for LastEventId {
    const DESCRIPTION: &'static str =
        "The `id:` of the last event received; the stream resumes after it";
    const EXPECTED: &'static str =
        "must be the id of an event of this stream (a non-negative integer)";
    const PATTERN: &'static str = "^[0-9]{1,18}$";
    const LIST: bool = false;

    fn parse(raw: &[u8]) -> Option<Self> {
        crate::edge::digits::pattern(std::str::from_utf8(raw).ok()?, 18).map(Self)
    }
}
