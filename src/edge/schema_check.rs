//! A request body checked against the schema its wire type declares, so
//! that the spec and the validation cannot disagree: what a field is
//! called, its JSON type, whether it may be left out or be `null`, the
//! integer and list bounds and the enum values are read from the same
//! poem-openapi schema the spec is generated from. Every mistake is
//! reported at once, by its path (`tasks[2].expiry_dt`), and a field the
//! schema does not declare is refused.
//!
//! (poem-openapi's own parsing stops at the first mistake, names no field,
//! turns `5` into `"5"` for a string and ignores unknown fields.)
//!
//! The length and pattern of a string are not checked here: they belong to
//! the domain type the string becomes, which reports them by field name too
//! (see [`Fields`]), and which may accept a stored value sent back as it
//! was served even where it breaks the rules.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use serde_json::{Map, Value};

use super::problem::FieldError;

/// What a date-time field is told when it is not one.
pub const DATE_TIME: &str =
    "must be a string holding an RFC 3339 date-time with an offset, e.g. 2026-01-01T10:00:00+08:00";
pub const UNKNOWN_FIELD: &str = "is not a field of this request; check its spelling";
pub const REQUIRED: &str = "is required and may not be null";

/// The schemas of one wire type: its own and every one it refers to.
pub struct Schema {
    registry: Registry,
    root: MetaSchemaRef,
}

impl Schema {
    /// The schema of `T`, built once per type.
    pub fn of<T: Type + 'static>() -> Arc<Schema> {
        static BUILT: OnceLock<Mutex<HashMap<TypeId, Arc<Schema>>>> = OnceLock::new();
        let built = BUILT.get_or_init(Default::default);
        let mut built = built
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        built
            .entry(TypeId::of::<T>())
            .or_insert_with(|| {
                let mut registry = Registry::new();
                T::register(&mut registry);
                Arc::new(Schema {
                    registry,
                    root: T::schema_ref(),
                })
            })
            .clone()
    }

    /// Every way `value` breaks the schema, and `value` mended so that it
    /// holds: each field in the wrong is left out where it may be, and
    /// stands in with a plain value of its type where it must be there.
    /// The domain can then name its own mistakes in the rest of the body
    /// (a client learns of every mistake at once); what it says about a
    /// stand-in is not reported ([`Fields::report`] names a field once).
    /// `None` when the body is not even an object.
    pub fn check_and_repair(&self, mut value: Value) -> (Vec<FieldError>, Option<Value>) {
        let mut mistakes = Vec::new();
        self.check_value(&value, &self.root, &Path::Root, true, &mut mistakes);
        let mut repaired = true;
        for mistake in &mistakes {
            repaired &= mistake.mend(&mut value);
        }
        let errors = mistakes.into_iter().map(|m| m.error).collect();
        (errors, repaired.then_some(value))
    }

    fn resolve<'s>(&'s self, schema: &'s MetaSchemaRef) -> Option<&'s MetaSchema> {
        match schema {
            MetaSchemaRef::Inline(schema) => Some(schema),
            MetaSchemaRef::Reference(name) => self.registry.schemas.get(name),
        }
    }

    /// A plain value that holds for `schema`, to stand in for a wrong one.
    fn stand_in(&self, schema: &MetaSchema) -> Value {
        if let Some(part) = schema.all_of.first().and_then(|part| self.resolve(part)) {
            return self.stand_in(part);
        }
        match schema.ty {
            "object" => Value::Object(
                schema
                    .properties
                    .iter()
                    .filter(|(name, _)| schema.required.contains(name))
                    .map(|(name, property)| {
                        let value = self
                            .resolve(property)
                            .map_or(Value::Null, |s| self.stand_in(s));
                        ((*name).to_owned(), value)
                    })
                    .collect(),
            ),
            "array" => Value::Array(Vec::new()),
            "integer" | "number" => Value::from(schema.minimum.map_or(0, |min| min.ceil() as i64)),
            "boolean" => Value::Bool(false),
            "string" if schema.format == Some("date-time") => Value::from("2000-01-01T00:00:00Z"),
            "string" => schema
                .enum_items
                .first()
                .cloned()
                .unwrap_or_else(|| Value::from("")),
            _ => Value::Null,
        }
    }

    fn check_value(
        &self,
        value: &Value,
        schema: &MetaSchemaRef,
        path: &Path<'_>,
        required: bool,
        mistakes: &mut Vec<Mistake>,
    ) {
        let Some(schema) = self.resolve(schema) else {
            return;
        };
        let wrong = |message: String| {
            let mend = match path.field() {
                Some((parent, name)) if !required => Mend::Remove(parent, name),
                _ => Mend::Set(path.pointer(), self.stand_in(schema)),
            };
            Mistake {
                error: FieldError::new(path.to_string(), message),
                mend,
            }
        };
        let message = match (schema.ty, value) {
            (_, Value::Null) if schema.nullable => return,
            (_, Value::Null) => Some(REQUIRED.to_owned()),
            ("object", Value::Object(_)) | ("array", Value::Array(_)) => None,
            ("object", _) => Some("must be a JSON object".to_owned()),
            ("array", _) => Some("must be an array".to_owned()),
            ("string", _) => string_mistake(value, schema),
            ("integer", _) => integer_mistake(value, schema),
            ("boolean", _) if !value.is_boolean() => Some("must be `true` or `false`".to_owned()),
            ("number", _) if !value.is_number() => Some("must be a number".to_owned()),
            _ => None,
        };
        if let Some(message) = message {
            mistakes.push(wrong(message));
            return;
        }
        for part in &schema.all_of {
            self.check_value(value, part, path, required, mistakes);
        }
        match value {
            Value::Object(object) => self.check_object(object, schema, path, mistakes),
            Value::Array(items) => match too_many(schema, items.len()) {
                // Each item of an over-long list is not worth reading.
                Some(message) => mistakes.push(wrong(message)),
                None => {
                    if let Some(item) = &schema.items {
                        for (index, value) in items.iter().enumerate() {
                            let at = Path::Item(path, index);
                            self.check_value(value, item, &at, true, mistakes);
                        }
                    }
                }
            },
            _ => {}
        }
    }

    fn check_object(
        &self,
        object: &Map<String, Value>,
        schema: &MetaSchema,
        path: &Path<'_>,
        mistakes: &mut Vec<Mistake>,
    ) {
        for (name, property) in &schema.properties {
            let at = Path::Field(path, name);
            let required = schema.required.contains(name);
            match object.get(*name) {
                None if required => {
                    let stand_in = self
                        .resolve(property)
                        .map_or(Value::Null, |s| self.stand_in(s));
                    mistakes.push(Mistake {
                        error: FieldError::new(at.to_string(), REQUIRED),
                        mend: Mend::Set(at.pointer(), stand_in),
                    });
                }
                None => {}
                Some(value) => self.check_value(value, property, &at, required, mistakes),
            }
        }
        for name in unknown(object, schema) {
            mistakes.push(Mistake {
                error: FieldError::new(Path::Field(path, name).to_string(), UNKNOWN_FIELD),
                mend: Mend::Remove(path.pointer(), name.to_owned()),
            });
        }
    }
}

