//! Every parameter and header the spec declares is held to its declared
//! form: a value just outside it is a 400 naming it, never read some other
//! way (Rust's integer parsing takes `+2`; a list parser may skip an empty
//! element). The cases come from the spec itself, so a new parameter is
//! walked too.

use chrono::DateTime;
use regex::Regex;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::{Value, json};

use crate::common::{Backend, TestApp, json_body, spawn_app};

/// A value of the declared form for each string parameter: the base the
/// near misses are made from.
fn valid_example(name: &str) -> Option<&'static str> {
    Some(match name {
        "cursor" => "dDoy",
        "Idempotency-Key" => "5f1c2d9e-rent",
        "If-Match" | "If-None-Match" => "\"1795858190716014\"",
        "Last-Event-ID" => "5",
        "expires_before" | "expires_after" => "2099-01-01T00:00:00Z",
        // Free text up to a length: only its bounds are a form.
        "q" => "rent",
        _ => return None,
    })
}

/// The schema a parameter's `$ref` (or `allOf: [{$ref}, …]`, as
/// poem-openapi writes one with a default) points to.
fn resolved<'a>(schema: &'a Value, spec: &'a Value) -> &'a Value {
    let reference = schema["$ref"]
        .as_str()
        .or_else(|| schema["allOf"][0]["$ref"].as_str());
    match reference.and_then(|r| r.strip_prefix("#/components/schemas/")) {
        Some(name) => &spec["components"]["schemas"][name],
        None => schema,
    }
}

/// Values just outside the schema's declared form.
fn near_misses(name: &str, schema: &Value, place: &str, spec: &Value) -> Vec<String> {
    let schema = resolved(schema, spec);
    let number = |key: &str| schema[key].as_f64().map(|n| n as i64);
    let mut misses: Vec<String> = match schema["type"].as_str() {
        // An enum: each value miswritten, and none at all.
        Some("string") if schema["enum"].is_array() => {
            let values: Vec<&str> = schema["enum"]
                .as_array()
                .unwrap()
                .iter()
                .map(|value| value.as_str().unwrap())
                .collect();
            let mut misses = vec![String::new(), "x".to_owned()];
            for value in &values {
                misses.extend([
                    value.to_uppercase(),
                    format!("{value} "),
                    format!(" {value}"),
                    format!("{value},{value}"),
                    format!("{value}s"),
                ]);
            }
            misses.retain(|miss| !values.contains(&miss.as_str()));
            misses
        }
        Some("integer") => {
            let mut misses: Vec<String> = ["+1", "01", "1.5", "1e2", "0x1", " 1", "1 ", ""]
                .map(str::to_owned)
                .to_vec();
            misses.extend(number("minimum").map(|min| (min - 1).to_string()));
            misses.extend(number("maximum").map(|max| (max + 1).to_string()));
            misses
        }
        Some("boolean") => ["TRUE", "1", "yes", ""].map(str::to_owned).to_vec(),
        Some("array") if schema["items"]["type"] == "integer" => {
            let mut misses: Vec<String> = ["", "+1", "01", "1,,2", "1,", ",1", "1, 2"]
                .map(str::to_owned)
                .to_vec();
            misses.extend(
                schema["items"]["minimum"]
                    .as_i64()
                    .map(|min| (min - 1).to_string()),
            );
            misses
        }
        // Strings whose rule the schema cannot state (`label`: 1 to 64
        // characters once trimmed, no control characters; its description
        // says so): empty, blank, a control character, one too many.
        Some("array") if schema["items"]["type"] == "string" => {
            vec![
                String::new(),
                "  ".to_owned(),
                "a\u{7}".to_owned(),
                "x".repeat(65),
            ]
        }
        Some("string") => {
            let base = valid_example(name)
                .unwrap_or_else(|| panic!("forms.rs: add a valid example for `{name}`"));
            let pattern = schema["pattern"]
                .as_str()
                .map(|pattern| Regex::new(pattern).unwrap());
            let max = schema["maxLength"].as_u64().map(|n| n as usize);
            let is_time = schema["format"] == "date-time";
            let outside = |value: &String| {
                pattern.as_ref().is_some_and(|p| !p.is_match(value))
                    || max.is_some_and(|max| value.chars().count() > max)
                    || value.is_empty()
                    || (is_time && DateTime::parse_from_rfc3339(value).is_err())
            };
            assert!(!outside(&base.to_owned()), "{name}: the example is outside");
            let long = base.repeat(max.unwrap_or(256) / base.len() + 2);
            [
                format!("+{base}"),
                format!("{base}é"),
                format!("{base} x"),
                format!("{base},"),
                format!(",{base}"),
                format!("{base},,{base}"),
                format!("0{base}"),
                base.replace('"', ""),
                base.trim_end_matches('Z').to_owned(),
                long,
                String::new(),
            ]
            .into_iter()
            .filter(outside)
            .collect()
        }
        other => panic!("forms.rs: no near misses for {name} of type {other:?}"),
    };
    // HTTP strips white space around a header value: the server never sees
    // it. An empty path segment is another path, not a value.
    match place {
        "header" => misses.retain(|value| value.trim() == value),
        "path" => misses.retain(|value| !value.is_empty()),
        _ => {}
    }
    misses.sort();
    misses.dedup();
    misses
}

