//! Ports: the role traits behind which storage, media and signalling adapters live.
//!
//! Each trait names operations (admit, claim, finish …), not CRUD, so that each backend can
//! make every operation atomic in its own way. Every query that reads tenant data takes the
//! account (or user) id and must carry it in its `WHERE` clause. Adapters return
//! [`StoreError`]; "not found / not yours" is `Ok(None)` (or an empty result), never an error.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::AsyncRead;
use tokio_util::sync::CancellationToken;

use crate::clock::Millis;
use crate::domain::*;
use crate::ids::TokenHash;
use crate::reason::FailureReason;

/// Failure of a storage adapter (database or blob store).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend cannot be reached or is overloaded (busy, I/O error, pool timeout).
    /// Maps to 503 + `Retry-After: 5`.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// A uniqueness or integrity rule was violated (for example a duplicate id).
    #[error("storage conflict: {0}")]
    Conflict(String),
    /// Anything else (corrupt row, bug). Maps to 500.
    #[error("storage error: {0}")]
    Internal(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

// ---------------------------------------------------------------------------------------
// Users and tokens
// ---------------------------------------------------------------------------------------

/// Users (created by the admin CLI) and their webhook secrets.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Returns the user with this name, creating it if needed.
    async fn ensure_user(&self, name: &str, now: Millis) -> StoreResult<User>;
    async fn user_by_name(&self, name: &str) -> StoreResult<Option<User>>;
    /// Stores the user's webhook secret, encrypted by the caller (never in clear).
    async fn set_webhook_secret(&self, user: UserId, sealed: &[u8]) -> StoreResult<()>;
    /// Stores `sealed` as the user's webhook secret unless one is stored already, and returns
    /// the stored one (`None` for no such user): of two first uses at once, both get the
    /// same secret.
    async fn first_webhook_secret(
        &self,
        user: UserId,
        sealed: &[u8],
    ) -> StoreResult<Option<Vec<u8>>>;
    async fn webhook_secret(&self, user: UserId) -> StoreResult<Option<Vec<u8>>>;
}

/// "Has anything been committed since?", answered cheaply and synchronously, for any writer in
/// any process sharing the store. Equal stamps mean that no commit happened in between, so an
/// answer read after the first stamp is still the store's answer: readers may reuse it. A store
/// that cannot tell returns `None` (nothing is reused); adapters without the capability simply
/// do not offer it.
pub trait ChangeStamp: Send + Sync {
    fn stamp(&self) -> Option<i64>;
}

/// API tokens, stored only as SHA-256 hashes.
#[async_trait]
pub trait TokenStore: Send + Sync {
    async fn add_token(&self, user: UserId, hash: &TokenHash, now: Millis) -> StoreResult<()>;
    /// The user of a live (not revoked) token.
    async fn user_by_token(&self, hash: &TokenHash) -> StoreResult<Option<User>>;
    /// Revokes a token; false if it was unknown or already revoked.
    async fn revoke_token(&self, hash: &TokenHash) -> StoreResult<bool>;
}

// ---------------------------------------------------------------------------------------
// Accounts
// ---------------------------------------------------------------------------------------

/// Outcome of [`AccountStore::upsert`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountUpsert {
    Created(Account),
    Updated(Account),
    /// Creating one more account would exceed the per-user limit.
    LimitReached,
}

/// What deleting an account left for the caller to do.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccountDeletion {
    /// Tasks that were running; the caller signals their workers to stop.
    pub running_tasks: Vec<TaskId>,
}

#[async_trait]
pub trait AccountStore: Send + Sync {
    /// The user's accounts, ordered by email.
    async fn list_accounts(&self, user: UserId) -> StoreResult<Vec<Account>>;
    async fn account(&self, user: UserId, email: &str) -> StoreResult<Option<Account>>;
    /// Creates (with `new_id`) or replaces maxJobs and replyUrl of the account, in one
    /// transaction that also enforces `max_accounts` per user.
    async fn upsert_account(
        &self,
        user: UserId,
        input: &AccountInput,
        new_id: AccountId,
        max_accounts: u32,
        now: Millis,
    ) -> StoreResult<AccountUpsert>;
    /// Deletes the account and everything it owns (assets, tasks, works, files, pending
    /// events) in one transaction; blobs go to the trash (see [`FileStore::take_trash`]).
    async fn delete_account(
        &self,
        user: UserId,
        email: &str,
    ) -> StoreResult<Option<AccountDeletion>>;
}

