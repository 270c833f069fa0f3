//! RFC 9457 problem details: the one shape of every error answer, whether
//! an operation, the routing, a body's reader or the connection gives it.

use poem::Response;
use poem::http::{HeaderValue, StatusCode, header};
use poem_openapi::Object;
use poem_openapi::types::ToJSON;

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// How long a client should wait before retrying after a 503.
const RETRY_AFTER_SECONDS: u64 = 1;

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
    /// The request fields that were wrong; empty when the problem is not
    /// about fields. Always present.
    pub errors: Vec<FieldError>,
    /// The ids the request named that do not exist; only on a 404 about
    /// them.
    #[oai(skip_serializing_if_is_none)]
    pub missing_ids: Option<Vec<i64>>,
}

/// One invalid field of a request.
#[derive(Object, Debug, Clone, PartialEq)]
pub struct FieldError {
    /// Where the field is: a body field (`title`, `tasks[2].expiry_dt`), a
    /// query or path parameter (`limit`, `id`) or a header (`If-Match`).
    pub field: String,
    /// What is wrong with it, and what is expected.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The kinds of problem this API answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProblemKind {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    PreconditionFailed,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    Unprocessable,
    Internal,
    Unavailable,
    /// A 503 of its own type: a write whose outcome the database never
    /// confirmed. After a plain `Unavailable`, nothing was written.
    OutcomeUnknown,
}

impl ProblemKind {
    /// `Unavailable` before `OutcomeUnknown`: [`Self::of_status`] finds the
    /// first of a status.
    pub const ALL: [Self; 12] = [
        Self::BadRequest,
        Self::Unauthorized,
        Self::Forbidden,
        Self::NotFound,
        Self::PreconditionFailed,
        Self::Conflict,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::Unprocessable,
        Self::Internal,
        Self::Unavailable,
        Self::OutcomeUnknown,
    ];

    pub const fn status(self) -> StatusCode {
        match self {
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::Conflict => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable | Self::OutcomeUnknown => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn of_status(status: StatusCode) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.status() == status)
    }

    /// The kind a problem is: the one its type names, else the first of its
    /// status (refined types such as `validation` keep their status's kind).
    pub fn of_problem(problem: &Problem) -> Option<Self> {
        let status = problem.status_code();
        Self::ALL
            .into_iter()
            .find(|kind| kind.status() == status && problem.kind == kind.type_uri())
            .or_else(|| Self::of_status(status))
    }

    /// Its problem type, e.g. `urn:taskman:problem:unavailable`.
    pub fn type_uri(self) -> String {
        format!("urn:taskman:problem:{}", self.urn())
    }

    /// The last part of its problem type.
    pub fn urn(self) -> &'static str {
        match self {
            Self::BadRequest => "bad-request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "task-not-found",
            Self::PreconditionFailed => "precondition-failed",
            Self::Conflict => "conflict",
            Self::PayloadTooLarge => "payload-too-large",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::Unprocessable => "unprocessable",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
            Self::OutcomeUnknown => "outcome-unknown",
        }
    }
}

impl Problem {
    /// A problem of this kind; `name` refines its type URN (e.g.
    /// `validation` for a 400 about fields).
    pub fn new(kind: ProblemKind, name: Option<&str>, detail: impl Into<String>) -> Self {
        let status = kind.status();
        Self {
            kind: format!("urn:taskman:problem:{}", name.unwrap_or(kind.urn())),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            missing_ids: None,
        }
    }

    /// `about:blank`, for answers about the route itself (404, 405).
    pub fn blank(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            kind: "about:blank".to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            missing_ids: None,
        }
    }

    /// A problem whose detail lists the fields, which `errors` carries too.
    pub fn about_fields(kind: ProblemKind, name: &str, errors: Vec<FieldError>) -> Self {
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            errors,
            ..Self::new(kind, Some(name), detail)
        }
    }

    pub fn invalid(errors: Vec<FieldError>) -> Self {
        Self::about_fields(ProblemKind::BadRequest, "validation", errors)
    }

    pub fn internal() -> Self {
        Self::new(
            ProblemKind::Internal,
            None,
            "an unexpected error occurred; it has been logged",
        )
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::Unavailable, None, detail)
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The answer: this problem as `application/problem+json`, with the
    /// headers its status calls for.
    pub fn into_response(self) -> Response {
        let status = self.status_code();
        let body = self.to_json().unwrap_or_default().to_string();
        let mut response = Response::builder()
            .status(status)
            .content_type(PROBLEM_CONTENT_TYPE)
            .body(body);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
        }
        response
    }
}

/// A problem carried through a `poem::Error`: one raised while a request is
/// parsed (a body, a header, a parameter), on its way to the operation's
/// `ApiError`, or an operation's answer on its way out. It renders
/// itself, so the edge passes it through as it is.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.detail)]
pub struct ProblemError(pub Problem);

impl ProblemError {
    pub fn into_poem(problem: Problem) -> poem::Error {
        poem::Error::from(Self(problem))
    }
}

impl poem::error::ResponseError for ProblemError {
    fn status(&self) -> StatusCode {
        self.0.status_code()
    }

    fn as_response(&self) -> Response {
        self.0.clone().into_response()
    }
}

/// A problem answer outside any operation (middleware, routing).
pub fn problem_response(problem: Problem) -> Response {
    problem.into_response()
}
