//! The notification queries, written once for both backends (see
//! `task_sql.rs` for why this is a macro). The invoking module also supplies
//! `CLAIM`, the conditional insert in its dialect.

macro_rules! impl_notification_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::NotificationStore for $store {
            #[tracing::instrument(skip_all, fields(task_id = %claim.task_id))]
            async fn claim(&self, claim: &Claim) -> StoreResult<Option<Notification>> {
                let next_attempt_at = claim.deliver.then(|| Time::encode(claim.notified_at));
                let state = if claim.deliver {
                    DeliveryState::Pending
                } else {
                    DeliveryState::None
                };
                let mut tx = self.begin_write().await?;
                let result = sqlx::query(CLAIM)
                    .bind(claim.kind.as_str())
                    .bind(Time::encode(claim.notified_at))
                    .bind(claim.late)
                    .bind(state.as_str())
                    .bind(next_attempt_at)
                    .bind(claim.task_id.get())
                    .bind(Time::encode(claim.expiry_dt))
                    .execute(&mut *tx)
                    .await?;
                if result.rows_affected() == 0 {
                    return Ok(None);
                }
                let notification =
                    sqlx::query_as::<_, rows::NotificationRow<Time>>(rows::SELECT_NOTIFICATION)
                        .bind(inserted_id(&result))
                        .fetch_one(&mut *tx)
                        .await?;
                tx.commit().await?;
                Ok(Some(notification.try_into()?))
            }

            async fn pending_expiry(&self, id: TaskId) -> StoreResult<Option<PendingExpiry>> {
                sqlx::query_as::<_, rows::PendingRow<Time>>(rows::PENDING_EXPIRY)
                    .bind(id.get())
                    .fetch_optional(&self.pool)
                    .await?
                    .map(PendingExpiry::try_from)
                    .transpose()
            }

            async fn pending_expiries(
                &self,
                after: Option<TaskId>,
                changed_since: Option<Timestamp>,
                limit: u32,
            ) -> StoreResult<Vec<PendingExpiry>> {
                let after = after.map_or(0, TaskId::get);
                let query = match changed_since {
                    Some(since) => {
                        sqlx::query_as::<_, rows::PendingRow<Time>>(rows::CHANGED_PENDING_BATCH)
                            .bind(Time::encode(since))
                    }
                    None => sqlx::query_as::<_, rows::PendingRow<Time>>(rows::PENDING_BATCH),
                };
                query
                    .bind(after)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?
                    .into_iter()
                    .map(PendingExpiry::try_from)
                    .collect()
            }

            async fn list_notifications(
                &self,
                task_id: Option<TaskId>,
                page: PageRequest,
            ) -> StoreResult<Page<Notification>> {
                let task_id = task_id.map(TaskId::get);
                let mut tx = self.pool.begin().await?;
                let found =
                    sqlx::query_as::<_, rows::NotificationRow<Time>>(rows::LIST_NOTIFICATIONS)
                        .bind(task_id)
                        .bind(task_id)
                        .bind(i64::from(page.limit))
                        .bind(i64::try_from(page.offset).unwrap_or(i64::MAX))
                        .fetch_all(&mut *tx)
                        .await?;
                let total: i64 = sqlx::query_scalar(rows::COUNT_NOTIFICATIONS)
                    .bind(task_id)
                    .bind(task_id)
                    .fetch_one(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(Page {
                    items: found
                        .into_iter()
                        .map(Notification::try_from)
                        .collect::<Result<_, _>>()?,
                    total: u64::try_from(total).unwrap_or_default(),
                })
            }

            async fn lease_deliveries(
                &self,
                now: Timestamp,
                lease_until: Timestamp,
                limit: u32,
            ) -> StoreResult<Vec<Notification>> {
                let due = sqlx::query_as::<_, rows::NotificationRow<Time>>(rows::DUE_DELIVERIES)
                    .bind(Time::encode(now))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                let mut leased = Vec::with_capacity(due.len());
                for row in due {
                    let notification = Notification::try_from(row)?;
                    let taken = sqlx::query(rows::LEASE_DELIVERY)
                        .bind(Time::encode(lease_until))
                        .bind(notification.id)
                        .bind(Time::encode(now))
                        .execute(&self.pool)
                        .await?
                        .rows_affected();
                    if taken > 0 {
                        leased.push(notification);
                    }
                }
                Ok(leased)
            }

            async fn record_delivery(&self, id: i64, outcome: &DeliveryOutcome) -> StoreResult<()> {
                let (state, error, next_attempt_at, delivered_at) = match outcome {
                    DeliveryOutcome::Delivered { at } => {
                        (DeliveryState::Delivered, None, None, Some(*at))
                    }
                    DeliveryOutcome::Retry {
                        error,
                        next_attempt_at,
                    } => (
                        DeliveryState::Pending,
                        Some(error.as_str()),
                        Some(*next_attempt_at),
                        None,
                    ),
                    DeliveryOutcome::Failed { error } => {
                        (DeliveryState::Failed, Some(error.as_str()), None, None)
                    }
                };
                sqlx::query(rows::RECORD_DELIVERY)
                    .bind(state.as_str())
                    .bind(error)
                    .bind(next_attempt_at.map(Time::encode))
                    .bind(delivered_at.map(Time::encode))
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }
    };
}

pub(super) use impl_notification_store;