// ---------------------------------------------------------------------------------------
// Assets
// ---------------------------------------------------------------------------------------

#[async_trait]
pub trait AssetStore: Send + Sync {
    /// Inserts the asset and its file rows in one transaction.
    async fn insert_asset(&self, asset: &NewAsset, now: Millis) -> StoreResult<Asset>;
    /// One page of the account's assets.
    async fn list_assets(&self, account: AccountId, q: &AssetQuery) -> StoreResult<Vec<Asset>>;
    /// Deletes the named assets of the account; returns the ids actually deleted, in the
    /// order given. Files pinned by unfinished tasks are detached (404 at once) and trashed
    /// when those tasks end; the others go to the trash now.
    async fn delete_assets(&self, account: AccountId, ids: &[String]) -> StoreResult<Vec<String>>;
}

// ---------------------------------------------------------------------------------------
// Files and blob trash
// ---------------------------------------------------------------------------------------

/// What an account-scoped file lookup found: the file and the asset it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetFileRef {
    pub file: StoredFile,
    pub asset_id: String,
    pub asset_kind: AssetKind,
    /// Asset duration in ms (videos).
    pub asset_duration_ms: u64,
}

/// A blob waiting to be deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrashItem {
    pub id: i64,
    pub blob_key: String,
}

#[async_trait]
pub trait FileStore: Send + Sync {
    /// A servable file by fid: its owner exists and it is not detached (`/files`).
    async fn file_by_fid(&self, fid: &str) -> StoreResult<Option<StoredFile>>;
    /// An asset file of *this account* with this fid and exact name (motion-upload URL
    /// recognition); `None` for unknown, deleted, foreign or non-asset files.
    async fn asset_file(
        &self,
        account: AccountId,
        fid: &str,
        name: &str,
    ) -> StoreResult<Option<AssetFileRef>>;
    /// A servable file of *this account* with this fid and exact name, whatever owns it
    /// (an asset or a motion's results); `None` for unknown, deleted, foreign or official
    /// files. Tells motion-upload's rows 15/17 (our own file, wrong kind) from 14/16.
    async fn account_file(
        &self,
        account: AccountId,
        fid: &str,
        name: &str,
    ) -> StoreResult<Option<StoredFile>>;
    /// Blob keys whose rows are gone, oldest first, for the janitor to delete.
    async fn take_trash(&self, limit: u32) -> StoreResult<Vec<TrashItem>>;
    /// Forgets trash items whose blobs were deleted.
    async fn confirm_trash(&self, ids: &[i64]) -> StoreResult<()>;
    /// Those of `keys` that no file row points at (orphan sweep).
    async fn unreferenced_keys(&self, keys: &[String]) -> StoreResult<Vec<String>>;
}

// ---------------------------------------------------------------------------------------
// Tasks: the queue
// ---------------------------------------------------------------------------------------

/// Result of [`TaskStore::admit`].
#[derive(Debug, Clone, PartialEq)]
// Returned once per call and matched at once; boxing would only add noise.
#[allow(clippy::large_enum_variant)]
pub enum Admission {
    Admitted(TaskView),
    /// The account already has `unfinished` ≥ maxJobs unfinished tasks.
    Full {
        unfinished: u32,
    },
    /// The source video or the cover is no longer an asset file of the account (its asset
    /// was deleted after the URLs were looked up). Nothing was written.
    InputNotFound,
}

/// Who claims: one worker slot of one process boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerId {
    /// Identifies the process start; rows left running by another boot are orphans.
    pub boot_id: String,
    /// Slot name within the process, for logs and lease ownership.
    pub slot: String,
}