/// The message for a list longer or shorter than its schema allows.
fn too_many(schema: &MetaSchema, len: usize) -> Option<String> {
    match (schema.min_items, schema.max_items) {
        (_, Some(max)) if len > max => Some(format!("must hold at most {max} items")),
        (Some(min), _) if len < min => Some(format!("must hold at least {min} items")),
        _ => None,
    }
}

/// The keys of `object` its schema does not declare (all of them are
/// refused: every request body is closed).
fn unknown<'o>(object: &'o Map<String, Value>, schema: &MetaSchema) -> Vec<&'o str> {
    object
        .keys()
        .filter(|key| !schema.properties.iter().any(|(name, _)| name == key))
        .map(String::as_str)
        .collect()
}

fn string_mistake(value: &Value, schema: &MetaSchema) -> Option<String> {
    let date_time = schema.format == Some("date-time");
    match value {
        Value::String(text) if date_time => chrono::DateTime::parse_from_rfc3339(text)
            .is_err()
            .then(|| DATE_TIME.to_owned()),
        Value::String(text) if !schema.enum_items.is_empty() => {
            (!schema.enum_items.iter().any(|item| item == text.as_str()))
                .then(|| one_of(&schema.enum_items))
        }
        Value::String(_) => None,
        _ if date_time => Some(DATE_TIME.to_owned()),
        _ if !schema.enum_items.is_empty() => Some(one_of(&schema.enum_items)),
        _ => Some("must be a string".to_owned()),
    }
}

fn one_of(items: &[Value]) -> String {
    let names: Vec<String> = items
        .iter()
        .map(|item| format!("`{}`", item.as_str().unwrap_or_default()))
        .collect();
    format!("must be one of {}", names.join(", "))
}

fn integer_mistake(value: &Value, schema: &MetaSchema) -> Option<String> {
    let number = value.as_i64().map(|n| n as f64);
    let fits = number.is_some_and(|n| {
        schema.minimum.is_none_or(|min| n >= min) && schema.maximum.is_none_or(|max| n <= max)
    });
    (!fits).then(|| integer_expectation(schema.minimum, schema.maximum))
}