/// A body the operation accepts, so that only the parameter is wrong.
fn body_for(operation: &str, id: i64) -> Option<Value> {
    match operation {
        "create_task" | "replace_task" | "patch_task" => Some(json!({"title": "x"})),
        "replace_tasks" => Some(json!({"tasks": [{"id": id, "title": "x"}]})),
        _ => None,
    }
}

/// One parameter of one operation.
struct Parameter<'a> {
    method: &'a str,
    path: &'a str,
    operation: &'a str,
    place: &'a str,
    name: &'a str,
}

/// The operation, with `value` for this parameter and valid everything else.
async fn send(app: &TestApp, id: i64, parameter: &Parameter<'_>, value: &str) -> reqwest::Response {
    let Parameter {
        method,
        path,
        operation,
        place,
        name,
    } = *parameter;
    let mut url = url::Url::parse(&app.url("/")).unwrap();
    let filled = match place {
        "path" => path.replace(&format!("{{{name}}}"), value),
        _ => path.replace("{id}", &id.to_string()),
    };
    url.set_path(&filled);
    if place == "query" {
        url.query_pairs_mut().append_pair(name, value);
    }
    let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let mut request = app.client.request(method, url);
    if place == "header" {
        request = request.header(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_bytes(value.as_bytes()).unwrap(),
        );
    }
    if let Some(body) = body_for(operation, id) {
        request = request.json(&body);
    }
    request.send().await.expect("request sent")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_declared_parameter_and_header_refuses_a_value_just_outside_its_form() {
    let app = spawn_app(Backend::Sqlite).await;
    let task = app.create_task(json!({"title": "keep me"})).await;
    let id = task["id"].as_i64().unwrap();
    let spec = json_body(app.get("/openapi.json").await, 200).await;
    let mut walked = 0;
    for (path, operations) in spec["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let operation_id = operation["operationId"].as_str().unwrap();
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let name = parameter["name"].as_str().unwrap();
                let place = parameter["in"].as_str().unwrap();
                let misses = near_misses(name, &parameter["schema"], place, &spec);
                assert!(!misses.is_empty(), "{operation_id} {name}: nothing to try");
                let parameter = Parameter {
                    method,
                    path,
                    operation: operation_id,
                    place,
                    name,
                };
                for value in misses {
                    let response = send(&app, id, &parameter, &value).await;
                    let status = response.status();
                    let body = response.text().await.unwrap_or_default();
                    assert_eq!(
                        status, 400,
                        "{operation_id} {place} {name}={value:?}: {body}"
                    );
                    let problem: Value = serde_json::from_str(&body).unwrap();
                    let named = problem["errors"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|e| e["field"] == name);
                    assert!(named, "{operation_id} {place} {name}={value:?}: {problem}");
                    walked += 1;
                }
            }
        }
    }
    assert!(walked > 100, "only {walked} cases");
    // Nothing was changed or deleted on the way.
    let stored = json_body(app.get(&format!("/v1/tasks/{id}")).await, 200).await;
    assert_eq!(stored, task);
}
