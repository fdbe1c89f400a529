//! `POST /videos/motion-upload` (contract §5.1), rows 14–19: recognise the two URLs,
//! check kinds and the 2–10 s rule, admit atomically (the files are checked again inside
//! the admission, against a concurrent asset deletion), wake the workers.
//!
//! Rows 1–13 (body, account selection, field types, replyUrl/replyRef/workName rules) are
//! the parameter layer's; this service receives validated values.

use std::sync::Arc;

use crate::clock::Clock;
use crate::domain::{Account, AssetKind, FileRole, NewTask, TaskInput, TaskView};
use crate::error::{ErrorCode, ServiceError};
use crate::ids::{IdGenerator, is_fid};
use crate::ports::{Admission, AssetFileRef, FileStore, TaskStore, WorkerSignals};
use crate::reason::duration_ms_tenths;

/// Default `admission.retry_after_s`.
pub const DEFAULT_RETRY_AFTER_S: u64 = 10;

/// Validated fields of a motion-upload request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MotionUploadRequest {
    pub resource_url: String,
    pub cover_url: String,
    /// Replaces the account's maxJobs for this admission only.
    pub max_jobs: Option<u32>,
    pub reply_url: Option<String>,
    pub reply_ref: Option<String>,
    pub work_name: Option<String>,
}

/// `(fid, name)` of one of our file URLs, recognised by its last three path segments
/// `files/<fid>/<name>` (contract §2.9). Scheme, host, port, prefix, query and fragment
/// are ignored; anything unparsable or not matching is `None`. The URL is never fetched.
pub fn recognise_file_url(url: &str) -> Option<(String, String)> {
    let parsed = url::Url::parse(url).ok()?;
    let segments: Vec<&str> = parsed.path_segments()?.collect();
    let [.., files, fid, name] = segments.as_slice() else {
        return None;
    };
    if *files != "files" || !is_fid(fid) || name.is_empty() {
        return None;
    }
    let name = percent_decode(name)?;
    Some(((*fid).to_owned(), name))
}

/// Percent-decodes a path segment (our names are plain ASCII, but clients may encode).
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Is this file a video asset's `resourceUrl`?
pub fn is_video_resource(f: &AssetFileRef) -> bool {
    f.asset_kind == AssetKind::Video && f.file.role == FileRole::Original
}

/// Is this file an image asset's `url`, or a video asset's `coverUrl`?
pub fn is_cover_image(f: &AssetFileRef) -> bool {
    match f.asset_kind {
        AssetKind::Image => f.file.role == FileRole::Original,
        AssetKind::Video => f.file.role == FileRole::Cover,
    }
}

pub struct MotionUploadService {
    files: Arc<dyn FileStore>,
    tasks: Arc<dyn TaskStore>,
    signals: Arc<dyn WorkerSignals>,
    clock: Arc<dyn Clock>,
    ids: IdGenerator,
    retry_after_s: u64,
}

impl MotionUploadService {
    pub fn new(
        files: Arc<dyn FileStore>,
        tasks: Arc<dyn TaskStore>,
        signals: Arc<dyn WorkerSignals>,
        clock: Arc<dyn Clock>,
        ids: IdGenerator,
        retry_after_s: u64,
    ) -> Self {
        Self {
            files,
            tasks,
            signals,
            clock,
            ids,
            retry_after_s,
        }
    }

