//! Asset ingest (contract §4.1), listing (§4.2) and deletion (§4.3).
//!
//! The body is streamed to a temp file while it is counted and hashed, never held whole
//! in memory. The asset exists only after every check passed and its blobs are stored;
//! a failure at any step leaves no blob and no row (temp files are removed by a drop guard,
//! blobs stored before a failed insert are deleted again).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::blob_keys;
use crate::clock::Clock;
use crate::domain::{Account, Asset, AssetKind, AssetQuery, FileRole, NewAsset, NewFile};
use crate::error::{ErrorCode, ServiceError};
use crate::ids::{hex_lower, new_asset_id, new_fid, new_file_stem};
use crate::ports::{
    AssetStore, BlobStore, DeclaredType, FileStore, InspectError, MediaInfo, MediaInspector,
};
use crate::reason::{duration_ms, duration_tenths};
use crate::services::janitor;

/// Upload limits (`limits.image_bytes`, `limits.video_bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadLimits {
    pub image_bytes: u64,
    pub video_bytes: u64,
}

impl Default for UploadLimits {
    fn default() -> Self {
        Self {
            image_bytes: 10_485_760,
            video_bytes: 104_857_600,
        }
    }
}

/// Video codecs an upload may use (contract §4.1).
pub const ALLOWED_VIDEO_CODECS: [&str; 8] = [
    "h264", "hevc", "mpeg4", "vp8", "vp9", "av1", "mjpeg", "prores",
];

/// An accepted upload type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadType {
    /// The lowercased media type as sent, e.g. `video/quicktime`.
    pub media_type: &'static str,
    pub declared: DeclaredType,
    pub kind: AssetKind,
    /// Extension of the stored fileName.
    pub ext: &'static str,
}

/// §4.1 row 3: the upload type of a Content-Type header value (parameters ignored,
/// case-insensitive). Err carries `<type>` for the message: the lowercased media type, or
/// `none` when the header is missing.
pub fn upload_type(content_type: Option<&str>) -> Result<UploadType, String> {
    let Some(raw) = content_type else {
        return Err("none".to_owned());
    };
    let media = raw
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let t = |media_type, declared, kind, ext| UploadType {
        media_type,
        declared,
        kind,
        ext,
    };
    match media.as_str() {
        "image/png" => Ok(t("image/png", DeclaredType::Png, AssetKind::Image, "png")),
        "image/jpeg" => Ok(t("image/jpeg", DeclaredType::Jpeg, AssetKind::Image, "jpg")),
        "video/mp4" => Ok(t("video/mp4", DeclaredType::Mov, AssetKind::Video, "mp4")),
        "video/quicktime" => Ok(t(
            "video/quicktime",
            DeclaredType::Mov,
            AssetKind::Video,
            "mov",
        )),
        _ if media.is_empty() => Err("none".to_owned()),
        _ => Err(media),
    }
}

/// Magic-byte sniffing: does the head of the file agree with the declared family?
pub fn sniff_matches(declared: DeclaredType, head: &[u8]) -> bool {
    match declared {
        DeclaredType::Png => head.starts_with(b"\x89PNG\r\n\x1a\n"),
        DeclaredType::Jpeg => head.starts_with(&[0xFF, 0xD8, 0xFF]),
        // ISO-BMFF / QuickTime: a box size, then a known top-level box type.
        DeclaredType::Mov => {
            head.len() >= 12
                && matches!(
                    &head[4..8],
                    b"ftyp" | b"moov" | b"mdat" | b"wide" | b"free" | b"skip" | b"pnot"
                )
        }
    }
}

/// Removes a file when dropped, unless disarmed.
struct TempFile {
    path: PathBuf,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What streaming the body produced.
struct Spooled {
    file: TempFile,
    size: u64,
    sha256: String,
    head: Vec<u8>,
}

pub struct AssetService {
    assets: Arc<dyn AssetStore>,
    files: Arc<dyn FileStore>,
    blobs: Arc<dyn BlobStore>,
    inspector: Arc<dyn MediaInspector>,
    clock: Arc<dyn Clock>,
    tmp_dir: PathBuf,
    limits: UploadLimits,
}

impl AssetService {
    /// `tmp_dir` is the ingest temp folder (`<data>/tmp/ingest`); created if missing.
    pub fn new(
        assets: Arc<dyn AssetStore>,
        files: Arc<dyn FileStore>,
        blobs: Arc<dyn BlobStore>,
        inspector: Arc<dyn MediaInspector>,
        clock: Arc<dyn Clock>,
        tmp_dir: PathBuf,
        limits: UploadLimits,
    ) -> Self {
        Self {
            assets,
            files,
            blobs,
            inspector,
            clock,
            tmp_dir,
            limits,
        }
    }

