//! Layered configuration: defaults → `motiond.toml` → `MOTIOND_<SECTION>__<KEY>` env (+ `_FILE`) → flags.
//!
//! Every key always exists (an empty string means "derived", e.g. `database.url = ""` is
//! `sqlite://<data_dir>/motiond.db`), so the set of known keys is exactly the keys of
//! `Config::default()`. That makes unknown keys detectable: an error in the file, a warning in env.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// The commented defaults printed by `motiond config defaults`; `motiond.example.toml` is a copy
/// (a test keeps them equal, another checks that this text parses to `Config::default()`).
pub const DEFAULTS_TOML: &str = include_str!("defaults.toml");

/// Environment prefix of every setting.
pub const ENV_PREFIX: &str = "MOTIOND_";

/// A configuration value that must never show up in `Debug` output or logs.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The clear value; call sites are the few places that really need it.
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("Secret(unset)")
        } else {
            f.write_str("Secret(***)")
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Data directory; empty = `$XDG_DATA_HOME/motiond` (else `~/.local/share/motiond`).
    pub data_dir: String,
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub storage: StorageConfig,
    pub limits: LimitsConfig,
    pub admission: AdmissionConfig,
    pub worker: WorkerConfig,
    pub webhooks: WebhooksConfig,
    pub models: ModelsConfig,
    pub metrics: MetricsConfig,
    pub retention: RetentionConfig,
    pub catalog: CatalogConfig,
    pub media: MediaConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    pub listen: String,
    /// Empty = `http://<listen>` with an unspecified address replaced by loopback (contract §2.9).
    pub public_url: String,
    pub trust_forwarded_for: bool,
    /// Upper bound for draining in-flight requests on shutdown.
    pub shutdown_timeout_s: u64,
    /// Create an admin user and print its token on the first start of `serve` or `api`.
    pub bootstrap_admin: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            public_url: String::new(),
            trust_forwarded_for: false,
            shutdown_timeout_s: 10,
            bootstrap_admin: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://PATH`; empty = `sqlite://<data_dir>/motiond.db` (`postgres://…` is reserved for
    /// the PostgreSQL adapter and refused at start by this build).
    pub url: Secret,
    pub max_connections: u32,
    pub busy_timeout_ms: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: Secret::default(),
            max_connections: 8,
            busy_timeout_ms: 5000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// `file:///PATH`; empty = `file://<data_dir>/blobs` (`s3://bucket/prefix` is reserved for the
    /// S3 adapter and refused at start by this build; so are the presign and `s3` keys' effects).
    pub url: String,
    pub presign_results: bool,
    pub presign_ttl_s: u64,
    pub s3: S3Config,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            presign_results: false,
            presign_ttl_s: 3600,
            s3: S3Config::default(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Config {
    pub endpoint: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: Secret,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    pub json_body_bytes: u64,
    pub image_bytes: u64,
    pub video_bytes: u64,
    pub body_idle_timeout_s: u64,
    pub token_rps: u32,
    pub token_burst: u32,
    pub unauth_ip_rps: u32,
    pub unauth_ip_burst: u32,
    pub max_accounts_per_user: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            json_body_bytes: 65_536,
            image_bytes: 10_485_760,
            video_bytes: 104_857_600,
            body_idle_timeout_s: 30,
            token_rps: 50,
            token_burst: 100,
            unauth_ip_rps: 5,
            unauth_ip_burst: 20,
            max_accounts_per_user: 10,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdmissionConfig {
    pub retry_after_s: u64,
}

impl Default for AdmissionConfig {
    fn default() -> Self {
        Self { retry_after_s: 10 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerConfig {
    /// Run extraction workers inside `serve` and `worker`.
    pub enabled: bool,
    /// Concurrent jobs in this process; 0 = one per CPU core.
    pub concurrency: u32,
    /// Lease length; the heartbeat renews it every third of it.
    pub lease_ms: u64,
    /// Safety-net poll for new tasks (wake-ups are in-process otherwise).
    pub poll_interval_ms: u64,
    pub task_timeout_s: u64,
    pub max_attempts: u32,
    /// How long running jobs may finish on shutdown before they are cancelled and released.
    pub shutdown_grace_s: u64,
    /// Reaper (expired leases) and janitor (temp dirs, orphan blobs) period.
    pub janitor_interval_ms: u64,
    /// Temp files and job dirs older than this are swept by the janitor.
    pub temp_max_age_s: u64,
}

/// How much longer than an attempt's `webhooks.timeout_s` a callback's lease must be (the
/// outcome is written after the attempt).
const WEBHOOK_LEASE_MARGIN_MS: u64 = 5_000;

/// The shortest interval of the service's polling loops.
const MIN_LOOP_INTERVAL_MS: u64 = 10;

/// `worker.task_timeout_s` at the most: a week.
const MAX_TASK_TIMEOUT_S: u64 = 7 * 24 * 3600;

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            concurrency: 0,
            lease_ms: 30_000,
            poll_interval_ms: 1000,
            task_timeout_s: 600,
            max_attempts: 3,
            shutdown_grace_s: 10,
            janitor_interval_ms: 15_000,
            temp_max_age_s: 3600,
        }
    }
}

impl WorkerConfig {
    /// The effective number of job slots.
    pub fn slots(&self) -> usize {
        if self.concurrency > 0 {
            self.concurrency as usize
        } else {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Run the outbox deliverer inside `serve` and `worker`.
    pub enabled: bool,
    /// Total time per attempt: connect, TLS, request and response headers.
    pub timeout_s: u64,
    /// Delays before attempts 2, 3, …; a last attempt follows at `max_age_s` after the first.
    pub retry_delays_s: Vec<u64>,
    pub max_age_s: u64,
    /// Operator-only switch that lets callbacks reach loopback, private, CGNAT and link-local hosts.
    pub allow_private_targets: bool,
    /// Parallel deliveries (a slot is refilled as soon as its attempt ends).
    pub concurrency: u32,
    /// Parallel deliveries for one user, across every process: one user's slow receivers
    /// leave the other slots to everybody else.
    pub per_user_concurrency: u32,
    pub lease_ms: u64,
    pub poll_interval_ms: u64,
    /// 32-byte key (base64) that encrypts webhook secrets at rest; empty = `<data_dir>/master.key`
    /// (created on first use).
    pub master_key: Secret,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            timeout_s: 10,
            retry_delays_s: vec![5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800],
            max_age_s: 86_400,
            allow_private_targets: false,
            concurrency: 16,
            per_user_concurrency: 4,
            lease_ms: 60_000,
            poll_interval_ms: 1000,
            master_key: Secret::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelsConfig {
    /// Empty = `<data_dir>/models` (env `MOTIOND_MODELS_DIR` is accepted as an alias).
    pub dir: String,
    /// Landmark model: `lite`, `full` or `heavy`.
    pub landmark: String,
}

impl Default for ModelsConfig {
    fn default() -> Self {
        Self {
            dir: String::new(),
            landmark: "full".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    pub enabled: bool,
    /// Empty = `/metrics` on the main listener.
    pub listen: String,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: String::new(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Final tasks (succeed, failed, cancelled) whose final time is older than this many days
    /// are deleted by the janitor, like `DELETE /tasks/{id}`; 0 keeps everything.
    pub days: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CatalogConfig {
    /// Add the bundled official motions that are missing, at every start of `serve` or `worker`.
    pub seed: bool,
}

impl Default for CatalogConfig {
    fn default() -> Self {
        Self { seed: true }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MediaConfig {
    /// Wall-clock limit of each inspection call on an upload (the ffprobe call, then the read
    /// through the rest of the file).
    pub probe_timeout_s: u64,
    /// Wall-clock limit of one cover extraction (ffmpeg) on an upload.
    pub cover_timeout_s: u64,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            probe_timeout_s: 20,
            cover_timeout_s: 60,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Every problem figment found, one after the other on one line.
    #[error("invalid configuration: {}", join_figment_errors(.0))]
    Figment(#[from] Box<figment::Error>),
    // The I/O error is part of the message, not a separate cause: printed once.
    #[error("config file {path}: {error}")]
    File {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{var}: cannot read secret file {path}: {source}")]
    SecretFile {
        var: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Where the layers come from. `env` is passed in (not read globally) so tests stay parallel-safe.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    pub file: Option<PathBuf>,
    pub env: Vec<(String, String)>,
    /// Command-line flags as `(dotted.key, value)`, applied last.
    pub flags: Vec<(String, figment::value::Value)>,
}

impl Sources {
    /// The process environment, with `--config` falling back to `MOTIOND_CONFIG`.
    pub fn from_process(file: Option<PathBuf>) -> Self {
        let env: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX))
            .collect();
        let file = file.or_else(|| {
            env.iter()
                .find(|(k, _)| k == "MOTIOND_CONFIG")
                .map(|(_, v)| PathBuf::from(v))
                .filter(|p| !p.as_os_str().is_empty())
        });
        Self {
            file,
            env,
            flags: Vec::new(),
        }
    }

    pub fn flag(mut self, key: &str, value: impl Into<figment::value::Value>) -> Self {
        self.flags.push((key.to_string(), value.into()));
        self
    }
}

/// A loaded configuration plus the warnings (unknown env keys) that the caller should log.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<String>,
}

impl Config {
    /// Merges the layers in order and validates the result.
    pub fn load(sources: &Sources) -> Result<Loaded, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = &sources.file {
            // A missing file named explicitly is an error, not a silent fallback to defaults.
            // Read here first so that a missing or unreadable file is an error, then merged as
            // a file so that figment's messages name it.
            std::fs::read_to_string(path).map_err(|error| ConfigError::File {
                path: path.clone(),
                error,
            })?;
            let origin = format!("config file {}", path.display());
            figment = figment.merge(Layer::new(origin, Toml::file_exact(path)));
        }
        let (env_layer, warnings) = env_layer(&sources.env)?;
        for (var, key, value) in env_layer {
            let origin = format!("environment variable {var}");
            figment = figment.merge(Layer::new(origin, Serialized::default(&key, value)));
        }
        for (key, value) in &sources.flags {
            let origin = format!("command-line option for {key}");
            figment = figment.merge(Layer::new(origin, Serialized::default(key, value.clone())));
        }
        let config: Config = figment
            .extract()
            .map_err(|e| ConfigError::Figment(Box::new(e)))?;
        config.validate()?;
        Ok(Loaded { config, warnings })
    }

    /// Defaults for a data directory, with nothing read from the environment or a file.
    pub fn for_data_dir(dir: impl Into<PathBuf>) -> Self {
        Config {
            data_dir: dir.into().display().to_string(),
            ..Config::default()
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_string()));
        if self.worker.lease_ms < 300 {
            return bad("worker.lease_ms must be at least 300");
        }
        if self.worker.max_attempts == 0 {
            return bad("worker.max_attempts must be at least 1");
        }
        // A deadline further off than the clock counts would panic, and no job needs a week.
        if !(1..=MAX_TASK_TIMEOUT_S).contains(&self.worker.task_timeout_s) {
            return bad("worker.task_timeout_s must be between 1 and 604800 (a week)");
        }
        if self.worker.temp_max_age_s <= self.worker.task_timeout_s {
            return bad(
                "worker.temp_max_age_s must be longer than worker.task_timeout_s: the janitor \
                 would remove the folder of a job still running",
            );
        }
        if self.media.probe_timeout_s == 0 || self.media.cover_timeout_s == 0 {
            return bad("media.probe_timeout_s and media.cover_timeout_s must be at least 1");
        }
        if self.webhooks.concurrency == 0 || self.webhooks.per_user_concurrency == 0 {
            return bad(
                "webhooks.concurrency and webhooks.per_user_concurrency must be at least 1",
            );
        }
        if self.webhooks.timeout_s == 0 {
            return bad("webhooks.timeout_s must be at least 1");
        }
        // A lease that lapses while its attempt runs lets the event be claimed again under a
        // new token: the running attempt's answer is then never recorded, and the callback is
        // sent again and again.
        if self.webhooks.lease_ms
            < self
                .webhooks
                .timeout_s
                .saturating_mul(1000)
                .saturating_add(WEBHOOK_LEASE_MARGIN_MS)
        {
            return bad(
                "webhooks.lease_ms must exceed webhooks.timeout_s by at least 5 s: a callback \
                 whose lease lapses during its attempt would be sent again and again",
            );
        }
        // Zero made these loops spin (a core's tenth to a quarter while idle).
        if self.worker.janitor_interval_ms < MIN_LOOP_INTERVAL_MS
            || self.webhooks.poll_interval_ms < MIN_LOOP_INTERVAL_MS
            || self.worker.poll_interval_ms < MIN_LOOP_INTERVAL_MS
        {
            return bad("worker.janitor_interval_ms, worker.poll_interval_ms and \
                 webhooks.poll_interval_ms must be at least 10");
        }
        if self.database.max_connections == 0 {
            return bad("database.max_connections must be at least 1");
        }
        if !matches!(self.models.landmark.as_str(), "lite" | "full" | "heavy") {
            return bad("models.landmark must be lite, full or heavy");
        }
        if self.server.listen.parse::<std::net::SocketAddr>().is_err() {
            return bad("server.listen must be ADDR:PORT, e.g. 127.0.0.1:8080");
        }
        if self.metrics.enabled && !is_listen_address(&self.metrics.listen) {
            return bad("metrics.listen must be empty or HOST:PORT, e.g. 127.0.0.1:9090");
        }
        check_public_url(&self.server.public_url).map_err(ConfigError::Invalid)?;
        check_database_url(self.database.url.expose()).map_err(ConfigError::Invalid)?;
        check_storage_url(&self.storage.url).map_err(ConfigError::Invalid)?;
        let master_key = self.webhooks.master_key.expose();
        if !master_key.is_empty()
            && motion_worker::webhook::MasterKey::from_base64(master_key).is_err()
        {
            // The key itself is never echoed.
            return bad(
                "webhooks.master_key must be 32 bytes in base64 (`openssl rand -base64 32`)",
            );
        }
        Ok(())
    }

    /// The resolved data directory.
    pub fn data_dir(&self) -> PathBuf {
        if !self.data_dir.is_empty() {
            return PathBuf::from(&self.data_dir);
        }
        default_data_dir()
    }

    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            format!("sqlite://{}", self.data_dir().join("motiond.db").display())
        } else {
            self.database.url.expose().to_string()
        }
    }

    pub fn storage_url(&self) -> String {
        if self.storage.url.is_empty() {
            format!("file://{}", self.data_dir().join("blobs").display())
        } else {
            self.storage.url.clone()
        }
    }

    pub fn models_dir(&self) -> PathBuf {
        if self.models.dir.is_empty() {
            self.data_dir().join("models")
        } else {
            PathBuf::from(&self.models.dir)
        }
    }

    /// Scratch space (ingest temp files, job dirs); swept by the janitor.
    pub fn tmp_dir(&self) -> PathBuf {
        self.data_dir().join("tmp")
    }

    /// `server.public_url` without a trailing slash, or `http://<listen>` (contract §2.9).
    pub fn public_url(&self, bound: std::net::SocketAddr) -> String {
        if !self.server.public_url.is_empty() {
            return self.server.public_url.trim_end_matches('/').to_string();
        }
        let ip = match bound.ip() {
            std::net::IpAddr::V4(v4) if v4.is_unspecified() => "127.0.0.1".to_string(),
            std::net::IpAddr::V6(v6) if v6.is_unspecified() => "[::1]".to_string(),
            std::net::IpAddr::V4(v4) => v4.to_string(),
            std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        };
        format!("http://{ip}:{}", bound.port())
    }
}

/// `metrics.listen`: empty (the main listener), or what a listener binds: an IP address or a host
/// name (resolved when it binds, like `localhost`) with a port.
fn is_listen_address(text: &str) -> bool {
    if text.is_empty() || text.parse::<std::net::SocketAddr>().is_ok() {
        return true;
    }
    let Some((host, port)) = text.rsplit_once(':') else {
        return false;
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    host_ok && port.parse::<u16>().is_ok()
}

/// `server.public_url`: empty, or the absolute `http(s)://host[:port][/prefix]` that clients use,
/// written as it will be used: every issued URL starts with this text (§2.9), so a value the URL
/// parser would have to repair (`https:host`, a space, a backslash) is refused, not repaired.
/// The value is not echoed: it may carry credentials.
fn check_public_url(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Ok(());
    }
    let problem = match url::Url::parse(text) {
        Err(e) => Some(e.to_string()),
        Ok(u) if !matches!(u.scheme(), "http" | "https") => Some("not http or https".into()),
        Ok(u) if u.host_str().is_none_or(str::is_empty) => Some("no host".into()),
        Ok(u) if !u.username().is_empty() || u.password().is_some() => {
            Some("credentials would be shown to every client".into())
        }
        Ok(u) if u.query().is_some() || u.fragment().is_some() => {
            Some("a query or fragment would end up inside every issued URL".into())
        }
        Ok(u) if u.as_str().trim_end_matches('/') != text.trim_end_matches('/') => Some(format!(
            "not in its usual form; write {}",
            u.as_str().trim_end_matches('/')
        )),
        Ok(_) => None,
    };
    match problem {
        None => Ok(()),
        Some(why) => Err(format!(
            "server.public_url must be empty or an http(s) URL such as https://motion.example.com ({why})"
        )),
    }
}

/// `database.url`: empty, or `sqlite://PATH`; `postgres://` is reserved for a later adapter.
fn check_database_url(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Ok(());
    }
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        return Err(
            "database.url: postgres:// is reserved for the PostgreSQL adapter, which this build does not have; use sqlite://PATH or leave it empty"
                .into(),
        );
    }
    // The value may hold a password: it is not echoed.
    match motion_storage::sqlite_url_path(text) {
        // Each pooled connection would open its own empty database.
        Some(":memory:") => Err(
            "database.url: an in-memory database cannot be shared by the service's connections or processes; use sqlite://PATH"
                .into(),
        ),
        Some(path) if !path.is_empty() && !path.contains('?') => Ok(()),
        Some(_) => Err(
            "database.url must be sqlite://PATH with a path and no ?options (the busy timeout and pool size are database.* settings)"
                .into(),
        ),
        None => Err("database.url must be empty or sqlite://PATH".into()),
    }
}

/// `storage.url`: empty, or `file:///ABSOLUTE/PATH`; `s3://` is reserved for a later adapter.
fn check_storage_url(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Ok(());
    }
    if text.starts_with("s3://") {
        return Err(
            "storage.url: s3:// is reserved for the S3 adapter, which this build does not have; use file:///PATH or leave it empty"
                .into(),
        );
    }
    match text.strip_prefix("file://") {
        Some(path) if path.starts_with('/') => Ok(()),
        // Not echoed: a mistyped object-store URL may carry a key.
        _ => Err("storage.url must be empty or file:///ABSOLUTE/PATH".into()),
    }
}

/// `$XDG_DATA_HOME/motiond`, else `~/.local/share/motiond`, else `./motiond-data`.
pub fn default_data_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("motiond");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(home).join(".local/share/motiond");
    }
    PathBuf::from("motiond-data")
}

/// Every dotted key that the configuration knows (`server.listen`, `storage.s3.region`, …).
pub fn known_keys() -> BTreeSet<String> {
    let value = toml::Value::try_from(Config::default()).expect("the default config serialises");
    let mut keys = BTreeSet::new();
    collect_keys("", &value, &mut keys);
    keys
}

fn collect_keys(prefix: &str, value: &toml::Value, out: &mut BTreeSet<String>) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                collect_keys(&key, v, out);
            }
        }
        _ => {
            out.insert(prefix.to_string());
        }
    }
}

