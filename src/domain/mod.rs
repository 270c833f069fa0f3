//! The task model and its rules, free of HTTP and SQL.

mod archive;
mod clock;
mod idempotency;
mod label;
mod notification;
mod page;
mod precondition;
mod priority;
mod search;
mod task;
mod time;

pub use archive::{
    ARCHIVE_FORMAT, ARCHIVE_VERSION, ArchiveEnd, ArchiveHeader, ArchiveRecord,
    ArchivedNotification, ArchivedTask, OLDEST_ARCHIVE_VERSION,
};
pub use clock::{Clock, SystemClock};
pub use idempotency::{Created, IdempotencyKey, IdempotentCreate, MAX_IDEMPOTENCY_KEY_CHARS};
pub use label::{Label, Labels, MAX_LABEL_CHARS, MAX_LABELS};
pub use notification::{
    Claim, Delivery, DeliveryState, Notification, NotificationKind, PendingExpiry,
};
pub use page::{
    NotificationFilter, Page, PageRequest, PageStart, SortDirection, TaskFilter, TaskOrder,
    TaskPosition, TaskSort,
};
pub use precondition::Precondition;
pub use priority::{MAX_PRIORITY, MIN_PRIORITY, Priority, PriorityRange};
pub use search::{MAX_QUERY_CHARS, MAX_WORD_CHARS, MIN_WORD_CHARS, TextQuery};
pub use task::{
    Description, MAX_BULK, MAX_DESCRIPTION_BYTES, MAX_TITLE_CHARS, StatusChange, Task, TaskDraft,
    TaskId, TaskIds, TaskPatch, TaskStatus, Title, TitleEdit, ValidationError,
};
pub use time::Timestamp;
