//! The in-process implementation of [`WorkerSignals`]: a `Notify` to wake idle workers and
//! a registry of running jobs' cancellation tokens.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::domain::TaskId;
use crate::ports::WorkerSignals;

/// Wake-ups and cancellation within one process.
#[derive(Debug, Default)]
pub struct LocalSignals {
    notify: Notify,
    running: Mutex<HashMap<TaskId, CancellationToken>>,
}

impl LocalSignals {
    pub fn new() -> Self {
        Self::default()
    }

    /// Waits until [`WorkerSignals::wake`] is called (a stored permit counts), so a wake
    /// between two polls is not lost.
    pub async fn woken(&self) {
        self.notify.notified().await;
    }

    /// Registers a running job; the returned guard unregisters it when dropped.
    pub fn register(&self, task: TaskId) -> RunningJob<'_> {
        let token = CancellationToken::new();
        self.lock().insert(task, token.clone());
        RunningJob {
            signals: self,
            task,
            token,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TaskId, CancellationToken>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl WorkerSignals for LocalSignals {
    fn wake(&self) {
        self.notify.notify_one();
    }

    fn cancel_running(&self, task: TaskId) {
        if let Some(token) = self.lock().get(&task) {
            token.cancel();
        }
    }
}

/// A registered running job.
#[derive(Debug)]
pub struct RunningJob<'a> {
    signals: &'a LocalSignals,
    task: TaskId,
    token: CancellationToken,
}

impl RunningJob<'_> {
    /// The job's cancellation token (cancelled by [`WorkerSignals::cancel_running`]).
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }
}

impl Drop for RunningJob<'_> {
    fn drop(&mut self) {
        self.signals.lock().remove(&self.task);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cancel_reaches_registered_job_only() {
        let s = LocalSignals::new();
        let a = s.register(1);
        let b = s.register(2);
        s.cancel_running(1);
        assert!(a.token().is_cancelled());
        assert!(!b.token().is_cancelled());
        drop(a);
        s.cancel_running(1); // no longer registered: nothing happens
        assert!(s.lock().get(&1).is_none());
    }

    #[tokio::test]
    async fn wake_is_not_lost_before_wait() {
        let s = LocalSignals::new();
        s.wake();
        tokio::time::timeout(std::time::Duration::from_secs(5), s.woken())
            .await
            .expect("stored permit");
    }
}
