//! Proof that a file holds what its headers promise. ffprobe reads headers only: a PNG or JPEG
//! cut short, or an MP4 whose sample table points past the end of the file, probes as a good
//! file, and the first frames of such a video still make a cover. Reading the rest through
//! ffmpeg, which stops at the first error, refuses them.

use std::path::Path;

use tokio_util::sync::CancellationToken;

use super::probe::MediaInfo;
use super::runner::{FfCommand, Limits, MediaError, Tool, split_job_path};

/// Reads all of the stream that `info` (the probe of `path`) chose, failing on the first
/// error:
/// - a still image is decoded in full. Only its first picture: data after it (a phone's
///   appended motion clip, a trailer) is never interpreted, as nothing else reads it either;
/// - a video has every packet of its stream read, copied to the null muxer without decoding
///   (a 10 s 1080p clip takes about 0.1 s, as long as its probe).
///
/// `-xerror` makes ffmpeg exit non-zero at a packet that runs past the end of the file, and
/// `-err_detect explode` makes an image decoder's error fatal: the JPEG decoder conceals a
/// missing scan and exits 0 without it. An image is decoded on one thread: a frame-threaded
/// decoder (PNG's) is handed the next packets before it gives the first picture back, so the
/// bytes after the picture were decoded too, and refused. A refusal is
/// [`MediaError::BadInput`].
pub async fn check_complete(
    path: &Path,
    info: &MediaInfo,
    limits: &Limits,
    cancel: &CancellationToken,
) -> Result<(), MediaError> {
    let (dir, name) = split_job_path(Tool::Ffmpeg, path)?;
    let stream = format!("0:{}", info.stream_index);
    let mut cmd = FfCommand::ffmpeg(dir).input_args(["-xerror"]);
    cmd = if info.container.is_image() {
        cmd.input_args(["-err_detect", "explode", "-threads", "1"])
            .input_file(&name, info.container)
            .args(["-map", stream.as_str(), "-frames:v", "1"])
    } else {
        cmd.input_file(&name, info.container)
            .args(["-map", stream.as_str(), "-c", "copy"])
    };
    cmd.args(["-f", "null", "-"])
        .limits(limits.clone())
        .run(cancel)
        .await?;
    Ok(())
}
