//! Receives a request's whole body before the request is handled: within a
//! time limit (408), within a size limit (413), and before it counts as in
//! flight. (poem has no body limit of its own.)
//!
//! A body that arrives slowly (a slow link, or a client dribbling a byte at
//! a time) would otherwise hold one of the places for requests in flight
//! while it arrives, and a few hundred such clients would leave none for
//! anyone else. Here it holds only the memory its bytes take, from a budget
//! shared by every body being received: as large as the places in flight
//! times 1 MiB, the most the bodies could take when they were received in
//! flight.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use poem::http::{Method, StatusCode, header};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::problem::{Problem, ProblemKind};

/// The largest body of every request but those given a larger limit
/// ([`LargerBody`]).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A route whose bodies may be larger than [`MAX_BODY_BYTES`].
#[derive(Clone, Debug)]
pub struct LargerBody {
    pub method: Method,
    pub path: &'static str,
    pub max_bytes: usize,
}

/// An oversized body is still read (and dropped) up to this size before the
/// 413 goes out: a client that is still sending when the server answers and
/// closes sees a reset connection instead of our answer. Bodies larger than
/// this are cut off at once.
const DRAIN_LIMIT: u64 = 16 * 1024 * 1024;

/// Receives bodies; see the module's head.
pub struct BodyLimit {
    budget: Arc<Semaphore>,
    timeout: Duration,
    larger: &'static [LargerBody],
}

impl BodyLimit {
    /// Bodies for `max_in_flight` requests at once, each received within
    /// `timeout`, each at most [`MAX_BODY_BYTES`] unless `larger` says
    /// otherwise for its route.
    pub fn new(max_in_flight: usize, timeout: Duration, larger: &'static [LargerBody]) -> Self {
        let largest = larger
            .iter()
            .map(|route| route.max_bytes)
            .fold(MAX_BODY_BYTES, usize::max);
        let budget = max_in_flight
            .saturating_mul(MAX_BODY_BYTES)
            .clamp(largest, Semaphore::MAX_PERMITS);
        Self {
            budget: Arc::new(Semaphore::new(budget)),
            timeout,
            larger,
        }
    }
}

/// Marks a request that came with a body, for handlers that take none.
#[derive(Clone, Copy, Debug)]
struct ReceivedBody;

/// Whether the request came with a (non-empty) body.
pub fn has_body(request: &Request) -> bool {
    request.data::<ReceivedBody>().is_some()
}

/// The body limit of a request.
fn limit_of(request: &Request, larger: &[LargerBody]) -> usize {
    larger
        .iter()
        .find(|route| request.method() == route.method && request.uri().path() == route.path)
        .map_or(MAX_BODY_BYTES, |route| route.max_bytes)
}

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        BodyLimitEndpoint {
            inner,
            budget: self.budget.clone(),
            timeout: self.timeout,
            larger: self.larger,
        }
    }
}

pub struct BodyLimitEndpoint<E> {
    inner: E,
    budget: Arc<Semaphore>,
    timeout: Duration,
    larger: &'static [LargerBody],
}

/// Why a body was not received.
#[derive(Debug, thiserror::Error)]
enum NotReceived {
    #[error("the request body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the request body could not be read: {0}")]
    Broken(std::io::Error),
    #[error("the server is shutting down")]
    Closing,
}

impl NotReceived {
    fn into_response(self) -> Response {
        let kind = match self {
            Self::TooLarge(_) => ProblemKind::PayloadTooLarge,
            Self::Broken(_) => ProblemKind::BadRequest,
            Self::Closing => ProblemKind::Unavailable,
        };
        closing(Problem::new(kind, None, self.to_string()))
    }
}

/// A problem answer after which the connection closes: the rest of the
/// body, if any, is not read.
fn closing(problem: Problem) -> Response {
    let mut response = problem.into_response();
    response.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    response
}

fn too_slow(timeout: Duration) -> Response {
    closing(Problem {
        kind: "urn:taskman:problem:request-timeout".to_owned(),
        ..Problem::blank(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the request body did not arrive within {}; send it at once",
                humantime::format_duration(timeout)
            ),
        )
    })
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let limit = limit_of(&req, self.larger);
        let announced = req
            .header("content-length")
            .and_then(|len| len.parse::<u64>().ok());
        if announced.is_some_and(|len| len > DRAIN_LIMIT) {
            return Ok(NotReceived::TooLarge(limit).into_response());
        }
        let body = req.take_body();
        if body.is_empty() {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        }
        let received = tokio::time::timeout(
            self.timeout,
            receive(body.into_bytes_stream(), limit, self.budget.clone()),
        )
        .await;
        // The share of the budget is held until the request has been
        // handled: the body's bytes live as long.
        let (kept, _share) = match received {
            Err(_) => return Ok(too_slow(self.timeout)),
            Ok(Err(not_received)) => return Ok(not_received.into_response()),
            Ok(Ok(received)) => received,
        };
        if !kept.is_empty() {
            req.set_data(ReceivedBody);
        }
        req.set_body(kept);
        self.inner.call(req).await.map(IntoResponse::into_response)
    }
}

/// The body's bytes, and their share of the budget.
async fn receive(
    mut chunks: impl futures_util::Stream<Item = std::io::Result<bytes::Bytes>> + Unpin,
    limit: usize,
    budget: Arc<Semaphore>,
) -> std::result::Result<(Vec<u8>, Option<OwnedSemaphorePermit>), NotReceived> {
    let mut kept = Vec::new();
    let mut held: Option<OwnedSemaphorePermit> = None;
    let mut total: u64 = 0;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(NotReceived::Broken)?;
        total += chunk.len() as u64;
        if total > DRAIN_LIMIT {
            break;
        }
        if total > limit as u64 {
            // Read only to be dropped; what was kept is dropped now.
            kept = Vec::new();
            held = None;
            continue;
        }
        let share = u32::try_from(chunk.len()).map_err(|_| NotReceived::TooLarge(limit))?;
        let permit = budget
            .clone()
            .acquire_many_owned(share)
            .await
            .map_err(|_| NotReceived::Closing)?;
        match held.as_mut() {
            Some(held) => held.merge(permit),
            None => held = Some(permit),
        }
        kept.extend_from_slice(&chunk);
    }
    if total > limit as u64 {
        return Err(NotReceived::TooLarge(limit));
    }
    Ok((kept, held))
}
