//! The worker's job lifecycle on the real SQLite store and local blob store, with a scripted
//! extractor (the engine itself is tested in motion-capture and end to end in motiond):
//! publish, failure reasons, cancellation within a second, shutdown hand-back, attempt
//! timeout, the panic boundary and fencing.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

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
