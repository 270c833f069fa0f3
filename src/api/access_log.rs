//! One log line per request: who (address, and the name of the token it
//! used, never the token), what, the status and how long it took.

use std::time::Instant;

use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};

use super::auth::TokenName;

pub struct AccessLog;

impl<E: Endpoint> Middleware<E> for AccessLog {
    type Output = AccessLogEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        AccessLogEndpoint { inner }
    }
}

pub struct AccessLogEndpoint<E> {
    inner: E,
}

impl<E: Endpoint> Endpoint for AccessLogEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let started = Instant::now();
        let remote_addr = req.remote_addr().to_string();
        let method = req.method().clone();
        let uri = req.uri().clone();
        let response = match self.inner.call(req).await {
            Ok(response) => response.into_response(),
            Err(err) => err.into_response(),
        };
        let token = response
            .extensions()
            .get::<TokenName>()
            .map_or("-", |name| &*name.0);
        tracing::info!(
            target: "taskman::access",
            remote_addr,
            %method,
            %uri,
            status = response.status().as_u16(),
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            token,
            "request"
        );
        Ok(response)
    }
}
