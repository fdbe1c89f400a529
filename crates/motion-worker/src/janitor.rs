//! The janitor: periodic housekeeping that makes crashes leave nothing behind.
//!
//! One pass does five things, each independent of the others' failures:
//! 1. **reap**: expired leases go back to the queue (or fail after too many attempts), and
//!    attempts past the task timeout fail (core's `JobService::reap`);
//! 2. **retention** (`retention.days` > 0): final tasks older than that are deleted like a
//!    `DELETE /tasks/{id}` (task, motion, result files; the assets stay), in bounded batches;
//! 3. **trash**: blobs whose rows were deleted are removed (`services::janitor::purge_trash`),
//!    so the result blobs of tasks that step 2 deleted go in the same pass;
//! 4. **temp sweep**: entries under `<data>/tmp/*/` older than `temp_max_age` (ingest files
//!    of dropped uploads, job directories of crashed jobs, inspection scratch dirs);
//! 5. **gauges**: queue depth and pending callbacks.
//!
//! Several worker processes may run a janitor each on one database: every step is a short
//! transaction (or an idempotent blob delete), so they never do the same work twice.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use motion_capture::held_dir;
use motion_core::blob_keys;
use motion_core::ports::{BlobStore, FileStore, TaskStore, WorkerSignals};
use motion_core::services::janitor::{ORPHAN_SWEEP_PAGE, purge_trash, sweep_orphans};
use motion_core::services::jobs::JobService;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct JanitorSettings {
    pub interval: Duration,
    pub temp_max_age: Duration,
    /// `<data>/tmp`: its sub-directories' entries are swept.
    pub tmp_dir: PathBuf,
    /// Result and asset blobs without a file row are deleted once older than this. It must
    /// exceed the task timeout plus a lease: a publish in progress stores its blobs before
    /// the row that references them commits.
    pub orphan_min_age: Duration,
    /// `retention.days`: final tasks older than this many days are deleted; 0 keeps them.
    pub retention_days: u32,
}

/// Tasks deleted per retention transaction: short enough that API writes barely wait.
pub const RETENTION_BATCH: u32 = 100;
/// Batches per pass, so that a first pass over a large backlog does not hold the janitor
/// (and the other steps) for long; the rest goes on the next passes.
pub const RETENTION_MAX_BATCHES: usize = 50;

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JanitorReport {
    pub requeued: usize,
    pub failed: usize,
    /// Final tasks deleted by retention.
    pub expired: usize,
    pub purged_blobs: usize,
    pub swept_orphans: usize,
    pub swept_temp: usize,
}

pub struct Janitor {
    jobs: Arc<JobService>,
    tasks: Arc<dyn TaskStore>,
    files: Arc<dyn FileStore>,
    blobs: Arc<dyn BlobStore>,
    /// Wakes the workers when the reaper re-queued something, and the deliverer when it
    /// wrote final events.
    signals: Arc<dyn WorkerSignals>,
    outbox_wake: Option<Arc<Notify>>,
    settings: JanitorSettings,
}

impl Janitor {
    pub fn new(
        jobs: Arc<JobService>,
        tasks: Arc<dyn TaskStore>,
        files: Arc<dyn FileStore>,
        blobs: Arc<dyn BlobStore>,
        signals: Arc<dyn WorkerSignals>,
        outbox_wake: Option<Arc<Notify>>,
        settings: JanitorSettings,
    ) -> Self {
        Self {
            jobs,
            tasks,
            files,
            blobs,
            signals,
            outbox_wake,
            settings,
        }
    }

