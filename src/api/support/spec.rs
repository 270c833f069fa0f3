//! The spec as served: what poem-openapi generates, completed with what it
//! cannot express. Each addition is here with its reason.

use serde_json::{Value, json};

use super::super::examples;
use super::super::operations;
use super::super::problem::PROBLEM_CONTENT_TYPE;

/// Request bodies refuse unknown fields (`input.rs`); poem-openapi has no
/// way to say `additionalProperties: false`.
const CLOSED_SCHEMAS: &[&str] = &[
    "TaskInput",
    "TaskPatch",
    "TaskReplacement",
    "TaskReplacements",
    "TaskUpdate",
];

const STREAM: &str = "/v1/notifications/stream";

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
    describe_ids(&mut spec);
    describe_stream(&mut spec);
    add_examples(&mut spec);
    spec.to_string()
}

/// Each id must be positive, and an absent list has no default: poem-openapi
/// has neither an element validator for an optional list nor a way to leave
/// out the `default` it needs to accept an absent non-exploded list.
fn describe_ids(spec: &mut Value) {
    let Some(parameters) = spec
        .pointer_mut("/paths/~1v1~1tasks/delete/parameters")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for parameter in parameters.iter_mut().filter(|p| p["name"] == "ids") {
        parameter["schema"]["items"]["minimum"] = json!(1);
        if let Some(schema) = parameter["schema"].as_object_mut() {
            schema.remove("default");
        }
    }
}

/// The event stream's body is text; `x-event-schema` names the JSON each
/// event's `data` holds (OpenAPI 3.0 has no way to say it; generators
/// ignore `x-` members and treat the body as a string).
fn describe_stream(spec: &mut Value) {
    let pointer = format!(
        "/paths/{}/get/responses/200/content/text~1event-stream",
        STREAM.replace('/', "~1")
    );
    if let Some(media) = spec.pointer_mut(&pointer) {
        media["x-event-schema"] = json!({"$ref": "#/components/schemas/Notification"});
    }
}

/// Each error answer shows an example of its own status for its operation
/// (poem-openapi would show the `Problem` schema's one example everywhere),
/// and the health check's 503 shows an unhealthy body.
fn add_examples(spec: &mut Value) {
    let Some(paths) = spec["paths"].as_object_mut() else {
        return;
    };
    for operations_of_path in paths.values_mut() {
        let Some(methods) = operations_of_path.as_object_mut() else {
            continue;
        };
        for operation in methods.values_mut() {
            let Some(id) = operation["operationId"].as_str().map(str::to_owned) else {
                continue;
            };
            let Some((_, problems)) = operations::ALL.iter().find(|(op, _)| *op == id) else {
                continue;
            };
            for kind in *problems {
                let status = kind.status().as_u16().to_string();
                let media = &mut operation["responses"][&status]["content"][PROBLEM_CONTENT_TYPE];
                if !media.is_object() {
                    continue;
                }
                let sharing: Vec<_> = problems
                    .iter()
                    .filter(|other| other.status() == kind.status())
                    .collect();
                if sharing.len() == 1 {
                    media["example"] = examples::problem(&id, *kind);
                } else {
                    // Several types share the status: a named example of each.
                    media["examples"][kind.urn()] = json!({
                        "summary": kind.type_uri(),
                        "value": examples::problem(&id, *kind),
                    });
                }
            }
            if id == "get_health"
                && let Some(media) =
                    operation.pointer_mut("/responses/503/content/application~1json; charset=utf-8")
            {
                media["example"] = examples::unhealthy();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bodies_are_closed_and_the_stream_names_its_event() {
        let generated = r#"{"components": {"schemas": {"TaskInput": {"type": "object"}}},
            "paths": {"/v1/notifications/stream": {"get": {"responses": {"200": {"content":
            {"text/event-stream": {"schema": {"type": "string"}}}}}}}}}"#;
        let spec: Value = serde_json::from_str(&complete(generated)).unwrap();
        assert_eq!(
            spec["components"]["schemas"]["TaskInput"]["additionalProperties"],
            false
        );
        let media = &spec["paths"]["/v1/notifications/stream"]["get"]["responses"]["200"]["content"]
            ["text/event-stream"];
        assert_eq!(
            media["x-event-schema"]["$ref"],
            "#/components/schemas/Notification"
        );
    }
}
