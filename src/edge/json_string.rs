//! [`JsonString`]: how a request string field is described in the spec,
//! while its rules are checked by the domain type it becomes, not by
//! poem-openapi.
//!
//! poem-openapi's `String` also accepts numbers and booleans (`"title": 5`
//! becomes `"5"`); a client that sends the wrong type has a bug we should
//! tell it about, not paper over. And a validator attribute would refuse a
//! bad title before the domain sees it, with a message that names no field;
//! so a [`StringShape`] only describes the rules in the spec, and the
//! domain type enforces them with field errors (`schema_check::Fields`).

use std::borrow::Cow;
use std::marker::PhantomData;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use serde_json::Value;

/// What the spec says about a string field.
pub trait StringShape: Send + Sync + 'static {
    fn describe(schema: MetaSchema) -> MetaSchema;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonString<S>(pub String, PhantomData<S>);

impl<S> JsonString<S> {
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into(), PhantomData)
    }
}

impl<S: StringShape> Type for JsonString<S> {
    const IS_REQUIRED: bool = true;
    type RawValueType = String;
    type RawElementValueType = String;

    fn name() -> Cow<'static, str> {
        String::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(S::describe(MetaSchema::new("string"))))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl<S: StringShape> ParseFromJSON for JsonString<S> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::String(text) => Ok(Self::new(text)),
            other => Err(ParseError::expected_type(other)),
        }
    }
}

impl<S: StringShape> ToJSON for JsonString<S> {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}
