use super::Task;

/// A client's `If-Match`: the write goes ahead only if the task is still at
/// one of the versions it names. A task's version is its `update_dt` in
/// microseconds (0 for a row whose `update_dt` cannot be read).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Precondition {
    /// No condition, or `If-Match: *`: any existing task.
    #[default]
    Any,
    /// Only if the task's version is one of these.
    OneOf(Vec<i64>),
}

impl Precondition {
    pub fn holds_for(&self, task: &Task) -> bool {
        match self {
            Self::Any => true,
            Self::OneOf(versions) => versions.contains(&task.version()),
        }
    }
}
