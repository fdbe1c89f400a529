//! `MediaInspector` over `motion_capture::media`: magic-byte sniffing, then ffprobe with the
//! demuxer forced to the sniffed family, then the rest of the file read through (headers that
//! probe well do not make a whole file), all through the hardened runner.
//!
//! Each call works in its own fresh directory holding only a hard link to the file, so the
//! subprocess' working directory contains nothing else (no sibling for relative-path tricks).

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use motion_capture::media::{self, Container, Limits, MediaError};
use motion_core::ports::{DeclaredType, InspectError, MediaInfo, MediaInspector};
use tokio_util::sync::CancellationToken;

/// Probes and covers for uploads.
#[derive(Debug, Clone)]
pub struct CaptureInspector {
    scratch: PathBuf,
    probe_limits: Limits,
    cover_limits: Limits,
}

impl CaptureInspector {
    /// `scratch` is where per-call directories are made (e.g. `<data>/tmp/inspect`); it must be
    /// on the same filesystem as the uploads for hard links (else the file is copied).
    pub fn new(scratch: PathBuf) -> Self {
        Self::with_timeouts(scratch, Duration::from_secs(20), Duration::from_secs(60))
    }

    /// Wall-clock limits of each inspection call (the probe, then the read through the rest of
    /// the file) and of one cover extraction (`media.*`).
    pub fn with_timeouts(scratch: PathBuf, probe: Duration, cover: Duration) -> Self {
        let probe_limits = Limits {
            timeout: probe,
            ..Limits::default()
        };
        let cover_limits = Limits {
            timeout: cover,
            ..Limits::default()
        };
        Self {
            scratch,
            probe_limits,
            cover_limits,
        }
    }
}

/// A directory holding one linked input; removed on drop.
struct Isolated {
    dir: PathBuf,
    input: PathBuf,
}

impl Isolated {
    async fn new(scratch: &Path, source: &Path, name: &str) -> Result<Self, InspectError> {
        let dir = scratch.join(uuid::Uuid::new_v4().simple().to_string());
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| InspectError::Tool(format!("create {}: {e}", dir.display())))?;
        let input = dir.join(name);
        if tokio::fs::hard_link(source, &input).await.is_err() {
            tokio::fs::copy(source, &input).await.map_err(|e| {
                InspectError::Tool(format!("copy {} for inspection: {e}", source.display()))
            })?;
        }
        Ok(Self { dir, input })
    }
}

impl Drop for Isolated {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn expected_container(declared: DeclaredType) -> Container {
    match declared {
        DeclaredType::Png => Container::Png,
        DeclaredType::Jpeg => Container::Jpeg,
        DeclaredType::Mov => Container::Mp4Mov,
    }
}

/// User media problems (and probe timeouts, contract §4.1 row 7) are "not valid"; the rest is ours.
fn map_media_error(e: MediaError) -> InspectError {
    match e {
        MediaError::BadInput { .. } | MediaError::Timeout { .. } => {
            InspectError::Invalid(e.to_string())
        }
        other => InspectError::Tool(other.to_string()),
    }
}

#[async_trait]
impl MediaInspector for CaptureInspector {
    async fn inspect(
        &self,
        path: &Path,
        declared: DeclaredType,
    ) -> Result<MediaInfo, InspectError> {
        let want = expected_container(declared);
        let sniffed = media::sniff_file(path)
            .map_err(|e| InspectError::Tool(format!("read {}: {e}", path.display())))?;
        if sniffed != want {
            return Err(InspectError::Invalid(format!(
                "content is {sniffed:?}, declared {want:?}"
            )));
        }
        let name = if want.is_image() {
            "input.img"
        } else {
            "input.mov"
        };
        let iso = Isolated::new(&self.scratch, path, name).await?;
        let cancel = CancellationToken::new();
        let info = media::probe(&iso.input, want, &self.probe_limits, &cancel)
            .await
            .map_err(map_media_error)?;
        // §4.1 row 7: headers that probe well do not make a whole file (a PNG cut short, an
        // MP4 whose packets run past its end), so the rest is read through. Under the probe's
        // limits, as part of the same inspection: its timeout is "not valid" too.
        media::check_complete(&iso.input, &info, &self.probe_limits, &cancel)
            .await
            .map_err(map_media_error)?;
        if want.is_image() {
            return Ok(MediaInfo::Image {
                width: info.width,
                height: info.height,
            });
        }
        let duration_s = info
            .duration_s
            .ok_or_else(|| InspectError::Invalid("video has no duration".into()))?;
        Ok(MediaInfo::Video {
            width: info.width,
            height: info.height,
            duration_s,
            fps: info.fps,
            frames: info.frame_count,
            codec: info.codec,
            streams: info.stream_count as u32,
        })
    }

    async fn make_cover(&self, video: &Path, at_s: f64, out: &Path) -> Result<(), InspectError> {
        let iso = Isolated::new(&self.scratch, video, "input.mov").await?;
        // The cover keeps the video's display size (contract §4.1): no downscaling cap.
        media::extract_frame_jpeg(
            &iso.input,
            Container::Mp4Mov,
            at_s,
            out,
            media::probe::MAX_SIDE,
            &self.cover_limits,
            &CancellationToken::new(),
        )
        .await
        .map_err(map_media_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn testdata(rel: &str) -> PathBuf {
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/testdata"
        ))
        .join(rel)
    }

