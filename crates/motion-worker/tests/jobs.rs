//! The worker's job lifecycle on the real SQLite store and local blob store, with a scripted
//! extractor (the engine itself is tested in motion-capture and end to end in motiond):
//! publish, publish errors (permanent or transient), failure reasons, cancellation within a
//! second, shutdown hand-back, attempt timeout, the panic boundary and fencing.

mod common;

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use common::*;
use motion_core::clock::{Clock, SystemClock};
use motion_core::domain::*;
use motion_core::ports::*;
use motion_core::services::render::UrlBuilder;
use motion_worker::worker::JobEnd;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

fn spawn_worker(e: &Env) -> (CancellationToken, TaskTracker) {
    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();
    let (w, sd, t) = (e.worker.clone(), shutdown.clone(), tracker.clone());
    tracker.spawn(async move { w.run(sd, t).await });
    (shutdown, tracker)
}

#[tokio::test]
async fn a_successful_job_publishes_four_files_under_attempt_keys() {
    let e = env(Scripted::new(Script::Succeed), Duration::from_secs(60)).await;
    let id = submit(&e).await;
    let ended = e.worker.run_until_idle().await.unwrap();
    assert_eq!(ended, vec![(id, JobEnd::Succeeded)]);
    let v = view(&e, id).await.unwrap();
    assert_eq!(v.task.wire_status, WireStatus::Succeed);
    let work = v.work.expect("a work");
    for f in [&work.preview, &work.cover, &work.bvh_zip, &work.binary_zip] {
        assert!(
            f.blob_key.starts_with(&format!("results/{id}/")),
            "{}",
            f.blob_key
        );
        assert!(
            e.blobs.get(&f.blob_key, None).await.unwrap().is_some(),
            "{} stored",
            f.blob_key
        );
    }
    assert_eq!(
        (
            work.preview.width,
            work.preview.height,
            work.preview.duration_ms
        ),
        (320, 240, 3000)
    );
    assert_eq!(work.cover.name, "cover.jpg");
    assert!(
        std::fs::read_dir(e._dir.path().join("jobs"))
            .unwrap()
            .next()
            .is_none(),
        "job dir removed"
    );
    assert!(
        e.worker.run_until_idle().await.unwrap().is_empty(),
        "nothing left"
    );
}

/// A publish error that will not go away on a retry (the submitted cover's blob is gone,
/// or an output the engine reported is missing) fails the task at once with the contract's
/// "Internal error": one attempt, no re-extraction after the lease, nothing left stored.
#[tokio::test]
async fn a_permanent_publish_error_fails_the_task_after_one_attempt() {
    // The cover blob vanished under the task.
    let ex = Scripted::new(Script::Succeed);
    let e = env(ex.clone(), Duration::from_secs(60)).await;
    let id = submit(&e).await;
    let cover_key = view(&e, id).await.unwrap().task.input.cover_blob_key;
    e.blobs.delete(&cover_key).await.unwrap();
    assert_permanent_publish_failure(&e, ex.as_ref(), id).await;

    // The engine named a bvh.zip it did not write (hashing it fails).
    let ex = Scripted::new(Script::MissingOutput);
    let e = env(ex.clone(), Duration::from_secs(60)).await;
    let id = submit(&e).await;
    assert_permanent_publish_failure(&e, ex.as_ref(), id).await;
}

async fn assert_permanent_publish_failure(e: &Env, ex: &Scripted, id: TaskId) {
    assert_eq!(
        e.worker.run_until_idle().await.unwrap(),
        vec![(id, JobEnd::Failed)]
    );
    let v = view(e, id).await.unwrap();
    assert_eq!(
        (v.task.wire_status, v.task.attempt),
        (WireStatus::Failed, 1)
    );
    assert_eq!(v.message(), "Internal error");
    assert!(v.work.is_none());
    assert!(
        e.blobs
            .list_keys("results/", None, 10)
            .await
            .unwrap()
            .is_empty(),
        "the results stored before the error are deleted again"
    );
    // After the lease would have run out there is nothing to requeue or run again.
    ex.started.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(e.jobs.reap().await.unwrap(), ReapReport::default());
    assert!(e.worker.run_until_idle().await.unwrap().is_empty());
    assert!(!ex.started.load(Ordering::SeqCst), "not extracted again");
    assert_eq!(view(e, id).await.unwrap().message(), "Internal error");
}

/// Blob storage that refuses the first `failures` uploads as unavailable (a network or
/// disk hiccup while results are stored).
struct FlakyPuts {
    inner: Arc<dyn BlobStore>,
    failures: AtomicU32,
}