impl WorkerId {
    pub fn owner(&self) -> String {
        format!("{}/{}", self.boot_id, self.slot)
    }
}

/// A held claim on a running task. Every write of the job carries `token` (fencing).
#[derive(Debug, Clone, PartialEq)]
pub struct Lease {
    pub task_id: TaskId,
    pub account_id: AccountId,
    pub token: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub task: Task,
}

/// What a heartbeat learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseState {
    /// The lease is extended; carry on.
    Held,
    /// The lease is extended but the task is to be cancelled: stop and publish nothing.
    CancelRequested,
    /// The lease is gone (expired and reclaimed, cancelled, deleted): stop at once.
    Lost,
}

/// The outcome a job reports to [`TaskStore::finish`].
#[derive(Debug, Clone, PartialEq, Eq)]
// Returned once per call and matched at once; boxing would only add noise.
#[allow(clippy::large_enum_variant)]
pub enum Outcome {
    Succeeded(NewWork),
    Failed(FailureReason),
}

/// Result of [`TaskStore::finish`].
#[derive(Debug, Clone, PartialEq)]
// Returned once per call and matched at once; boxing would only add noise.
#[allow(clippy::large_enum_variant)]
pub enum Finished {
    /// The final state is committed (with work, files and the outbox event).
    Published(TaskView),
    /// Token, state or row did not match: nothing was written. The caller deletes the
    /// attempt's blobs.
    Lost,
}

/// Renders the frozen webhook body of a status change, inside the transaction that makes
/// the change. Implemented with the `wire` module (envelope + `replyRef`); pure, no I/O.
pub trait EventRenderer: Send + Sync {
    fn render(&self, view: &TaskView) -> Vec<u8>;
}

/// Result of [`TaskStore::reap`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReapReport {
    /// Expired leases returned to the queue.
    pub requeued: Vec<TaskId>,
    /// Tasks failed with "interrupted too many times" or "timed out".
    pub failed: Vec<TaskId>,
}

/// What deleting a task did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDeletion {
    pub work_ids: Vec<WorkId>,
    /// The task was running: signal its worker.
    pub was_running: bool,
}

/// Queue depth by wire status, for gauges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueStats {
    pub submitted: u64,
    pub processing: u64,
}

#[async_trait]
pub trait TaskStore: Send + Sync {
    /// Checks that the input's source and cover files are still asset files of the account
    /// (not deleted or detached), counts the account's unfinished tasks and inserts the task
    /// if the count is below `max_jobs`, in one transaction. createTime becomes
    /// max(requested, last + 1).
    async fn admit(&self, task: &NewTask, max_jobs: u32) -> StoreResult<Admission>;

    /// Claims the oldest queued task: state running, fresh token, lease until DB now +
    /// `lease`, attempt + 1. The first claim moves the wire status to 10 and writes the
    /// `processing` outbox event (when the task has a callback URL) in the same transaction.
    async fn claim(
        &self,
        worker: &WorkerId,
        lease: Duration,
        render: &dyn EventRenderer,
    ) -> StoreResult<Option<Lease>>;

    /// Extends the lease (token-guarded) and records progress; reports cancellation.
    async fn heartbeat(
        &self,
        lease: &Lease,
        lease_for: Duration,
        progress: f64,
    ) -> StoreResult<LeaseState>;

    /// What a heartbeat would report, without extending the lease or writing anything: lets
    /// a worker notice a cancellation from another process between heartbeats.
    async fn lease_state(&self, lease: &Lease) -> StoreResult<LeaseState>;

    /// Token-guarded final transition: task state and wire status, work + file rows on
    /// success, the final outbox event (abandoning an undelivered processing event), and
    /// the source pin released — all in one transaction.
    async fn finish(
        &self,
        lease: &Lease,
        outcome: &Outcome,
        now: Millis,
        render: &dyn EventRenderer,
    ) -> StoreResult<Finished>;

    /// Returns a running task to the queue at once without counting the attempt (shutdown).
    async fn release(&self, lease: &Lease) -> StoreResult<bool>;

