//! The frame source: ffmpeg decodes the user's video and pipes its frames on stdout, one after
//! another, in presentation order, upright (autorotation on), with no frame dropped or duplicated
//! (`-fps_mode passthrough`); every frame reaches the consumer as packed rgb24. Frames go through
//! a small bounded channel, so a slow consumer stalls ffmpeg instead of filling memory.
//!
//! The pipe carries rgb24 (W·H·3 bytes a frame) or, for the 8-bit 4:2:0 streams almost every
//! camera writes, the stream's own YUV (W·H·3/2 bytes), converted to the same rgb24 bytes here
//! ([`super::yuv`]): half the bytes through the pipe and no conversion in ffmpeg, which made
//! piping cost more CPU than decoding.
//!
//! Presentation times: the goldens (pose-pipeline §10) use ffprobe's `best_effort_timestamp_time`.
//! The ffmpeg CLI sets each decoded frame's pts to exactly that value, and with `-copyts` it is
//! not shifted, so a `setpts` filter that returns PTS unchanged and `print`s `PTS·TB·10⁶` at
//! error level reports it on stderr for each frame, before the frame reaches the output. This
//! streams, costs nothing measurable, and needs no second decoder process.

use std::path::Path;
use std::sync::{Arc, Mutex};

use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::probe::MediaInfo;
use super::runner::{FfCommand, Limits, MediaError, Tool, split_job_path};
use super::sniff::Container;
use super::yuv::{YuvToRgb, yuv420_len};
use crate::types::RgbFrame;

/// Options of a [`FrameSource`].
#[derive(Clone, Debug)]
pub struct DecodeOptions {
    pub limits: Limits,
    /// Decoded frames buffered between ffmpeg and the consumer, at most: large frames get fewer
    /// (see [`CHANNEL_BYTES`]).
    pub channel_frames: usize,
    /// `-frames:v` cap (None: no cap). The default is a backstop against "infinite" inputs
    /// (10⁵-frame bombs); callers with a frame budget set their own.
    pub max_frames: Option<u64>,
    /// Where spent frame buffers come back for reuse (None: every frame is a new buffer).
    pub pool: Option<FramePool>,
}

/// Spent frame buffers, given back by the consumer and refilled by the decoder: a new 6 MB
/// buffer per 1080p frame costs the allocator's zeroing and the kernel's page faults on every
/// frame, a recycled one neither. It never holds more buffers than were in flight at once
/// (the channels bound that), and at most 16.
#[derive(Clone, Debug, Default)]
pub struct FramePool(Arc<Mutex<Vec<Vec<u8>>>>);

impl FramePool {
    const MAX_BUFFERS: usize = 16;

    /// Gives a spent frame's buffer back.
    pub fn put(&self, buffer: Vec<u8>) {
        let mut free = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if free.len() < Self::MAX_BUFFERS {
            free.push(buffer);
        }
    }

    /// A buffer of exactly `len` bytes: a recycled one (contents stale, to be overwritten) or
    /// a new zeroed one.
    fn take(&self, len: usize) -> Vec<u8> {
        let recycled = self.0.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match recycled {
            Some(mut b) => {
                b.resize(len, 0);
                b
            }
            None => vec![0u8; len],
        }
    }
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            limits: Limits::default(),
            channel_frames: 3,
            max_frames: Some(DEFAULT_MAX_FRAMES),
            pool: None,
        }
    }
}

/// Default `-frames:v` cap: 20 minutes at 30 fps.
pub const DEFAULT_MAX_FRAMES: u64 = 36_000;

/// Squares non-square pixels (anamorphic video) by scaling the width to the display's, as
/// [`MediaInfo::square_pixel_size`] computes it: the pose models and the preview expect square
/// pixels. With square pixels the scale is the identity, and ffmpeg passes the frames through.
const SQUARE_PIXELS_FILTER: &str = "scale=w='trunc(iw*sar)':h=ih,setsar=1";

/// The setpts expression: identity on PTS, printing PTS in microseconds at level 16 (error), so
/// it passes `-v repeat+error`. Lines that parse as a number are timestamps; all else is diagnostics.
const TIMESTAMP_FILTER: &str = "setpts='PTS+0*print(PTS*TB*1000000,16)'";