#[async_trait]
impl BlobStore for FlakyPuts {
    async fn put_file(&self, key: &str, src: &Path) -> StoreResult<()> {
        let left = self.failures.load(Ordering::SeqCst);
        if left > 0 {
            self.failures.store(left - 1, Ordering::SeqCst);
            return Err(StoreError::Unavailable(format!("injected: put {key}")));
        }
        self.inner.put_file(key, src).await
    }
    async fn put_bytes(&self, key: &str, bytes: &[u8]) -> StoreResult<()> {
        self.inner.put_bytes(key, bytes).await
    }
    async fn get(&self, key: &str, range: Option<Range<u64>>) -> StoreResult<Option<BlobRead>> {
        self.inner.get(key, range).await
    }
    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.inner.delete(key).await
    }
    async fn ping(&self) -> StoreResult<()> {
        self.inner.ping().await
    }
    async fn list_keys(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<(String, i64)>> {
        self.inner.list_keys(prefix, after, limit).await
    }
}

/// Storage being unavailable while results are stored is transient: nothing is published
/// or failed, the lease runs out, the reaper requeues the task and the next attempt
/// publishes.
#[tokio::test]
async fn a_transient_publish_error_leaves_the_task_to_a_later_attempt() {
    let e = env_with_blobs(
        Scripted::new(Script::Succeed),
        Duration::from_secs(60),
        None,
        |inner| {
            Arc::new(FlakyPuts {
                inner,
                failures: AtomicU32::new(1),
            })
        },
    )
    .await;
    let id = submit(&e).await;
    a_first_attempt_is_abandoned_and_a_second_publishes(&e, id).await;
}

/// The first attempt at task `id` is abandoned, neither published nor failed (the task runs
/// on, in its first attempt); once its lease has run out the second attempt publishes.
async fn a_first_attempt_is_abandoned_and_a_second_publishes(e: &Env, id: TaskId) {
    assert_eq!(
        e.worker.run_until_idle().await.unwrap(),
        vec![(id, JobEnd::Abandoned)]
    );
    let v = view(e, id).await.unwrap();
    assert_eq!(
        (v.task.state, v.task.wire_status, v.task.attempt),
        (TaskState::Running, WireStatus::Processing, 1)
    );
    a_second_attempt_publishes(e, id).await;
}

/// Once task `id`'s abandoned lease has run out (the tests' leases are short), the reaper
/// requeues it and the second attempt publishes.
async fn a_second_attempt_publishes(e: &Env, id: TaskId) {
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(e.jobs.reap().await.unwrap().requeued, vec![id]);
    assert_eq!(
        e.worker.run_until_idle().await.unwrap(),
        vec![(id, JobEnd::Succeeded)]
    );
    let v = view(e, id).await.unwrap();
    assert_eq!(
        (v.task.wire_status, v.task.attempt),
        (WireStatus::Succeed, 2)
    );
    assert!(v.work.is_some());
}

/// The blob folder away for a moment (a remount, a move) while a task starts: its source
/// cannot be told from a deleted one, so the task is not failed ("Internal error" for good)
/// but left to a later attempt, which runs once the folder is back.
#[tokio::test]
async fn a_short_blob_store_outage_leaves_the_task_to_a_later_attempt() {
    let ex = Scripted::new(Script::Succeed);
    let e = env(ex.clone(), Duration::from_secs(60)).await;
    let id = submit(&e).await;
    let (blobs, away) = (e._dir.path().join("blobs"), e._dir.path().join("away"));
    std::fs::rename(&blobs, &away).unwrap();
    assert_eq!(
        e.worker.run_until_idle().await.unwrap(),
        vec![(id, JobEnd::Abandoned)]
    );
    assert!(
        !ex.started.load(Ordering::SeqCst),
        "no source, no extraction"
    );
    let v = view(&e, id).await.unwrap();
    assert_eq!(
        (v.task.state, v.task.wire_status, v.task.attempt),
        (TaskState::Running, WireStatus::Processing, 1)
    );

    std::fs::rename(&away, &blobs).unwrap();
    a_second_attempt_publishes(&e, id).await;
}

