//! [`NotificationStore`] and [`HealthCheck`] for [`SqlStore`]: the warning
//! history as clients read it, and whether the database can serve.

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::{Database, Executor, IntoArguments};

use super::dialect::Dialect;
use super::error::StoreResult;
use super::op::Op;
use super::rows::{DbTime, NotificationRow};
use super::sql;
use super::sql_store::{DatabaseHealth, SqlStore, StoreStats};
use super::{HealthCheck, NotificationStore};
use crate::domain::{Notification, NotificationFilter, Page, PageRequest, PageStart, Timestamp};

type Conn<D> = <<D as Dialect>::Db as Database>::Connection;

#[async_trait]
impl<D: Dialect> NotificationStore for SqlStore<D>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'q> i64: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'r> NotificationRow<D::Time>: sqlx::FromRow<'r, <D::Db as Database>::Row>,
    for<'r> (i64,): sqlx::FromRow<'r, <D::Db as Database>::Row>,
{
    #[tracing::instrument(level = "debug", skip_all)]
    async fn list(
        &self,
        filter: NotificationFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Notification>> {
        let op: Op<D::Db, Page<Notification>> = Arc::new(move |conn| {
            Box::pin(async move {
                let (below, offset) = match page.start {
                    PageStart::Offset(offset) => (i64::MAX, offset),
                    PageStart::After(id) => (id, 0),
                };
                let fetch = i64::from(page.limit) + 1;
                let offset = i64::try_from(offset).unwrap_or(i64::MAX);
                let query = match filter.task_id {
                    None => sqlx::query_as::<_, NotificationRow<D::Time>>(sql::LIST_NOTIFICATIONS),
                    Some(task) => {
                        sqlx::query_as::<_, NotificationRow<D::Time>>(sql::LIST_TASK_NOTIFICATIONS)
                            .bind(task.get())
                    }
                };
                let rows = query
                    .bind(below)
                    .bind(fetch)
                    .bind(offset)
                    .fetch_all(&mut *conn)
                    .await?;
                // The keyset position is the last row read, readable or not.
                let more = rows.len() > page.limit as usize;
                let mut rows = rows;
                rows.truncate(page.limit as usize);
                let last_id = rows.last().map(NotificationRow::id);
                let items = rows
                    .into_iter()
                    .filter_map(NotificationRow::into_notification)
                    .collect();
                let total = if page.count_total {
                    let count = match filter.task_id {
                        None => sqlx::query_as::<_, (i64,)>(sql::COUNT_NOTIFICATIONS),
                        Some(task) => sqlx::query_as::<_, (i64,)>(sql::COUNT_TASK_NOTIFICATIONS)
                            .bind(task.get()),
                    };
                    let (count,) = count.fetch_one(&mut *conn).await?;
                    Some(u64::try_from(count).unwrap_or_default())
                } else {
                    None
                };
                Ok(Page {
                    items,
                    total,
                    next: if more { last_id } else { None },
                })
            })
        });
        self.read(op).await
    }

    async fn after(&self, after: i64, limit: u32) -> StoreResult<Vec<Notification>> {
        let op: Op<D::Db, Vec<Notification>> = Arc::new(move |conn| {
            Box::pin(async move {
                Ok(
                    sqlx::query_as::<_, NotificationRow<D::Time>>(sql::NOTIFICATIONS_AFTER)
                        .bind(after)
                        .bind(i64::from(limit))
                        .fetch_all(&mut *conn)
                        .await?
                        .into_iter()
                        .filter_map(NotificationRow::into_notification)
                        .collect(),
                )
            })
        });
        self.read(op).await
    }

    async fn latest_id(&self) -> StoreResult<i64> {
        let op: Op<D::Db, i64> = Arc::new(|conn| {
            Box::pin(async move {
                let (latest,) = sqlx::query_as::<_, (i64,)>(sql::LATEST_NOTIFICATION_ID)
                    .fetch_one(&mut *conn)
                    .await?;
                Ok(latest)
            })
        });
        self.read(op).await
    }
}

#[async_trait]
impl<D: Dialect> HealthCheck for SqlStore<D>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
{
    async fn health(&self) -> DatabaseHealth {
        let read: Op<D::Db, ()> = Arc::new(|conn| {
            Box::pin(async move {
                sqlx::query(sql::PROBE_READ).execute(&mut *conn).await?;
                Ok(())
            })
        });
        let write: Op<D::Db, ()> = Arc::new(|conn| {
            Box::pin(async move {
                sqlx::query(sql::PROBE_WRITE)
                    .bind(D::Time::encode(Timestamp::now()))
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        });
        self.check_health(read, write).await
    }

    fn stats(&self) -> StoreStats {
        SqlStore::stats(self)
    }
}