    /// Expires the leases of rows left running by other boots (single-process embedded
    /// mode, at start), so the next [`TaskStore::reap`] requeues them (or fails them when
    /// their attempts are used up) without waiting for lease expiry.
    async fn expire_other_boots(&self, current_boot: &str) -> StoreResult<Vec<TaskId>>;

    /// Expired leases go back to the queue while attempts remain, else fail with
    /// "interrupted too many times"; attempts running longer than `task_timeout` fail with
    /// "timed out". Final events are written in the same transaction.
    async fn reap(
        &self,
        max_attempts: u32,
        task_timeout: Duration,
        now: Millis,
        render: &dyn EventRenderer,
    ) -> StoreResult<ReapReport>;

    /// `DELETE /scheduler/{id}`: an unfinished task of one of the user's accounts becomes
    /// 50 "Task was canceled" with its final event. `None` if unknown, foreign or final.
    /// The returned view says whether it was running (`task.state` before is not kept; use
    /// the `bool`).
    async fn cancel(
        &self,
        user: UserId,
        task: TaskId,
        now: Millis,
        render: &dyn EventRenderer,
    ) -> StoreResult<Option<(TaskView, bool)>>;

    /// `DELETE /tasks/{id}`: deletes the task of this account, its work, files and pending
    /// events; blobs go to the trash. `None` if unknown or foreign.
    async fn delete_task(
        &self,
        account: AccountId,
        task: TaskId,
    ) -> StoreResult<Option<TaskDeletion>>;

    /// Retention (`retention.days`): deletes up to `limit` final tasks last changed before
    /// `cutoff`, like [`TaskStore::delete_task`] (works, files → trash, events dropped).
    async fn delete_final_before(&self, cutoff: Millis, limit: u32) -> StoreResult<Vec<TaskId>>;

    async fn task(&self, account: AccountId, task: TaskId) -> StoreResult<Option<TaskView>>;
    async fn list_tasks(
        &self,
        account: AccountId,
        cursor: TaskCursor,
        page_size: u32,
    ) -> StoreResult<Vec<TaskView>>;
    /// Unfinished tasks of all the user's accounts, oldest first.
    async fn unfinished_for_user(&self, user: UserId) -> StoreResult<Vec<SchedulerEntry>>;
    /// maxJobs and unfinished count of each of the user's accounts, ordered by email.
    async fn capacity_for_user(&self, user: UserId) -> StoreResult<Vec<AccountCapacity>>;
    async fn queue_stats(&self) -> StoreResult<QueueStats>;
}

// ---------------------------------------------------------------------------------------
// Motions
// ---------------------------------------------------------------------------------------

#[async_trait]
pub trait MotionStore: Send + Sync {
    /// One page of the account's motions, newest first (createTime desc, workId desc).
    async fn list_user_motions(
        &self,
        account: AccountId,
        page_num: u32,
        page_size: u32,
    ) -> StoreResult<Vec<Work>>;
    /// Inserts an official motion under its stable workId ([`crate::ids::official_work_id`]
    /// of the catalog key). A key already taken is replaced (its files go to the trash) or
    /// kept as `on_existing` says; `None` when it was kept and nothing was written.
    async fn upsert_official(
        &self,
        input: &OfficialMotionInput,
        on_existing: OnExisting,
        now: Millis,
    ) -> StoreResult<Option<OfficialMotion>>;
    /// All official motions, ascending abs(workId).
    async fn list_official(&self) -> StoreResult<Vec<OfficialMotion>>;
    /// Removes an official motion; its files go to the trash, and the key is remembered as
    /// removed (until it is upserted again).
    async fn remove_official(&self, catalog_key: &str, now: Millis) -> StoreResult<bool>;
    /// The catalog keys removed by [`MotionStore::remove_official`] and not upserted since:
    /// the bundled catalog's seeding leaves them out.
    async fn removed_official_keys(&self) -> StoreResult<Vec<String>>;
}

// ---------------------------------------------------------------------------------------
// Webhook outbox
// ---------------------------------------------------------------------------------------

