//! Domain values on the wire, as themselves: each declares its JSON type
//! and bounds in the spec from the domain's own, so that the schema check
//! (`edge/schema_check.rs`) refuses what the domain would, by field name,
//! and what reaches a handler is already the domain value.

use std::borrow::Cow;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{
    ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type,
};
use serde_json::Value;

use crate::domain::{MAX_PRIORITY, MIN_PRIORITY, Priority, TaskId};

/// An integer domain value on the wire: its spec name and schema, read by
/// the domain's own `parse` and written as its `get`.
macro_rules! integer_value {
    ($value:ty, $name:literal, $schema:expr) => {
        impl Type for $value {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> Cow<'static, str> {
                $name.into()
            }

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Inline(Box::new($schema))
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

        impl ParseFromJSON for $value {
            fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
                let value = value.unwrap_or_default();
                let raw = value
                    .as_i64()
                    .ok_or_else(|| ParseError::expected_type(value.clone()))?;
                <$value>::parse(raw).map_err(|err| ParseError::custom(err.to_string()))
            }
        }

        // As a query parameter (`priority_min`): the same rule.
        impl ParseFromParameter for $value {
            fn parse_from_parameter(value: &str) -> ParseResult<Self> {
                let raw = crate::edge::digits::canonical::<i64>(value)
                    .ok_or_else(|| ParseError::custom("must be an integer"))?;
                <$value>::parse(raw).map_err(|err| ParseError::custom(err.to_string()))
            }
        }

        impl ToJSON for $value {
            fn to_json(&self) -> Option<Value> {
                Some(Value::from(self.get()))
            }
        }
    };
}

integer_value!(
    Priority,
    "priority",
    MetaSchema {
        description: Some("1 (low) to 5 (urgent)"),
        minimum: Some(MIN_PRIORITY as f64),
        maximum: Some(MAX_PRIORITY as f64),
        ..MetaSchema::new_with_format("integer", "int32")
    }
);

// A task id in a request body: a positive integer.
integer_value!(
    TaskId,
    "task-id",
    MetaSchema {
        minimum: Some(1.0),
        ..MetaSchema::new_with_format("integer", "int64")
    }
);
