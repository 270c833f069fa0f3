//! The event stream's body. poem-openapi's `EventStream` describes itself
//! as a JSON array, which generated clients then try to parse; here the
//! body is declared as text (see `spec.rs` for the event's schema), and
//! each event carries its `id:`, after a `retry:` hint.

use std::time::Duration;

use futures_util::stream::{self, BoxStream, StreamExt};
use poem::web::sse::{Event, SSE};
use poem::{IntoResponse, Response};
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};

/// How long a client should wait before reconnecting, in milliseconds.
const RETRY_MILLIS: u64 = 3_000;

pub struct EventStreamBody {
    events: BoxStream<'static, Event>,
    keep_alive: Duration,
}

impl EventStreamBody {
    /// Sends a `retry:` hint, then `events`, with a keep-alive comment
    /// whenever `keep_alive` passes without one. The comments also find a
    /// client that has gone: writing to its closed connection fails, and
    /// the stream (with everything it holds) is dropped.
    pub fn new(events: BoxStream<'static, Event>, keep_alive: Duration) -> Self {
        Self {
            events: stream::once(async { Event::retry(RETRY_MILLIS) })
                .chain(events)
                .boxed(),
            keep_alive,
        }
    }
}

impl Payload for EventStreamBody {
    const CONTENT_TYPE: &'static str = "text/event-stream";

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            description: Some(
                "Server-Sent Events (text). Each event: `id:` the notification's id, \
                 `data:` the Notification as JSON (schema in `x-event-schema`); \
                 comment lines keep the connection alive.",
            ),
            ..MetaSchema::new("string")
        }))
    }
}

impl IntoResponse for EventStreamBody {
    fn into_response(self) -> Response {
        let mut response = SSE::new(self.events)
            .keep_alive(self.keep_alive)
            .into_response();
        // A reverse proxy (nginx) must not hold events back to fill a
        // buffer, whatever its `proxy_buffering`.
        response.headers_mut().insert(
            "x-accel-buffering",
            poem::http::HeaderValue::from_static("no"),
        );
        response
    }
}
