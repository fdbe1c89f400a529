//! What the router needs: the core's services and ports (`AppState`) and the
//! HTTP-level settings (`ApiSettings`). The composition root (`motiond::build_app`)
//! builds both; this crate never sees a storage or capture type.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use metrics_exporter_prometheus::PrometheusHandle;
use motion_core::clock::Clock;
use motion_core::ports::{ChangeStamp, TokenStore};
use motion_core::services::accounts::AccountService;
use motion_core::services::assets::AssetService;
use motion_core::services::files::FileService;
use motion_core::services::motion_upload::MotionUploadService;
use motion_core::services::motions::MotionService;
use motion_core::services::render::UrlBuilder;
use motion_core::services::scheduler::SchedulerService;
use motion_core::services::tasks::TaskService;

/// Readiness of the process for `/readyz` (contract §10.2). The composition root
/// implements it over the database, blob store, ffmpeg, models and shutdown state.
#[async_trait]
pub trait Readiness: Send + Sync {
    /// `Err(component)` names the first failing item, in the contract's order:
    /// `database`, `storage`, `ffmpeg`, `models`, `shutting_down`.
    async fn check(&self) -> Result<(), String>;
}

/// The shared state of every handler. Cheap to clone (all `Arc`s).
#[derive(Clone)]
pub struct AppState {
    /// Bearer token → user (SHA-256 lookup).
    pub tokens: Arc<dyn TokenStore>,
    /// Whether anything was committed since: lets hot reads reuse their rendered answers
    /// (`None`: every read is rendered afresh).
    pub change_stamp: Option<Arc<dyn ChangeStamp>>,
    pub accounts: Arc<AccountService>,
    pub assets: Arc<AssetService>,
    pub motion_upload: Arc<MotionUploadService>,
    pub motions: Arc<MotionService>,
    pub tasks: Arc<TaskService>,
    pub scheduler: Arc<SchedulerService>,
    pub files: Arc<FileService>,
    /// Capability URLs and wire shapes (from `server.public_url`).
    pub urls: UrlBuilder,
    pub clock: Arc<dyn Clock>,
    pub readiness: Arc<dyn Readiness>,
    /// The Prometheus recorder's handle; `None` serves 404 at `/metrics`
    /// (`metrics.enabled = false`, or metrics on a separate listener).
    pub metrics: Option<PrometheusHandle>,
}

/// HTTP limits and switches (contract §2.7, §12). Defaults are the contract's.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// `limits.json_body_bytes`.
    pub json_body_bytes: u64,
    /// `limits.image_bytes`.
    pub image_bytes: u64,
    /// `limits.video_bytes`.
    pub video_bytes: u64,
    /// `limits.body_idle_timeout_s`.
    pub body_idle_timeout: Duration,
    /// `limits.token_rps` (0 disables the per-token limiter) and `limits.token_burst`.
    pub token_rps: u32,
    pub token_burst: u32,
    /// `limits.unauth_ip_rps` / `limits.unauth_ip_burst` (failed authentications per IP).
    pub unauth_ip_rps: u32,
    pub unauth_ip_burst: u32,
    /// `server.trust_forwarded_for`: take the client IP from `X-Forwarded-For`.
    pub trust_forwarded_for: bool,
    /// `webhooks.allow_private_targets`: lets `replyUrl` name loopback/private literals.
    pub allow_private_targets: bool,
    /// The version reported by `/healthz`.
    pub version: String,
    /// `server.public_url`, for the `servers` entry of `/openapi.json`.
    pub public_url: String,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            json_body_bytes: 65536,
            image_bytes: 10_485_760,
            video_bytes: 104_857_600,
            body_idle_timeout: Duration::from_secs(30),
            token_rps: 50,
            token_burst: 100,
            unauth_ip_rps: 5,
            unauth_ip_burst: 20,
            trust_forwarded_for: false,
            allow_private_targets: false,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            public_url: "http://127.0.0.1:8080".to_owned(),
        }
    }
}
