//! The task wire types and their conversion to and from the domain.

use poem_openapi::Object;
use poem_openapi::types::MaybeUndefined;

use super::json_string::{DescriptionText, TitleText};
use super::problem::{ApiError, FieldError};
use super::time::ApiTime;
use crate::domain::{
    Description, Task, TaskDraft, TaskId, TaskPatch, Timestamp, Title, ValidationError,
};

/// The most tasks one bulk request may name.
pub const MAX_BULK: usize = 1000;

/// A stored task.
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
    /// When the task was created, in UTC.
    pub create_dt: ApiTime,
    /// When the task was last changed, in UTC.
    pub update_dt: ApiTime,
}

impl From<Task> for TaskBody {
    fn from(task: Task) -> Self {
        Self {
            id: task.id.get(),
            title: task.title.as_str().to_owned(),
            description: task.description.map(|d| d.as_str().to_owned()),
            expiry_dt: task.expiry_dt.map(ApiTime::from),
            create_dt: task.create_dt.into(),
            update_dt: task.update_dt.into(),
        }
    }
}

/// A new task, or the full replacement of one. Unknown fields are rejected.
#[derive(Object, Debug, Clone)]
#[oai(rename = "TaskInput", example, deny_unknown_fields)]
pub struct TaskInput {
    /// 1 to 255 characters; white space around it is removed.
    pub title: TitleText,
    /// Free text of up to 65,535 bytes (UTF-8), stored verbatim.
    #[oai(nullable)]
    pub description: Option<DescriptionText>,
    /// When the task expires: RFC 3339 with an offset, e.g. `2026-01-01T10:00:00+08:00`.
    #[oai(nullable)]
    pub expiry_dt: Option<ApiTime>,
}

/// One task of a bulk replace: its id and its full new content.
#[derive(Object, Debug, Clone)]
#[oai(rename = "TaskReplacement", example, deny_unknown_fields)]
pub struct TaskReplacement {
    /// The id of an existing task.
    #[oai(validator(minimum(value = "1")))]
    pub id: i64,
    /// 1 to 255 characters; white space around it is removed.
    pub title: TitleText,
    /// Free text of up to 65,535 bytes (UTF-8), stored verbatim.
    #[oai(nullable)]
    pub description: Option<DescriptionText>,
    /// When the task expires: RFC 3339 with an offset.
    #[oai(nullable)]
    pub expiry_dt: Option<ApiTime>,
}

/// A JSON merge patch of a task: an absent field stays as it is, `null`
/// clears `description` or `expiry_dt`. `title` may not be null.
#[derive(Object, Debug, Clone)]
#[oai(rename = "TaskPatch", example, deny_unknown_fields)]
pub struct TaskPatchInput {
    /// 1 to 255 characters; white space around it is removed.
    pub title: MaybeUndefined<TitleText>,
    /// Free text of up to 65,535 bytes, or `null` to clear it.
    #[oai(nullable)]
    pub description: MaybeUndefined<DescriptionText>,
    /// A new expiry (RFC 3339 with an offset), or `null` to clear it.
    #[oai(nullable)]
    pub expiry_dt: MaybeUndefined<ApiTime>,
}

/// The body of a bulk replace.
#[derive(Object, Debug, Clone)]
#[oai(rename = "TaskReplacements", example, deny_unknown_fields)]
pub struct TaskReplacements {
    /// At most 1,000 tasks, each id at most once (a repeated id is 422).
    #[oai(validator(max_items = 1000))]
    pub tasks: Vec<TaskReplacement>,
}

/// A page of tasks.
#[derive(Object, Debug, Clone)]
#[oai(rename = "TaskPage", example)]
pub struct TaskPage {
    /// The tasks of this page, by id ascending.
    pub tasks: Vec<TaskBody>,
    /// How many tasks match the filters, on all pages.
    pub total: u64,
    pub limit: u32,
    pub offset: u64,
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

/// Collects every field error of a request before answering, so a client
/// sees all its mistakes at once.
#[derive(Default)]
struct Fields {
    errors: Vec<FieldError>,
}

impl Fields {
    fn check<T>(
        &mut self,
        field: impl Into<String>,
        result: Result<T, ValidationError>,
    ) -> Option<T> {
        result
            .map_err(|err| self.errors.push(FieldError::new(field, &err)))
            .ok()
    }

