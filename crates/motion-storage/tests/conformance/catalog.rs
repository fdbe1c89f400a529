//! Official motions: stable negative ids, listing order, replacement.

use motion_core::domain::*;
use motion_core::ids::official_work_id;
use motion_core::ports::*;

use crate::common::*;

fn input(env: &Env, key: &str, version: &str) -> OfficialMotionInput {
    let k = |n: &str| motion_core::blob_keys::official(key, version, n);
    OfficialMotionInput {
        catalog_key: key.into(),
        name: format!("Motion {key}"),
        tag: "basic".into(),
        files: MotionFiles {
            preview: env.file(
                "motion.mp4",
                "video/mp4",
                FileRole::Preview,
                &k("motion.mp4"),
            ),
            cover: env.file("cover.jpg", "image/jpeg", FileRole::Cover, &k("cover.jpg")),
            bvh_zip: env.file(
                "bvh.zip",
                "application/zip",
                FileRole::BvhZip,
                &k("bvh.zip"),
            ),
            binary_zip: env.file(
                "binary.zip",
                "application/zip",
                FileRole::BinaryZip,
                &k("binary.zip"),
            ),
        },
        build_format: 2,
    }
}

#[tokio::test]
async fn official_motions_upsert_list_remove() {
    let env = env().await;
    let walk = env
        .store
        .upsert_official(&input(&env, "walking", "v1"), OnExisting::Replace, now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(walk.work_id, official_work_id("walking"));
    assert!(walk.work_id < 0);
    env.store
        .upsert_official(&input(&env, "running", "v1"), OnExisting::Keep, now())
        .await
        .unwrap()
        .expect("a free key is written with Keep too");
    let list = env.store.list_official().await.unwrap();
    assert_eq!(list.len(), 2);
    assert!(
        list[0].work_id.abs() < list[1].work_id.abs(),
        "ascending abs(workId)"
    );
    // Files are servable by fid, but are not any account's asset files.
    assert_eq!(
        env.store
            .file_by_fid(&walk.bvh_zip.fid)
            .await
            .unwrap()
            .unwrap()
            .owner_kind,
        FileOwnerKind::Official
    );
    let alice = env.user("alice").await;
    let a1 = env.account(&alice, "a@example.com", 5).await;
    for f in [&walk.preview, &walk.cover] {
        assert!(
            env.store
                .account_file(a1.id, &f.fid, &f.name)
                .await
                .unwrap()
                .is_none(),
            "official files are no account's (motion-upload row 14/16)"
        );
    }
    // Keep leaves a taken key alone: nothing written, nothing trashed.
    let kept = env
        .store
        .upsert_official(&input(&env, "walking", "v2"), OnExisting::Keep, now())
        .await
        .unwrap();
    assert_eq!(kept, None);
    assert!(
        env.store
            .file_by_fid(&walk.bvh_zip.fid)
            .await
            .unwrap()
            .is_some(),
        "the kept motion's files stay"
    );
    assert!(env.trash_keys().await.is_empty());
    let listed = env.store.list_official().await.unwrap();
    assert_eq!(
        listed.iter().find(|m| m.catalog_key == "walking"),
        Some(&walk)
    );
    // Re-import replaces the files; the id stays.
    let again = env
        .store
        .upsert_official(&input(&env, "walking", "v2"), OnExisting::Replace, now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.work_id, walk.work_id);
    assert!(
        env.store
            .file_by_fid(&walk.bvh_zip.fid)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(env.trash_keys().await.len(), 4, "v1 files trashed");
    // A rebuild made from v1 does not replace v2, imported meanwhile; one made from v2 does.
    let rebuilt_from = |m: &motion_core::domain::OfficialMotion| OnExisting::ReplaceIfStill {
        bvh_fid: m.bvh_zip.fid.clone(),
    };
    let stale = env
        .store
        .upsert_official(&input(&env, "walking", "r1"), rebuilt_from(&walk), now())
        .await
        .unwrap();
    assert!(stale.is_none());
    let listed = env.store.list_official().await.unwrap();
    assert!(listed.contains(&again), "v2 stays");
    let rebuilt = env
        .store
        .upsert_official(&input(&env, "walking", "r2"), rebuilt_from(&again), now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rebuilt.work_id, walk.work_id);
    assert_eq!(env.store.list_official().await.unwrap().len(), 2);
    assert!(env.store.remove_official("walking", now()).await.unwrap());
    assert!(!env.store.remove_official("walking", now()).await.unwrap());
    assert_eq!(env.store.list_official().await.unwrap().len(), 1);
    // A rebuild of a motion removed meanwhile leaves the key free.
    let gone = env
        .store
        .upsert_official(&input(&env, "walking", "r3"), rebuilt_from(&rebuilt), now())
        .await
        .unwrap();
    assert!(gone.is_none());
    assert_eq!(env.store.list_official().await.unwrap().len(), 1);
    // Removed keys are remembered until the key is imported again.
    assert_eq!(
        env.store.removed_official_keys().await.unwrap(),
        ["walking"]
    );
    env.store
        .upsert_official(&input(&env, "walking", "v3"), OnExisting::Keep, now())
        .await
        .unwrap()
        .unwrap();
    assert!(env.store.removed_official_keys().await.unwrap().is_empty());
}
