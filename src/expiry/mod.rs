//! Expiry warnings: an in-memory cache of upcoming expiries, a tick loop that
//! claims due warnings in the database, and their delivery.

mod cache;
mod handle;

pub use cache::{DueExpiry, ExpiryCache};
pub use handle::ExpiryHandle;
