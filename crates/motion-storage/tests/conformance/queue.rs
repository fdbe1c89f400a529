//! The queue: admission, claims, leases, fencing, cancellation, outbox.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use motion_core::domain::*;
use motion_core::ports::*;
use motion_core::reason::FailureReason;

use crate::common::*;

const LONG: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn k_free_slots_admit_exactly_k_under_concurrent_admits() {
    let env = Arc::new(env().await);
    let user = env.user("alice").await;
    let account = env.account(&user, "a@example.com", 3).await;
    let asset = env.video_asset(&account).await;
    // One slot is already taken: k = 2 free slots.
    env.admit(&account, &asset, None).await;
    let mut handles = Vec::new();
    for _ in 0..16 {
        let (env, account, asset) = (env.clone(), account.clone(), asset.clone());
        handles.push(tokio::spawn(async move {
            let task = env.new_task(&account, &asset, None);
            env.store
                .admit(&task, account.max_jobs)
                .await
                .expect("admit")
        }));
    }
    let mut admitted = 0;
    let mut full = 0;
    for h in handles {
        match h.await.expect("join") {
            Admission::Admitted(_) => admitted += 1,
            Admission::Full { unfinished } => {
                assert_eq!(unfinished, 3);
                full += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((admitted, full), (2, 14));
    let cap = env.store.capacity_for_user(user.id).await.unwrap();
    assert_eq!(
        cap,
        vec![AccountCapacity {
            email: "a@example.com".into(),
            max_jobs: 3,
            executing: 3
        }]
    );
}

/// Rows 14/16 hold at admission, not only at the API's lookup: a task whose source or
/// cover asset was deleted in between (its file rows gone, or detached because an older
/// task still pins them) is refused in the admitting transaction, before the maxJobs
/// check, and nothing is written.
#[tokio::test]
async fn admission_refuses_input_files_whose_asset_was_deleted_meanwhile() {
    let env = env().await;
    let user = env.user("alice").await;
    let account = env.account(&user, "a@example.com", 50).await;
    let delete = async |asset: &Asset| {
        let ids = std::slice::from_ref(&asset.id);
        assert_eq!(env.store.delete_assets(account.id, ids).await.unwrap(), ids);
    };

    // No task on it: the rows are gone.
    let gone = env.video_asset(&account).await;
    let on_gone = env.new_task(&account, &gone, None);
    delete(&gone).await;
    assert_eq!(
        env.store.admit(&on_gone, 50).await.unwrap(),
        Admission::InputNotFound
    );

    // An older task pins it: the rows stay, detached.
    let pinned = env.video_asset(&account).await;
    let older = env.admit(&account, &pinned, None).await;
    let on_pinned = env.new_task(&account, &pinned, None);
    delete(&pinned).await;
    assert_eq!(
        env.store.admit(&on_pinned, 50).await.unwrap(),
        Admission::InputNotFound
    );
    // ... also when the account is full (rows 14/16 come before row 19).
    assert_eq!(
        env.store.admit(&on_pinned, 1).await.unwrap(),
        Admission::InputNotFound
    );

    // Only the cover's asset was deleted.
    let live = env.video_asset(&account).await;
    let other = env.video_asset(&account).await;
    let mut cover_gone = env.new_task(&account, &live, None);
    let cover = other.cover.clone().unwrap();
    cover_gone.input.cover_fid = cover.fid;
    cover_gone.input.cover_name = cover.name;
    cover_gone.input.cover_blob_key = cover.blob_key;
    delete(&other).await;
    assert_eq!(
        env.store.admit(&cover_gone, 50).await.unwrap(),
        Admission::InputNotFound
    );

    // Another account's files are not this account's.
    let bob = env
        .account(&env.user("bob").await, "b@example.com", 50)
        .await;
    let foreign = env.video_asset(&bob).await;
    assert_eq!(
        env.store
            .admit(&env.new_task(&account, &foreign, None), 50)
            .await
            .unwrap(),
        Admission::InputNotFound
    );

    // Nothing was written; a live asset still admits.
    let listed = env
        .store
        .list_tasks(account.id, TaskCursor::Latest, 10)
        .await
        .unwrap();
    let ids: Vec<TaskId> = listed.iter().map(|v| v.task.id).collect();
    assert_eq!(ids, vec![older.task.id]);
    env.admit(&account, &live, None).await;
}

/// Ids come from one generator per process, so processes sharing the database may draw the
/// same one: the store refuses an id issued before, as a task's, a work's or an account's, even
/// once what it named is deleted (contract §2.8), with `Conflict`, and writes nothing; the
/// services then draw another.
#[tokio::test]
async fn an_issued_id_is_never_issued_again() {
    let env = env().await;
    let user = env.user("alice").await;
    let account = env.account(&user, "a@example.com", 50).await;
    let asset = env.video_asset(&account).await;
    let first = env.admit(&account, &asset, None).await.task.id;
    let taken = |r: StoreResult<_>| matches!(r, Err(StoreError::Conflict(_)));

    let mut again = env.new_task(&account, &asset, None);
    again.id = first;
    assert!(taken(env.store.admit(&again, 50).await.map(|_| ())));
    let input = AccountInput {
        email: "b@example.com".into(),
        max_jobs: 1,
        reply_url: None,
    };
    assert!(taken(
        env.store
            .upsert_account(user.id, &input, first, 10, now())
            .await
            .map(|_| ())
    ));
    assert!(
        env.store
            .account(user.id, "b@example.com")
            .await
            .unwrap()
            .is_none()
    );

    let lease = env.claim(LONG).await.unwrap();
    let mut work = env.work(first);
    work.id = account.id;
    assert!(taken(
        env.store
            .finish(
                &lease,
                &Outcome::Succeeded(work.clone()),
                now(),
                &env.render
            )
            .await
            .map(|_| ())
    ));
    work.id = env.ids.next_id();
    let Finished::Published(done) = env
        .store
        .finish(&lease, &Outcome::Succeeded(work), now(), &env.render)
        .await
        .unwrap()
    else {
        panic!("the fresh id publishes")
    };
    assert_eq!(done.task.wire_status, WireStatus::Succeed);

    env.store
        .delete_task(account.id, first)
        .await
        .unwrap()
        .unwrap();
    assert!(taken(env.store.admit(&again, 50).await.map(|_| ())));
}

#[tokio::test]
async fn create_times_strictly_increase_and_cursors_are_exact() {
    let env = env().await;
    let user = env.user("alice").await;
    let account = env.account(&user, "a@example.com", 50).await;
    let asset = env.video_asset(&account).await;
    let fixed = now();
    let mut created = Vec::new();
    for _ in 0..5 {
        let mut t = env.new_task(&account, &asset, None);
        t.create_time = fixed; // all in the same millisecond
        let Admission::Admitted(v) = env.store.admit(&t, 50).await.unwrap() else {
            panic!("full")
        };
        created.push(v.task.create_time);
    }
    assert!(created.windows(2).all(|w| w[1] == w[0] + 1), "{created:?}");
    let newest = env
        .store
        .list_tasks(account.id, TaskCursor::Latest, 2)
        .await
        .unwrap();
    let times: Vec<i64> = newest.iter().map(|v| v.task.create_time).collect();
    assert_eq!(times, vec![created[4], created[3]]);
    let next = env
        .store
        .list_tasks(account.id, TaskCursor::Before(created[3]), 2)
        .await
        .unwrap();
    assert_eq!(
        next.iter().map(|v| v.task.create_time).collect::<Vec<_>>(),
        vec![created[2], created[1]]
    );
    let after = env
        .store
        .list_tasks(account.id, TaskCursor::After(created[1]), 10)
        .await
        .unwrap();
    assert_eq!(
        after.iter().map(|v| v.task.create_time).collect::<Vec<_>>(),
        created[2..].to_vec()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_claimers_never_share_a_task() {
    let env = Arc::new(env().await);
    let user = env.user("alice").await;
    let account = env.account(&user, "a@example.com", 50).await;
    let asset = env.video_asset(&account).await;
    let mut admitted = HashSet::new();
    for _ in 0..24 {
        admitted.insert(env.admit(&account, &asset, None).await.task.id);
    }
    let mut handles = Vec::new();
    for slot in 0..4 {
        let env = env.clone();
        handles.push(tokio::spawn(async move {
            let worker = WorkerId {
                boot_id: "boot".into(),
                slot: slot.to_string(),
            };
            let mut mine = Vec::new();
            while let Some(lease) = env
                .store
                .claim(&worker, LONG, &env.render)
                .await
                .expect("claim")
            {
                mine.push(lease.task_id);
            }
            mine
        }));
    }
    let mut seen = HashSet::new();
    for h in handles {
        for id in h.await.expect("join") {
            assert!(seen.insert(id), "task {id} claimed twice");
        }
    }
    assert_eq!(seen, admitted);
}

#[tokio::test]
async fn claim_moves_to_processing_and_oldest_first() {
    let env = env().await;
    let user = env.user("alice").await;
    let account = env.account(&user, "a@example.com", 50).await;
    let asset = env.video_asset(&account).await;
    let first = env.admit(&account, &asset, None).await;
    let second = env.admit(&account, &asset, None).await;
    assert_eq!(first.task.wire_status, WireStatus::Submitted);
    let lease = env.claim(LONG).await.expect("claim");
    assert_eq!(lease.task_id, first.task.id);
    assert_eq!(lease.attempt, 1);
    assert_eq!(lease.task.state, TaskState::Running);
    assert_eq!(lease.task.wire_status, WireStatus::Processing);
    let still_queued = env
        .store
        .task(account.id, second.task.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(still_queued.task.wire_status, WireStatus::Submitted);
    assert_eq!(
        env.store.heartbeat(&lease, LONG, 0.5).await.unwrap(),
        LeaseState::Held
    );
    let stats = env.store.queue_stats().await.unwrap();
    assert_eq!(
        stats,
        QueueStats {
            submitted: 1,
            processing: 1
        }
    );
}

#[tokio::test]
async fn expired_lease_is_requeued_keeping_status_10_then_fails_after_max_attempts() {
    let env = env().await;
    let user = env.user("alice").await;
    let account = env.account(&user, "a@example.com", 50).await;
    let asset = env.video_asset(&account).await;
    let task = env
        .admit(&account, &asset, Some("https://hooks.example.com/x"))
        .await;
    let short = Duration::from_millis(20);
    let lease = env.claim(short).await.expect("claim");
    let report = eventually(5, || async {
        let r = env.store.reap(2, LONG, now(), &env.render).await.unwrap();
        (!r.requeued.is_empty()).then_some(r)
    })
    .await;
    assert_eq!(report.requeued, vec![task.task.id]);
    let view = env
        .store
        .task(account.id, task.task.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.task.state, TaskState::Queued);
    assert_eq!(
        view.task.wire_status,
        WireStatus::Processing,
        "never backwards"
    );
    assert_eq!(
        env.store.heartbeat(&lease, LONG, 0.1).await.unwrap(),
        LeaseState::Lost
    );
    let second = env.claim(short).await.expect("re-claim");
    assert_eq!(second.attempt, 2);
    assert_ne!(second.token, lease.token);
    let report = eventually(5, || async {
        let r = env.store.reap(2, LONG, now(), &env.render).await.unwrap();
        (!r.failed.is_empty()).then_some(r)
    })
    .await;
    assert_eq!(report.failed, vec![task.task.id]);
    let view = env
        .store
        .task(account.id, task.task.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.task.wire_status, WireStatus::Failed);
    assert_eq!(view.message(), "Processing was interrupted too many times");
    // processing once, final once
    let events: Vec<i64> = env.events().await.iter().map(|e| e.1).collect();
    assert_eq!(events, vec![10, 50]);
}

#[tokio::test]
async fn attempts_past_the_task_timeout_fail_as_timed_out() {
    let env = env().await;
    let user = env.user("alice").await;
    let account = env.account(&user, "a@example.com", 50).await;
    let asset = env.video_asset(&account).await;
    let task = env.admit(&account, &asset, None).await;
    let lease = env.claim(LONG).await.expect("claim");
    let report = eventually(5, || async {
        let r = env
            .store
            .reap(3, Duration::from_millis(20), now(), &env.render)
            .await
            .unwrap();
        (!r.failed.is_empty()).then_some(r)
    })
    .await;
    assert_eq!(report.failed, vec![task.task.id]);
    let view = env
        .store
        .task(account.id, task.task.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.message(), "Processing timed out");
    assert_eq!(
        env.store.heartbeat(&lease, LONG, 0.9).await.unwrap(),
        LeaseState::Lost
    );
}

#[tokio::test]
async fn stale_token_writes_nothing() {
    let env = env().await;
    let user = env.user("alice").await;
    let account = env.account(&user, "a@example.com", 50).await;
    let asset = env.video_asset(&account).await;
    let task = env.admit(&account, &asset, None).await;
    let zombie = env.claim(Duration::from_millis(20)).await.expect("claim");
    eventually(5, || async {
        let r = env.store.reap(3, LONG, now(), &env.render).await.unwrap();
        (!r.requeued.is_empty()).then_some(())
    })
    .await;
    let live = env.claim(LONG).await.expect("re-claim");
    // The zombie's writes are refused.
    assert_eq!(
        env.store.heartbeat(&zombie, LONG, 0.9).await.unwrap(),
        LeaseState::Lost
    );
    let out = env
        .store
        .finish(
            &zombie,
            &Outcome::Succeeded(env.work(task.task.id)),
            now(),
            &env.render,
        )
        .await
        .unwrap();
    assert_eq!(out, Finished::Lost);
    assert!(!env.store.release(&zombie).await.unwrap());
    let view = env
        .store
        .task(account.id, task.task.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.task.state, TaskState::Running);
    assert!(view.work.is_none());
    assert!(
        env.store
            .list_user_motions(account.id, 1, 40)
            .await
            .unwrap()
            .is_empty()
    );
    // The live attempt publishes.
    let work = env.work(task.task.id);
    let Finished::Published(done) = env
        .store
        .finish(&live, &Outcome::Succeeded(work.clone()), now(), &env.render)
        .await
        .unwrap()
    else {
        panic!("live lease must publish")
    };
    assert_eq!(done.task.wire_status, WireStatus::Succeed);
    assert_eq!(done.message(), "success");
    let published = done.work.expect("work");
    assert_eq!(published.id, work.id);
    assert_eq!(published.bvh_zip.fid, work.files.bvh_zip.fid);
    // A second finish (duplicate delivery) changes nothing.
    assert_eq!(
        env.store
            .finish(
                &live,
                &Outcome::Failed(FailureReason::Internal),
                now(),
                &env.render
            )
            .await
            .unwrap(),
        Finished::Lost
    );
    let mine = env
        .store
        .list_user_motions(account.id, 1, 40)
        .await
        .unwrap();
    assert_eq!(mine.iter().map(|w| w.id).collect::<Vec<_>>(), vec![work.id]);
    assert_eq!(mine[0].task_id, task.task.id);
}

#[tokio::test]
async fn release_returns_the_task_without_counting_the_attempt() {
    let env = env().await;
    let user = env.user("alice").await;
    let account = env.account(&user, "a@example.com", 50).await;
    let asset = env.video_asset(&account).await;
    env.admit(&account, &asset, None).await;
    let lease = env.claim(LONG).await.expect("claim");
    assert!(env.store.release(&lease).await.unwrap());
    let again = env.claim(LONG).await.expect("claim again");
    assert_eq!(again.attempt, 1);
    assert_eq!(again.task.wire_status, WireStatus::Processing);
}

#[tokio::test]
async fn rows_of_another_boot_are_expired_at_start() {
    let env = env().await;
    let user = env.user("alice").await;
    let account = env.account(&user, "a@example.com", 50).await;
    let asset = env.video_asset(&account).await;
    let task = env.admit(&account, &asset, None).await;
    env.claim(LONG).await.expect("claim"); // boot-a
    assert!(
        env.store
            .expire_other_boots("boot-a")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        env.store.expire_other_boots("boot-b").await.unwrap(),
        vec![task.task.id]
    );
    let report = env.store.reap(3, LONG, now(), &env.render).await.unwrap();
    assert_eq!(report.requeued, vec![task.task.id]);
}

#[tokio::test]
async fn cancel_while_running_fences_the_worker() {
    let env = env().await;
    let user = env.user("alice").await;
    let other = env.user("mallory").await;
    let account = env.account(&user, "a@example.com", 1).await;
    let asset = env.video_asset(&account).await;
    let task = env
        .admit(&account, &asset, Some("https://hooks.example.com/x"))
        .await;
    let lease = env.claim(LONG).await.expect("claim");
    assert_eq!(
        env.store.lease_state(&lease).await.unwrap(),
        LeaseState::Held
    );
    assert!(
        env.store
            .cancel(other.id, task.task.id, now(), &env.render)
            .await
            .unwrap()
            .is_none(),
        "foreign user"
    );
    let (view, was_running) = env
        .store
        .cancel(user.id, task.task.id, now(), &env.render)
        .await
        .unwrap()
        .expect("cancel");
    assert!(was_running);
    assert_eq!(view.task.wire_status, WireStatus::Failed);
    assert_eq!(view.message(), "Task was canceled");
    assert_eq!(view.unfinished, 0, "the slot is free");
    assert_eq!(
        env.store.lease_state(&lease).await.unwrap(),
        LeaseState::Lost,
        "seen between heartbeats"
    );
    assert_eq!(
        env.store.heartbeat(&lease, LONG, 0.5).await.unwrap(),
        LeaseState::Lost
    );
    let out = env
        .store
        .finish(
            &lease,
            &Outcome::Succeeded(env.work(task.task.id)),
            now(),
            &env.render,
        )
        .await
        .unwrap();
    assert_eq!(out, Finished::Lost);
    assert!(
        env.store
            .cancel(user.id, task.task.id, now(), &env.render)
            .await
            .unwrap()
            .is_none(),
        "already final"
    );
    // Cancelling a queued task: 5 → 50 directly.
    let queued = env.admit(&account, &asset, None).await;
    let (v, was_running) = env
        .store
        .cancel(user.id, queued.task.id, now(), &env.render)
        .await
        .unwrap()
        .unwrap();
    assert!(!was_running);
    assert_eq!(v.task.wire_status, WireStatus::Failed);
    assert!(
        env.claim(LONG).await.is_none(),
        "a cancelled task never starts"
    );
    let events: Vec<(i64, String)> = env
        .events()
        .await
        .iter()
        .map(|e| (e.1, e.2.clone()))
        .collect();
    assert_eq!(
        events,
        vec![(10, "abandoned".to_owned()), (50, "pending".to_owned())]
    );
}

#[tokio::test]
async fn delete_of_a_running_task_removes_everything_and_fences() {
    let env = env().await;
    let user = env.user("alice").await;
    let account = env.account(&user, "a@example.com", 50).await;
    let asset = env.video_asset(&account).await;
    let running = env
        .admit(&account, &asset, Some("https://hooks.example.com/x"))
        .await;
    let lease = env.claim(LONG).await.expect("claim");
    let del = env
        .store
        .delete_task(account.id, running.task.id)
        .await
        .unwrap()
        .expect("deleted");
    assert!(del.was_running);
    assert!(del.work_ids.is_empty());
    assert!(
        env.store
            .task(account.id, running.task.id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        env.store.lease_state(&lease).await.unwrap(),
        LeaseState::Lost,
        "seen between heartbeats"
    );
    assert_eq!(
        env.store.heartbeat(&lease, LONG, 0.5).await.unwrap(),
        LeaseState::Lost
    );
    assert_eq!(
        env.store
            .finish(
                &lease,
                &Outcome::Succeeded(env.work(running.task.id)),
                now(),
                &env.render
            )
            .await
            .unwrap(),
        Finished::Lost
    );
    assert!(env.events().await.is_empty(), "pending callbacks dropped");
    // A succeeded task: its work and files go, blobs to the trash.
    let done = env.admit(&account, &asset, None).await;
    let lease = env.claim(LONG).await.expect("claim");
    let work = env.work(done.task.id);
    env.store
        .finish(
            &lease,
            &Outcome::Succeeded(work.clone()),
            now(),
            &env.render,
        )
        .await
        .unwrap();
    assert!(
        env.store
            .file_by_fid(&work.files.bvh_zip.fid)
            .await
            .unwrap()
            .is_some()
    );
    let del = env
        .store
        .delete_task(account.id, done.task.id)
        .await
        .unwrap()
        .expect("deleted");
    assert_eq!(del.work_ids, vec![work.id]);
    assert!(
        env.store
            .file_by_fid(&work.files.bvh_zip.fid)
            .await
            .unwrap()
            .is_none()
    );
    let mut want: Vec<String> = work
        .files
        .all()
        .iter()
        .map(|f| f.blob_key.clone())
        .collect();
    want.sort();
    assert_eq!(env.trash_keys().await, want);
    assert!(
        env.store
            .delete_task(account.id, done.task.id)
            .await
            .unwrap()
            .is_none(),
        "already deleted"
    );
}

#[tokio::test]
async fn outbox_once_per_status_change() {
    let env = env().await;
    let user = env.user("alice").await;
    let account = env.account(&user, "a@example.com", 50).await;
    let asset = env.video_asset(&account).await;
    let silent = env.admit(&account, &asset, None).await;
    let task = env
        .admit(&account, &asset, Some("https://hooks.example.com/x"))
        .await;
    let l1 = env.claim(LONG).await.unwrap();
    assert_eq!(l1.task_id, silent.task.id);
    env.store
        .finish(
            &l1,
            &Outcome::Failed(FailureReason::NoPerson),
            now(),
            &env.render,
        )
        .await
        .unwrap();
    assert!(env.events().await.is_empty(), "no callback URL, no events");
    let l2 = env.claim(LONG).await.unwrap();
    assert!(env.store.release(&l2).await.unwrap());
    let l3 = env.claim(LONG).await.unwrap(); // second claim: no second processing event
    let id = task.task.id;
    assert_eq!(
        env.events().await,
        vec![(id, 10, "pending".into(), format!("msg_{id}_10"))]
    );
    // The deliverer has the processing event in hand when the task finishes.
    let claimed = env
        .store
        .claim_due("d1", LONG, 10, 10, now())
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].status, 10);
    let body: serde_json::Value = serde_json::from_slice(&claimed[0].body).unwrap();
    assert_eq!(body["status"], 10);
    assert_eq!(body["replyRef"], "ref-1");
    assert!(env.store.mark_done(&claimed[0], true, now()).await.unwrap());
    env.store
        .finish(
            &l3,
            &Outcome::Failed(FailureReason::Duration { tenths: 12 }),
            now(),
            &env.render,
        )
        .await
        .unwrap();
    let events = env.events().await;
    assert_eq!(
        events,
        vec![
            (id, 10, "delivered".into(), format!("msg_{id}_10")),
            (id, 50, "pending".into(), format!("msg_{id}_50"))
        ]
    );
    let finals = env
        .store
        .claim_due("d1", LONG, 10, 10, now())
        .await
        .unwrap();
    assert_eq!(finals.len(), 1);
    let body: serde_json::Value = serde_json::from_slice(&finals[0].body).unwrap();
    assert_eq!(
        body["message"],
        "Video must be between 2 and 10 seconds long (got 1.2 s)"
    );
    assert_eq!(body["status_final"], true);
    // A leased event is not handed out twice.
    assert!(
        env.store
            .claim_due("d2", LONG, 10, 10, now())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(env.store.pending_count().await.unwrap(), 1);
}

#[tokio::test]
async fn outbox_retry_and_token_guard() {
    let env = env().await;
    let user = env.user("alice").await;
    let account = env.account(&user, "a@example.com", 50).await;
    let asset = env.video_asset(&account).await;
    env.admit(&account, &asset, Some("https://hooks.example.com/x"))
        .await;
    env.claim(LONG).await.unwrap();
    let first = env
        .store
        .claim_due("d1", Duration::from_millis(20), 10, 10, now())
        .await
        .unwrap()
        .remove(0);
    assert_eq!(first.attempts, 0);
    assert!(first.first_attempt_at.is_some());
    // The lease runs out; another deliverer takes it over with a new token.
    let second = eventually(5, || async {
        let mut v = env
            .store
            .claim_due("d2", LONG, 10, 10, now())
            .await
            .unwrap();
        (!v.is_empty()).then(|| v.remove(0))
    })
    .await;
    assert_ne!(second.claim_token, first.claim_token);
    assert!(
        !env.store.mark_done(&first, true, now()).await.unwrap(),
        "stale claim is refused"
    );
    let later = now() + 3_600_000;
    assert!(
        env.store
            .mark_retry(&second, later, "HTTP 500", now())
            .await
            .unwrap()
    );
    assert!(
        env.store
            .claim_due("d1", LONG, 10, 10, now())
            .await
            .unwrap()
            .is_empty(),
        "not due yet"
    );
    let third = env
        .store
        .claim_due("d1", LONG, 10, 10, later)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(third.attempts, 1);
    assert_eq!(third.first_attempt_at, first.first_attempt_at);
    assert!(env.store.mark_done(&third, false, later).await.unwrap());
    assert_eq!(env.store.pending_count().await.unwrap(), 0);
}

#[tokio::test]
async fn retention_deletes_only_old_final_tasks() {
    let env = env().await;
    let user = env.user("alice").await;
    let account = env.account(&user, "a@example.com", 50).await;
    let asset = env.video_asset(&account).await;
    let done = env
        .admit(&account, &asset, Some("https://hooks.example.com/x"))
        .await;
    let lease = env.claim(LONG).await.unwrap();
    let work = env.work(done.task.id);
    env.store
        .finish(
            &lease,
            &Outcome::Succeeded(work.clone()),
            now(),
            &env.render,
        )
        .await
        .unwrap();
    let open = env.admit(&account, &asset, None).await;
    assert!(
        env.store
            .delete_final_before(now() - 60_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "too recent"
    );
    let gone = env
        .store
        .delete_final_before(now() + 60_000, 10)
        .await
        .unwrap();
    assert_eq!(gone, vec![done.task.id], "unfinished tasks are kept");
    assert!(
        env.store
            .task(account.id, done.task.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        env.store
            .task(account.id, open.task.id)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        env.store
            .file_by_fid(&work.files.preview.fid)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(env.trash_keys().await.len(), 4);
    assert_eq!(env.store.pending_count().await.unwrap(), 0);
}

/// Two stores on one database file stand for the janitors of two worker processes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retention_in_batches_from_two_processes_deletes_each_final_task_once() {
    let env = env().await;
    let user = env.user("alice").await;
    let account = env.account(&user, "a@example.com", 50).await;
    let asset = env.video_asset(&account).await;
    let hook = Some("https://hooks.example.com/x");
    let mut finals = HashSet::new();
    // Cancelled tasks (status 50 "Task was canceled", with a final event) ...
    for _ in 0..7 {
        let t = env.admit(&account, &asset, hook).await.task.id;
        env.store
            .cancel(user.id, t, now(), &env.render)
            .await
            .unwrap()
            .expect("cancelled");
        finals.insert(t);
    }
    // ... a succeeded one whose events were delivered (history that retention forgets) ...
    let done = env.admit(&account, &asset, hook).await.task.id;
    let lease = env.claim(LONG).await.unwrap();
    assert_eq!(lease.task_id, done);
    let published = env
        .store
        .finish(
            &lease,
            &Outcome::Succeeded(env.work(done)),
            now(),
            &env.render,
        )
        .await
        .unwrap();
    assert!(matches!(published, Finished::Published(_)));
    for e in env.store.claim_due("d", LONG, 10, 10, now()).await.unwrap() {
        assert!(env.store.mark_done(&e, true, now()).await.unwrap());
    }
    finals.insert(done);
    // ... and unfinished tasks, queued and running, which retention never touches.
    let running = env.admit(&account, &asset, None).await.task.id;
    let queued = env.admit(&account, &asset, None).await.task.id;
    assert_eq!(env.claim(LONG).await.unwrap().task_id, running);

    let path = env._dir.path().join("motiond.sqlite");
    let other = Arc::new(
        motion_storage::SqliteStore::open(&path, &motion_storage::SqliteOptions::default())
            .await
            .unwrap(),
    );
    let this = Arc::new(
        motion_storage::SqliteStore::open(&path, &motion_storage::SqliteOptions::default())
            .await
            .unwrap(),
    );
    let cutoff = now() + 60_000;
    let mut handles = Vec::new();
    for store in [this, other] {
        handles.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = store.delete_final_before(cutoff, 2).await.unwrap();
                assert!(batch.len() <= 2, "a batch is bounded by its limit");
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(batch);
            }
        }));
    }
    let mut deleted = HashSet::new();
    for h in handles {
        for id in h.await.unwrap() {
            assert!(deleted.insert(id), "task {id} deleted twice");
        }
    }
    assert_eq!(deleted, finals);
    // Idempotent: a later pass finds nothing.
    assert!(
        env.store
            .delete_final_before(cutoff, 100)
            .await
            .unwrap()
            .is_empty()
    );
    for id in &finals {
        assert!(env.store.task(account.id, *id).await.unwrap().is_none());
    }
    for id in [queued, running] {
        assert!(env.store.task(account.id, id).await.unwrap().is_some());
    }
    let events = env.events().await;
    assert!(
        events.iter().all(|(task, ..)| !finals.contains(task)),
        "no callback row of a deleted task is left: {events:?}"
    );
    // The motion's four result blobs wait in the trash; the source asset is kept.
    let all_assets = AssetQuery {
        page_num: 1,
        page_size: 100,
        kind: None,
        name_contains: None,
        ascending: false,
    };
    assert_eq!(env.trash_keys().await.len(), 4);
    assert_eq!(
        env.store
            .list_assets(account.id, &all_assets)
            .await
            .unwrap()
            .len(),
        1
    );
}

/// One user's callbacks never take more than `per_user` delivery slots, counting the ones
/// other deliverers hold: a user whose receivers hang cannot hold up everybody else's.
#[tokio::test]
async fn claiming_callbacks_leaves_slots_to_other_users() {
    let env = env().await;
    let hook = Some("https://hooks.example.com/x");
    let alice = env.user("alice").await;
    let alice_account = env.account(&alice, "a@example.com", 50).await;
    let alice_video = env.video_asset(&alice_account).await;
    for _ in 0..3 {
        env.admit(&alice_account, &alice_video, hook).await;
    }
    let bob = env.user("bob").await;
    let bob_account = env.account(&bob, "b@example.com", 50).await;
    let bob_video = env.video_asset(&bob_account).await;
    env.admit(&bob_account, &bob_video, hook).await;
    // Each task that starts running has its processing event due.
    for _ in 0..4 {
        env.claim(LONG).await.unwrap();
    }
    let of = |events: &[WebhookEvent], user: &User| {
        events
            .iter()
            .filter(|e| e.user_id == user.id)
            .cloned()
            .collect::<Vec<_>>()
    };
    let first = env.store.claim_due("d1", LONG, 10, 2, now()).await.unwrap();
    assert_eq!(of(&first, &alice).len(), 2, "alice: two of her three");
    assert_eq!(of(&first, &bob).len(), 1, "bob is not kept waiting");
    // Another deliverer finds alice at her limit while her two are in flight.
    let second = env.store.claim_due("d2", LONG, 10, 2, now()).await.unwrap();
    assert!(second.is_empty(), "{second:?}");
    // One of hers ends: her third gets the slot.
    let done = &of(&first, &alice)[0];
    assert!(env.store.mark_done(done, true, now()).await.unwrap());
    let third = env.store.claim_due("d2", LONG, 10, 2, now()).await.unwrap();
    assert_eq!(of(&third, &alice).len(), 1, "{third:?}");
    assert_eq!(third.len(), 1);
}
