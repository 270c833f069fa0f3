//! `/v1/notifications`: the warning history and its live stream.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use poem_openapi::OpenApi;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{EventStream, Json};
use tokio::sync::watch;
use tokio_stream::wrappers::BroadcastStream;

use super::ApiTags;
use super::auth::ApiAuth;
use super::notification_types::{NotificationBody, NotificationPage};
use super::problem::ApiError;
use crate::domain::TaskId;
use crate::expiry::Delivery;
use crate::service::TaskService;
use crate::store::{NotificationStore, PageRequest};

pub struct NotificationsApi {
    pub store: Arc<dyn NotificationStore>,
    pub tasks: Arc<TaskService>,
    pub feed: Arc<Delivery>,
    /// Turns true at shutdown, which ends every open stream.
    pub shutdown: watch::Receiver<bool>,
}

/// Comments keep idle proxies from closing a quiet stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

impl NotificationsApi {
    async fn page(
        &self,
        task_id: Option<TaskId>,
        limit: u32,
        offset: u64,
    ) -> Result<NotificationPage, ApiError> {
        let page = PageRequest { limit, offset };
        let found = self.store.list_notifications(task_id, page).await?;
        Ok(NotificationPage {
            notifications: found.items.iter().map(NotificationBody::from).collect(),
            total: found.total,
            limit,
            offset,
        })
    }
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Notifications")]
impl NotificationsApi {
    /// List expiry warnings
    ///
    /// Every warning produced, newest first, optionally for one task.
    #[oai(
        path = "/notifications",
        method = "get",
        operation_id = "list_notifications"
    )]
    async fn list_notifications(
        &self,
        _auth: ApiAuth,
        /// Only this task's warnings.
        #[oai(validator(minimum(value = "1")))]
        task_id: Query<Option<i64>>,
        /// Page size.
        #[oai(
            default = "super::default_page_size",
            validator(minimum(value = "1"), maximum(value = "1000"))
        )]
        limit: Query<u32>,
        /// How many matching warnings to skip.
        // A round bound: poem-openapi compares and prints bounds as f64.
        #[oai(
            default,
            validator(minimum(value = "0"), maximum(value = "1000000000000000"))
        )]
        offset: Query<u64>,
    ) -> Result<Json<NotificationPage>, ApiError> {
        let task_id = task_id
            .0
            .map(TaskId::parse)
            .transpose()
            .map_err(|err| ApiError::invalid_field("task_id", &err))?;
        Ok(Json(self.page(task_id, limit.0, offset.0).await?))
    }

    /// Stream new expiry warnings
    ///
    /// Server-Sent Events: one `data:` line of Notification JSON per new
    /// warning, as it is produced. Past warnings are in `list_notifications`.
    #[oai(
        path = "/notifications/stream",
        method = "get",
        operation_id = "stream_notifications"
    )]
    async fn stream_notifications(
        &self,
        _auth: ApiAuth,
    ) -> Result<EventStream<BoxStream<'static, NotificationBody>>, ApiError> {
        let mut shutdown = self.shutdown.clone();
        let stopping = async move {
            let _ = shutdown.wait_for(|stopping| *stopping).await;
        };
        let warnings = BroadcastStream::new(self.feed.subscribe())
            // A lagging subscriber misses what it could not keep up with;
            // the history still has it.
            .filter_map(|item| async move { item.ok().map(|n| NotificationBody::from(&n)) })
            .take_until(stopping)
            .boxed();
        Ok(EventStream::new(warnings).keep_alive(KEEP_ALIVE))
    }

    /// List a task's expiry warnings
    ///
    /// Newest first. The history outlives the task: a deleted task's
    /// warnings are still listed; 404 only when there is neither.
    #[oai(
        path = "/tasks/:id/notifications",
        method = "get",
        operation_id = "list_task_notifications"
    )]
    async fn list_task_notifications(
        &self,
        _auth: ApiAuth,
        /// The task's id.
        #[oai(validator(minimum(value = "1")))]
        id: Path<i64>,
        /// Page size.
        #[oai(
            default = "super::default_page_size",
            validator(minimum(value = "1"), maximum(value = "1000"))
        )]
        limit: Query<u32>,
        /// How many of the task's warnings to skip.
        // A round bound: poem-openapi compares and prints bounds as f64.
        #[oai(
            default,
            validator(minimum(value = "0"), maximum(value = "1000000000000000"))
        )]
        offset: Query<u64>,
    ) -> Result<Json<NotificationPage>, ApiError> {
        let id = TaskId::parse(id.0).map_err(|err| ApiError::invalid_field("id", &err))?;
        let page = self.page(Some(id), limit.0, offset.0).await?;
        if page.total == 0 && self.tasks.get(id).await?.is_none() {
            return Err(ApiError::not_found(vec![id]));
        }
        Ok(Json(page))
    }
}
