//! The optional bearer token. With `API_TOKEN` set, every `/v1` endpoint but
//! `/v1/health` requires `Authorization: Bearer <token>`; unset, all is open.
//!
//! One middleware enforces it, so no endpoint can forget to; the
//! [`ApiAuth`] parameter on each operation only declares it in the spec.

use std::sync::Arc;

use poem::http::{HeaderValue, header};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::problem::{Problem, ProblemKind};

/// `Authorization: Bearer <token>`; required when the server runs with
/// `API_TOKEN` (or `API_TOKEN_FILE`), ignored otherwise.
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

/// The configured token, kept only as its SHA-256 so that comparing takes
/// the same time whatever the guess.
#[derive(Clone)]
pub struct RequireToken {
    digest: Option<Arc<[u8; 32]>>,
}

impl RequireToken {
    pub fn new(token: Option<&secrecy::SecretString>) -> Self {
        use secrecy::ExposeSecret;
        let token = token.map(|t| t.expose_secret().to_owned());
        let token = token.as_deref();
        Self {
            digest: token.map(|t| Arc::new(Sha256::digest(t.as_bytes()).into())),
        }
    }
}

impl<E: Endpoint> Middleware<E> for RequireToken {
    type Output = RequireTokenEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        RequireTokenEndpoint {
            inner,
            digest: self.digest.clone(),
        }
    }
}

pub struct RequireTokenEndpoint<E> {
    inner: E,
    digest: Option<Arc<[u8; 32]>>,
}

/// Everything under `/v1` but the health check, and the metrics.
fn is_protected(path: &str) -> bool {
    (path.starts_with("/v1/") && path != "/v1/health") || path == "/metrics"
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
        if let Some(expected) = &self.digest
            && is_protected(req.uri().path())
        {
            let presented = req
                .header("authorization")
                .and_then(bearer_token)
                .map(|token| Sha256::digest(token.as_bytes()));
            let valid =
                presented.is_some_and(|digest| bool::from(digest.as_slice().ct_eq(&expected[..])));
            if !valid {
                return Ok(unauthorized(presented.is_some()));
            }
        }
        self.inner.call(req).await.map(IntoResponse::into_response)
    }
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
