//! [`TaskService`]: tasks. The store does the writing; the expiry service is
//! told about every change through its handle.

use std::sync::Arc;
use std::time::Duration;

use super::{DatabaseHealth, ServiceResult};
use crate::domain::{
    Clock, Created, IdempotencyKey, IdempotentCreate, Page, PageRequest, Precondition, Task,
    TaskDraft, TaskFilter, TaskId, TaskIds, TaskOrder, TaskPatch, TaskPosition, TaskStatus,
};
use crate::expiry::ExpiryHandle;
use crate::metrics::StoreMetrics;
use crate::store::{HealthCheck, TaskStore};

pub struct TaskService {
    store: Arc<dyn TaskStore>,
    health: Arc<dyn HealthCheck>,
    expiry: ExpiryHandle,
    clock: Arc<dyn Clock>,
    /// How long an idempotency key answers retries.
    idempotency_ttl: Duration,
}

impl TaskService {
    pub fn new(
        store: Arc<dyn TaskStore>,
        health: Arc<dyn HealthCheck>,
        expiry: ExpiryHandle,
        clock: Arc<dyn Clock>,
        idempotency_ttl: Duration,
    ) -> Self {
        Self {
            store,
            health,
            expiry,
            clock,
            idempotency_ttl,
        }
    }

    pub async fn health(&self) -> DatabaseHealth {
        self.health.health().await.into()
    }

    /// Brings the pool's numbers and the store's retry counts, as of now,
    /// into the metrics.
    pub fn observe_store(&self, metrics: &StoreMetrics) {
        metrics.observe(self.health.stats());
    }

    pub async fn get(&self, id: TaskId) -> ServiceResult<Option<Task>> {
        Ok(self.store.get(id).await?)
    }

    pub async fn list(
        &self,
        filter: TaskFilter,
        order: TaskOrder,
        page: PageRequest<TaskPosition>,
    ) -> ServiceResult<Page<Task, TaskPosition>> {
        Ok(self.store.list(filter, order, page).await?)
    }

    /// Creates a task. With a key, a retry of the same create (same key,
    /// same content) gets the first one's task back, and nothing new is
    /// written; the same key with other content is refused.
    pub async fn create(
        &self,
        draft: &TaskDraft,
        key: Option<IdempotencyKey>,
    ) -> ServiceResult<Created> {
        let now = self.clock.now();
        let idempotency = key
            .map(|key| IdempotentCreate::new(key, draft, now.saturating_add(self.idempotency_ttl)));
        let created = self.store.create(draft, now, idempotency.as_ref()).await?;
        if let Created::New(task) = &created {
            self.expiry.task_saved(task);
        }
        Ok(created)
    }

    pub async fn patch(
        &self,
        id: TaskId,
        patch: &TaskPatch,
        condition: &Precondition,
    ) -> ServiceResult<Task> {
        let task = self
            .store
            .patch(id, patch, self.clock.now(), condition)
            .await?;
        self.expiry.task_saved(&task);
        Ok(task)
    }

    pub async fn replace_many(&self, items: &[(TaskId, TaskPatch)]) -> ServiceResult<Vec<Task>> {
        let tasks = self.store.replace_many(items, self.clock.now()).await?;
        tasks.iter().for_each(|task| self.expiry.task_saved(task));
        Ok(tasks)
    }

    /// Completes the task (see [`TaskStore::set_status`]): its warning is
    /// disarmed. Completing a done task changes nothing and answers it.
    pub async fn complete(&self, id: TaskId, condition: &Precondition) -> ServiceResult<Task> {
        self.set_status(id, TaskStatus::Done, condition).await
    }

    /// Reopens the task: its warning is armed again, unless the warning
    /// for its expiry was already given. Reopening an open task changes
    /// nothing and answers it.
    pub async fn reopen(&self, id: TaskId, condition: &Precondition) -> ServiceResult<Task> {
        self.set_status(id, TaskStatus::Open, condition).await
    }

    /// Completes every named task, or (if any is missing) none; answers
    /// them in the order named (see [`TaskStore::set_status_many`]).
    pub async fn complete_many(&self, ids: &TaskIds) -> ServiceResult<Vec<Task>> {
        self.set_status_many(ids, TaskStatus::Done).await
    }

    /// Reopens every named task, or (if any is missing) none.
    pub async fn reopen_many(&self, ids: &TaskIds) -> ServiceResult<Vec<Task>> {
        self.set_status_many(ids, TaskStatus::Open).await
    }

    async fn set_status(
        &self,
        id: TaskId,
        status: TaskStatus,
        condition: &Precondition,
    ) -> ServiceResult<Task> {
        let task = self
            .store
            .set_status(id, status, self.clock.now(), condition)
            .await?;
        self.expiry.task_saved(&task);
        Ok(task)
    }

    async fn set_status_many(&self, ids: &TaskIds, status: TaskStatus) -> ServiceResult<Vec<Task>> {
        let tasks = self
            .store
            .set_status_many(ids, status, self.clock.now())
            .await?;
        tasks.iter().for_each(|task| self.expiry.task_saved(task));
        Ok(tasks)
    }

    pub async fn delete(&self, id: TaskId, condition: &Precondition) -> ServiceResult<()> {
        self.store.delete(id, condition).await?;
        self.expiry.task_removed(id);
        Ok(())
    }

    pub async fn delete_many(&self, ids: &[TaskId]) -> ServiceResult<u64> {
        let deleted = self.store.delete_many(ids).await?;
        ids.iter().for_each(|id| self.expiry.task_removed(*id));
        Ok(deleted)
    }

    pub async fn delete_all(&self) -> ServiceResult<u64> {
        let deleted = self.store.delete_all().await?;
        self.expiry.all_removed();
        Ok(deleted)
    }
}
