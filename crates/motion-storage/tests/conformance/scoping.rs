//! Every query is scoped by account (or user): foreign rows are invisible and untouchable.

use std::time::Duration;

use motion_core::domain::*;
use motion_core::ids::TokenHash;
use motion_core::ports::*;

use crate::common::*;

#[tokio::test]
async fn every_query_is_scoped_by_account_or_user() {
    let env = env().await;
    let alice = env.user("alice").await;
    let bob = env.user("bob").await;
    let a1 = env.account(&alice, "a@example.com", 50).await;
    let a2 = env.account(&alice, "b@example.com", 50).await; // same user, other account
    let b1 = env.account(&bob, "a@example.com", 50).await; // same email, other user
    assert_ne!(a1.id, b1.id);
    let asset = env.video_asset(&a1).await;
    let task = env.admit(&a1, &asset, None).await;
    let lease = env.claim(Duration::from_secs(60)).await.unwrap();
    let work = env.work(task.task.id);
    env.store
        .finish(
            &lease,
            &Outcome::Succeeded(work.clone()),
            now(),
            &env.render,
        )
        .await
        .unwrap();

    for other in [&a2, &b1] {
        assert!(
            env.store
                .task(other.id, task.task.id)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            env.store
                .list_tasks(other.id, TaskCursor::Latest, 100)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            env.store
                .list_user_motions(other.id, 1, 100)
                .await
                .unwrap()
                .is_empty()
        );
        let q = AssetQuery {
            page_num: 1,
            page_size: 100,
            kind: None,
            name_contains: None,
            ascending: false,
        };
        assert!(
            env.store
                .list_assets(other.id, &q)
                .await
                .unwrap()
                .is_empty()
        );
        let f = &asset.original;
        assert!(
            env.store
                .asset_file(other.id, &f.fid, &f.name)
                .await
                .unwrap()
                .is_none()
        );
        let own = [
            (&asset.original.fid, &asset.original.name),
            (&work.files.preview.fid, &work.files.preview.name),
            (&work.files.cover.fid, &work.files.cover.name),
        ];
        for (fid, name) in own {
            assert!(
                env.store
                    .account_file(other.id, fid, name)
                    .await
                    .unwrap()
                    .is_none()
            );
        }
        assert!(
            env.store
                .delete_task(other.id, task.task.id)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            env.store
                .delete_assets(other.id, std::slice::from_ref(&asset.id))
                .await
                .unwrap()
                .is_empty()
        );
    }
    assert!(
        env.store
            .unfinished_for_user(bob.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(env.store.capacity_for_user(bob.id).await.unwrap().len(), 1);
    assert_eq!(
        env.store.list_accounts(bob.id).await.unwrap(),
        vec![b1.clone()]
    );
    assert!(
        env.store
            .account(bob.id, "b@example.com")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        env.store
            .delete_account(bob.id, "b@example.com")
            .await
            .unwrap()
            .is_none()
    );
    // The owner still sees everything.
    assert!(env.store.task(a1.id, task.task.id).await.unwrap().is_some());
    assert_eq!(
        env.store
            .list_user_motions(a1.id, 1, 100)
            .await
            .unwrap()
            .len(),
        1
    );
    let found = env
        .store
        .asset_file(a1.id, &asset.original.fid, &asset.original.name)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.asset_kind, AssetKind::Video);
    assert_eq!(found.asset_duration_ms, 5000);
    // Name must match exactly.
    assert!(
        env.store
            .asset_file(a1.id, &asset.original.fid, "other.mp4")
            .await
            .unwrap()
            .is_none()
    );
    // Result files are not asset files …
    assert!(
        env.store
            .asset_file(a1.id, &work.files.preview.fid, "motion.mp4")
            .await
            .unwrap()
            .is_none()
    );
    // … but they are the account's files (motion-upload rows 15/17, not 14/16).
    for (fid, name, role) in [
        (
            &asset.original.fid,
            &asset.original.name,
            asset.original.role,
        ),
        (
            &work.files.preview.fid,
            &work.files.preview.name,
            work.files.preview.role,
        ),
        (
            &work.files.cover.fid,
            &work.files.cover.name,
            work.files.cover.role,
        ),
    ] {
        let found = env
            .store
            .account_file(a1.id, fid, name)
            .await
            .unwrap()
            .expect("own file");
        assert_eq!((&found.fid, found.role), (fid, role));
    }
    assert!(
        env.store
            .account_file(a1.id, &work.files.preview.fid, "other.mp4")
            .await
            .unwrap()
            .is_none(),
        "name must match exactly"
    );
}

#[tokio::test]
async fn tokens_users_and_accounts() {
    let env = env().await;
    let alice = env.user("alice").await;
    assert_eq!(env.user("alice").await, alice, "ensure_user is idempotent");
    let hash = TokenHash::of_token("mtd_secret");
    env.store.add_token(alice.id, &hash, now()).await.unwrap();
    assert_eq!(
        env.store.user_by_token(&hash).await.unwrap(),
        Some(alice.clone())
    );
    assert!(
        env.store
            .user_by_token(&TokenHash::of_token("other"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(env.store.revoke_token(&hash).await.unwrap());
    assert!(!env.store.revoke_token(&hash).await.unwrap());
    assert!(env.store.user_by_token(&hash).await.unwrap().is_none());
    // The first of two first secrets is the one both get; a rotation replaces it.
    let first = |sealed: &'static [u8]| env.store.first_webhook_secret(alice.id, sealed);
    assert_eq!(first(b"one").await.unwrap(), Some(b"one".to_vec()));
    assert_eq!(first(b"two").await.unwrap(), Some(b"one".to_vec()));
    env.store
        .set_webhook_secret(alice.id, b"sealed")
        .await
        .unwrap();
    assert_eq!(
        env.store.webhook_secret(alice.id).await.unwrap(),
        Some(b"sealed".to_vec())
    );
    assert_eq!(
        env.store.first_webhook_secret(999_999, b"x").await.unwrap(),
        None,
        "no such user"
    );

    // create, replace, limit
    let input = AccountInput {
        email: "a@example.com".into(),
        max_jobs: 2,
        reply_url: Some("https://h.example.com/".into()),
    };
    let AccountUpsert::Created(a) = env
        .store
        .upsert_account(alice.id, &input, 111, 2, now())
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!((a.id, a.max_jobs), (111, 2));
    let replace = AccountInput {
        max_jobs: 7,
        reply_url: None,
        ..input.clone()
    };
    let AccountUpsert::Updated(a) = env
        .store
        .upsert_account(alice.id, &replace, 222, 2, now())
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!((a.id, a.max_jobs, a.reply_url), (111, 7, None));
    let b = AccountInput {
        email: "b@example.com".into(),
        max_jobs: 1,
        reply_url: None,
    };
    assert!(matches!(
        env.store
            .upsert_account(alice.id, &b, 333, 2, now())
            .await
            .unwrap(),
        AccountUpsert::Created(_)
    ));
    let c = AccountInput {
        email: "c@example.com".into(),
        max_jobs: 1,
        reply_url: None,
    };
    assert_eq!(
        env.store
            .upsert_account(alice.id, &c, 444, 2, now())
            .await
            .unwrap(),
        AccountUpsert::LimitReached
    );
    let emails: Vec<String> = env
        .store
        .list_accounts(alice.id)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.email)
        .collect();
    assert_eq!(emails, vec!["a@example.com", "b@example.com"]);
}

#[tokio::test]
async fn deleting_an_account_removes_all_it_owns() {
    let env = env().await;
    let alice = env.user("alice").await;
    let a1 = env.account(&alice, "a@example.com", 50).await;
    let a2 = env.account(&alice, "b@example.com", 50).await;
    let asset = env.video_asset(&a1).await;
    let keep = env.video_asset(&a2).await;
    let done = env
        .admit(&a1, &asset, Some("https://hooks.example.com/x"))
        .await;
    let lease = env.claim(Duration::from_secs(60)).await.unwrap();
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
    let running = env.admit(&a1, &asset, None).await;
    let lease = env.claim(Duration::from_secs(60)).await.unwrap();
    assert_eq!(lease.task_id, running.task.id);

    let del = env
        .store
        .delete_account(alice.id, "a@example.com")
        .await
        .unwrap()
        .expect("deleted");
    assert_eq!(del.running_tasks, vec![running.task.id]);
    assert!(
        env.store
            .account(alice.id, "a@example.com")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        env.store
            .file_by_fid(&asset.original.fid)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        env.store
            .file_by_fid(&work.files.preview.fid)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        env.store
            .heartbeat(&lease, Duration::from_secs(60), 0.5)
            .await
            .unwrap(),
        LeaseState::Lost
    );
    assert_eq!(
        env.store.pending_count().await.unwrap(),
        0,
        "pending callbacks dropped"
    );
    let trash = env.trash_keys().await;
    assert_eq!(
        trash.len(),
        6,
        "asset, cover and four result files: {trash:?}"
    );
    // The other account is untouched.
    assert!(
        env.store
            .file_by_fid(&keep.original.fid)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn deleted_assets_stay_pinned_until_their_tasks_end() {
    let env = env().await;
    let alice = env.user("alice").await;
    let a1 = env.account(&alice, "a@example.com", 50).await;
    let asset = env.video_asset(&a1).await;
    let spare = env.video_asset(&a1).await;
    let task = env.admit(&a1, &asset, None).await;
    let ids = vec![spare.id.clone(), "12345".to_owned(), asset.id.clone()];
    assert_eq!(
        env.store.delete_assets(a1.id, &ids).await.unwrap(),
        vec![spare.id.clone(), asset.id.clone()]
    );
    // Both are gone for URLs and lists at once …
    assert!(
        env.store
            .file_by_fid(&asset.original.fid)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        env.store
            .asset_file(a1.id, &asset.original.fid, &asset.original.name)
            .await
            .unwrap()
            .is_none()
    );
    for f in [&asset.original, &spare.original] {
        assert!(
            env.store
                .account_file(a1.id, &f.fid, &f.name)
                .await
                .unwrap()
                .is_none(),
            "deleted (pinned or not) is not found"
        );
    }
    // … but only the unpinned asset's blobs are trashed now.
    let mut spare_keys = vec![
        spare.original.blob_key.clone(),
        spare.cover.clone().unwrap().blob_key,
    ];
    spare_keys.sort();
    assert_eq!(env.trash_keys().await, spare_keys);
    let ids: Vec<i64> = env
        .store
        .take_trash(100)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    env.store.confirm_trash(&ids).await.unwrap();
    assert!(env.trash_keys().await.is_empty());
    // The task still sees its inputs and finishes; then the pinned blobs go.
    let lease = env.claim(Duration::from_secs(60)).await.unwrap();
    assert_eq!(lease.task.input.source_blob_key, asset.original.blob_key);
    env.store
        .finish(
            &lease,
            &Outcome::Failed(motion_core::reason::FailureReason::NoPerson),
            now(),
            &env.render,
        )
        .await
        .unwrap();
    let mut pinned = vec![
        asset.original.blob_key.clone(),
        asset.cover.clone().unwrap().blob_key,
    ];
    pinned.sort();
    assert_eq!(env.trash_keys().await, pinned);
    let view = env.store.task(a1.id, task.task.id).await.unwrap().unwrap();
    assert_eq!(
        view.task.input.source_fid, asset.original.fid,
        "the envelope keeps the URL it had"
    );
}

#[tokio::test]
async fn asset_lists_page_filter_and_sort() {
    let env = env().await;
    let alice = env.user("alice").await;
    let a1 = env.account(&alice, "a@example.com", 50).await;
    let mut made = Vec::new();
    for _ in 0..3 {
        made.push(env.video_asset(&a1).await);
    }
    let q = |page_num, page_size, ascending| AssetQuery {
        page_num,
        page_size,
        kind: None,
        name_contains: None,
        ascending,
    };
    let all = env.store.list_assets(a1.id, &q(1, 10, true)).await.unwrap();
    assert_eq!(all.len(), 3);
    assert!(
        all.windows(2)
            .all(|w| (w[0].create_time, w[0].id.parse::<i64>().unwrap())
                <= (w[1].create_time, w[1].id.parse::<i64>().unwrap()))
    );
    let desc = env
        .store
        .list_assets(a1.id, &q(1, 10, false))
        .await
        .unwrap();
    assert_eq!(
        desc.iter().rev().map(|a| &a.id).collect::<Vec<_>>(),
        all.iter().map(|a| &a.id).collect::<Vec<_>>()
    );
    assert_eq!(
        env.store
            .list_assets(a1.id, &q(2, 2, true))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        env.store
            .list_assets(a1.id, &q(3, 2, true))
            .await
            .unwrap()
            .is_empty()
    );
    let images = AssetQuery {
        kind: Some(AssetKind::Image),
        ..q(1, 10, true)
    };
    assert!(
        env.store
            .list_assets(a1.id, &images)
            .await
            .unwrap()
            .is_empty()
    );
    let needle = made[1].name[..6].to_uppercase();
    let by_name = AssetQuery {
        name_contains: Some(needle),
        ..q(1, 10, true)
    };
    let found = env.store.list_assets(a1.id, &by_name).await.unwrap();
    assert_eq!(
        found.iter().map(|a| a.id.clone()).collect::<Vec<_>>(),
        vec![made[1].id.clone()]
    );
    assert_eq!(found[0].cover.as_ref().unwrap().name, "cover.jpg");
}

#[tokio::test]
async fn every_migration_is_applied() {
    use sqlx::Row;
    let env = env().await;
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM _sqlx_migrations WHERE success = 1")
        .fetch_one(env.store.pool())
        .await
        .unwrap()
        .get("n");
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .unwrap()
        .count();
    assert_eq!(n as usize, files);
    // Migrating twice is a no-op.
    env.store.migrate().await.unwrap();
}
