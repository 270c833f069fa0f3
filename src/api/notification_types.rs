//! The notification wire types.

use poem_openapi::types::ToJSON;
use poem_openapi::{Enum, Object};

use super::time::ApiTime;
use crate::domain::{DeliveryState, Notification, NotificationKind};

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename = "NotificationKind", rename_all = "lowercase")]
pub enum KindBody {
    /// The task expires within the warning window.
    Expiring,
    /// The task's expiry has passed.
    Expired,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename = "DeliveryState", rename_all = "lowercase")]
pub enum DeliveryStateBody {
    /// No webhook was configured when the warning was produced.
    None,
    /// Waiting for its first or next webhook attempt.
    Pending,
    /// The webhook answered 2xx.
    Delivered,
    /// Every attempt failed; no more are made.
    Failed,
}

/// An expiry warning, produced exactly once per task and expiry.
#[derive(Object, Debug, Clone)]
#[oai(rename = "Notification", example)]
pub struct NotificationBody {
    /// Stable; webhook receivers get it as `X-Delivery-Id`.
    pub id: i64,
    pub task_id: i64,
    /// The task's title when the warning was produced.
    pub title: String,
    pub kind: KindBody,
    /// The expiry warned about, in UTC.
    pub expiry_dt: ApiTime,
    /// When the warning was produced, in UTC.
    pub notified_at: ApiTime,
    /// Produced later than it fell due, e.g. because the service was down.
    pub late: bool,
    pub delivery_state: DeliveryStateBody,
    /// Webhook attempts made so far.
    pub delivery_attempts: u32,
    /// Why the last webhook attempt failed: the webhook's origin and the
    /// kind of failure (never its path, query or credentials).
    #[oai(nullable)]
    pub last_delivery_error: Option<String>,
    /// When the webhook accepted it, in UTC.
    #[oai(nullable)]
    pub delivered_at: Option<ApiTime>,
}

impl From<&Notification> for NotificationBody {
    fn from(n: &Notification) -> Self {
        Self {
            id: n.id,
            task_id: n.task_id.get(),
            title: n.title.as_str().to_owned(),
            kind: match n.kind {
                NotificationKind::Expiring => KindBody::Expiring,
                NotificationKind::Expired => KindBody::Expired,
            },
            expiry_dt: n.expiry_dt.into(),
            notified_at: n.notified_at.into(),
            late: n.late,
            delivery_state: match n.delivery.state {
                DeliveryState::None => DeliveryStateBody::None,
                DeliveryState::Pending => DeliveryStateBody::Pending,
                DeliveryState::Delivered => DeliveryStateBody::Delivered,
                DeliveryState::Failed => DeliveryStateBody::Failed,
            },
            delivery_attempts: n.delivery.attempts,
            last_delivery_error: n.delivery.last_error.clone(),
            delivered_at: n.delivery.delivered_at.map(ApiTime::from),
        }
    }
}

/// The JSON document of a notification, as the API, the stream and the
/// webhook all send it.
pub fn render(notification: &Notification) -> String {
    NotificationBody::from(notification)
        .to_json()
        .unwrap_or_default()
        .to_string()
}

/// A page of notifications.
#[derive(Object, Debug, Clone)]
#[oai(rename = "NotificationPage", example)]
pub struct NotificationPage {
    /// Newest first.
    pub notifications: Vec<NotificationBody>,
    pub limit: u32,
    /// How many matching warnings were skipped (0 on a cursor page).
    pub offset: u64,
    /// Pass as `cursor` for the next (older) page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
    /// How many warnings match, on all pages; only with `count=true`.
    #[oai(skip_serializing_if_is_none)]
    pub total: Option<u64>,
}
