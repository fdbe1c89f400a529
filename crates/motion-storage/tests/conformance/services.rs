//! The core's use-case services on the real SQLite store and blob folder. Media inspection
//! is the one scripted double: it answers what a probe of the given bytes would.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use motion_core::clock::{Clock, SystemClock};
use motion_core::domain::*;
use motion_core::error::{ErrorCode, ServiceError};
use motion_core::ids::IdGenerator;
use motion_core::ports::*;
use motion_core::services::accounts::AccountService;
use motion_core::services::assets::{AssetService, UploadLimits};
use motion_core::services::files::FileService;
use motion_core::services::jobs::{JobService, QueueSettings};
use motion_core::services::motion_upload::{MotionUploadRequest, MotionUploadService};
use motion_core::services::render::UrlBuilder;
use motion_core::services::tasks::TaskService;
use motion_storage::{FsBlobStore, SqliteOptions, SqliteStore};
use tokio::io::AsyncReadExt;

/// Answers probes with a fixed result; records wake-ups and cancellations.
struct Scripted {
    info: Mutex<Result<MediaInfo, String>>,
    woken: Mutex<u32>,
    cancelled: Mutex<Vec<TaskId>>,
}

#[async_trait]
impl MediaInspector for Scripted {
    async fn inspect(
        &self,
        path: &Path,
        _declared: DeclaredType,
    ) -> Result<MediaInfo, InspectError> {
        assert!(path.exists(), "the body is spooled before inspection");
        self.info
            .lock()
            .unwrap()
            .clone()
            .map_err(InspectError::Invalid)
    }
    async fn make_cover(&self, _video: &Path, at_s: f64, out: &Path) -> Result<(), InspectError> {
        assert!(at_s <= 1.0);
        std::fs::write(out, b"\xFF\xD8\xFFcover").map_err(|e| InspectError::Tool(e.to_string()))
    }
}

impl WorkerSignals for Scripted {
    fn wake(&self) {
        *self.woken.lock().unwrap() += 1;
    }
    fn cancel_running(&self, task: TaskId) {
        self.cancelled.lock().unwrap().push(task);
    }
}

struct App {
    dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    blobs: Arc<FsBlobStore>,
    script: Arc<Scripted>,
    accounts: AccountService,
    assets: AssetService,
    upload: MotionUploadService,
    tasks: TaskService,
    jobs: JobService,
    files: FileService,
    urls: UrlBuilder,
    user: User,
}

fn video_info(duration_s: f64) -> MediaInfo {
    MediaInfo::Video {
        width: 720,
        height: 1280,
        duration_s,
        fps: 30.0,
        frames: Some(150),
        codec: "h264".into(),
        streams: 1,
    }
}

const MP4_HEAD: &[u8] = b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41";
/// A PNG header of a 400x300 image.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x01\x90\0\0\x01\x2c";

async fn app() -> App {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteStore::open(&dir.path().join("db.sqlite"), &SqliteOptions::default())
            .await
            .unwrap(),
    );
    store.migrate().await.unwrap();
    let blobs = Arc::new(FsBlobStore::open(&dir.path().join("blobs")).await.unwrap());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let ids = IdGenerator::new(clock.clone());
    let script = Arc::new(Scripted {
        info: Mutex::new(Ok(video_info(5.0))),
        woken: Mutex::new(0),
        cancelled: Mutex::new(vec![]),
    });
    let urls = UrlBuilder::new("http://127.0.0.1:8080/");
    let render: Arc<dyn EventRenderer> = Arc::new(urls.clone());
    let limits = UploadLimits {
        image_bytes: 1000,
        video_bytes: 100_000,
    };
    let user = store.ensure_user("alice", clock.now_ms()).await.unwrap();
    App {
        accounts: AccountService::new(
            store.clone(),
            store.clone(),
            blobs.clone(),
            script.clone(),
            clock.clone(),
            ids.clone(),
            2,
        ),
        assets: AssetService::new(
            store.clone(),
            store.clone(),
            blobs.clone(),
            script.clone(),
            clock.clone(),
            dir.path().join("tmp"),
            limits,
        ),
        upload: MotionUploadService::new(
            store.clone(),
            store.clone(),
            script.clone(),
            clock.clone(),
            ids.clone(),
            10,
        ),
        tasks: TaskService::new(
            store.clone(),
            store.clone(),
            blobs.clone(),
            script.clone(),
            render.clone(),
            clock.clone(),
        ),
        jobs: JobService::new(
            store.clone(),
            blobs.clone(),
            render,
            clock,
            ids,
            QueueSettings::default(),
        ),
        files: FileService::new(store.clone(), blobs.clone()),
        dir,
        store,
        blobs,
        script,
        urls,
        user,
    }
}

