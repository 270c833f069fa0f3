//! `/v1/notifications`: the warning history and its live, resumable stream.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use poem::web::Data;
use poem::web::sse::Event;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::api_error::ApiError;
use super::auth::ApiAuth;
use super::headers::LastEventId;
use super::notification_types::{NotificationBody, NotificationPage, render};
use super::operations::{ListNotifications, ListTaskNotifications, StreamNotifications};
use super::paging::{self, Cursor, Listing};
use super::{ApiState, ApiTags};
use crate::domain::{Notification, NotificationFilter, Page, PageRequest, PageStart, TaskId};
use crate::edge::event_stream::EventStreamBody;
use crate::edge::headers::RawHeader;
use crate::edge::problem::Problem;
use crate::metrics::HttpMetrics;

pub struct NotificationsApi;

/// How many event streams may be open at once, and how often an idle one
/// gets a keep-alive comment (which is also how a vanished client is found).
#[derive(Clone)]
pub struct StreamLimits {
    permits: Arc<Semaphore>,
    pub keep_alive: Duration,
}

impl StreamLimits {
    pub fn new(max_streams: usize, keep_alive: Duration) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max_streams)),
            keep_alive,
        }
    }
}

#[derive(ApiResponse)]
enum NotificationPageResponse {
    /// A page of warnings, newest first; `Link` points to the next one, if any.
    #[oai(status = 200)]
    Ok(
        Json<NotificationPage>,
        #[oai(header = "Link")] Option<String>,
    ),
}

#[derive(ApiResponse)]
enum Stream {
    /// Server-Sent Events, one per new warning, until the client or the
    /// server goes. A client that reconnects with `Last-Event-ID` first
    /// gets every warning it missed, from the history.
    #[oai(status = 200)]
    Ok(EventStreamBody),
}