/// The job folder that cannot take the outputs for a moment (the worker out of file
/// descriptors) is the service's trouble, not the video's: the task is left to a later attempt
/// (it used to fail with "Internal error" for good), which publishes.
#[tokio::test]
async fn outputs_that_cannot_be_written_for_a_moment_leave_the_task_to_a_later_attempt() {
    let ex = Scripted::new(Script::OutputUnavailableOnce);
    let e = env(ex.clone(), Duration::from_secs(60)).await;
    let id = submit(&e).await;
    a_first_attempt_is_abandoned_and_a_second_publishes(&e, id).await;
    assert_eq!(ex.attempts.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn engine_failures_become_the_contract_reasons() {
    let e = env(Scripted::new(Script::NoPerson), Duration::from_secs(60)).await;
    let id = submit(&e).await;
    assert_eq!(
        e.worker.run_until_idle().await.unwrap(),
        vec![(id, JobEnd::Failed)]
    );
    let v = view(&e, id).await.unwrap();
    assert_eq!(v.task.wire_status, WireStatus::Failed);
    assert_eq!(
        v.message(),
        "No person detected in the video (MOTION.PIC_NOT_MATCHED)"
    );
}

#[tokio::test]
async fn a_panic_in_the_engine_fails_only_that_task() {
    let e = env(Scripted::new(Script::Panic), Duration::from_secs(60)).await;
    let id = submit(&e).await;
    assert_eq!(
        e.worker.run_until_idle().await.unwrap(),
        vec![(id, JobEnd::Failed)]
    );
    assert_eq!(view(&e, id).await.unwrap().message(), "Internal error");
}

#[tokio::test]
async fn the_attempt_timeout_fails_the_task() {
    let e = env(
        Scripted::new(Script::UntilCancelled),
        Duration::from_millis(400),
    )
    .await;
    let id = submit(&e).await;
    assert_eq!(
        e.worker.run_until_idle().await.unwrap(),
        vec![(id, JobEnd::Failed)]
    );
    assert_eq!(
        view(&e, id).await.unwrap().message(),
        "Processing timed out"
    );
}

#[tokio::test]
async fn deleting_a_running_task_stops_its_job_within_a_second() {
    let ex = Scripted::new(Script::UntilCancelled);
    let e = env(ex.clone(), Duration::from_secs(60)).await;
    let id = submit(&e).await;
    let (shutdown, tracker) = spawn_worker(&e);
    wait_for("the job to start", async || {
        ex.started.load(Ordering::SeqCst)
    })
    .await;

    // What `DELETE /tasks/{id}` does: delete the rows, then signal the running job.
    let asked = Instant::now();
    assert!(e.store.delete_task(e.account, id).await.unwrap().is_some());
    e.signals.cancel_running(id);
    wait_for("the engine to see the cancellation", async || {
        ex.cancelled_at.lock().unwrap().is_some()
    })
    .await;
    let stopped = ex.cancelled_at.lock().unwrap().unwrap();
    assert!(
        stopped.duration_since(asked) < Duration::from_secs(1),
        "stopped after {:?}",
        stopped.duration_since(asked)
    );
    assert!(view(&e, id).await.is_none());

    shutdown.cancel();
    tracker.close();
    tracker.wait().await;
}

#[tokio::test]
async fn a_scheduler_cancel_is_seen_by_the_heartbeat_and_nothing_is_published() {
    let ex = Scripted::new(Script::UntilCancelled);
    let e = env(ex.clone(), Duration::from_secs(60)).await;
    let id = submit(&e).await;
    let (shutdown, tracker) = spawn_worker(&e);
    wait_for("the job to start", async || {
        ex.started.load(Ordering::SeqCst)
    })
    .await;

    // Only the row changes (as from another process): the heartbeat must notice.
    let render = UrlBuilder::new("http://127.0.0.1:1");
    let canceled = e
        .store
        .cancel(e.user, id, SystemClock.now_ms(), &render)
        .await
        .unwrap();
    assert!(canceled.is_some());
    wait_for("the engine to see the cancellation", async || {
        ex.cancelled_at.lock().unwrap().is_some()
    })
    .await;
    let v = view(&e, id).await.unwrap();
    assert_eq!(v.message(), "Task was canceled");
    assert!(v.work.is_none());

    shutdown.cancel();
    tracker.close();
    tracker.wait().await;
    assert_eq!(
        view(&e, id).await.unwrap().message(),
        "Task was canceled",
        "the stale job changed nothing"
    );
}

#[tokio::test]
async fn shutdown_hands_a_running_task_back_without_counting_the_attempt() {
    let ex = Scripted::new(Script::UntilCancelled);
    let e = env(ex.clone(), Duration::from_secs(60)).await;
    let id = submit(&e).await;
    let (shutdown, tracker) = spawn_worker(&e);
    wait_for("the job to start", async || {
        ex.started.load(Ordering::SeqCst)
    })
    .await;

    shutdown.cancel();
    tracker.close();
    tokio::time::timeout(Duration::from_secs(5), tracker.wait())
        .await
        .expect("jobs end after the grace period");
    let v = view(&e, id).await.unwrap();
    assert_eq!(v.task.state, TaskState::Queued, "handed back");
    assert_eq!(
        v.task.wire_status,
        WireStatus::Processing,
        "the wire status never goes back"
    );
}
