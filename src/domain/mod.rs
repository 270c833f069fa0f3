//! The task model and its rules, free of HTTP and SQL.

mod clock;
mod notification;
mod precondition;
mod task;
mod time;

pub use clock::{Clock, SystemClock};
pub use notification::{Claim, Delivery, DeliveryState, Notification, NotificationKind};
pub use precondition::Precondition;
pub use task::{
    Description, MAX_DESCRIPTION_BYTES, MAX_TITLE_CHARS, Task, TaskDraft, TaskId, TaskPatch, Title,
    ValidationError,
};
pub use time::Timestamp;