/// Env vars that are not settings themselves but are read elsewhere: by motiond itself
/// (`CONFIG`, `LOG`, the two directory aliases, `models fetch`'s `PYTHON` and `NPM`) or by the
/// scripts and tests that start it (`LISTEN` of `scripts/start.sh`, the test suites' `BIN`,
/// `TEST_PYTHON`, `WHEEL_CACHE`, `ATTACK_TRIALS`, `FUZZ_SECONDS`), which pass them on to every
/// server they start.
const NON_SETTING_VARS: &[&str] = &[
    "CONFIG",
    "LOG",
    "MODELS_DIR",
    "DATA_DIR",
    "PYTHON",
    "NPM",
    "WHEEL_CACHE",
    "LISTEN",
    "BIN",
    "TEST_PYTHON",
    "ATTACK_TRIALS",
    "FUZZ_SECONDS",
];

/// One setting from the environment: `(variable, dotted.key, value)`.
type Setting = (String, String, figment::value::Value);

/// Turns `MOTIOND_<SECTION>__<KEY>[_FILE]` variables into `(dotted.key, value)` pairs.
/// `MOTIOND_DATA_DIR` and the alias `MOTIOND_MODELS_DIR` come first so that the precise
/// `MOTIOND_MODELS__DIR` wins over the alias.
fn env_layer(env: &[(String, String)]) -> Result<(Vec<Setting>, Vec<String>), ConfigError> {
    let known = known_keys();
    let mut layer = Vec::new();
    let mut warnings = Vec::new();
    for (alias, key) in [
        ("MOTIOND_DATA_DIR", "data_dir"),
        ("MOTIOND_MODELS_DIR", "models.dir"),
    ] {
        if let Some((var, v)) = env.iter().find(|(k, _)| k == alias) {
            layer.push((
                var.clone(),
                key.to_string(),
                figment::value::Value::from(v.clone()),
            ));
        }
    }
    let mut sorted: Vec<&(String, String)> = env.iter().collect();
    sorted.sort();
    for (var, raw) in sorted {
        let Some(rest) = var.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        if NON_SETTING_VARS.contains(&rest) {
            continue;
        }
        let dotted = rest.to_ascii_lowercase().replace("__", ".");
        if known.contains(&dotted) {
            layer.push((var.clone(), dotted, parse_env_value(raw)));
        } else if let Some(base) = dotted.strip_suffix("_file").filter(|b| known.contains(*b)) {
            let path = PathBuf::from(raw);
            let text =
                std::fs::read_to_string(&path).map_err(|source| ConfigError::SecretFile {
                    var: var.clone(),
                    path: path.clone(),
                    source,
                })?;
            // A secret file usually ends with a newline that is not part of the secret.
            let value = text.trim_end_matches(['\n', '\r']).to_string();
            layer.push((
                var.clone(),
                base.to_string(),
                figment::value::Value::from(value),
            ));
        } else {
            warnings.push(format!("ignoring unknown environment setting {var}"));
        }
    }
    Ok((layer, warnings))
}

