//! Shared set-up of the worker tests: the real SQLite store and local blob store, a scripted
//! extractor, and helpers to submit tasks.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use motion_core::clock::{Clock, SystemClock};
use motion_core::domain::*;
use motion_core::ids::{IdGenerator, new_fid};
use motion_core::ports::*;
use motion_core::reason::FailureReason;
use motion_core::services::jobs::{JobService, QueueSettings};
use motion_core::services::render::UrlBuilder;
use motion_core::signals::LocalSignals;
use motion_storage::{FsBlobStore, SqliteOptions, SqliteStore};
use motion_worker::worker::{Worker, WorkerSettings};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy)]
pub enum Script {
    Succeed,
    NoPerson,
    Panic,
    /// Runs until cancelled, then reports `Cancelled`.
    UntilCancelled,
    /// Reports success, but the bvh.zip it names was never written.
    MissingOutput,
    /// The first attempt cannot write its outputs (the worker out of file descriptors); later
    /// ones succeed.
    OutputUnavailableOnce,
}

pub struct Scripted {
    pub script: Script,
    pub started: AtomicBool,
    /// Attempts made so far.
    pub attempts: std::sync::atomic::AtomicU32,
    pub cancelled_at: std::sync::Mutex<Option<Instant>>,
}

impl Scripted {
    pub fn new(script: Script) -> Arc<Self> {
        Arc::new(Self {
            script,
            started: AtomicBool::new(false),
            attempts: Default::default(),
            cancelled_at: Default::default(),
        })
    }
}

#[async_trait]
impl MotionExtractor for Scripted {
    async fn extract(
        &self,
        job: ExtractJob,
        cancel: CancellationToken,
        progress: &dyn ProgressSink,
    ) -> Result<Extracted, ExtractError> {
        self.started.store(true, Ordering::SeqCst);
        let attempt = self.attempts.fetch_add(1, Ordering::SeqCst) + 1;
        assert!(
            job.source.is_file(),
            "the source is copied into the job dir"
        );
        progress.report(0.5);
        match self.script {
            Script::OutputUnavailableOnce if attempt == 1 => {
                Err(ExtractError::Unavailable(format!(
                    "{}: Too many open files (os error 24)",
                    job.out_dir.display()
                )))
            }
            Script::Succeed | Script::OutputUnavailableOnce => {
                let w = |name: &str, bytes: &[u8]| {
                    let p = job.out_dir.join(name);
                    std::fs::write(&p, bytes).unwrap();
                    p
                };
                Ok(Extracted {
                    preview: w("motion.mp4", b"preview"),
                    bvh_zip: w("bvh.zip", b"bvh"),
                    binary_zip: w("binary.zip", b"binary"),
                    width: 320,
                    height: 240,
                    duration_ms: 3000,
                })
            }
            Script::MissingOutput => {
                let preview = job.out_dir.join("motion.mp4");
                std::fs::write(&preview, b"preview").unwrap();
                Ok(Extracted {
                    preview,
                    bvh_zip: job.out_dir.join("bvh.zip"),
                    binary_zip: job.out_dir.join("binary.zip"),
                    width: 320,
                    height: 240,
                    duration_ms: 3000,
                })
            }
            Script::NoPerson => Err(ExtractError::Failed(FailureReason::NoPerson)),
            Script::Panic => panic!("scripted panic inside the engine"),
            Script::UntilCancelled => {
                cancel.cancelled().await;
                *self.cancelled_at.lock().unwrap() = Some(Instant::now());
                Err(ExtractError::Cancelled)
            }
        }
    }
}

pub struct Env {
    pub _dir: tempfile::TempDir,
    pub store: Arc<SqliteStore>,
    pub blobs: Arc<FsBlobStore>,
    pub signals: Arc<LocalSignals>,
    pub worker: Worker,
    /// The worker's own job service (for reaper passes).
    pub jobs: Arc<JobService>,
    pub user: UserId,
    pub account: AccountId,
    pub ids: IdGenerator,
}

pub async fn env(extractor: Arc<dyn MotionExtractor>, task_timeout: Duration) -> Env {
    env_with_outbox_wake(extractor, task_timeout, None).await
}

pub async fn env_with_outbox_wake(
    extractor: Arc<dyn MotionExtractor>,
    task_timeout: Duration,
    outbox_wake: Option<Arc<tokio::sync::Notify>>,
) -> Env {
    env_with_blobs(extractor, task_timeout, outbox_wake, |b| b).await
}

