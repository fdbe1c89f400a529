//! The claim loop and the extraction job.
//!
//! - A slot semaphore (`worker.concurrency`) bounds running jobs; a free slot claims the
//!   oldest queued task (woken by submissions, with a poll as a safety net).
//! - Each job runs in its own tokio task (the panic boundary) beside a watcher that
//!   heartbeats every lease/3, enforces the attempt timeout and the shutdown grace, and
//!   cancels the job's token when the lease is lost or the task cancelled. The same token is
//!   reachable from the API through the in-process registry ([`LocalSignals`]), so `DELETE`
//!   stops ffmpeg and inference at once.
//! - Results are stored under attempt-scoped keys and published by one token-guarded
//!   `finish` ([`JobService::publish`]); a stale attempt publishes nothing.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use motion_core::domain::TaskId;
use motion_core::error::ServiceError;
use motion_core::ports::{
    BlobStore, ExtractError, ExtractJob, Extracted, Finished, Lease, LeaseState, MotionExtractor,
    ProgressSink, WorkerId,
};
use motion_core::reason::FailureReason;
use motion_core::services::jobs::JobService;
use motion_core::signals::LocalSignals;
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

/// Worker timings and places (from the `worker.*` settings).
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Concurrent jobs in this process.
    pub slots: usize,
    pub poll_interval: Duration,
    /// Running jobs may finish for this long after shutdown starts; then they are cancelled
    /// and released.
    pub shutdown_grace: Duration,
    /// Job directories are made under here (`<data>/tmp/jobs`).
    pub jobs_dir: PathBuf,
    /// Identifies this process start in lease owners.
    pub boot_id: String,
}

/// Why a running job was stopped from outside its own code. The first reason wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The heartbeat found the lease gone (expired and reclaimed, deleted).
    Lost,
    /// The task was cancelled (`DELETE /tasks` or `/scheduler`).
    CancelRequested,
    /// The attempt ran past `worker.task_timeout_s`.
    TimedOut,
    /// The process is shutting down and the grace period is over.
    Shutdown,
}

/// How a job ended, for logs, metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobEnd {
    Succeeded,
    Failed,
    /// Handed back to the queue on shutdown (attempt not counted).
    Released,
    /// Nothing published: the lease was lost, the task cancelled, or storage was
    /// unavailable (the lease then expires and the reaper requeues the task).
    Abandoned,
}

/// The extraction workers of one process.
#[derive(Clone)]
pub struct Worker {
    inner: Arc<Inner>,
}

struct Inner {
    jobs: Arc<JobService>,
    extractor: Arc<dyn MotionExtractor>,
    blobs: Arc<dyn BlobStore>,
    signals: Arc<LocalSignals>,
    /// Wakes the webhook deliverer after a status change wrote an outbox event.
    outbox_wake: Option<Arc<Notify>>,
    settings: WorkerSettings,
    slots: Arc<Semaphore>,
}

impl Worker {
    pub fn new(
        jobs: Arc<JobService>,
        extractor: Arc<dyn MotionExtractor>,
        blobs: Arc<dyn BlobStore>,
        signals: Arc<LocalSignals>,
        outbox_wake: Option<Arc<Notify>>,
        settings: WorkerSettings,
    ) -> Self {
        let slots = Arc::new(Semaphore::new(settings.slots.max(1)));
        Self {
            inner: Arc::new(Inner {
                jobs,
                extractor,
                blobs,
                signals,
                outbox_wake,
                settings,
                slots,
            }),
        }
    }

    fn worker_id(&self) -> WorkerId {
        WorkerId {
            boot_id: self.inner.settings.boot_id.clone(),
            slot: "worker".into(),
        }
    }

    /// Start-up recovery in single-process mode: rows left running by an earlier boot are
    /// orphans and go back to the queue at once.
    pub async fn recover_orphans(&self) -> Result<usize, ServiceError> {
        let report = self
            .inner
            .jobs
            .requeue_other_boots(&self.inner.settings.boot_id)
            .await?;
        if !report.requeued.is_empty() || !report.failed.is_empty() {
            tracing::info!(
                requeued = report.requeued.len(),
                failed = report.failed.len(),
                "recovered tasks left running by an earlier start"
            );
            metrics::counter!("motiond_task_rescues_total").increment(report.requeued.len() as u64);
            metrics::counter!("motiond_tasks_total", "status_name" => "failed")
                .increment(report.failed.len() as u64);
        }
        Ok(report.requeued.len())
    }

