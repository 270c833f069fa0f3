//! The errors poem and poem-openapi raise while parsing a request, as
//! problems that name the field and what is expected, never an internal
//! type name.

use poem::http::StatusCode;
use poem_openapi::error::{ContentTypeError, ParseParamError, ParsePathError};

use super::problem::{FieldError, Problem, ProblemError, ProblemKind};

/// What each parameter takes, for the message when it cannot be parsed.
/// (poem-openapi's own messages name its internal types.) A test checks
/// that every parameter in the spec is listed here.
pub const PARAMETERS: &[(&str, &str)] = &[
    ("id", "must be a positive integer (a task id)"),
    ("task_id", "must be a positive integer (a task id)"),
    (
        "ids",
        "must be a comma-separated list of 1 to 1,000 positive integers",
    ),
    ("limit", "must be an integer from 1 to 1000"),
    ("offset", "must be an integer from 0 to 1000000000000000"),
    ("count", "must be `true` or `false`"),
    ("all", "must be `true` (delete every task) or `false`"),
    (
        "cursor",
        "must be a `next_cursor` from an earlier page of the same listing, under the same \
         filters, `sort` and `order`",
    ),
    (
        "expires_before",
        "must be an RFC 3339 date-time with an offset, e.g. 2026-01-01T10:00:00+08:00 \
         (write `+` as `%2B` in a query string)",
    ),
    (
        "expires_after",
        "must be an RFC 3339 date-time with an offset, e.g. 2026-01-01T10:00:00+08:00 \
         (write `+` as `%2B` in a query string)",
    ),
    ("status", "must be `open` or `done`"),
    (
        "sort",
        "must be one of `id`, `expiry_dt`, `update_dt`, `create_dt`",
    ),
    ("order", "must be `asc` or `desc`"),
];

pub fn expectation(name: &str) -> &'static str {
    PARAMETERS
        .iter()
        .find(|(parameter, _)| *parameter == name)
        .map_or("has a value this operation cannot read", |(_, expected)| {
            expected
        })
}

/// The problem a parse error stands for.
pub fn problem_of(err: &poem::Error) -> Problem {
    if let Some(ProblemError(problem)) = err.downcast_ref::<ProblemError>() {
        return problem.clone();
    }
    if let Some(param) = err.downcast_ref::<ParseParamError>() {
        return Problem::invalid(vec![FieldError::new(param.name, expectation(param.name))]);
    }
    if let Some(path) = err.downcast_ref::<ParsePathError>() {
        // poem-openapi names a path segment by its position (`param0`) when
        // it cannot parse it; the one path parameter of this API is `id`.
        let name = if PARAMETERS.iter().any(|(known, _)| *known == path.name) {
            path.name
        } else {
            "id"
        };
        return Problem::invalid(vec![FieldError::new(name, expectation(name))]);
    }
    if let Some(ContentTypeError::NotSupported { content_type }) =
        err.downcast_ref::<ContentTypeError>()
    {
        return Problem::new(
            ProblemKind::UnsupportedMediaType,
            None,
            format!("this operation does not take a body of type `{content_type}`"),
        );
    }
    if let Some(ContentTypeError::ExpectContentType) = err.downcast_ref::<ContentTypeError>() {
        return Problem::new(
            ProblemKind::UnsupportedMediaType,
            None,
            "the request has a body but no `Content-Type`; send `Content-Type: application/json`",
        );
    }
    let status = err.status();
    if status == StatusCode::NOT_FOUND || status == StatusCode::METHOD_NOT_ALLOWED {
        return Problem::blank(
            status,
            if status == StatusCode::NOT_FOUND {
                "no such resource"
            } else {
                "this method is not allowed on this resource"
            },
        );
    }
    match ProblemKind::of_status(status) {
        Some(kind) if status.is_client_error() => Problem::new(kind, None, err.to_string()),
        _ => {
            tracing::error!(error = %err, "request failed while being parsed");
            Problem::internal()
        }
    }
}

/// Every error that reaches the edge as a poem error (routing, body limit,
/// anything a handler did not turn into its own answer) becomes a problem.
pub async fn catch_all(err: poem::Error) -> poem::Response {
    if err.is_from_response() || err.is::<ProblemError>() {
        // Already a problem of ours; keeps what poem-openapi noted on it
        // (the operation id, for the metrics).
        return err.into_response();
    }
    let mut response = problem_of(&err).into_response();
    if let Some(operation) = err.data::<poem_openapi::OperationId>() {
        response.set_data(*operation);
    }
    response
}
