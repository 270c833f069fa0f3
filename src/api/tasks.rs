//! `/v1/tasks`: create, list, read, replace, patch and delete, singly and in bulk.

use std::sync::Arc;

use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

use super::ApiTags;
use super::auth::ApiAuth;
use super::etag::{etag, if_match, none_match};
use super::problem::ApiError;
use super::task_types::{
    DeleteResult, MAX_BULK, TaskBody, TaskInput, TaskList, TaskPage, TaskPatchInput,
    TaskReplacements,
};
use super::time::ApiTime;
use crate::domain::{TaskDraft, TaskId, TaskPatch};
use crate::service::TaskService;
use crate::store::{PageRequest, TaskFilter};

pub struct TasksApi {
    pub service: Arc<TaskService>,
}

#[derive(ApiResponse)]
enum CreatedTask {
    /// The task was created; `Location` is its URL, `ETag` its version.
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

impl From<crate::domain::Task> for OneTask {
    fn from(task: crate::domain::Task) -> Self {
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
enum DeletedTask {
    /// The task was deleted.
    #[oai(status = 204)]
    NoContent,
}

fn task_id(raw: i64) -> Result<TaskId, ApiError> {
    TaskId::parse(raw).map_err(|err| ApiError::invalid_field("id", &err))
}

/// Every id of every `ids` parameter, comma-separated or repeated.
fn ids_in_query(query: &str) -> Result<Vec<TaskId>, ApiError> {
    let mut ids = Vec::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if name != "ids" {
            continue;
        }
        for raw in value.split(',') {
            let id = raw
                .trim()
                .parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("ids: {raw:?} is not an integer")))?;
            ids.push(task_id(id)?);
        }
    }
    if ids.len() > MAX_BULK {
        return Err(ApiError::bad_request(format!(
            "ids: at most {MAX_BULK} ids"
        )));
    }
    Ok(ids)
}

