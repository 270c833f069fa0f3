//! The task wire types, and how request bodies become domain values.

use poem_openapi::types::MaybeUndefined;
use poem_openapi::{Enum, Object};

use super::text::{DescriptionText, TitleText};
use super::time::ApiTime;
use super::values::LabelList;
use crate::domain::{
    Description, Label, Labels, Priority, Task, TaskDraft, TaskId, TaskIds, TaskPatch, TaskStatus,
    Title, TitleEdit,
};
use crate::edge::json_body::RequestBody;
use crate::edge::problem::FieldError;
use crate::edge::schema_check::Fields;

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
    // No doc comment: poem-openapi would wrap the `$ref` in an `allOf` to
    // carry it, which openapi-python-client cannot read for an enum; the
    // enum's own description says it.
    pub status: TaskStatusBody,
    /// When the task was completed, in UTC; `null` while it is open.
    #[oai(nullable)]
    pub completed_dt: Option<ApiTime>,
    /// How urgent the task is, 1 (low) to 5 (urgent); `null` when not set.
    #[oai(nullable)]
    pub priority: Option<Priority>,
    /// The task's labels, in the order and case first written; `[]` when
    /// it has none.
    pub labels: Vec<String>,
}

/// Whether a task is still to be done: `open` until it is completed
/// (`POST /v1/tasks/{id}/complete`), `done` until it is reopened. A done
/// task gets no expiry warning.
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