#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Claims up to `limit` due events (next_attempt_at ≤ DB now, not leased), leasing each
    /// for `lease` with a fresh claim token. No user gets more than `per_user` events leased
    /// at once, counting those other deliverers hold: one user's slow receivers cannot take
    /// every delivery slot from the others.
    async fn claim_due(
        &self,
        owner: &str,
        lease: Duration,
        limit: u32,
        per_user: u32,
        now: Millis,
    ) -> StoreResult<Vec<WebhookEvent>>;
    /// The attempt succeeded (2xx) or ended the event (410, guard refusal): done.
    async fn mark_done(
        &self,
        event: &WebhookEvent,
        delivered: bool,
        now: Millis,
    ) -> StoreResult<bool>;
    /// The attempt failed; retry at `next_attempt_at`.
    async fn mark_retry(
        &self,
        event: &WebhookEvent,
        next_attempt_at: Millis,
        error: &str,
        now: Millis,
    ) -> StoreResult<bool>;
    /// Events still to deliver (gauge).
    async fn pending_count(&self) -> StoreResult<u64>;
}

// ---------------------------------------------------------------------------------------
// Blobs
// ---------------------------------------------------------------------------------------

/// A readable blob stream.
pub type BlobReader = Pin<Box<dyn AsyncRead + Send>>;

/// A blob read: the stream of the requested range and the blob's total length.
pub struct BlobRead {
    pub reader: BlobReader,
    /// Total length of the blob (not of the range).
    pub total_len: u64,
    /// The byte range being returned.
    pub range: Range<u64>,
}

/// Content-addressed nothing: keys are chosen by core (see `blob_keys`). Writes are
/// atomic (a reader never sees a half-written blob).
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores the file at `src` under `key` (replacing any earlier blob with that key).
    async fn put_file(&self, key: &str, src: &Path) -> StoreResult<()>;
    async fn put_bytes(&self, key: &str, bytes: &[u8]) -> StoreResult<()>;
    /// Reads the blob, or `range` of it (clamped to the length; the caller validates
    /// ranges against the stored size). `None` if absent: the store is reachable and the
    /// blob is not in it, for good. A key that cannot be found because the store itself cannot
    /// be reached (its folder gone for a moment) is `Unavailable`, never `None`.
    async fn get(&self, key: &str, range: Option<Range<u64>>) -> StoreResult<Option<BlobRead>>;
    /// Deletes the blob; absent is not an error, an unreachable store is (`Unavailable`).
    async fn delete(&self, key: &str) -> StoreResult<()>;
    /// Copies the whole blob to a local file (the job directory).
    async fn copy_to_file(&self, key: &str, dest: &Path) -> StoreResult<bool> {
        let Some(mut read) = self.get(key, None).await? else {
            return Ok(false);
        };
        let mut out = tokio::fs::File::create(dest)
            .await
            .map_err(|e| StoreError::Internal(format!("create {}: {e}", dest.display())))?;
        tokio::io::copy(&mut read.reader, &mut out)
            .await
            .map_err(|e| StoreError::Unavailable(format!("copy blob {key}: {e}")))?;
        tokio::io::AsyncWriteExt::flush(&mut out)
            .await
            .map_err(|e| StoreError::Internal(format!("flush {}: {e}", dest.display())))?;
        Ok(true)
    }
    /// Cheap reachability check for `/readyz`.
    async fn ping(&self) -> StoreResult<()>;
    /// Keys under `prefix` (e.g. `results/`) with their last-modified time in ms, for the
    /// orphan sweep: at most `limit` of them, in one fixed order, those after the key `after`
    /// (a page resumes from the last key of the one before; `None`: from the first).
    async fn list_keys(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<(String, Millis)>>;
}

// ---------------------------------------------------------------------------------------
// Media (implemented by the worker crate over motion-capture's hardened runner)
// ---------------------------------------------------------------------------------------

/// The declared type family, from the request's Content-Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclaredType {
    Png,
    Jpeg,
    /// `video/mp4` or `video/quicktime` (ISO-BMFF/QuickTime, demuxer `mov`).
    Mov,
}