/// Streams decoded RGB frames of one video or image.
pub struct FrameSource {
    rx: mpsc::Receiver<Result<RgbFrame, MediaError>>,
    width: u32,
    height: u32,
    pipes_yuv: bool,
}

impl FrameSource {
    /// Starts decoding `path` (a file in its job directory) whose probe result is `info`.
    pub fn open(
        path: &Path,
        info: &MediaInfo,
        opts: &DecodeOptions,
        cancel: &CancellationToken,
    ) -> Result<FrameSource, MediaError> {
        let map = format!("0:{}", info.stream_index);
        let pipe = FramePipe::for_stream(info);
        let decoder = spawn_decoder(path, info.container, map, pipe.pix_fmt(), opts, cancel)?;
        Ok(decoder.begin_as(info, pipe))
    }

    /// Starts decoding `path` before its probe result is known, so that ffmpeg's start-up (a
    /// good part of a short clip's time) overlaps ffprobe's; [`EarlySource::begin`] then
    /// takes the probe result. The stream is `0:V:0`, the first video stream that is not an
    /// attached picture: the one [`super::probe`] chooses. The decoder pipes the stream's own
    /// 4:2:0 pixels, which is what nearly every video holds (see [`EarlySource::begin`]).
    pub fn open_early(
        path: &Path,
        container: Container,
        opts: &DecodeOptions,
        cancel: &CancellationToken,
    ) -> Result<EarlySource, MediaError> {
        let map = "0:V:0".to_owned();
        let mut early = spawn_decoder(path, container, map, EARLY_PIX_FMTS, opts, cancel)?;
        early.respawn = Some(Respawn {
            path: path.to_path_buf(),
            opts: opts.clone(),
            cancel: cancel.clone(),
        });
        Ok(early)
    }

    /// The next frame; `None` after the last one. An error ends the stream.
    pub async fn next_frame(&mut self) -> Option<Result<RgbFrame, MediaError>> {
        self.rx.recv().await
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// Whether ffmpeg pipes the frames as 4:2:0 YUV, converted here (see [`super::yuv`]),
    /// rather than as rgb24.
    pub fn pipes_yuv(&self) -> bool {
        self.pipes_yuv
    }
}

/// The most decoded frames may hold in one channel between two stages (the decoder and its
/// consumer, and the engine's channels after it), in bytes: the frame count asked for (here
/// [`DecodeOptions::channel_frames`]) for 1080p and below (6.2 MB a frame), fewer for larger
/// frames (one of 4K), so that a large video does not hold many times the memory of a 1080p one
/// while its frames wait.
pub const CHANNEL_BYTES: usize = 32 << 20;

/// Frames of `width × height` rgb24 a channel holds: at most `frames`, within
/// [`CHANNEL_BYTES`], at least one.
pub fn channel_capacity(frames: usize, width: u32, height: u32) -> usize {
    let frame_bytes = (width as usize * height as usize * 3).max(1);
    frames.min(CHANNEL_BYTES / frame_bytes).max(1)
}

/// What the early decoder pipes: a 4:2:0 stream's own pixels (ffmpeg's format negotiation keeps
/// a stream that is already one of these as it is); anything else comes out converted to one of
/// them, and that decoder is replaced once the probe has told which it is.
const EARLY_PIX_FMTS: &str = "yuv420p|yuvj420p";

/// What ffmpeg writes to the frame pipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FramePipe {
    Rgb24,
    /// The stream's own 8-bit 4:2:0 pixels (`yuv420p` or `yuvj420p`: ffmpeg converts nothing),
    /// converted to rgb24 here exactly as ffmpeg would.
    Yuv420 {
        pix_fmt: &'static str,
        convert: YuvToRgb,
    },
}

impl FramePipe {
    /// The YUV pipe where it gives the very pixels of the rgb24 one: a video (images keep the
    /// path their goldens were made with) whose stream is 8-bit 4:2:0 with even sides and square
    /// pixels (ffmpeg converts those without scaling, the arithmetic [`YuvToRgb`] reproduces).
    fn for_stream(info: &MediaInfo) -> FramePipe {
        let pix_fmt = match info.pix_fmt.as_deref() {
            Some("yuv420p") => "yuv420p",
            Some("yuvj420p") => "yuvj420p",
            _ => return FramePipe::Rgb24,
        };
        let even = info.width.is_multiple_of(2) && info.height.is_multiple_of(2);
        if info.container.is_image() || !even || info.square_pixel_size() != info.stored_size() {
            return FramePipe::Rgb24;
        }
        // ffmpeg takes the range from each frame's tag, and from the `j` format where none is.
        let full_range = match info.color_range.as_deref() {
            Some("pc") => true,
            Some("tv") => false,
            _ => pix_fmt == "yuvj420p",
        };
        FramePipe::Yuv420 {
            pix_fmt,
            convert: YuvToRgb::new(info.color_space.as_deref(), full_range),
        }
    }

