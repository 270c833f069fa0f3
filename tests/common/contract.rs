//! Strict validation of real responses against the served spec.
//!
//! The spec is OpenAPI 3.0, whose schemas are JSON Schema draft 4 plus
//! `nullable`. Each schema is rewritten once into plain draft 4
//! (`nullable` becomes a `null` alternative) and made strict: every object
//! schema that lists its properties refuses any other property, so a field
//! the server sends but the spec does not declare fails, as it would in a
//! strict generated client.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

pub struct SpecValidator {
    spec: Value,
    /// `components`, rewritten; every response schema is checked with it.
    components: Value,
    /// `(operationId, status)` pairs a response has been checked for.
    seen: std::sync::Mutex<BTreeSet<(String, u16)>>,
}

impl SpecValidator {
    pub fn new(spec: Value) -> Self {
        let mut components = spec["components"].clone();
        strict(&mut components);
        Self {
            spec,
            components,
            seen: Default::default(),
        }
    }

    /// Checks one response: the operation declares its status, the content
    /// type is the declared one, and the body is valid for the declared
    /// schema. Panics with the whole story when not.
    pub fn check(
        &self,
        method: &str,
        template: &str,
        status: u16,
        content_type: &str,
        body: &[u8],
    ) {
        let operation = &self.spec["paths"][template][method.to_ascii_lowercase()];
        let id = operation["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("the spec has no operation {method} {template}"));
        let declared = &operation["responses"][status.to_string()];
        assert!(
            declared.is_object(),
            "{id} answered {status}, which the spec does not declare for it: {}",
            String::from_utf8_lossy(body)
        );
        self.seen.lock().unwrap().insert((id.to_owned(), status));
        let content = declared["content"].as_object();
        let Some(content) = content.filter(|content| !content.is_empty()) else {
            assert!(
                body.is_empty(),
                "{id} {status}: the spec declares no body, the server sent {}",
                String::from_utf8_lossy(body)
            );
            return;
        };
        let media = content_type.split(';').next().unwrap_or("").trim();
        let (_, declared_media) = content
            .iter()
            .find(|(name, _)| name.split(';').next().unwrap_or("").trim() == media)
            .unwrap_or_else(|| {
                panic!(
                    "{id} {status}: content type {content_type} is not one the spec declares ({:?})",
                    content.keys().collect::<Vec<_>>()
                )
            });
        if media == "text/event-stream" {
            return;
        }
        let value: Value = serde_json::from_slice(body).unwrap_or_else(|err| {
            panic!(
                "{id} {status}: body is not JSON ({err}): {}",
                String::from_utf8_lossy(body)
            )
        });
        self.validate(id, status, &declared_media["schema"], &value);
    }

    /// Validates one instance against a schema of the spec (e.g. an event
    /// of the stream against its `x-event-schema`).
    pub fn validate(&self, id: &str, status: u16, schema: &Value, value: &Value) {
        let mut schema = schema.clone();
        strict(&mut schema);
        let root = json!({"components": self.components, "allOf": [schema]});
        let validator = jsonschema::draft4::new(&root)
            .unwrap_or_else(|err| panic!("{id} {status}: the schema does not compile: {err}"));
        let errors: Vec<String> = validator
            .iter_errors(value)
            .map(|err| format!("{} at {}", err, err.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{id} {status}: the body does not match the spec:\n  {}\nbody: {value}",
            errors.join("\n  ")
        );
    }

    /// Every `(operationId, status)` the spec declares that no checked
    /// response had.
    pub fn unseen(&self) -> BTreeSet<(String, u16)> {
        let seen = self.seen.lock().unwrap();
        let mut unseen = BTreeSet::new();
        for ops in self.spec["paths"]
            .as_object()
            .into_iter()
            .flat_map(Map::values)
        {
            for operation in ops.as_object().into_iter().flat_map(Map::values) {
                let id = operation["operationId"].as_str().unwrap_or_default();
                for status in operation["responses"]
                    .as_object()
                    .into_iter()
                    .flat_map(Map::keys)
                {
                    let key = (id.to_owned(), status.parse().unwrap_or_default());
                    if !seen.contains(&key) {
                        unseen.insert(key);
                    }
                }
            }
        }
        unseen
    }
}

/// Rewrites OpenAPI 3.0 schema objects, in place and at any depth, into
/// strict draft 4.
fn strict(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for child in map.values_mut() {
                strict(child);
            }
            if map.get("nullable") == Some(&Value::Bool(true)) {
                map.remove("nullable");
                if let Some(Value::String(kind)) = map.get("type").cloned() {
                    map.insert("type".into(), json!([kind, "null"]));
                    if let Some(Value::Array(values)) = map.get_mut("enum") {
                        values.push(Value::Null);
                    }
                } else {
                    let schema = Value::Object(std::mem::take(map));
                    map.insert("anyOf".into(), json!([schema, {"type": "null"}]));
                }
            }
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strict),
        _ => {}
    }
}
