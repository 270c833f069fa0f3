//! Creates: the token each one carries, so that a create whose answer was
//! lost can be sent again without making a second task, and creates under
//! an idempotency key.

use sqlx::{Database, Executor, IntoArguments};

use super::dialect::{Conn, Dialect};
use super::error::StoreError;
use super::op::{Failure, OpResult};
use super::rows::{DbTime, IdempotencyRow, TaskRow};
use super::sql;
use crate::domain::{
    Created, IdempotentCreate, Priority, Task, TaskDraft, TaskId, TaskStatus, Timestamp,
};

/// A create's own name, stored with its task under a unique key and never
/// shown to clients: every attempt of one create sends the same token, so a
/// second attempt cannot make a second task, and finds the first's.
///
/// 16 bytes laid out as a UUIDv7: a millisecond time, then 74 bits from the
/// operating system's random source. Random, so any number of replicas make
/// them without coordination (no counter, no replica id to configure); a
/// clash would need two creates in one millisecond to draw the same 74 bits.
/// Time first, so that new tokens land at the right edge of the unique index
/// as the ids do at the primary key's, instead of all over it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct CreateToken([u8; 16]);

impl CreateToken {
    pub(super) fn new() -> Self {
        Self(uuid::Uuid::now_v7().into_bytes())
    }

    fn bytes(self) -> Vec<u8> {
        self.0.to_vec()
    }
}

/// Inserts the task with its token, or, if a task with this token is there
/// already (an earlier attempt of this create landed, and its answer was
/// lost), answers that task as it is stored.
///
/// One statement, which commits by itself: sending it again is safe.
pub(super) async fn insert_or_find<D: Dialect>(
    conn: &mut Conn<D>,
    draft: &TaskDraft,
    now: Timestamp,
    token: CreateToken,
) -> OpResult<Task>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'q> String: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> Option<String>: sqlx::Encode<'q, D::Db>,
    for<'q> Option<D::Time>: sqlx::Encode<'q, D::Db>,
    for<'q> Option<i64>: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> Vec<u8>: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'r> TaskRow<D::Time>: sqlx::FromRow<'r, <D::Db as Database>::Row>,
{
    match insert::<D>(conn, draft, now, token).await {
        Err(Failure::Sql(err)) if is_unique_violation(&err) => {
            let stored = sqlx::query_as::<_, TaskRow<D::Time>>(sql::SELECT_TASK_BY_TOKEN)
                .bind(token.bytes())
                .fetch_optional(&mut *conn)
                .await?;
            // Not found: the key refused the row for some other reason.
            stored.map(Task::from).ok_or(Failure::Sql(err))
        }
        inserted => inserted,
    }
}

fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|db| db.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

async fn insert<D: Dialect>(
    conn: &mut Conn<D>,
    draft: &TaskDraft,
    now: Timestamp,
    token: CreateToken,
) -> OpResult<Task>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'q> String: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> Option<String>: sqlx::Encode<'q, D::Db>,
    for<'q> Option<D::Time>: sqlx::Encode<'q, D::Db>,
    for<'q> Option<i64>: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> Vec<u8>: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
{
    let result = sqlx::query(sql::INSERT_TASK)
        .bind(draft.title.as_str().to_owned())
        .bind(draft.description.as_ref().map(|d| d.as_str().to_owned()))
        .bind(draft.expiry_dt.map(D::Time::encode))
        .bind(draft.priority.map(Priority::get))
        .bind(draft.labels.to_json())
        .bind(draft.labels.keys_json())
        .bind(D::Time::encode(now))
        .bind(D::Time::encode(now))
        .bind(token.bytes())
        .execute(&mut *conn)
        .await?;
    // Everything but the id is what was bound: no need to read the row back.
    Ok(Task {
        id: TaskId::from_db(D::inserted_id(&result)),
        title: draft.title.clone(),
        description: draft.description.clone(),
        expiry_dt: draft.expiry_dt,
        create_dt: Some(now),
        update_dt: Some(now),
        status: TaskStatus::Open,
        completed_dt: None,
        priority: draft.priority,
        labels: draft.labels.clone(),
    })
}

/// A create under an idempotency key: the key is taken first, in the same
/// transaction as the task, so a concurrent retry waits for this create and
/// then finds its record.
pub(super) async fn create_once<D: Dialect>(
    conn: &mut Conn<D>,
    draft: &TaskDraft,
    now: Timestamp,
    token: CreateToken,
    idempotency: &IdempotentCreate,
) -> OpResult<Created>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'q> String: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> i64: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> Option<String>: sqlx::Encode<'q, D::Db>,
    for<'q> Option<D::Time>: sqlx::Encode<'q, D::Db>,
    for<'q> Option<i64>: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> Vec<u8>: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'r> IdempotencyRow<D::Time>: sqlx::FromRow<'r, <D::Db as Database>::Row>,
{
    let key = idempotency.key.as_str().to_owned();
    if !take_key::<D>(conn, idempotency, now).await? {
        let mut earlier = sqlx::query_as::<_, IdempotencyRow<D::Time>>(sql::SELECT_IDEMPOTENCY_KEY)
            .bind(key.clone())
            .fetch_one(&mut *conn)
            .await?;
        let expired = earlier.expires_at().is_none_or(|until| until <= now);
        if !expired {
            if earlier.fingerprint != idempotency.fingerprint {
                return Err(StoreError::IdempotencyKeyReused.into());
            }
            if let Some(task) = earlier.into_task() {
                return Ok(Created::Replayed(task));
            }
        }
        // Expired (or never completed): the key is free again.
        sqlx::query(sql::DELETE_IDEMPOTENCY_KEY)
            .bind(key.clone())
            .execute(&mut *conn)
            .await?;
        if !take_key::<D>(conn, idempotency, now).await? {
            return Err(StoreError::IdempotencyKeyReused.into());
        }
    }
    let task = insert::<D>(conn, draft, now, token).await?;
    sqlx::query(sql::RECORD_IDEMPOTENT_TASK)
        .bind(task.id.get())
        .bind(task.title.as_str().to_owned())
        .bind(task.description.as_ref().map(|d| d.as_str().to_owned()))
        .bind(task.expiry_dt.map(D::Time::encode))
        .bind(task.create_dt.map(D::Time::encode))
        .bind(task.priority.map(Priority::get))
        .bind(task.labels.to_json())
        .bind(key)
        .execute(&mut *conn)
        .await?;
    Ok(Created::New(task))
}

/// Whether the key was free (and is now this create's).
async fn take_key<D: Dialect>(
    conn: &mut Conn<D>,
    idempotency: &IdempotentCreate,
    now: Timestamp,
) -> OpResult<bool>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'q> String: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
{
    let taken = sqlx::query(D::INSERT_IDEMPOTENCY_KEY)
        .bind(idempotency.key.as_str().to_owned())
        .bind(idempotency.fingerprint.clone())
        .bind(D::Time::encode(now))
        .bind(D::Time::encode(idempotency.expires_at))
        .execute(&mut *conn)
        .await?;
    Ok(D::rows_affected(&taken) > 0)
}