    fn pix_fmt(self) -> &'static str {
        match self {
            FramePipe::Rgb24 => "rgb24",
            FramePipe::Yuv420 { pix_fmt, .. } => pix_fmt,
        }
    }

    fn frame_len(self, width: u32, height: u32) -> usize {
        let (w, h) = (width as usize, height as usize);
        match self {
            FramePipe::Rgb24 => w * h * 3,
            FramePipe::Yuv420 { .. } => yuv420_len(w, h),
        }
    }
}

/// A started decoder whose frames are not read yet (see [`FrameSource::open_early`]). ffmpeg
/// blocks once the pipe is full; dropping this kills it.
pub struct EarlySource {
    running: super::runner::Running,
    stdout: tokio::process::ChildStdout,
    ts_rx: mpsc::UnboundedReceiver<f64>,
    channel_frames: usize,
    pool: FramePool,
    /// How to start another decoder of the same file (an early decoder only).
    respawn: Option<Respawn>,
}

struct Respawn {
    path: std::path::PathBuf,
    opts: DecodeOptions,
    cancel: CancellationToken,
}

impl EarlySource {
    /// Starts reading frames of the size and rate that the probe found. The early decoder
    /// carries on where its pipe is right for the stream (8-bit 4:2:0, even, square pixels: see
    /// [`FramePipe::for_stream`]); for any other stream an rgb24 decoder replaces it, as the
    /// early one converted the stream to 4:2:0 (dropping it kills its ffmpeg).
    pub async fn begin(mut self, info: &MediaInfo) -> Result<FrameSource, MediaError> {
        let pipe = FramePipe::for_stream(info);
        match (self.respawn.take(), pipe) {
            (None, _) | (_, FramePipe::Yuv420 { .. }) => Ok(self.begin_as(info, pipe)),
            (Some(again), FramePipe::Rgb24) => {
                FrameSource::open(&again.path, info, &again.opts, &again.cancel)
            }
        }
    }

    fn begin_as(self, info: &MediaInfo, pipe: FramePipe) -> FrameSource {
        let (width, height) = info.square_pixel_size();
        let capacity = channel_capacity(self.channel_frames, width, height);
        let (tx, rx) = mpsc::channel(capacity);
        let stream = PipeStream {
            pipe,
            width,
            height,
            fps: info.fps,
        };
        tokio::spawn(pump(
            self.running,
            self.stdout,
            self.ts_rx,
            tx,
            stream,
            self.pool,
        ));
        FrameSource {
            rx,
            width,
            height,
            pipes_yuv: pipe != FramePipe::Rgb24,
        }
    }
}

