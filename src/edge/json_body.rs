//! Request bodies, read strictly. poem-openapi's `Json` takes any
//! `application/*+json` type, ignores `Content-Encoding`, lets the last of
//! two equal keys win, and reports a wrong type without naming the field.
//! Here a body is exactly the declared media type, unencoded, JSON with
//! each key once, checked against the schema its wire type declares
//! (`schema_check.rs`) and then read into the domain by the type's own
//! rules, with one error per field ([`RequestBody`]).

use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;

use poem::{Request, RequestBody as PoemBody};
use poem_openapi::impl_apirequest_for_payload;
use poem_openapi::payload::{ParsePayload, Payload};
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{ParseFromJSON, Type};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::problem::{FieldError, Problem, ProblemError, ProblemKind};
use super::schema_check::{Fields, Schema};

/// A request body type: its wire shape (for the spec and for the checks of
/// names, JSON types, absence and `null`) is `Self`; what a handler
/// receives is `Parsed`, made from it by the domain's rules.
pub trait RequestBody: Type + ParseFromJSON + 'static {
    type Parsed: Send;

    /// The domain values of a body of the declared shape; each value the
    /// domain refuses is reported to `fields` by name.
    fn into_domain(self, fields: &mut Fields) -> Option<Self::Parsed>;

    /// Reads a JSON body: every mistake of shape and of content at once.
    fn parse(value: Value) -> Result<Self::Parsed, Vec<FieldError>> {
        let (errors, rest) = Schema::of::<Self>().check_and_repair(value);
        let wire = rest.and_then(|rest| Self::parse_from_json(Some(rest)).ok());
        let Some(wire) = wire else {
            return Err(errors);
        };
        let mut fields = Fields::new(errors);
        let parsed = wire.into_domain(&mut fields);
        fields.finish(parsed)
    }
}

/// A media type a body may be sent as.
pub trait MediaType: Send + Sync + 'static {
    const CONTENT_TYPE: &'static str;
}

/// `application/json`
pub struct Json;
impl MediaType for Json {
    const CONTENT_TYPE: &'static str = "application/json";
}

/// `application/merge-patch+json` (RFC 7396)
pub struct MergePatch;
impl MediaType for MergePatch {
    const CONTENT_TYPE: &'static str = "application/merge-patch+json";
}

/// A request body of type `T` sent as `M`.
pub struct Body<T: RequestBody, M: MediaType>(pub T::Parsed, PhantomData<M>);

pub type JsonBody<T> = Body<T, Json>;
pub type MergePatchBody<T> = Body<T, MergePatch>;

impl<T: RequestBody, M: MediaType> Payload for Body<T, M> {
    const CONTENT_TYPE: &'static str = M::CONTENT_TYPE;

    /// The media type, optionally with `charset=utf-8`; nothing else.
    fn check_content_type(content_type: &str) -> bool {
        let mut parts = content_type.split(';').map(str::trim);
        let essence = parts.next().unwrap_or_default();
        essence.eq_ignore_ascii_case(M::CONTENT_TYPE)
            && parts.all(|param| {
                param.is_empty()
                    || param.split_once('=').is_some_and(|(name, value)| {
                        name.trim().eq_ignore_ascii_case("charset")
                            && value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
                    })
            })
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: RequestBody, M: MediaType> ParsePayload for Body<T, M> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut PoemBody) -> poem::Result<Self> {
        if let Some(encoding) = request.header("content-encoding")
            && !encoding.trim().eq_ignore_ascii_case("identity")
        {
            return Err(ProblemError::into_poem(Problem::new(
                ProblemKind::UnsupportedMediaType,
                None,
                format!("the body must not be encoded (`Content-Encoding: {encoding}`)"),
            )));
        }
        let bytes = body.take()?.into_vec().await?;
        let value = parse_strict(&bytes).map_err(|detail| {
            ProblemError::into_poem(Problem::new(
                ProblemKind::BadRequest,
                Some("malformed-json"),
                format!("the body is not valid JSON: {detail}"),
            ))
        })?;
        T::parse(value)
            .map(|parsed| Self(parsed, PhantomData))
            .map_err(|errors| ProblemError::into_poem(Problem::invalid(errors)))
    }
}

impl_apirequest_for_payload!(Body<T, M>, T: RequestBody, M: MediaType);

/// Parses JSON, refusing an object that names a key twice (RFC 8259 leaves
/// that undefined; a client that sends it has a bug worth telling it about).
pub fn parse_strict(bytes: &[u8]) -> Result<Value, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err("the body is empty".to_owned());
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = StrictValue
        .deserialize(&mut deserializer)
        .map_err(|err| err.to_string())?;
    deserializer.end().map_err(|err| err.to_string())?;
    Ok(value)
}

/// Builds a [`Value`] like serde_json does, but fails on a repeated key.
struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(StrictValue)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format!("the key `{key}` appears twice")));
            }
            let value = map.next_value_seed(StrictValue)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_key_is_refused_at_any_depth() {
        assert!(parse_strict(br#"{"a": 1, "b": {"c": 2}}"#).is_ok());
        let err = parse_strict(br#"{"title": "a", "title": "b"}"#).unwrap_err();
        assert!(err.contains("`title` appears twice"), "{err}");
        assert!(parse_strict(br#"{"tasks": [{"id": 1, "id": 2}]}"#).is_err());
    }

    #[test]
    fn malformed_or_empty_bodies_are_refused() {
        assert!(parse_strict(b"").is_err());
        assert!(parse_strict(b"  ").is_err());
        assert!(parse_strict(b"{").is_err());
        assert!(parse_strict(b"{} {}").is_err());
        assert_eq!(
            parse_strict(b"[1, null]").unwrap(),
            serde_json::json!([1, null])
        );
    }

    #[derive(poem_openapi::Object)]
    struct Thing {
        name: String,
    }

    impl RequestBody for Thing {
        type Parsed = String;

        fn into_domain(self, _: &mut Fields) -> Option<String> {
            Some(self.name)
        }
    }

    #[test]
    fn a_body_of_the_declared_shape_reaches_the_domain_and_any_other_is_refused() {
        assert_eq!(Thing::parse(serde_json::json!({"name": "a"})).unwrap(), "a");
        let errors = Thing::parse(serde_json::json!({"name": 1, "nam": "a"})).unwrap_err();
        assert_eq!(errors.len(), 2);
    }

    #[test]
    fn only_the_declared_media_type_is_taken() {
        type B = Body<Thing, Json>;
        assert!(B::check_content_type("application/json"));
        assert!(B::check_content_type("Application/JSON; charset=UTF-8"));
        for other in [
            "application/merge-patch+json",
            "application/json-patch+json",
            "application/vnd.api+json",
            "application/json; charset=latin1",
            "text/json",
        ] {
            assert!(!B::check_content_type(other), "{other}");
        }
    }
}
