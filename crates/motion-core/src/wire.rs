//! The contract's JSON shapes (api-contract.md §3–§10), with the exact key order.
//!
//! Keys are serialised in field order, so the order of the fields below IS the
//! wire order; do not reorder them. Constant parts of the seed's shapes have
//! constructors so that no caller writes them by hand. Schemas for
//! `/openapi.json` come from the `openapi` feature.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::domain::WireStatus;

/// `motion_control_motion_process`: the task and work `type`.
pub const TASK_TYPE: &str = "motion_control_motion_process";
/// `MOTION_EXTRACTION`: the task `scene`.
pub const TASK_SCENE: &str = "MOTION_EXTRACTION";

/// The error envelope: `error`, then `code` on 401/429, then `message` on the seed's 404.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

// ---------------------------------------------------------------------------------------
// §3 accounts
// ---------------------------------------------------------------------------------------

/// §3.1 account object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub email: String,
    pub max_jobs: u32,
    pub user_id: i64,
    pub reply_url: Option<String>,
    pub create_time: i64,
    pub update_time: i64,
}

/// §3.1 from the domain account (its numeric id is the wire `userId`).
pub fn account(a: &crate::domain::Account) -> Account {
    Account {
        email: a.email.clone(),
        max_jobs: a.max_jobs,
        user_id: a.id,
        reply_url: a.reply_url.clone(),
        create_time: a.create_time,
        update_time: a.update_time,
    }
}

/// §3.3: accounts keyed by email, ascending (a `BTreeMap` keeps that order).
pub type AccountMap = std::collections::BTreeMap<String, Account>;

/// §3.5 `{"deleted":1,"email":"…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountDeleted {
    pub deleted: u32,
    pub email: String,
}

// ---------------------------------------------------------------------------------------
// §4 assets
// ---------------------------------------------------------------------------------------

/// §4.1 200 for an image: `status` 3.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ImageUploaded {
    pub status: i64,
    pub url: String,
    pub message: String,
    pub file_name: String,
}

impl ImageUploaded {
    pub fn new(url: String, file_name: String) -> Self {
        Self {
            status: 3,
            url,
            message: String::new(),
            file_name,
        }
    }
}

/// §4.1 200 for a video: `status` 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct VideoUploaded {
    pub status: i64,
    pub resource_url: String,
    pub cover_url: String,
    pub file_name: String,
    pub message: String,
}

impl VideoUploaded {
    pub fn new(resource_url: String, cover_url: String, file_name: String) -> Self {
        Self {
            status: 1,
            resource_url,
            cover_url,
            file_name,
            message: String::new(),
        }
    }
}

/// The 200 of `POST /assets`: an image or a video shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum Uploaded {
    Video(VideoUploaded),
    Image(ImageUploaded),
}

/// A sized resource (`resource`/`cover` of assets and works).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    pub resource: String,
    pub height: u32,
    pub width: u32,
    /// Milliseconds for videos, 0 for images.
    pub duration: u64,
    pub resource_key: String,
}

impl Resource {
    pub fn new(resource: String, width: u32, height: u32, duration_ms: u64) -> Self {
        Self {
            resource,
            height,
            width,
            duration: duration_ms,
            resource_key: String::new(),
        }
    }

    /// The docs' placeholder cover of an image asset (§4.2).
    pub fn image_cover_placeholder() -> Self {
        Self::new(String::new(), 1, 1, 0)
    }
}

/// §4.2 one uploaded asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UploadedAsset {
    /// Decimal string.
    pub id: String,
    pub name: String,
    pub user_id: i64,
    /// `video` or `image`.
    pub content_type: String,
    pub resource: Resource,
    pub cover: Resource,
    pub create_time: i64,
    pub update_time: i64,
    pub favored: bool,
    pub extra_info: String,
    pub entrance: String,
}

impl UploadedAsset {
    /// Fills the docs' constants (`favored`, `extraInfo`, `entrance`, `updateTime`).
    pub fn new(
        id: String,
        name: String,
        user_id: i64,
        content_type: String,
        resource: Resource,
        cover: Resource,
        create_time: i64,
    ) -> Self {
        Self {
            id,
            name,
            user_id,
            content_type,
            resource,
            cover,
            create_time,
            update_time: create_time,
            favored: false,
            extra_info: "{}".into(),
            entrance: String::new(),
        }
    }
}

