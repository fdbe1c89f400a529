//! The composition root: [`build_app`] turns a [`Config`] into every `Arc<dyn …>` of the
//! service and the HTTP router. `motiond serve` and the in-process tests use the very same
//! function, so what the tests see is what ships. `motiond api` and `motiond worker` build
//! the same app for their [`Role`] and run only their part of it.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use async_trait::async_trait;
use motion_core::clock::{Clock, SystemClock};
use motion_core::ids::IdGenerator;
use motion_core::ports::{BlobStore, EventRenderer, MotionExtractor, WorkerSignals};
use motion_core::services::accounts::AccountService;
use motion_core::services::assets::{AssetService, UploadLimits};
use motion_core::services::files::FileService;
use motion_core::services::jobs::{JobService, QueueSettings};
use motion_core::services::motion_upload::MotionUploadService;
use motion_core::services::motions::MotionService;
use motion_core::services::render::UrlBuilder;
use motion_core::services::scheduler::SchedulerService;
use motion_core::services::tasks::TaskService;
use motion_core::signals::LocalSignals;
use motion_storage::{FsBlobStore, SqliteOptions, SqliteStore};
use motion_worker::janitor::{Janitor, JanitorSettings};
use motion_worker::media::{CaptureInspector, EngineExtractor};
use motion_worker::webhook::{
    Deliverer, DelivererSettings, MasterKey, RetryPolicy, SafeClient, WebhookSecrets,
};
use motion_worker::worker::{JobEnd, Worker, WorkerSettings};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;

/// The version reported by `/healthz` and in the callback User-Agent.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Which parts of the service a process runs on the shared database and blob store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `motiond serve`: API, workers, deliverer and janitor in one process, which assumes it
    /// is the only one on its database: at start it takes back at once the tasks that an
    /// earlier start left running.
    All,
    /// `motiond api`: the HTTP API only (uploads are inspected here; no extraction).
    Api,
    /// `motiond worker`: workers, deliverer and janitor, no public listener. Several may
    /// share a database; a dead one's tasks come back when their leases expire.
    Worker,
}

impl Role {
    /// Whether the pose models must be present for `/readyz` (the API alone never runs them).
    fn needs_models(self) -> bool {
        self != Role::Api
    }
}

/// Everything `serve` runs, built once.
pub struct App {
    pub config: Config,
    pub role: Role,
    /// `server.public_url`, or `http://<listen>` (contract §2.9).
    pub public_url: String,
    /// The whole HTTP surface: API, files, operations endpoints, the studio as fallback.
    pub router: axum::Router,
    pub store: Arc<SqliteStore>,
    pub blobs: Arc<dyn BlobStore>,
    pub signals: Arc<LocalSignals>,
    pub worker: Worker,
    pub deliverer: Arc<Deliverer>,
    pub janitor: Arc<Janitor>,
    pub secrets: Arc<WebhookSecrets>,
    pub extractor: Arc<EngineExtractor>,
    pub clock: Arc<dyn Clock>,
    /// Identifies this process start in lease owners.
    pub boot_id: String,
    readiness: Arc<AppReadiness>,
}

/// The data directory's layout.
#[derive(Debug, Clone)]
pub struct Paths {
    pub data: PathBuf,
    pub tmp: PathBuf,
    pub ingest: PathBuf,
    pub jobs: PathBuf,
    pub inspect: PathBuf,
}

impl Paths {
    pub fn of(config: &Config) -> Self {
        let data = config.data_dir();
        let tmp = config.tmp_dir();
        Self {
            ingest: tmp.join("ingest"),
            jobs: tmp.join("jobs"),
            inspect: tmp.join("inspect"),
            tmp,
            data,
        }
    }

    fn create(&self) -> anyhow::Result<()> {
        for dir in [
            &self.data,
            &self.tmp,
            &self.ingest,
            &self.jobs,
            &self.inspect,
        ] {
            create_private_dir(dir)?;
        }
        Ok(())
    }
}

/// Creates `dir` (and missing parents) readable by this user only: the data directory holds
/// people's videos, their motions and the database, which other accounts on a shared machine
/// must not read. A folder that exists already keeps the mode its owner gave it.
pub fn create_private_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("create {}", dir.display()))
}

