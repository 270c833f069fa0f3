//! Request headers read from their raw bytes. poem-openapi's `Header`
//! drops a value that is not visible ASCII, so `If-Match: "caf\xe9"` would
//! read as no `If-Match` at all and the write would go through. A
//! [`RawHeader`] sees every byte, declares itself in the spec like a
//! `Header` parameter, and answers 400 naming the header when its value
//! cannot be read.

use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaParamIn, MetaSchema, MetaSchemaRef};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

use super::problem::{FieldError, Problem, ProblemError};

/// What a header holds, and how it is read from the bytes sent.
pub trait HeaderValue: Sized + Send {
    /// For the spec.
    const DESCRIPTION: &'static str;
    const MAX_LENGTH: Option<usize> = None;
    /// The form, for the spec: a client (or a contract fuzzer) that sends
    /// what matches it is answered on the merits, never 400.
    const PATTERN: &'static str;
    /// What a valid value looks like, for the error.
    const EXPECTED: &'static str;
    /// Whether it may be sent more than once (a list header).
    const LIST: bool;

    fn parse(raw: &[u8]) -> Option<Self>;
}

/// A header of type `V`, or `None` when it was not sent.
pub struct RawHeader<V>(pub Option<V>);

impl<'a, V: HeaderValue> ApiExtractor<'a> for RawHeader<V> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::Parameter];
    type ParamType = String;
    type ParamRawType = String;

    fn param_in() -> Option<MetaParamIn> {
        Some(MetaParamIn::Header)
    }

    fn param_schema_ref() -> Option<MetaSchemaRef> {
        Some(MetaSchemaRef::Inline(Box::new(MetaSchema {
            description: Some(V::DESCRIPTION),
            // Redundant with every pattern, but it is what tells a fuzzer
            // that an empty value is not one.
            min_length: Some(1),
            max_length: V::MAX_LENGTH,
            pattern: Some(V::PATTERN.to_owned()),
            ..MetaSchema::new("string")
        })))
    }

    async fn from_request(
        request: &'a Request,
        _body: &mut RequestBody,
        param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let name = param_opts.name;
        let sent: Vec<&[u8]> = request
            .headers()
            .get_all(name)
            .iter()
            .map(|value| value.as_bytes())
            .collect();
        if sent.is_empty() {
            return Ok(Self(None));
        }
        let refuse = |expected: &str| {
            ProblemError::into_poem(Problem::invalid(vec![FieldError::new(name, expected)]))
        };
        if sent.len() > 1 && !V::LIST {
            return Err(refuse("must be sent once"));
        }
        // Repeated list headers combine into one list (RFC 9110 §5.3).
        let raw = sent.join(&b","[..]);
        V::parse(&raw)
            .map(|value| Self(Some(value)))
            .ok_or_else(|| refuse(V::EXPECTED))
    }
}