fn time_param(
    name: &str,
    value: Option<ApiTime>,
) -> Result<Option<crate::domain::Timestamp>, ApiError> {
    value
        .map(ApiTime::to_timestamp)
        .transpose()
        .map_err(|err| ApiError::invalid_field(name, &err))
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Tasks")]
impl TasksApi {
    /// List tasks
    ///
    /// Tasks by id ascending, a page at a time, optionally only those whose
    /// expiry falls in `[expires_after, expires_before)`.
    #[oai(path = "/tasks", method = "get", operation_id = "list_tasks")]
    async fn list_tasks(
        &self,
        _auth: ApiAuth,
        /// Page size.
        #[oai(
            default = "super::default_page_size",
            validator(minimum(value = "1"), maximum(value = "1000"))
        )]
        limit: Query<u32>,
        /// How many matching tasks to skip.
        // A round bound: poem-openapi compares and prints bounds as f64.
        #[oai(
            default,
            validator(minimum(value = "0"), maximum(value = "1000000000000000"))
        )]
        offset: Query<u64>,
        /// Only tasks that expire strictly before this time (RFC 3339 with an offset).
        expires_before: Query<Option<ApiTime>>,
        /// Only tasks that expire at or after this time (RFC 3339 with an offset).
        expires_after: Query<Option<ApiTime>>,
    ) -> Result<Json<TaskPage>, ApiError> {
        let filter = TaskFilter {
            expires_before: time_param("expires_before", expires_before.0)?,
            expires_after: time_param("expires_after", expires_after.0)?,
        };
        let page = PageRequest {
            limit: limit.0,
            offset: offset.0,
        };
        let found = self.service.list(filter, page).await?;
        Ok(Json(TaskPage {
            tasks: found.items.into_iter().map(TaskBody::from).collect(),
            total: found.total,
            limit: page.limit,
            offset: page.offset,
        }))
    }

    /// Create a task
    #[oai(path = "/tasks", method = "post", operation_id = "create_task")]
    async fn create_task(
        &self,
        _auth: ApiAuth,
        body: Json<TaskInput>,
    ) -> Result<CreatedTask, ApiError> {
        let draft = TaskDraft::try_from(body.0)?;
        let task = self.service.create(&draft).await?;
        let location = format!("/v1/tasks/{}", task.id);
        let tag = etag(&task);
        Ok(CreatedTask::Created(Json(task.into()), location, tag))
    }

    /// Replace several tasks at once
    ///
    /// One transaction: if any id does not exist, nothing changes and the
    /// answer is 404 naming every missing id.
    #[oai(path = "/tasks", method = "put", operation_id = "replace_tasks")]
    async fn replace_tasks(
        &self,
        _auth: ApiAuth,
        body: Json<TaskReplacements>,
    ) -> Result<Json<TaskList>, ApiError> {
        let items = body.0.into_domain()?;
        let tasks = self.service.replace_many(&items).await?;
        Ok(Json(TaskList {
            tasks: tasks.into_iter().map(TaskBody::from).collect(),
        }))
    }

    /// Delete all tasks, or the listed ones
    ///
    /// Without `ids`, deletes every task. With `ids=1,2,3`, deletes those of
    /// them that exist. Answers how many were deleted.
    #[oai(path = "/tasks", method = "delete", operation_id = "delete_tasks")]
    async fn delete_tasks(
        &self,
        _auth: ApiAuth,
        request: &poem::Request,
        /// Comma-separated ids, at most 1,000 (`ids=1&ids=2` works too).
        // `default`: without it poem-openapi panics on an absent
        // non-exploded parameter. It validates the first `ids` only; all are
        // read from the raw query below, so a repeated `ids` is not ignored.
        #[oai(explode = false, default, validator(min_items = 1, max_items = 1000))]
        ids: Query<Option<Vec<i64>>>,
    ) -> Result<Json<DeleteResult>, ApiError> {
        let deleted = match ids.0 {
            None => self.service.delete_all().await?,
            Some(_) => {
                let ids = ids_in_query(request.uri().query().unwrap_or_default())?;
                self.service.delete_many(&ids).await?
            }
        };
        Ok(Json(DeleteResult { deleted }))
    }

    /// Get a task
    #[oai(path = "/tasks/:id", method = "get", operation_id = "get_task")]
    async fn get_task(
        &self,
        _auth: ApiAuth,
        /// The task's id.
        #[oai(validator(minimum(value = "1")))]
        id: Path<i64>,
        /// Answer 304 if the task is still at one of these versions.
        #[oai(name = "If-None-Match")]
        if_none_match: Header<Option<String>>,
    ) -> Result<ReadTask, ApiError> {
        let id = task_id(id.0)?;
        let task = self
            .service
            .get(id)
            .await?
            .ok_or_else(|| ApiError::not_found(vec![id]))?;
        if none_match(if_none_match.0.as_deref(), &task) {
            return Ok(ReadTask::NotModified(etag(&task)));
        }
        let tag = etag(&task);
        Ok(ReadTask::Ok(Json(task.into()), tag))
    }

    /// Replace a task
    ///
    /// Sets every field: an omitted `description` or `expiry_dt` becomes null.
    #[oai(path = "/tasks/:id", method = "put", operation_id = "replace_task")]
    async fn replace_task(
        &self,
        _auth: ApiAuth,
        /// The task's id.
        #[oai(validator(minimum(value = "1")))]
        id: Path<i64>,
        /// Replace only if the task is still at one of these versions (else 412).
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<String>>,
        body: Json<TaskInput>,
    ) -> Result<OneTask, ApiError> {
        let id = task_id(id.0)?;
        let draft = TaskDraft::try_from(body.0)?;
        let condition = if_match(if_match_header.0.as_deref());
        Ok(self.service.replace(id, &draft, &condition).await?.into())
    }

    /// Change some fields of a task
    ///
    /// JSON merge-patch semantics (`application/json` or
    /// `application/merge-patch+json`).
    #[oai(path = "/tasks/:id", method = "patch", operation_id = "patch_task")]
    async fn patch_task(
        &self,
        _auth: ApiAuth,
        /// The task's id.
        #[oai(validator(minimum(value = "1")))]
        id: Path<i64>,
        /// Change only if the task is still at one of these versions (else 412).
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<String>>,
        body: Json<TaskPatchInput>,
    ) -> Result<OneTask, ApiError> {
        let id = task_id(id.0)?;
        let patch = TaskPatch::try_from(body.0)?;
        let condition = if_match(if_match_header.0.as_deref());
        Ok(self.service.patch(id, patch, &condition).await?.into())
    }

    /// Delete a task
    #[oai(path = "/tasks/:id", method = "delete", operation_id = "delete_task")]
    async fn delete_task(
        &self,
        _auth: ApiAuth,
        /// The task's id.
        #[oai(validator(minimum(value = "1")))]
        id: Path<i64>,
        /// Delete only if the task is still at one of these versions (else 412).
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<String>>,
    ) -> Result<DeletedTask, ApiError> {
        let id = task_id(id.0)?;
        let condition = if_match(if_match_header.0.as_deref());
        self.service.delete(id, &condition).await?;
        Ok(DeletedTask::NoContent)
    }
}
