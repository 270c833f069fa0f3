//! [`ExpiryStore`] for [`SqlStore`]: claims, pending expiries and webhook
//! deliveries, as the expiry service needs them.

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::{Database, Executor, IntoArguments};

use super::dialect::Dialect;
use super::error::StoreResult;
use super::op::Op;
use super::rows::{DbTime, NotificationRow, PendingRow};
use super::sql;
use super::sql_store::SqlStore;
use super::{DeliveryOutcome, ExpiryStore, PendingBatch};
use crate::domain::{Claim, DeliveryState, Notification, PendingExpiry, TaskId, Timestamp};

type Conn<D> = <<D as Dialect>::Db as Database>::Connection;

#[async_trait]
impl<D: Dialect> ExpiryStore for SqlStore<D>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'q> i64: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> bool: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> &'static str: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> String: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> Option<String>: sqlx::Encode<'q, D::Db>,
    for<'q> Option<D::Time>: sqlx::Encode<'q, D::Db>,
    for<'r> PendingRow<D::Time>: sqlx::FromRow<'r, <D::Db as Database>::Row>,
    for<'r> NotificationRow<D::Time>: sqlx::FromRow<'r, <D::Db as Database>::Row>,
{
    #[tracing::instrument(level = "debug", skip_all, fields(claims = claims.len()))]
    async fn claim(&self, claims: &[Claim]) -> StoreResult<Vec<Notification>> {
        if claims.is_empty() {
            return Ok(Vec::new());
        }
        let claims: Arc<[Claim]> = claims.into();
        let op: Op<D::Db, Vec<Notification>> = Arc::new(move |conn| {
            let claims = claims.clone();
            Box::pin(async move {
                // First, so that the lock is held through every insert to the commit.
                sqlx::query(D::ORDER_CLAIMS).execute(&mut *conn).await?;
                let mut won = Vec::new();
                for claim in claims.iter() {
                    let state = if claim.deliver {
                        DeliveryState::Pending
                    } else {
                        DeliveryState::None
                    };
                    let result = sqlx::query(D::CLAIM)
                        .bind(claim.kind.as_str())
                        .bind(D::Time::encode(claim.notified_at))
                        .bind(claim.late)
                        .bind(state.as_str())
                        .bind(claim.deliver.then(|| D::Time::encode(claim.notified_at)))
                        .bind(claim.task_id.get())
                        .bind(D::Time::encode(claim.expiry_dt))
                        .execute(&mut *conn)
                        .await?;
                    if D::rows_affected(&result) > 0 {
                        won.push(D::inserted_id(&result));
                    }
                }
                let (Some(&first), Some(&last)) = (won.iter().min(), won.iter().max()) else {
                    return Ok(Vec::new());
                };
                // One read for all of them; the range holds only this
                // transaction's rows (no other claim can commit meanwhile),
                // but it is filtered by id all the same.
                let rows =
                    sqlx::query_as::<_, NotificationRow<D::Time>>(sql::NOTIFICATIONS_BETWEEN)
                        .bind(first)
                        .bind(last)
                        .fetch_all(&mut *conn)
                        .await?;
                Ok(rows
                    .into_iter()
                    .filter(|row| won.contains(&row.id()))
                    .filter_map(NotificationRow::into_notification)
                    .collect())
            })
        });
        self.write(op).await
    }

    async fn pending_expiry(&self, id: TaskId) -> StoreResult<Option<PendingExpiry>> {
        let op: Op<D::Db, Option<PendingExpiry>> = Arc::new(move |conn| {
            Box::pin(async move {
                Ok(
                    sqlx::query_as::<_, PendingRow<D::Time>>(sql::PENDING_EXPIRY)
                        .bind(id.get())
                        .fetch_optional(&mut *conn)
                        .await?
                        .and_then(PendingRow::into_pending),
                )
            })
        });
        self.read(op).await
    }

    async fn pending_expiries(
        &self,
        after: Option<TaskId>,
        changed_since: Option<Timestamp>,
        limit: u32,
    ) -> StoreResult<PendingBatch> {
        let op: Op<D::Db, PendingBatch> = Arc::new(move |conn| {
            Box::pin(async move {
                let after = after.map_or(0, TaskId::get);
                let query = match changed_since {
                    Some(since) => {
                        sqlx::query_as::<_, PendingRow<D::Time>>(sql::CHANGED_PENDING_BATCH)
                            .bind(D::Time::encode(since))
                    }
                    None => sqlx::query_as::<_, PendingRow<D::Time>>(sql::PENDING_BATCH),
                };
                let rows = query
                    .bind(after)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *conn)
                    .await?;
                let full = rows.len() >= limit as usize;
                let last = rows.last().map(|row| TaskId::from_db(row.id()));
                Ok(PendingBatch {
                    pending: rows
                        .into_iter()
                        .filter_map(PendingRow::into_pending)
                        .collect(),
                    next_after: if full { last } else { None },
                })
            })
        });
        self.read(op).await
    }

    async fn lease_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Notification>> {
        let due: Op<D::Db, Vec<Notification>> = Arc::new(move |conn| {
            Box::pin(async move {
                Ok(
                    sqlx::query_as::<_, NotificationRow<D::Time>>(sql::DUE_DELIVERIES)
                        .bind(D::Time::encode(now))
                        .bind(i64::from(limit))
                        .fetch_all(&mut *conn)
                        .await?
                        .into_iter()
                        .filter_map(NotificationRow::into_notification)
                        .collect(),
                )
            })
        });
        let due = Arc::new(self.read(due).await?);
        if due.is_empty() {
            return Ok(Vec::new());
        }
        let lease: Op<D::Db, Vec<Notification>> = Arc::new(move |conn| {
            let due = due.clone();
            Box::pin(async move {
                let mut leased = Vec::with_capacity(due.len());
                for notification in due.iter() {
                    let taken = sqlx::query(sql::LEASE_DELIVERY)
                        .bind(D::Time::encode(lease_until))
                        .bind(notification.id)
                        .bind(D::Time::encode(now))
                        .execute(&mut *conn)
                        .await?;
                    if D::rows_affected(&taken) > 0 {
                        leased.push(notification.clone());
                    }
                }
                Ok(leased)
            })
        });
        self.write(lease).await
    }

    async fn record_delivery(&self, id: i64, outcome: &DeliveryOutcome) -> StoreResult<()> {
        let (state, error, next_attempt_at, delivered_at) = match outcome {
            DeliveryOutcome::Delivered { at } => (DeliveryState::Delivered, None, None, Some(*at)),
            DeliveryOutcome::Retry {
                error,
                next_attempt_at,
            } => (
                DeliveryState::Pending,
                Some(error.clone()),
                Some(*next_attempt_at),
                None,
            ),
            DeliveryOutcome::Failed { error } => {
                (DeliveryState::Failed, Some(error.clone()), None, None)
            }
        };
        let op: Op<D::Db, ()> = Arc::new(move |conn| {
            let error = error.clone();
            Box::pin(async move {
                sqlx::query(sql::RECORD_DELIVERY)
                    .bind(state.as_str())
                    .bind(error)
                    .bind(next_attempt_at.map(D::Time::encode))
                    .bind(delivered_at.map(D::Time::encode))
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        });
        self.write(op).await
    }

    async fn purge_idempotency_keys(&self, now: Timestamp) -> StoreResult<u64> {
        let op: Op<D::Db, u64> = Arc::new(move |conn| {
            Box::pin(async move {
                let purged = sqlx::query(sql::PURGE_IDEMPOTENCY_KEYS)
                    .bind(D::Time::encode(now))
                    .execute(&mut *conn)
                    .await?;
                Ok(D::rows_affected(&purged))
            })
        });
        self.write(op).await
    }
}