fn page_response(
    request: &poem::Request,
    found: Page<Notification>,
    page: PageRequest,
    filters: &str,
) -> NotificationPageResponse {
    let next_cursor = found
        .next
        .map(|after| paging::encode(Listing::Notifications, after, filters));
    let link = next_cursor
        .as_deref()
        .map(|next| paging::next_link(request.uri().path(), request.uri().query(), next));
    let offset = match page.start {
        PageStart::Offset(offset) => offset,
        PageStart::After(_) => 0,
    };
    NotificationPageResponse::Ok(
        Json(NotificationPage {
            notifications: found.items.iter().map(NotificationBody::from).collect(),
            limit: page.limit,
            offset,
            next_cursor,
            total: found.total,
        }),
        link,
    )
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Notifications")]
impl NotificationsApi {
    /// List expiry warnings
    ///
    /// Every warning produced, newest first, optionally for one task (also
    /// one that has since been deleted).
    #[oai(
        path = "/notifications",
        method = "get",
        operation_id = "list_notifications"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn list_notifications(
        &self,
        _auth: ApiAuth,
        state: Data<&ApiState>,
        request: &poem::Request,
        /// Only this task's warnings.
        #[oai(validator(minimum(value = "1")))]
        task_id: Query<Option<i64>>,
        /// Page size.
        #[oai(
            default = "super::default_page_size",
            validator(minimum(value = "1"), maximum(value = "1000"))
        )]
        limit: Query<u32>,
        /// How many matching warnings to skip. Not with `cursor`.
        // A round bound: poem-openapi compares and prints bounds as f64.
        #[oai(
            default,
            validator(minimum(value = "0"), maximum(value = "1000000000000000"))
        )]
        offset: Query<u64>,
        /// Where the page starts: the `next_cursor` of the page before.
        cursor: Query<Option<Cursor>>,
        /// Also count every matching warning (`total`); that reads them all.
        #[oai(default)]
        count: Query<bool>,
    ) -> Result<NotificationPageResponse, ApiError<ListNotifications>> {
        let task_id = task_id
            .0
            .map(TaskId::parse)
            .transpose()
            .map_err(|err| ApiError::invalid_field("task_id", &err))?;
        let filters = paging::filter_key(&[task_id.map(|id| id.to_string())]);
        let page = paging::page_request(
            Listing::Notifications,
            limit.0,
            offset.0,
            cursor.0.as_ref().map(Cursor::as_str),
            count.0,
            &filters,
        )
        .map_err(ApiError::invalid)?;
        let found = state
            .notifications
            .list(NotificationFilter { task_id }, page)
            .await?;
        Ok(page_response(request, found, page, &filters))
    }

    /// Stream new expiry warnings
    ///
    /// Server-Sent Events (`text/event-stream`): `retry:` first, then per
    /// new warning one event whose `id:` is the notification's id and whose
    /// `data:` is the Notification as JSON; comment lines keep an idle
    /// connection alive. Events come in increasing id order, every
    /// replica's warnings on every replica's stream. Reconnect with
    /// `Last-Event-ID` to get what was missed meanwhile first (from the
    /// history), then live warnings, none twice and none left out. Generated clients see the body as text: read it with an SSE
    /// client (EventSource, `curl -N`, Python `httpx-sse`).
    ///
    /// **Not for "Try it out"**: the stream never ends, so Swagger UI waits
    /// for it forever. Use `curl -N http://HOST/v1/notifications/stream`
    /// (add `-H 'Last-Event-ID: 41'` to resume), or in a browser
    /// `new EventSource("/v1/notifications/stream")` and its `message`
    /// events.
    #[oai(
        path = "/notifications/stream",
        method = "get",
        operation_id = "stream_notifications"
    )]
    async fn stream_notifications(
        &self,
        _auth: ApiAuth,
        state: Data<&ApiState>,
        /// Resume after this event id.
        #[oai(name = "Last-Event-ID")]
        last_event_id: RawHeader<LastEventId>,
    ) -> Result<Stream, ApiError<StreamNotifications>> {
        let permit = state
            .streams
            .permits
            .clone()
            .try_acquire_owned()
            .map_err(|_| {
                state
                    .metrics
                    .http
                    .shed
                    .get_or_create(&crate::metrics::ShedLabels { limit: "streams" })
                    .inc();
                ApiError::new(Problem::unavailable(
                    "too many event streams are open; try again shortly",
                ))
            })?;
        let open = OpenStream::new(permit, state.metrics.http.clone());
        let mut shutdown = state.shutdown.clone();
        let stopping = async move {
            let _ = shutdown.wait_for(|stopping| *stopping).await;
        };
        let events = state
            .notifications
            .follow(last_event_id.0.map(|last| last.0))
            .map(move |notification| {
                // Held by the stream: dropped, and counted down, with it.
                let _open = &open;
                Event::message(render(&notification)).id(notification.id.to_string())
            })
            .take_until(stopping)
            .boxed();
        Ok(Stream::Ok(EventStreamBody::new(
            events,
            state.streams.keep_alive,
        )))
    }

    /// List a task's expiry warnings
    ///
    /// Newest first. 404 once the task is deleted; its history stays
    /// listed under `list_notifications` with `task_id`.
    #[oai(
        path = "/tasks/:id/notifications",
        method = "get",
        operation_id = "list_task_notifications"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn list_task_notifications(
        &self,
        _auth: ApiAuth,
        state: Data<&ApiState>,
        request: &poem::Request,
        /// The task's id.
        #[oai(validator(minimum(value = "1")))]
        id: Path<i64>,
        /// Page size.
        #[oai(
            default = "super::default_page_size",
            validator(minimum(value = "1"), maximum(value = "1000"))
        )]
        limit: Query<u32>,
        /// How many of the task's warnings to skip. Not with `cursor`.
        // A round bound: poem-openapi compares and prints bounds as f64.
        #[oai(
            default,
            validator(minimum(value = "0"), maximum(value = "1000000000000000"))
        )]
        offset: Query<u64>,
        /// Where the page starts: the `next_cursor` of the page before.
        cursor: Query<Option<Cursor>>,
        /// Also count every warning of the task (`total`).
        #[oai(default)]
        count: Query<bool>,
    ) -> Result<NotificationPageResponse, ApiError<ListTaskNotifications>> {
        let id = TaskId::parse(id.0).map_err(|err| ApiError::invalid_field("id", &err))?;
        let filters = paging::filter_key(&[Some(id.to_string())]);
        let page = paging::page_request(
            Listing::Notifications,
            limit.0,
            offset.0,
            cursor.0.as_ref().map(Cursor::as_str),
            count.0,
            &filters,
        )
        .map_err(ApiError::invalid)?;
        let found = state
            .notifications
            .of_task(id, page)
            .await?
            .ok_or_else(|| ApiError::not_found(vec![id]))?;
        Ok(page_response(request, found, page, &filters))
    }
}

/// An open event stream: holds its place under the limit and counts itself
/// in the metrics while it lives.
struct OpenStream {
    _permit: OwnedSemaphorePermit,
    metrics: HttpMetrics,
}

impl OpenStream {
    fn new(permit: OwnedSemaphorePermit, metrics: HttpMetrics) -> Self {
        metrics.open_streams.inc();
        Self {
            _permit: permit,
            metrics,
        }
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.metrics.open_streams.dec();
    }
}
