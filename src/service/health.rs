//! [`DatabaseHealth`]: whether the database can serve, as the health check
//! reports it.

use crate::store;

/// Whether the database is reachable, and whether it can write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatabaseHealth {
    Ok,
    /// Reachable, but writes fail (disk full, read-only, I/O errors).
    Degraded,
    Unavailable,
}

impl From<store::DatabaseHealth> for DatabaseHealth {
    fn from(health: store::DatabaseHealth) -> Self {
        match health {
            store::DatabaseHealth::Ok => Self::Ok,
            store::DatabaseHealth::Degraded => Self::Degraded,
            store::DatabaseHealth::Unavailable => Self::Unavailable,
        }
    }
}
