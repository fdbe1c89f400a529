//! Domain types shared by services, ports and adapters.
//!
//! These are plain data. JSON shapes for the wire live in `wire` (H5); URLs are built at
//! response time from fids, so nothing here stores an absolute URL.

use serde::{Deserialize, Serialize};

use crate::clock::Millis;
use crate::ids::TokenHash;
use crate::reason::FailureReason;

/// Internal id of a user (created by the admin CLI).
pub type UserId = i64;
/// An account's numeric id; shown as `userId` on the wire.
pub type AccountId = i64;
/// Task id (contract §2.8).
pub type TaskId = i64;
/// Work (motion) id: positive for user motions, negative for official ones.
pub type WorkId = i64;

/// A user: the owner of tokens and accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub created_at: Millis,
}

/// A stored API token (only its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub hash: TokenHash,
    pub user_id: UserId,
    pub created_at: Millis,
    pub revoked: bool,
}

/// An account: a named slot within a user (contract §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub user_id: UserId,
    /// Lowercased email.
    pub email: String,
    pub max_jobs: u32,
    pub reply_url: Option<String>,
    pub create_time: Millis,
    pub update_time: Millis,
}

/// Input for creating or replacing an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountInput {
    pub email: String,
    pub max_jobs: u32,
    pub reply_url: Option<String>,
}

/// What a file belongs to; a file is reachable only while its owner exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileOwnerKind {
    Asset,
    Work,
    Official,
}

impl FileOwnerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Asset => "asset",
            Self::Work => "work",
            Self::Official => "official",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "asset" => Some(Self::Asset),
            "work" => Some(Self::Work),
            "official" => Some(Self::Official),
            _ => None,
        }
    }
}

/// The role a file plays for its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileRole {
    /// The uploaded bytes of an asset.
    Original,
    /// A cover image (video asset cover, motion cover).
    Cover,
    /// A motion's preview video `motion.mp4`.
    Preview,
    /// `bvh.zip`.
    BvhZip,
    /// `binary.zip`.
    BinaryZip,
}

impl FileRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Original => "original",
            Self::Cover => "cover",
            Self::Preview => "preview",
            Self::BvhZip => "bvh_zip",
            Self::BinaryZip => "binary_zip",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "original" => Some(Self::Original),
            "cover" => Some(Self::Cover),
            "preview" => Some(Self::Preview),
            "bvh_zip" => Some(Self::BvhZip),
            "binary_zip" => Some(Self::BinaryZip),
            _ => None,
        }
    }
}

/// A stored file: one blob reachable at `/files/{fid}/{name}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub fid: String,
    /// Key in the blob store (see `blob_keys`).
    pub blob_key: String,
    /// URL name, e.g. `k2j4h5g6f7d8s9a0q1w2.mp4`, `cover.jpg`, `bvh.zip`.
    pub name: String,
    pub content_type: String,
    pub size: u64,
    /// Lowercase hex SHA-256 of the bytes.
    pub sha256: String,
    /// Strong ETag value: `"<fid>"` (contract §9.1); the content behind a fid never changes.
    pub etag: String,
    pub role: FileRole,
    pub owner_kind: FileOwnerKind,
    /// Owning account; `None` for official files.
    pub account_id: Option<AccountId>,
    pub width: u32,
    pub height: u32,
    /// Duration in ms (videos), 0 otherwise.
    pub duration_ms: u64,
    pub created_at: Millis,
}

/// A file about to be stored (its blob is already written under `blob_key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFile {
    pub fid: String,
    pub blob_key: String,
    pub name: String,
    pub content_type: String,
    pub size: u64,
    pub sha256: String,
    pub role: FileRole,
    pub width: u32,
    pub height: u32,
    pub duration_ms: u64,
}

impl NewFile {
    /// The ETag of a file is its fid in quotes.
    pub fn etag_for(fid: &str) -> String {
        format!("\"{fid}\"")
    }
}

/// Kind of an uploaded asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetKind {
    Image,
    Video,
}

impl AssetKind {
    /// The wire `contentType` value (`image` / `video`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Video => "video",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "image" => Some(Self::Image),
            "video" => Some(Self::Video),
            _ => None,
        }
    }
}

/// An uploaded asset with its files (the original, and a cover for videos).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    /// Decimal string id (contract §2.8).
    pub id: String,
    pub account_id: AccountId,
    pub kind: AssetKind,
    /// `fileName`, e.g. `k2j4h5g6f7d8s9a0q1w2.mp4`.
    pub name: String,
    pub width: u32,
    pub height: u32,
    /// Duration in ms (0 for images).
    pub duration_ms: u64,
    pub create_time: Millis,
    pub original: StoredFile,
    pub cover: Option<StoredFile>,
}

/// A new asset to insert (blobs already stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAsset {
    pub id: String,
    pub account_id: AccountId,
    pub kind: AssetKind,
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub duration_ms: u64,
    pub create_time: Millis,
    pub original: NewFile,
    pub cover: Option<NewFile>,
}

