//! Task queries (§6.4, §6.5), deletion (§6.6) and cancellation (§7.3).

use std::sync::Arc;

use crate::clock::Clock;
use crate::domain::{Account, TaskCursor, TaskId, TaskView, UserId, WorkId};
use crate::error::{ErrorCode, ServiceError};
use crate::ports::{BlobStore, EventRenderer, FileStore, TaskStore, WorkerSignals};
use crate::services::janitor;

pub struct TaskService {
    tasks: Arc<dyn TaskStore>,
    files: Arc<dyn FileStore>,
    blobs: Arc<dyn BlobStore>,
    signals: Arc<dyn WorkerSignals>,
    render: Arc<dyn EventRenderer>,
    clock: Arc<dyn Clock>,
}

impl TaskService {
    pub fn new(
        tasks: Arc<dyn TaskStore>,
        files: Arc<dyn FileStore>,
        blobs: Arc<dyn BlobStore>,
        signals: Arc<dyn WorkerSignals>,
        render: Arc<dyn EventRenderer>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            tasks,
            files,
            blobs,
            signals,
            render,
            clock,
        }
    }

    /// §6.4: one task of the account; 404 "Task <id> not found" otherwise.
    pub async fn get(&self, account: &Account, id: TaskId) -> Result<TaskView, ServiceError> {
        self.tasks
            .task(account.id, id)
            .await?
            .ok_or(ErrorCode::TaskNotFound { id: id as u64 }.into())
    }

    /// §6.5: one page by time cursor.
    pub async fn list(
        &self,
        account: &Account,
        cursor: TaskCursor,
        page_size: u32,
    ) -> Result<Vec<TaskView>, ServiceError> {
        Ok(self.tasks.list_tasks(account.id, cursor, page_size).await?)
    }

    /// §6.6: deletes the task and its motion (cancelling it first if unfinished). Returns
    /// the deleted work ids; 404 "No works found for task <id>" when unknown or foreign.
    pub async fn delete(&self, account: &Account, id: TaskId) -> Result<Vec<WorkId>, ServiceError> {
        let Some(deleted) = self.tasks.delete_task(account.id, id).await? else {
            return Err(ErrorCode::NoWorksFound { id: id as u64 }.into());
        };
        if deleted.was_running {
            self.signals.cancel_running(id);
        }
        janitor::purge_trash_best_effort(self.files.as_ref(), self.blobs.as_ref()).await;
        Ok(deleted.work_ids)
    }

    /// §7.3: cancels an unfinished task of any of the user's accounts (status 50 "Task
    /// was canceled", final callback); 404 "Unable to locate running task_id <id>".
    pub async fn cancel(&self, user: UserId, id: TaskId) -> Result<TaskView, ServiceError> {
        let now = self.clock.now_ms();
        let Some((view, was_running)) = self
            .tasks
            .cancel(user, id, now, self.render.as_ref())
            .await?
        else {
            return Err(ErrorCode::RunningTaskNotFound { id: id as u64 }.into());
        };
        if was_running {
            self.signals.cancel_running(id);
        }
        Ok(view)
    }
}
