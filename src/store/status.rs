//! Completing and reopening tasks, one or many: the writes behind
//! [`super::TaskStore::set_status`] and [`super::TaskStore::set_status_many`].

use sqlx::{Database, Executor, IntoArguments};

use super::dialect::{Conn, Dialect};
use super::locks::{ascending, check_precondition, lock_all, lock_task};
use super::op::OpResult;
use super::rows::{DbTime, TaskRow};
use super::sql;
use crate::domain::{Precondition, StatusChange, Task, TaskId, TaskIds, TaskStatus, Timestamp};

/// Locks the task; unless it has the status already, checks the client's
/// precondition and writes the change with the task's next version.
pub(super) async fn set_one<D: Dialect>(
    conn: &mut Conn<D>,
    id: TaskId,
    status: TaskStatus,
    now: Timestamp,
    condition: &Precondition,
) -> OpResult<Task>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'q> i64: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> String: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> Option<D::Time>: sqlx::Encode<'q, D::Db>,
    for<'r> TaskRow<D::Time>: sqlx::FromRow<'r, <D::Db as Database>::Row>,
{
    let current = lock_task::<D>(conn, id).await?;
    let Some(change) = current.with_status(status, now) else {
        return Ok(current);
    };
    check_precondition(&current, condition)?;
    write_status::<D>(conn, &current, change, now).await
}

/// Locks every named task in ascending id order; if any is missing,
/// nothing is written and every missing id is named. Then writes each that
/// does not have the status yet.
pub(super) async fn set_all<D: Dialect>(
    conn: &mut Conn<D>,
    ids: &TaskIds,
    status: TaskStatus,
    now: Timestamp,
) -> OpResult<Vec<Task>>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'q> i64: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> String: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> Option<D::Time>: sqlx::Encode<'q, D::Db>,
    for<'r> TaskRow<D::Time>: sqlx::FromRow<'r, <D::Db as Database>::Row>,
{
    let named = ids.as_slice();
    let mut tasks = lock_all::<D>(conn, named.iter().copied()).await?;
    for id in ascending(named.iter().copied()) {
        let current = &tasks[&id];
        if let Some(change) = current.with_status(status, now) {
            let written = write_status::<D>(conn, current, change, now).await?;
            tasks.insert(id, written);
        }
    }
    Ok(named.iter().filter_map(|id| tasks.remove(id)).collect())
}

async fn write_status<D: Dialect>(
    conn: &mut Conn<D>,
    current: &Task,
    change: StatusChange,
    now: Timestamp,
) -> OpResult<Task>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'q> i64: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> String: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> Option<D::Time>: sqlx::Encode<'q, D::Db>,
{
    let version = Timestamp::next_version(current.update_dt, now);
    sqlx::query(sql::UPDATE_TASK_STATUS)
        .bind(change.status.as_str().to_owned())
        .bind(change.completed_dt.map(D::Time::encode))
        .bind(D::Time::encode(version))
        .bind(current.id.get())
        .execute(&mut *conn)
        .await?;
    Ok(Task {
        status: change.status,
        completed_dt: change.completed_dt,
        update_dt: Some(version),
        ..current.clone()
    })
}
