//! The task wire types, and how request bodies become domain values.

use poem_openapi::types::MaybeUndefined;
use poem_openapi::{Enum, Object};
use serde_json::Value;

use super::input::{self, read_object};
use super::problem::FieldError;
use super::support::json_body::RequestBody;
use super::support::json_string::{DescriptionText, TitleText};
use super::time::ApiTime;
use crate::domain::{Task, TaskDraft, TaskId, TaskPatch, TaskStatus};

/// The most tasks one bulk request may name.
pub const MAX_BULK: usize = 1000;

/// A stored task. Everything the service wrote is here as written; a row
/// another tool wrote is served as faithfully as JSON allows: a missing
/// title as `""`, and a time that cannot be read as `null` (the server
/// logs which row).
#[derive(Object, Debug, Clone)]
#[oai(rename = "Task", example)]
pub struct TaskBody {
    /// Assigned by the service.
    pub id: i64,
    pub title: String,
    #[oai(nullable)]
    pub description: Option<String>,
    /// When the task expires, in UTC.
    #[oai(nullable)]
    pub expiry_dt: Option<ApiTime>,
    /// When the task was created, in UTC (`null` only for a row another
    /// tool wrote with a date that cannot be read).
    #[oai(nullable)]
    pub create_dt: Option<ApiTime>,
    /// When the task was last changed, in UTC: its version, as in `ETag`
    /// (`null` only as for `create_dt`).
    #[oai(nullable)]
    pub update_dt: Option<ApiTime>,
    /// `open` until the task is completed (`POST /v1/tasks/{id}/complete`),
    /// `done` until it is reopened. A done task gets no expiry warning.
    pub status: TaskStatusBody,
    /// When the task was completed, in UTC; `null` while it is open.
    #[oai(nullable)]
    pub completed_dt: Option<ApiTime>,
}

/// Whether a task is still to be done.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename = "TaskStatus", rename_all = "lowercase")]
pub enum TaskStatusBody {
    /// Still to be done; warned about before its expiry.
    Open,
    /// Completed; no warning comes.
    Done,
}

impl From<TaskStatus> for TaskStatusBody {
    fn from(status: TaskStatus) -> Self {
        match status {
            TaskStatus::Open => Self::Open,
            TaskStatus::Done => Self::Done,
        }
    }
}

impl From<Task> for TaskBody {
    fn from(task: Task) -> Self {
        Self {
            id: task.id.get(),
            title: task.title.as_str().to_owned(),
            description: task.description.map(|d| d.as_str().to_owned()),
            expiry_dt: task.expiry_dt.map(ApiTime::from),
            create_dt: task.create_dt.map(ApiTime::from),
            update_dt: task.update_dt.map(ApiTime::from),
            status: task.status.into(),
            completed_dt: task.completed_dt.map(ApiTime::from),
        }
    }
}

/// A new task. Unknown fields are refused.
#[derive(Object, Debug, Clone)]
#[oai(rename = "TaskInput", example)]
pub struct TaskInput {
    /// 1 to 255 characters, no control characters; white space around it
    /// is removed.
    pub title: TitleText,
    /// Free text of up to 65,535 bytes (UTF-8), stored verbatim.
    #[oai(nullable)]
    pub description: Option<DescriptionText>,
    /// When the task expires: RFC 3339 with an offset, e.g. `2026-01-01T10:00:00+08:00`.
    #[oai(nullable)]
    pub expiry_dt: Option<ApiTime>,
}

impl RequestBody for TaskInput {
    type Parsed = TaskDraft;

    fn parse(value: Value) -> Result<TaskDraft, Vec<FieldError>> {
        read_object(value, input::draft)
    }
}

/// The new content of a task (`PUT`): a field left out keeps its value,
/// `null` clears `description` or `expiry_dt` (the original service's
/// rule). `title` may not be null. Unknown fields are refused.
#[derive(Object, Debug, Clone)]
#[oai(rename = "TaskUpdate", example)]
pub struct TaskUpdate {
    /// 1 to 255 characters, no control characters; white space around it
    /// is removed. Left out, the title stays. The title a task was served
    /// with is always accepted back unchanged, even one another tool wrote
    /// that breaks these rules (such as `""`).
    pub title: Option<TitleText>,
    /// Free text of up to 65,535 bytes (UTF-8), stored verbatim; `null`
    /// clears it, left out it stays.
    #[oai(nullable)]
    pub description: MaybeUndefined<DescriptionText>,
    /// When the task expires: RFC 3339 with an offset; `null` clears it,
    /// left out it stays.
    #[oai(nullable)]
    pub expiry_dt: MaybeUndefined<ApiTime>,
}

impl RequestBody for TaskUpdate {
    type Parsed = TaskPatch;

    fn parse(value: Value) -> Result<TaskPatch, Vec<FieldError>> {
        read_object(value, input::patch)
    }
}

