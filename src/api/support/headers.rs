//! Request headers read from their raw bytes. poem-openapi's `Header`
//! drops a value that is not visible ASCII, so `If-Match: "caf\xe9"` would
//! read as no `If-Match` at all and the write would go through; these
//! extractors see every byte, declare themselves in the spec like a
//! `Header` parameter, and answer 400 naming the header.

use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaParamIn, MetaSchema, MetaSchemaRef};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

use super::super::etag::{EXPECTED, TagList, parse_tag_list};
use super::super::problem::{FieldError, Problem, ProblemError};
use crate::domain::{IdempotencyKey, MAX_IDEMPOTENCY_KEY_CHARS};

/// Every value of a header, as sent, joined the way RFC 9110 combines
/// repeated list headers; `None` when it is absent.
fn raw_values(request: &Request, name: &str) -> Option<Vec<u8>> {
    let mut values = request.headers().get_all(name).iter().peekable();
    values.peek()?;
    Some(
        values
            .map(|v| v.as_bytes())
            .collect::<Vec<_>>()
            .join(&b","[..]),
    )
}

fn refuse(name: &str, expected: &str) -> poem::Error {
    ProblemError::into_poem(Problem::invalid(vec![FieldError::new(name, expected)]))
}

fn string_schema(description: &'static str, max_length: Option<usize>) -> MetaSchemaRef {
    MetaSchemaRef::Inline(Box::new(MetaSchema {
        description: Some(description),
        max_length,
        ..MetaSchema::new("string")
    }))
}

/// `If-Match` or `If-None-Match`: an entity-tag list, or absent.
pub struct TagListHeader(pub Option<TagList>);

impl<'a> ApiExtractor<'a> for TagListHeader {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::Parameter];
    type ParamType = String;
    type ParamRawType = String;

    fn param_in() -> Option<MetaParamIn> {
        Some(MetaParamIn::Header)
    }

    fn param_schema_ref() -> Option<MetaSchemaRef> {
        Some(string_schema(
            "`*`, or entity tags as the `ETag` header gives them, quotes included",
            None,
        ))
    }

    async fn from_request(
        request: &'a Request,
        _body: &mut RequestBody,
        param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        match raw_values(request, param_opts.name) {
            None => Ok(Self(None)),
            Some(raw) => parse_tag_list(&raw)
                .map(|list| Self(Some(list)))
                .ok_or_else(|| refuse(param_opts.name, EXPECTED)),
        }
    }
}

/// `Idempotency-Key`, or absent.
pub struct IdempotencyKeyHeader(pub Option<IdempotencyKey>);

impl<'a> ApiExtractor<'a> for IdempotencyKeyHeader {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::Parameter];
    type ParamType = String;
    type ParamRawType = String;

    fn param_in() -> Option<MetaParamIn> {
        Some(MetaParamIn::Header)
    }

    fn param_schema_ref() -> Option<MetaSchemaRef> {
        Some(string_schema(
            "1 to 255 visible ASCII characters, e.g. a UUID",
            Some(MAX_IDEMPOTENCY_KEY_CHARS),
        ))
    }

    async fn from_request(
        request: &'a Request,
        _body: &mut RequestBody,
        param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let Some(raw) = raw_values(request, param_opts.name) else {
            return Ok(Self(None));
        };
        let refused = || refuse(param_opts.name, "must be 1 to 255 visible ASCII characters");
        if request.headers().get_all(param_opts.name).iter().count() > 1 {
            return Err(refuse(param_opts.name, "must be sent once"));
        }
        let text = std::str::from_utf8(&raw).map_err(|_| refused())?;
        IdempotencyKey::parse(text)
            .map(|key| Self(Some(key)))
            .map_err(|_| refused())
    }
}

/// `Last-Event-ID`: the id of the last event a resuming client saw.
pub struct LastEventId(pub Option<i64>);

impl<'a> ApiExtractor<'a> for LastEventId {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::Parameter];
    type ParamType = String;
    type ParamRawType = String;

    fn param_in() -> Option<MetaParamIn> {
        Some(MetaParamIn::Header)
    }

    fn param_schema_ref() -> Option<MetaSchemaRef> {
        Some(string_schema(
            "The `id:` of the last event received; the stream resumes after it",
            None,
        ))
    }

    async fn from_request(
        request: &'a Request,
        _body: &mut RequestBody,
        param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let Some(raw) = raw_values(request, param_opts.name) else {
            return Ok(Self(None));
        };
        std::str::from_utf8(&raw)
            .ok()
            .and_then(|text| text.trim().parse::<i64>().ok())
            .filter(|id| *id >= 0)
            .map(|id| Self(Some(id)))
            .ok_or_else(|| {
                refuse(
                    param_opts.name,
                    "must be the id of an event of this stream (a non-negative integer)",
                )
            })
    }
}
