//! Listings: which rows, where a page starts, and what a page holds.

use super::{Label, Priority, PriorityRange, Task, TaskId, TaskStatus, TextQuery, Timestamp};

/// Which tasks a listing shows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TaskFilter {
    /// Only tasks whose expiry is strictly before this instant.
    pub expires_before: Option<Timestamp>,
    /// Only tasks whose expiry is at or after this instant.
    pub expires_after: Option<Timestamp>,
    /// Only tasks in this state (as [`TaskStatus::from_stored`] reads it).
    pub status: Option<TaskStatus>,
    /// Only tasks with a priority in this range.
    pub priority: Option<PriorityRange>,
    /// Only tasks whose title or description holds every word of this.
    pub search: Option<TextQuery>,
    /// Only tasks with every one of these labels (each at most once).
    pub labels: Vec<Label>,
}

/// What a task listing is ordered by. Ties are broken by id, in the same
/// direction; tasks without the key (no expiry) come last in both
/// directions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TaskSort {
    #[default]
    Id,
    ExpiryDt,
    UpdateDt,
    CreateDt,
    Priority,
}

impl TaskSort {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::ExpiryDt => "expiry_dt",
            Self::UpdateDt => "update_dt",
            Self::CreateDt => "create_dt",
            Self::Priority => "priority",
        }
    }

    /// The task's value of this key as a keyset position holds it
    /// (microseconds for a time): `None` for the id sort, which has no
    /// key besides the id, and for a task without one.
    pub fn key_of(self, task: &Task) -> Option<i64> {
        let time = match self {
            Self::Id => return None,
            Self::Priority => return task.priority.map(Priority::get),
            Self::ExpiryDt => task.expiry_dt,
            Self::UpdateDt => task.update_dt,
            Self::CreateDt => task.create_dt,
        };
        time.map(Timestamp::micros)
    }

    /// Whether `key` can be a value of this key (a cursor's, say).
    pub fn admits(self, key: i64) -> bool {
        match self {
            Self::Id => false,
            // As stored: another tool may have written any integer.
            Self::Priority => true,
            Self::ExpiryDt | Self::UpdateDt | Self::CreateDt => {
                Timestamp::from_micros(key).is_some()
            }
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SortDirection {
    #[default]
    Asc,
    Desc,
}

impl SortDirection {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Asc => "asc",
            Self::Desc => "desc",
        }
    }
}

/// A task listing's order: by id ascending unless asked otherwise.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TaskOrder {
    pub sort: TaskSort,
    pub direction: SortDirection,
}

/// Where the next page of a task listing starts: just past this task, in
/// the listing's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskPosition {
    pub id: i64,
    /// The task's value of the sort key ([`TaskSort::key_of`]); `None` for
    /// the id sort, and in the tail of tasks without one.
    pub key: Option<i64>,
    /// For a sort by anything but id: the newest version (`update_dt`) in
    /// the table when the walk began. A task changed since is left out of
    /// the walk's later pages, since a change can move it past the
    /// position, where it would be shown a second time. (Versions are
    /// stamped before their write commits: a change in flight when the walk
    /// began, or from a writer whose clock runs behind, can still get a
    /// version at or below this one.)
    pub as_of: Option<Timestamp>,
}

impl TaskPosition {
    /// The position just past `task` in a walk under `order`.
    pub fn after(task: &Task, order: TaskOrder, as_of: Option<Timestamp>) -> Self {
        Self {
            id: task.id.get(),
            key: order.sort.key_of(task),
            as_of: (order.sort != TaskSort::Id).then_some(as_of).flatten(),
        }
    }
}

/// Which warnings a listing shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NotificationFilter {
    pub task_id: Option<TaskId>,
}

/// Where a page starts; `P` is a keyset position (an id, for a listing
/// by id alone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageStart<P = i64> {
    /// Skip this many matching rows. The database still walks past them, so
    /// a deep offset costs time in proportion to its depth.
    Offset(u64),
    /// Start just past this position in the listing's order (keyset
    /// paging): the cost of a page does not grow with its depth, and rows
    /// inserted or deleted meanwhile never shift a page.
    After(P),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest<P = i64> {
    pub limit: u32,
    pub start: PageStart<P>,
    /// Count every matching row too; that costs a scan of them all.
    pub count_total: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T, P = i64> {
    pub items: Vec<T>,
    /// Every matching row, on all pages; only when asked for.
    pub total: Option<u64>,
    /// The keyset position of the next page, when more rows follow.
    pub next: Option<P>,
}

impl<T, P> Page<T, P> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U, P> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            next: self.next,
        }
    }
}
