//! The H.264 encoder for previews: our own rgb24 frames piped into ffmpeg (libx264, yuv420p,
//! `+faststart`, no audio), through the hardened runner.
//!
//! The frames are trusted (we drew them), so the input is a raw pipe; the output goes into the
//! directory of `out` (ffmpeg's working directory), under its plain file name.

use std::path::Path;

use tokio::io::AsyncWriteExt;
use tokio::process::ChildStdin;
use tokio_util::sync::CancellationToken;

use super::runner::{FfCommand, Limits, MediaError, RawVideoInput, Running, Tool, split_job_path};

/// A running preview encode. Push exactly `width × height × 3` bytes per frame, then
/// [`finish`](Encoder::finish).
pub struct Encoder {
    running: Running,
    stdin: ChildStdin,
    frame_bytes: usize,
}

impl Encoder {
    /// Starts ffmpeg writing `out` (an `.mp4` or `.jpg`... path whose directory exists) at
    /// `frame_rate` (ffmpeg syntax: `30` or `30000/1001`). Width and height must be even.
    pub fn start(
        out: &Path,
        width: u32,
        height: u32,
        frame_rate: &str,
        limits: &Limits,
        cancel: &CancellationToken,
    ) -> Result<Encoder, MediaError> {
        Encoder::start_scaled(
            out,
            (width, height),
            (width, height),
            frame_rate,
            limits,
            cancel,
        )
    }

    /// Like [`start`](Encoder::start) for frames of `input` size, scaled by ffmpeg to `output`
    /// (both even), so that full-size decoded frames need no resampling on our side.
    pub fn start_scaled(
        out: &Path,
        input: (u32, u32),
        output: (u32, u32),
        frame_rate: &str,
        limits: &Limits,
        cancel: &CancellationToken,
    ) -> Result<Encoder, MediaError> {
        let scale = (input != output).then_some(output);
        Encoder::spawn(
            out,
            RawFrames::Rgb24,
            input,
            scale,
            frame_rate,
            Preset::Veryfast,
            limits,
            cancel,
        )
    }