/// §4.2 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UploadAssetsList {
    pub upload_assets_list: Vec<UploadedAsset>,
}

/// §4.3 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssetsDeleted {
    pub deleted: u32,
    pub ids: Vec<String>,
}

// ---------------------------------------------------------------------------------------
// §5 motions
// ---------------------------------------------------------------------------------------

/// `{"resource": url}` of the motions list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResourceUrl {
    pub resource: String,
}

/// `extData` of works and motions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExtData {
    /// URL of `binary.zip`.
    pub output_binary: String,
    /// URL of `bvh.zip`.
    pub bvh_binary: String,
}

/// §5.2 an official motion (`mine=false`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct OfficialMotion {
    pub work_name: String,
    pub work_id: i64,
    pub official: bool,
    pub tag: String,
    pub resource: ResourceUrl,
    pub cover: ResourceUrl,
    pub ext_data: ExtData,
}

/// §5.2 a user motion (`mine=true`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UserMotion {
    pub work_name: String,
    pub work_id: i64,
    pub task_id: i64,
    pub official: bool,
    pub resource: ResourceUrl,
    pub cover: ResourceUrl,
    pub ext_data: ExtData,
}

/// §5.2 200: a bare array, official or the user's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum MotionList {
    Mine(Vec<UserMotion>),
    Official(Vec<OfficialMotion>),
}

// ---------------------------------------------------------------------------------------
// §6 tasks
// ---------------------------------------------------------------------------------------

/// `taskInfo.inputs[0]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TaskInput {
    pub name: String,
    pub input_type: String,
    pub token: Option<String>,
    pub blob_storage: Option<String>,
    pub url: String,
    pub cover: String,
    pub from_work_id: i64,
    pub from_upload_id: String,
}

/// One `taskInfo.arguments` item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskArgument {
    pub name: String,
    pub value: String,
}

/// `task.taskInfo` and `works[0].taskInfo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TaskInfo {
    #[serde(rename = "type")]
    pub kind: String,
    pub inputs: Vec<TaskInput>,
    pub arguments: Vec<TaskArgument>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub extra_args: serde_json::Map<String, Value>,
    pub callback_payloads: Vec<Value>,
    pub scene: String,
}

impl TaskInfo {
    /// The seed's constant taskInfo around the source video and cover URLs.
    pub fn motion(video_url: String, cover_url: String) -> Self {
        let arg = |name: &str, value: &str| TaskArgument {
            name: name.into(),
            value: value.into(),
        };
        Self {
            kind: TASK_TYPE.into(),
            inputs: vec![TaskInput {
                name: "input".into(),
                input_type: "URL".into(),
                token: None,
                blob_storage: None,
                url: video_url,
                cover: cover_url,
                from_work_id: 0,
                from_upload_id: String::new(),
            }],
            arguments: vec![
                arg("prompt", ""),
                arg("motionType", "video2motion"),
                arg("biz", "klingai"),
            ],
            extra_args: serde_json::Map::new(),
            callback_payloads: Vec::new(),
            scene: TASK_SCENE.into(),
        }
    }
}

/// The envelope's `task`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TaskObject {
    pub id: i64,
    pub user_id: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub scene: String,
    pub status: i64,
    #[serde(rename = "status_name")]
    pub status_name: String,
    #[serde(rename = "status_final")]
    pub status_final: bool,
    pub task_info: TaskInfo,
    pub favored: bool,
    pub deleted: bool,
    pub viewed: bool,
    pub create_time: i64,
    pub update_time: i64,
}

/// `selfComment` of a work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SelfComment {
    pub rate: u32,
    pub tags: Vec<String>,
    pub content: String,
}

