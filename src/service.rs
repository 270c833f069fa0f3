//! The task use cases: the store does the writing, the expiry service is told
//! about every change through its handle.

use std::sync::Arc;

use crate::domain::{Clock, Precondition, Task, TaskDraft, TaskId, TaskPatch};
use crate::expiry::ExpiryHandle;
use crate::store::{Page, PageRequest, StoreResult, TaskFilter, TaskStore};

pub struct TaskService {
    store: Arc<dyn TaskStore>,
    expiry: ExpiryHandle,
    clock: Arc<dyn Clock>,
}

impl TaskService {
    pub fn new(store: Arc<dyn TaskStore>, expiry: ExpiryHandle, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            expiry,
            clock,
        }
    }

    pub async fn ping(&self) -> StoreResult<()> {
        self.store.ping().await
    }

    pub async fn get(&self, id: TaskId) -> StoreResult<Option<Task>> {
        self.store.get(id).await
    }

    pub async fn list(&self, filter: TaskFilter, page: PageRequest) -> StoreResult<Page<Task>> {
        self.store.list(filter, page).await
    }

    pub async fn create(&self, draft: &TaskDraft) -> StoreResult<Task> {
        let task = self.store.create(draft, self.clock.now()).await?;
        self.expiry.task_saved(&task);
        Ok(task)
    }

    pub async fn replace(
        &self,
        id: TaskId,
        draft: &TaskDraft,
        condition: &Precondition,
    ) -> StoreResult<Task> {
        let task = self
            .store
            .replace(id, draft, self.clock.now(), condition)
            .await?;
        self.expiry.task_saved(&task);
        Ok(task)
    }

    pub async fn patch(
        &self,
        id: TaskId,
        patch: TaskPatch,
        condition: &Precondition,
    ) -> StoreResult<Task> {
        let task = self
            .store
            .patch(id, patch, self.clock.now(), condition)
            .await?;
        self.expiry.task_saved(&task);
        Ok(task)
    }

    pub async fn replace_many(&self, items: &[(TaskId, TaskDraft)]) -> StoreResult<Vec<Task>> {
        let tasks = self.store.replace_many(items, self.clock.now()).await?;
        tasks.iter().for_each(|task| self.expiry.task_saved(task));
        Ok(tasks)
    }

    pub async fn delete(&self, id: TaskId, condition: &Precondition) -> StoreResult<()> {
        self.store.delete(id, condition).await?;
        self.expiry.task_removed(id);
        Ok(())
    }

    pub async fn delete_many(&self, ids: &[TaskId]) -> StoreResult<u64> {
        let deleted = self.store.delete_many(ids).await?;
        ids.iter().for_each(|id| self.expiry.task_removed(*id));
        Ok(deleted)
    }

    pub async fn delete_all(&self) -> StoreResult<u64> {
        let deleted = self.store.delete_all().await?;
        self.expiry.all_removed();
        Ok(deleted)
    }
}
