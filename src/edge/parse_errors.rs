//! The errors poem and poem-openapi raise while parsing a request, as
//! problems that name the field and what is expected, never an internal
//! type name.

use poem::http::StatusCode;
use poem_openapi::error::{ContentTypeError, ParseParamError, ParsePathError};

use super::problem::{FieldError, Problem, ProblemError, ProblemKind};

/// What each parameter of an API takes, for the message when it cannot be
/// parsed (poem-openapi's own messages name its internal types). The API
/// gives its own.
#[derive(Clone, Copy, Debug)]
pub struct Parameters {
    /// Each parameter by name, with what it must be.
    pub expected: &'static [(&'static str, &'static str)],
    /// The name a path parameter poem-openapi cannot parse is reported
    /// under (poem-openapi names it by its position, `param0`).
    pub path_parameter: &'static str,
}

impl Parameters {
    pub fn expectation(&self, name: &str) -> &'static str {
        self.expected
            .iter()
            .find(|(parameter, _)| *parameter == name)
            .map_or("has a value this operation cannot read", |(_, expected)| {
                expected
            })
    }

    /// The problem a parse error stands for.
    pub fn problem_of(&self, err: &poem::Error) -> Problem {
        problem_of(self, err)
    }

    /// Every error that reaches the edge as a poem error (routing, body
    /// limit, anything a handler did not turn into its own answer) becomes
    /// a problem.
    pub async fn catch_all(self, err: poem::Error) -> poem::Response {
        if err.is_from_response() || err.is::<ProblemError>() {
            // Already a problem of ours; keeps what poem-openapi noted on
            // it (the operation id, for the metrics).
            return err.into_response();
        }
        let mut response = problem_of(&self, &err).into_response();
        if let Some(operation) = err.data::<poem_openapi::OperationId>() {
            response.set_data(*operation);
        }
        response
    }
}

fn problem_of(parameters: &Parameters, err: &poem::Error) -> Problem {
    if let Some(ProblemError(problem)) = err.downcast_ref::<ProblemError>() {
        return problem.clone();
    }
    if let Some(param) = err.downcast_ref::<ParseParamError>() {
        let expected = parameters.expectation(param.name);
        return Problem::invalid(vec![FieldError::new(param.name, expected)]);
    }
    if let Some(path) = err.downcast_ref::<ParsePathError>() {
        // poem-openapi names a path segment by its position (`param0`) when
        // it cannot parse it.
        let known = parameters
            .expected
            .iter()
            .any(|(known, _)| *known == path.name);
        let name = if known {
            path.name
        } else {
            parameters.path_parameter
        };
        let expected = parameters.expectation(name);
        return Problem::invalid(vec![FieldError::new(name, expected)]);
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