/// §6.3 the work object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Work {
    pub work_id: i64,
    pub work_item_id: i64,
    pub task_id: i64,
    pub user_id: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub status: i64,
    #[serde(rename = "status_name")]
    pub status_name: String,
    #[serde(rename = "status_final")]
    pub status_final: bool,
    pub content_type: String,
    pub resource: Resource,
    pub cover: Resource,
    pub star_num: u32,
    pub clone_count: u32,
    pub report_num: u32,
    pub create_time: i64,
    pub task_info: TaskInfo,
    pub self_attitude: String,
    pub self_comment: SelfComment,
    pub ext_data: ExtData,
}

impl Work {
    /// A succeeded work with the docs' constants filled in.
    #[allow(clippy::too_many_arguments)]
    pub fn succeeded(
        work_id: i64,
        task_id: i64,
        user_id: i64,
        resource: Resource,
        cover: Resource,
        create_time: i64,
        task_info: TaskInfo,
        ext_data: ExtData,
    ) -> Self {
        Self {
            work_id,
            work_item_id: 0,
            task_id,
            user_id,
            kind: TASK_TYPE.into(),
            status: 99,
            status_name: "succeed".into(),
            status_final: true,
            content_type: "video".into(),
            resource,
            cover,
            star_num: 0,
            clone_count: 0,
            report_num: 0,
            create_time,
            task_info,
            self_attitude: "unknown".into(),
            self_comment: SelfComment {
                rate: 0,
                tags: Vec::new(),
                content: String::new(),
            },
            ext_data,
        }
    }
}

/// `limitation` of the envelope: job slots of the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Limitation {
    #[serde(rename = "type")]
    pub kind: String,
    pub remaining: u32,
    pub limit: u32,
}

/// `userPoints`: constant.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserPoints {
    pub points: Vec<Value>,
    pub total: u32,
}

/// `userTickets`: constant.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserTickets {
    pub ticket: Vec<Value>,
}

/// §6.2 the task envelope (motion-upload, GET tasks/{id}, GET tasks items).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TaskEnvelope {
    pub task: TaskObject,
    pub works: Vec<Work>,
    pub status: i64,
    #[serde(rename = "status_name")]
    pub status_name: String,
    #[serde(rename = "status_final")]
    pub status_final: bool,
    pub message: String,
    pub limitation: Limitation,
    pub user_points: UserPoints,
    pub user_tickets: UserTickets,
    pub edit_project: Option<Value>,
}

/// The parts of an envelope that vary; everything else is the seed's constants.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvelopeParts {
    pub task_id: i64,
    pub user_id: i64,
    pub status: WireStatus,
    /// `""` in 5/10, `"success"` in 99, the failure reason in 50.
    pub message: String,
    pub task_info: TaskInfo,
    pub create_time: i64,
    pub update_time: i64,
    /// Present only in status 99.
    pub work: Option<Work>,
    /// The account's stored maxJobs.
    pub limit: u32,
    /// The account's unfinished tasks now.
    pub unfinished: u32,
}

impl TaskEnvelope {
    /// Builds the envelope with the seed's constants, keeping the task's and the
    /// top-level status triple equal.
    pub fn build(p: EnvelopeParts) -> Self {
        let status = p.status;
        Self {
            task: TaskObject {
                id: p.task_id,
                user_id: p.user_id,
                kind: TASK_TYPE.into(),
                scene: TASK_SCENE.into(),
                status: status.code(),
                status_name: status.name().into(),
                status_final: status.is_final(),
                task_info: p.task_info,
                favored: false,
                deleted: false,
                viewed: false,
                create_time: p.create_time,
                update_time: p.update_time,
            },
            works: p.work.into_iter().collect(),
            status: status.code(),
            status_name: status.name().into(),
            status_final: status.is_final(),
            message: p.message,
            limitation: Limitation {
                kind: TASK_TYPE.into(),
                remaining: p.limit.saturating_sub(p.unfinished),
                limit: p.limit,
            },
            user_points: UserPoints::default(),
            user_tickets: UserTickets::default(),
            edit_project: None,
        }
    }
}

/// §8.2 callback body: the envelope plus `replyRef` last, only when given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallbackBody {
    #[serde(flatten)]
    pub envelope: TaskEnvelope,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_ref: Option<String>,
}

