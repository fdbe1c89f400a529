//! The worker's use cases around one job: claim, heartbeat, publish or fail (finish),
//! release, and the reaper. The claim loop, slots, job directories and the engine call are
//! the worker crate's; this keeps the queue rules and the publish protocol in one place.
//!
//! Publish protocol: results are stored under attempt-scoped keys
//! (`results/<task>/<token>/…`), then `finish` commits the work, files and final event in
//! one token-guarded transaction. If the lease was lost the blobs are deleted again and
//! nothing is published.

use std::sync::Arc;
use std::time::Duration;

use crate::blob_keys;
use crate::clock::Clock;
use crate::domain::{FileRole, MotionFiles, NewFile, NewWork, TaskId};
use crate::error::ServiceError;
use crate::ids::{IdGenerator, new_fid, sha256_hex};
use crate::ports::{
    BlobStore, EventRenderer, Extracted, Finished, Lease, LeaseState, Outcome, ReapReport,
    StoreResult, TaskStore, WorkerId,
};
use crate::reason::FailureReason;
use crate::services::assets::hash_file;
use crate::services::image_size::image_size;

/// Queue timings (`worker.*` settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueSettings {
    /// Lease length; heartbeats run every lease/3.
    pub lease: Duration,
    /// `worker.max_attempts` (default 3).
    pub max_attempts: u32,
    /// `worker.task_timeout_s` (default 600 s).
    pub task_timeout: Duration,
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(30),
            max_attempts: 3,
            task_timeout: Duration::from_secs(600),
        }
    }
}

impl QueueSettings {
    pub fn heartbeat_every(&self) -> Duration {
        self.lease / 3
    }
}

pub struct JobService {
    tasks: Arc<dyn TaskStore>,
    blobs: Arc<dyn BlobStore>,
    render: Arc<dyn EventRenderer>,
    clock: Arc<dyn Clock>,
    ids: IdGenerator,
    settings: QueueSettings,
}

impl JobService {
    pub fn new(
        tasks: Arc<dyn TaskStore>,
        blobs: Arc<dyn BlobStore>,
        render: Arc<dyn EventRenderer>,
        clock: Arc<dyn Clock>,
        ids: IdGenerator,
        settings: QueueSettings,
    ) -> Self {
        Self {
            tasks,
            blobs,
            render,
            clock,
            ids,
            settings,
        }
    }

    pub fn settings(&self) -> QueueSettings {
        self.settings
    }

    /// Claims the oldest queued task, if any.
    pub async fn claim(&self, worker: &WorkerId) -> Result<Option<Lease>, ServiceError> {
        Ok(self
            .tasks
            .claim(worker, self.settings.lease, self.render.as_ref())
            .await?)
    }

    /// Extends the lease; `Lost`/`CancelRequested` mean: stop, publish nothing.
    pub async fn heartbeat(
        &self,
        lease: &Lease,
        progress: f64,
    ) -> Result<LeaseState, ServiceError> {
        Ok(self
            .tasks
            .heartbeat(lease, self.settings.lease, progress.clamp(0.0, 1.0))
            .await?)
    }

    /// The lease's state without extending it (a cheap read between heartbeats).
    pub async fn lease_state(&self, lease: &Lease) -> Result<LeaseState, ServiceError> {
        Ok(self.tasks.lease_state(lease).await?)
    }

    /// Stores the extraction's files under attempt-scoped keys (plus a copy of the
    /// submitted cover image) and finishes the task as succeeded. On an error the stored
    /// blobs are deleted again; `Unavailable` is transient (a later attempt may publish),
    /// any other error (the cover blob is gone, an output cannot be read) would recur.
    pub async fn publish(&self, lease: &Lease, out: &Extracted) -> Result<Finished, ServiceError> {
        let mut stored = Vec::new();
        let result = self.store_results(lease, out, &mut stored).await;
        let files = match result {
            Ok(files) => files,
            Err(e) => {
                self.delete_keys(&stored).await;
                return Err(e);
            }
        };
        let create_time = self.clock.now_ms();
        let finished = self
            .ids
            .with_fresh_id(|id| {
                let work = NewWork {
                    id,
                    create_time,
                    files: files.clone(),
                };
                self.finish(lease, Outcome::Succeeded(work))
            })
            .await
            .map_err(ServiceError::from);
        if !matches!(finished, Ok(Finished::Published(_))) {
            self.delete_keys(&stored).await;
        }
        finished
    }

    /// Finishes the task as failed with `reason`.
    pub async fn fail(
        &self,
        lease: &Lease,
        reason: FailureReason,
    ) -> Result<Finished, ServiceError> {
        Ok(self.finish(lease, Outcome::Failed(reason)).await?)
    }

    async fn finish(&self, lease: &Lease, outcome: Outcome) -> StoreResult<Finished> {
        let now = self.clock.now_ms();
        self.tasks
            .finish(lease, &outcome, now, self.render.as_ref())
            .await
    }

    /// Shutdown: back to the queue at once, attempt not counted.
    pub async fn release(&self, lease: &Lease) -> Result<bool, ServiceError> {
        Ok(self.tasks.release(lease).await?)
    }