/// Asset list query (contract §4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetQuery {
    pub page_num: u32,
    pub page_size: u32,
    pub kind: Option<AssetKind>,
    /// Case-insensitive substring of `name`.
    pub name_contains: Option<String>,
    pub ascending: bool,
}

/// Internal queue state of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl TaskState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "queued" => Some(Self::Queued),
            "running" => Some(Self::Running),
            "succeeded" => Some(Self::Succeeded),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

/// The status a client sees (contract §6.1). It never moves backwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum WireStatus {
    Submitted,
    Processing,
    Failed,
    Succeed,
}

impl WireStatus {
    pub fn code(self) -> i64 {
        match self {
            Self::Submitted => 5,
            Self::Processing => 10,
            Self::Failed => 50,
            Self::Succeed => 99,
        }
    }
    pub fn from_code(code: i64) -> Option<Self> {
        match code {
            5 => Some(Self::Submitted),
            10 => Some(Self::Processing),
            50 => Some(Self::Failed),
            99 => Some(Self::Succeed),
            _ => None,
        }
    }
    /// `status_name` on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Processing => "processing",
            Self::Failed => "failed",
            Self::Succeed => "succeed",
        }
    }
    /// `status_final` on the wire.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Failed | Self::Succeed)
    }
    /// Whether a transition from `self` to `to` is allowed: 5→10→99, 5→10→50, 5→50,
    /// and staying in place (a requeued task keeps showing 10).
    pub fn can_move_to(self, to: WireStatus) -> bool {
        use WireStatus::*;
        matches!(
            (self, to),
            (Submitted, Submitted)
                | (Submitted, Processing)
                | (Submitted, Failed)
                | (Processing, Processing)
                | (Processing, Succeed)
                | (Processing, Failed)
        )
    }
}

/// Where the task's input lives: denormalised copies, so the envelope keeps showing the
/// URLs it had after the asset is deleted (contract §6.2) and the worker can still read
/// the pinned blobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskInput {
    pub source_fid: String,
    pub source_name: String,
    pub source_blob_key: String,
    pub cover_fid: String,
    pub cover_name: String,
    pub cover_blob_key: String,
    pub cover_content_type: String,
    /// Source video metadata from the asset (display size, duration).
    pub source_width: u32,
    pub source_height: u32,
    pub source_duration_ms: u64,
}

/// A motion-extraction task.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub id: TaskId,
    pub account_id: AccountId,
    pub state: TaskState,
    pub wire_status: WireStatus,
    pub attempt: u32,
    pub cancel_requested: bool,
    /// 0..=1, reported by heartbeats.
    pub progress: f64,
    pub create_time: Millis,
    pub update_time: Millis,
    pub failure: Option<FailureReason>,
    pub reply_url: Option<String>,
    pub reply_ref: Option<String>,
    pub work_name: String,
    pub input: TaskInput,
}

/// A task to admit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    pub id: TaskId,
    pub account_id: AccountId,
    /// Requested createTime; the store raises it to last + 1 if needed (strictly increasing
    /// per account, contract §2.8).
    pub create_time: Millis,
    pub reply_url: Option<String>,
    pub reply_ref: Option<String>,
    pub work_name: String,
    pub input: TaskInput,
}

/// A user motion: the result of a succeeded task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Work {
    pub id: WorkId,
    pub task_id: TaskId,
    pub account_id: AccountId,
    pub name: String,
    pub create_time: Millis,
    pub preview: StoredFile,
    pub cover: StoredFile,
    pub bvh_zip: StoredFile,
    pub binary_zip: StoredFile,
}

/// The four files of a motion, before insertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MotionFiles {
    pub preview: NewFile,
    pub cover: NewFile,
    pub bvh_zip: NewFile,
    pub binary_zip: NewFile,
}

impl MotionFiles {
    pub fn all(&self) -> [&NewFile; 4] {
        [&self.preview, &self.cover, &self.bvh_zip, &self.binary_zip]
    }
}

/// A work to publish when a task succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWork {
    pub id: WorkId,
    pub create_time: Millis,
    pub files: MotionFiles,
}

/// Everything the API shows about one task: the task, its work when succeeded, and the
/// `limitation` numbers (account's stored maxJobs and unfinished count at read time).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskView {
    pub task: Task,
    pub work: Option<Work>,
    pub max_jobs: u32,
    pub unfinished: u32,
}

impl TaskView {
    /// `limitation.remaining` = max(0, limit − unfinished).
    pub fn remaining(&self) -> u32 {
        self.max_jobs.saturating_sub(self.unfinished)
    }
    /// Top-level `message` (contract §6.1): `""` in 5/10, `"success"` in 99, the reason in 50.
    pub fn message(&self) -> String {
        match self.task.wire_status {
            WireStatus::Submitted | WireStatus::Processing => String::new(),
            WireStatus::Succeed => "success".to_owned(),
            WireStatus::Failed => self
                .task
                .failure
                .as_ref()
                .map(|r| r.message())
                .unwrap_or_else(|| FailureReason::Internal.message()),
        }
    }
}