/// Creates the SQLite file as private to this user before SQLite does (it would use 0644), and
/// takes other users' access from an existing one (group access stays as the operator set it);
/// its `-wal` and `-shm` files copy the database file's mode.
fn make_database_file_private(path: &std::path::Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let created = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path);
        match created {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("create {}", path.display())),
        }
        // Files of earlier versions were 0644. Not ours to change (another owner): say so.
        if let Err(e) = motion_storage::close_to_others(path) {
            tracing::warn!(error = %e, path = %path.display(), "the database file is readable by other users");
        }
    }
    Ok(())
}

/// Runs a background loop (claims, callbacks, janitor) until it returns, starting it again
/// after a pause when it panics: a bug met in one pass must not leave accepted tasks queued or
/// callbacks undelivered until the process restarts. The panic itself is printed by the hook.
fn spawn_supervised<F, Fut>(
    tracker: &TaskTracker,
    name: &'static str,
    shutdown: &CancellationToken,
    start: F,
) where
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let shutdown = shutdown.clone();
    tracker.spawn(async move {
        // Each pass in a task of its own: its JoinHandle reports a panic as an error.
        while tokio::spawn(start()).await.is_err_and(|e| e.is_panic()) && !shutdown.is_cancelled() {
            tracing::error!(background = name, "panicked; starting it again in 1 s");
            tokio::time::sleep(SUPERVISED_RESTART_PAUSE).await;
        }
    });
}

/// Pause before a panicked background loop starts again (a panic on every pass must not spin).
const SUPERVISED_RESTART_PAUSE: Duration = Duration::from_secs(1);

/// Opens (and migrates) the database named by `database.url`.
///
/// Every process that opens the database migrates it (`serve`, `api`, `worker` and the admin
/// commands), under an exclusive lock on a file beside the database, held from the open to the
/// end of the migrations: several processes may start together, and the later ones find the
/// file in WAL mode and the schema current.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<SqliteStore>> {
    open_store_unless_stopped(config, &CancellationToken::new()).await
}

/// [`open_store`] for a start-up that `stop` (the first SIGINT or SIGTERM) may end while it
/// waits for another process' migrations: it then fails at once with [`StoppedWhileWaiting`].
pub async fn open_store_unless_stopped(
    config: &Config,
    stop: &CancellationToken,
) -> anyhow::Result<Arc<SqliteStore>> {
    let url = config.database_url();
    if !url.starts_with("sqlite:") {
        bail!(
            "database.url: only sqlite:// is supported by this build (PostgreSQL is a later adapter)"
        );
    }
    let opts = SqliteOptions {
        busy_timeout: Duration::from_millis(config.database.busy_timeout_ms),
        max_connections: config.database.max_connections,
    };
    let data_dir = config.data_dir();
    create_private_dir(&data_dir)?;
    // Made 0755 by earlier versions: other users could list and read people's data.
    match motion_storage::close_to_others(&data_dir) {
        Ok(true) => {
            tracing::info!(dir = %data_dir.display(), "took other users' access from the data directory")
        }
        Ok(false) => {}
        Err(e) => {
            tracing::warn!(error = %e, dir = %data_dir.display(), "the data directory is open to other users")
        }
    }
    // The lock covers the open too: the first connection to a fresh file switches it to WAL,
    // which needs the file to itself, and SQLite answers "database is locked" at once (without
    // waiting out the busy timeout) when two processes try that together.
    if let Some(path) = sqlite_file(&url) {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_private_dir(parent)?;
        }
        make_database_file_private(&path)?;
    }
    let lock = database_lock(&url, DatabaseLock::Migrations, stop).await?;
    let store = SqliteStore::open_url(&url, &opts)
        .await
        .context("open the database")?;
    store.migrate().await.context("run database migrations")?;
    drop(lock);
    Ok(Arc::new(store))
}

/// The database's start-up lock (see [`database_lock`]), for other one-time work of a first
/// start that two processes starting together must not both do. `None` without a file.
pub(crate) async fn start_up_lock(
    config: &Config,
    stop: &CancellationToken,
) -> anyhow::Result<Option<std::fs::File>> {
    database_lock(&config.database_url(), DatabaseLock::Migrations, stop).await
}

