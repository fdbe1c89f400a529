//! The janitor's retention step (`retention.days`) on the real SQLite store and local blob
//! store, with a manual clock: nothing goes before its time; then the final task, its motion
//! and its result blobs go in one pass, the unfinished task and the source asset stay, and a
//! second pass has nothing left to do.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use motion_core::clock::{Clock, ManualClock, SystemClock};
use motion_core::domain::*;
use motion_core::ids::IdGenerator;
use motion_core::ports::*;
use motion_core::services::jobs::{JobService, QueueSettings};
use motion_core::services::render::UrlBuilder;
use motion_worker::janitor::{Janitor, JanitorSettings};
use motion_worker::worker::JobEnd;

const DAY_MS: i64 = 86_400_000;

fn janitor(e: &Env, clock: &ManualClock, retention_days: u32) -> Janitor {
    let clock: Arc<dyn Clock> = Arc::new(clock.clone());
    let jobs = Arc::new(JobService::new(
        e.store.clone(),
        e.blobs.clone(),
        Arc::new(UrlBuilder::new("http://127.0.0.1:1")),
        clock.clone(),
        IdGenerator::new(clock),
        QueueSettings {
            lease: Duration::from_secs(30),
            max_attempts: 3,
            task_timeout: Duration::from_secs(600),
        },
    ));
    Janitor::new(
        jobs,
        e.store.clone(),
        e.store.clone(),
        e.blobs.clone(),
        e.signals.clone(),
        None,
        JanitorSettings {
            interval: Duration::from_secs(3600),
            temp_max_age: Duration::from_secs(3600),
            tmp_dir: e._dir.path().join("tmp"),
            // Far away: this test is about retention, not about the orphan sweep.
            orphan_min_age: Duration::from_secs(86_400 * 365),
            retention_days,
        },
    )
}

/// A second (queued) task on the source asset of `like`.
async fn submit_again(e: &Env, like: TaskId) -> TaskId {
    let t = view(e, like).await.unwrap().task;
    let task = NewTask {
        id: e.ids.next_id(),
        account_id: e.account,
        create_time: SystemClock.now_ms(),
        reply_url: None,
        reply_ref: None,
        work_name: "again".into(),
        input: t.input,
    };
    match e.store.admit(&task, 5).await.unwrap() {
        Admission::Admitted(v) => v.task.id,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn retention_deletes_old_final_tasks_with_their_motion_and_blobs() {
    let e = env(Scripted::new(Script::Succeed), Duration::from_secs(60)).await;
    let done = submit(&e).await;
    assert_eq!(
        e.worker.run_until_idle().await.unwrap(),
        vec![(done, JobEnd::Succeeded)]
    );
    let open = submit_again(&e, done).await;
    let work = view(&e, done).await.unwrap().work.expect("a motion");
    let result_keys: Vec<String> = [&work.preview, &work.cover, &work.bvh_zip, &work.binary_zip]
        .iter()
        .map(|f| f.blob_key.clone())
        .collect();
    for k in &result_keys {
        assert!(e.blobs.get(k, None).await.unwrap().is_some(), "{k} stored");
    }

    let clock = ManualClock::new(SystemClock.now_ms());
    // Retention off: even a task a year old stays.
    clock.advance(365 * DAY_MS);
    assert_eq!(janitor(&e, &clock, 0).pass().await.expired, 0);
    assert!(view(&e, done).await.is_some());

    // Two days' retention, one day and a bit later: still young enough.
    clock.set(SystemClock.now_ms() + DAY_MS + 3_600_000);
    let j = janitor(&e, &clock, 2);
    assert_eq!(j.pass().await.expired, 0);
    assert!(view(&e, done).await.is_some());

    // Past two days: the final task goes with its motion and result blobs, in one pass.
    clock.advance(DAY_MS);
    let report = j.pass().await;
    assert_eq!(report.expired, 1, "{report:?}");
    assert!(report.purged_blobs >= 4, "{report:?}");
    assert!(view(&e, done).await.is_none(), "404 afterwards");
    assert!(
        e.store
            .file_by_fid(&work.bvh_zip.fid)
            .await
            .unwrap()
            .is_none(),
        "its file URLs are gone"
    );
    for k in &result_keys {
        assert!(e.blobs.get(k, None).await.unwrap().is_none(), "{k} deleted");
    }
    // The unfinished task is never expired, however old; the source asset is not touched.
    assert!(view(&e, open).await.is_some());
    let source = view(&e, open).await.unwrap().task.input.source_blob_key;
    assert!(e.blobs.get(&source, None).await.unwrap().is_some());

    // Idempotent: the next pass finds nothing.
    let again = j.pass().await;
    assert_eq!((again.expired, again.purged_blobs), (0, 0), "{again:?}");
}
