//! The optional bearer tokens. With `API_TOKEN` or `API_TOKENS_FILE` set,
//! every `/v1` endpoint but `/v1/health`, and `/metrics`, require
//! `Authorization: Bearer <token>` with a token whose scopes allow the
//! request; with neither, all is open.
//!
//! One middleware enforces it, so no endpoint can forget to; the
//! [`ApiAuth`] parameter on each operation only declares it in the spec.

mod reload;
mod tokens;

pub use reload::{token_set, watch_token_file};
pub use tokens::{API_TOKEN_NAME, Scope, Scopes, TokenFileError, TokenName, TokenSet, Tokens};

use std::sync::Arc;

use poem::http::{HeaderValue, Method, header};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;

use crate::edge::problem::{Problem, ProblemKind};

/// `Authorization: Bearer <token>`; required when the server runs with
/// `API_TOKEN` (or `API_TOKEN_FILE`) or `API_TOKENS_FILE`, ignored
/// otherwise. A token from `API_TOKENS_FILE` carries scopes: `read` (GET
/// under `/v1`), `write` (every other method under `/v1`), `metrics`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", rename = "bearerAuth")]
pub struct BearerToken(#[allow(dead_code)] Bearer);

/// Declares the bearer token, optional in the spec because a server without
/// `API_TOKEN` is open. Extracting it never fails; [`RequireToken`] decides.
#[derive(SecurityScheme)]
pub enum ApiAuth {
    Bearer(#[allow(dead_code)] BearerToken),
    #[oai(fallback)]
    Open,
}

/// Refuses a protected request without an accepted token (401) or with
/// one whose scopes do not allow it (403).
#[derive(Clone)]
pub struct RequireToken {
    tokens: Arc<Tokens>,
}

impl RequireToken {
    pub fn new(tokens: Arc<Tokens>) -> Self {
        Self { tokens }
    }
}

impl<E: Endpoint> Middleware<E> for RequireToken {
    type Output = RequireTokenEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        RequireTokenEndpoint {
            inner,
            tokens: self.tokens.clone(),
        }
    }
}

pub struct RequireTokenEndpoint<E> {
    inner: E,
    tokens: Arc<Tokens>,
}

/// The scope a request needs: `None` for what is never protected (the
/// health check, the docs, the spec).
fn needed_scope(method: &Method, path: &str) -> Option<Scope> {
    if path == "/metrics" {
        return Some(Scope::Metrics);
    }
    if !path.starts_with("/v1/") || path == "/v1/health" {
        return None;
    }
    Some(if method == Method::GET || method == Method::HEAD {
        Scope::Read
    } else {
        Scope::Write
    })
}

/// The token of `Authorization: Bearer <token>`; the scheme is matched
/// without regard to case (RFC 9110 §11.1).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl<E: Endpoint> Endpoint for RequireTokenEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let needed = if self.tokens.are_required() {
            needed_scope(req.method(), req.uri().path())
        } else {
            None
        };
        let Some(needed) = needed else {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        };
        let presented = req.header("authorization").and_then(bearer_token);
        let Some((name, scopes)) = presented.and_then(|token| self.tokens.check(token)) else {
            return Ok(unauthorized(presented.is_some()));
        };
        if !scopes.allows(needed) {
            let mut response = forbidden(&name, needed);
            response.extensions_mut().insert(name);
            return Ok(response);
        }
        let mut response = self.inner.call(req).await?.into_response();
        response.extensions_mut().insert(name);
        Ok(response)
    }
}

fn forbidden(name: &TokenName, needed: Scope) -> Response {
    let detail = format!(
        "the token {:?} does not have the `{}` scope this request needs",
        &*name.0,
        needed.as_str()
    );
    let mut response = Problem::new(ProblemKind::Forbidden, None, detail).into_response();
    let challenge = format!(
        r#"Bearer realm="taskman", error="insufficient_scope", scope="{}""#,
        needed.as_str()
    );
    if let Ok(challenge) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, challenge);
    }
    response
}

fn unauthorized(token_was_sent: bool) -> Response {
    let (challenge, detail) = if token_was_sent {
        (
            r#"Bearer realm="taskman", error="invalid_token""#,
            "the bearer token is not valid",
        )
    } else {
        (
            r#"Bearer realm="taskman""#,
            "this endpoint requires `Authorization: Bearer <token>`",
        )
    };
    let mut response = Problem::new(ProblemKind::Unauthorized, None, detail).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_matched_without_regard_to_case() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("BEARER  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearerabc"), None);
    }
}
