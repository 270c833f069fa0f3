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

use super::text::LabelText;
use crate::domain::{MAX_LABELS, MAX_PRIORITY, MIN_PRIORITY, Priority, TaskId};

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

/// A task's labels in a request body: an array of at most 20 strings
/// (the schema check refuses more, and anything but strings, by field
/// name); each is made a [`crate::domain::Label`] by the body's
/// `into_domain`, which names a bad one by its index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelList(pub Vec<String>);

impl Type for LabelList {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "labels".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            description: Some(
                "At most 20 labels, each 1 to 64 characters after white space around it is \
                 removed, without control characters; compared without regard to case (a \
                 later repeat of a label is dropped), kept in the order and case first written",
            ),
            items: Some(Box::new(LabelText::schema_ref())),
            max_items: Some(MAX_LABELS),
            ..MetaSchema::new("array")
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

impl ParseFromJSON for LabelList {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        let value = value.unwrap_or_default();
        let strings = value.as_array().and_then(|items| {
            items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect::<Option<Vec<String>>>()
        });
        strings
            .map(Self)
            .ok_or_else(|| ParseError::expected_type(value))
    }
}

impl ToJSON for LabelList {
    fn to_json(&self) -> Option<Value> {
        Some(Value::from(self.0.clone()))
    }
}

/// A `label` query parameter: a label's form in the spec
/// ([`super::text::LabelShape`]), read as sent; the handler makes it a
/// [`crate::domain::Label`] and names the parameter when it is not one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelParam(pub String);

impl Type for LabelParam {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "label".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        LabelText::schema_ref()
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

impl ParseFromParameter for LabelParam {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(Self(value.to_owned()))
    }
}

impl ToJSON for LabelParam {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}