/// Starts ffmpeg decoding stream `map` of `path` to raw frames of one of `pix_fmts` (ffmpeg's
/// `format` filter list: `a|b`) on its stdout, with each frame's timestamp on stderr.
fn spawn_decoder(
    path: &Path,
    container: Container,
    map: String,
    pix_fmts: &str,
    opts: &DecodeOptions,
    cancel: &CancellationToken,
) -> Result<EarlySource, MediaError> {
    let (dir, name) = split_job_path(Tool::Ffmpeg, path)?;
    let mut args: Vec<String> = vec![
        "-map".into(),
        map,
        "-copyts".into(),
        "-fps_mode".into(),
        "passthrough".into(),
    ];
    if let Some(n) = opts.max_frames {
        args.extend(["-frames:v".into(), n.to_string()]);
    }
    // Images (for the goldens and covers) keep their stored pixels.
    // The `format` filter is what `-pix_fmt` adds; as a filter it can offer a choice.
    let filters = if container.is_image() {
        format!("{TIMESTAMP_FILTER},format=pix_fmts={pix_fmts}")
    } else {
        format!("{SQUARE_PIXELS_FILTER},{TIMESTAMP_FILTER},format=pix_fmts={pix_fmts}")
    };
    args.extend(["-an", "-sn", "-dn", "-vf"].map(String::from));
    args.push(filters);
    args.extend(["-f", "rawvideo", "pipe:1"].map(String::from));
    let (ts_tx, ts_rx) = mpsc::unbounded_channel::<f64>();
    let hook = Box::new(move |line: &str| match line.trim().parse::<f64>() {
        Ok(v) => {
            let _ = ts_tx.send(v);
            false
        }
        Err(_) => true,
    });
    let mut running = FfCommand::ffmpeg(dir)
        // One decoder thread: decoding runs beside inference (and, in the service, beside other
        // jobs) on few cores, where frame threads cost more CPU than they save wall time (1080p
        // H.264 decodes at ~5 ms a frame on one thread, well ahead of inference). Decoding is
        // bit-exact whatever the thread count, so the frames are unchanged.
        .input_args(["-threads", "1"])
        .input_file(&name, container)
        .args(args)
        .limits(opts.limits.clone())
        .spawn_with_stderr_hook(cancel, Some(hook))?;
    let stdout = running.stdout.take().expect("stdout is piped");
    widen_pipe(&stdout);
    Ok(EarlySource {
        running,
        stdout,
        ts_rx,
        channel_frames: opts.channel_frames,
        pool: opts.pool.clone().unwrap_or_default(),
        respawn: None,
    })
}

/// Pipe capacity for frames: the most Linux allows unprivileged (`/proc/sys/fs/pipe-max-size`).
pub(crate) const FRAME_PIPE_BYTES: i32 = 1 << 20;

/// Grows a frame pipe from the default 64 KiB, so a multi-megabyte frame crosses it in a few
/// large copies instead of ~100 wake-ups of each side. Best effort: a refusal only costs speed.
pub(crate) fn widen_pipe(pipe: &impl std::os::fd::AsFd) {
    let _ = nix::fcntl::fcntl(pipe, nix::fcntl::FcntlArg::F_SETPIPE_SZ(FRAME_PIPE_BYTES));
}

/// The frames a pipe carries.
#[derive(Clone, Copy, Debug)]
struct PipeStream {
    pipe: FramePipe,
    width: u32,
    height: u32,
    fps: f64,
}

/// Reads exact frames from stdout, pairs each with its timestamp, and forwards them as rgb24.
async fn pump(
    running: super::runner::Running,
    mut stdout: tokio::process::ChildStdout,
    mut ts_rx: mpsc::UnboundedReceiver<f64>,
    tx: mpsc::Sender<Result<RgbFrame, MediaError>>,
    stream: PipeStream,
    pool: FramePool,
) {
    let PipeStream {
        pipe,
        width,
        height,
        fps,
    } = stream;
    let frame_len = pipe.frame_len(width, height);
    let mut clock = FrameClock::new(fps);
    let mut index = 0u64;
    // A YUV frame is read here and converted into a pooled rgb24 buffer.
    let mut piped = Vec::new();
    // Each frame read restarts ffmpeg's timeout: a long clip decodes at the pace of inference.
    let progress = running.progress();
    let failure = loop {
        let mut data = match pipe {
            FramePipe::Rgb24 => pool.take(frame_len),
            FramePipe::Yuv420 { .. } => {
                let mut yuv = std::mem::take(&mut piped);
                yuv.resize(frame_len, 0);
                yuv
            }
        };
        match read_full(&mut stdout, &mut data).await {
            Ok(0) => break None,
            Ok(n) if n < frame_len => {
                break Some(MediaError::bad_input(
                    Tool::Ffmpeg,
                    format!("truncated frame {index}: {n} of {frame_len} bytes"),
                ));
            }
            Ok(_) => progress.made(),
            Err(source) => {
                break Some(MediaError::Io {
                    tool: Tool::Ffmpeg,
                    source,
                });
            }
        }
        if let FramePipe::Yuv420 { convert, .. } = pipe {
            let rgb = pool.take(width as usize * height as usize * 3);
            match to_rgb24(convert, data, rgb, width, height).await {
                Ok((yuv, rgb)) => (piped, data) = (yuv, rgb),
                Err(e) if e.is_cancelled() => {
                    break Some(MediaError::Cancelled { tool: Tool::Ffmpeg });
                }
                Err(e) => {
                    break Some(MediaError::Io {
                        tool: Tool::Ffmpeg,
                        source: std::io::Error::other(format!("converting frame {index}: {e}")),
                    });
                }
            }
        }
        // The timestamp line is written before the frame leaves the filter graph.
        let t_us = clock.next(ts_rx.recv().await);
        let frame = RgbFrame {
            width,
            height,
            t_us,
            index,
            data,
        };
        if tx.send(Ok(frame)).await.is_err() {
            // The consumer is gone: dropping `running` kills ffmpeg.
            return;
        }
        index += 1;
    };
    drop(stdout);
    let result = running.wait().await;
    let err = failure.or(result.err());
    if let Some(e) = err {
        let _ = tx.send(Err(e)).await;
    }
}