/// The worker and its job service see the blob store through `wrap` (fault injection);
/// `Env::blobs` stays the plain folder store underneath.
pub async fn env_with_blobs(
    extractor: Arc<dyn MotionExtractor>,
    task_timeout: Duration,
    outbox_wake: Option<Arc<tokio::sync::Notify>>,
    wrap: impl FnOnce(Arc<dyn BlobStore>) -> Arc<dyn BlobStore>,
) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteStore::open(&dir.path().join("db.sqlite"), &SqliteOptions::default())
            .await
            .unwrap(),
    );
    store.migrate().await.unwrap();
    let blobs = Arc::new(FsBlobStore::open(&dir.path().join("blobs")).await.unwrap());
    let seen = wrap(blobs.clone());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let ids = IdGenerator::new(clock.clone());
    let render: Arc<dyn EventRenderer> = Arc::new(UrlBuilder::new("http://127.0.0.1:1"));
    let settings = QueueSettings {
        lease: Duration::from_millis(600),
        max_attempts: 3,
        task_timeout,
    };
    let jobs = Arc::new(JobService::new(
        store.clone(),
        seen.clone(),
        render,
        clock.clone(),
        ids.clone(),
        settings,
    ));
    let signals = Arc::new(LocalSignals::new());
    let worker = Worker::new(
        jobs.clone(),
        extractor,
        seen,
        signals.clone(),
        outbox_wake,
        WorkerSettings {
            slots: 1,
            poll_interval: Duration::from_millis(50),
            shutdown_grace: Duration::from_millis(200),
            jobs_dir: dir.path().join("jobs"),
            boot_id: "boot-test".into(),
        },
    );
    let now = clock.now_ms();
    let user = store.ensure_user("u", now).await.unwrap().id;
    let input = AccountInput {
        email: "u@example.com".into(),
        max_jobs: 5,
        reply_url: None,
    };
    let account = match store
        .upsert_account(user, &input, ids.next_id(), 10, now)
        .await
        .unwrap()
    {
        AccountUpsert::Created(a) => a.id,
        other => panic!("{other:?}"),
    };
    Env {
        _dir: dir,
        store,
        blobs,
        signals,
        worker,
        jobs,
        user,
        account,
        ids,
    }
}

pub fn new_file(
    key: &str,
    name: &str,
    content_type: &str,
    role: FileRole,
    bytes: &[u8],
) -> NewFile {
    NewFile {
        fid: new_fid(),
        blob_key: key.into(),
        name: name.into(),
        content_type: content_type.into(),
        size: bytes.len() as u64,
        sha256: motion_core::ids::sha256_hex(bytes),
        role,
        width: 320,
        height: 240,
        duration_ms: 3000,
    }
}

/// A video asset (blobs stored) and an admitted task on it.
pub async fn submit(e: &Env) -> TaskId {
    submit_with(e, None, None).await
}

/// A task with an optional callback URL and reference.
pub async fn submit_with(e: &Env, reply_url: Option<String>, reply_ref: Option<String>) -> TaskId {
    let asset_id = motion_core::ids::new_asset_id();
    // Asset names are unique per account: one per submitted task.
    let name = format!("{asset_id}.mp4");
    let src_key = motion_core::blob_keys::asset_original(e.account, &asset_id, &name);
    let cover_key = motion_core::blob_keys::asset_cover(e.account, &asset_id);
    e.blobs
        .put_bytes(&src_key, b"not really a video")
        .await
        .unwrap();
    e.blobs
        .put_bytes(&cover_key, b"\xff\xd8\xff cover")
        .await
        .unwrap();
    let original = new_file(
        &src_key,
        &name,
        "video/mp4",
        FileRole::Original,
        b"not really a video",
    );
    let cover = new_file(
        &cover_key,
        "cover.jpg",
        "image/jpeg",
        FileRole::Cover,
        b"\xff\xd8\xff cover",
    );
    let now = SystemClock.now_ms();
    let asset = NewAsset {
        id: asset_id,
        account_id: e.account,
        kind: AssetKind::Video,
        name: original.name.clone(),
        width: 320,
        height: 240,
        duration_ms: 3000,
        create_time: now,
        original: original.clone(),
        cover: Some(cover.clone()),
    };
    e.store.insert_asset(&asset, now).await.unwrap();
    let task = NewTask {
        id: e.ids.next_id(),
        account_id: e.account,
        create_time: now,
        reply_url,
        reply_ref,
        work_name: "m".into(),
        input: TaskInput {
            source_fid: original.fid,
            source_name: original.name,
            source_blob_key: src_key,
            cover_fid: cover.fid,
            cover_name: cover.name,
            cover_blob_key: cover_key,
            cover_content_type: "image/jpeg".into(),
            source_width: 320,
            source_height: 240,
            source_duration_ms: 3000,
        },
    };
    match e.store.admit(&task, 5).await.unwrap() {
        Admission::Admitted(v) => v.task.id,
        other => panic!("{other:?}"),
    }
}

pub async fn view(e: &Env, id: TaskId) -> Option<TaskView> {
    e.store.task(e.account, id).await.unwrap()
}

pub async fn wait_for(what: &str, mut cond: impl AsyncFnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(20);
    while !cond().await {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
