//! [`TaskStore`] for [`SqlStore`]: the task table, and idempotent creates.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use sqlx::{AssertSqlSafe, Database, Executor, IntoArguments};

use super::TaskStore;
use super::create::{CreateToken, create_once, insert_or_find};
use super::dialect::{Conn, Dialect};
use super::error::{StoreError, StoreResult};
use super::locks::{ascending, check_precondition, lock_all, lock_task, select_task};
use super::op::{Op, OpResult};
use super::rows::{DbTime, IdempotencyRow, TaskRow};
use super::sql;
use super::sql_store::SqlStore;
use super::status;
use super::task_list;
use crate::domain::{
    Created, IdempotentCreate, Page, PageRequest, Precondition, Priority, Task, TaskDraft,
    TaskFilter, TaskId, TaskIds, TaskOrder, TaskPatch, TaskPosition, TaskStatus, Timestamp,
};

#[async_trait]
impl<D: Dialect> TaskStore for SqlStore<D>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'q> i64: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> String: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> Option<String>: sqlx::Encode<'q, D::Db>,
    for<'q> Option<D::Time>: sqlx::Encode<'q, D::Db>,
    for<'q> Option<i64>: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> Vec<u8>: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'r> TaskRow<D::Time>: sqlx::FromRow<'r, <D::Db as Database>::Row>,
    for<'r> IdempotencyRow<D::Time>: sqlx::FromRow<'r, <D::Db as Database>::Row>,
    for<'r> (i64,): sqlx::FromRow<'r, <D::Db as Database>::Row>,
    for<'r> (D::Time,): sqlx::FromRow<'r, <D::Db as Database>::Row>,
{
    #[tracing::instrument(level = "debug", skip_all, fields(idempotent = idempotency.is_some()))]
    async fn create(
        &self,
        draft: &TaskDraft,
        now: Timestamp,
        idempotency: Option<&IdempotentCreate>,
    ) -> StoreResult<Created> {
        let draft = Arc::new(draft.clone());
        // Every attempt of this create sends the same token.
        let token = CreateToken::new();
        let Some(idempotency) = idempotency else {
            // One statement that commits by itself, safe to send again.
            let op: Op<D::Db, Created> = Arc::new(move |conn| {
                let draft = draft.clone();
                Box::pin(async move {
                    Ok(Created::New(
                        insert_or_find::<D>(conn, &draft, now, token).await?,
                    ))
                })
            });
            return self.write_resendable(op).await;
        };
        // The key and the task commit together, so that a concurrent retry
        // with the same key waits on the key's row and then finds its task;
        // the key also makes running it again after a lost commit answer
        // safe: it finds the first run's task.
        let idempotency = Arc::new(idempotency.clone());
        let op: Op<D::Db, Created> = Arc::new(move |conn| {
            let (draft, idempotency) = (draft.clone(), idempotency.clone());
            Box::pin(async move { create_once::<D>(conn, &draft, now, token, &idempotency).await })
        });
        self.write_rerunnable(op).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(task_id = %id))]
    async fn get(&self, id: TaskId) -> StoreResult<Option<Task>> {
        let op: Op<D::Db, Option<Task>> = Arc::new(move |conn| {
            Box::pin(async move { Ok(select_task::<D>(conn, sql::SELECT_TASK, id).await?) })
        });
        self.read(op).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(sort = order.sort.as_str(), order = order.direction.as_str()))]
    async fn list(
        &self,
        filter: TaskFilter,
        order: TaskOrder,
        page: PageRequest<TaskPosition>,
    ) -> StoreResult<Page<Task, TaskPosition>> {
        let filter = Arc::new(filter);
        let op: Op<D::Db, Page<Task, TaskPosition>> = Arc::new(move |conn| {
            let filter = filter.clone();
            Box::pin(async move { task_list::list_tasks::<D>(conn, &filter, order, page).await })
        });
        self.read(op).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(task_id = %id))]
    async fn patch(
        &self,
        id: TaskId,
        patch: &TaskPatch,
        now: Timestamp,
        condition: &Precondition,
    ) -> StoreResult<Task> {
        self.change(id, patch.clone(), now, condition).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(count = items.len()))]
    async fn replace_many(
        &self,
        items: &[(TaskId, TaskPatch)],
        now: Timestamp,
    ) -> StoreResult<Vec<Task>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let items: Arc<[(TaskId, TaskPatch)]> = items.into();
        let op: Op<D::Db, Vec<Task>> = Arc::new(move |conn| {
            let items = items.clone();
            Box::pin(async move { replace_all::<D>(conn, &items, now).await })
        });
        self.write(op).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(task_id = %id, status = status.as_str()))]
    async fn set_status(
        &self,
        id: TaskId,
        status: TaskStatus,
        now: Timestamp,
        condition: &Precondition,
    ) -> StoreResult<Task> {
        let condition = Arc::new(condition.clone());
        let op: Op<D::Db, Task> = Arc::new(move |conn| {
            let condition = condition.clone();
            Box::pin(async move { status::set_one::<D>(conn, id, status, now, &condition).await })
        });
        self.write(op).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(count = ids.as_slice().len(), status = status.as_str()))]
    async fn set_status_many(
        &self,
        ids: &TaskIds,
        status: TaskStatus,
        now: Timestamp,
    ) -> StoreResult<Vec<Task>> {
        let ids = Arc::new(ids.clone());
        let op: Op<D::Db, Vec<Task>> = Arc::new(move |conn| {
            let ids = ids.clone();
            Box::pin(async move { status::set_all::<D>(conn, &ids, status, now).await })
        });
        self.write(op).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(task_id = %id))]
    async fn delete(&self, id: TaskId, condition: &Precondition) -> StoreResult<()> {
        let condition = Arc::new(condition.clone());
        let op: Op<D::Db, ()> = Arc::new(move |conn| {
            let condition = condition.clone();
            Box::pin(async move {
                lock_current::<D>(conn, id, &condition).await?;
                sqlx::query(sql::DELETE_TASK)
                    .bind(id.get())
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        });
        self.write(op).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(count = ids.len()))]
    async fn delete_many(&self, ids: &[TaskId]) -> StoreResult<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let ids = Arc::new(ascending(ids.iter().copied()));
        let op: Op<D::Db, u64> = Arc::new(move |conn| {
            let ids = ids.clone();
            Box::pin(async move {
                let statement = format!(
                    "DELETE FROM task WHERE id IN ({})",
                    sql::placeholders(ids.len())
                );
                let mut query = sqlx::query(AssertSqlSafe(statement)).persistent(false);
                for id in ids.iter() {
                    query = query.bind(id.get());
                }
                Ok(D::rows_affected(&query.execute(&mut *conn).await?))
            })
        });
        self.write(op).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_all(&self) -> StoreResult<u64> {
        let op: Op<D::Db, u64> = Arc::new(|conn| {
            Box::pin(async move {
                let result = sqlx::query(sql::DELETE_ALL_TASKS)
                    .execute(&mut *conn)
                    .await?;
                Ok(D::rows_affected(&result))
            })
        });
        self.write(op).await
    }
}

