//! Shared fixtures of the conformance suite: a migrated SQLite store in a temp dir,
//! users, accounts, assets and tasks built through the ports.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use motion_core::clock::{Clock, SystemClock};
use motion_core::domain::*;
use motion_core::ids::{IdGenerator, new_asset_id, new_fid};
use motion_core::ports::*;
use motion_core::services::render::UrlBuilder;
use motion_storage::{SqliteOptions, SqliteStore};

pub struct Env {
    pub _dir: tempfile::TempDir,
    pub store: SqliteStore,
    pub ids: IdGenerator,
    pub render: UrlBuilder,
}

pub async fn env() -> Env {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(
        &dir.path().join("motiond.sqlite"),
        &SqliteOptions::default(),
    )
    .await
    .expect("open");
    store.migrate().await.expect("migrate");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    Env {
        _dir: dir,
        store,
        ids: IdGenerator::new(clock),
        render: UrlBuilder::new("http://127.0.0.1:8080"),
    }
}

pub fn now() -> i64 {
    SystemClock.now_ms()
}

impl Env {
    pub async fn user(&self, name: &str) -> User {
        self.store.ensure_user(name, now()).await.expect("user")
    }

    pub async fn account(&self, user: &User, email: &str, max_jobs: u32) -> Account {
        let input = AccountInput {
            email: email.into(),
            max_jobs,
            reply_url: None,
        };
        match self
            .store
            .upsert_account(user.id, &input, self.ids.next_id(), 10, now())
            .await
            .expect("account")
        {
            AccountUpsert::Created(a) | AccountUpsert::Updated(a) => a,
            AccountUpsert::LimitReached => panic!("limit"),
        }
    }

    pub fn file(&self, name: &str, ct: &str, role: FileRole, key: &str) -> NewFile {
        NewFile {
            fid: new_fid(),
            blob_key: key.into(),
            name: name.into(),
            content_type: ct.into(),
            size: 10,
            sha256: "00".repeat(32),
            role,
            width: 720,
            height: 1280,
            duration_ms: 0,
        }
    }

    /// A video asset (original + cover rows; blobs are not needed by these tests).
    pub async fn video_asset(&self, account: &Account) -> Asset {
        let id = new_asset_id();
        let name = format!("{}.mp4", &id[..id.len().min(10)]);
        let mut original = self.file(
            &name,
            "video/mp4",
            FileRole::Original,
            &format!("assets/{}/{id}/{name}", account.id),
        );
        original.duration_ms = 5000;
        let cover = self.file(
            "cover.jpg",
            "image/jpeg",
            FileRole::Cover,
            &format!("assets/{}/{id}/cover.jpg", account.id),
        );
        let new = NewAsset {
            id,
            account_id: account.id,
            kind: AssetKind::Video,
            name,
            width: 720,
            height: 1280,
            duration_ms: 5000,
            create_time: now(),
            original,
            cover: Some(cover),
        };
        self.store.insert_asset(&new, now()).await.expect("asset")
    }

    pub fn new_task(&self, account: &Account, asset: &Asset, reply_url: Option<&str>) -> NewTask {
        let cover = asset.cover.clone().expect("video cover");
        NewTask {
            id: self.ids.next_id(),
            account_id: account.id,
            create_time: now(),
            reply_url: reply_url.map(str::to_owned),
            reply_ref: Some("ref-1".into()),
            work_name: "Motion".into(),
            input: TaskInput {
                source_fid: asset.original.fid.clone(),
                source_name: asset.original.name.clone(),
                source_blob_key: asset.original.blob_key.clone(),
                cover_fid: cover.fid.clone(),
                cover_name: cover.name.clone(),
                cover_blob_key: cover.blob_key.clone(),
                cover_content_type: cover.content_type.clone(),
                source_width: 720,
                source_height: 1280,
                source_duration_ms: asset.duration_ms,
            },
        }
    }

    pub async fn admit(
        &self,
        account: &Account,
        asset: &Asset,
        reply_url: Option<&str>,
    ) -> TaskView {
        match self
            .store
            .admit(&self.new_task(account, asset, reply_url), 50)
            .await
            .expect("admit")
        {
            Admission::Admitted(v) => v,
            other => panic!("{other:?}"),
        }
    }

    pub async fn claim(&self, lease: Duration) -> Option<Lease> {
        let worker = WorkerId {
            boot_id: "boot-a".into(),
            slot: "0".into(),
        };
        self.store
            .claim(&worker, lease, &self.render)
            .await
            .expect("claim")
    }

    pub fn work(&self, task: TaskId) -> NewWork {
        let key = |n: &str| format!("results/{task}/tok/{n}");
        NewWork {
            id: self.ids.next_id(),
            create_time: now(),
            files: MotionFiles {
                preview: self.file(
                    "motion.mp4",
                    "video/mp4",
                    FileRole::Preview,
                    &key("motion.mp4"),
                ),
                cover: self.file(
                    "cover.jpg",
                    "image/jpeg",
                    FileRole::Cover,
                    &key("cover.jpg"),
                ),
                bvh_zip: self.file(
                    "bvh.zip",
                    "application/zip",
                    FileRole::BvhZip,
                    &key("bvh.zip"),
                ),
                binary_zip: self.file(
                    "binary.zip",
                    "application/zip",
                    FileRole::BinaryZip,
                    &key("binary.zip"),
                ),
            },
        }
    }

    pub async fn events(&self) -> Vec<(i64, i64, String, String)> {
        use sqlx::Row;
        sqlx::query("SELECT task_id, status, state, webhook_id FROM webhook_events ORDER BY id")
            .fetch_all(self.store.pool())
            .await
            .expect("events")
            .iter()
            .map(|r| {
                (
                    r.get("task_id"),
                    r.get("status"),
                    r.get("state"),
                    r.get("webhook_id"),
                )
            })
            .collect()
    }

    pub async fn trash_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .store
            .take_trash(1000)
            .await
            .expect("trash")
            .into_iter()
            .map(|t| t.blob_key)
            .collect();
        keys.sort();
        keys
    }
}

/// Polls `f` until it returns Some, failing after `secs` seconds.
pub async fn eventually<T, F, Fut>(secs: u64, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not reached within {secs} s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
