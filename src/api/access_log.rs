//! One log line per request: who (the client's address, through trusted
//! proxies, and the name of the token it used, never the token), what, the
//! status and how long it took.

use std::time::Instant;

use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};

use super::auth::TokenName;
use super::forwarded::TrustedProxies;

pub struct AccessLog {
    proxies: TrustedProxies,
}

impl AccessLog {
    pub fn new(proxies: TrustedProxies) -> Self {
        Self { proxies }
    }
}

impl<E: Endpoint> Middleware<E> for AccessLog {
    type Output = AccessLogEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        AccessLogEndpoint {
            inner,
            proxies: self.proxies.clone(),
        }
    }
}

pub struct AccessLogEndpoint<E> {
    inner: E,
    proxies: TrustedProxies,
}

impl<E: Endpoint> Endpoint for AccessLogEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let started = Instant::now();
        let peer = req.remote_addr().as_socket_addr().map(|addr| addr.ip());
        let client =
            self.proxies
                .client(peer, req.header("forwarded"), req.header("x-forwarded-for"));
        // The peer with its port; a forwarded client as its proxy named it.
        let remote_addr = match (client, req.remote_addr().as_socket_addr()) {
            (Some(ip), Some(socket)) if ip == socket.ip() => socket.to_string(),
            (Some(ip), _) => ip.to_string(),
            (None, _) => req.remote_addr().to_string(),
        };
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
            remote_addr = %remote_addr,
            %method,
            %uri,
            status = response.status().as_u16(),
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            token = %token,
            "request"
        );
        Ok(response)
    }
}