/// One task of a bulk replace: its id and its new content, as with
/// `PUT /v1/tasks/{id}`: a field left out keeps its value, `null` clears
/// `description` or `expiry_dt`.
#[derive(Object, Debug, Clone)]
#[oai(rename = "TaskReplacement", example)]
pub struct TaskReplacement {
    /// The id of an existing task.
    #[oai(validator(minimum(value = "1")))]
    pub id: i64,
    /// 1 to 255 characters, no control characters; white space around it
    /// is removed. Left out, the title stays; the title a task was served
    /// with is always accepted back unchanged.
    pub title: Option<TitleText>,
    /// Free text of up to 65,535 bytes (UTF-8), stored verbatim; `null`
    /// clears it, left out it stays.
    #[oai(nullable)]
    pub description: MaybeUndefined<DescriptionText>,
    /// When the task expires: RFC 3339 with an offset; `null` clears it,
    /// left out it stays.
    #[oai(nullable)]
    pub expiry_dt: MaybeUndefined<ApiTime>,
}

/// A JSON merge patch of a task: an absent field stays as it is, `null`
/// clears `description` or `expiry_dt`. `title` may not be null.
#[derive(Object, Debug, Clone)]
#[oai(rename = "TaskPatch", example)]
pub struct TaskPatchInput {
    /// 1 to 255 characters, no control characters; white space around it
    /// is removed.
    pub title: MaybeUndefined<TitleText>,
    /// Free text of up to 65,535 bytes, or `null` to clear it.
    #[oai(nullable)]
    pub description: MaybeUndefined<DescriptionText>,
    /// A new expiry (RFC 3339 with an offset), or `null` to clear it.
    #[oai(nullable)]
    pub expiry_dt: MaybeUndefined<ApiTime>,
}

impl RequestBody for TaskPatchInput {
    type Parsed = TaskPatch;

    fn parse(value: Value) -> Result<TaskPatch, Vec<FieldError>> {
        read_object(value, input::patch)
    }
}

/// The body of a bulk replace.
#[derive(Object, Debug, Clone)]
#[oai(rename = "TaskReplacements", example)]
pub struct TaskReplacements {
    /// At most 1,000 tasks, each id at most once (a repeated id is 422).
    #[oai(validator(max_items = 1000))]
    pub tasks: Vec<TaskReplacement>,
}

/// A bulk replace as read: the items, or the ids named more than once.
pub enum Replacements {
    Unique(Vec<(TaskId, TaskPatch)>),
    /// Well-formed, but one id twice: 422, not 400 (JSON Schema cannot
    /// say "unique by id").
    Repeated(Vec<FieldError>),
}

impl RequestBody for TaskReplacements {
    type Parsed = Replacements;

    fn parse(value: Value) -> Result<Replacements, Vec<FieldError>> {
        let items = read_object(value, |fields| {
            let items = fields.array("tasks")?;
            let mut ok = true;
            let mut read = Vec::with_capacity(items.len());
            if items.len() > MAX_BULK {
                fields.report("tasks", format!("must hold at most {MAX_BULK} tasks"));
                return None;
            }
            for (index, item) in items.into_iter().enumerate() {
                let prefix = format!("tasks[{index}].");
                let parsed = fields.nested(item, &prefix, |item| {
                    let id = item.id();
                    let patch = input::patch(item);
                    Some((id?, patch?))
                });
                match parsed {
                    Some(pair) => read.push(pair),
                    None => ok = false,
                }
            }
            ok.then_some(read)
        })?;
        let mut seen = std::collections::HashSet::new();
        let repeated: Vec<FieldError> = items
            .iter()
            .enumerate()
            .filter(|(_, (id, _))| !seen.insert(*id))
            .map(|(index, (id, _))| {
                FieldError::new(
                    format!("tasks[{index}].id"),
                    format!("id {id} appears more than once"),
                )
            })
            .collect();
        Ok(if repeated.is_empty() {
            Replacements::Unique(items)
        } else {
            Replacements::Repeated(repeated)
        })
    }
}

/// A page of tasks.
#[derive(Object, Debug, Clone)]
#[oai(rename = "TaskPage", example)]
pub struct TaskPage {
    /// The tasks of this page, by id ascending.
    pub tasks: Vec<TaskBody>,
    pub limit: u32,
    /// How many matching tasks were skipped (0 on a cursor page).
    pub offset: u64,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
    /// How many tasks match, on all pages; only with `count=true`.
    #[oai(skip_serializing_if_is_none)]
    pub total: Option<u64>,
}

/// Tasks written by a bulk request.
#[derive(Object, Debug, Clone)]
#[oai(rename = "TaskList", example)]
pub struct TaskList {
    pub tasks: Vec<TaskBody>,
}

/// How many tasks a delete removed.
#[derive(Object, Debug, Clone)]
#[oai(rename = "DeleteResult", example)]
pub struct DeleteResult {
    pub deleted: u64,
}
