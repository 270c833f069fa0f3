//! Reading request bodies into the domain: each field checked by the
//! domain's own rules, every mistake reported at once, by field name.

use serde_json::{Map, Value};

use super::problem::FieldError;
use super::time::parse_rfc3339;
use crate::domain::{
    Description, TaskDraft, TaskId, TaskPatch, Timestamp, Title, TitleEdit, ValidationError,
};

const STRING: &str = "must be a string";
const TIME: &str =
    "must be a string holding an RFC 3339 date-time with an offset, e.g. 2026-01-01T10:00:00+08:00";

/// One JSON object of a request body, read field by field; whatever is
/// wrong is collected as a [`FieldError`] named by its path.
pub struct Fields<'e> {
    object: Map<String, Value>,
    prefix: String,
    errors: &'e mut Vec<FieldError>,
}

/// A field as sent: left out, `null`, or a value.
pub enum Sent<T> {
    Absent,
    Null,
    Value(T),
}

impl<'e> Fields<'e> {
    /// `None` (with an error) when `value` is not an object.
    pub fn of(value: Value, prefix: &str, errors: &'e mut Vec<FieldError>) -> Option<Self> {
        match value {
            Value::Object(object) => Some(Self {
                object,
                prefix: prefix.to_owned(),
                errors,
            }),
            _ => {
                let at = if prefix.is_empty() {
                    "(body)"
                } else {
                    prefix.trim_end_matches('.')
                };
                errors.push(FieldError::new(at, "must be a JSON object"));
                None
            }
        }
    }