    pub fn limits(&self) -> UploadLimits {
        self.limits
    }

    /// The byte limit of an upload type.
    pub fn limit_for(&self, t: &UploadType) -> u64 {
        match t.kind {
            AssetKind::Image => self.limits.image_bytes,
            AssetKind::Video => self.limits.video_bytes,
        }
    }

    /// §4.1 rows 3 and 4 before reading anything: the type, and `Content-Length` against
    /// its limit. Handlers may call this first to reject early; [`Self::upload`] repeats it.
    pub fn precheck(
        &self,
        content_type: Option<&str>,
        content_length: Option<u64>,
    ) -> Result<UploadType, ServiceError> {
        let t = upload_type(content_type)
            .map_err(|content_type| ErrorCode::UploadContentType { content_type })?;
        let limit = self.limit_for(&t);
        if content_length.is_some_and(|n| n > limit) {
            return Err(self.too_large(&t));
        }
        Ok(t)
    }

    fn too_large(&self, t: &UploadType) -> ServiceError {
        ErrorCode::UploadTooLarge {
            content_type: t.media_type.to_owned(),
            limit: self.limit_for(t),
        }
        .into()
    }

    /// §4.1: ingests one upload for `account`, in the contract's order of checks (rows 3–12).
    pub async fn upload<R>(
        &self,
        account: &Account,
        content_type: Option<&str>,
        content_length: Option<u64>,
        body: &mut R,
    ) -> Result<Asset, ServiceError>
    where
        R: AsyncRead + Unpin + Send + ?Sized,
    {
        let t = self.precheck(content_type, content_length)?;
        let spooled = self
            .spool(body, self.limit_for(&t))
            .await
            .map_err(|e| match e {
                SpoolError::TooLarge => self.too_large(&t),
                // A body broken off is answered like the JSON bodies' (`read_limited` in the
                // API): with the 408 row, which the client gone does not read. It is not ours.
                SpoolError::Timeout | SpoolError::BodyBroken => ErrorCode::BodyTimeout.into(),
                SpoolError::Io(e) => ServiceError::internal(e),
            })?;
        if spooled.size == 0 {
            return Err(ErrorCode::UploadEmpty.into());
        }
        let invalid = || {
            ServiceError::from(ErrorCode::UploadInvalid {
                content_type: t.media_type.to_owned(),
            })
        };
        if !sniff_matches(t.declared, &spooled.head) {
            return Err(invalid());
        }
        let info = self
            .inspector
            .inspect(&spooled.file.path, t.declared)
            .await
            .map_err(|e| match e {
                InspectError::Invalid(_) => invalid(),
                InspectError::Tool(m) => ServiceError::internal(m),
            })?;
        let (width, height, duration_ms) = check_media(&t, &info).map_err(|code| match code {
            Some(code) => ServiceError::from(code),
            None => invalid(),
        })?;
        self.store(account, &t, spooled, width, height, duration_ms)
            .await
    }

    /// Streams the body to a temp file, counting and hashing; stops at `limit + 1` bytes.
    async fn spool<R>(&self, body: &mut R, limit: u64) -> Result<Spooled, SpoolError>
    where
        R: AsyncRead + Unpin + Send + ?Sized,
    {
        tokio::fs::create_dir_all(&self.tmp_dir)
            .await
            .map_err(SpoolError::Io)?;
        let file = TempFile {
            path: self
                .tmp_dir
                .join(format!("ingest-{}", uuid::Uuid::new_v4().simple())),
        };
        let mut out = tokio::fs::File::create(&file.path)
            .await
            .map_err(SpoolError::Io)?;
        let mut hasher = Sha256::new();
        let mut head = Vec::with_capacity(16);
        let mut size: u64 = 0;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = body.read(&mut buf).await.map_err(|e| {
                if e.kind() == std::io::ErrorKind::TimedOut {
                    SpoolError::Timeout
                } else {
                    SpoolError::BodyBroken
                }
            })?;
            if n == 0 {
                break;
            }
            size += n as u64;
            if size > limit {
                return Err(SpoolError::TooLarge);
            }
            if head.len() < 16 {
                let take = (16 - head.len()).min(n);
                head.extend_from_slice(&buf[..take]);
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).await.map_err(SpoolError::Io)?;
        }
        out.flush().await.map_err(SpoolError::Io)?;
        Ok(Spooled {
            file,
            size,
            sha256: hex_lower(&hasher.finalize()),
            head,
        })
    }