    pub async fn run(&self, shutdown: CancellationToken) {
        loop {
            self.pass().await;
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(self.settings.interval) => {}
            }
        }
        tracing::debug!("janitor stopped");
    }

    /// One housekeeping pass; failures are logged and retried on the next pass.
    pub async fn pass(&self) -> JanitorReport {
        let mut report = JanitorReport::default();
        match self.jobs.reap().await {
            Ok(r) => {
                report.requeued = r.requeued.len();
                report.failed = r.failed.len();
                if !r.requeued.is_empty() {
                    tracing::info!(
                        count = r.requeued.len(),
                        "re-queued tasks whose lease expired"
                    );
                    metrics::counter!("motiond_task_rescues_total")
                        .increment(r.requeued.len() as u64);
                    self.signals.wake();
                }
                if !r.failed.is_empty() {
                    tracing::info!(
                        count = r.failed.len(),
                        "failed tasks that timed out or were interrupted too often"
                    );
                    metrics::counter!("motiond_tasks_total", "status_name" => "failed")
                        .increment(r.failed.len() as u64);
                    if let Some(n) = &self.outbox_wake {
                        n.notify_one();
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "reaper pass failed"),
        }
        report.expired = self.expire_old_tasks().await;
        loop {
            match purge_trash(self.files.as_ref(), self.blobs.as_ref()).await {
                Ok(0) => break,
                Ok(n) => report.purged_blobs += n,
                Err(e) => {
                    tracing::warn!(error = %e, "blob trash purge failed");
                    break;
                }
            }
        }
        report.swept_orphans = self.sweep_orphan_blobs().await;
        let dir = self.settings.tmp_dir.clone();
        let max_age = self.settings.temp_max_age;
        report.swept_temp =
            tokio::task::spawn_blocking(move || sweep_temp(&dir, max_age, SystemTime::now()))
                .await
                .unwrap_or(0);
        if let Ok(stats) = self.tasks.queue_stats().await {
            metrics::gauge!("motiond_tasks_queued").set(stats.submitted as f64);
            metrics::gauge!("motiond_tasks_processing").set(stats.processing as f64);
        }
        report
    }

    /// Retention: deletes final tasks older than `retention.days`, batch by batch, until
    /// none is left or the per-pass cap is reached. Returns how many were deleted.
    async fn expire_old_tasks(&self) -> usize {
        let days = self.settings.retention_days;
        if days == 0 {
            return 0;
        }
        let mut expired = 0;
        for _ in 0..RETENTION_MAX_BATCHES {
            match self.jobs.purge_older_than(days, RETENTION_BATCH).await {
                Ok(ids) => {
                    expired += ids.len();
                    if ids.len() < RETENTION_BATCH as usize {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "retention pass failed");
                    break;
                }
            }
        }
        if expired > 0 {
            tracing::info!(count = expired, days, "deleted final tasks past retention");
        }
        expired
    }

    /// Removes blobs of attempts that crashed between storing their results (or an upload
    /// between storing its blob) and committing the rows.
    async fn sweep_orphan_blobs(&self) -> usize {
        let now_ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let min_age_ms = self.settings.orphan_min_age.as_millis() as i64;
        let mut swept = 0;
        // Official blobs too: a catalog import that crashed between storing and recording.
        for prefix in blob_keys::FAMILIES {
            let files = self.files.as_ref();
            let blobs = self.blobs.as_ref();
            let page = ORPHAN_SWEEP_PAGE;
            match sweep_orphans(files, blobs, prefix, now_ms, min_age_ms, page).await {
                Ok(n) => swept += n,
                Err(e) => tracing::warn!(error = %e, prefix, "orphan blob sweep failed"),
            }
        }
        if swept > 0 {
            tracing::info!(count = swept, "deleted orphan blobs");
        }
        swept
    }
}

/// Removes entries of `tmp/<kind>/` whose modification time is older than `max_age`, but not a
/// folder its process still holds (a catalog import has no time limit). Returns how many were
/// removed.
pub fn sweep_temp(tmp: &Path, max_age: Duration, now: SystemTime) -> usize {
    let Ok(kinds) = std::fs::read_dir(tmp) else {
        return 0;
    };
    let mut removed = 0;
    for kind in kinds.flatten() {
        if !kind.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(kind.path()) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            let age = meta
                .modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .unwrap_or_default();
            let path = entry.path();
            if age < max_age || (meta.is_dir() && held_dir::is_held(&path)) {
                continue;
            }
            let result = if meta.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            match result {
                Ok(()) => removed += 1,
                Err(e) => {
                    tracing::warn!(error = %e, path = %path.display(), "could not sweep temp entry")
                }
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweeps_only_old_entries_one_level_down() {
        let tmp = tempfile::tempdir().unwrap();
        let jobs = tmp.path().join("jobs");
        let ingest = tmp.path().join("ingest");
        std::fs::create_dir_all(jobs.join("1-abc/out")).unwrap();
        std::fs::write(jobs.join("1-abc/out/x"), b"x").unwrap();
        std::fs::create_dir_all(&ingest).unwrap();
        std::fs::write(ingest.join("upload"), b"y").unwrap();
        std::fs::write(tmp.path().join("top-level-file"), b"z").unwrap();

        // Nothing is old yet.
        assert_eq!(
            sweep_temp(tmp.path(), Duration::from_secs(60), SystemTime::now()),
            0
        );
        // An hour later both entries are old; the kind directories themselves stay.
        let later = SystemTime::now() + Duration::from_secs(3600);
        assert_eq!(sweep_temp(tmp.path(), Duration::from_secs(60), later), 2);
        assert!(jobs.exists() && ingest.exists());
        assert_eq!(std::fs::read_dir(&jobs).unwrap().count(), 0);
        assert!(tmp.path().join("top-level-file").exists());
        assert_eq!(
            sweep_temp(&tmp.path().join("missing"), Duration::ZERO, later),
            0
        );
    }

    /// A catalog import has no time limit: its folder stays, however old, while its process
    /// holds it; a folder beside it that nobody holds goes by age.
    #[test]
    fn a_folder_its_process_still_holds_is_not_swept() {
        let tmp = tempfile::tempdir().unwrap();
        let catalog = tmp.path().join("catalog");
        std::fs::create_dir_all(catalog.join("catalog-left-by-a-crash")).unwrap();
        let build = held_dir::HeldDir::new_in(&catalog, "catalog-video-").unwrap();
        std::fs::write(build.path().join("half.bvh"), b"x").unwrap();
        let later = SystemTime::now() + Duration::from_secs(3600);
        assert_eq!(sweep_temp(tmp.path(), Duration::from_secs(60), later), 1);
        assert!(build.path().join("half.bvh").exists());
        assert!(!catalog.join("catalog-left-by-a-crash").exists());
    }
}