    fn finish<T>(self, value: Option<T>) -> Result<T, ApiError> {
        match value {
            Some(value) if self.errors.is_empty() => Ok(value),
            _ => Err(ApiError::invalid(self.errors)),
        }
    }
}

fn parse_time(time: ApiTime) -> Result<Timestamp, ValidationError> {
    time.to_timestamp()
}

fn draft(
    fields: &mut Fields,
    prefix: &str,
    title: &TitleText,
    description: Option<DescriptionText>,
    expiry_dt: Option<ApiTime>,
) -> Option<TaskDraft> {
    let title = fields.check(format!("{prefix}title"), Title::parse(&title.0));
    let description = fields.check(
        format!("{prefix}description"),
        description.map(|d| Description::parse(d.0)).transpose(),
    );
    let expiry_dt = fields.check(
        format!("{prefix}expiry_dt"),
        expiry_dt.map(parse_time).transpose(),
    );
    Some(TaskDraft {
        title: title?,
        description: description?,
        expiry_dt: expiry_dt?,
    })
}

impl TryFrom<TaskInput> for TaskDraft {
    type Error = ApiError;

    fn try_from(input: TaskInput) -> Result<Self, ApiError> {
        let mut fields = Fields::default();
        let value = draft(
            &mut fields,
            "",
            &input.title,
            input.description,
            input.expiry_dt,
        );
        fields.finish(value)
    }
}

impl TryFrom<TaskPatchInput> for TaskPatch {
    type Error = ApiError;

    fn try_from(input: TaskPatchInput) -> Result<Self, ApiError> {
        let mut fields = Fields::default();
        let title = fields.check(
            "title",
            match &input.title {
                MaybeUndefined::Undefined => Ok(None),
                MaybeUndefined::Null => Err(ValidationError::Required),
                MaybeUndefined::Value(title) => Title::parse(&title.0).map(Some),
            },
        );
        let description = fields.check(
            "description",
            maybe(input.description)
                .map(|d| d.map(|d| Description::parse(d.0)).transpose())
                .transpose(),
        );
        let expiry_dt = fields.check(
            "expiry_dt",
            maybe(input.expiry_dt)
                .map(|t| t.map(parse_time).transpose())
                .transpose(),
        );
        let value = (|| {
            Some(TaskPatch {
                title: title?,
                description: description?,
                expiry_dt: expiry_dt?,
            })
        })();
        fields.finish(value)
    }
}

/// Absent → `None`, `null` → `Some(None)`, a value → `Some(Some(v))`.
fn maybe<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

impl TaskReplacements {
    /// Validates every item (400), then that no id appears twice (422:
    /// JSON Schema cannot say "unique by id", so it is its own status).
    pub fn into_domain(self) -> Result<Vec<(TaskId, TaskDraft)>, ApiError> {
        let mut fields = Fields::default();
        let mut items = Vec::with_capacity(self.tasks.len());
        for (index, item) in self.tasks.into_iter().enumerate() {
            let prefix = format!("tasks[{index}].");
            let id = fields.check(format!("{prefix}id"), TaskId::parse(item.id));
            let draft = draft(
                &mut fields,
                &prefix,
                &item.title,
                item.description,
                item.expiry_dt,
            );
            if let (Some(id), Some(draft)) = (id, draft) {
                items.push((id, draft));
            }
        }
        let items = fields.finish(Some(items))?;
        let mut seen = std::collections::HashSet::new();
        let repeated: Vec<FieldError> = items
            .iter()
            .enumerate()
            .filter(|(_, (id, _))| !seen.insert(*id))
            .map(|(index, (id, _))| FieldError {
                field: format!("tasks[{index}].id"),
                message: format!("id {id} appears more than once"),
            })
            .collect();
        if repeated.is_empty() {
            Ok(items)
        } else {
            Err(ApiError::conflicting(repeated))
        }
    }
}
