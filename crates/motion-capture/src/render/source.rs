//! The preview's frame source: the user's video decoded a second time by ffmpeg, already
//! scaled to the preview size (so half the bytes cross the pipe and the encoder need not
//! scale), with the same frame selection as the tracking pass (`-fps_mode passthrough`).

use std::path::Path;

use tokio::io::AsyncReadExt;
use tokio::process::ChildStdout;
use tokio_util::sync::CancellationToken;

use crate::media::runner::{FfCommand, Limits, MediaError, Running, Tool, split_job_path};
use crate::media::sniff::Container;

pub struct ScaledFrames {
    running: Option<Running>,
    stdout: ChildStdout,
    frame_bytes: usize,
}

impl ScaledFrames {
    /// Starts decoding `path` (in its job directory) to rgb24 frames of `size`.
    pub fn open(
        path: &Path,
        container: Container,
        size: (u32, u32),
        limits: &Limits,
        cancel: &CancellationToken,
    ) -> Result<ScaledFrames, MediaError> {
        let (dir, name) = split_job_path(Tool::Ffmpeg, path)?;
        let scale = format!("scale={}:{}:flags=bilinear", size.0, size.1);
        let mut running = FfCommand::ffmpeg(dir)
            .input_file(&name, container)
            .args([
                "-fps_mode",
                "passthrough",
                "-an",
                "-sn",
                "-dn",
                "-vf",
                scale.as_str(),
            ])
            .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"])
            .limits(limits.clone())
            .spawn(cancel)?;
        let stdout = running.stdout.take().ok_or_else(|| MediaError::Io {
            tool: Tool::Ffmpeg,
            source: std::io::Error::other("ffmpeg stdout is not piped"),
        })?;
        Ok(ScaledFrames {
            running: Some(running),
            stdout,
            frame_bytes: size.0 as usize * size.1 as usize * 3,
        })
    }

    /// The next frame, `None` at the end (after checking how ffmpeg ended).
    pub async fn next_frame(&mut self) -> Option<Result<Vec<u8>, MediaError>> {
        let running = self.running.as_ref()?;
        let tool = running.tool();
        let mut buf = vec![0u8; self.frame_bytes];
        let mut filled = 0;
        while filled < buf.len() {
            match self.stdout.read(&mut buf[filled..]).await {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(source) => {
                    self.running = None;
                    return Some(Err(MediaError::Io { tool, source }));
                }
            }
        }
        if filled == self.frame_bytes {
            return Some(Ok(buf));
        }
        let running = self.running.take()?;
        match running.wait().await {
            Err(e) => Some(Err(e)),
            Ok(_) if filled > 0 => Some(Err(MediaError::bad_input(
                tool,
                "truncated frame at the end of the video",
            ))),
            Ok(_) => None,
        }
    }
}