/// A configuration layer that names where its values came from, so that an error says
/// `for key "worker.lease_ms" in environment variable MOTIOND_WORKER__LEASE_MS` rather than
/// figment's default (the profile-prefixed key in one of our source files).
struct Layer<P> {
    origin: String,
    provider: P,
}

impl<P: figment::Provider> Layer<P> {
    fn new(origin: String, provider: P) -> Self {
        Self { origin, provider }
    }
}

impl<P: figment::Provider> figment::Provider for Layer<P> {
    fn metadata(&self) -> figment::Metadata {
        // Keys without the profile: motiond has one profile, `default`, that no user writes.
        figment::Metadata::named(self.origin.clone())
            .interpolater(|_profile: &figment::Profile, keys: &[&str]| keys.join("."))
    }

    fn data(
        &self,
    ) -> Result<figment::value::Map<figment::Profile, figment::value::Dict>, figment::Error> {
        self.provider.data()
    }
}

fn join_figment_errors(error: &figment::Error) -> String {
    let each: Vec<String> = error.clone().into_iter().map(|e| e.to_string()).collect();
    each.join("; ")
}

/// Env values use figment's grammar (`true`, `5`, `[5, 30]`), so lists and numbers work;
/// strings stay strings.
fn parse_env_value(raw: &str) -> figment::value::Value {
    raw.parse::<figment::value::Value>()
        .unwrap_or_else(|never| match never {})
}