    /// Rows 14–19, then admission. Returns the new task (status 5).
    pub async fn submit(
        &self,
        account: &Account,
        req: MotionUploadRequest,
    ) -> Result<TaskView, ServiceError> {
        let source = self
            .lookup(account, &req.resource_url)
            .await?
            .filter(is_video_resource)
            .ok_or(ErrorCode::ResourceUrlNotVideo)?;
        let cover = self
            .lookup(account, &req.cover_url)
            .await?
            .filter(is_cover_image)
            .ok_or(ErrorCode::CoverUrlNotImage)?;
        let tenths = duration_ms_tenths(source.asset_duration_ms);
        if !(20..=100).contains(&tenths) {
            return Err(ErrorCode::VideoDurationOutOfRange { tenths }.into());
        }
        let task = NewTask {
            id: 0,
            account_id: account.id,
            create_time: self.clock.now_ms(),
            reply_url: req.reply_url.or_else(|| account.reply_url.clone()),
            reply_ref: req.reply_ref,
            work_name: String::new(),
            input: TaskInput {
                source_fid: source.file.fid.clone(),
                source_name: source.file.name.clone(),
                source_blob_key: source.file.blob_key.clone(),
                cover_fid: cover.file.fid.clone(),
                cover_name: cover.file.name.clone(),
                cover_blob_key: cover.file.blob_key.clone(),
                cover_content_type: cover.file.content_type.clone(),
                source_width: source.file.width,
                source_height: source.file.height,
                source_duration_ms: source.asset_duration_ms,
            },
        };
        let max_jobs = req.max_jobs.unwrap_or(account.max_jobs);
        let admission = self
            .ids
            .with_fresh_id(|id| {
                let task = NewTask {
                    id,
                    work_name: (req.work_name.clone()).unwrap_or_else(|| format!("Motion {id}")),
                    ..task.clone()
                };
                async move { self.tasks.admit(&task, max_jobs).await }
            })
            .await?;
        match admission {
            Admission::Admitted(view) => {
                self.signals.wake();
                Ok(view)
            }
            Admission::Full { unfinished } => Err(ErrorCode::TooManyJobs {
                email: account.email.clone(),
                unfinished: u64::from(unfinished),
                max_jobs: u64::from(max_jobs),
                retry_after_s: self.retry_after_s,
            }
            .into()),
            // Rows 14/16 (one body): the asset was deleted after the lookup above.
            Admission::InputNotFound => Err(ErrorCode::ResourceNotFound.into()),
        }
    }

    /// Rows 14/16: an unrecognised URL, or one naming no file of this account (unknown,
    /// deleted, foreign, official), is the seed's ResourceNotFound. `Ok(None)` is a file of
    /// this account that is no asset's (a motion's `motion.mp4`, `cover.jpg` …): rows 15/17.
    async fn lookup(
        &self,
        account: &Account,
        url: &str,
    ) -> Result<Option<AssetFileRef>, ServiceError> {
        let Some((fid, name)) = recognise_file_url(url) else {
            return Err(ErrorCode::ResourceNotFound.into());
        };
        if let Some(found) = self.files.asset_file(account.id, &fid, &name).await? {
            return Ok(Some(found));
        }
        match self.files.account_file(account.id, &fid, &name).await? {
            Some(_) => Ok(None),
            None => Err(ErrorCode::ResourceNotFound.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FID: &str = "7mK2cQ0v9Zr8XbLw3YhT5nJd1aPeUs4G";

    #[test]
    fn recognises_last_three_segments_only() {
        let want = Some((FID.to_owned(), "k2j4h5g6f7d8s9a0q1w2.mp4".to_owned()));
        assert_eq!(
            recognise_file_url(&format!(
                "http://127.0.0.1:8080/files/{FID}/k2j4h5g6f7d8s9a0q1w2.mp4"
            )),
            want
        );
        // other host, scheme, prefix, query and fragment are ignored
        assert_eq!(
            recognise_file_url(&format!(
                "https://cdn.example.com/prefix/a/files/{FID}/k2j4h5g6f7d8s9a0q1w2.mp4?x=1#f"
            )),
            want
        );
        assert_eq!(
            recognise_file_url(&format!("http://h/files/{FID}/k2j4h5g6f7d8s9a0q1w2%2Emp4")),
            want
        );
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            format!("/files/{FID}/a.mp4"),           // not absolute
            format!("http://h/file/{FID}/a.mp4"),    // wrong segment
            format!("http://h/files/{FID}/a.mp4/"),  // trailing slash: last segment empty
            "http://h/files/short/a.mp4".to_owned(), // not a fid
            format!("http://h/files/{FID}"),         // too few segments
            "not a url".to_owned(),
            String::new(),
            format!("http://h/files/{FID}/%zz"), // bad escape
        ] {
            assert_eq!(recognise_file_url(&bad), None, "{bad}");
        }
    }
}
