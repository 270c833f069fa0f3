//! The task queries, written once for both backends.
//!
//! sqlx's executor traits make a generic implementation a thicket of
//! higher-ranked bounds, so the shared code is a macro instead. The invoking
//! module supplies `Db`, `Time` (a [`super::rows::DbTime`]), `LOCK_TASK`
//! (the row-locking read used inside write transactions), `inserted_id` and
//! `Self::begin_write`.

macro_rules! impl_task_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::TaskStore for $store {
            async fn ping(&self) -> StoreResult<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn create(&self, draft: &TaskDraft, now: Timestamp) -> StoreResult<Task> {
                let mut tx = self.begin_write().await?;
                let result = sqlx::query(rows::INSERT_TASK)
                    .bind(draft.title.as_str())
                    .bind(draft.description.as_ref().map(|d| d.as_str()))
                    .bind(draft.expiry_dt.map(Time::encode))
                    .bind(Time::encode(now))
                    .bind(Time::encode(now))
                    .execute(&mut *tx)
                    .await?;
                let id = TaskId::from_db(inserted_id(&result));
                let task = read_task(&mut tx, rows::SELECT_TASK, id)
                    .await?
                    .ok_or_else(|| StoreError::Corrupt(format!("task {id} vanished on insert")))?;
                tx.commit().await?;
                Ok(task)
            }

            #[tracing::instrument(skip_all, fields(task_id = %id))]
            async fn get(&self, id: TaskId) -> StoreResult<Option<Task>> {
                let mut conn = self.pool.acquire().await?;
                read_task(&mut conn, rows::SELECT_TASK, id).await
            }

            #[tracing::instrument(skip_all)]
            async fn list(&self, filter: TaskFilter, page: PageRequest) -> StoreResult<Page<Task>> {
                let before = filter.expires_before.map(Time::encode);
                let after = filter.expires_after.map(Time::encode);
                let limit = i64::from(page.limit);
                let offset = i64::try_from(page.offset).unwrap_or(i64::MAX);
                let mut tx = self.pool.begin().await?;
                let found = sqlx::query_as::<_, rows::TaskRow<Time>>(rows::LIST_TASKS)
                    .bind(before)
                    .bind(before)
                    .bind(after)
                    .bind(after)
                    .bind(limit)
                    .bind(offset)
                    .fetch_all(&mut *tx)
                    .await?;
                let total: i64 = sqlx::query_scalar(rows::COUNT_TASKS)
                    .bind(before)
                    .bind(before)
                    .bind(after)
                    .bind(after)
                    .fetch_one(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(Page {
                    items: found
                        .into_iter()
                        .map(Task::try_from)
                        .collect::<Result<_, _>>()?,
                    total: u64::try_from(total).unwrap_or_default(),
                })
            }

            #[tracing::instrument(skip_all, fields(task_id = %id))]
            async fn replace(
                &self,
                id: TaskId,
                draft: &TaskDraft,
                now: Timestamp,
                condition: &Precondition,
            ) -> StoreResult<Task> {
                let mut tx = self.begin_write().await?;
                lock_current(&mut tx, id, condition).await?;
                write_task(&mut tx, id, draft, now).await?;
                let task = read_task(&mut tx, rows::SELECT_TASK, id)
                    .await?
                    .ok_or(StoreError::NotFound(vec![id]))?;
                tx.commit().await?;
                Ok(task)
            }

            #[tracing::instrument(skip_all, fields(task_id = %id))]
            async fn patch(
                &self,
                id: TaskId,
                patch: TaskPatch,
                now: Timestamp,
                condition: &Precondition,
            ) -> StoreResult<Task> {
                let mut tx = self.begin_write().await?;
                let current = lock_current(&mut tx, id, condition).await?;
                let draft = patch.apply_to(&current);
                write_task(&mut tx, id, &draft, now).await?;
                let task = read_task(&mut tx, rows::SELECT_TASK, id)
                    .await?
                    .ok_or(StoreError::NotFound(vec![id]))?;
                tx.commit().await?;
                Ok(task)
            }

            #[tracing::instrument(skip_all, fields(count = items.len()))]
            async fn replace_many(
                &self,
                items: &[(TaskId, TaskDraft)],
                now: Timestamp,
            ) -> StoreResult<Vec<Task>> {
                let mut tx = self.begin_write().await?;
                let mut missing = Vec::new();
                for (id, draft) in items {
                    if !write_task(&mut tx, *id, draft, now).await? {
                        missing.push(*id);
                    }
                }
                if !missing.is_empty() {
                    tx.rollback().await?;
                    return Err(StoreError::NotFound(missing));
                }
                let mut updated = Vec::with_capacity(items.len());
                for (id, _) in items {
                    let task = read_task(&mut tx, rows::SELECT_TASK, *id)
                        .await?
                        .ok_or(StoreError::NotFound(vec![*id]))?;
                    updated.push(task);
                }
                tx.commit().await?;
                Ok(updated)
            }

            #[tracing::instrument(skip_all, fields(task_id = %id))]
            async fn delete(&self, id: TaskId, condition: &Precondition) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                lock_current(&mut tx, id, condition).await?;
                sqlx::query(rows::DELETE_TASK)
                    .bind(id.get())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(skip_all, fields(count = ids.len()))]
            async fn delete_many(&self, ids: &[TaskId]) -> StoreResult<u64> {
                let mut tx = self.begin_write().await?;
                let mut deleted = 0;
                for id in ids {
                    deleted += sqlx::query(rows::DELETE_TASK)
                        .bind(id.get())
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                }
                tx.commit().await?;
                Ok(deleted)
            }

            #[tracing::instrument(skip_all)]
            async fn delete_all(&self) -> StoreResult<u64> {
                let result = sqlx::query(rows::DELETE_ALL_TASKS)
                    .execute(&self.pool)
                    .await?;
                Ok(result.rows_affected())
            }
        }

        /// The task, locked for this write transaction, if it exists and
        /// meets the client's precondition.
        async fn lock_current(
            conn: &mut <Db as sqlx::Database>::Connection,
            id: TaskId,
            condition: &Precondition,
        ) -> StoreResult<Task> {
            let current = read_task(conn, LOCK_TASK, id)
                .await?
                .ok_or(StoreError::NotFound(vec![id]))?;
            if !condition.holds_for(&current) {
                return Err(StoreError::PreconditionFailed(id));
            }
            Ok(current)
        }

        async fn read_task(
            conn: &mut <Db as sqlx::Database>::Connection,
            sql: &'static str,
            id: TaskId,
        ) -> StoreResult<Option<Task>> {
            sqlx::query_as::<_, rows::TaskRow<Time>>(sql)
                .bind(id.get())
                .fetch_optional(&mut *conn)
                .await?
                .map(Task::try_from)
                .transpose()
        }

        /// Whether the task existed. `FOUND_ROWS` semantics on MySQL (sqlx's
        /// default) make an unchanged row count as found.
        async fn write_task(
            conn: &mut <Db as sqlx::Database>::Connection,
            id: TaskId,
            draft: &TaskDraft,
            now: Timestamp,
        ) -> StoreResult<bool> {
            let result = sqlx::query(rows::UPDATE_TASK)
                .bind(draft.title.as_str())
                .bind(draft.description.as_ref().map(|d| d.as_str()))
                .bind(draft.expiry_dt.map(Time::encode))
                .bind(Time::encode(now))
                .bind(id.get())
                .execute(&mut *conn)
                .await?;
            Ok(result.rows_affected() > 0)
        }
    };
}

pub(super) use impl_task_store;
