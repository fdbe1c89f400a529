//! Motions (§5.2): the official catalog and the account's own motions.

use std::sync::Arc;

use crate::clock::Clock;
use crate::domain::{Account, OfficialMotion, OfficialMotionInput, OnExisting, Work};
use crate::error::ServiceError;
use crate::ports::{BlobStore, FileStore, MotionStore};
use crate::services::janitor;

pub struct MotionService {
    motions: Arc<dyn MotionStore>,
    files: Arc<dyn FileStore>,
    blobs: Arc<dyn BlobStore>,
    clock: Arc<dyn Clock>,
}

impl MotionService {
    pub fn new(
        motions: Arc<dyn MotionStore>,
        files: Arc<dyn FileStore>,
        blobs: Arc<dyn BlobStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            motions,
            files,
            blobs,
            clock,
        }
    }

    /// `mine=false`: all official motions, ascending abs(workId).
    pub async fn official(&self) -> Result<Vec<OfficialMotion>, ServiceError> {
        Ok(self.motions.list_official().await?)
    }

    /// Catalog keys an operator removed: not to be seeded again.
    pub async fn removed_official_keys(&self) -> Result<Vec<String>, ServiceError> {
        Ok(self.motions.removed_official_keys().await?)
    }

    /// `mine=true`: one page of the account's motions, newest first.
    pub async fn mine(
        &self,
        account: &Account,
        page_num: u32,
        page_size: u32,
    ) -> Result<Vec<Work>, ServiceError> {
        Ok(self
            .motions
            .list_user_motions(account.id, page_num, page_size)
            .await?)
    }

    /// Catalog import/seeding: records an official motion whose blobs are already stored
    /// (keys from `blob_keys::official`); a taken key is replaced or kept as `on_existing`
    /// says (`None`: kept, nothing written). Replaced blobs are purged.
    pub async fn upsert_official(
        &self,
        input: &OfficialMotionInput,
        on_existing: OnExisting,
    ) -> Result<Option<OfficialMotion>, ServiceError> {
        let m = self
            .motions
            .upsert_official(input, on_existing, self.clock.now_ms())
            .await?;
        janitor::purge_trash_best_effort(self.files.as_ref(), self.blobs.as_ref()).await;
        Ok(m)
    }

    /// Removes an official motion; false if the key is unknown.
    pub async fn remove_official(&self, catalog_key: &str) -> Result<bool, ServiceError> {
        let now = self.clock.now_ms();
        let removed = self.motions.remove_official(catalog_key, now).await?;
        janitor::purge_trash_best_effort(self.files.as_ref(), self.blobs.as_ref()).await;
        Ok(removed)
    }
}
