//! Generates the client from `openapi/openapi.json` with progenitor.
//!
//! The spec is the single source: the server's spec drift test keeps the
//! committed file equal to what the server serves, and this build script
//! turns that file into `$OUT_DIR/codegen.rs`, which `src/lib.rs` includes.
//!
//! Three generation settings adjust what progenitor would emit by default;
//! each is checked below so a spec change that voids one fails the build
//! instead of silently changing the client:
//!
//! * `TaskPatch` (and `TaskUpdate`, `PUT`'s body, which has the same rule) is
//!   replaced by the hand-written [`crate::TaskPatch`]: it is a
//!   JSON merge patch, where an absent field and `null` mean different things
//!   (leave as is / clear). typify maps an optional nullable property to one
//!   `Option<T>` that skips `None`, so the generated type could never send
//!   `null` and so could never clear `description` or `expiry_dt`.
//! * The `ids` query parameter of `delete_tasks` (an array declared with
//!   `explode: false`, i.e. `ids=1,2,3`) is converted to [`crate::IdList`],
//!   which serializes as one comma-separated value. progenitor ignores
//!   `explode` and would send `ids=1&ids=2`; the server reads every id of
//!   that form too, but the client should send what the spec declares.
//! * `patch_task` takes `application/json` and `application/merge-patch+json`;
//!   progenitor handles one media type per request body, so the client sends
//!   the first (the same merge patch, as `application/json`).
//! * `get_health` answers 503 with a `Health` body and 400 with a problem;
//!   progenitor allows one error type per operation, so the client's copy of
//!   the spec leaves the 400 out (it comes only with an unknown parameter,
//!   which this client never sends).
//! * Task titles (`type: string, maxLength: 255` with a pattern) are plain
//!   `String`s rather than a newtype that checks the pattern on the client:
//!   the server trims titles with Unicode `White_Space`, which differs from the
//!   ECMAScript `\s` that the spec's pattern (and the regress crate) use, so a
//!   client-side check would both reject titles the server takes and pass
//!   titles it refuses. The server is the one judge of a title, and answers
//!   `400` with a problem body that names the field. Labels (their pattern
//!   counts characters once white space around them is removed) are plain
//!   `String`s for the same reason.

use std::path::Path;

use progenitor::{GenerationSettings, Generator, TypeImpl};
use schemars::schema::SchemaObject;
use serde_json::{Value, json};

/// The spec's pattern for a label (`src/api/text.rs`); the build fails when
/// the spec's no longer matches, as for the title's.
const LABEL_PATTERN: &str = concat!(
    r"^(?:[^\S\u0000-\u001F\u007F-\u009F]|\uFEFF)*",
    r"[^\s\u0000-\u001F\u007F-\u009F\uFEFF]",
    r"(?:[^\u0000-\u001F\u007F-\u009F]{0,62}[^\s\u0000-\u001F\u007F-\u009F\uFEFF])?",
    r"(?:[^\S\u0000-\u001F\u007F-\u009F]|\uFEFF)*$",
);

const SPEC: &str = "../../openapi/openapi.json";

fn schema(value: Value) -> SchemaObject {
    serde_json::from_value(value).expect("a valid JSON schema")
}