/// What inspection found in a file that is really of the declared type.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaInfo {
    Image {
        width: u32,
        height: u32,
    },
    Video {
        /// Display size (after rotation).
        width: u32,
        height: u32,
        /// Stream duration, else container duration, in seconds.
        duration_s: f64,
        /// Average frame rate.
        fps: f64,
        /// Frame count when known.
        frames: Option<u64>,
        /// ffprobe codec name of the first video stream.
        codec: String,
        /// Number of streams in the file.
        streams: u32,
    },
}

/// Failure of an inspection.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// The file is not a valid file of the declared type (wrong format, undecodable,
    /// disguised playlist, no video stream, probe timeout …) → "not a valid <type> file".
    #[error("invalid media: {0}")]
    Invalid(String),
    /// Our fault (ffprobe missing, I/O): 500, logged.
    #[error("media tool failure: {0}")]
    Tool(String),
}

/// Probes untrusted uploads and makes video covers, through the hardened subprocess runner.
#[async_trait]
pub trait MediaInspector: Send + Sync {
    /// Probes `path` forcing the demuxer of `declared`.
    async fn inspect(&self, path: &Path, declared: DeclaredType)
    -> Result<MediaInfo, InspectError>;
    /// Writes a JPEG cover of the frame nearest `at_s` seconds, at display size, to `out`.
    async fn make_cover(&self, video: &Path, at_s: f64, out: &Path) -> Result<(), InspectError>;
}

// ---------------------------------------------------------------------------------------
// Extraction (implemented by the worker crate over motion-capture's Engine)
// ---------------------------------------------------------------------------------------

/// One extraction job: local input files and an output directory, all inside the job dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractJob {
    pub task_id: TaskId,
    pub source: PathBuf,
    pub out_dir: PathBuf,
}

/// The files an extraction produced (inside `out_dir`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// `motion.mp4` (H.264 preview).
    pub preview: PathBuf,
    pub bvh_zip: PathBuf,
    pub binary_zip: PathBuf,
    /// Preview size and duration (works[0].resource).
    pub width: u32,
    pub height: u32,
    pub duration_ms: u64,
}

/// Why an extraction did not produce a motion.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// A user-facing failure: the task ends in 50 with this reason.
    #[error("extraction failed: {0}")]
    Failed(FailureReason),
    /// The job was cancelled through its token.
    #[error("extraction cancelled")]
    Cancelled,
    /// Our fault; the task fails with "Internal error" (details logged).
    #[error("extraction error: {0}")]
    Internal(String),
    /// The worker's own resources ran short (its job folder could not take the outputs: out of
    /// file descriptors, a full disk): the same job may well succeed later, so the task is left
    /// to a later attempt (within `worker.max_attempts`) rather than failed.
    #[error("extraction could not store its outputs: {0}")]
    Unavailable(String),
}

/// Receives progress (0..=1) from a running extraction.
pub trait ProgressSink: Send + Sync {
    fn report(&self, fraction: f64);
}

/// Runs the engine on one job.
#[async_trait]
pub trait MotionExtractor: Send + Sync {
    async fn extract(
        &self,
        job: ExtractJob,
        cancel: CancellationToken,
        progress: &dyn ProgressSink,
    ) -> Result<Extracted, ExtractError>;
}

// ---------------------------------------------------------------------------------------
// Signals between API and workers
// ---------------------------------------------------------------------------------------

/// Wakes idle workers and stops running jobs in this process (plus NOTIFY on Postgres).
pub trait WorkerSignals: Send + Sync {
    /// A task was admitted: an idle worker should try to claim.
    fn wake(&self);
    /// The task was cancelled or deleted: its running job (if here) must stop.
    fn cancel_running(&self, task: TaskId);
}

impl From<StoreError> for crate::error::ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => crate::error::ServiceError::unavailable(e),
            StoreError::Conflict(_) | StoreError::Internal(_) => {
                crate::error::ServiceError::internal(e)
            }
        }
    }
}