impl<D: Dialect> SqlStore<D>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'q> i64: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> String: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> Option<String>: sqlx::Encode<'q, D::Db>,
    for<'q> Option<D::Time>: sqlx::Encode<'q, D::Db>,
    for<'q> Option<i64>: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'r> TaskRow<D::Time>: sqlx::FromRow<'r, <D::Db as Database>::Row>,
{
    /// Locks the task, checks the client's precondition, and writes the
    /// change with the task's next version.
    async fn change(
        &self,
        id: TaskId,
        change: TaskPatch,
        now: Timestamp,
        condition: &Precondition,
    ) -> StoreResult<Task> {
        let change = Arc::new((change, condition.clone()));
        let op: Op<D::Db, Task> = Arc::new(move |conn| {
            let change = change.clone();
            Box::pin(async move {
                let (change, condition) = &*change;
                let current = lock_task::<D>(conn, id).await?;
                // A bad title is a bad request whatever the version: it is
                // judged (against the stored title) before the precondition.
                let draft = change
                    .apply_to(&current)
                    .map_err(|err| StoreError::InvalidTitle(vec![(id, err)]))?;
                check_precondition(&current, condition)?;
                write_task::<D>(conn, &current, &draft, now).await
            })
        });
        self.write(op).await
    }
}

/// The task, locked for this write transaction, if it exists and meets the
/// client's precondition.
async fn lock_current<D: Dialect>(
    conn: &mut Conn<D>,
    id: TaskId,
    condition: &Precondition,
) -> OpResult<Task>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'q> i64: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'r> TaskRow<D::Time>: sqlx::FromRow<'r, <D::Db as Database>::Row>,
{
    let current = lock_task::<D>(conn, id).await?;
    check_precondition(&current, condition)?;
    Ok(current)
}