impl From<TaskStatusBody> for TaskStatus {
    fn from(status: TaskStatusBody) -> Self {
        match status {
            TaskStatusBody::Open => Self::Open,
            TaskStatusBody::Done => Self::Done,
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
            priority: task.priority,
            labels: task.labels.iter().map(|l| l.as_str().to_owned()).collect(),
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
    /// How urgent the task is, 1 (low) to 5 (urgent); left out or `null`,
    /// it has none.
    #[oai(nullable)]
    pub priority: Option<Priority>,
    /// At most 20 labels, each 1 to 64 characters once white space around
    /// it is removed, without control characters. Compared without regard
    /// to case: a later repeat of a label is dropped; kept in the order and
    /// case first written. Left out or `null`, the task has none.
    #[oai(nullable)]
    pub labels: Option<LabelList>,
}

impl RequestBody for TaskInput {
    type Parsed = TaskDraft;

    fn into_domain(self, fields: &mut Fields) -> Option<TaskDraft> {
        let title = fields.check("title", Title::parse(&self.title.0));
        let description = optional(fields, "description", self.description, |d| {
            Description::parse(d.0)
        });
        let expiry_dt = optional(fields, "expiry_dt", self.expiry_dt, ApiTime::to_timestamp);
        let labels = match self.labels {
            Some(sent) => labels(fields, sent),
            None => Some(Labels::default()),
        };
        Some(TaskDraft {
            title: title?,
            description: description?,
            expiry_dt: expiry_dt?,
            priority: self.priority,
            labels: labels?,
        })
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
    /// 1 (low) to 5 (urgent); `null` clears it, left out it stays.
    #[oai(nullable)]
    pub priority: MaybeUndefined<Priority>,
    /// At most 20 labels, each 1 to 64 characters once white space around
    /// it is removed, without control characters; a later repeat of a
    /// label (in any case) is dropped. A list replaces the task's labels,
    /// `[]` or `null` clears them, left out they stay.
    #[oai(nullable)]
    pub labels: MaybeUndefined<LabelList>,
}

impl RequestBody for TaskUpdate {
    type Parsed = TaskPatch;

    fn into_domain(self, fields: &mut Fields) -> Option<TaskPatch> {
        let Self {
            title,
            description,
            expiry_dt,
            priority,
            labels,
        } = self;
        patch(fields, title, description, expiry_dt, priority, labels)
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
    /// 1 (low) to 5 (urgent); `null` clears it, left out it stays.
    #[oai(nullable)]
    pub priority: MaybeUndefined<Priority>,
    /// At most 20 labels, each 1 to 64 characters once white space around
    /// it is removed, without control characters; a later repeat of a
    /// label (in any case) is dropped. A list replaces the task's labels,
    /// `[]` or `null` clears them, left out they stay.
    #[oai(nullable)]
    pub labels: MaybeUndefined<LabelList>,
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
    /// 1 (low) to 5 (urgent); `null` clears it, left out it stays.
    #[oai(nullable)]
    pub priority: MaybeUndefined<Priority>,
    /// At most 20 labels, each 1 to 64 characters once white space around
    /// it is removed, without control characters; a later repeat of a
    /// label (in any case) is dropped. A list replaces the task's labels,
    /// `[]` or `null` clears them, left out they stay.
    #[oai(nullable)]
    pub labels: MaybeUndefined<LabelList>,
}

impl RequestBody for TaskPatchInput {
    type Parsed = TaskPatch;

    fn into_domain(self, fields: &mut Fields) -> Option<TaskPatch> {
        // The schema refuses a `null` title; an absent one stays.
        let Self {
            title,
            description,
            expiry_dt,
            priority,
            labels,
        } = self;
        patch(
            fields,
            title.take(),
            description,
            expiry_dt,
            priority,
            labels,
        )
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
#[derive(Debug)]
pub enum Replacements {
    Unique(Vec<(TaskId, TaskPatch)>),
    /// Well-formed, but one id twice: 422, not 400 (JSON Schema cannot
    /// say "unique by id").
    Repeated(Vec<FieldError>),
}

impl RequestBody for TaskReplacements {
    type Parsed = Replacements;

    fn into_domain(self, fields: &mut Fields) -> Option<Replacements> {
        let mut read = Vec::with_capacity(self.tasks.len());
        for (index, item) in self.tasks.into_iter().enumerate() {
            let parsed = fields.item("tasks", index, |fields| {
                let id = fields.check("id", TaskId::parse(item.id));
                let patch = patch(
                    fields,
                    item.title,
                    item.description,
                    item.expiry_dt,
                    item.priority,
                    item.labels,
                );
                Some((id?, patch?))
            });
            read.extend(parsed);
        }
        if fields.failed() {
            return None;
        }
        let mut seen = std::collections::HashSet::new();
        let repeated: Vec<FieldError> = read
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
        Some(if repeated.is_empty() {
            Replacements::Unique(read)
        } else {
            Replacements::Repeated(repeated)
        })
    }
}

/// An optional, nullable field as the domain has it: `None` when the
/// domain refused it (reported to `fields`).
fn optional<W, T, E: std::fmt::Display>(
    fields: &mut Fields,
    name: &str,
    sent: Option<W>,
    parse: impl FnOnce(W) -> Result<T, E>,
) -> Option<Option<T>> {
    match sent {
        None => Some(None),
        Some(sent) => fields.check(name, parse(sent)).map(Some),
    }
}

/// A field of a change: left out it stays (`None`), `null` clears it.
fn changed<W, T, E: std::fmt::Display>(
    fields: &mut Fields,
    name: &str,
    sent: MaybeUndefined<W>,
    parse: impl FnOnce(W) -> Result<T, E>,
) -> Option<Option<Option<T>>> {
    match sent {
        MaybeUndefined::Undefined => Some(None),
        MaybeUndefined::Null => Some(Some(None)),
        MaybeUndefined::Value(sent) => fields.check(name, parse(sent)).map(|v| Some(Some(v))),
    }
}

/// A change of a task, as `PATCH`, `PUT` and the bulk replace send it.
fn patch(
    fields: &mut Fields,
    title: Option<TitleText>,
    description: MaybeUndefined<DescriptionText>,
    expiry_dt: MaybeUndefined<ApiTime>,
    priority: MaybeUndefined<Priority>,
    sent_labels: MaybeUndefined<LabelList>,
) -> Option<TaskPatch> {
    let description = changed(fields, "description", description, |d| {
        Description::parse(d.0)
    });
    let expiry_dt = changed(fields, "expiry_dt", expiry_dt, ApiTime::to_timestamp);
    // `null` and `[]` both clear the labels.
    let labels = match sent_labels {
        MaybeUndefined::Undefined => Some(None),
        MaybeUndefined::Null => Some(Some(Labels::default())),
        MaybeUndefined::Value(sent) => labels(fields, sent).map(Some),
    };
    let title = title.map(|text| TitleEdit::parse(text.0));
    // A title that breaks the rules may be the stored one sent back, which
    // only the store can tell; but when the request is refused anyway, it
    // is named with the other mistakes.
    if let Some(err) = title.as_ref().and_then(TitleEdit::invalid)
        && fields.failed()
    {
        fields.report("title", err.to_string());
    }
    Some(TaskPatch {
        title,
        description: description?,
        expiry_dt: expiry_dt?,
        priority: priority.map(Some).take(),
        labels: labels?,
    })
}

/// Labels as sent: each label's mistake named by its index (`labels[3]`),
/// then the set's.
fn labels(fields: &mut Fields, sent: LabelList) -> Option<Labels> {
    let mut read = Vec::with_capacity(sent.0.len());
    let mut valid = true;
    for (index, raw) in sent.0.iter().enumerate() {
        match fields.check(&format!("labels[{index}]"), Label::parse(raw)) {
            Some(label) => read.push(label),
            None => valid = false,
        }
    }
    if !valid {
        return None;
    }
    fields.check("labels", Labels::parse(read))
}

/// The tasks a bulk complete or reopen names.
#[derive(Object, Debug, Clone)]
#[oai(rename = "TaskIdList", example)]
pub struct TaskIdList {
    /// 1 to 1,000 task ids; an id named twice counts once.
    #[oai(validator(min_items = 1, max_items = 1000))]
    pub ids: Vec<TaskId>,
}

impl RequestBody for TaskIdList {
    type Parsed = TaskIds;

    fn into_domain(self, fields: &mut Fields) -> Option<TaskIds> {
        fields.check("ids", TaskIds::parse(self.ids))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edge::schema_check::{DATE_TIME, REQUIRED, UNKNOWN_FIELD};
    use serde_json::json;

    fn named(errors: &[FieldError]) -> Vec<(&str, &str)> {
        let mut named: Vec<_> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.message.as_str()))
            .collect();
        named.sort();
        named
    }

    #[test]
    fn every_mistake_of_shape_and_of_content_is_named_at_once() {
        let errors = TaskInput::parse(json!({
            "title": " ",
            "description": 5,
            "expiry_dt": "2026-12-01T10:00:00",
            "expiry": "x",
        }))
        .unwrap_err();
        assert_eq!(
            named(&errors),
            vec![
                ("description", "must be a string"),
                ("expiry", UNKNOWN_FIELD),
                ("expiry_dt", DATE_TIME),
                ("title", "must not be empty or only white space"),
            ]
        );
    }

    #[test]
    fn a_required_field_left_out_or_null_is_named() {
        for body in [json!({}), json!({"title": null})] {
            let errors = TaskInput::parse(body).unwrap_err();
            assert_eq!(named(&errors), vec![("title", REQUIRED)]);
        }
        let errors = TaskInput::parse(json!([1])).unwrap_err();
        assert_eq!(named(&errors), vec![("(body)", "must be a JSON object")]);
    }

    #[test]
    fn a_patch_tells_absent_from_null_and_refuses_a_null_title() {
        let patch = TaskPatchInput::parse(json!({"description": null})).unwrap();
        assert_eq!(patch.description, Some(None));
        assert_eq!(patch.expiry_dt, None);
        assert!(patch.title.is_none());
        let errors = TaskPatchInput::parse(json!({"title": null})).unwrap_err();
        assert_eq!(named(&errors), vec![("title", REQUIRED)]);
    }

    #[test]
    fn a_bad_title_is_left_to_the_store_unless_the_request_is_refused_anyway() {
        assert!(TaskUpdate::parse(json!({"title": ""})).is_ok());
        let errors = TaskUpdate::parse(json!({"title": "", "expiry_dt": 1})).unwrap_err();
        assert_eq!(
            named(&errors),
            vec![
                ("expiry_dt", DATE_TIME),
                ("title", "must not be empty or only white space"),
            ]
        );
    }

    #[test]
    fn a_bulk_replace_names_each_item_by_its_index() {
        let errors = TaskReplacements::parse(json!({"tasks": [
            {"id": 1, "title": "ok"},
            {"id": 0, "description": false},
            {"id": "3", "expiry_dt": "2026-01-01T00:00:00Z", "note": 1},
            {"id": 4, "expiry_dt": "0999-01-01T00:00:00Z"},
        ]}))
        .unwrap_err();
        assert_eq!(
            named(&errors),
            vec![
                ("tasks[1].description", "must be a string"),
                ("tasks[1].id", "must be a positive integer"),
                ("tasks[2].id", "must be a positive integer"),
                ("tasks[2].note", UNKNOWN_FIELD),
                (
                    "tasks[3].expiry_dt",
                    "must be a time in the years 1000 to 9999 (UTC)"
                ),
            ]
        );
        let too_many: Vec<_> = (1..=1001).map(|id| json!({"id": id})).collect();
        let errors = TaskReplacements::parse(json!({ "tasks": too_many })).unwrap_err();
        assert_eq!(
            named(&errors),
            vec![("tasks", "must hold at most 1000 items")]
        );
    }

    #[test]
    fn labels_are_read_as_a_set_and_each_mistake_is_named_by_its_index() {
        let draft = TaskInput::parse(json!({"title": "t", "labels": ["A", " b ", "a"]})).unwrap();
        let read: Vec<&str> = draft.labels.iter().map(Label::as_str).collect();
        assert_eq!(read, ["A", "b"]);
        let errors = TaskReplacements::parse(json!({"tasks": [
            {"id": 1, "labels": ["ok"]},
            {"id": 2, "labels": ["", "x".repeat(65), "fine"], "description": 5},
        ]}))
        .unwrap_err();
        assert_eq!(
            named(&errors),
            vec![
                ("tasks[1].description", "must be a string"),
                (
                    "tasks[1].labels[0]",
                    "must not be empty or only white space"
                ),
                ("tasks[1].labels[1]", "must be at most 64 characters"),
            ]
        );
        for (body, labels) in [
            (json!({}), None),
            (json!({"labels": null}), Some(0)),
            (json!({"labels": []}), Some(0)),
            (json!({"labels": ["x", "X"]}), Some(1)),
        ] {
            let patch = TaskPatchInput::parse(body.clone()).unwrap();
            assert_eq!(patch.labels.map(|set| set.iter().count()), labels, "{body}");
        }
    }

    #[test]
    fn a_bulk_replace_naming_an_id_twice_is_read_but_marked() {
        let read = TaskReplacements::parse(json!({"tasks": [{"id": 2}, {"id": 2}]})).unwrap();
        let Replacements::Repeated(errors) = read else {
            panic!("a repeated id is not marked");
        };
        assert_eq!(
            named(&errors),
            vec![("tasks[1].id", "id 2 appears more than once")]
        );
    }
}