    /// Stores the cover JPEG of a video asset under `key` and describes it for the database.
    async fn store_cover(
        &self,
        key: &str,
        path: &Path,
        (width, height): (u32, u32),
    ) -> Result<NewFile, ServiceError> {
        let (size, sha256) = hash_file(path).await.map_err(ServiceError::internal)?;
        self.blobs.put_file(key, path).await?;
        Ok(NewFile {
            fid: new_fid(),
            blob_key: key.to_owned(),
            name: "cover.jpg".to_owned(),
            content_type: "image/jpeg".to_owned(),
            size,
            sha256,
            role: FileRole::Cover,
            width,
            height,
            duration_ms: 0,
        })
    }

    /// Makes the cover (videos), stores the blobs, then inserts the rows; on failure the
    /// stored blobs are deleted again.
    async fn store(
        &self,
        account: &Account,
        t: &UploadType,
        spooled: Spooled,
        width: u32,
        height: u32,
        duration_ms: u64,
    ) -> Result<Asset, ServiceError> {
        let asset_id = new_asset_id();
        let name = format!("{}.{}", new_file_stem(), t.ext);
        let original_key = blob_keys::asset_original(account.id, &asset_id, &name);
        let original = NewFile {
            fid: new_fid(),
            blob_key: original_key.clone(),
            name: name.clone(),
            content_type: t.media_type.to_owned(),
            size: spooled.size,
            sha256: spooled.sha256.clone(),
            role: FileRole::Original,
            width,
            height,
            duration_ms,
        };
        let cover_tmp = match t.kind {
            AssetKind::Video => Some(
                self.make_cover(&spooled.file.path, duration_ms, t.media_type)
                    .await?,
            ),
            AssetKind::Image => None,
        };
        let mut stored_keys = Vec::new();
        let result = async {
            self.blobs
                .put_file(&original_key, &spooled.file.path)
                .await?;
            stored_keys.push(original_key.clone());
            let cover = match &cover_tmp {
                Some(tmp) => {
                    let key = blob_keys::asset_cover(account.id, &asset_id);
                    let cover = self.store_cover(&key, &tmp.path, (width, height)).await?;
                    stored_keys.push(key);
                    Some(cover)
                }
                None => None,
            };
            let new = NewAsset {
                id: asset_id.clone(),
                account_id: account.id,
                kind: t.kind,
                name,
                width,
                height,
                duration_ms,
                create_time: self.clock.now_ms(),
                original,
                cover,
            };
            Ok::<_, ServiceError>(self.assets.insert_asset(&new, self.clock.now_ms()).await?)
        }
        .await;
        if result.is_err() {
            for key in &stored_keys {
                let _ = self.blobs.delete(key).await;
            }
        }
        result
    }

    /// One JPEG cover at `min(1.0 s, duration / 2)`.
    async fn make_cover(
        &self,
        video: &Path,
        duration_ms: u64,
        media_type: &str,
    ) -> Result<TempFile, ServiceError> {
        let cover = TempFile {
            path: self
                .tmp_dir
                .join(format!("cover-{}.jpg", uuid::Uuid::new_v4().simple())),
        };
        let at_s = (duration_ms as f64 / 2000.0).min(1.0);
        self.inspector
            .make_cover(video, at_s, &cover.path)
            .await
            .map_err(|e| match e {
                // The probe accepted the file but no frame decodes: still "not a valid file".
                InspectError::Invalid(_) => ErrorCode::UploadInvalid {
                    content_type: media_type.to_owned(),
                }
                .into(),
                InspectError::Tool(m) => ServiceError::internal(m),
            })?;
        Ok(cover)
    }