    fn first_video() -> PathBuf {
        let p = testdata("videos/tfjs_pose_1_synthetic_dance.mp4");
        assert!(p.exists(), "{} missing (run scripts/test.sh)", p.display());
        p
    }

    #[tokio::test]
    async fn probes_a_real_video_and_makes_its_cover() {
        let tmp = tempfile::tempdir().unwrap();
        let insp = CaptureInspector::new(tmp.path().join("scratch"));
        let video = first_video();
        let info = insp.inspect(&video, DeclaredType::Mov).await.unwrap();
        let MediaInfo::Video {
            width,
            height,
            duration_s,
            fps,
            ..
        } = info
        else {
            panic!("not a video: {info:?}")
        };
        assert!(
            width >= 16 && height >= 16 && duration_s > 0.0 && fps > 0.0,
            "{width}x{height} {duration_s}s {fps}fps"
        );
        let cover = tmp.path().join("cover.jpg");
        insp.make_cover(&video, 0.5, &cover).await.unwrap();
        let bytes = std::fs::read(&cover).unwrap();
        assert_eq!(&bytes[..3], &[0xff, 0xd8, 0xff], "a JPEG");
        let again = insp.inspect(&cover, DeclaredType::Jpeg).await.unwrap();
        assert_eq!(
            again,
            MediaInfo::Image { width, height },
            "cover at display size"
        );
        // Scratch directories are removed after each call.
        assert_eq!(
            std::fs::read_dir(tmp.path().join("scratch"))
                .unwrap()
                .count(),
            0
        );
    }

    /// A file made by ffmpeg from `args` (test-side only), named `name` in `dir`.
    fn ffmpeg_made(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
        let out = dir.join(name);
        let status = std::process::Command::new("ffmpeg")
            .args(["-v", "error", "-y"])
            .args(args)
            .arg(&out)
            .status()
            .expect("ffmpeg on PATH");
        assert!(status.success(), "ffmpeg {args:?}");
        out
    }

    /// The first `percent` % of `source`, written to `dir/name`.
    fn cut(source: &Path, percent: usize, dir: &Path, name: &str) -> PathBuf {
        let bytes = std::fs::read(source).unwrap();
        let out = dir.join(name);
        std::fs::write(&out, &bytes[..bytes.len() * percent / 100]).unwrap();
        out
    }

    /// Contract §4.1: truncated files disguised as a supported type are "not valid". Their
    /// headers probe well (a faststart MP4 keeps its whole sample table at the front), so only
    /// reading the rest refuses them.
    #[tokio::test]
    async fn truncated_files_are_not_valid() {
        let tmp = tempfile::tempdir().unwrap();
        let insp = CaptureInspector::new(tmp.path().join("scratch"));
        let faststart = ffmpeg_made(
            tmp.path(),
            "faststart.mp4",
            &[
                "-i",
                first_video().to_str().unwrap(),
                "-c",
                "copy",
                "-movflags",
                "+faststart",
            ],
        );
        let png = testdata("images/skimage_astronaut.png");
        let jpeg = testdata("images/tfjs_pose_yoga.jpg");
        // Bytes after a whole picture (a phone's trailer, the start of another picture, HTML)
        // are never read: the picture is whole.
        let trailed = |picture: &Path, name: &str| {
            let bytes = std::fs::read(picture).unwrap();
            let out = tmp.path().join(name);
            std::fs::write(&out, [&bytes[..], &bytes[..bytes.len() / 3]].concat()).unwrap();
            out
        };
        let (png_trailed, jpeg_trailed) =
            (trailed(&png, "trailed.png"), trailed(&jpeg, "trailed.jpg"));
        for (whole, declared) in [
            (&faststart, DeclaredType::Mov),
            (&png, DeclaredType::Png),
            (&jpeg, DeclaredType::Jpeg),
            (&png_trailed, DeclaredType::Png),
            (&jpeg_trailed, DeclaredType::Jpeg),
        ] {
            let got = insp.inspect(whole, declared).await;
            assert!(got.is_ok(), "{}: {got:?}", whole.display());
        }
        for (file, declared) in [
            (
                cut(&faststart, 80, tmp.path(), "cut.mp4"),
                DeclaredType::Mov,
            ),
            (cut(&png, 25, tmp.path(), "cut.png"), DeclaredType::Png),
            (cut(&jpeg, 25, tmp.path(), "cut.jpg"), DeclaredType::Jpeg),
        ] {
            let got = insp.inspect(&file, declared).await;
            assert!(
                matches!(got, Err(InspectError::Invalid(_))),
                "{}: {got:?}",
                file.display()
            );
        }
        assert_eq!(
            std::fs::read_dir(tmp.path().join("scratch"))
                .unwrap()
                .count(),
            0,
            "scratch directories are removed after a refusal too"
        );
    }

    #[tokio::test]
    async fn declared_type_must_match_content() {
        let tmp = tempfile::tempdir().unwrap();
        let insp = CaptureInspector::new(tmp.path().join("scratch"));
        let video = first_video();
        assert!(matches!(
            insp.inspect(&video, DeclaredType::Png).await,
            Err(InspectError::Invalid(_))
        ));
        let playlist = tmp.path().join("x.mp4");
        std::fs::write(
            &playlist,
            "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nother.ts\n",
        )
        .unwrap();
        assert!(matches!(
            insp.inspect(&playlist, DeclaredType::Mov).await,
            Err(InspectError::Invalid(_))
        ));
    }
}