fn main() {
    println!("cargo:rerun-if-changed={SPEC}");
    println!("cargo:rerun-if-changed=build.rs");

    let text = std::fs::read_to_string(SPEC).unwrap_or_else(|e| panic!("reading {SPEC}: {e}"));
    let mut raw: Value = serde_json::from_str(&text).expect("the spec is JSON");
    check_task_patch(&raw);
    keep_one_patch_media_type(&mut raw);
    keep_one_health_error_type(&mut raw);
    let spec = serde_json::from_value(raw).expect("the spec is OpenAPI 3.0");

    let mut settings = GenerationSettings::default();
    settings
        .with_derive("PartialEq")
        .with_replacement(
            "TaskPatch",
            "crate::TaskPatch",
            [TypeImpl::Default].into_iter(),
        )
        // `PUT` has the same rule for what is left out, and so the same need.
        .with_replacement(
            "TaskUpdate",
            "crate::TaskPatch",
            [TypeImpl::Default].into_iter(),
        )
        .with_conversion(
            schema(json!({
                "type": "array",
                "items": { "type": "integer", "format": "int64", "minimum": 1 },
                "minItems": 1,
                "maxItems": 1000,
            })),
            "crate::IdList",
            std::iter::empty(),
        )
        .with_conversion(
            schema(
                json!({
                    "type": "string",
                    "maxLength": 255,
                    "pattern": "^[^\\u0000-\\u001F]*[^\\s\\u0000-\\u001F\\u0085\\uFEFF][^\\u0000-\\u001F]*$",
                }),
            ),
            "::std::string::String",
            [TypeImpl::Display, TypeImpl::FromStr].into_iter(),
        )
        .with_conversion(
            schema(json!({
                "type": "string",
                "pattern": LABEL_PATTERN,
            })),
            "::std::string::String",
            [TypeImpl::Display, TypeImpl::FromStr].into_iter(),
        );

    let mut generator = Generator::new(&settings);
    let tokens = generator
        .generate_tokens(&spec)
        .unwrap_or_else(|e| panic!("progenitor cannot generate a client from {SPEC}: {e}"));
    let ast = syn::parse2(tokens).expect("progenitor emits valid Rust");
    let code = prettyplease::unparse(&ast);

    for (needle, what) in [
        ("ids: Option<&'a crate::IdList>", "the `ids` conversion"),
        ("body: &'a crate::TaskPatch", "the `TaskPatch` replacement"),
    ] {
        assert!(
            code.contains(needle),
            "{what} no longer applies to {SPEC}; see build.rs"
        );
    }
    assert!(
        !code.contains("pub struct TaskInputTitle"),
        "the title conversion no longer applies to {SPEC}; see build.rs",
    );
    assert!(
        !code.contains("pub struct TaskInputLabelsItem"),
        "the label conversion no longer applies to {SPEC}; see build.rs",
    );

    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("codegen.rs");
    std::fs::write(out, code).expect("writing codegen.rs");
}

/// Keeps `application/json` as `patch_task`'s only body media type.
fn keep_one_patch_media_type(spec: &mut Value) {
    let content = spec
        .pointer_mut("/paths/~1v1~1tasks~1{id}/patch/requestBody/content")
        .and_then(Value::as_object_mut)
        .expect("the spec defines patch_task's body");
    assert!(
        content.remove("application/merge-patch+json").is_some()
            && content.contains_key("application/json"),
        "patch_task's media types changed in {SPEC}; see build.rs"
    );
}

/// Leaves `get_health`'s 400 out, keeping its 503 (`Health`).
fn keep_one_health_error_type(spec: &mut Value) {
    let responses = spec
        .pointer_mut("/paths/~1v1~1health/get/responses")
        .and_then(Value::as_object_mut)
        .expect("the spec defines get_health's responses");
    assert!(
        responses.remove("400").is_some() && responses.contains_key("503"),
        "get_health's responses changed in {SPEC}; see build.rs"
    );
}

/// `crate::TaskPatch` is written by hand: fail the build when the spec's
/// `TaskPatch` gains or loses a field.
fn check_task_patch(spec: &Value) {
    for schema in ["TaskPatch", "TaskUpdate"] {
        let properties = spec
            .pointer(&format!("/components/schemas/{schema}/properties"))
            .and_then(Value::as_object)
            .unwrap_or_else(|| panic!("the spec defines {schema}"));
        let mut names: Vec<&str> = properties.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            ["description", "expiry_dt", "labels", "priority", "title"],
            "{schema} changed in {SPEC}: update TaskPatch in clients/rust/src/lib.rs",
        );
    }
}