    /// §4.2 one page of the account's assets.
    pub async fn list(
        &self,
        account: &Account,
        q: &AssetQuery,
    ) -> Result<Vec<Asset>, ServiceError> {
        Ok(self.assets.list_assets(account.id, q).await?)
    }

    /// §4.3 deletes assets of the account (ids already validated and deduplicated); returns
    /// the ids deleted, in request order.
    pub async fn delete(
        &self,
        account: &Account,
        ids: &[String],
    ) -> Result<Vec<String>, ServiceError> {
        let deleted = self.assets.delete_assets(account.id, ids).await?;
        janitor::purge_trash_best_effort(self.files.as_ref(), self.blobs.as_ref()).await;
        Ok(deleted)
    }
}

enum SpoolError {
    TooLarge,
    /// No byte of the body came for the idle timeout.
    Timeout,
    /// The body's stream failed: the client broke it off (closed the connection mid-upload).
    BodyBroken,
    /// The temp file could not be written: ours to fix.
    Io(std::io::Error),
}

/// Size and SHA-256 of a local file.
pub async fn hash_file(path: &Path) -> std::io::Result<(u64, String)> {
    let mut f = tokio::fs::File::open(path).await?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((size, hex_lower(&hasher.finalize())))
}

/// §4.1 rows 7–12 on the probe result. `Err(None)` means "not a valid file" (row 7).
/// Returns (width, height, duration ms).
pub fn check_media(t: &UploadType, info: &MediaInfo) -> Result<(u32, u32, u64), Option<ErrorCode>> {
    match (t.kind, info) {
        (AssetKind::Image, MediaInfo::Image { width, height }) => {
            if *width == 0 || *height == 0 {
                return Err(None);
            }
            let ok = |s: u32| (300..=8192).contains(&s);
            if !ok(*width) || !ok(*height) {
                return Err(Some(ErrorCode::ImageSize {
                    width: u64::from(*width),
                    height: u64::from(*height),
                }));
            }
            Ok((*width, *height, 0))
        }
        (
            AssetKind::Video,
            MediaInfo::Video {
                width,
                height,
                duration_s,
                fps,
                frames,
                codec,
                streams,
            },
        ) => {
            if *streams > 8
                || !ALLOWED_VIDEO_CODECS.contains(&codec.as_str())
                || *width == 0
                || *height == 0
            {
                return Err(None);
            }
            // One rounding, from the exact duration (§4.1). The stored ms are truncated, so
            // motion-upload's 2–10 s rule on them gives the same tenths (see `duration_ms`).
            let tenths = duration_tenths(*duration_s);
            let duration_ms = duration_ms(*duration_s);
            if tenths > 100 {
                return Err(Some(ErrorCode::VideoTooLong { tenths }));
            }
            let side_ok = |s: u32| (240..=3840).contains(&s);
            if !side_ok(*width)
                || !side_ok(*height)
                || u64::from(*width) * u64::from(*height) > 8_294_400
            {
                return Err(Some(ErrorCode::VideoSize {
                    width: u64::from(*width),
                    height: u64::from(*height),
                }));
            }
            if !fps.is_finite() || *fps < 1.0 || *fps > 120.0 {
                return Err(Some(ErrorCode::VideoFrameRate { fps: *fps }));
            }
            if let Some(n) = frames.filter(|n| *n > 1200) {
                return Err(Some(ErrorCode::VideoFrameCount { frames: n }));
            }
            Ok((*width, *height, duration_ms))
        }
        _ => Err(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_parse_like_the_contract() {
        assert_eq!(
            upload_type(Some("Video/MP4; codecs=avc1")).unwrap().ext,
            "mp4"
        );
        assert_eq!(upload_type(Some("video/quicktime")).unwrap().ext, "mov");
        assert_eq!(upload_type(Some("image/jpeg")).unwrap().ext, "jpg");
        assert_eq!(
            upload_type(Some("image/png")).unwrap().kind,
            AssetKind::Image
        );
        assert_eq!(upload_type(Some("Audio/WAV")).unwrap_err(), "audio/wav");
        assert_eq!(upload_type(None).unwrap_err(), "none");
        assert_eq!(upload_type(Some("")).unwrap_err(), "none");
    }

    #[test]
    fn sniffing_checks_magic_bytes() {
        assert!(sniff_matches(DeclaredType::Png, b"\x89PNG\r\n\x1a\n...."));
        assert!(!sniff_matches(DeclaredType::Png, b"\xFF\xD8\xFF\xE0"));
        assert!(sniff_matches(DeclaredType::Jpeg, b"\xFF\xD8\xFF\xE0"));
        assert!(sniff_matches(
            DeclaredType::Mov,
            b"\0\0\0\x20ftypisom\0\0\x02\0"
        ));
        assert!(!sniff_matches(
            DeclaredType::Mov,
            b"#EXTM3U\n#EXT-X-VERSION:3\n"
        ));
        assert!(!sniff_matches(DeclaredType::Mov, b"ffconcat version 1.0\n"));
    }

    fn video(w: u32, h: u32, d: f64, fps: f64, frames: Option<u64>) -> MediaInfo {
        MediaInfo::Video {
            width: w,
            height: h,
            duration_s: d,
            fps,
            frames,
            codec: "h264".into(),
            streams: 2,
        }
    }

    #[test]
    fn media_rules_in_contract_order() {
        let v = upload_type(Some("video/mp4")).unwrap();
        assert_eq!(
            check_media(&v, &video(720, 1280, 5.76, 30.0, Some(173))),
            Ok((720, 1280, 5760))
        );
        assert_eq!(
            check_media(&v, &video(720, 1280, 10.04, 30.0, None)),
            Ok((720, 1280, 10040))
        );
        assert_eq!(
            check_media(&v, &video(720, 1280, 10.05, 30.0, None)),
            Err(Some(ErrorCode::VideoTooLong { tenths: 101 }))
        );
        // §4.1: rounded once from the exact duration, so 10.0495 s is 10.0 s (it was
        // rounded to 10050 ms first, then to "10.1 s"); the stored ms are truncated.
        assert_eq!(
            check_media(&v, &video(720, 1280, 10.049550, 30.0, None)),
            Ok((720, 1280, 10049))
        );
        assert_eq!(
            check_media(&v, &video(720, 1280, 1.9495, 30.0, None)),
            Ok((720, 1280, 1949))
        );
        // duration is checked before size
        assert_eq!(
            check_media(&v, &video(100, 100, 12.0, 30.0, None)),
            Err(Some(ErrorCode::VideoTooLong { tenths: 120 }))
        );
        assert_eq!(
            check_media(&v, &video(100, 1280, 5.0, 30.0, None)),
            Err(Some(ErrorCode::VideoSize {
                width: 100,
                height: 1280
            }))
        );
        assert_eq!(
            check_media(&v, &video(3840, 2400, 5.0, 30.0, None)),
            Err(Some(ErrorCode::VideoSize {
                width: 3840,
                height: 2400
            }))
        );
        assert_eq!(
            check_media(&v, &video(720, 1280, 5.0, 240.0, None)),
            Err(Some(ErrorCode::VideoFrameRate { fps: 240.0 }))
        );
        assert_eq!(
            check_media(&v, &video(720, 1280, 5.0, 120.0, Some(1201))),
            Err(Some(ErrorCode::VideoFrameCount { frames: 1201 }))
        );
        let bad_codec = MediaInfo::Video {
            width: 720,
            height: 1280,
            duration_s: 3.0,
            fps: 30.0,
            frames: None,
            codec: "gif".into(),
            streams: 1,
        };
        assert_eq!(check_media(&v, &bad_codec), Err(None));
        let i = upload_type(Some("image/png")).unwrap();
        assert_eq!(
            check_media(
                &i,
                &MediaInfo::Image {
                    width: 300,
                    height: 8192
                }
            ),
            Ok((300, 8192, 0))
        );
        assert_eq!(
            check_media(
                &i,
                &MediaInfo::Image {
                    width: 299,
                    height: 500
                }
            ),
            Err(Some(ErrorCode::ImageSize {
                width: 299,
                height: 500
            }))
        );
        assert_eq!(
            check_media(
                &i,
                &MediaInfo::Image {
                    width: 0,
                    height: 0
                }
            ),
            Err(None)
        );
        assert_eq!(
            check_media(&i, &video(720, 1280, 5.0, 30.0, None)),
            Err(None)
        );
    }
}
