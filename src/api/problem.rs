//! RFC 9457 problem details: the one shape of every error answer.

use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};

use crate::domain::{TaskId, ValidationError};
use crate::store::StoreError;
use crate::telemetry::DisplayChain;

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// An RFC 9457 problem details object.
#[derive(Object, Debug, Clone, PartialEq)]
#[oai(example)]
pub struct Problem {
    /// A URI reference naming the kind of problem.
    #[oai(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request, for a person to read.
    pub detail: String,
    /// The request fields that were wrong, when the problem is about fields.
    #[oai(default, skip_serializing_if_is_empty)]
    pub errors: Vec<FieldError>,
    /// Task ids that do not exist, when the problem is about missing tasks.
    #[oai(default, skip_serializing_if_is_empty)]
    pub missing_ids: Vec<i64>,
}

/// One invalid field of a request.
#[derive(Object, Debug, Clone, PartialEq)]
pub struct FieldError {
    /// Where the field is, e.g. `title` or `tasks[2].expiry_dt`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, err: &ValidationError) -> Self {
        Self {
            field: field.into(),
            message: err.to_string(),
        }
    }
}

impl Problem {
    /// A problem whose detail lists the fields, which `errors` carries too.
    fn about_fields(status: StatusCode, kind: &str, errors: Vec<FieldError>) -> Self {
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            errors,
            ..Self::new(status, kind, detail)
        }
    }

    pub(super) fn new(status: StatusCode, kind: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: if kind == "about:blank" {
                kind.to_owned()
            } else {
                format!("urn:taskman:problem:{kind}")
            },
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            missing_ids: Vec::new(),
        }
    }
}

/// Every error an operation can answer with.
#[derive(ApiResponse, Debug)]
pub enum ApiError {
    /// The request is malformed or breaks a rule; `errors` names the fields.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// `API_TOKEN` is set and the request has no valid bearer token.
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>, #[oai(header = "WWW-Authenticate")] String),
    /// No such task; `missing_ids` names every missing id.
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    /// `If-Match` names a version the task is no longer at; nothing changed.
    #[oai(status = 412, content_type = "application/problem+json")]
    PreconditionFailed(Json<Problem>),
    /// Well-formed, but the tasks conflict: a bulk replace names an id twice.
    #[oai(status = 422, content_type = "application/problem+json")]
    UnprocessableContent(Json<Problem>),
    /// The request body is over 1 MiB.
    #[oai(status = 413, content_type = "application/problem+json")]
    PayloadTooLarge(Json<Problem>),
    /// The request body is not JSON (`application/json`).
    #[oai(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Json<Problem>),
    /// An unexpected fault; the details are in the server log.
    #[oai(status = 500, content_type = "application/problem+json")]
    Internal(Json<Problem>),
    /// The database is unreachable or busy; try again shortly.
    #[oai(status = 503, content_type = "application/problem+json")]
    Unavailable(Json<Problem>),
}

impl ApiError {
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        Self::BadRequest(Json(Problem::about_fields(
            StatusCode::BAD_REQUEST,
            "validation",
            errors,
        )))
    }

    pub fn conflicting(errors: Vec<FieldError>) -> Self {
        Self::UnprocessableContent(Json(Problem::about_fields(
            StatusCode::UNPROCESSABLE_ENTITY,
            "conflicting-items",
            errors,
        )))
    }

    pub fn invalid_field(field: &str, err: &ValidationError) -> Self {
        Self::invalid(vec![FieldError::new(field, err)])
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::BadRequest(Json(Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            detail,
        )))
    }

    pub fn not_found(ids: Vec<TaskId>) -> Self {
        let list = ids.iter().map(ToString::to_string).collect::<Vec<_>>();
        let detail = match list.as_slice() {
            [one] => format!("no task with id {one}"),
            many => format!("no tasks with ids {}", many.join(", ")),
        };
        let mut problem = Problem::new(StatusCode::NOT_FOUND, "task-not-found", detail);
        problem.missing_ids = ids.into_iter().map(TaskId::get).collect();
        Self::NotFound(Json(problem))
    }

    pub fn unavailable() -> Self {
        Self::Unavailable(Json(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the database is unavailable; try again shortly",
        )))
    }

    pub fn internal() -> Self {
        Self::Internal(Json(Self::internal_problem()))
    }

    pub fn internal_problem() -> Problem {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "an unexpected error occurred; it has been logged",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound(ids) => Self::not_found(ids),
            StoreError::PreconditionFailed(id) => Self::PreconditionFailed(Json(Problem::new(
                StatusCode::PRECONDITION_FAILED,
                "precondition-failed",
                format!("task {id} has changed since the version in If-Match; fetch it again"),
            ))),
            StoreError::Unavailable(_) => {
                tracing::warn!(error = %DisplayChain(&err), "database unavailable");
                Self::unavailable()
            }
            StoreError::Database(_) | StoreError::Corrupt(_) => {
                tracing::error!(error = %DisplayChain(&err), "store failure");
                Self::internal()
            }
        }
    }
}

/// Turns the errors that poem and poem-openapi raise themselves (bad JSON,
/// wrong types, unknown routes, wrong methods, oversized bodies) into the
/// same problem body as our own.
pub async fn problem_from_poem_error(err: poem::Error) -> Response {
    if err.is_from_response() {
        // Already one of our own answers, e.g. an `ApiError` from a handler.
        return err.into_response();
    }
    let status = err.status();
    if status.is_server_error() {
        tracing::error!(error = %err, "request failed");
    }
    let (kind, detail) = match status {
        StatusCode::NOT_FOUND => ("about:blank", "no such resource".to_owned()),
        StatusCode::METHOD_NOT_ALLOWED => (
            "about:blank",
            "this method is not allowed on this resource".to_owned(),
        ),
        StatusCode::INTERNAL_SERVER_ERROR => (
            "internal",
            "an unexpected error occurred; it has been logged".to_owned(),
        ),
        _ if err.is::<poem_openapi::error::ParsePathError>() => (
            "bad-request",
            "the task id in the path must be a positive integer".to_owned(),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported-media-type", err.to_string()),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload-too-large", err.to_string()),
        _ if status.is_client_error() => ("bad-request", err.to_string()),
        _ => ("about:blank", err.to_string()),
    };
    problem_response(Problem::new(status, kind, detail))
}

pub fn problem_response(problem: Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = poem_openapi::types::ToJSON::to_json(&problem).unwrap_or_default();
    Response::builder()
        .status(status)
        .content_type(PROBLEM_CONTENT_TYPE)
        .body(body.to_string())
        .into_response()
}
