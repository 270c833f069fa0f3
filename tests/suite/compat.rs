//! Clients generated from an earlier spec keep working: the served spec
//! may add operations, optional parameters, optional request fields,
//! answers and response fields, but may not remove or retype what an
//! earlier spec promised, nor require what it did not. Each earlier
//! release's spec is kept in `openapi/previous/`.

use serde_json::Value;

use crate::common::{Backend, json_body, spawn_app};

/// Every released spec, oldest first; add the committed one here whenever a
/// change to the API lands.
const PREVIOUS: &[&str] = &[
    include_str!("../../openapi/previous/2026-11-28.json"),
    include_str!("../../openapi/previous/2026-12-06.json"),
    // The spec as stop 22 left it (commit 76e2d0f), before completion and
    // priorities; the old generated clients are made from it too.
    include_str!("../clients-previous/openapi.json"),
];

/// Follows a `$ref` within the spec.
fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(pointer) => spec
            .pointer(pointer.trim_start_matches('#'))
            .unwrap_or(&Value::Null),
        None => schema,
    }
}

fn required(schema: &Value) -> Vec<&str> {
    schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// What an old client sends must still be accepted: no new required
/// field, no field it may send gone, no type changed.
fn check_request(at: &str, old: (&Value, &Value), new: (&Value, &Value), breaks: &mut Vec<String>) {
    let (old_spec, old_schema) = (old.0, resolve(old.0, old.1));
    let (new_spec, new_schema) = (new.0, resolve(new.0, new.1));
    for field in required(new_schema) {
        if !required(old_schema).contains(&field) {
            breaks.push(format!("{at}: `{field}` is newly required"));
        }
    }
    for (field, was) in old_schema["properties"].as_object().into_iter().flatten() {
        let now = &new_schema["properties"][field];
        if now.is_null() {
            breaks.push(format!("{at}: `{field}` is no longer accepted"));
        } else if resolve(old_spec, was)["type"] != resolve(new_spec, now)["type"] {
            breaks.push(format!("{at}: `{field}` changed type"));
        }
    }
}

/// What an old client reads must still be there: every field it was
/// promised, of the same type (nested objects too).
fn check_response(
    at: &str,
    old: (&Value, &Value),
    new: (&Value, &Value),
    breaks: &mut Vec<String>,
) {
    let (old_spec, old_schema) = (old.0, resolve(old.0, old.1));
    let (new_spec, new_schema) = (new.0, resolve(new.0, new.1));
    if old_schema["type"] != new_schema["type"] {
        breaks.push(format!("{at}: changed type"));
        return;
    }
    if old_schema["type"] == "array" {
        check_response(
            &format!("{at}[]"),
            (old_spec, &old_schema["items"]),
            (new_spec, &new_schema["items"]),
            breaks,
        );
    }
    for field in required(old_schema) {
        if !required(new_schema).contains(&field) {
            breaks.push(format!("{at}: `{field}` may now be missing"));
        }
    }
    for (field, was) in old_schema["properties"].as_object().into_iter().flatten() {
        let now = &new_schema["properties"][field];
        if now.is_null() {
            breaks.push(format!("{at}: `{field}` is gone"));
            continue;
        }
        if was["nullable"] != Value::Bool(true) && now["nullable"] == Value::Bool(true) {
            breaks.push(format!("{at}: `{field}` may now be null"));
        }
        check_response(
            &format!("{at}.{field}"),
            (old_spec, was),
            (new_spec, now),
            breaks,
        );
    }
}

fn compare(old: &Value, new: &Value) -> Vec<String> {
    let mut breaks = Vec::new();
    for (path, operations) in old["paths"].as_object().into_iter().flatten() {
        for (method, was) in operations.as_object().into_iter().flatten() {
            let at = format!("{} {path}", method.to_uppercase());
            let now = &new["paths"][path][method];
            if now.is_null() {
                breaks.push(format!("{at}: gone"));
                continue;
            }
            if was["operationId"] != now["operationId"] {
                breaks.push(format!("{at}: operationId changed"));
            }
            let parameters = |op: &Value| -> Vec<Value> {
                op["parameters"].as_array().cloned().unwrap_or_default()
            };
            for parameter in parameters(now) {
                let before = parameters(was)
                    .into_iter()
                    .find(|p| p["name"] == parameter["name"] && p["in"] == parameter["in"]);
                match before {
                    None if parameter["required"] == true => {
                        breaks.push(format!(
                            "{at}: parameter {} is new and required",
                            parameter["name"]
                        ));
                    }
                    Some(before) if before["schema"]["type"] != parameter["schema"]["type"] => {
                        breaks.push(format!(
                            "{at}: parameter {} changed type",
                            parameter["name"]
                        ));
                    }
                    _ => {}
                }
            }
            for parameter in parameters(was) {
                let kept = parameters(now)
                    .iter()
                    .any(|p| p["name"] == parameter["name"] && p["in"] == parameter["in"]);
                if !kept {
                    breaks.push(format!("{at}: parameter {} is gone", parameter["name"]));
                }
            }
            for (media, body) in was["requestBody"]["content"]
                .as_object()
                .into_iter()
                .flatten()
            {
                let now_body = &now["requestBody"]["content"][media];
                if now_body.is_null() {
                    breaks.push(format!("{at}: no longer takes {media}"));
                    continue;
                }
                check_request(
                    &at,
                    (old, &body["schema"]),
                    (new, &now_body["schema"]),
                    &mut breaks,
                );
            }
            for (status, answer) in was["responses"].as_object().into_iter().flatten() {
                let now_answer = &now["responses"][status];
                if now_answer.is_null() {
                    breaks.push(format!("{at}: no longer declares {status}"));
                    continue;
                }
                for (media, content) in answer["content"].as_object().into_iter().flatten() {
                    let now_content = &now_answer["content"][media];
                    if now_content.is_null() {
                        breaks.push(format!("{at} {status}: no longer answers {media}"));
                        continue;
                    }
                    check_response(
                        &format!("{at} {status}"),
                        (old, &content["schema"]),
                        (new, &now_content["schema"]),
                        &mut breaks,
                    );
                }
            }
        }
    }
    breaks
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_of_every_earlier_spec_keep_working() {
    let app = spawn_app(Backend::Sqlite).await;
    let served = json_body(app.get("/openapi.json").await, 200).await;
    for previous in PREVIOUS {
        let previous: Value = serde_json::from_str(previous).expect("a spec");
        let breaks = compare(&previous, &served);
        assert!(
            breaks.is_empty(),
            "breaking changes:\n{}",
            breaks.join("\n")
        );
    }
}

#[test]
fn the_comparison_sees_a_removed_field_a_new_requirement_and_a_gone_answer() {
    let old: Value = serde_json::from_str(PREVIOUS[0]).unwrap();
    let mut new = old.clone();
    let task = new
        .pointer_mut("/components/schemas/Task/properties")
        .unwrap();
    task.as_object_mut().unwrap().remove("title");
    new.pointer_mut("/components/schemas/TaskInput/required")
        .unwrap()
        .as_array_mut()
        .unwrap()
        .push("expiry_dt".into());
    new.pointer_mut("/paths/~1v1~1tasks~1{id}/get/responses")
        .unwrap()
        .as_object_mut()
        .unwrap()
        .remove("304");
    let breaks = compare(&old, &new).join("\n");
    assert!(
        breaks.contains("GET /v1/tasks/{id} 200: `title` is gone"),
        "{breaks}"
    );
    assert!(
        breaks.contains("POST /v1/tasks: `expiry_dt` is newly required"),
        "{breaks}"
    );
    assert!(
        breaks.contains("GET /v1/tasks/{id}: no longer declares 304"),
        "{breaks}"
    );
}
