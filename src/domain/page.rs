//! Listings: which rows, where a page starts, and what a page holds.

use super::{TaskId, Timestamp};

/// Which tasks a listing shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TaskFilter {
    /// Only tasks whose expiry is strictly before this instant.
    pub expires_before: Option<Timestamp>,
    /// Only tasks whose expiry is at or after this instant.
    pub expires_after: Option<Timestamp>,
}

/// Which warnings a listing shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NotificationFilter {
    pub task_id: Option<TaskId>,
}

/// Where a page starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageStart {
    /// Skip this many matching rows. The database still walks past them, so
    /// a deep offset costs time in proportion to its depth.
    Offset(u64),
    /// Start just past this id in the listing's order (keyset paging): the
    /// cost of a page does not grow with its depth, and rows inserted or
    /// deleted meanwhile never shift a page.
    After(i64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub start: PageStart,
    /// Count every matching row too; that costs a scan of them all.
    pub count_total: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Every matching row, on all pages; only when asked for.
    pub total: Option<u64>,
    /// The keyset position of the next page, when more rows follow.
    pub next: Option<i64>,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            next: self.next,
        }
    }
}
