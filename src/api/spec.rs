//! The spec as served: what poem-openapi generates, completed with what it
//! cannot express. Each addition is here with its reason. An addition
//! that finds nothing to add to is an error, not a silent no-op: a renamed
//! path or operation must not quietly lose what it said.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::examples;
use super::operations;
use crate::edge::problem::PROBLEM_CONTENT_TYPE;

const STREAM: &str = "/v1/notifications/stream";
const DELETE_TASKS: &str = "/paths/~1v1~1tasks/delete/parameters";

/// Adds to the generated spec what poem-openapi cannot express; an error
/// names an addition whose place is gone.
pub fn complete(generated: &str) -> Result<String, String> {
    let mut spec = serde_json::from_str::<Value>(generated)
        .map_err(|err| format!("the generated spec is not JSON: {err}"))?;
    close_request_bodies(&mut spec);
    describe_ids(&mut spec)?;
    describe_stream(&mut spec)?;
    add_examples(&mut spec)?;
    Ok(spec.to_string())
}

/// Every request body is read strictly (`schema_check.rs`): a field its
/// schema does not declare is refused. poem-openapi has no way to say
/// `additionalProperties: false`, so every object schema a request body
/// refers to, directly or through another, is closed here; which schemas
/// those are is read from the spec, not listed by name.
fn close_request_bodies(spec: &mut Value) {
    let mut pending: Vec<String> = Vec::new();
    for operations in spec["paths"]
        .as_object()
        .into_iter()
        .flat_map(|p| p.values())
    {
        for operation in operations.as_object().into_iter().flat_map(|o| o.values()) {
            references(&operation["requestBody"], &mut pending);
        }
    }
    let mut closed = BTreeSet::new();
    while let Some(name) = pending.pop() {
        if !closed.insert(name.clone()) {
            continue;
        }
        let Some(schema) = spec["components"]["schemas"].get_mut(&name) else {
            continue;
        };
        references(schema, &mut pending);
        if schema["type"] == "object" {
            schema["additionalProperties"] = Value::Bool(false);
        }
    }
}

/// The component schemas `value` refers to, at any depth.
fn references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            if let Some(name) = object
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            {
                found.push(name.to_owned());
            }
            object.values().for_each(|v| references(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, found)),
        _ => {}
    }
}

/// Each id must be positive, and an absent list has no default: poem-openapi
/// has neither an element validator for an optional list nor a way to leave
/// out the `default` it needs to accept an absent non-exploded list.
fn describe_ids(spec: &mut Value) -> Result<(), String> {
    let parameter = spec
        .pointer_mut(DELETE_TASKS)
        .and_then(Value::as_array_mut)
        .and_then(|parameters| parameters.iter_mut().find(|p| p["name"] == "ids"))
        .ok_or_else(|| format!("no `ids` parameter at {DELETE_TASKS}"))?;
    parameter["schema"]["items"]["minimum"] = json!(1);
    if let Some(schema) = parameter["schema"].as_object_mut() {
        schema.remove("default");
    }
    Ok(())
}

/// The event stream's body is text; `x-event-schema` names the JSON each
/// event's `data` holds (OpenAPI 3.0 has no way to say it; generators
/// ignore `x-` members and treat the body as a string).
fn describe_stream(spec: &mut Value) -> Result<(), String> {
    let pointer = format!(
        "/paths/{}/get/responses/200/content/text~1event-stream",
        STREAM.replace('/', "~1")
    );
    let media = spec
        .pointer_mut(&pointer)
        .ok_or_else(|| format!("no event stream at {pointer}"))?;
    media["x-event-schema"] = json!({"$ref": "#/components/schemas/Notification"});
    Ok(())
}

/// Each error answer shows an example of its own status for its operation
/// (poem-openapi would show the `Problem` schema's one example everywhere),
/// and the health check's 503 shows an unhealthy body.
fn add_examples(spec: &mut Value) -> Result<(), String> {
    let mut health_example = false;
    let paths = spec["paths"]
        .as_object_mut()
        .ok_or("the spec has no paths")?;
    for operation in paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|methods| methods.values_mut())
    {
        let id = operation["operationId"]
            .as_str()
            .map(str::to_owned)
            .ok_or("an operation has no operationId")?;
        let (_, problems) = operations::ALL
            .iter()
            .find(|(op, _)| *op == id)
            .ok_or_else(|| format!("operation `{id}` is not in the operations table"))?;
        for kind in *problems {
            let status = kind.status().as_u16().to_string();
            let media = operation["responses"][&status]["content"]
                .get_mut(PROBLEM_CONTENT_TYPE)
                .ok_or_else(|| format!("operation `{id}` does not declare its {status}"))?;
            let sharing = problems
                .iter()
                .filter(|other| other.status() == kind.status())
                .count();
            if sharing == 1 {
                media["example"] = examples::problem(&id, *kind);
            } else {
                // Several types share the status: a named example of each.
                media["examples"][kind.urn()] = json!({
                    "summary": kind.type_uri(),
                    "value": examples::problem(&id, *kind),
                });
            }
        }
        if id == "get_health" {
            let media = operation
                .pointer_mut("/responses/503/content/application~1json; charset=utf-8")
                .ok_or("get_health does not declare its 503")?;
            media["example"] = examples::unhealthy();
            health_example = true;
        }
    }
    health_example
        .then_some(())
        .ok_or_else(|| "no operation get_health".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_addition_finds_its_place_in_the_generated_spec() {
        let generated = crate::api::openapi().spec();
        let spec: Value = serde_json::from_str(&complete(&generated).unwrap()).unwrap();
        let media =
            &spec["paths"][STREAM]["get"]["responses"]["200"]["content"]["text/event-stream"];
        assert_eq!(
            media["x-event-schema"]["$ref"],
            "#/components/schemas/Notification"
        );
    }

    /// poem-openapi wraps a `$ref` that carries a description or a default
    /// in an `allOf`, and openapi-python-client cannot read an `allOf`
    /// around an enum (it drops the operation or the schema): a field or
    /// parameter of an enum type gets its description from the enum, and
    /// its default in code. `make test`'s clients step would fail too, but
    /// much later.
    #[test]
    fn the_spec_has_no_all_of_for_generators_to_trip_on() {
        let spec = complete(&crate::api::openapi().spec()).unwrap();
        assert!(!spec.contains("\"allOf\""), "an allOf in the spec");
    }

    #[test]
    fn an_addition_whose_place_is_gone_is_an_error() {
        let generated = crate::api::openapi().spec();
        let renamed = generated.replace(STREAM, "/v1/notifications/events");
        assert!(complete(&renamed).unwrap_err().contains("event stream"));
        let renamed = generated.replace("\"get_health\"", "\"health\"");
        assert!(complete(&renamed).is_err());
    }

    #[test]
    fn every_schema_a_request_body_reaches_is_closed_and_no_other() {
        let generated = r##"{"paths": {"/a": {"post": {
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Outer"}}}},
                "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Answer"}}}}}}}},
            "components": {"schemas": {
                "Outer": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Renamed"}}}},
                "Renamed": {"type": "object", "properties": {"at": {"allOf": [{"$ref": "#/components/schemas/Deep"}]}}},
                "Deep": {"type": "object"},
                "Answer": {"type": "object"}}}}"##;
        let mut spec: Value = serde_json::from_str(generated).unwrap();
        close_request_bodies(&mut spec);
        let schemas = &spec["components"]["schemas"];
        for name in ["Outer", "Renamed", "Deep"] {
            assert_eq!(schemas[name]["additionalProperties"], false, "{name}");
        }
        assert!(schemas["Answer"].get("additionalProperties").is_none());
    }
}