/// How an integer's bounds read to a person.
fn integer_expectation(minimum: Option<f64>, maximum: Option<f64>) -> String {
    match (minimum, maximum) {
        (Some(min), Some(max)) => format!("must be an integer from {min} to {max}"),
        (Some(1.0), None) => "must be a positive integer".to_owned(),
        (Some(min), None) => format!("must be an integer of at least {min}"),
        (None, Some(max)) => format!("must be an integer of at most {max}"),
        (None, None) => "must be an integer".to_owned(),
    }
}

/// One way a body breaks its schema, and how to mend the body.
struct Mistake {
    error: FieldError,
    mend: Mend,
}

/// A change to a body, at JSON pointers.
enum Mend {
    /// Leave out the key of the object at the pointer.
    Remove(Option<String>, String),
    /// Put the value at the pointer (inserting a missing key).
    Set(Option<String>, Value),
}

impl Mistake {
    /// Whether the body could be mended.
    fn mend(&self, body: &mut Value) -> bool {
        match &self.mend {
            Mend::Remove(Some(parent), name) => {
                if let Some(object) = body.pointer_mut(parent).and_then(Value::as_object_mut) {
                    object.remove(name);
                }
                true
            }
            Mend::Set(Some(pointer), value) if !pointer.is_empty() => {
                let (parent, last) = pointer.rsplit_once('/').unwrap_or(("", pointer));
                let key = last.replace("~1", "/").replace("~0", "~");
                match body.pointer_mut(parent) {
                    Some(Value::Object(object)) => {
                        object.insert(key, value.clone());
                        true
                    }
                    Some(Value::Array(items)) => key
                        .parse::<usize>()
                        .ok()
                        .and_then(|index| items.get_mut(index))
                        .map(|item| *item = value.clone())
                        .is_some(),
                    _ => false,
                }
            }
            Mend::Remove(None, _) | Mend::Set(..) => false,
        }
    }
}

/// Where a value is in the body, as a client names it.
enum Path<'p> {
    Root,
    Field(&'p Path<'p>, &'p str),
    Item(&'p Path<'p>, usize),
}

impl Path<'_> {
    /// The JSON pointer of the object holding this field, and its name.
    fn field(&self) -> Option<(Option<String>, String)> {
        match self {
            Path::Field(parent, name) => Some((parent.pointer(), (*name).to_owned())),
            Path::Root | Path::Item(..) => None,
        }
    }

    fn pointer(&self) -> Option<String> {
        match self {
            Path::Root => Some(String::new()),
            Path::Field(parent, name) => {
                let name = name.replace('~', "~0").replace('/', "~1");
                Some(format!("{}/{name}", parent.pointer()?))
            }
            Path::Item(parent, index) => Some(format!("{}/{index}", parent.pointer()?)),
        }
    }
}

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Path::Root => f.write_str("(body)"),
            Path::Field(Path::Root, name) => f.write_str(name),
            Path::Field(parent, name) => write!(f, "{parent}.{name}"),
            Path::Item(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

/// The domain's own rules for a body that has the declared shape: each
/// field is turned into its domain value here, a mistake named by its path.
pub struct Fields {
    prefix: String,
    errors: Vec<FieldError>,
}

impl Fields {
    /// Starts with the mistakes already found in the body's shape.
    pub fn new(errors: Vec<FieldError>) -> Self {
        Self {
            prefix: String::new(),
            errors,
        }
    }

    /// The field `name`'s value, or its error recorded.
    pub fn check<T, E: std::fmt::Display>(
        &mut self,
        name: &str,
        result: Result<T, E>,
    ) -> Option<T> {
        result
            .map_err(|err| self.report(name, err.to_string()))
            .ok()
    }

    /// Records a mistake, unless the field is already named (it may be a
    /// stand-in for a value of the wrong shape).
    pub fn report(&mut self, name: &str, message: impl Into<String>) {
        let field = format!("{}{name}", self.prefix);
        if !self.errors.iter().any(|error| error.field == field) {
            self.errors.push(FieldError::new(field, message));
        }
    }

    /// Reads item `index` of the list `name` with its own path.
    pub fn item<T>(&mut self, name: &str, index: usize, read: impl FnOnce(&mut Self) -> T) -> T {
        let inner = format!("{}{name}[{index}].", self.prefix);
        let outer = std::mem::replace(&mut self.prefix, inner);
        let read = read(self);
        self.prefix = outer;
        read
    }

    /// Whether a mistake has been found.
    pub fn failed(&self) -> bool {
        !self.errors.is_empty()
    }

    /// `value` when nothing was wrong, else every mistake.
    pub fn finish<T>(self, value: Option<T>) -> Result<T, Vec<FieldError>> {
        match value {
            Some(value) if self.errors.is_empty() => Ok(value),
            _ if self.errors.is_empty() => Err(vec![FieldError::new("(body)", "is not valid")]),
            _ => Err(self.errors),
        }
    }
}