    fn path(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn error(&mut self, name: &str, message: impl Into<String>) {
        let field = self.path(name);
        self.errors.push(FieldError::new(field, message));
    }

    pub fn take(&mut self, name: &str) -> Sent<Value> {
        match self.object.remove(name) {
            None => Sent::Absent,
            Some(Value::Null) => Sent::Null,
            Some(value) => Sent::Value(value),
        }
    }

    /// A string field; `None` if absent, null or not a string (the last an error).
    fn string(&mut self, name: &str) -> Sent<String> {
        match self.take(name) {
            Sent::Absent => Sent::Absent,
            Sent::Null => Sent::Null,
            Sent::Value(Value::String(text)) => Sent::Value(text),
            Sent::Value(_) => {
                self.error(name, STRING);
                Sent::Absent
            }
        }
    }

    fn time(&mut self, name: &str) -> Sent<Timestamp> {
        match self.take(name) {
            Sent::Absent => Sent::Absent,
            Sent::Null => Sent::Null,
            Sent::Value(Value::String(text)) => match parse_rfc3339(&text) {
                Some(time) => match Timestamp::parse(time) {
                    Ok(time) => Sent::Value(time),
                    Err(err) => {
                        self.error(name, err.to_string());
                        Sent::Absent
                    }
                },
                None => {
                    self.error(name, TIME);
                    Sent::Absent
                }
            },
            Sent::Value(_) => {
                self.error(name, TIME);
                Sent::Absent
            }
        }
    }

    fn check<T>(&mut self, name: &str, result: Result<T, ValidationError>) -> Option<T> {
        result.map_err(|err| self.error(name, err.to_string())).ok()
    }

    /// The title of a create: required, never null.
    pub fn title(&mut self) -> Option<Title> {
        match self.string("title") {
            Sent::Value(text) => self.check("title", Title::parse(&text)),
            Sent::Null | Sent::Absent => {
                self.require_title();
                None
            }
        }
    }

    /// The title of a change: left out, it stays; never null. Text that
    /// breaks the rules is kept for the store, which accepts it only as the
    /// stored title sent back unchanged.
    pub fn title_edit(&mut self) -> Option<Option<TitleEdit>> {
        match self.string("title") {
            Sent::Value(text) => Some(Some(TitleEdit::parse(text))),
            Sent::Absent => Some(None),
            Sent::Null => {
                self.require_title();
                None
            }
        }
    }

    fn require_title(&mut self) {
        if !self.errors.iter().any(|e| e.field == self.path("title")) {
            self.error("title", ValidationError::Required.to_string());
        }
    }

    /// Whether the request is refused anyway: an error so far, or a field
    /// not read (which [`Fields::finish`] will report).
    fn refused(&self) -> bool {
        !self.errors.is_empty() || !self.object.is_empty()
    }

    pub fn description(&mut self) -> Option<Sent<Description>> {
        match self.string("description") {
            Sent::Value(text) => self
                .check("description", Description::parse(text))
                .map(Sent::Value),
            Sent::Null => Some(Sent::Null),
            Sent::Absent => Some(Sent::Absent),
        }
    }

    pub fn expiry(&mut self) -> Sent<Timestamp> {
        self.time("expiry_dt")
    }

    pub fn id(&mut self) -> Option<TaskId> {
        match self.take("id") {
            Sent::Value(Value::Number(n)) => match n.as_i64() {
                Some(raw) => self.check("id", TaskId::parse(raw)),
                None => {
                    self.error("id", ValidationError::IdNotPositive.to_string());
                    None
                }
            },
            Sent::Absent | Sent::Null => {
                self.error("id", ValidationError::Required.to_string());
                None
            }
            Sent::Value(_) => {
                self.error("id", "must be a positive integer");
                None
            }
        }
    }

    /// The array field `name`, each item handed on with its index.
    pub fn array(&mut self, name: &str) -> Option<Vec<Value>> {
        match self.take(name) {
            Sent::Value(Value::Array(items)) => Some(items),
            Sent::Value(_) | Sent::Null => {
                self.error(name, "must be an array");
                None
            }
            Sent::Absent => {
                self.error(name, ValidationError::Required.to_string());
                None
            }
        }
    }

    /// Reads a nested object (`prefix` is its full path, e.g. `tasks[2].`),
    /// its errors going to the same list.
    pub fn nested<T>(
        &mut self,
        value: Value,
        prefix: &str,
        read: impl FnOnce(&mut Fields<'_>) -> Option<T>,
    ) -> Option<T> {
        let mut nested = Fields::of(value, prefix, self.errors)?;
        let parsed = read(&mut nested);
        nested.finish();
        parsed
    }

    pub fn report(&mut self, name: &str, message: impl Into<String>) {
        self.error(name, message);
    }

    /// Every field not read is unknown: a typo (`expiry` for `expiry_dt`)
    /// must not be ignored.
    pub fn finish(self) {
        let Self {
            object,
            prefix,
            errors,
        } = self;
        for name in object.keys() {
            errors.push(FieldError::new(
                format!("{prefix}{name}"),
                "is not a field of this request; check its spelling",
            ));
        }
    }
}

impl<T> Sent<T> {
    /// Absent or null is no value.
    pub fn into_option(self) -> Option<T> {
        match self {
            Sent::Value(value) => Some(value),
            Sent::Absent | Sent::Null => None,
        }
    }

    /// Merge-patch semantics: absent leaves it, null clears it.
    pub fn into_patch(self) -> Option<Option<T>> {
        match self {
            Sent::Absent => None,
            Sent::Null => Some(None),
            Sent::Value(value) => Some(Some(value)),
        }
    }
}

/// A whole task as a create sends it.
pub fn draft(fields: &mut Fields<'_>) -> Option<TaskDraft> {
    let title = fields.title();
    let description = fields.description();
    let expiry_dt = fields.expiry();
    Some(TaskDraft {
        title: title?,
        description: description?.into_option(),
        expiry_dt: expiry_dt.into_option(),
    })
}

/// A change of a task, as `PATCH` and `PUT` send it: a field left out
/// stays as it is, `null` clears it.
pub fn patch(fields: &mut Fields<'_>) -> Option<TaskPatch> {
    let title = fields.title_edit();
    let description = fields.description();
    let expiry_dt = fields.expiry();
    // Every mistake at once: when the request is refused for another
    // field, a bad title is named too, although it could have been the
    // stored one sent back.
    if let Some(Some(edit)) = &title
        && let Some(err) = edit.invalid()
        && fields.refused()
    {
        let message = err.to_string();
        fields.report("title", message);
    }
    Some(TaskPatch {
        title: title?,
        description: description?.into_patch(),
        expiry_dt: expiry_dt.into_patch(),
    })
}

/// Reads `value` as one object with `read`, collecting every error.
pub fn read_object<T>(
    value: Value,
    read: impl FnOnce(&mut Fields<'_>) -> Option<T>,
) -> Result<T, Vec<FieldError>> {
    let mut errors = Vec::new();
    let parsed = Fields::of(value, "", &mut errors).and_then(|mut fields| {
        let parsed = read(&mut fields);
        fields.finish();
        parsed
    });
    match parsed {
        Some(parsed) if errors.is_empty() => Ok(parsed),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields_of(errors: &[FieldError]) -> Vec<(&str, &str)> {
        errors
            .iter()
            .map(|e| (e.field.as_str(), e.message.as_str()))
            .collect()
    }

    #[test]
    fn every_wrong_field_is_named_with_what_it_should_be() {
        let errors = read_object(
            json!({"title": 5, "expiry_dt": "2026-12-01T10:00:00", "expiry": "x"}),
            draft,
        )
        .unwrap_err();
        assert_eq!(
            fields_of(&errors),
            vec![
                ("title", STRING),
                ("expiry_dt", TIME),
                (
                    "expiry",
                    "is not a field of this request; check its spelling"
                ),
            ]
        );
    }

    #[test]
    fn a_patch_tells_absent_from_null() {
        let patch = read_object(json!({"description": null}), patch).unwrap();
        assert_eq!(patch.description, Some(None));
        assert_eq!(patch.expiry_dt, None);
        assert_eq!(patch.title, None);
        let errors = read_object(json!({"title": null}), super::patch).unwrap_err();
        assert_eq!(
            fields_of(&errors),
            vec![("title", "is required and may not be null")]
        );
    }

    #[test]
    fn a_body_that_is_not_an_object_is_refused() {
        let errors = read_object(json!([1]), draft).unwrap_err();
        assert_eq!(
            fields_of(&errors),
            vec![("(body)", "must be a JSON object")]
        );
    }
}
