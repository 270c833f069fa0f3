//! Cross-origin requests from the browser apps on `CORS_ORIGINS`, through
//! poem's `Cors`. Why not `Cors` alone: it refuses (with a bare error, not
//! a problem) every request whose `Origin` is not listed, and browsers send
//! `Origin` on same-origin POSTs too, so Swagger UI on the service's own
//! address would be refused. Here only a listed origin goes through `Cors`;
//! any other request is served as if there were no CORS at all, without
//! `Access-Control-*` headers, so a browser on an unlisted origin cannot
//! read the answer (nor send a preflighted request), and nothing else
//! changes.

use std::collections::HashSet;
use std::sync::Arc;

use poem::http::{HeaderValue, Method, header};
use poem::middleware::Cors;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};

/// The request headers a cross-origin client may send.
const ALLOWED_HEADERS: [&str; 7] = [
    "authorization",
    "content-type",
    "if-match",
    "if-none-match",
    "idempotency-key",
    "last-event-id",
    "accept",
];

/// The response headers its script may read.
const EXPOSED_HEADERS: [&str; 5] = [
    "etag",
    "location",
    "link",
    "retry-after",
    "www-authenticate",
];

/// How long a browser may keep a preflight's answer, in seconds.
const PREFLIGHT_MAX_AGE: i32 = 600;

pub struct CrossOrigin {
    allowed: Arc<HashSet<HeaderValue>>,
}

impl CrossOrigin {
    /// `origins` as `scheme://host[:port]`, already checked.
    pub fn new<'a>(origins: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            allowed: Arc::new(
                origins
                    .into_iter()
                    .filter_map(|origin| HeaderValue::from_str(origin).ok())
                    .collect(),
            ),
        }
    }
}

impl<E: Endpoint + 'static> Middleware<E> for CrossOrigin {
    type Output = CrossOriginEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        let inner = Arc::new(inner);
        let cors = Cors::new()
            .allow_origins(self.allowed.iter().cloned())
            .allow_methods([
                Method::GET,
                Method::HEAD,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers(ALLOWED_HEADERS)
            .expose_headers(EXPOSED_HEADERS)
            // Bearer tokens, not cookies: never credentials.
            .allow_credentials(false)
            .max_age(PREFLIGHT_MAX_AGE)
            .transform(inner.clone());
        CrossOriginEndpoint {
            allowed: self.allowed.clone(),
            plain: inner,
            cors,
        }
    }
}

pub struct CrossOriginEndpoint<E: Endpoint + 'static> {
    allowed: Arc<HashSet<HeaderValue>>,
    plain: Arc<E>,
    cors: <Cors as Middleware<Arc<E>>>::Output,
}

impl<E: Endpoint + 'static> Endpoint for CrossOriginEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let listed = req
            .headers()
            .get(header::ORIGIN)
            .is_some_and(|origin| self.allowed.contains(origin));
        let mut response = if listed {
            self.cors.call(req).await?.into_response()
        } else {
            self.plain.call(req).await?.into_response()
        };
        if !self.allowed.is_empty() {
            // The answer differs by Origin: caches must keep them apart.
            response
                .headers_mut()
                .append(header::VARY, HeaderValue::from_static("origin"));
        }
        Ok(response)
    }
}
