//! The scheduler views (§7.1, §7.2): unfinished tasks and capacity of all the user's accounts.

use std::sync::Arc;

use crate::clock::{Clock, Millis};
use crate::domain::{AccountCapacity, SchedulerEntry, UserId};
use crate::error::ServiceError;
use crate::ports::TaskStore;

pub struct SchedulerService {
    tasks: Arc<dyn TaskStore>,
    clock: Arc<dyn Clock>,
}

/// §7.2 both lists, plus the time they were read (for `elapsed`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Availability {
    pub executing: Vec<SchedulerEntry>,
    pub available: Vec<AccountCapacity>,
    pub now: Millis,
}

impl SchedulerService {
    pub fn new(tasks: Arc<dyn TaskStore>, clock: Arc<dyn Clock>) -> Self {
        Self { tasks, clock }
    }

    /// §7.1: unfinished tasks, oldest first, and "now" for `elapsed`.
    pub async fn executing(
        &self,
        user: UserId,
    ) -> Result<(Vec<SchedulerEntry>, Millis), ServiceError> {
        let entries = self.tasks.unfinished_for_user(user).await?;
        Ok((entries, self.clock.now_ms()))
    }

    /// §7.2.
    pub async fn available(&self, user: UserId) -> Result<Availability, ServiceError> {
        let executing = self.tasks.unfinished_for_user(user).await?;
        let available = self.tasks.capacity_for_user(user).await?;
        Ok(Availability {
            executing,
            available,
            now: self.clock.now_ms(),
        })
    }
}