/// The lock of the official catalog's seeding and rebuilds: processes starting together on a
/// data directory an older version seeded each rebuilt every official motion (the same result,
/// a minute of work twice); under it the later one finds them built. A lock of its own: the
/// start-up lock is taken by every admin command, which must not wait for the catalog.
pub(crate) async fn catalog_lock(
    config: &Config,
    stop: &CancellationToken,
) -> anyhow::Result<Option<std::fs::File>> {
    database_lock(&config.database_url(), DatabaseLock::Catalog, stop).await
}

/// What a lock beside the database keeps to one process at a time.
#[derive(Clone, Copy, Debug)]
enum DatabaseLock {
    /// Opening and migrating the database (`<database file>.migrate.lock`), and the first
    /// start's admin.
    Migrations,
    /// Seeding and rebuilding the official catalog (`<database file>.catalog.lock`).
    Catalog,
}

impl DatabaseLock {
    fn suffix(self) -> &'static str {
        match self {
            DatabaseLock::Migrations => "migrate.lock",
            DatabaseLock::Catalog => "catalog.lock",
        }
    }
}

/// A start-up stopped (SIGINT, SIGTERM) while it waited for a lock another process holds.
#[derive(Debug, thiserror::Error)]
#[error("stopped while waiting for {0} (another motiond process holds it)")]
pub struct StoppedWhileWaiting(String);

/// How often a wait for a lock held by another process looks again, and for a stop.
const LOCK_POLL: Duration = Duration::from_millis(50);

/// Takes an exclusive lock on a file beside a SQLite database: `<database file>.<suffix>`.
/// sqlx's migration lock is a no-op on SQLite, and two processes applying one migration at
/// once would make the later fail ("table already exists"). The wait for another process
/// ends early at `stop`: a process told to stop while that one migrates or seeds for a minute
/// stops then, not after it.
async fn database_lock(
    url: &str,
    lock: DatabaseLock,
    stop: &CancellationToken,
) -> anyhow::Result<Option<std::fs::File>> {
    let Some(path) = sqlite_file(url) else {
        return Ok(None);
    };
    let lock_path = PathBuf::from(format!("{}.{}", path.display(), lock.suffix()));
    let mut options = std::fs::OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options
        .open(&lock_path)
        .with_context(|| format!("open {}", lock_path.display()))?;
    loop {
        // Released when the file is closed.
        match file.try_lock() {
            Ok(()) => return Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("lock {}", lock_path.display()));
            }
        }
        tokio::select! {
            _ = stop.cancelled() => {
                return Err(StoppedWhileWaiting(lock_path.display().to_string()).into());
            }
            _ = tokio::time::sleep(LOCK_POLL) => {}
        }
    }
}

/// The database file of a `sqlite://PATH` URL; `None` for an in-memory database.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let path = motion_storage::sqlite_url_path(url)?;
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| PathBuf::from(path))
}

/// Opens the blob store named by `storage.url`.
pub async fn open_blobs(config: &Config) -> anyhow::Result<Arc<FsBlobStore>> {
    let url = config.storage_url();
    if !url.starts_with("file://") {
        bail!("storage.url: only file:// is supported by this build (S3 is a later adapter)");
    }
    Ok(Arc::new(
        FsBlobStore::open_url(&url)
            .await
            .context("open the blob store")?,
    ))
}

/// The master key that seals webhook secrets: `webhooks.master_key`, else `<data>/master.key`.
pub fn master_key(config: &Config) -> anyhow::Result<MasterKey> {
    if !config.webhooks.master_key.is_empty() {
        return MasterKey::from_base64(config.webhooks.master_key.expose())
            .context("webhooks.master_key");
    }
    MasterKey::load_or_create(&config.data_dir().join("master.key")).context("webhook master key")
}