/// Converts one piped YUV frame into `rgb` on the blocking pool (a 1080p frame is about a
/// millisecond of work, too long for an async worker); gives both buffers back for reuse. The
/// error is the task's: cancelled when the runtime shuts down, or a panic (a bug).
async fn to_rgb24(
    convert: YuvToRgb,
    yuv: Vec<u8>,
    mut rgb: Vec<u8>,
    width: u32,
    height: u32,
) -> Result<(Vec<u8>, Vec<u8>), tokio::task::JoinError> {
    tokio::task::spawn_blocking(move || {
        convert.convert(&yuv, width as usize, height as usize, &mut rgb);
        (yuv, rgb)
    })
    .await
}

/// Turns printed timestamps into strictly increasing integer microseconds (the filters require
/// it); a missing or non-finite value continues from the previous one at the nominal rate.
struct FrameClock {
    last: Option<i64>,
    step_us: i64,
}

impl FrameClock {
    fn new(fps: f64) -> Self {
        let step_us = if fps > 0.0 {
            (1e6 / fps).round().max(1.0) as i64
        } else {
            33_333
        };
        FrameClock {
            last: None,
            step_us,
        }
    }

    fn next(&mut self, printed: Option<f64>) -> i64 {
        let t = match printed.filter(|v| v.is_finite()) {
            Some(v) => v.round() as i64,
            None => self.last.map_or(0, |l| l.saturating_add(self.step_us)),
        };
        let t = match self.last {
            Some(l) if t <= l => l.saturating_add(1),
            _ => t,
        };
        self.last = Some(t);
        t
    }
}

async fn read_full(r: &mut tokio::process::ChildStdout, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        let n = r.read(&mut buf[filled..]).await?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

/// Decodes a still image (PNG/JPEG, by ffmpeg, as the goldens were made) to one RGB frame.
pub async fn decode_image(
    path: &Path,
    info: &MediaInfo,
    limits: &Limits,
    cancel: &CancellationToken,
) -> Result<RgbFrame, MediaError> {
    if !matches!(info.container, Container::Png | Container::Jpeg) {
        return Err(MediaError::bad_input(Tool::Ffmpeg, "not an image"));
    }
    let opts = DecodeOptions {
        limits: limits.clone(),
        channel_frames: 1,
        max_frames: Some(1),
        pool: None,
    };
    let mut src = FrameSource::open(path, info, &opts, cancel)?;
    let frame = src
        .next_frame()
        .await
        .ok_or_else(|| MediaError::bad_input(Tool::Ffmpeg, "image decoded to no frame"))??;
    // Drain so that a late failure (and the process exit) is observed.
    while let Some(r) = src.next_frame().await {
        r?;
    }
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_frames_wait_in_fewer_channel_slots() {
        assert_eq!(channel_capacity(4, 1920, 1080), 4);
        assert_eq!(channel_capacity(4, 2560, 1440), 3);
        assert_eq!(channel_capacity(4, 3840, 2160), 1);
        assert_eq!(channel_capacity(4, 64, 48), 4);
        assert_eq!(channel_capacity(0, 64, 48), 1);
    }

    #[test]
    fn clock_rounds_and_keeps_order() {
        let mut c = FrameClock::new(30.0);
        assert_eq!(c.next(Some(0.0)), 0);
        assert_eq!(c.next(Some(33333.333333)), 33333);
        assert_eq!(c.next(Some(66666.666667)), 66667);
        assert_eq!(c.next(None), 100000);
        assert_eq!(c.next(Some(f64::NAN)), 133333);
        assert_eq!(c.next(Some(100.0)), 133334);
    }
}