    /// Starts ffmpeg encoding yuv420p frames of `size` (both sides even; exactly
    /// `w·h + 2·(w/2)·(h/2)` bytes per frame, planar Y, U, V) as they are: no conversion and no
    /// scaling in ffmpeg, the cheapest input there is. One x264 thread.
    pub fn start_yuv420p(
        out: &Path,
        size: (u32, u32),
        frame_rate: &str,
        preset: Preset,
        limits: &Limits,
        cancel: &CancellationToken,
    ) -> Result<Encoder, MediaError> {
        Encoder::spawn(
            out,
            RawFrames::Yuv420p,
            size,
            None,
            frame_rate,
            preset,
            limits,
            cancel,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn spawn(
        out: &Path,
        frames: RawFrames,
        input: (u32, u32),
        scale: Option<(u32, u32)>,
        frame_rate: &str,
        preset: Preset,
        limits: &Limits,
        cancel: &CancellationToken,
    ) -> Result<Encoder, MediaError> {
        let (width, height) = input;
        let (dir, name) = split_job_path(Tool::Ffmpeg, out)?;
        let raw = RawVideoInput {
            width,
            height,
            pix_fmt: frames.pix_fmt().into(),
            frame_rate: frame_rate.into(),
        };
        let mut args: Vec<String> = Vec::new();
        if let Some((w, h)) = scale {
            args.extend(["-vf".into(), format!("scale={w}:{h}:flags=bilinear")]);
        }
        if matches!(frames, RawFrames::Yuv420p) {
            // The engine's preview, encoded beside inference on the same cores: one x264
            // thread keeps up (a 720p `ultrafast` frame is ~3.5 ms) and spends ~15 % less CPU
            // than x264's frame threads, which only pay off on idle cores.
            args.extend(["-threads".into(), "1".into()]);
        }
        args.extend(h264_args(&name, preset));
        let mut running = FfCommand::ffmpeg(dir)
            .input_raw_video(raw)
            .args(args)
            .limits(limits.clone())
            .spawn(cancel)?;
        let stdin = running.stdin.take().ok_or_else(|| MediaError::Io {
            tool: Tool::Ffmpeg,
            source: std::io::Error::other("ffmpeg stdin is not piped"),
        })?;
        super::decode::widen_pipe(&stdin);
        Ok(Encoder {
            running,
            stdin,
            frame_bytes: frames.frame_bytes(width, height),
        })
    }

    /// Writes one frame (back-pressure: waits while ffmpeg is busy).
    pub async fn push(&mut self, rgb: &[u8]) -> Result<(), MediaError> {
        if rgb.len() != self.frame_bytes {
            return Err(MediaError::Io {
                tool: Tool::Ffmpeg,
                source: std::io::Error::other(format!(
                    "frame has {} bytes, the encoder expects {}",
                    rgb.len(),
                    self.frame_bytes
                )),
            });
        }
        self.stdin
            .write_all(rgb)
            .await
            .map_err(|source| MediaError::Io {
                tool: Tool::Ffmpeg,
                source,
            })?;
        // Each frame taken restarts ffmpeg's timeout: a long preview is encoded at the pace of
        // inference.
        self.running.progress().made();
        Ok(())
    }

    /// Why the encoder stopped taking frames, once `push` failed with `pushed` (a pipe ffmpeg
    /// closed says nothing of why): ffmpeg's own error, its exit status and the end of its
    /// messages, waited for; `pushed` if ffmpeg reports none.
    pub async fn why_stopped(self, pushed: MediaError) -> MediaError {
        match self.finish().await {
            Err(reported) => reported,
            Ok(()) => pushed,
        }
    }

    /// Closes the input and waits for ffmpeg to finish the file.
    pub async fn finish(self) -> Result<(), MediaError> {
        let Encoder {
            running, mut stdin, ..
        } = self;
        // A failed flush means ffmpeg already quit; `wait` reports why.
        let _ = stdin.shutdown().await;
        drop(stdin);
        running.wait().await.map(|_| ())
    }
}

/// The pixel layouts an [`Encoder`] takes on its pipe.
#[derive(Clone, Copy, Debug)]
enum RawFrames {
    Rgb24,
    Yuv420p,
}

impl RawFrames {
    fn pix_fmt(self) -> &'static str {
        match self {
            RawFrames::Rgb24 => "rgb24",
            RawFrames::Yuv420p => "yuv420p",
        }
    }

    fn frame_bytes(self, width: u32, height: u32) -> usize {
        let (w, h) = (width as usize, height as usize);
        match self {
            RawFrames::Rgb24 => w * h * 3,
            RawFrames::Yuv420p => w * h + 2 * w.div_ceil(2) * h.div_ceil(2),
        }
    }
}

/// libx264's speed/size trade-off (its `-preset`), with the rate control that suits it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    Ultrafast,
    Superfast,
    Veryfast,
}

impl Preset {
    fn name(self) -> &'static str {
        match self {
            Preset::Ultrafast => "ultrafast",
            Preset::Superfast => "superfast",
            Preset::Veryfast => "veryfast",
        }
    }

    /// The rate control: `-crf 23`, x264's default, except for `ultrafast`. That preset has
    /// no adaptive quantisation and no macroblock tree, so CRF 23 there spends far more bits
    /// than the same number does in the other presets (a 10 s 720p30 preview: 2.0 MB, SSIM
    /// 0.993), and coding those bits is most of the encoder's time. A constant quantiser of 23
    /// gives 0.73 MB at SSIM 0.987 (`veryfast` CRF 23: 0.47 MB at 0.991) with 35 % less CPU.
    fn rate_control(self) -> [&'static str; 2] {
        match self {
            Preset::Ultrafast => ["-qp", "23"],
            Preset::Superfast | Preset::Veryfast => ["-crf", "23"],
        }
    }
}

/// Output options of the preview (api-contract §9.3).
fn h264_args(name: &str, preset: Preset) -> Vec<String> {
    let [rate_control, quality] = preset.rate_control();
    [
        "-an",
        "-c:v",
        "libx264",
        "-preset",
        preset.name(),
        rate_control,
        quality,
        "-pix_fmt",
        "yuv420p",
        "-movflags",
        "+faststart",
        "-f",
        "mp4",
        "-y",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain(std::iter::once(format!("file:{name}")))
    .collect()
}
