//! Locking tasks for a write transaction, as every write of them does: one
//! by id, or many in ascending id order (so that two bulk writes cannot
//! wait for each other), with the client's precondition checked.

use std::collections::HashMap;

use sqlx::{AssertSqlSafe, Database, Executor, IntoArguments};

use super::dialect::{Conn, Dialect};
use super::error::StoreError;
use super::op::OpResult;
use super::rows::TaskRow;
use super::sql;
use crate::domain::{Precondition, Task, TaskId};

/// Ids sorted and without repeats: the order every bulk write locks rows
/// in, so that two of them cannot wait for each other.
pub(super) fn ascending(ids: impl Iterator<Item = TaskId>) -> Vec<TaskId> {
    let mut ids: Vec<TaskId> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

pub(super) async fn select_task<D: Dialect>(
    conn: &mut Conn<D>,
    statement: &'static str,
    id: TaskId,
) -> sqlx::Result<Option<Task>>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'q> i64: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'r> TaskRow<D::Time>: sqlx::FromRow<'r, <D::Db as Database>::Row>,
{
    Ok(sqlx::query_as::<_, TaskRow<D::Time>>(statement)
        .bind(id.get())
        .fetch_optional(&mut *conn)
        .await?
        .map(Task::from))
}

/// The task, locked for this write transaction, if it exists.
pub(super) async fn lock_task<D: Dialect>(conn: &mut Conn<D>, id: TaskId) -> OpResult<Task>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'q> i64: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'r> TaskRow<D::Time>: sqlx::FromRow<'r, <D::Db as Database>::Row>,
{
    Ok(select_task::<D>(conn, D::LOCK_TASK, id)
        .await?
        .ok_or(StoreError::NotFound(vec![id]))?)
}

pub(super) fn check_precondition(current: &Task, condition: &Precondition) -> OpResult<()> {
    if condition.holds_for(current) {
        Ok(())
    } else {
        Err(StoreError::PreconditionFailed(current.id).into())
    }
}

/// Every named task, locked for this write transaction in ascending id
/// order (so that two bulk writes cannot wait for each other); if any is
/// missing, [`StoreError::NotFound`] names every missing one, in the order
/// they were named.
pub(super) async fn lock_all<D: Dialect>(
    conn: &mut Conn<D>,
    named: impl Iterator<Item = TaskId> + Clone,
) -> OpResult<HashMap<TaskId, Task>>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'q> i64: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'r> TaskRow<D::Time>: sqlx::FromRow<'r, <D::Db as Database>::Row>,
{
    let ids = ascending(named.clone());
    let statement = format!(
        "SELECT {} FROM task WHERE id IN ({}) ORDER BY id{}",
        sql::TASK_COLUMNS,
        sql::placeholders(ids.len()),
        D::LOCK_ROWS
    );
    let mut query =
        sqlx::query_as::<_, TaskRow<D::Time>>(AssertSqlSafe(statement)).persistent(false);
    for id in &ids {
        query = query.bind(id.get());
    }
    let current: HashMap<TaskId, Task> = query
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(Task::from)
        .map(|task| (task.id, task))
        .collect();
    let missing: Vec<TaskId> = named.filter(|id| !current.contains_key(id)).collect();
    if !missing.is_empty() {
        return Err(StoreError::NotFound(missing).into());
    }
    Ok(current)
}