fn code<T: std::fmt::Debug>(r: Result<T, ServiceError>) -> ErrorCode {
    r.expect_err("an error").code()
}

impl App {
    async fn account(&self, email: &str, max_jobs: u32) -> Account {
        let input = AccountInput {
            email: email.into(),
            max_jobs,
            reply_url: Some("https://hooks.example.com/d".into()),
        };
        self.accounts
            .upsert(self.user.id, input)
            .await
            .unwrap()
            .account
    }

    async fn upload(
        &self,
        account: &Account,
        ct: &str,
        bytes: &[u8],
    ) -> Result<Asset, ServiceError> {
        let mut body = bytes;
        self.assets.upload(account, Some(ct), None, &mut body).await
    }

    async fn video(&self, account: &Account, seconds: f64) -> Asset {
        *self.script.info.lock().unwrap() = Ok(video_info(seconds));
        let mut bytes = MP4_HEAD.to_vec();
        bytes.extend(std::iter::repeat_n(7u8, 5000));
        self.upload(account, "video/mp4", &bytes)
            .await
            .expect("video upload")
    }

    async fn image(&self, account: &Account) -> Asset {
        *self.script.info.lock().unwrap() = Ok(MediaInfo::Image {
            width: 400,
            height: 300,
        });
        self.upload(account, "image/png", PNG)
            .await
            .expect("image upload")
    }

    fn temp_files(&self) -> usize {
        std::fs::read_dir(self.dir.path().join("tmp"))
            .map(|d| d.count())
            .unwrap_or(0)
    }
}

/// A request body whose client closed the connection: every read fails as hyper's does.
struct BrokenOff;

impl tokio::io::AsyncRead for BrokenOff {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        _: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "connection closed before message completed",
        )))
    }
}