/// Webhook secrets over an opened store (also used by the admin CLI).
pub fn webhook_secrets(
    config: &Config,
    store: &Arc<SqliteStore>,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Arc<WebhookSecrets>> {
    Ok(Arc::new(WebhookSecrets::new(
        store.clone(),
        master_key(config)?,
        clock,
    )))
}

/// Builds the whole application: stores (migrated), services, workers, router.
/// Background loops are not started; see [`App::start_background`] and [`App::run_until_idle`].
pub async fn build_app(config: Config) -> anyhow::Result<App> {
    build_app_for(config, Role::All, &CancellationToken::new()).await
}

/// [`build_app`] for one [`Role`]: the same composition; the role decides what
/// [`App::start_background`] starts and what `/readyz` requires. `stop` ends a wait for another
/// process' migrations (see [`open_store_unless_stopped`]).
pub async fn build_app_for(
    config: Config,
    role: Role,
    stop: &CancellationToken,
) -> anyhow::Result<App> {
    let paths = Paths::of(&config);
    paths.create()?;
    let listen: std::net::SocketAddr = config.server.listen.parse().context("server.listen")?;
    let public_url = config.public_url(listen);
    let store = open_store_unless_stopped(&config, stop).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let signals = Arc::new(LocalSignals::new());
    let urls = UrlBuilder::new(&public_url);
    let shared = Shared {
        store: store.clone(),
        blobs: open_blobs(&config).await?,
        ids: IdGenerator::new(clock.clone()),
        clock: clock.clone(),
        signals: signals.clone(),
        render: Arc::new(urls.clone()),
    };
    let secrets = webhook_secrets(&config, &store, clock.clone())?;
    let boot_id = uuid::Uuid::now_v7().simple().to_string();
    let jobs = Arc::new(shared.job_service(&config));
    let deliverer = Arc::new(build_deliverer(
        &config, &store, &secrets, &clock, &boot_id,
    )?);
    let outbox_wake = Some(deliverer.wake_handle());
    motion_worker::media::record_subprocess_metrics();
    let extractor = Arc::new(EngineExtractor::new(
        config.models_dir(),
        &config.models.landmark,
    )?);
    let worker = Worker::new(
        jobs.clone(),
        extractor.clone() as Arc<dyn MotionExtractor>,
        shared.blobs.clone(),
        signals.clone(),
        outbox_wake.clone(),
        worker_settings(&config, &paths, &boot_id),
    );
    let janitor = Arc::new(Janitor::new(
        jobs,
        store.clone(),
        store.clone(),
        shared.blobs.clone(),
        shared.signals.clone(),
        outbox_wake,
        janitor_settings(&config, &paths),
    ));
    let readiness = Arc::new(AppReadiness {
        store: store.clone(),
        blobs: shared.blobs.clone(),
        ffmpeg_ok: ffmpeg_runnable().await,
        extractor: role.needs_models().then(|| extractor.clone()),
        shutting_down: AtomicBool::new(false),
    });
    let state = shared.api_state(&config, &paths, urls, readiness.clone());
    let router = motion_api::router(state, api_settings(&config, &public_url))
        .fallback_service(crate::studio::studio_router());

    Ok(App {
        config,
        role,
        public_url,
        router,
        store,
        blobs: shared.blobs,
        signals,
        worker,
        deliverer,
        janitor,
        secrets,
        extractor,
        clock,
        boot_id,
        readiness,
    })
}

/// The handles every service of the process shares.
struct Shared {
    store: Arc<SqliteStore>,
    blobs: Arc<dyn BlobStore>,
    clock: Arc<dyn Clock>,
    ids: IdGenerator,
    signals: Arc<dyn WorkerSignals>,
    render: Arc<dyn EventRenderer>,
}

impl Shared {
    fn job_service(&self, config: &Config) -> JobService {
        let queue = QueueSettings {
            lease: Duration::from_millis(config.worker.lease_ms),
            max_attempts: config.worker.max_attempts,
            task_timeout: Duration::from_secs(config.worker.task_timeout_s),
        };
        JobService::new(
            self.store.clone(),
            self.blobs.clone(),
            self.render.clone(),
            self.clock.clone(),
            self.ids.clone(),
            queue,
        )
    }

    /// The services behind the HTTP API.
    fn api_state(
        &self,
        config: &Config,
        paths: &Paths,
        urls: UrlBuilder,
        readiness: Arc<AppReadiness>,
    ) -> motion_api::AppState {
        let (store, blobs, clock) = (&self.store, &self.blobs, &self.clock);
        let inspector = Arc::new(CaptureInspector::with_timeouts(
            paths.inspect.clone(),
            Duration::from_secs(config.media.probe_timeout_s),
            Duration::from_secs(config.media.cover_timeout_s),
        ));
        let upload_limits = UploadLimits {
            image_bytes: config.limits.image_bytes,
            video_bytes: config.limits.video_bytes,
        };
        motion_api::AppState {
            tokens: store.clone(),
            change_stamp: Some(store.clone()),
            accounts: Arc::new(AccountService::new(
                store.clone(),
                store.clone(),
                blobs.clone(),
                self.signals.clone(),
                clock.clone(),
                self.ids.clone(),
                config.limits.max_accounts_per_user,
            )),
            assets: Arc::new(AssetService::new(
                store.clone(),
                store.clone(),
                blobs.clone(),
                inspector,
                clock.clone(),
                paths.ingest.clone(),
                upload_limits,
            )),
            motion_upload: Arc::new(MotionUploadService::new(
                store.clone(),
                store.clone(),
                self.signals.clone(),
                clock.clone(),
                self.ids.clone(),
                config.admission.retry_after_s,
            )),
            motions: Arc::new(MotionService::new(
                store.clone(),
                store.clone(),
                blobs.clone(),
                clock.clone(),
            )),
            tasks: Arc::new(TaskService::new(
                store.clone(),
                store.clone(),
                blobs.clone(),
                self.signals.clone(),
                self.render.clone(),
                clock.clone(),
            )),
            scheduler: Arc::new(SchedulerService::new(store.clone(), clock.clone())),
            files: Arc::new(FileService::new(store.clone(), blobs.clone())),
            urls,
            clock: clock.clone(),
            readiness,
            metrics: (config.metrics.enabled && config.metrics.listen.is_empty())
                .then(motion_api::observe::prometheus_handle),
        }
    }
}

fn worker_settings(config: &Config, paths: &Paths, boot_id: &str) -> WorkerSettings {
    WorkerSettings {
        slots: config.worker.slots(),
        poll_interval: Duration::from_millis(config.worker.poll_interval_ms),
        shutdown_grace: Duration::from_secs(config.worker.shutdown_grace_s),
        jobs_dir: paths.jobs.clone(),
        boot_id: boot_id.to_owned(),
    }
}

fn janitor_settings(config: &Config, paths: &Paths) -> JanitorSettings {
    JanitorSettings {
        interval: Duration::from_millis(config.worker.janitor_interval_ms),
        temp_max_age: Duration::from_secs(config.worker.temp_max_age_s),
        tmp_dir: paths.tmp.clone(),
        // A task's files are orphans only once no worker can still be writing them.
        orphan_min_age: Duration::from_secs(config.worker.task_timeout_s)
            + 2 * Duration::from_millis(config.worker.lease_ms),
        retention_days: config.retention.days,
    }
}

fn build_deliverer(
    config: &Config,
    store: &Arc<SqliteStore>,
    secrets: &Arc<WebhookSecrets>,
    clock: &Arc<dyn Clock>,
    boot_id: &str,
) -> anyhow::Result<Deliverer> {
    let w = &config.webhooks;
    let client = SafeClient::new(
        w.allow_private_targets,
        Duration::from_secs(w.timeout_s),
        &format!("motiond/{VERSION}"),
    )
    .context("build the webhook HTTP client")?;
    let settings = DelivererSettings {
        concurrency: w.concurrency,
        per_user: w.per_user_concurrency,
        lease: Duration::from_millis(w.lease_ms),
        poll_interval: Duration::from_millis(w.poll_interval_ms),
        policy: RetryPolicy {
            delays: w
                .retry_delays_s
                .iter()
                .map(|s| Duration::from_secs(*s))
                .collect(),
            max_age: Duration::from_secs(w.max_age_s),
        },
    };
    Ok(Deliverer::new(
        store.clone(),
        secrets.clone(),
        client,
        clock.clone(),
        settings,
        format!("{boot_id}/webhooks"),
    ))
}

fn api_settings(config: &Config, public_url: &str) -> motion_api::ApiSettings {
    let l = &config.limits;
    motion_api::ApiSettings {
        json_body_bytes: l.json_body_bytes,
        image_bytes: l.image_bytes,
        video_bytes: l.video_bytes,
        body_idle_timeout: Duration::from_secs(l.body_idle_timeout_s),
        token_rps: l.token_rps,
        token_burst: l.token_burst,
        unauth_ip_rps: l.unauth_ip_rps,
        unauth_ip_burst: l.unauth_ip_burst,
        trust_forwarded_for: config.server.trust_forwarded_for,
        allow_private_targets: config.webhooks.allow_private_targets,
        version: VERSION.to_owned(),
        public_url: public_url.to_owned(),
    }
}

impl App {
    /// Start-up recovery, then the claim loop, the deliverer and the janitor on `tracker`.
    /// The API role starts nothing; the worker role skips the start-up recovery, because
    /// the running tasks of other boots may belong to live workers (their leases tell).
    pub async fn start_background(
        &self,
        shutdown: &CancellationToken,
        tracker: &TaskTracker,
    ) -> anyhow::Result<()> {
        if self.role == Role::Api {
            return Ok(());
        }
        if self.config.worker.enabled {
            if self.role == Role::All {
                self.worker
                    .recover_orphans()
                    .await
                    .context("re-queue tasks of an earlier start")?;
            }
            let (w, sd, t) = (self.worker.clone(), shutdown.clone(), tracker.clone());
            spawn_supervised(tracker, "claim loop", shutdown, move || {
                let (w, sd, t) = (w.clone(), sd.clone(), t.clone());
                async move { w.run(sd, t).await }
            });
        }
        if self.config.webhooks.enabled {
            let (d, sd) = (self.deliverer.clone(), shutdown.clone());
            spawn_supervised(tracker, "callback deliverer", shutdown, move || {
                let (d, sd) = (d.clone(), sd.clone());
                async move { d.run(sd).await }
            });
        }
        let (j, sd) = (self.janitor.clone(), shutdown.clone());
        spawn_supervised(tracker, "janitor", shutdown, move || {
            let (j, sd) = (j.clone(), sd.clone());
            async move { j.run(sd).await }
        });
        Ok(())
    }

    /// Drives the background work to quiescence in the calling task: runs every queued task
    /// and delivers every due callback, until neither is left. For tests.
    pub async fn run_until_idle(&self) -> anyhow::Result<Vec<(i64, JobEnd)>> {
        let mut all = Vec::new();
        loop {
            let jobs = self
                .worker
                .run_until_idle()
                .await
                .context("run queued tasks")?;
            let hooks = self
                .deliverer
                .deliver_until_idle()
                .await
                .context("deliver callbacks")?;
            if jobs.is_empty() && hooks == 0 {
                return Ok(all);
            }
            all.extend(jobs);
        }
    }

    /// `/readyz` answers `shutting_down` from now on.
    pub fn mark_shutting_down(&self) {
        self.readiness.shutting_down.store(true, Ordering::SeqCst);
    }

    /// Closes the database pool (after the background work has stopped).
    pub async fn close(&self) {
        self.store.close().await;
    }
}

/// `/readyz`: database, storage, ffmpeg, models, shutting_down — the first failing one.
struct AppReadiness {
    store: Arc<SqliteStore>,
    blobs: Arc<dyn BlobStore>,
    ffmpeg_ok: bool,
    /// `None` in the API role, which never loads the models.
    extractor: Option<Arc<EngineExtractor>>,
    shutting_down: AtomicBool,
}

#[async_trait]
impl motion_api::Readiness for AppReadiness {
    async fn check(&self) -> Result<(), String> {
        if self.store.ping().await.is_err() {
            return Err("database".into());
        }
        if self.blobs.ping().await.is_err() {
            return Err("storage".into());
        }
        if !self.ffmpeg_ok {
            return Err("ffmpeg".into());
        }
        if self.extractor.as_ref().is_some_and(|e| !e.models_present()) {
            return Err("models".into());
        }
        if self.shutting_down.load(Ordering::SeqCst) {
            return Err("shutting_down".into());
        }
        Ok(())
    }
}

/// `ffmpeg -version` and `ffprobe -version` both run (checked once at start).
async fn ffmpeg_runnable() -> bool {
    let mut ok = true;
    for tool in ["ffmpeg", "ffprobe"] {
        let status = tokio::process::Command::new(tool)
            .arg("-version")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .await;
        if !status.is_ok_and(|s| s.success()) {
            tracing::warn!(tool, "not runnable: /readyz will report ffmpeg");
            ok = false;
        }
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A data dir and database made by an earlier version (0755, 0644) are closed to other users
    /// at the next start; a new database is owner-only.
    #[tokio::test]
    async fn an_open_data_dir_and_database_are_closed_to_others() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let config = Config::for_data_dir(&data);
        open_store(&config).await.unwrap().close().await;
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join("motiond.db")), 0o600);
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
        let db = data.join("motiond.db");
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        open_store(&config).await.unwrap().close().await;
        assert_eq!(mode(&data), 0o750);
        assert_eq!(mode(&db), 0o640);
    }

    /// Processes that start together on a fresh database each migrate it: under the lock
    /// every one of them succeeds (without it, the later ones fail on "already exists").
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_starts_migrate_a_fresh_database_once() {
        for _ in 0..3 {
            let dir = tempfile::tempdir().unwrap();
            let config = Config::for_data_dir(dir.path());
            let opens: Vec<_> = (0..6)
                .map(|_| {
                    let config = config.clone();
                    tokio::spawn(async move { open_store(&config).await })
                })
                .collect();
            for open in opens {
                let store = open.await.unwrap().expect("open and migrate");
                store.ping().await.unwrap();
                store.close().await;
            }
            assert!(dir.path().join("motiond.db.migrate.lock").is_file());
        }
    }

    /// A background loop that panics is started again; one that returns is not.
    #[tokio::test]
    async fn a_panicking_background_loop_is_started_again() {
        let runs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tracker = TaskTracker::new();
        let counted = runs.clone();
        spawn_supervised(
            &tracker,
            "test loop",
            &CancellationToken::new(),
            move || {
                let runs = counted.clone();
                async move {
                    if runs.fetch_add(1, Ordering::SeqCst) < 2 {
                        panic!("a bug met in one pass");
                    }
                }
            },
        );
        tracker.close();
        tracker.wait().await;
        assert_eq!(
            runs.load(Ordering::SeqCst),
            3,
            "two panics, then a clean return"
        );
    }

    #[tokio::test]
    async fn in_memory_databases_take_no_lock() {
        let stop = CancellationToken::new();
        for url in ["sqlite::memory:", "sqlite://"] {
            for lock in [DatabaseLock::Migrations, DatabaseLock::Catalog] {
                assert!(database_lock(url, lock, &stop).await.unwrap().is_none());
            }
        }
    }

    /// A wait for a lock another process holds ends at a stop, at once; once free, the lock is
    /// taken. The two locks are apart: the catalog's does not hold up a migration.
    #[tokio::test]
    async fn a_wait_for_a_held_lock_ends_at_a_stop() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("motiond.db").display());
        let stop = CancellationToken::new();
        let held = database_lock(&url, DatabaseLock::Catalog, &stop)
            .await
            .unwrap()
            .expect("a file lock");
        let migrations = database_lock(&url, DatabaseLock::Migrations, &stop).await;
        assert!(migrations.unwrap().is_some(), "a lock of its own");
        let waiting = tokio::spawn({
            let (url, stop) = (url.clone(), stop.clone());
            async move { database_lock(&url, DatabaseLock::Catalog, &stop).await }
        });
        tokio::time::sleep(LOCK_POLL * 4).await;
        assert!(!waiting.is_finished(), "it waits while the lock is held");
        stop.cancel();
        let err = tokio::time::timeout(LOCK_POLL * 20, waiting)
            .await
            .expect("the stop ends the wait")
            .unwrap()
            .unwrap_err();
        assert!(
            err.downcast_ref::<StoppedWhileWaiting>().is_some(),
            "{err:#}"
        );
        drop(held);
        let free = database_lock(&url, DatabaseLock::Catalog, &CancellationToken::new()).await;
        assert!(free.unwrap().is_some());
    }
}
