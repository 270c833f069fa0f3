//! Refuses request bodies over 1 MiB with 413, whether or not the client
//! announced the length. (poem has no body limit of its own.)

use futures_util::StreamExt;
use poem::http::StatusCode;
use poem::{Endpoint, Middleware, Request, Result};

pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// An oversized body is still read (and dropped) up to this size before the
/// 413 goes out: a client that is still sending when the server answers and
/// closes sees a reset connection instead of our answer. Bodies larger than
/// this are cut off at once.
const DRAIN_LIMIT: u64 = 16 * 1024 * 1024;

pub struct BodyLimit;

/// Marks a request that came with a body, for handlers that take none.
#[derive(Clone, Copy, Debug)]
struct ReceivedBody;

/// Whether the request came with a (non-empty) body.
pub fn has_body(request: &Request) -> bool {
    request.data::<ReceivedBody>().is_some()
}

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        BodyLimitEndpoint { inner }
    }
}

pub struct BodyLimitEndpoint<E> {
    inner: E,
}

fn too_large() -> poem::Error {
    poem::Error::from_string(
        format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
        StatusCode::PAYLOAD_TOO_LARGE,
    )
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let announced = req
            .header("content-length")
            .and_then(|len| len.parse::<u64>().ok());
        if announced.is_some_and(|len| len > DRAIN_LIMIT) {
            return Err(too_large());
        }
        let body = req.take_body();
        if !body.is_empty() {
            let mut chunks = body.into_bytes_stream();
            let mut kept = Vec::new();
            let mut total: u64 = 0;
            while let Some(chunk) = chunks.next().await {
                let chunk = chunk.map_err(|err| poem::Error::new(err, StatusCode::BAD_REQUEST))?;
                total += chunk.len() as u64;
                if total > DRAIN_LIMIT {
                    break;
                }
                if total <= MAX_BODY_BYTES as u64 {
                    kept.extend_from_slice(&chunk);
                }
            }
            if total > MAX_BODY_BYTES as u64 {
                return Err(too_large());
            }
            if !kept.is_empty() {
                req.set_data(ReceivedBody);
            }
            req.set_body(kept);
        }
        self.inner.call(req).await
    }
}
