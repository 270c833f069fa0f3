//! [`ApiError`]: an operation's error answer, typed by the operation, so
//! that the spec lists exactly the problems it can return.

use std::marker::PhantomData;

use poem::{IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::registry::{MetaHeader, MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::Type;

use super::operations::Operation;
use super::problem::problem_of_service;
use crate::domain::{TaskId, ValidationError};
use crate::edge::problem::{FieldError, PROBLEM_CONTENT_TYPE, Problem, ProblemError, ProblemKind};
use crate::service::ServiceError;

impl<Op: Operation> From<ApiError<Op>> for poem::Error {
    fn from(err: ApiError<Op>) -> Self {
        ProblemError::into_poem(*err.problem)
    }
}

/// An operation's error answer. `Op` says which problems it can be, and
/// the spec lists exactly those; a problem outside the list is a bug,
/// logged when it happens and caught by the contract tests.
pub struct ApiError<Op> {
    // Boxed: errors are the cold path, and `Result`s stay small.
    problem: Box<Problem>,
    operation: PhantomData<fn() -> Op>,
}

impl<Op> std::fmt::Debug for ApiError<Op> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.problem.fmt(f)
    }
}

impl<Op: Operation> ApiError<Op> {
    pub fn new(problem: Problem) -> Self {
        let declared =
            ProblemKind::of_problem(&problem).is_some_and(|kind| Op::PROBLEMS.contains(&kind));
        if !declared {
            tracing::error!(
                operation = Op::ID,
                status = problem.status,
                "an operation answered a problem its spec does not declare"
            );
        }
        Self {
            problem: Box::new(problem),
            operation: PhantomData,
        }
    }

    pub fn invalid(errors: Vec<FieldError>) -> Self {
        Self::new(Problem::invalid(errors))
    }

    pub fn invalid_field(field: &str, err: &ValidationError) -> Self {
        Self::invalid(vec![FieldError::invalid(field, err)])
    }

    pub fn not_found(ids: Vec<TaskId>) -> Self {
        Self::new(Problem::not_found(ids))
    }

    pub fn problem(&self) -> &Problem {
        &self.problem
    }
}

impl<Op: Operation> From<ServiceError> for ApiError<Op> {
    fn from(err: ServiceError) -> Self {
        Self::new(problem_of_service(&err))
    }
}

impl<Op: Operation> From<Problem> for ApiError<Op> {
    fn from(problem: Problem) -> Self {
        Self::new(problem)
    }
}

impl<Op: Operation> IntoResponse for ApiError<Op> {
    fn into_response(self) -> Response {
        (*self.problem).into_response()
    }
}

impl<Op: Operation> ApiResponse for ApiError<Op> {
    const BAD_REQUEST_HANDLER: bool = true;

    /// One response per status; where kinds share one (503: unavailable,
    /// outcome unknown), the later kind's description covers both.
    fn meta() -> MetaResponses {
        let mut responses: Vec<MetaResponse> = Vec::new();
        for kind in Op::PROBLEMS {
            let status = kind.status().as_u16();
            if let Some(shared) = responses.iter_mut().find(|r| r.status == Some(status)) {
                shared.description = kind.description();
                continue;
            }
            responses.push(MetaResponse {
                description: kind.description(),
                status: Some(status),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: PROBLEM_CONTENT_TYPE,
                    schema: <Problem as Type>::schema_ref(),
                }],
                headers: headers_of(*kind),
            });
        }
        MetaResponses { responses }
    }

    fn register(registry: &mut Registry) {
        <Problem as Type>::register(registry);
    }

    fn from_parse_request_error(err: poem::Error) -> Self {
        Self::new(super::parameters::PARAMETERS.problem_of(&err))
    }
}

fn headers_of(kind: ProblemKind) -> Vec<MetaHeader> {
    let header = |name: &str, description: &str, schema| MetaHeader {
        name: name.to_owned(),
        description: Some(description.to_owned()),
        required: true,
        deprecated: false,
        schema,
    };
    match kind {
        ProblemKind::Unauthorized => vec![header(
            "WWW-Authenticate",
            "`Bearer realm=\"taskman\"`",
            <String as Type>::schema_ref(),
        )],
        ProblemKind::Forbidden => vec![header(
            "WWW-Authenticate",
            "`Bearer realm=\"taskman\", error=\"insufficient_scope\", scope=\"write\"`",
            <String as Type>::schema_ref(),
        )],
        ProblemKind::Unavailable | ProblemKind::OutcomeUnknown => vec![header(
            "Retry-After",
            "Seconds to wait before trying again",
            <u64 as Type>::schema_ref(),
        )],
        _ => Vec::new(),
    }
}
