//! RFC 3339 on the wire: input must carry an offset, output is always UTC `Z`.

use std::borrow::Cow;

use chrono::{DateTime, FixedOffset};
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{
    ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type,
};
use serde_json::Value;

use crate::domain::{Timestamp, ValidationError};

/// An RFC 3339 date-time with an explicit offset (`Z` or `±hh:mm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiTime(DateTime<FixedOffset>);

/// An RFC 3339 date-time; `None` without an offset or otherwise malformed.
pub fn parse_rfc3339(raw: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(raw).ok()
}

impl ApiTime {
    fn parse_str(raw: &str) -> ParseResult<Self> {
        parse_rfc3339(raw).map(Self).ok_or_else(|| {
            ParseError::custom(
                "expected an RFC 3339 date-time with an offset, e.g. 2026-01-01T10:00:00+08:00",
            )
        })
    }

    pub fn to_timestamp(self) -> Result<Timestamp, ValidationError> {
        Timestamp::parse(self.0)
    }
}

impl From<Timestamp> for ApiTime {
    fn from(ts: Timestamp) -> Self {
        Self(ts.as_datetime().fixed_offset())
    }
}

impl Type for ApiTime {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "date-time".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        // No example here: Swagger UI would pre-fill the optional time
        // filters with it, and a list filtered to one instant is empty.
        // The pattern states the year range (1000–9999) that `Timestamp`
        // enforces, as far as a pattern can.
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            pattern: Some("^[1-9][0-9]{3}-".to_owned()),
            ..MetaSchema::new_with_format("string", "date-time")
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

impl ParseFromJSON for ApiTime {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::String(raw) => Self::parse_str(&raw),
            other => Err(ParseError::expected_type(other)),
        }
    }
}

impl ParseFromParameter for ApiTime {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Self::parse_str(value)
    }
}

impl ToJSON for ApiTime {
    fn to_json(&self) -> Option<Value> {
        let utc = self.0.with_timezone(&chrono::Utc);
        Some(Value::String(
            utc.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_without_an_offset_is_rejected() {
        assert!(ApiTime::parse_from_parameter("2026-01-01T10:00:00").is_err());
        assert!(ApiTime::parse_from_parameter("2026-01-01").is_err());
    }

    #[test]
    fn output_is_utc_with_z() {
        let time = ApiTime::parse_from_parameter("2026-01-01T10:00:00.5+08:00").unwrap();
        assert_eq!(
            time.to_json(),
            Some(Value::String("2026-01-01T02:00:00.500Z".into()))
        );
    }
}