/// §6.5 200.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskHistory {
    pub history: Vec<TaskEnvelope>,
}

/// §6.6 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TaskDeleted {
    pub deleted: u32,
    pub work_ids: Vec<i64>,
}

// ---------------------------------------------------------------------------------------
// §7 scheduler
// ---------------------------------------------------------------------------------------

/// §7.1 one unfinished task. `replyUrl`/`replyRef` are omitted when unset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SchedulerEntry {
    pub id: i64,
    pub email: String,
    /// RFC 3339 UTC with milliseconds.
    pub started: String,
    /// `MM:SS`, minutes not capped.
    pub elapsed: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_ref: Option<String>,
}

/// §7.1 `elapsed`: minutes zero-padded to two digits, not capped at 59.
pub fn format_elapsed(elapsed_ms: i64) -> String {
    crate::clock::elapsed_mm_ss(elapsed_ms)
}

/// §7.2 one account's capacity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AccountCapacity {
    pub email: String,
    pub max_jobs: u32,
    pub executing: u32,
    pub available: u32,
}

/// §7.2 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SchedulerAvailable {
    pub executing: Vec<SchedulerEntry>,
    pub available: Vec<AccountCapacity>,
}

/// §7.3 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskCanceled {
    pub id: i64,
    pub message: String,
}