/// Writes the task's new content with its next version (taken here, under
/// the row lock, so versions follow commit order).
async fn write_task<D: Dialect>(
    conn: &mut Conn<D>,
    current: &Task,
    draft: &TaskDraft,
    now: Timestamp,
) -> OpResult<Task>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'q> i64: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> String: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> Option<String>: sqlx::Encode<'q, D::Db>,
    for<'q> Option<D::Time>: sqlx::Encode<'q, D::Db>,
    for<'q> Option<i64>: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
{
    let version = Timestamp::next_version(current.update_dt, now);
    let title = (draft.title != current.title).then(|| draft.title.as_str().to_owned());
    // Labels another tool wrote are read leniently: unless the change
    // makes them other than they read, they stay exactly as stored.
    let relabel = draft.labels != current.labels;
    let statement = if relabel {
        sql::UPDATE_TASK_LABELLED
    } else {
        sql::UPDATE_TASK
    };
    let mut query = sqlx::query(statement)
        .bind(title)
        .bind(draft.description.as_ref().map(|d| d.as_str().to_owned()))
        .bind(draft.expiry_dt.map(D::Time::encode))
        .bind(draft.priority.map(Priority::get));
    if relabel {
        // `[]` rather than `NULL` for none: see UPDATE_TASK_LABELLED.
        let labels = draft.labels.to_json().unwrap_or_else(|| "[]".to_owned());
        let keys = draft.labels.keys_json().unwrap_or_else(|| "[]".to_owned());
        query = query
            .bind(labels)
            .bind(keys.clone())
            .bind(format!(" {keys}"))
            .bind(keys);
    }
    query
        .bind(D::Time::encode(version))
        .bind(current.id.get())
        .execute(&mut *conn)
        .await?;
    Ok(Task {
        id: current.id,
        title: draft.title.clone(),
        description: draft.description.clone(),
        expiry_dt: draft.expiry_dt,
        create_dt: current.create_dt,
        update_dt: Some(version),
        status: current.status,
        completed_dt: current.completed_dt,
        priority: draft.priority,
        labels: draft.labels.clone(),
    })
}

/// Locks every named task in ascending id order, then writes each; if any
/// is missing, or any sets a title that breaks the rules, nothing is
/// written and every such id is named.
async fn replace_all<D: Dialect>(
    conn: &mut Conn<D>,
    items: &[(TaskId, TaskPatch)],
    now: Timestamp,
) -> OpResult<Vec<Task>>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'q> i64: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> String: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> Option<String>: sqlx::Encode<'q, D::Db>,
    for<'q> Option<D::Time>: sqlx::Encode<'q, D::Db>,
    for<'q> Option<i64>: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'r> TaskRow<D::Time>: sqlx::FromRow<'r, <D::Db as Database>::Row>,
{
    let current = lock_all::<D>(conn, items.iter().map(|(id, _)| *id)).await?;
    let mut drafts = HashMap::with_capacity(items.len());
    let mut invalid = Vec::new();
    for (id, patch) in items {
        match patch.apply_to(&current[id]) {
            Ok(draft) => {
                drafts.insert(*id, draft);
            }
            Err(err) => invalid.push((*id, err)),
        }
    }
    if !invalid.is_empty() {
        return Err(StoreError::InvalidTitle(invalid).into());
    }
    let mut written = HashMap::with_capacity(items.len());
    for id in &ascending(items.iter().map(|(id, _)| *id)) {
        let task = write_task::<D>(conn, &current[id], &drafts[id], now).await?;
        written.insert(*id, task);
    }
    Ok(items
        .iter()
        .filter_map(|(id, _)| written.get(id).cloned())
        .collect())
}
