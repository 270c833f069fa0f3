//! `GET /metrics`, and the request metrics every answer adds to.

use std::sync::Arc;
use std::time::Instant;

use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use poem_openapi::OperationId;

use crate::metrics::{Metrics, OperationLabels, RequestLabels};
use crate::service::TaskService;

/// The Prometheus text format, with the pool's numbers as of now.
pub fn render(metrics: &Metrics, tasks: &TaskService) -> Response {
    tasks.observe_store(&metrics.store);
    Response::builder()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render())
}

/// Counts every answer by operation and status, and times it to the
/// response head.
pub struct RecordRequests(pub Arc<Metrics>);

impl<E: Endpoint> Middleware<E> for RecordRequests {
    type Output = RecordRequestsEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        RecordRequestsEndpoint {
            inner,
            metrics: self.0.clone(),
        }
    }
}

pub struct RecordRequestsEndpoint<E> {
    inner: E,
    metrics: Arc<Metrics>,
}

impl<E: Endpoint> Endpoint for RecordRequestsEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let started = Instant::now();
        let response = self.inner.call(req).await?.into_response();
        let operation = response
            .data::<OperationId>()
            .map_or("other", |id| id.0)
            .to_owned();
        let http = &self.metrics.http;
        http.requests
            .get_or_create(&RequestLabels {
                operation: operation.clone(),
                status: response.status().as_u16(),
            })
            .inc();
        http.latency
            .get_or_create(&OperationLabels { operation })
            .observe(started.elapsed().as_secs_f64());
        Ok(response)
    }
}