impl TaskCanceled {
    pub fn new(id: i64) -> Self {
        Self {
            id,
            message: "Task was successfully canceled.".into(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// §10 operations
// ---------------------------------------------------------------------------------------

/// §10.1 `{"status":"ok","version":"…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    pub status: String,
    pub version: String,
}

/// §10.2 `{"status":"ready"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ready {
    pub status: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_envelope(status: WireStatus, work: Option<Work>) -> TaskEnvelope {
        TaskEnvelope::build(EnvelopeParts {
            task_id: 123456789,
            user_id: 12345,
            status,
            message: if status == WireStatus::Succeed {
                "success".into()
            } else {
                String::new()
            },
            task_info: TaskInfo::motion(
                "http://h/files/a/v.mp4".into(),
                "http://h/files/b/cover.jpg".into(),
            ),
            create_time: 1763800000000,
            update_time: 1763800042000,
            work,
            limit: 5,
            unfinished: 0,
        })
    }

    #[test]
    fn envelope_keys_follow_the_seed_order() {
        let json = serde_json::to_string(&sample_envelope(WireStatus::Submitted, None)).unwrap();
        let expected = concat!(
            r#"{"task":{"id":123456789,"userId":12345,"type":"motion_control_motion_process","scene":"MOTION_EXTRACTION","#,
            r#""status":5,"status_name":"submitted","status_final":false,"taskInfo":{"type":"motion_control_motion_process","#,
            r#""inputs":[{"name":"input","inputType":"URL","token":null,"blobStorage":null,"url":"http://h/files/a/v.mp4","#,
            r#""cover":"http://h/files/b/cover.jpg","fromWorkId":0,"fromUploadId":""}],"arguments":[{"name":"prompt","value":""},"#,
            r#"{"name":"motionType","value":"video2motion"},{"name":"biz","value":"klingai"}],"extraArgs":{},"callbackPayloads":[],"#,
            r#""scene":"MOTION_EXTRACTION"},"favored":false,"deleted":false,"viewed":false,"createTime":1763800000000,"#,
            r#""updateTime":1763800042000},"works":[],"status":5,"status_name":"submitted","status_final":false,"message":"","#,
            r#""limitation":{"type":"motion_control_motion_process","remaining":5,"limit":5},"userPoints":{"points":[],"total":0},"#,
            r#""userTickets":{"ticket":[]},"editProject":null}"#
        );
        assert_eq!(json, expected);
    }

    #[test]
    fn work_keys_follow_the_docs_order() {
        let info = TaskInfo::motion("u".into(), "c".into());
        let work = Work::succeeded(
            987654321,
            123456789,
            12345,
            Resource::new("m".into(), 720, 1280, 5733),
            Resource::new("cv".into(), 720, 1280, 0),
            1763800042000,
            info,
            ExtData {
                output_binary: "b".into(),
                bvh_binary: "h".into(),
            },
        );
        let value = serde_json::to_value(&work).unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "workId",
                "workItemId",
                "taskId",
                "userId",
                "type",
                "status",
                "status_name",
                "status_final",
                "contentType",
                "resource",
                "cover",
                "starNum",
                "cloneCount",
                "reportNum",
                "createTime",
                "taskInfo",
                "selfAttitude",
                "selfComment",
                "extData"
            ]
        );
        let text = serde_json::to_string(&work.resource).unwrap();
        assert_eq!(
            text,
            r#"{"resource":"m","height":1280,"width":720,"duration":5733,"resourceKey":""}"#
        );
        let text = serde_json::to_string(&work.self_comment).unwrap();
        assert_eq!(text, r#"{"rate":0,"tags":[],"content":""}"#);
        let env = sample_envelope(WireStatus::Succeed, Some(work));
        assert_eq!(env.works.len(), 1);
        assert!(env.status_final && env.task.status_final);
    }

    #[test]
    fn callback_body_appends_reply_ref_last() {
        let body = CallbackBody {
            envelope: sample_envelope(WireStatus::Processing, None),
            reply_ref: Some("clip-1".into()),
        };
        let json = serde_json::to_string(&body).unwrap();
        assert!(
            json.ends_with(r#""editProject":null,"replyRef":"clip-1"}"#),
            "{json}"
        );
        let body = CallbackBody {
            reply_ref: None,
            ..body
        };
        assert!(
            serde_json::to_string(&body)
                .unwrap()
                .ends_with(r#""editProject":null}"#)
        );
    }

    #[test]
    fn small_shapes_have_the_contract_key_order() {
        let acc = Account {
            email: "a@x.io".into(),
            max_jobs: 5,
            user_id: 1,
            reply_url: None,
            create_time: 2,
            update_time: 3,
        };
        assert_eq!(
            serde_json::to_string(&acc).unwrap(),
            r#"{"email":"a@x.io","maxJobs":5,"userId":1,"replyUrl":null,"createTime":2,"updateTime":3}"#
        );
        let v = Uploaded::Video(VideoUploaded::new("r".into(), "c".into(), "f.mp4".into()));
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"status":1,"resourceUrl":"r","coverUrl":"c","fileName":"f.mp4","message":""}"#
        );
        let i = Uploaded::Image(ImageUploaded::new("u".into(), "f.jpg".into()));
        assert_eq!(
            serde_json::to_string(&i).unwrap(),
            r#"{"status":3,"url":"u","message":"","fileName":"f.jpg"}"#
        );
        let s = SchedulerEntry {
            id: 1,
            email: "a@x.io".into(),
            started: "2026-11-22T09:30:00.000Z".into(),
            elapsed: format_elapsed(125 * 60_000 + 7_000),
            reply_url: None,
            reply_ref: Some("r".into()),
        };
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"id":1,"email":"a@x.io","started":"2026-11-22T09:30:00.000Z","elapsed":"125:07","replyRef":"r"}"#
        );
        assert_eq!(
            serde_json::to_string(&TaskDeleted {
                deleted: 1,
                work_ids: vec![9]
            })
            .unwrap(),
            r#"{"deleted":1,"workIds":[9]}"#
        );
        assert_eq!(
            serde_json::to_string(&TaskCanceled::new(7)).unwrap(),
            r#"{"id":7,"message":"Task was successfully canceled."}"#
        );
        let m = OfficialMotion {
            work_name: "Walking".into(),
            work_id: -1,
            official: true,
            tag: "basic".into(),
            resource: ResourceUrl {
                resource: "r".into(),
            },
            cover: ResourceUrl {
                resource: "c".into(),
            },
            ext_data: ExtData {
                output_binary: "o".into(),
                bvh_binary: "b".into(),
            },
        };
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"workName":"Walking","workId":-1,"official":true,"tag":"basic","resource":{"resource":"r"},"cover":{"resource":"c"},"extData":{"output_binary":"o","bvh_binary":"b"}}"#
        );
        assert_eq!(format_elapsed(3 * 60_000 + 45_000), "03:45");
    }
}