    /// Claims and runs jobs until `shutdown`; jobs are spawned on `tracker` so that the
    /// caller can wait for them (and their release) before closing the pools.
    pub async fn run(&self, shutdown: CancellationToken, tracker: TaskTracker) {
        loop {
            let permit = tokio::select! {
                p = self.inner.slots.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => break,
                },
                _ = shutdown.cancelled() => break,
            };
            if shutdown.is_cancelled() {
                break;
            }
            match self.claim().await {
                Ok(Some(lease)) => {
                    let this = self.clone();
                    let sd = shutdown.clone();
                    tracker.spawn(async move {
                        this.run_job(lease, sd).await;
                        drop(permit);
                    });
                    continue;
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "claim failed; retrying after the poll interval")
                }
            }
            drop(permit);
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.inner.signals.woken() => {}
                _ = tokio::time::sleep(self.inner.settings.poll_interval) => {}
            }
        }
        tracing::debug!("claim loop stopped");
    }

    /// Claims and runs queued tasks one after another until none is left (tests).
    pub async fn run_until_idle(&self) -> Result<Vec<(TaskId, JobEnd)>, ServiceError> {
        let mut done = Vec::new();
        while let Some(lease) = self.claim().await? {
            let id = lease.task_id;
            done.push((id, self.run_job(lease, CancellationToken::new()).await));
        }
        Ok(done)
    }

    async fn claim(&self) -> Result<Option<Lease>, ServiceError> {
        let lease = self.inner.jobs.claim(&self.worker_id()).await?;
        if let Some(l) = &lease {
            if l.attempt == 1 {
                metrics::counter!("motiond_tasks_total", "status_name" => "processing")
                    .increment(1);
            }
            self.wake_outbox();
        }
        Ok(lease)
    }

    fn wake_outbox(&self) {
        if let Some(n) = &self.inner.outbox_wake {
            n.notify_one();
        }
    }

    /// Runs one claimed job to its end: extraction beside the watcher, then publish, fail,
    /// release or nothing.
    pub async fn run_job(&self, lease: Lease, shutdown: CancellationToken) -> JobEnd {
        let span = tracing::info_span!(
            "job",
            task_id = lease.task_id,
            account = lease.account_id,
            attempt = lease.attempt
        );
        let started = Instant::now();
        let end = self
            .run_job_inner(lease, shutdown)
            .instrument(span.clone())
            .await;
        let _e = span.enter();
        let label = match end {
            JobEnd::Succeeded => Some("succeed"),
            JobEnd::Failed => Some("failed"),
            _ => None,
        };
        if let Some(status_name) = label {
            metrics::counter!("motiond_tasks_total", "status_name" => status_name).increment(1);
            metrics::histogram!("motiond_task_duration_seconds", "status_name" => status_name)
                .record(started.elapsed().as_secs_f64());
            self.wake_outbox();
        }
        tracing::info!(
            ?end,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "job ended"
        );
        end
    }

    async fn run_job_inner(&self, lease: Lease, shutdown: CancellationToken) -> JobEnd {
        let inner = &self.inner;
        let registration = inner.signals.register(lease.task_id);
        let cancel = registration.token();
        let stop = Arc::new(StopCell::default());
        let progress = Arc::new(Progress::default());
        let done = CancellationToken::new();

        let watcher = tokio::spawn(
            Watcher {
                jobs: inner.jobs.clone(),
                lease: lease.clone(),
                cancel: cancel.clone(),
                stop: stop.clone(),
                progress: progress.clone(),
                shutdown,
                grace: inner.settings.shutdown_grace,
                done: done.clone(),
            }
            .run()
            .in_current_span(),
        );
        // The extraction runs in its own task: a panic inside it ends this job only.
        let job_dir = inner
            .settings
            .jobs_dir
            .join(format!("{}-{}", lease.task_id, lease.token));
        let exec = tokio::spawn(
            execute(
                inner.extractor.clone(),
                inner.blobs.clone(),
                lease.clone(),
                job_dir.clone(),
                cancel.clone(),
                progress.clone(),
            )
            .in_current_span(),
        );
        let result = match exec.await {
            Ok(r) => r,
            Err(join) if join.is_panic() => {
                tracing::error!("extraction panicked");
                Err(JobError::Panicked)
            }
            Err(_) => Err(JobError::Extract(ExtractError::Cancelled)),
        };
        drop(registration);

        let end = self.conclude(&lease, result, stop.get()).await;
        done.cancel();
        let _ = watcher.await;
        remove_dir(&job_dir).await;
        end
    }

    async fn conclude(
        &self,
        lease: &Lease,
        result: Result<Extracted, JobError>,
        stop: Option<StopReason>,
    ) -> JobEnd {
        let jobs = &self.inner.jobs;
        match (result, stop) {
            (Ok(extracted), stop) => {
                // A result that is ready is worth publishing even during shutdown; the
                // token-guarded finish refuses it if the lease was lost or the task cancelled.
                if matches!(stop, Some(StopReason::Lost | StopReason::CancelRequested)) {
                    return JobEnd::Abandoned;
                }
                match jobs.publish(lease, &extracted).await {
                    // Not transient (a blob the task needs is gone, an output the engine
                    // reported cannot be read): another attempt would end the same way.
                    Err(e) if !is_transient(&e) => {
                        tracing::error!(error = ?e, "publish failed; the task fails");
                        finished(
                            jobs.fail(lease, FailureReason::Internal).await,
                            JobEnd::Failed,
                        )
                    }
                    r => finished(r, JobEnd::Succeeded),
                }
            }
            (Err(_), Some(StopReason::Shutdown)) => match jobs.release(lease).await {
                Ok(_) => JobEnd::Released,
                Err(e) => {
                    tracing::warn!(error = %e, "release failed; the lease will expire instead");
                    JobEnd::Abandoned
                }
            },
            (Err(_), Some(StopReason::TimedOut)) => finished(
                jobs.fail(lease, FailureReason::TimedOut).await,
                JobEnd::Failed,
            ),
            (Err(_), Some(StopReason::Lost | StopReason::CancelRequested)) => JobEnd::Abandoned,
            // Cancelled through the registry (the API already changed or deleted the row).
            (Err(JobError::Extract(ExtractError::Cancelled)), None) => JobEnd::Abandoned,
            (Err(JobError::Extract(ExtractError::Failed(reason))), None) => {
                tracing::info!(reason = %reason, "extraction failed");
                finished(jobs.fail(lease, reason).await, JobEnd::Failed)
            }
            (Err(JobError::Source(ServiceError::Unavailable(e))), None) => {
                tracing::warn!(error = %e, "storage unavailable; the task is retried after its lease expires");
                JobEnd::Abandoned
            }
            (Err(JobError::Extract(ExtractError::Unavailable(e))), None) => {
                tracing::warn!(error = %e, "the job folder could not take the outputs; the task is retried after its lease expires");
                JobEnd::Abandoned
            }
            (Err(e), None) => {
                tracing::error!(error = %e, "extraction error");
                finished(
                    jobs.fail(lease, FailureReason::Internal).await,
                    JobEnd::Failed,
                )
            }
        }
    }
}

