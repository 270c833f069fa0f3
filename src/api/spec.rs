//! The spec as served: what poem-openapi generates, plus what it cannot
//! express, and the method table that 405 answers list in `Allow`.

use serde_json::{Value, json};

/// Request bodies that refuse unknown fields (`deny_unknown_fields`);
/// poem-openapi does not say so in the spec.
const CLOSED_SCHEMAS: &[&str] = &[
    "TaskInput",
    "TaskPatch",
    "TaskReplacement",
    "TaskReplacements",
];

const STREAM_PATH: &str = "/v1/notifications/stream";

/// Adds to the generated spec what poem-openapi cannot express.
pub fn complete(generated: &str) -> String {
    let Ok(mut spec) = serde_json::from_str::<Value>(generated) else {
        return generated.to_owned();
    };
    for name in CLOSED_SCHEMAS {
        if let Some(schema) = spec.pointer_mut(&format!("/components/schemas/{name}")) {
            schema["additionalProperties"] = Value::Bool(false);
        }
    }
    // Each id must be positive; poem-openapi has no element validators for
    // an optional list (the handler checks them).
    if let Some(parameters) = spec
        .pointer_mut("/paths/~1v1~1tasks/delete/parameters")
        .and_then(Value::as_array_mut)
    {
        for parameter in parameters.iter_mut().filter(|p| p["name"] == "ids") {
            parameter["schema"]["items"]["minimum"] = json!(1);
            // `default` there only keeps poem-openapi from panicking on an
            // absent list; `null` is no default for an array.
            if let Some(schema) = parameter["schema"].as_object_mut() {
                schema.remove("default");
            }
        }
    }
    // poem-openapi describes an event stream as an array; OpenAPI's SSE
    // convention (and contract tools) read the schema as one event.
    let events = format!(
        "/paths/{}/get/responses/200/content/text~1event-stream/schema",
        STREAM_PATH.replace('/', "~1")
    );
    if let Some(schema) = spec.pointer_mut(&events) {
        *schema = json!({
            "type": "object",
            "description": "One Server-Sent Event: `data` is a Notification as JSON.",
            "required": ["data"],
            "properties": {
                "data": {
                    "type": "string",
                    "contentMediaType": "application/json",
                    "contentSchema": {"$ref": "#/components/schemas/Notification"}
                },
                "event": {"type": "string"},
                "id": {"type": "string"},
                "retry": {"type": "integer"}
            }
        });
    }
    spec.to_string()
}

/// Which methods each path of the spec allows.
#[derive(Clone, Debug, Default)]
pub struct MethodTable {
    paths: Vec<(Vec<String>, String)>,
}

impl MethodTable {
    pub fn from_spec(spec: &str) -> Self {
        let spec: Value = serde_json::from_str(spec).unwrap_or_default();
        let paths = spec["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(path, operations)| {
                let declared = operations.as_object();
                let has = |method: &str| declared.is_some_and(|ops| ops.contains_key(method));
                // A fixed order, whatever order the spec's object keeps.
                let methods: Vec<&str> = ["get", "post", "put", "patch", "delete"]
                    .into_iter()
                    .filter(|method| has(method))
                    .chain(has("get").then_some("head"))
                    .collect();
                (segments(path), methods.join(", ").to_uppercase())
            })
            .collect();
        Self { paths }
    }

    /// The `Allow` value for a request path, if the spec has it.
    pub fn allowed(&self, path: &str) -> Option<&str> {
        let wanted = segments(path);
        self.paths
            .iter()
            .find(|(template, _)| {
                template.len() == wanted.len()
                    && template
                        .iter()
                        .zip(&wanted)
                        .all(|(t, w)| t == w || (t.starts_with('{') && !w.is_empty()))
            })
            .map(|(_, methods)| methods.as_str())
    }
}

fn segments(path: &str) -> Vec<String> {
    path.trim_end_matches('/')
        .split('/')
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"{"paths": {
        "/v1/tasks": {"get": {}, "post": {}},
        "/v1/tasks/{id}": {"get": {}, "delete": {}},
        "/v1/tasks/{id}/notifications": {"get": {}}
    }}"#;

    #[test]
    fn paths_with_parameters_are_matched_by_segment() {
        let table = MethodTable::from_spec(SPEC);
        assert_eq!(table.allowed("/v1/tasks"), Some("GET, POST, HEAD"));
        assert_eq!(table.allowed("/v1/tasks/42"), Some("GET, DELETE, HEAD"));
        assert_eq!(
            table.allowed("/v1/tasks/42/notifications"),
            Some("GET, HEAD")
        );
        assert_eq!(table.allowed("/v1/nothing"), None);
    }

    #[test]
    fn request_bodies_are_closed_and_the_stream_describes_one_event() {
        let generated = r#"{"components": {"schemas": {"TaskInput": {"type": "object"}}},
            "paths": {"/v1/notifications/stream": {"get": {"responses": {"200": {"content":
            {"text/event-stream": {"schema": {"type": "array"}}}}}}}}}"#;
        let spec: Value = serde_json::from_str(&complete(generated)).unwrap();
        assert_eq!(
            spec["components"]["schemas"]["TaskInput"]["additionalProperties"],
            false
        );
        let events = &spec["paths"]["/v1/notifications/stream"]["get"]["responses"]["200"]["content"]
            ["text/event-stream"]["schema"];
        assert_eq!(events["type"], "object");
    }
}