/// A client that closes its connection mid-upload broke the body off: the 408 row, as the
/// JSON bodies answer it (`read_limited` in the API), not a 500 of ours. Nothing is kept.
#[tokio::test]
async fn an_upload_broken_off_is_a_body_timeout_not_an_internal_error() {
    let app = app().await;
    let acc = app.account("a@example.com", 2).await;
    let sent = [MP4_HEAD, &[7u8; 20_000]].concat();
    let mut body = (&sent[..]).chain(BrokenOff);
    let r = app
        .assets
        .upload(&acc, Some("video/mp4"), Some(44_100), &mut body)
        .await;
    assert_eq!(code(r), ErrorCode::BodyTimeout);
    assert_eq!(app.temp_files(), 0);
    assert!(
        app.blobs
            .list_keys("assets/", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// `/files` reads after the lookup (§9.1, §2.5): a blob deleted with its rows meanwhile (a
/// `DELETE` racing the read) is "Not found"; a row left without its blob is ours (500); a
/// blob folder out of reach is "unavailable" (503), never either of those.
#[tokio::test]
async fn file_reads_tell_a_racing_delete_from_a_lost_blob_and_an_outage() {
    let app = app().await;
    let acc = app.account("a@example.com", 2).await;
    let lookup = async |asset: &Asset| {
        app.files
            .lookup(&asset.original.fid, &asset.name)
            .await
            .unwrap()
    };
    // The length read, for `code` (a blob's stream has no Debug).
    let open = async |file: &StoredFile| app.files.open(file, None).await.map(|r| r.total_len);

    let raced = app.image(&acc).await;
    let file = lookup(&raced).await;
    let deleted = app
        .assets
        .delete(&acc, std::slice::from_ref(&raced.id))
        .await
        .unwrap();
    assert_eq!(deleted, vec![raced.id.clone()]);
    assert_eq!(code(open(&file).await), ErrorCode::NotFound);

    let lost = app.video(&acc, 3.0).await;
    let file = lookup(&lost).await;
    app.blobs.delete(&file.blob_key).await.unwrap();
    assert_eq!(code(open(&file).await), ErrorCode::Internal);

    let kept = app.video(&acc, 3.0).await;
    let file = lookup(&kept).await;
    let (root, away) = (app.dir.path().join("blobs"), app.dir.path().join("away"));
    std::fs::rename(&root, &away).unwrap();
    assert_eq!(code(open(&file).await), ErrorCode::Unavailable);
    std::fs::rename(&away, &root).unwrap();
    assert_eq!(open(&file).await.unwrap(), file.size);
}

#[tokio::test]
async fn account_selection_follows_section_2_4() {
    let app = app().await;
    assert_eq!(
        code(app.accounts.select(app.user.id, None).await),
        ErrorCode::ConfigurationNotFound
    );
    assert_eq!(
        code(app.accounts.list(app.user.id).await),
        ErrorCode::ConfigurationNotFound
    );
    let a = app.account("A@Example.com", 2).await;
    assert_eq!(a.email, "a@example.com");
    assert_eq!(app.accounts.select(app.user.id, None).await.unwrap(), a);
    assert_eq!(
        app.accounts
            .select(app.user.id, Some("A@EXAMPLE.COM"))
            .await
            .unwrap(),
        a
    );
    app.account("b@example.com", 1).await;
    assert_eq!(
        code(app.accounts.select(app.user.id, None).await),
        ErrorCode::EmailRequiredForSeveralAccounts
    );
    assert_eq!(
        code(app.accounts.select(app.user.id, Some("X@y.z")).await),
        ErrorCode::AccountNotFound {
            email: "x@y.z".into()
        }
    );
    let input = AccountInput {
        email: "c@example.com".into(),
        max_jobs: 1,
        reply_url: None,
    };
    assert_eq!(
        code(app.accounts.upsert(app.user.id, input).await),
        ErrorCode::AccountLimit { max: 2 }
    );
    let again = AccountInput {
        email: "a@example.com".into(),
        max_jobs: 5,
        reply_url: None,
    };
    let up = app.accounts.upsert(app.user.id, again).await.unwrap();
    assert!(!up.created);
    assert_eq!((up.account.id, up.account.max_jobs), (a.id, 5));
    assert_eq!(
        app.accounts
            .delete(app.user.id, "B@example.com")
            .await
            .unwrap(),
        "b@example.com"
    );
    assert_eq!(
        code(app.accounts.get(app.user.id, "b@example.com").await),
        ErrorCode::AccountNotFound {
            email: "b@example.com".into()
        }
    );
}

#[tokio::test]
async fn uploads_are_streamed_checked_and_stored_atomically() {
    let app = app().await;
    let acc = app.account("a@example.com", 2).await;
    // A video: original + cover stored, hashes recorded, bytes served back.
    let video = app.video(&acc, 5.76).await;
    assert!(video.name.ends_with(".mp4") && video.name.len() == 24);
    assert_eq!(
        (video.width, video.height, video.duration_ms),
        (720, 1280, 5760)
    );
    let cover = video.cover.clone().expect("cover");
    assert_eq!((cover.name.as_str(), cover.width), ("cover.jpg", 720));
    let f = app
        .files
        .lookup(&video.original.fid, &video.name)
        .await
        .unwrap();
    let mut read = app.files.open(&f, Some(0..4)).await.unwrap();
    let mut head = Vec::new();
    read.reader.read_to_end(&mut head).await.unwrap();
    assert_eq!(head, &MP4_HEAD[..4]);
    assert_eq!(read.total_len, f.size);
    assert_eq!(f.sha256.len(), 64);
    assert_eq!(
        code(app.files.lookup(&video.original.fid, "other.mp4").await),
        ErrorCode::NotFound
    );
    let (url, cover_url) = app.urls.upload_urls(&video);
    assert_eq!(
        url,
        format!(
            "http://127.0.0.1:8080/files/{}/{}",
            video.original.fid, video.name
        )
    );
    assert!(cover_url.unwrap().ends_with("/cover.jpg"));

    // Rejections in the contract's order, leaving nothing behind.
    let mut body: &[u8] = b"x";
    let too_big = app
        .assets
        .upload(&acc, Some("image/png"), Some(1001), &mut body)
        .await;
    assert_eq!(
        code(too_big),
        ErrorCode::UploadTooLarge {
            content_type: "image/png".into(),
            limit: 1000
        }
    );
    assert_eq!(
        code(app.upload(&acc, "audio/wav", b"RIFF").await),
        ErrorCode::UploadContentType {
            content_type: "audio/wav".into()
        }
    );
    assert_eq!(
        code(app.upload(&acc, "image/png", &[0x89; 1001]).await),
        ErrorCode::UploadTooLarge {
            content_type: "image/png".into(),
            limit: 1000
        },
        "a body without Content-Length is cut at limit + 1"
    );
    assert_eq!(
        code(app.upload(&acc, "image/png", b"").await),
        ErrorCode::UploadEmpty
    );
    let invalid = ErrorCode::UploadInvalid {
        content_type: "video/quicktime".into(),
    };
    assert_eq!(
        code(
            app.upload(&acc, "video/quicktime", b"#EXTM3U\n#EXT-X-VERSION:3\n")
                .await
        ),
        invalid
    );
    *app.script.info.lock().unwrap() = Err("not a movie".into());
    assert_eq!(
        code(app.upload(&acc, "video/quicktime", MP4_HEAD).await),
        invalid
    );
    *app.script.info.lock().unwrap() = Ok(MediaInfo::Image {
        width: 200,
        height: 300,
    });
    assert_eq!(
        code(app.upload(&acc, "image/png", PNG).await),
        ErrorCode::ImageSize {
            width: 200,
            height: 300
        }
    );
    *app.script.info.lock().unwrap() = Ok(video_info(12.34));
    assert_eq!(
        code(app.upload(&acc, "video/mp4", MP4_HEAD).await),
        ErrorCode::VideoTooLong { tenths: 123 }
    );
    assert_eq!(app.temp_files(), 0, "temp files are removed");
    let q = AssetQuery {
        page_num: 1,
        page_size: 20,
        kind: None,
        name_contains: None,
        ascending: false,
    };
    assert_eq!(
        app.assets.list(&acc, &q).await.unwrap().len(),
        1,
        "rejected uploads leave no asset"
    );

    // Deleting removes rows and blobs.
    assert_eq!(
        app.assets
            .delete(&acc, std::slice::from_ref(&video.id))
            .await
            .unwrap(),
        vec![video.id.clone()]
    );
    assert!(
        app.blobs
            .get(&video.original.blob_key, None)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        app.blobs
            .get(&cover.blob_key, None)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn motion_upload_checks_rows_14_to_19_in_order() {
    let app = app().await;
    let acc = app.account("a@example.com", 1).await;
    let other = app.account("b@example.com", 1).await;
    let video = app.video(&acc, 5.0).await;
    let short = app.video(&acc, 1.04).await;
    let image = app.image(&acc).await;
    let foreign = app.video(&other, 5.0).await;
    let url = |f: &StoredFile| app.urls.file_url(&f.fid, &f.name);
    let req = |resource: String, cover: String| MotionUploadRequest {
        resource_url: resource,
        cover_url: cover,
        ..Default::default()
    };
    let vcover = video.cover.clone().unwrap();
    let nf = ErrorCode::ResourceNotFound;
    assert_eq!(
        code(
            app.upload
                .submit(&acc, req("https://x/y".into(), url(&vcover)))
                .await
        ),
        nf
    );
    assert_eq!(
        code(
            app.upload
                .submit(&acc, req(url(&foreign.original), url(&vcover)))
                .await
        ),
        nf,
        "foreign = unknown"
    );
    assert_eq!(
        code(
            app.upload
                .submit(&acc, req(url(&vcover), url(&vcover)))
                .await
        ),
        ErrorCode::ResourceUrlNotVideo
    );
    assert_eq!(
        code(
            app.upload
                .submit(&acc, req(url(&video.original), "nope".into()))
                .await
        ),
        nf
    );
    assert_eq!(
        code(
            app.upload
                .submit(&acc, req(url(&video.original), url(&video.original)))
                .await
        ),
        ErrorCode::CoverUrlNotImage
    );
    assert_eq!(
        code(
            app.upload
                .submit(&acc, req(url(&short.original), url(&image.original)))
                .await
        ),
        ErrorCode::VideoDurationOutOfRange { tenths: 10 }
    );
    // Another host and a path prefix are fine: only the last three segments count.
    let moved = format!(
        "https://elsewhere.example/prefix/files/{}/{}",
        video.original.fid, video.name
    );
    let view = app
        .upload
        .submit(&acc, req(moved, url(&image.original)))
        .await
        .unwrap();
    assert_eq!(view.task.wire_status, WireStatus::Submitted);
    assert_eq!(view.task.work_name, format!("Motion {}", view.task.id));
    assert_eq!(
        view.task.reply_url.as_deref(),
        Some("https://hooks.example.com/d"),
        "account default"
    );
    assert_eq!(
        (view.max_jobs, view.unfinished, view.remaining()),
        (1, 1, 0)
    );
    assert_eq!(*app.script.woken.lock().unwrap(), 1);
    assert_eq!(
        code(
            app.upload
                .submit(&acc, req(url(&video.original), url(&vcover)))
                .await
        ),
        ErrorCode::TooManyJobs {
            email: "a@example.com".into(),
            unfinished: 1,
            max_jobs: 1,
            retry_after_s: 10
        }
    );
    let wider = MotionUploadRequest {
        max_jobs: Some(2),
        reply_url: Some("https://r.example/".into()),
        ..req(url(&video.original), url(&vcover))
    };
    let second = app.upload.submit(&acc, wider).await.unwrap();
    assert_eq!(second.task.reply_url.as_deref(), Some("https://r.example/"));
    assert_eq!(second.max_jobs, 1, "the request's maxJobs is not stored");
    // The envelope renders with canonical URLs.
    let env = serde_json::to_value(app.urls.envelope(&second)).unwrap();
    assert_eq!(
        env["task"]["taskInfo"]["inputs"][0]["url"],
        url(&video.original)
    );
    assert_eq!(env["status"], 5);
    assert_eq!(env["works"], serde_json::json!([]));
}

/// The catalogue as the API reads it, with `DELETE /assets` of one asset committing right
/// after the cover URL was looked up (before admission).
struct DeletedAfterLookup {
    store: Arc<SqliteStore>,
    account: AccountId,
    asset: String,
    lookups: Mutex<u32>,
}

#[async_trait]
impl FileStore for DeletedAfterLookup {
    async fn file_by_fid(&self, fid: &str) -> StoreResult<Option<StoredFile>> {
        self.store.file_by_fid(fid).await
    }
    async fn asset_file(
        &self,
        account: AccountId,
        fid: &str,
        name: &str,
    ) -> StoreResult<Option<AssetFileRef>> {
        let found = self.store.asset_file(account, fid, name).await?;
        let nth = {
            let mut n = self.lookups.lock().unwrap();
            *n += 1;
            *n
        };
        if nth == 2 {
            let ids = std::slice::from_ref(&self.asset);
            assert_eq!(self.store.delete_assets(self.account, ids).await?, ids);
        }
        Ok(found)
    }
    async fn account_file(
        &self,
        account: AccountId,
        fid: &str,
        name: &str,
    ) -> StoreResult<Option<StoredFile>> {
        self.store.account_file(account, fid, name).await
    }
    async fn take_trash(&self, limit: u32) -> StoreResult<Vec<TrashItem>> {
        self.store.take_trash(limit).await
    }
    async fn confirm_trash(&self, ids: &[i64]) -> StoreResult<()> {
        self.store.confirm_trash(ids).await
    }
    async fn unreferenced_keys(&self, keys: &[String]) -> StoreResult<Vec<String>> {
        self.store.unreferenced_keys(keys).await
    }
}

/// An asset deleted between motion-upload's URL lookup and the admission is not accepted
/// (its blobs are already in the trash): the submission gets rows 14/16's 404, whether the
/// video or the cover image was deleted, and no task is made.
#[tokio::test]
async fn motion_upload_refuses_an_asset_deleted_before_admission() {
    let app = app().await;
    let acc = app.account("a@example.com", 5).await;
    for delete_video in [false, true] {
        let video = app.video(&acc, 5.0).await;
        let image = app.image(&acc).await;
        let req = MotionUploadRequest {
            resource_url: app.urls.file_url(&video.original.fid, &video.name),
            cover_url: app.urls.file_url(&image.original.fid, &image.name),
            ..Default::default()
        };
        let deleted = if delete_video { &video } else { &image };
        let racing = MotionUploadService::new(
            Arc::new(DeletedAfterLookup {
                store: app.store.clone(),
                account: acc.id,
                asset: deleted.id.clone(),
                lookups: Mutex::new(0),
            }),
            app.store.clone(),
            app.script.clone(),
            Arc::new(SystemClock),
            IdGenerator::new(Arc::new(SystemClock)),
            10,
        );
        assert_eq!(
            code(racing.submit(&acc, req).await),
            ErrorCode::ResourceNotFound,
            "asset {} deleted",
            deleted.id
        );
        let trashed = app.store.take_trash(100).await.unwrap();
        assert!(
            trashed
                .iter()
                .any(|t| t.blob_key == deleted.original.blob_key),
            "nothing pins the deleted asset's blobs"
        );
    }
    assert!(
        app.store
            .list_tasks(acc.id, TaskCursor::Latest, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(*app.script.woken.lock().unwrap(), 0);
}

#[tokio::test]
async fn jobs_publish_under_attempt_keys_and_clean_up_when_lost() {
    let app = app().await;
    let acc = app.account("a@example.com", 5).await;
    let video = app.video(&acc, 5.0).await;
    let image = app.image(&acc).await;
    let req = MotionUploadRequest {
        resource_url: app.urls.file_url(&video.original.fid, &video.name),
        cover_url: app.urls.file_url(&image.original.fid, &image.name),
        ..Default::default()
    };
    let first = app.upload.submit(&acc, req.clone()).await.unwrap();
    let second = app.upload.submit(&acc, req).await.unwrap();
    let out_dir = app.dir.path().join("job");
    std::fs::create_dir_all(&out_dir).unwrap();
    for (name, bytes) in [
        ("motion.mp4", &b"mp4"[..]),
        ("bvh.zip", b"PKbvh"),
        ("binary.zip", b"PKbin"),
    ] {
        std::fs::write(out_dir.join(name), bytes).unwrap();
    }
    let extracted = Extracted {
        preview: out_dir.join("motion.mp4"),
        bvh_zip: out_dir.join("bvh.zip"),
        binary_zip: out_dir.join("binary.zip"),
        width: 720,
        height: 1280,
        duration_ms: 5000,
    };
    let worker = WorkerId {
        boot_id: "b".into(),
        slot: "0".into(),
    };
    let lease = app.jobs.claim(&worker).await.unwrap().expect("claim");
    assert_eq!(lease.task_id, first.task.id);
    assert_eq!(
        app.jobs.heartbeat(&lease, 0.5).await.unwrap(),
        LeaseState::Held
    );
    let Finished::Published(view) = app.jobs.publish(&lease, &extracted).await.unwrap() else {
        panic!("publish")
    };
    let work = view.work.clone().expect("work");
    assert_eq!(
        work.cover.name, "cover.png",
        "the cover keeps the image's format"
    );
    assert_eq!(
        (work.cover.width, work.cover.height),
        (400, 300),
        "size from the image header"
    );
    for f in [&work.preview, &work.cover, &work.bvh_zip, &work.binary_zip] {
        assert!(
            f.blob_key
                .starts_with(&format!("results/{}/{}/", lease.task_id, lease.token)),
            "{}",
            f.blob_key
        );
        assert!(app.blobs.get(&f.blob_key, None).await.unwrap().is_some());
    }
    let env = serde_json::to_value(app.urls.envelope(&view)).unwrap();
    assert_eq!(
        env["works"][0]["extData"]["bvh_binary"],
        app.urls.file_url(&work.bvh_zip.fid, "bvh.zip")
    );
    assert_eq!(env["works"][0]["resource"]["duration"], 5000);
    assert_eq!(env["message"], "success");

    // §5.1 rows 15/17: the account's own result files are recognised, but not asset files.
    let url = |f: &StoredFile| app.urls.file_url(&f.fid, &f.name);
    let req = |resource: String, cover: String| MotionUploadRequest {
        resource_url: resource,
        cover_url: cover,
        ..Default::default()
    };
    assert_eq!(
        code(
            app.upload
                .submit(&acc, req(url(&work.preview), url(&image.original)))
                .await
        ),
        ErrorCode::ResourceUrlNotVideo
    );
    assert_eq!(
        code(
            app.upload
                .submit(&acc, req(url(&video.original), url(&work.cover)))
                .await
        ),
        ErrorCode::CoverUrlNotImage
    );
    // Another account's result files are not found (rows 14/16).
    let other = app.account("b@example.com", 5).await;
    let other_video = app.video(&other, 5.0).await;
    let other_cover = other_video.cover.clone().unwrap();
    assert_eq!(
        code(
            app.upload
                .submit(&other, req(url(&work.preview), url(&other_cover)))
                .await
        ),
        ErrorCode::ResourceNotFound
    );
    assert_eq!(
        code(
            app.upload
                .submit(&other, req(url(&other_video.original), url(&work.cover)))
                .await
        ),
        ErrorCode::ResourceNotFound
    );

    // The second task is cancelled while "running": its publish is refused and cleaned up.
    let lease = app.jobs.claim(&worker).await.unwrap().expect("claim");
    assert_eq!(lease.task_id, second.task.id);
    let cancelled = app.tasks.cancel(app.user.id, second.task.id).await.unwrap();
    assert_eq!(cancelled.message(), "Task was canceled");
    assert_eq!(*app.script.cancelled.lock().unwrap(), vec![second.task.id]);
    assert_eq!(
        app.jobs.publish(&lease, &extracted).await.unwrap(),
        Finished::Lost
    );
    let prefix = app
        .blobs
        .root()
        .join(format!("results/{}/{}", lease.task_id, lease.token));
    assert_eq!(
        std::fs::read_dir(&prefix).map(|d| d.count()).unwrap_or(0),
        0,
        "lost attempt leaves no blobs"
    );
    assert_eq!(
        code(app.tasks.cancel(app.user.id, second.task.id).await),
        ErrorCode::RunningTaskNotFound {
            id: second.task.id as u64
        }
    );

    // Deleting the succeeded task removes its motion and blobs.
    assert_eq!(
        app.tasks.delete(&acc, first.task.id).await.unwrap(),
        vec![work.id]
    );
    assert!(
        app.blobs
            .get(&work.bvh_zip.blob_key, None)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        code(app.tasks.get(&acc, first.task.id).await),
        ErrorCode::TaskNotFound {
            id: first.task.id as u64
        }
    );
    assert_eq!(
        code(app.tasks.delete(&acc, first.task.id).await),
        ErrorCode::NoWorksFound {
            id: first.task.id as u64
        }
    );
    // A deleted motion's files are not found (row 14).
    assert_eq!(
        code(
            app.upload
                .submit(&acc, req(url(&work.preview), url(&image.original)))
                .await
        ),
        ErrorCode::ResourceNotFound
    );
}

#[tokio::test]
async fn orphan_sweep_deletes_only_unreferenced_old_blobs() {
    use motion_core::services::janitor::sweep_orphans;
    let app = app().await;
    let acc = app.account("a@example.com", 5).await;
    let video = app.video(&acc, 5.0).await;
    app.blobs
        .put_bytes("results/999/deadbeef/motion.mp4", b"orphan")
        .await
        .unwrap();
    app.blobs
        .put_bytes("results/999/deadbeef/bvh.zip", b"orphan")
        .await
        .unwrap();
    let store = app.store.as_ref();
    let now = motion_core::clock::SystemClock.now_ms();
    let listed = app.blobs.list_keys("results/", None, 100).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|(_, m)| (now - m).abs() < 60_000));
    // Young blobs are left alone (a publish may be in progress).
    assert_eq!(
        sweep_orphans(store, app.blobs.as_ref(), "results/", now, 60_000, 100)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        sweep_orphans(
            store,
            app.blobs.as_ref(),
            "results/",
            now + 120_000,
            60_000,
            100
        )
        .await
        .unwrap(),
        2
    );
    assert!(
        app.blobs
            .list_keys("results/", None, 100)
            .await
            .unwrap()
            .is_empty()
    );
    // Referenced asset blobs survive a sweep of everything.
    let all = app.blobs.list_keys("", None, 100).await.unwrap();
    assert_eq!(all.len(), 2, "video and its cover: {all:?}");
    assert_eq!(
        sweep_orphans(store, app.blobs.as_ref(), "assets/", now + 120_000, 0, 100)
            .await
            .unwrap(),
        0
    );
    assert!(
        app.blobs
            .get(&video.original.blob_key, None)
            .await
            .unwrap()
            .is_some()
    );
}

/// Orphans beyond the first page of keys are found: the sweep reads every page (it read the
/// first 10,000 keys of a family only, so a busy installation never freed the rest).
#[tokio::test]
async fn the_orphan_sweep_reads_every_page_of_keys() {
    use motion_core::services::janitor::sweep_orphans;
    let app = app().await;
    let acc = app.account("a@example.com", 5).await;
    let video = app.video(&acc, 5.0).await;
    let orphans = [
        "assets/0/orphan.mp4",
        "assets/zz/1/orphan.mp4",
        "assets/zz/2/orphan.jpg",
    ];
    for key in orphans {
        app.blobs.put_bytes(key, b"orphan").await.unwrap();
    }
    let later = motion_core::clock::SystemClock.now_ms() + 120_000;
    let swept = sweep_orphans(
        app.store.as_ref(),
        app.blobs.as_ref(),
        "assets/",
        later,
        0,
        1,
    )
    .await
    .unwrap();
    assert_eq!(swept, orphans.len());
    let left: Vec<String> = app
        .blobs
        .list_keys("assets/", None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    assert_eq!(left.len(), 2, "the video and its cover stay: {left:?}");
    assert!(left.contains(&video.original.blob_key));
}