/// Storage that is unreachable or overloaded may work on the next attempt; every other
/// service error would recur.
fn is_transient(e: &ServiceError) -> bool {
    matches!(e, ServiceError::Unavailable(_))
}

/// Maps a finish result: committed → `ok`; lost or failed → abandoned (nothing published;
/// the lease expires and the reaper requeues the task). Permanent publish errors are
/// turned into a failure before they get here.
fn finished(r: Result<Finished, ServiceError>, ok: JobEnd) -> JobEnd {
    match r {
        Ok(Finished::Published(_)) => ok,
        Ok(Finished::Lost) => {
            tracing::info!("finish refused: the lease was lost or the task cancelled");
            JobEnd::Abandoned
        }
        Err(e) => {
            tracing::warn!(error = %e, "finish failed; the task is retried after its lease expires");
            JobEnd::Abandoned
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum JobError {
    #[error(transparent)]
    Extract(ExtractError),
    #[error("job input: {0}")]
    Source(ServiceError),
    #[error("extraction panicked")]
    Panicked,
}

/// Prepares the job directory and runs the extractor.
async fn execute(
    extractor: Arc<dyn MotionExtractor>,
    blobs: Arc<dyn BlobStore>,
    lease: Lease,
    job_dir: PathBuf,
    cancel: CancellationToken,
    progress: Arc<Progress>,
) -> Result<Extracted, JobError> {
    let internal = |e: String| JobError::Extract(ExtractError::Internal(e));
    tokio::fs::create_dir_all(&job_dir)
        .await
        .map_err(|e| internal(format!("create {}: {e}", job_dir.display())))?;
    let input = job_dir.join(input_name(&lease.task.input.source_name));
    fetch_source(blobs.as_ref(), &lease, &input).await?;
    let out_dir = job_dir.join("out");
    tokio::fs::create_dir_all(&out_dir)
        .await
        .map_err(|e| internal(format!("create {}: {e}", out_dir.display())))?;
    let job = ExtractJob {
        task_id: lease.task_id,
        source: input,
        out_dir,
    };
    extractor
        .extract(job, cancel, progress.as_ref())
        .await
        .map_err(JobError::Extract)
}

/// The job's own copy of the source video (a local copy, or a stream from object storage).
async fn fetch_source(blobs: &dyn BlobStore, lease: &Lease, dest: &Path) -> Result<(), JobError> {
    let key = &lease.task.input.source_blob_key;
    match blobs.copy_to_file(key, dest).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(JobError::Extract(ExtractError::Internal(format!(
            "source blob {key} is missing"
        )))),
        Err(e) => Err(JobError::Source(e.into())),
    }
}

/// Only the extension survives from the stored name; our own stem keeps the path safe.
fn input_name(source_name: &str) -> String {
    let ext = Path::new(source_name)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("mp4");
    let ext = if matches!(ext, "mp4" | "mov" | "mkv" | "webm") {
        ext
    } else {
        "mp4"
    };
    format!("input.{ext}")
}

async fn remove_dir(dir: &Path) {
    if let Err(e) = tokio::fs::remove_dir_all(dir).await
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(error = %e, dir = %dir.display(), "could not remove job directory; the janitor will");
    }
}

/// How often a running job reads its lease between heartbeats. In `serve` a cancellation
/// reaches the job at once through the in-process registry; a `motiond api` process can only
/// write it to the database, and the contract asks for the job to stop within a second.
const LEASE_CHECK_EVERY: Duration = Duration::from_millis(400);

/// Heartbeats every lease/3; reads the lease every [`LEASE_CHECK_EVERY`]; enforces the attempt
/// timeout and the shutdown grace; cancels the job when the lease is lost or the task is
/// cancelled. Keeps the lease alive until the
/// job has concluded (so a timed-out job can still record its failure).
struct Watcher {
    jobs: Arc<JobService>,
    lease: Lease,
    /// The job's token: cancelling it stops ffmpeg and inference.
    cancel: CancellationToken,
    stop: Arc<StopCell>,
    progress: Arc<Progress>,
    shutdown: CancellationToken,
    grace: Duration,
    /// Cancelled once the job has concluded.
    done: CancellationToken,
}

impl Watcher {
    async fn run(self) {
        let Watcher {
            jobs,
            lease,
            cancel,
            stop,
            progress,
            shutdown,
            grace,
            done,
        } = self;
        let settings = jobs.settings();
        let mut ticker = tokio::time::interval(settings.heartbeat_every());
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await; // the claim itself was the first heartbeat
        let mut check = tokio::time::interval(LEASE_CHECK_EVERY);
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        check.tick().await;
        let timeout_at = tokio::time::Instant::now() + settings.task_timeout;
        let mut timeout_armed = true;
        let mut grace_until: Option<tokio::time::Instant> = None;
        let mut last_ok = Instant::now();
        let far = || tokio::time::Instant::now() + Duration::from_secs(86_400 * 365);
        let trigger = |reason: StopReason| {
            stop.set(reason);
            cancel.cancel();
        };
        loop {
            tokio::select! {
                _ = done.cancelled() => return,
                _ = ticker.tick() => match jobs.heartbeat(&lease, progress.get()).await {
                    Ok(LeaseState::Held) => last_ok = Instant::now(),
                    Ok(LeaseState::CancelRequested) => {
                        last_ok = Instant::now();
                        trigger(StopReason::CancelRequested);
                    }
                    Ok(LeaseState::Lost) => {
                        trigger(StopReason::Lost);
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "heartbeat failed");
                        if last_ok.elapsed() >= settings.lease {
                            trigger(StopReason::Lost);
                            return;
                        }
                    }
                },
                _ = check.tick() => match jobs.lease_state(&lease).await {
                    Ok(LeaseState::Held) => {}
                    Ok(LeaseState::CancelRequested) => trigger(StopReason::CancelRequested),
                    Ok(LeaseState::Lost) => {
                        trigger(StopReason::Lost);
                        return;
                    }
                    // A failed read is no evidence; the heartbeat decides on storage trouble.
                    Err(e) => tracing::debug!(error = %e, "lease check failed"),
                },
                _ = tokio::time::sleep_until(timeout_at), if timeout_armed => {
                    timeout_armed = false;
                    tracing::warn!("attempt timed out");
                    trigger(StopReason::TimedOut);
                }
                _ = shutdown.cancelled(), if grace_until.is_none() => {
                    grace_until = Some(tokio::time::Instant::now() + grace);
                }
                _ = tokio::time::sleep_until(grace_until.unwrap_or_else(far)), if grace_until.is_some() => {
                    grace_until = Some(far());
                    trigger(StopReason::Shutdown);
                }
            }
        }
    }
}

/// First stop reason of a job.
#[derive(Debug, Default)]
struct StopCell(Mutex<Option<StopReason>>);

impl StopCell {
    fn set(&self, reason: StopReason) {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if g.is_none() {
            *g = Some(reason);
        }
    }
    fn get(&self) -> Option<StopReason> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The job's progress, shared with the heartbeat.
#[derive(Debug, Default)]
struct Progress(AtomicU64);

impl Progress {
    fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}

impl ProgressSink for Progress {
    fn report(&self, fraction: f64) {
        if fraction.is_finite() {
            self.0
                .store(fraction.clamp(0.0, 1.0).to_bits(), Ordering::Relaxed);
        }
    }
}