/// An official catalog motion (negative, stable workId).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficialMotion {
    pub work_id: WorkId,
    pub catalog_key: String,
    pub name: String,
    pub tag: String,
    pub preview: StoredFile,
    pub cover: StoredFile,
    pub bvh_zip: StoredFile,
    pub binary_zip: StoredFile,
    pub updated_at: Millis,
    /// The format its files were built in (`motion_capture::catalog::BUILD_FORMAT` when they
    /// were built; 1 for motions stored before formats were recorded).
    pub build_format: u32,
}

/// Input of `MotionStore::upsert_official`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficialMotionInput {
    /// Stable catalog key, e.g. `walking`; the workId is derived from it.
    pub catalog_key: String,
    pub name: String,
    pub tag: String,
    pub files: MotionFiles,
    /// See [`OfficialMotion::build_format`].
    pub build_format: u32,
}

/// What storing an official motion does when its catalog key is already taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnExisting {
    /// The stored motion is replaced (its files go to the trash); the workId stays.
    Replace,
    /// As `Replace`, but only the motion whose `bvh.zip` is still the file `bvh_fid` (the one a
    /// rebuild was made from): a key that is free (an operator removed the motion while it was
    /// being rebuilt) stays free, a motion imported meanwhile stays, and nothing is written.
    ReplaceIfStill { bvh_fid: String },
    /// The stored motion stays and nothing is written: the check and the write are one
    /// transaction, so two imports of one key never overwrite each other unnoticed.
    Keep,
}

/// Cursor of `GET /tasks` (contract §6.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskCursor {
    /// Newest first.
    Latest,
    /// createTime < value, newest first.
    Before(Millis),
    /// createTime > value, oldest first.
    After(Millis),
}

/// One unfinished task, as the scheduler shows it (contract §7.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerEntry {
    pub task_id: TaskId,
    pub email: String,
    pub create_time: Millis,
    pub reply_url: Option<String>,
    pub reply_ref: Option<String>,
}

/// Capacity of one account (contract §7.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountCapacity {
    pub email: String,
    pub max_jobs: u32,
    pub executing: u32,
}

impl AccountCapacity {
    pub fn available(&self) -> u32 {
        self.max_jobs.saturating_sub(self.executing)
    }
}

/// A webhook outbox event (contract §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    pub id: i64,
    pub task_id: TaskId,
    pub user_id: UserId,
    /// Wire status code of the change (10, 99 or 50).
    pub status: i64,
    /// `msg_<taskId>_<status>`; stable across retries.
    pub webhook_id: String,
    pub url: String,
    /// The frozen body bytes.
    pub body: Vec<u8>,
    /// Attempts made so far (before this claim).
    pub attempts: u32,
    pub created_at: Millis,
    /// Time of the first attempt, if any (retries never continue past 24 h after it).
    pub first_attempt_at: Option<Millis>,
    /// Fencing token of this claim; pass back to `mark_*`.
    pub claim_token: String,
}

/// `webhook-id` of a status change.
pub fn webhook_id(task_id: TaskId, status: WireStatus) -> String {
    format!("msg_{task_id}_{}", status.code())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_status_never_moves_backwards() {
        use WireStatus::*;
        let all = [Submitted, Processing, Failed, Succeed];
        for from in all {
            for to in all {
                if from.can_move_to(to) {
                    assert!(from.code() <= to.code() || to == Failed, "{from:?}->{to:?}");
                    assert!(!from.is_final(), "final {from:?} must not move");
                }
            }
        }
        assert!(Submitted.can_move_to(Failed));
        assert!(!Submitted.can_move_to(Succeed));
        assert!(!Processing.can_move_to(Submitted));
        assert!(!Succeed.can_move_to(Failed));
        assert!(!Failed.can_move_to(Processing));
    }

    #[test]
    fn wire_codes_and_names() {
        for s in [
            WireStatus::Submitted,
            WireStatus::Processing,
            WireStatus::Failed,
            WireStatus::Succeed,
        ] {
            assert_eq!(WireStatus::from_code(s.code()), Some(s));
        }
        assert_eq!(WireStatus::Processing.code(), 10);
        assert_eq!(WireStatus::Failed.name(), "failed");
        assert!(WireStatus::Failed.is_final());
        assert!(!WireStatus::Processing.is_final());
        assert_eq!(webhook_id(7, WireStatus::Succeed), "msg_7_99");
    }

    #[test]
    fn enums_round_trip_their_db_text() {
        for s in [
            TaskState::Queued,
            TaskState::Running,
            TaskState::Succeeded,
            TaskState::Failed,
        ] {
            assert_eq!(TaskState::parse(s.as_str()), Some(s));
        }
        for r in [
            FileRole::Original,
            FileRole::Cover,
            FileRole::Preview,
            FileRole::BvhZip,
            FileRole::BinaryZip,
        ] {
            assert_eq!(FileRole::parse(r.as_str()), Some(r));
        }
        for k in [
            FileOwnerKind::Asset,
            FileOwnerKind::Work,
            FileOwnerKind::Official,
        ] {
            assert_eq!(FileOwnerKind::parse(k.as_str()), Some(k));
        }
    }
}
