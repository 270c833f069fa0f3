//! The use cases the API offers, over the store and the expiry service.
//! Handlers talk to these only.

mod error;
mod health;
mod notifications;
mod tasks;

pub use error::{ServiceError, ServiceResult, Unavailable};
pub use health::DatabaseHealth;
pub use notifications::NotificationService;
pub use tasks::TaskService;