    /// At start (embedded single process): what an earlier boot left running goes back to
    /// the queue at once (or fails, when its attempts are used up). Returns the reap report.
    pub async fn requeue_other_boots(&self, boot_id: &str) -> Result<ReapReport, ServiceError> {
        self.tasks.expire_other_boots(boot_id).await?;
        self.reap().await
    }

    /// One reaper pass: expired leases and timed-out attempts.
    pub async fn reap(&self) -> Result<ReapReport, ServiceError> {
        let s = self.settings;
        Ok(self
            .tasks
            .reap(
                s.max_attempts,
                s.task_timeout,
                self.clock.now_ms(),
                self.render.as_ref(),
            )
            .await?)
    }

    /// Retention pass (`retention.days` > 0): deletes final tasks older than `days`, their
    /// motions and files (blobs go to the trash). Returns the deleted task ids.
    pub async fn purge_older_than(
        &self,
        days: u32,
        limit: u32,
    ) -> Result<Vec<TaskId>, ServiceError> {
        if days == 0 {
            return Ok(Vec::new());
        }
        let cutoff = self.clock.now_ms() - i64::from(days) * 86_400_000;
        Ok(self.tasks.delete_final_before(cutoff, limit).await?)
    }

    async fn store_results(
        &self,
        lease: &Lease,
        out: &Extracted,
        stored: &mut Vec<String>,
    ) -> Result<MotionFiles, ServiceError> {
        let key = |name: &str| blob_keys::result(lease.task_id, &lease.token, name);
        let (w, h, d) = (out.width, out.height, out.duration_ms);
        let preview = self
            .put(
                &key("motion.mp4"),
                &out.preview,
                "motion.mp4",
                "video/mp4",
                FileRole::Preview,
                (w, h, d),
                stored,
            )
            .await?;
        let bvh_zip = self
            .put(
                &key("bvh.zip"),
                &out.bvh_zip,
                "bvh.zip",
                "application/zip",
                FileRole::BvhZip,
                (0, 0, 0),
                stored,
            )
            .await?;
        let binary_zip = self
            .put(
                &key("binary.zip"),
                &out.binary_zip,
                "binary.zip",
                "application/zip",
                FileRole::BinaryZip,
                (0, 0, 0),
                stored,
            )
            .await?;
        let cover = self.copy_cover(lease, &key, stored).await?;
        Ok(MotionFiles {
            preview,
            cover,
            bvh_zip,
            binary_zip,
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn put(
        &self,
        key: &str,
        path: &std::path::Path,
        name: &str,
        content_type: &str,
        role: FileRole,
        (width, height, duration_ms): (u32, u32, u64),
        stored: &mut Vec<String>,
    ) -> Result<NewFile, ServiceError> {
        let (size, sha256) = hash_file(path)
            .await
            .map_err(|e| ServiceError::internal(format!("{}: {e}", path.display())))?;
        self.blobs.put_file(key, path).await?;
        stored.push(key.to_owned());
        Ok(NewFile {
            fid: new_fid(),
            blob_key: key.to_owned(),
            name: name.to_owned(),
            content_type: content_type.to_owned(),
            size,
            sha256,
            role,
            width,
            height,
            duration_ms,
        })
    }

    /// The motion's cover is a copy of the submitted cover image, format kept (§9.3), so
    /// later asset deletions do not affect it. Its size is read from the image header
    /// (the source video's size if the header is not understood).
    async fn copy_cover(
        &self,
        lease: &Lease,
        key: &(dyn Fn(&str) -> String + Sync),
        stored: &mut Vec<String>,
    ) -> Result<NewFile, ServiceError> {
        let input = &lease.task.input;
        let (name, content_type) = if input.cover_content_type == "image/png" {
            ("cover.png", "image/png")
        } else {
            ("cover.jpg", "image/jpeg")
        };
        let Some(mut read) = self.blobs.get(&input.cover_blob_key, None).await? else {
            return Err(ServiceError::internal(format!(
                "cover blob missing: {}",
                input.cover_blob_key
            )));
        };
        let mut bytes = Vec::with_capacity(read.total_len as usize);
        tokio::io::AsyncReadExt::read_to_end(&mut read.reader, &mut bytes)
            .await
            .map_err(|e| ServiceError::unavailable(format!("read cover: {e}")))?;
        let (width, height) =
            image_size(&bytes).unwrap_or((input.source_width, input.source_height));
        let k = key(name);
        self.blobs.put_bytes(&k, &bytes).await?;
        stored.push(k.clone());
        Ok(NewFile {
            fid: new_fid(),
            blob_key: k,
            name: name.to_owned(),
            content_type: content_type.to_owned(),
            size: bytes.len() as u64,
            sha256: sha256_hex(&bytes),
            role: FileRole::Cover,
            width,
            height,
            duration_ms: 0,
        })
    }

    async fn delete_keys(&self, keys: &[String]) {
        for k in keys {
            let _ = self.blobs.delete(k).await;
        }
    }
}