/// Path helper used by `serve` and the tests: does a file exist and is it non-empty.
pub fn non_empty_file(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.len() > 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_text_parses_to_default_config() {
        let parsed: Config = toml::from_str(DEFAULTS_TOML).expect("defaults.toml parses");
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn defaults_text_mentions_every_known_key() {
        // Every key must be documented (present uncommented) in the printed defaults.
        let value: toml::Value = toml::from_str(DEFAULTS_TOML).unwrap();
        let mut documented = BTreeSet::new();
        collect_keys("", &value, &mut documented);
        assert_eq!(documented, known_keys());
    }

    #[test]
    fn example_file_equals_printed_defaults() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../motiond.example.toml");
        let text =
            std::fs::read_to_string(path).expect("motiond.example.toml at the repository root");
        assert_eq!(
            text, DEFAULTS_TOML,
            "run `motiond config defaults > motiond.example.toml`"
        );
    }

    #[test]
    fn layers_apply_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("motiond.toml");
        std::fs::write(
            &file,
            "[server]\nlisten = \"127.0.0.1:9000\"\n[worker]\nmax_attempts = 7\nlease_ms = 5000\n",
        )
        .unwrap();
        let sources = Sources {
            file: Some(file),
            env: env(&[
                ("MOTIOND_WORKER__MAX_ATTEMPTS", "5"),
                ("MOTIOND_WEBHOOKS__RETRY_DELAYS_S", "[1, 2]"),
            ]),
            flags: vec![],
        }
        .flag("server.listen", "127.0.0.1:0");
        let loaded = Config::load(&sources).unwrap();
        let c = loaded.config;
        assert_eq!(c.server.listen, "127.0.0.1:0", "flag beats file");
        assert_eq!(c.worker.max_attempts, 5, "env beats file");
        assert_eq!(c.worker.lease_ms, 5000, "file beats default");
        assert_eq!(c.webhooks.retry_delays_s, vec![1, 2]);
        assert_eq!(c.worker.task_timeout_s, 600, "untouched default");
        assert!(loaded.warnings.is_empty());
    }

    #[test]
    fn unknown_key_in_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("motiond.toml");
        std::fs::write(&file, "[server]\nlisten_addr = \"127.0.0.1:9000\"\n").unwrap();
        let err = Config::load(&Sources {
            file: Some(file),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("listen_addr"), "{err}");
        std::fs::write(dir.path().join("b.toml"), "[nosuchsection]\nx = 1\n").unwrap();
        let err = Config::load(&Sources {
            file: Some(dir.path().join("b.toml")),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("nosuchsection"), "{err}");
    }

    #[test]
    fn unknown_env_key_is_a_warning() {
        let loaded = Config::load(&Sources {
            env: env(&[("MOTIOND_SERVER__LISTN", "x")]),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(loaded.warnings.len(), 1);
        assert!(loaded.warnings[0].contains("MOTIOND_SERVER__LISTN"));
    }

    /// The variables our scripts and tests document are not "unknown settings".
    #[test]
    fn helper_variables_are_not_settings() {
        let loaded = Config::load(&Sources {
            env: env(&[
                ("MOTIOND_LISTEN", "127.0.0.1:1"),
                ("MOTIOND_PYTHON", "python3"),
                ("MOTIOND_TEST_PYTHON", "python3"),
                ("MOTIOND_BIN", "motiond"),
            ]),
            ..Default::default()
        })
        .unwrap();
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    }

    #[test]
    fn secret_from_file_and_redacted_debug() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("key");
        // 32 bytes: "0123456789abcdef0123456789abcdef".
        let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
        std::fs::write(&secret, format!("{key}\n")).unwrap();
        let sources = Sources {
            env: env(&[(
                "MOTIOND_WEBHOOKS__MASTER_KEY_FILE",
                secret.to_str().unwrap(),
            )]),
            ..Default::default()
        };
        let c = Config::load(&sources).unwrap().config;
        assert_eq!(c.webhooks.master_key.expose(), key);
        let debug = format!("{c:?}");
        assert!(!debug.contains("MDEyMzQ1Njc4"), "secret leaked into Debug");
    }

    #[test]
    fn missing_secret_file_is_an_error() {
        let sources = Sources {
            env: env(&[("MOTIOND_DATABASE__URL_FILE", "/nonexistent/motiond-secret")]),
            ..Default::default()
        };
        assert!(matches!(
            Config::load(&sources),
            Err(ConfigError::SecretFile { .. })
        ));
    }

    #[test]
    fn data_dir_and_models_alias() {
        let sources = Sources {
            env: env(&[
                ("MOTIOND_DATA_DIR", "/srv/m"),
                ("MOTIOND_MODELS_DIR", "/opt/models"),
                ("MOTIOND_LOG", "debug"),
            ]),
            ..Default::default()
        };
        let loaded = Config::load(&sources).unwrap();
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        let c = loaded.config;
        assert_eq!(c.data_dir(), PathBuf::from("/srv/m"));
        assert_eq!(c.models_dir(), PathBuf::from("/opt/models"));
        assert_eq!(c.database_url(), "sqlite:///srv/m/motiond.db");
        assert_eq!(c.storage_url(), "file:///srv/m/blobs");
        let precise = Sources {
            env: env(&[("MOTIOND_MODELS_DIR", "/a"), ("MOTIOND_MODELS__DIR", "/b")]),
            ..Default::default()
        };
        assert_eq!(
            Config::load(&precise).unwrap().config.models_dir(),
            PathBuf::from("/b")
        );
    }

    #[test]
    fn public_url_rules() {
        let c = Config::default();
        assert_eq!(
            c.public_url("0.0.0.0:8080".parse().unwrap()),
            "http://127.0.0.1:8080"
        );
        assert_eq!(c.public_url("[::]:81".parse().unwrap()), "http://[::1]:81");
        assert_eq!(
            c.public_url("10.1.2.3:80".parse().unwrap()),
            "http://10.1.2.3:80"
        );
        let mut c = Config::default();
        c.server.public_url = "https://m.example.com/prefix/".into();
        assert_eq!(
            c.public_url("0.0.0.0:1".parse().unwrap()),
            "https://m.example.com/prefix"
        );
    }

    #[test]
    fn invalid_values_are_rejected() {
        let sources = Sources {
            env: env(&[("MOTIOND_MODELS__LANDMARK", "huge")]),
            ..Default::default()
        };
        assert!(matches!(
            Config::load(&sources),
            Err(ConfigError::Invalid(_))
        ));
        let sources = Sources {
            env: env(&[("MOTIOND_WORKER__CONCURRENCY", "many")]),
            ..Default::default()
        };
        assert!(Config::load(&sources).is_err());
        let sources = Sources {
            env: env(&[("MOTIOND_RETENTION__DAYS", "-1")]),
            ..Default::default()
        };
        assert!(Config::load(&sources).is_err(), "days are unsigned");
        for (var, value, why) in [
            ("MOTIOND_WORKER__TEMP_MAX_AGE_S", "600", "temp_max_age_s"),
            ("MOTIOND_WORKER__TASK_TIMEOUT_S", "0", "task_timeout_s"),
            ("MOTIOND_WEBHOOKS__LEASE_MS", "14999", "webhooks.lease_ms"),
            ("MOTIOND_WEBHOOKS__TIMEOUT_S", "56", "webhooks.lease_ms"),
            (
                "MOTIOND_WORKER__JANITOR_INTERVAL_MS",
                "0",
                "janitor_interval_ms",
            ),
            (
                "MOTIOND_WEBHOOKS__POLL_INTERVAL_MS",
                "0",
                "webhooks.poll_interval_ms",
            ),
            ("MOTIOND_DATABASE__MAX_CONNECTIONS", "0", "max_connections"),
            ("MOTIOND_DATABASE__URL", "sqlite://:memory:", "in-memory"),
            (
                "MOTIOND_WORKER__TASK_TIMEOUT_S",
                "18446744073709551615",
                "task_timeout_s",
            ),
        ] {
            let sources = Sources {
                env: env(&[(var, value)]),
                ..Default::default()
            };
            match Config::load(&sources) {
                Err(ConfigError::Invalid(message)) => assert!(message.contains(why), "{message}"),
                other => panic!("{var}={value}: {other:?}"),
            }
        }
    }

    #[test]
    fn retention_days_are_accepted() {
        let sources = Sources {
            env: env(&[("MOTIOND_RETENTION__DAYS", "30")]),
            ..Default::default()
        };
        assert_eq!(Config::load(&sources).unwrap().config.retention.days, 30);
    }

    fn load_error(pairs: &[(&str, &str)]) -> String {
        let sources = Sources {
            env: env(pairs),
            ..Default::default()
        };
        Config::load(&sources).unwrap_err().to_string()
    }

    /// A value of the wrong type names the variable it came from and the key as users write it.
    #[test]
    fn type_errors_name_their_origin() {
        assert_eq!(
            load_error(&[("MOTIOND_WORKER__LEASE_MS", "soon")]),
            "invalid configuration: invalid type: found string \"soon\", expected u64 for key \
             \"worker.lease_ms\" in environment variable MOTIOND_WORKER__LEASE_MS"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.toml");
        std::fs::write(&file, "[limits]\ntoken_rps = true\n").unwrap();
        let err = Config::load(&Sources {
            file: Some(file.clone()),
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.ends_with(&format!(
                "for key \"limits.token_rps\" in config file {}",
                file.display()
            )),
            "{err}"
        );
        let flag = Sources::default().flag("data_dir", 5);
        let err = Config::load(&flag).unwrap_err().to_string();
        assert!(
            err.ends_with("in command-line option for data_dir"),
            "{err}"
        );
    }

    /// Values that would only fail later (when a listener binds, a store opens or a URL is
    /// issued) are refused when the configuration loads, before anything is created.
    #[test]
    fn addresses_urls_and_keys_are_checked_at_load() {
        for (var, value, expected) in [
            ("MOTIOND_METRICS__LISTEN", "9090", "metrics.listen"),
            (
                "MOTIOND_METRICS__LISTEN",
                "local host:9090",
                "metrics.listen",
            ),
            (
                "MOTIOND_SERVER__PUBLIC_URL",
                "https:m.example.com",
                "usual form",
            ),
            (
                "MOTIOND_SERVER__PUBLIC_URL",
                "https://m.example.com\\motion",
                "usual form",
            ),
            (
                "MOTIOND_STORAGE__URL",
                "https://key:hunter2@bucket.example",
                "file:///",
            ),
            (
                "MOTIOND_DATABASE__URL",
                "sqlite:///srv/m.db?mode=rwc",
                "no ?options",
            ),
            (
                "MOTIOND_SERVER__PUBLIC_URL",
                "motion.example.com",
                "server.public_url",
            ),
            (
                "MOTIOND_SERVER__PUBLIC_URL",
                "ftp://m.example.com",
                "server.public_url",
            ),
            (
                "MOTIOND_SERVER__PUBLIC_URL",
                "https://m.example.com/?a=1",
                "query",
            ),
            (
                "MOTIOND_SERVER__PUBLIC_URL",
                "https://u:hunter2@m.example.com",
                "credentials",
            ),
            ("MOTIOND_STORAGE__URL", "s3://bucket/prefix", "reserved"),
            ("MOTIOND_STORAGE__URL", "file://relative/blobs", "ABSOLUTE"),
            ("MOTIOND_STORAGE__URL", "/srv/blobs", "file:///"),
            (
                "MOTIOND_DATABASE__URL",
                "postgres://u:hunter2@db/m",
                "reserved",
            ),
            (
                "MOTIOND_DATABASE__URL",
                "mysql://u:hunter2@db/m",
                "sqlite://PATH",
            ),
            (
                "MOTIOND_WEBHOOKS__MASTER_KEY",
                "c2VjcmV0LWtleQ==",
                "32 bytes",
            ),
        ] {
            let err = load_error(&[(var, value)]);
            assert!(err.contains(expected), "{var}={value}: {err}");
            assert!(
                !err.contains("hunter2"),
                "a password is never echoed: {err}"
            );
            if var.contains("MASTER_KEY") {
                assert!(!err.contains(value), "the key is never echoed: {err}");
            }
        }
        let good = Sources {
            env: env(&[
                ("MOTIOND_METRICS__LISTEN", "localhost:9090"),
                (
                    "MOTIOND_SERVER__PUBLIC_URL",
                    "https://m.example.com:8443/motion/",
                ),
                ("MOTIOND_STORAGE__URL", "file:///srv/blobs"),
                ("MOTIOND_DATABASE__URL", "sqlite:///srv/m.db"),
            ]),
            ..Default::default()
        };
        Config::load(&good).unwrap();
        // Off, the metrics listener is not checked: a leftover value does not stop the start.
        let off = Sources {
            env: env(&[
                ("MOTIOND_METRICS__ENABLED", "false"),
                ("MOTIOND_METRICS__LISTEN", "port 9090"),
            ]),
            ..Default::default()
        };
        Config::load(&off).unwrap();
        for listen in ["[::1]:9090", "0.0.0.0:9090", "metrics-host.internal:9464"] {
            assert!(is_listen_address(listen), "{listen}");
        }
    }
}
