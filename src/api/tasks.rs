//! `/v1/tasks`: create, list, read, replace, patch and delete, singly and in
//! bulk; complete and reopen.

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiRequest, ApiResponse, OpenApi};

use super::api_error::ApiError;
use super::auth::ApiAuth;
use super::etag::TagList;
use super::etag::{etag, none_match, precondition};
use super::operations::{
    CompleteTask, CompleteTasks, CreateTask, DeleteTask, DeleteTasks, GetTask, ListTasks,
    PatchTask, ReopenTask, ReopenTasks, ReplaceTask, ReplaceTasks,
};
use super::paging::{self, Cursor, Listing};
use super::task_list::{self, SortOrderParam, TaskSortParam};
use super::task_types::{
    DeleteResult, MAX_BULK, Replacements, TaskBody, TaskIdList, TaskInput, TaskList, TaskPage,
    TaskPatchInput, TaskReplacements, TaskStatusBody, TaskUpdate,
};
use super::time::ApiTime;
use super::values::LabelParam;
use super::{ApiState, ApiTags};
use crate::domain::ValidationError;
use crate::domain::{
    Created, IdempotencyKey, Label, Priority, PriorityRange, Task, TaskFilter, TaskId, TaskOrder,
    TaskPatch, TaskStatus, TextQuery, Timestamp,
};
use crate::edge::headers::RawHeader;
use crate::edge::json_body::{JsonBody, MergePatchBody};
use crate::edge::problem::{FieldError, Problem, ProblemKind};
use crate::service::ServiceError;

pub struct TasksApi;

#[derive(ApiResponse)]
enum CreatedTask {
    /// The task was created; `Location` is its URL, `ETag` its version.
    /// A retry with the same `Idempotency-Key` and content gets this same
    /// answer again, and no second task is made.
    #[oai(status = 201)]
    Created(
        Json<TaskBody>,
        #[oai(header = "Location")] String,
        #[oai(header = "ETag")] String,
    ),
}

