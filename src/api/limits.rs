//! Limits on requests in flight: too many at once is a fast 503 with
//! `Retry-After` instead of an unbounded queue, and a request that takes
//! too long (a database call that hangs, say) is cut off with a 503. A
//! request counts from when its body has arrived (`edge/body_limit.rs`):
//! a slow sender does not hold a place.

use std::sync::Arc;
use std::time::Duration;

use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use tokio::sync::Semaphore;

use crate::edge::problem::{Problem, ProblemKind};
use crate::metrics::{HttpMetrics, ShedLabels};

#[derive(Clone)]
pub struct RequestLimits {
    in_flight: Arc<Semaphore>,
    timeout: Duration,
    metrics: HttpMetrics,
}

impl RequestLimits {
    pub fn new(max_in_flight: usize, timeout: Duration, metrics: HttpMetrics) -> Self {
        Self {
            in_flight: Arc::new(Semaphore::new(max_in_flight)),
            timeout,
            metrics,
        }
    }
}

fn overloaded(detail: &str) -> Response {
    Problem::new(ProblemKind::Unavailable, Some("overloaded"), detail).into_response()
}

impl<E: Endpoint> Middleware<E> for RequestLimits {
    type Output = RequestLimitsEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        RequestLimitsEndpoint {
            inner,
            limits: self.clone(),
        }
    }
}

pub struct RequestLimitsEndpoint<E> {
    inner: E,
    limits: RequestLimits,
}

impl<E: Endpoint> Endpoint for RequestLimitsEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        // The health check stays answerable under any load.
        let _permit = if req.uri().path() == "/v1/health" {
            None
        } else {
            match self.limits.in_flight.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    self.limits
                        .metrics
                        .shed
                        .get_or_create(&ShedLabels { limit: "requests" })
                        .inc();
                    return Ok(overloaded(
                        "the server is at its limit of requests in flight; try again shortly",
                    ));
                }
            }
        };
        match tokio::time::timeout(self.limits.timeout, self.inner.call(req)).await {
            Ok(result) => result.map(IntoResponse::into_response),
            Err(_) => {
                self.limits
                    .metrics
                    .shed
                    .get_or_create(&ShedLabels {
                        limit: "request_timeout",
                    })
                    .inc();
                Ok(overloaded("the request took too long; try again shortly"))
            }
        }
    }
}