#[derive(ApiResponse)]
enum OneTask {
    /// The task; `ETag` is its version, for `If-Match` and `If-None-Match`.
    #[oai(status = 200)]
    Ok(Json<TaskBody>, #[oai(header = "ETag")] String),
}

impl From<Task> for OneTask {
    fn from(task: Task) -> Self {
        let tag = etag(&task);
        Self::Ok(Json(task.into()), tag)
    }
}

#[derive(ApiResponse)]
enum ReadTask {
    /// The task; `ETag` is its version, for `If-Match` and `If-None-Match`.
    #[oai(status = 200)]
    Ok(Json<TaskBody>, #[oai(header = "ETag")] String),
    /// The copy named in `If-None-Match` is current.
    #[oai(status = 304)]
    NotModified(#[oai(header = "ETag")] String),
}

#[derive(ApiResponse)]
enum TaskPageResponse {
    /// A page of tasks; `Link` points to the next one, if any.
    #[oai(status = 200)]
    Ok(Json<TaskPage>, #[oai(header = "Link")] Option<String>),
}

#[derive(ApiResponse)]
enum ReplacedTasks {
    /// Every task as written, in the order of the request.
    #[oai(status = 200)]
    Ok(Json<TaskList>),
}

#[derive(ApiResponse)]
enum ChangedTasks {
    /// Every task named, as it now is, in the order named.
    #[oai(status = 200)]
    Ok(Json<TaskList>),
}

impl ChangedTasks {
    fn of(tasks: Vec<Task>) -> Self {
        Self::Ok(Json(TaskList {
            tasks: tasks.into_iter().map(TaskBody::from).collect(),
        }))
    }
}

#[derive(ApiResponse)]
enum DeletedTasks {
    /// How many tasks were deleted (ids that did not exist are not counted).
    #[oai(status = 200)]
    Ok(Json<DeleteResult>),
}

#[derive(ApiResponse)]
enum DeletedTask {
    /// The task was deleted.
    #[oai(status = 204)]
    NoContent,
}

/// A merge patch, as `application/json` or `application/merge-patch+json`.
#[derive(ApiRequest)]
enum PatchBody {
    Json(JsonBody<TaskPatchInput>),
    MergePatch(MergePatchBody<TaskPatchInput>),
}

fn task_id<Op: super::operations::Operation>(
    raw: i64,
    field: &str,
) -> Result<TaskId, ApiError<Op>> {
    TaskId::parse(raw).map_err(|err| ApiError::invalid_field(field, &err))
}

fn time_param<Op: super::operations::Operation>(
    name: &str,
    value: Option<ApiTime>,
) -> Result<Option<Timestamp>, ApiError<Op>> {
    value
        .map(ApiTime::to_timestamp)
        .transpose()
        .map_err(|err| ApiError::invalid_field(name, &err))
}

/// The labels a listing asks for, each once (by key).
fn label_params(sent: Vec<LabelParam>) -> Result<Vec<Label>, ApiError<ListTasks>> {
    let parsed = sent
        .iter()
        .map(|raw| Label::parse(&raw.0))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| ApiError::invalid_field("label", &err))?;
    let mut seen = std::collections::HashSet::new();
    Ok(parsed
        .into_iter()
        .filter(|label| seen.insert(label.key().to_owned()))
        .collect())
}

/// Every id of every `ids` parameter, comma-separated or repeated.
/// (poem-openapi reads only the first `ids` of a non-exploded list.)
fn ids_in_query(query: &str) -> Result<Vec<TaskId>, ApiError<DeleteTasks>> {
    let expected = super::parameters::PARAMETERS.expectation("ids");
    let refuse = || ApiError::invalid(vec![FieldError::new("ids", expected)]);
    let mut ids = Vec::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if name != "ids" {
            continue;
        }
        for raw in value.split(',') {
            let id = crate::edge::digits::canonical::<i64>(raw).ok_or_else(refuse)?;
            ids.push(task_id::<DeleteTasks>(id, "ids")?);
        }
    }
    if ids.is_empty() || ids.len() > MAX_BULK {
        return Err(refuse());
    }
    Ok(ids)
}

/// A bulk write's service error, with a bad title named by its item
/// (`tasks[2].title`).
fn bulk_error(err: ServiceError, items: &[(TaskId, TaskPatch)]) -> ApiError<ReplaceTasks> {
    let ServiceError::InvalidTitle(invalid) = err else {
        return err.into();
    };
    let errors = invalid
        .iter()
        .map(|(id, err)| {
            let index = items.iter().position(|(item, _)| item == id).unwrap_or(0);
            FieldError::invalid(format!("tasks[{index}].title"), err)
        })
        .collect();
    ApiError::invalid(errors)
}

/// Refuses a body sent to an operation that takes none (`action` names
/// it), rather than ignoring what the client meant by it.
fn no_body<Op: super::operations::Operation>(
    request: &poem::Request,
    action: &str,
) -> Result<(), ApiError<Op>> {
    if crate::edge::body_limit::has_body(request) {
        return Err(ApiError::invalid(vec![FieldError::new(
            "(body)",
            format!("POST /v1/tasks/{{id}}/{action} takes no body"),
        )]));
    }
    Ok(())
}

/// Why a `DELETE /v1/tasks` that names nothing deletes nothing: a client
/// that drops an empty id list sends exactly that.
fn selection_missing() -> Vec<FieldError> {
    vec![FieldError::new(
        "ids",
        "is required: name the tasks to delete in `ids` (e.g. `ids=1,2`), or send `all=true` \
         to delete every task; a request with neither deletes nothing",
    )]
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Tasks")]
impl TasksApi {
    /// List tasks
    ///
    /// Tasks a page at a time, by id ascending unless `sort` and `order`
    /// say otherwise (ties by id, in the same direction; for `expiry_dt`,
    /// tasks without an expiry come last in both orders). Optionally only
    /// those whose expiry falls in `[expires_after, expires_before)`, and
    /// only those in one `status`. Page with `cursor` (from
    /// `next_cursor`): each page costs the same however deep it is, and
    /// inserts or deletes meanwhile never shift it; a walk in an order
    /// other than by id shows every task that stays unchanged throughout
    /// exactly once, and leaves out of its later pages a task changed
    /// meanwhile. `offset` still works, but the database walks past every
    /// skipped task.
    #[oai(path = "/tasks", method = "get", operation_id = "list_tasks")]
    #[allow(clippy::too_many_arguments)]
    async fn list_tasks(
        &self,
        _auth: ApiAuth,
        state: Data<&ApiState>,
        request: &poem::Request,
        /// Page size.
        #[oai(
            default = "super::default_page_size",
            validator(minimum(value = "1"), maximum(value = "1000"))
        )]
        limit: Query<u32>,
        /// How many matching tasks to skip. Not with `cursor`.
        // A round bound: poem-openapi compares and prints bounds as f64.
        #[oai(
            default,
            validator(minimum(value = "0"), maximum(value = "1000000000000000"))
        )]
        offset: Query<u64>,
        /// Where the page starts: the `next_cursor` of the page before,
        /// with the same filters, `sort` and `order` (else 400).
        cursor: Query<Option<Cursor>>,
        /// Also count every matching task (`total`); that reads them all.
        #[oai(default)]
        count: Query<bool>,
        /// Only tasks that expire strictly before this time (RFC 3339 with an offset).
        expires_before: Query<Option<ApiTime>>,
        /// Only tasks that expire at or after this time (RFC 3339 with an offset).
        expires_after: Query<Option<ApiTime>>,
        /// Only tasks in this state; without it, both.
        status: Query<Option<TaskStatusBody>>,
        /// What to order by (`id` when left out); ties by id. For
        /// `expiry_dt` and `priority`, tasks without one come last, in both
        /// orders.
        // Optional rather than `default`: poem-openapi writes a defaulted
        // enum as an `allOf`, which openapi-python-client cannot read.
        sort: Query<Option<TaskSortParam>>,
        /// Ascending or descending (`asc` when left out).
        order: Query<Option<SortOrderParam>>,
        /// Only tasks with a priority of at least this; tasks without a
        /// priority are left out.
        priority_min: Query<Option<Priority>>,
        /// Only tasks with a priority of at most this (not below
        /// `priority_min`); tasks without a priority are left out.
        priority_max: Query<Option<Priority>>,
        /// Only tasks whose title or description contains every word of
        /// this, as whole words, without regard to case or accents. A word
        /// is a run of letters, digits and `_`; everything else (quotes,
        /// `*`, `-`, …) only separates words. Words shorter than 3
        /// characters and common words such as `the` are not searched for;
        /// a `q` left with no word, or with a word over 84 characters, is
        /// refused with 422. The listing keeps its order.
        #[oai(validator(min_length = 1, max_length = 200))]
        q: Query<Option<String>>,
        /// Only tasks with this label, compared without regard to case;
        /// repeat it (`label=work&label=home`, up to 20) for tasks with
        /// every one of them.
        #[oai(default, validator(max_items = 20))]
        label: Query<Vec<LabelParam>>,
    ) -> Result<TaskPageResponse, ApiError<ListTasks>> {
        // Each value is well-formed (the spec says so); what no schema can
        // state, bounds the wrong way round or a query without a word that
        // can be searched for, is a 422, as a bulk replace's repeated id is.
        let priority = PriorityRange::new(priority_min.0, priority_max.0).map_err(|err| {
            ApiError::new(Problem::about_fields(
                ProblemKind::Unprocessable,
                "reversed-bounds",
                vec![
                    FieldError::invalid("priority_min", &err),
                    FieldError::invalid("priority_max", &err),
                ],
            ))
        })?;
        let search =
            q.0.as_deref()
                .map(TextQuery::parse)
                .transpose()
                .map_err(|err| match err {
                    ValidationError::QueryTooLong => ApiError::invalid_field("q", &err),
                    _ => ApiError::new(Problem::about_fields(
                        ProblemKind::Unprocessable,
                        "unsearchable-query",
                        vec![FieldError::invalid("q", &err)],
                    )),
                })?;
        let filter = TaskFilter {
            expires_before: time_param("expires_before", expires_before.0)?,
            expires_after: time_param("expires_after", expires_after.0)?,
            status: status.0.map(TaskStatus::from),
            priority,
            search,
            labels: label_params(label.0)?,
        };
        let order = TaskOrder {
            sort: sort.0.unwrap_or_default().into(),
            direction: order.0.unwrap_or_default().into(),
        };
        let filters = task_list::filter_key(&filter, order);
        let page = paging::page_request_at(
            Listing::Tasks,
            limit.0,
            offset.0,
            cursor.0.as_ref().map(Cursor::as_str),
            count.0,
            &filters,
            task_list::position(order),
        )
        .map_err(ApiError::invalid)?;
        let found = state.tasks.list(filter, order, page).await?;
        let next_cursor = found
            .next
            .map(|position| task_list::cursor(position, &filters));
        let link = next_cursor
            .as_deref()
            .map(|next| paging::next_link(request.uri().path(), request.uri().query(), next));
        let offset = match page.start {
            crate::domain::PageStart::Offset(offset) => offset,
            crate::domain::PageStart::After(_) => 0,
        };
        Ok(TaskPageResponse::Ok(
            Json(TaskPage {
                tasks: found.items.into_iter().map(TaskBody::from).collect(),
                limit: limit.0,
                offset,
                next_cursor,
                total: found.total,
            }),
            link,
        ))
    }

    /// Create a task
    ///
    /// With `Idempotency-Key`, a retry (same key, same content) gets the
    /// first answer back instead of a second task, for 24 hours (see
    /// `IDEMPOTENCY_TTL`); the same key with other content is 422.
    #[oai(path = "/tasks", method = "post", operation_id = "create_task")]
    async fn create_task(
        &self,
        _auth: ApiAuth,
        state: Data<&ApiState>,
        /// A name for this create, unique per task you mean to make (e.g. a UUID).
        #[oai(name = "Idempotency-Key")]
        key: RawHeader<IdempotencyKey>,
        body: JsonBody<TaskInput>,
    ) -> Result<CreatedTask, ApiError<CreateTask>> {
        let task = match state.tasks.create(&body.0, key.0).await? {
            Created::New(task) | Created::Replayed(task) => task,
        };
        let location = format!("/v1/tasks/{}", task.id);
        let tag = etag(&task);
        Ok(CreatedTask::Created(Json(task.into()), location, tag))
    }

    /// Replace several tasks at once
    ///
    /// Each item as with `PUT /v1/tasks/{id}`: a field left out keeps its
    /// value. One transaction: if any id does not exist, nothing changes
    /// and the answer is 404 naming every missing id. Each id at most once
    /// (422).
    #[oai(path = "/tasks", method = "put", operation_id = "replace_tasks")]
    async fn replace_tasks(
        &self,
        _auth: ApiAuth,
        state: Data<&ApiState>,
        body: JsonBody<TaskReplacements>,
    ) -> Result<ReplacedTasks, ApiError<ReplaceTasks>> {
        let items = match body.0 {
            Replacements::Unique(items) => items,
            Replacements::Repeated(errors) => {
                return Err(ApiError::new(Problem::about_fields(
                    ProblemKind::Unprocessable,
                    "conflicting-items",
                    errors,
                )));
            }
        };
        let tasks = state
            .tasks
            .replace_many(&items)
            .await
            .map_err(|err| bulk_error(err, &items))?;
        Ok(ReplacedTasks::Ok(Json(TaskList {
            tasks: tasks.into_iter().map(TaskBody::from).collect(),
        })))
    }

    /// Complete many tasks, all or nothing
    ///
    /// Completes every task named in `ids` in one transaction, and answers
    /// them in the order named. If any id does not exist, nothing changes
    /// and the answer is 404 naming every missing id. A task that is
    /// already done is answered as it is, unchanged, version included.
    #[oai(
        path = "/tasks/complete",
        method = "post",
        operation_id = "complete_tasks"
    )]
    async fn complete_tasks(
        &self,
        _auth: ApiAuth,
        state: Data<&ApiState>,
        body: JsonBody<TaskIdList>,
    ) -> Result<ChangedTasks, ApiError<CompleteTasks>> {
        let tasks = state.tasks.complete_many(&body.0).await?;
        Ok(ChangedTasks::of(tasks))
    }

    /// Reopen many tasks, all or nothing
    ///
    /// Reopens every task named in `ids` in one transaction, as
    /// `complete_tasks` completes them: 404 naming every missing id, and
    /// nothing changed then; an open task is answered unchanged.
    #[oai(path = "/tasks/reopen", method = "post", operation_id = "reopen_tasks")]
    async fn reopen_tasks(
        &self,
        _auth: ApiAuth,
        state: Data<&ApiState>,
        body: JsonBody<TaskIdList>,
    ) -> Result<ChangedTasks, ApiError<ReopenTasks>> {
        let tasks = state.tasks.reopen_many(&body.0).await?;
        Ok(ChangedTasks::of(tasks))
    }

    /// Delete the listed tasks, or (destructive) every task
    ///
    /// With `ids=1,2,3` (or `ids=1&ids=2`), deletes those of them that
    /// exist. **With `all=true` and no `ids`, deletes every task; there is
    /// no undo.** A request with neither is refused (400), so an id list
    /// that a client left out because it was empty deletes nothing. Any
    /// other parameter (a typo such as `id=`) is refused, and so is a body:
    /// the ids go in `ids`. Answers how many were deleted.
    #[oai(path = "/tasks", method = "delete", operation_id = "delete_tasks")]
    async fn delete_tasks(
        &self,
        _auth: ApiAuth,
        state: Data<&ApiState>,
        request: &poem::Request,
        /// Comma-separated ids, at most 1,000 (`ids=1&ids=2` works too).
        // `default`: without it poem-openapi panics on an absent
        // non-exploded parameter. It validates the first `ids` only; all are
        // read from the raw query below, so a repeated `ids` is not ignored.
        #[oai(explode = false, default, validator(min_items = 1, max_items = 1000))]
        ids: Query<Option<Vec<i64>>>,
        /// `true` to delete every task (and then without `ids`).
        all: Query<Option<bool>>,
    ) -> Result<DeletedTasks, ApiError<DeleteTasks>> {
        if crate::edge::body_limit::has_body(request) {
            return Err(ApiError::invalid(vec![FieldError::new(
                "(body)",
                "DELETE /v1/tasks takes no body; name the tasks in the `ids` parameter",
            )]));
        }
        let query = request.uri().query();
        let bare = query.is_none() && state.allow_bare_delete_all;
        let deleted = match (ids.0, all.0) {
            (None, Some(true)) => state.tasks.delete_all().await?,
            (None, _) if bare => state.tasks.delete_all().await?,
            (None, _) => return Err(ApiError::invalid(selection_missing())),
            (Some(_), Some(true)) => {
                return Err(ApiError::invalid(vec![FieldError::new(
                    "all",
                    "may not be `true` together with `ids`; send one or the other",
                )]));
            }
            (Some(_), _) => {
                let ids = ids_in_query(query.unwrap_or_default())?;
                state.tasks.delete_many(&ids).await?
            }
        };
        Ok(DeletedTasks::Ok(Json(DeleteResult { deleted })))
    }

    /// Get a task
    #[oai(path = "/tasks/:id", method = "get", operation_id = "get_task")]
    async fn get_task(
        &self,
        _auth: ApiAuth,
        state: Data<&ApiState>,
        /// The task's id.
        #[oai(validator(minimum(value = "1")))]
        id: Path<i64>,
        /// Answer 304 if the task is still at one of these versions.
        #[oai(name = "If-None-Match")]
        if_none_match: RawHeader<TagList>,
    ) -> Result<ReadTask, ApiError<GetTask>> {
        let id = task_id(id.0, "id")?;
        let task = state
            .tasks
            .get(id)
            .await?
            .ok_or_else(|| ApiError::not_found(vec![id]))?;
        if none_match(if_none_match.0.as_ref(), &task) {
            return Ok(ReadTask::NotModified(etag(&task)));
        }
        let tag = etag(&task);
        Ok(ReadTask::Ok(Json(task.into()), tag))
    }

    /// Replace a task
    ///
    /// Sets the fields the body names; a field left out keeps its value
    /// (as with the original service), and `null` clears `description` or
    /// `expiry_dt`. The title a task was served with is accepted back
    /// unchanged, even one another tool wrote that breaks today's rules.
    #[oai(path = "/tasks/:id", method = "put", operation_id = "replace_task")]
    async fn replace_task(
        &self,
        _auth: ApiAuth,
        state: Data<&ApiState>,
        /// The task's id.
        #[oai(validator(minimum(value = "1")))]
        id: Path<i64>,
        /// Replace only if the task is still at one of these versions (else 412).
        #[oai(name = "If-Match")]
        if_match: RawHeader<TagList>,
        body: JsonBody<TaskUpdate>,
    ) -> Result<OneTask, ApiError<ReplaceTask>> {
        let id = task_id(id.0, "id")?;
        let condition = precondition(if_match.0);
        Ok(state.tasks.patch(id, &body.0, &condition).await?.into())
    }

    /// Change some fields of a task
    ///
    /// JSON merge patch (RFC 7396), as `application/json` or
    /// `application/merge-patch+json`: an absent field stays, `null` clears it.
    #[oai(path = "/tasks/:id", method = "patch", operation_id = "patch_task")]
    async fn patch_task(
        &self,
        _auth: ApiAuth,
        state: Data<&ApiState>,
        /// The task's id.
        #[oai(validator(minimum(value = "1")))]
        id: Path<i64>,
        /// Change only if the task is still at one of these versions (else 412).
        #[oai(name = "If-Match")]
        if_match: RawHeader<TagList>,
        body: PatchBody,
    ) -> Result<OneTask, ApiError<PatchTask>> {
        let id = task_id(id.0, "id")?;
        let patch = match body {
            PatchBody::Json(body) => body.0,
            PatchBody::MergePatch(body) => body.0,
        };
        let condition = precondition(if_match.0);
        Ok(state.tasks.patch(id, &patch, &condition).await?.into())
    }

    /// Complete a task
    ///
    /// Marks the task `done` and sets `completed_dt` to the server's time;
    /// its expiry warning, if not given yet, will not come (on every
    /// replica). Completing a task that is already done changes nothing,
    /// not even its version, and answers 200 with the task, also when
    /// `If-Match` names an older version (the change it asks for is made).
    /// Takes no body.
    #[oai(
        path = "/tasks/:id/complete",
        method = "post",
        operation_id = "complete_task"
    )]
    async fn complete_task(
        &self,
        _auth: ApiAuth,
        state: Data<&ApiState>,
        request: &poem::Request,
        /// The task's id.
        #[oai(validator(minimum(value = "1")))]
        id: Path<i64>,
        /// Complete only if the task is still at one of these versions (else 412).
        #[oai(name = "If-Match")]
        if_match: RawHeader<TagList>,
    ) -> Result<OneTask, ApiError<CompleteTask>> {
        no_body(request, "complete")?;
        let id = task_id(id.0, "id")?;
        let condition = precondition(if_match.0);
        Ok(state.tasks.complete(id, &condition).await?.into())
    }

    /// Reopen a task
    ///
    /// Marks the task `open` again and clears `completed_dt`. Its expiry
    /// warning is armed again, unless the warning for that expiry was
    /// already given: a warning is never given twice for one expiry.
    /// Reopening an open task changes nothing, not even its version, and
    /// answers 200 with the task, also when `If-Match` names an older
    /// version. Takes no body.
    #[oai(
        path = "/tasks/:id/reopen",
        method = "post",
        operation_id = "reopen_task"
    )]
    async fn reopen_task(
        &self,
        _auth: ApiAuth,
        state: Data<&ApiState>,
        request: &poem::Request,
        /// The task's id.
        #[oai(validator(minimum(value = "1")))]
        id: Path<i64>,
        /// Reopen only if the task is still at one of these versions (else 412).
        #[oai(name = "If-Match")]
        if_match: RawHeader<TagList>,
    ) -> Result<OneTask, ApiError<ReopenTask>> {
        no_body(request, "reopen")?;
        let id = task_id(id.0, "id")?;
        let condition = precondition(if_match.0);
        Ok(state.tasks.reopen(id, &condition).await?.into())
    }

    /// Delete a task
    #[oai(path = "/tasks/:id", method = "delete", operation_id = "delete_task")]
    async fn delete_task(
        &self,
        _auth: ApiAuth,
        state: Data<&ApiState>,
        /// The task's id.
        #[oai(validator(minimum(value = "1")))]
        id: Path<i64>,
        /// Delete only if the task is still at one of these versions (else 412).
        #[oai(name = "If-Match")]
        if_match: RawHeader<TagList>,
    ) -> Result<DeletedTask, ApiError<DeleteTask>> {
        let id = task_id(id.0, "id")?;
        let condition = precondition(if_match.0);
        state.tasks.delete(id, &condition).await?;
        Ok(DeletedTask::NoContent)
    }
}
