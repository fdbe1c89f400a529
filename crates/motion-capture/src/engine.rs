//! `Engine::extract`: one video in, every output file out.
//!
//! probe → ONE decode pass (bounded channel) → pose on ONE blocking inference thread → whole-clip
//! solve → BVH/glb/landmarks/quality/zips. The preview overlaps inference: each tracked frame
//! goes on (bounded channel, back-pressure) to the preview writer, which draws that frame's 2D
//! landmarks and feeds the H.264 encoder (its own ffmpeg process, i.e. the other core) while the
//! inference thread works on the next frame; no frame is kept for the whole clip. The cover is
//! the middle frame of the preview. Cancellation is checked between frames on both sides; a
//! cancelled ffmpeg is killed by the runner. Duration limits are the API's business; the engine
//! only refuses what no motion file can hold ([`MAX_CLIP_FRAMES`]).

use std::path::{Path, PathBuf};
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::export::{self, Exported, landmarks::LandmarksMeta};
use crate::held_dir::{HeldDir, remove_abandoned};
use crate::media::{
    self, Container, DecodeOptions, FrameGrid, FramePool, FrameSource, Limits, MediaError,
    MediaInfo, Placement,
};
use crate::models::{LandmarkModel, LoadOptions, ModelError, PoseModels};
use crate::pose::tracker::{PoseError, Tracker, TrackerOptions};
use crate::render::{self, painter::Painter};
use crate::solve::{self, Quality, Solution, SolveError, SolveInput, SolveParams};
use crate::thread_name::{self, ThreadName};
use crate::types::{Pose, PoseFrame, RgbFrame};

pub const PREVIEW_NAME: &str = "preview.mp4";
pub const COVER_NAME: &str = "cover.jpg";
/// Longest side of the preview (api-contract §9.3).
pub const PREVIEW_MAX_SIDE: u32 = 1280;

/// The most frames a clip may have: 20 minutes at 60 fps, as many as a BVH file our own reader
/// accepts. A longer clip is refused once probed, and a stream that runs on past what its
/// container says is cut there.
pub const MAX_CLIP_FRAMES: u64 = 72_000;

/// The CPU time (s) the decoder and the preview encoder may each use: a whole clip of
/// [`MAX_CLIP_FRAMES`] at 4K costs the decoder about half an hour. Their timeout bounds a stall
/// (each frame is progress), so the CPU limit is what bounds their work; the default's ten
/// minutes would kill the decoder of a long 4K clip half-way, as if the file were bad.
const STREAM_CPU_SECONDS: u64 = 3 * 3600;

/// The limits of a job's decoder and preview encoder: the job's own, with the CPU time a whole
/// clip needs ([`STREAM_CPU_SECONDS`]).
fn streaming_limits(limits: &Limits) -> Limits {
    Limits {
        cpu_seconds: limits.cpu_seconds.max(STREAM_CPU_SECONDS),
        ..limits.clone()
    }
}

/// How to run one extraction.
#[derive(Clone, Debug)]
pub struct ExtractOptions {
    /// Directory holding the converted models and the ONNX Runtime library.
    pub models_dir: PathBuf,
    pub model: LandmarkModel,
    /// Limits for every ffmpeg/ffprobe call of the job.
    pub limits: Limits,
    /// Write `preview.mp4` and `cover.jpg` (the API copies its cover; the CLI wants both).
    pub preview: bool,
    /// Decoded frames buffered between ffmpeg and the inference thread.
    pub channel_frames: usize,
    /// Model session threads: one for the service's worker (one job per core); the CLI, which
    /// runs alone, may give the landmark model more.
    pub load: LoadOptions,
    /// Where the job's private directory (a copy of the input, the preview being encoded) is
    /// made; None: the system's temporary directory. The service gives its own work directory,
    /// which its janitor sweeps, so a killed process leaves no copy of a user's video behind.
    pub scratch_dir: Option<PathBuf>,
}

impl ExtractOptions {
    pub fn new(models_dir: impl Into<PathBuf>) -> Self {
        ExtractOptions {
            models_dir: models_dir.into(),
            model: LandmarkModel::Full,
            limits: Limits::default(),
            preview: true,
            channel_frames: 4,
            load: LoadOptions::default(),
            scratch_dir: None,
        }
    }
}

/// Where an extraction is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Probing,
    Tracking,
    Solving,
    Exporting,
    Preview,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    pub stage: Stage,
    /// Frames done in this stage, and the expected total (an estimate from the probe: the
    /// analysis frames its duration and rate give, else its frame count; 0 when unknown).
    pub done: u64,
    pub total: u64,
}

/// What an extraction produced.
#[derive(Clone, Debug)]
pub struct Report {
    pub frames: usize,
    pub person_found_frames: usize,
    pub person_found_ratio: f32,
    /// Frames where the tracker found a body that the solve set aside as not the performer's
    /// (someone else in view, a table taken for a body): tracked, but neither solved from nor
    /// counted as found, and not detected in `landmarks.json`.
    pub poses_set_aside: usize,
    /// Analysis frame rate of the video.
    pub video_fps: f64,
    /// Frames processed per second of wall time, whole job.
    pub processing_fps: f64,
    /// Seconds spent in the tracking stage (decode + pose), the bulk of the job.
    pub tracking_s: f64,
    /// Source frames tracked in that stage (`frames` are those of the analysis grid, §9.4).
    pub tracked_frames: u64,
    pub elapsed_s: f64,
    pub width: u32,
    pub height: u32,
    pub files: Exported,
    pub preview: Option<PathBuf>,
    pub cover: Option<PathBuf>,
    pub quality: Quality,
}

/// Failures, separated by whose fault they are.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// The input is not a readable video (not a video, unsupported, corrupt).
    #[error("{0}")]
    BadInput(String),
    #[error("No person detected in the video (MOTION.PIC_NOT_MATCHED)")]
    NoPerson,
    #[error("extraction was cancelled")]
    Cancelled,
    /// The models are not installed or could not be loaded.
    #[error(transparent)]
    Models(#[from] ModelError),
    /// The output folder cannot take the outputs (not a folder, not writable, full).
    #[error("cannot write the outputs: {0}")]
    Output(String),
    /// Our fault: a tool missing or failing on our data, I/O, a bug.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ExtractError {
    pub fn is_bad_input(&self) -> bool {
        matches!(self, ExtractError::BadInput(_) | ExtractError::NoPerson)
    }

    /// Whether the caller can put it right: a bad input, or an output folder that cannot take
    /// the outputs.
    pub fn is_callers_fault(&self) -> bool {
        self.is_bad_input() || matches!(self, ExtractError::Output(_))
    }
}

impl From<MediaError> for ExtractError {
    fn from(e: MediaError) -> Self {
        match e {
            MediaError::Cancelled { .. } => ExtractError::Cancelled,
            e if e.is_bad_input() => {
                let reason = media::explain::explain(&e).unwrap_or_else(|| e.to_string());
                ExtractError::BadInput(format!("not a readable video: {reason}"))
            }
            e => ExtractError::Internal(e.to_string()),
        }
    }
}

impl From<export::ExportError> for ExtractError {
    fn from(e: export::ExportError) -> Self {
        ExtractError::Internal(e.to_string())
    }
}

/// The engine entry point (stateless: models are loaded per job on the inference thread).
pub struct Engine;

impl Engine {
    /// Extracts the motion of the person in `input` into `out_dir` (created if needed).
    pub async fn extract(
        input: &Path,
        out_dir: &Path,
        opts: ExtractOptions,
        cancel: CancellationToken,
        progress: impl Fn(Progress) + Send + Sync,
    ) -> Result<Report, ExtractError> {
        // The tracker and painter threads and the ffmpeg processes outlive a dropped future:
        // dropping it unfinished stops them as cancelling does.
        let cancel = cancel.child_token();
        let _stop_when_dropped = cancel.clone().drop_guard();
        let started = Instant::now();
        // Before any work: a folder that cannot take the outputs is found now, not after the
        // whole clip has been tracked.
        let output = OutputDir::prepare(out_dir, input)?;
        progress(Progress {
            stage: Stage::Probing,
            done: 0,
            total: 1,
        });
        // ffmpeg runs inside a directory holding only this job's input (architecture §5).
        let job = JobDir::with_copy_of(input, opts.scratch_dir.as_deref())?;
        // A file that is no video at all is refused before any model loads.
        let container = sniff_video(&job.input)?;
        // The models load on the inference thread while ffprobe runs.
        let pool = FramePool::default();
        let inference = Inference::start(&opts, &cancel, &pool);
        let (source, info) = match open_and_probe(&job, container, &opts, &pool, &cancel).await {
            Ok(opened) => opened,
            Err(e) => {
                inference.abandon().await;
                return Err(e);
            }
        };

        let track_started = Instant::now();
        let (tracked, preview) = track_with_preview(
            source, inference, &job, &info, &opts, &cancel, &progress, pool,
        )
        .await?;
        let tracking_s = track_started.elapsed().as_secs_f64();

        // The encoder's flush and the cover run beside the solve and the exports. Only a
        // successful tracking pass gets here (an error above drops, and so kills, the encoder).
        let finishing = async {
            match preview {
                Some(p) => p.finish(&job).await.map(Some),
                None => Ok(None),
            }
        };
        // Every output is written in the job directory and moved into `out_dir` once all of
        // them are done: a failed or cancelled run leaves none there, nor new motion files
        // beside an earlier run's preview.
        let staged = job.path("outputs");
        std::fs::create_dir(&staged)
            .map_err(|e| ExtractError::Internal(format!("creating {}: {e}", staged.display())))?;
        let exporting = solve_and_export(&staged, &tracked, &info, opts.model, &progress);
        let (motion, preview) = tokio::join!(exporting, finishing);
        let mut motion = motion?;
        let preview = preview?;
        preview_progress(preview.is_some(), &progress);
        let (preview, cover) = output.deliver(&mut motion.files, preview, &cancel)?;
        let elapsed_s = started.elapsed().as_secs_f64();
        let q = motion.solution.quality;
        let poses = tracked.frames.iter().filter(|f| f.pose.is_some()).count();
        Ok(Report {
            frames: q.frame_count,
            person_found_frames: q.person_found_frames,
            person_found_ratio: q.person_found_ratio,
            poses_set_aside: poses.saturating_sub(q.person_found_frames),
            video_fps: motion.fps,
            processing_fps: q.frame_count as f64 / elapsed_s.max(1e-9),
            tracking_s,
            tracked_frames: tracked.source_frames,
            elapsed_s,
            width: info.width,
            height: info.height,
            files: motion.files,
            preview,
            cover,
            quality: q,
        })
    }
}

/// Starts the decoder, then probes: ffmpeg's start-up overlaps ffprobe's. The decoder reads
/// nothing until the probe has succeeded, and a failed probe kills it.
async fn open_and_probe(
    job: &JobDir,
    container: Container,
    opts: &ExtractOptions,
    pool: &FramePool,
    cancel: &CancellationToken,
) -> Result<(FrameSource, MediaInfo), ExtractError> {
    let decode = DecodeOptions {
        limits: streaming_limits(&opts.limits),
        channel_frames: opts.channel_frames,
        max_frames: Some(MAX_CLIP_FRAMES),
        pool: Some(pool.clone()),
    };
    let decoder = FrameSource::open_early(&job.input, container, &decode, cancel)?;
    let probed = probe_video(&job.input, container, opts, cancel).await?;
    let source = decoder.begin(&probed).await?;
    // From here on the video is what the decoder delivers: square pixels (§9.3 display size).
    Ok((source, probed.with_square_pixels()))
}

/// Tracks every frame, feeding the preview writer (when a preview is wanted) as it goes.
#[allow(clippy::too_many_arguments)]
async fn track_with_preview(
    source: FrameSource,
    inference: Inference,
    job: &JobDir,
    info: &MediaInfo,
    opts: &ExtractOptions,
    cancel: &CancellationToken,
    progress: &(impl Fn(Progress) + Send + Sync),
    pool: FramePool,
) -> Result<(Tracked, Option<PreviewDone>), ExtractError> {
    let grid = analysis_grid(info);
    // Tracking counts the analysis grid's frames, which are not the source's where a
    // variable-rate recording pauses; so does the expected total where the grid is known.
    let total = grid.slots().or(info.frame_count).unwrap_or(0);
    // The cover is the preview's middle frame.
    let cover_at = total / 2;
    let mut inference = inference.connect(info.width, info.height);
    let preview = inference
        .preview
        .take()
        .map(|rx| preview_writer(rx, job, info, opts, cancel, cover_at, pool));
    let Some(writer) = preview else {
        let tracked = track(source, inference, grid, cancel, progress, total).await?;
        return Ok((tracked, None));
    };
    // A preview writer that fails fails the job: tracking stops then rather than at the end,
    // and the writer's error is the one reported.
    let stop_tracking = cancel.child_token();
    let writer = async {
        let written = writer.await;
        if written.is_err() {
            stop_tracking.cancel();
        }
        written
    };
    let tracking = track(source, inference, grid, &stop_tracking, progress, total);
    match tokio::join!(tracking, writer) {
        (_, Err(e)) if !matches!(e, ExtractError::Cancelled) => Err(e),
        (tracked, preview) => Ok((tracked?, Some(preview?))),
    }
}

/// What the solve and the exports produced.
struct Motion {
    fps: f64,
    solution: Solution,
    files: Exported,
}

/// Solves the skeleton of the whole clip and writes the motion files into `out_dir`.
async fn solve_and_export(
    out_dir: &Path,
    tracked: &Tracked,
    info: &MediaInfo,
    model: LandmarkModel,
    progress: &(impl Fn(Progress) + Send + Sync),
) -> Result<Motion, ExtractError> {
    progress(Progress {
        stage: Stage::Solving,
        done: 0,
        total: 1,
    });
    let fps = analysis_fps(info, &tracked.frames);
    let solution = solve_clip(&tracked.frames, info, fps).await?;
    progress(Progress {
        stage: Stage::Exporting,
        done: 0,
        total: 1,
    });
    let meta = LandmarksMeta {
        model: model_name(model),
        fps,
        width: info.width,
        height: info.height,
    };
    let files =
        export::write_motion_files(out_dir, &solution, &tracked.frames, &tracked.scores, &meta)?;
    Ok(Motion {
        fps,
        solution,
        files,
    })
}

/// The name prefix of the hidden folder in which a run's outputs gather.
const GATHERING_PREFIX: &str = ".motiond-outputs-";

/// The folder the outputs go to, checked at the start of a run, with a hidden folder inside it
/// where they gather before they take their names: on the same file system, so that naming them
/// is a rename, which needs no space and cannot stop halfway through a file. A run that fails or
/// is cancelled leaves the folder as it found it (the hidden folder goes with this value).
struct OutputDir {
    dir: PathBuf,
    /// Held while this run lives (see [`HeldDir`]): a run that was killed leaves its own
    /// behind, which the next run into the folder removes.
    gathering: HeldDir,
    /// The input video's file (device, inode): never removed as an earlier run's output.
    input: Option<(u64, u64)>,
}

impl OutputDir {
    /// Makes `dir` (and its parents) where needed, and the hidden folder in it, for the outputs
    /// of `input`.
    fn prepare(dir: &Path, input: &Path) -> Result<OutputDir, ExtractError> {
        let unwritable =
            |e: std::io::Error| ExtractError::Output(format!("{}: {e}", dir.display()));
        std::fs::create_dir_all(dir).map_err(unwritable)?;
        remove_abandoned(dir, GATHERING_PREFIX);
        let gathering = HeldDir::new_in(dir, GATHERING_PREFIX).map_err(unwritable)?;
        Ok(OutputDir {
            dir: dir.to_owned(),
            gathering,
            input: file_id(input),
        })
    }

    /// Moves every output, all made in the job directory, into the output folder, unless the
    /// job was cancelled meanwhile; `motion` then names the moved files. Without a preview, an
    /// earlier run's preview and cover are removed: they would not show this motion. Returns
    /// the preview's and the cover's new paths.
    fn deliver(
        self,
        motion: &mut Exported,
        preview: Option<PreviewFiles>,
        cancel: &CancellationToken,
    ) -> Result<(Option<PathBuf>, Option<PathBuf>), ExtractError> {
        if cancel.is_cancelled() {
            return Err(ExtractError::Cancelled);
        }
        let (mut preview_path, mut cover_path) = match preview {
            Some(files) => (Some(files.preview), Some(files.cover)),
            None => (None, None),
        };
        let mut files: Vec<&mut PathBuf> = motion.paths_mut().into_iter().collect();
        files.extend(preview_path.as_mut());
        files.extend(cover_path.as_mut());
        for path in &mut files {
            **path = self.gather(path)?;
        }
        for path in &files {
            let target = self.final_path(path)?;
            if target.symlink_metadata().is_ok_and(|m| m.is_dir()) {
                return Err(ExtractError::Output(format!(
                    "{} is a folder",
                    target.display()
                )));
            }
        }
        for path in &mut files {
            let target = self.final_path(path)?;
            std::fs::rename(&**path, &target)
                .map_err(|e| ExtractError::Output(format!("naming {}: {e}", target.display())))?;
            **path = target;
        }
        if preview_path.is_none() {
            for stale in [PREVIEW_NAME, COVER_NAME].map(|name| self.dir.join(name)) {
                if file_id(&stale).is_some_and(|id| Some(id) != self.input) {
                    let _ = std::fs::remove_file(stale);
                }
            }
        }
        Ok((preview_path, cover_path))
    }

    /// Moves a finished file from the job directory into the hidden folder, copying it across
    /// file systems.
    fn gather(&self, from: &Path) -> Result<PathBuf, ExtractError> {
        let name = from
            .file_name()
            .ok_or_else(|| ExtractError::Internal(format!("{} has no name", from.display())))?;
        let to = self.gathering.path().join(name);
        if std::fs::rename(from, &to).is_err() {
            std::fs::copy(from, &to).map_err(|e| {
                ExtractError::Output(format!(
                    "copying {} into {}: {e}",
                    name.to_string_lossy(),
                    self.dir.display()
                ))
            })?;
        }
        Ok(to)
    }

    /// Where a gathered file takes its name.
    fn final_path(&self, gathered: &Path) -> Result<PathBuf, ExtractError> {
        gathered
            .file_name()
            .map(|name| self.dir.join(name))
            .ok_or_else(|| ExtractError::Internal(format!("{} has no name", gathered.display())))
    }
}

/// A file's (device, inode), `None` where there is no file (a link is looked through).
fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| (m.dev(), m.ino()))
}

/// Reports the preview stage after the exports, so that the stages stay in their order.
fn preview_progress(made: bool, progress: &(impl Fn(Progress) + Send + Sync)) {
    if !made {
        return;
    }
    for done in [0, 1] {
        progress(Progress {
            stage: Stage::Preview,
            done,
            total: 1,
        });
    }
}

fn model_name(m: LandmarkModel) -> &'static str {
    match m {
        LandmarkModel::Lite => "blazepose_lite",
        LandmarkModel::Full => "blazepose_full",
        LandmarkModel::Heavy => "blazepose_heavy",
    }
}

/// The name prefix of job directories.
const JOB_PREFIX: &str = "motiond-job-";

/// A private temporary directory with a copy of the input, removed on drop. Held while the job
/// lives (see [`HeldDir`]): a job killed outright leaves its copy of the user's video behind,
/// which the next job in the same place removes.
struct JobDir {
    dir: HeldDir,
    input: PathBuf,
}

impl JobDir {
    fn with_copy_of(input: &Path, scratch_dir: Option<&Path>) -> Result<JobDir, ExtractError> {
        let meta = std::fs::metadata(input)
            .map_err(|e| ExtractError::BadInput(format!("cannot read {}: {e}", input.display())))?;
        if !meta.is_file() {
            return Err(ExtractError::BadInput(format!(
                "{} is not a file",
                input.display()
            )));
        }
        let parent = scratch_dir.map_or_else(std::env::temp_dir, Path::to_owned);
        remove_abandoned(&parent, JOB_PREFIX);
        let dir = HeldDir::new_in(&parent, JOB_PREFIX)
            .map_err(|e| ExtractError::Internal(format!("creating a job directory: {e}")))?;
        let copy = dir.path().join("input");
        copy_input(input, &copy)?;
        Ok(JobDir { dir, input: copy })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// Copies the user's file into the job directory. What cannot be read is the input's fault
/// (bad input); what cannot be written (a full scratch disk) is the machine's, and must not
/// tell the user their video is unreadable.
fn copy_input(input: &Path, copy: &Path) -> Result<(), ExtractError> {
    use std::io::{ErrorKind, Read, Write};
    let unreadable =
        |e: std::io::Error| ExtractError::BadInput(format!("cannot read {}: {e}", input.display()));
    let unwritable = |e: std::io::Error| {
        ExtractError::Internal(format!("copying the input into the job directory: {e}"))
    };
    let mut from = std::fs::File::open(input).map_err(unreadable)?;
    let mut to = std::fs::File::create(copy).map_err(unwritable)?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(unreadable(e)),
        };
        to.write_all(&buf[..n]).map_err(unwritable)?;
    }
}

/// The input's container, from its magic bytes: only video containers go on.
fn sniff_video(path: &Path) -> Result<Container, ExtractError> {
    let container = media::sniff_file(path)
        .map_err(|e| ExtractError::BadInput(format!("cannot read the input: {e}")))?;
    if !container.is_video() {
        return Err(ExtractError::BadInput(
            "not a video file (expected MP4/QuickTime, Matroska or WebM)".into(),
        ));
    }
    Ok(container)
}

async fn probe_video(
    path: &Path,
    container: Container,
    opts: &ExtractOptions,
    cancel: &CancellationToken,
) -> Result<MediaInfo, ExtractError> {
    let info = media::probe(path, container, &opts.limits, cancel).await?;
    info.check_side_limit()?;
    if info.width == 0 || info.height == 0 || info.fps <= 0.0 {
        return Err(ExtractError::BadInput(
            "the file has no decodable video stream".into(),
        ));
    }
    info.check_frame_rate()?;
    let from_duration = info.duration_s.map(|d| (d * info.fps).round() as u64);
    let frames = info.frame_count.or(from_duration).unwrap_or(0);
    if frames > MAX_CLIP_FRAMES {
        return Err(ExtractError::BadInput(format!(
            "the video is too long: {frames} frames, at most {MAX_CLIP_FRAMES} \
             (20 minutes at 60 frames a second)"
        )));
    }
    Ok(info)
}

struct Tracked {
    /// Per frame of the analysis grid.
    frames: Vec<PoseFrame>,
    /// Source frames tracked.
    source_frames: u64,
    /// Pose presence score per frame (0 when the landmark model did not run).
    scores: Vec<f32>,
}

/// The inference thread, started early so that loading the models overlaps the probe. Its
/// channels are made once the probe has told the frame size ([`Inference::connect`]): a
/// channel of 4K frames holds fewer of them than one of 1080p.
struct Inference {
    wiring: oneshot::Sender<Wiring>,
    preview_wanted: bool,
    handle: tokio::task::JoinHandle<Result<Tracked, ExtractError>>,
}

/// What the inference thread is given once connected: its frames, where it reports progress,
/// and (when a preview is wanted) where its tracked frames go on.
struct Wiring {
    frames: mpsc::Receiver<(RgbFrame, Placement)>,
    done: mpsc::UnboundedSender<u64>,
    preview: Option<mpsc::Sender<Drawn>>,
}

/// The engine's ends of a connected inference thread: decoded frames in, progress out, and
/// (when a preview is wanted) tracked frames out to the preview writer.
struct Connected {
    tx: mpsc::Sender<(RgbFrame, Placement)>,
    done_rx: mpsc::UnboundedReceiver<u64>,
    preview: Option<mpsc::Receiver<Drawn>>,
    handle: tokio::task::JoinHandle<Result<Tracked, ExtractError>>,
}

/// A tracked frame on its way to the preview: the decoded frame, the pose found in it, and
/// how many preview frames it becomes on the analysis grid.
struct Drawn {
    frame: RgbFrame,
    pose: Option<Pose>,
    first_slot: u64,
    copies: u64,
}

/// Decoded frames buffered between the decoder's reader and the inference thread (at most; fewer
/// of large frames, see [`media::decode::channel_capacity`]): one waits while the model works on
/// another.
const INFERENCE_CHANNEL_FRAMES: usize = 2;

/// Tracked frames buffered between the inference thread and the preview writer (at most, as
/// above): enough to absorb the encoder's jitter, few enough that memory stays bounded
/// (full-size frames).
const PREVIEW_CHANNEL_FRAMES: usize = 3;

impl Inference {
    fn start(opts: &ExtractOptions, cancel: &CancellationToken, pool: &FramePool) -> Inference {
        let (wiring, wiring_rx) = oneshot::channel::<Wiring>();
        let models_dir = opts.models_dir.clone();
        let model = opts.model;
        let load = opts.load;
        let thread_cancel = cancel.clone();
        let pool = pool.clone();
        let handle = tokio::task::spawn_blocking(move || {
            inference_loop(&models_dir, model, load, wiring_rx, &pool, &thread_cancel)
        });
        Inference {
            wiring,
            preview_wanted: opts.preview,
            handle,
        }
    }

    /// Makes the thread's channels for frames of `width × height` and hands it its ends. A
    /// thread that already stopped (its models failed to load) drops them, and its result says
    /// why.
    fn connect(self, width: u32, height: u32) -> Connected {
        let capacity = |frames| media::decode::channel_capacity(frames, width, height);
        let (tx, frames) = mpsc::channel(capacity(INFERENCE_CHANNEL_FRAMES));
        let (done, done_rx) = mpsc::unbounded_channel();
        let (preview_tx, preview) = match self.preview_wanted {
            true => {
                let (t, r) = mpsc::channel(capacity(PREVIEW_CHANNEL_FRAMES));
                (Some(t), Some(r))
            }
            false => (None, None),
        };
        let _ = self.wiring.send(Wiring {
            frames,
            done,
            preview: preview_tx,
        });
        Connected {
            tx,
            done_rx,
            preview,
            handle: self.handle,
        }
    }

    /// Ends the inference thread before any frame was sent, and waits for it: a model still
    /// loading when the extract returns would hold a worker's core past its job, and racing
    /// the process's exit through ONNX Runtime's teardown it can crash `motiond extract`.
    async fn abandon(self) {
        // Never connected, the thread stops as soon as its models are loaded.
        drop(self.wiring);
        // Its result tells nothing the caller's error does not: the job already failed.
        let _ = self.handle.await;
    }
}

async fn track(
    mut source: FrameSource,
    inference: Connected,
    mut grid: FrameGrid,
    cancel: &CancellationToken,
    progress: &(impl Fn(Progress) + Send + Sync),
    total: u64,
) -> Result<Tracked, ExtractError> {
    let Connected {
        tx,
        mut done_rx,
        handle: inference,
        ..
    } = inference;
    let mut decode_error = None;
    let mut ended_early = None;
    // A frame's share of the grid is known when the next one (or the end) arrives.
    let mut held: Option<RgbFrame> = None;
    loop {
        tokio::select! {
            next = source.next_frame() => match next {
                Some(Ok(frame)) => {
                    let placed = grid.arrive(frame.t_us);
                    let ready = held.replace(frame).zip(placed);
                    if cancel.is_cancelled() || !send_placed(&tx, ready).await {
                        break; // cancelled, or the inference thread stopped (its result says why)
                    }
                }
                Some(Err(e)) => {
                    decode_error = Some(e);
                    break;
                }
                None => {
                    ended_early = grid.ended_early();
                    if ended_early.is_none() {
                        let last = held.take().zip(grid.finish());
                        send_placed(&tx, last).await;
                    }
                    break;
                }
            },
            Some(done) = done_rx.recv() => progress(Progress { stage: Stage::Tracking, done, total }),
        }
    }
    drop(tx);
    drop(source);
    // The frames still queued are tracked after the decoder has ended: their counts go on
    // until the inference thread drops its end of the channel.
    while let Some(done) = done_rx.recv().await {
        progress(Progress {
            stage: Stage::Tracking,
            done,
            total,
        });
    }
    let result = inference
        .await
        .map_err(|e| ExtractError::Internal(format!("inference thread: {e}")))?;
    if cancel.is_cancelled() {
        return Err(ExtractError::Cancelled);
    }
    if let Some(e) = decode_error {
        return Err(e.into());
    }
    if let Some((covered, stated)) = ended_early {
        return Err(ExtractError::BadInput(format!(
            "the video is cut short or damaged: its frames end at {covered:.1} s of the {stated:.1} s it states"
        )));
    }
    let tracked = result?;
    if tracked.frames.is_empty() {
        return Err(ExtractError::BadInput(
            "the video has no decodable frames".into(),
        ));
    }
    progress(Progress {
        stage: Stage::Tracking,
        done: tracked.frames.len() as u64,
        total,
    });
    Ok(tracked)
}

/// Hands a placed frame (if any) to the inference thread; false when that thread has stopped.
async fn send_placed(
    tx: &mpsc::Sender<(RgbFrame, Placement)>,
    placed: Option<(RgbFrame, Placement)>,
) -> bool {
    match placed {
        Some(frame) => tx.send(frame).await.is_ok(),
        None => true,
    }
}

fn inference_loop(
    models_dir: &Path,
    model: LandmarkModel,
    load: LoadOptions,
    wiring: oneshot::Receiver<Wiring>,
    pool: &FramePool,
    cancel: &CancellationToken,
) -> Result<Tracked, ExtractError> {
    let mut models = {
        let _workers = ThreadName::set(thread_name::MODEL_WORKERS);
        PoseModels::load_with(models_dir, model, load)?
    };
    let mut out = Tracked {
        frames: Vec::new(),
        source_frames: 0,
        scores: Vec::new(),
    };
    // Abandoned before the probe answered: nothing to track.
    let Ok(Wiring {
        frames: mut rx,
        done,
        mut preview,
    }) = wiring.blocking_recv()
    else {
        return Ok(out);
    };
    let _tracker = ThreadName::set(thread_name::TRACKER);
    let mut tracker = Tracker::new(
        &mut models,
        TrackerOptions {
            smooth_landmarks: true,
            static_image_mode: false,
        },
    );
    while let Some((frame, placed)) = rx.blocking_recv() {
        if cancel.is_cancelled() {
            return Err(ExtractError::Cancelled);
        }
        // Every source frame is tracked (the tracker's filters follow the source's clock);
        // the motion gets the frames of the analysis grid.
        let dbg = tracker.process_debug(&frame).map_err(|e| match e {
            PoseError::Model(m) => ExtractError::Models(m),
            other => ExtractError::Internal(other.to_string()),
        })?;
        out.source_frames += 1;
        let score = match dbg.pose {
            Some(_) => dbg.pose_score.unwrap_or(0.0),
            None => 0.0,
        };
        for t_us in placed.slot_times_us() {
            out.scores.push(score);
            out.frames.push(PoseFrame {
                t_us,
                pose: dbg.pose.clone(),
            });
        }
        match &preview {
            // Back-pressure: waits while the preview writer is behind. A writer that stopped
            // reports its own error; tracking goes on without it.
            Some(tx) => {
                let drawn = Drawn {
                    frame,
                    pose: dbg.pose,
                    first_slot: placed.first_slot,
                    copies: placed.copies,
                };
                if let Err(mpsc::error::SendError(drawn)) = tx.blocking_send(drawn) {
                    pool.put(drawn.frame.data);
                    preview = None;
                }
            }
            None => pool.put(frame.data),
        }
        let _ = done.send(out.frames.len() as u64);
    }
    Ok(out)
}

/// The grid of the analysis rate (§9.4), as long as the probe says the stream is, knowing the
/// frames the container indexes (not an estimate from the duration).
fn analysis_grid(info: &MediaInfo) -> FrameGrid {
    let indexed = info.frame_count.filter(|_| !info.frame_count_estimated);
    FrameGrid::for_stream(info.fps, info.duration_s, media::decode::DEFAULT_MAX_FRAMES)
        .with_indexed_frames(indexed)
}

/// The analysis rate: the probe's average rate, else the decoded frames' mean rate.
fn analysis_fps(info: &MediaInfo, frames: &[PoseFrame]) -> f64 {
    if info.fps > 0.0 && info.fps.is_finite() {
        return info.fps;
    }
    match (frames.first(), frames.last()) {
        (Some(a), Some(b)) if b.t_us > a.t_us => {
            (frames.len() - 1) as f64 * 1e6 / (b.t_us - a.t_us) as f64
        }
        _ => 30.0,
    }
}

async fn solve_clip(
    frames: &[PoseFrame],
    info: &MediaInfo,
    fps: f64,
) -> Result<Solution, ExtractError> {
    let frames = frames.to_vec();
    let (w, h) = (info.width, info.height);
    tokio::task::spawn_blocking(move || {
        let input = SolveInput {
            frames: &frames,
            width: w,
            height: h,
            fps,
        };
        solve::solve(&input, &SolveParams::default())
    })
    .await
    .map_err(|e| ExtractError::Internal(format!("solver thread: {e}")))?
    .map_err(|e| match e {
        SolveError::NoPerson => ExtractError::NoPerson,
        SolveError::NoFrames => ExtractError::BadInput("the video has no decodable frames".into()),
    })
}

/// The preview files of a finished job, still in the job directory.
struct PreviewFiles {
    preview: PathBuf,
    cover: PathBuf,
}

/// The preview after the tracking pass: its encoder still open, and the cover.
struct PreviewDone {
    encoder: media::encode::Encoder,
    cover: Cover,
    out_size: (u32, u32),
}

/// The cover: being written already (the middle frame arrived), or the frame that stands in
/// (a painted preview frame, rgb24 of the preview size) when the clip ended before it.
enum Cover {
    Writing(tokio::task::JoinHandle<Result<(), ExtractError>>),
    Frame(Vec<u8>),
    None,
}

impl Cover {
    /// Offers the painter's last frame, the preview's frames `slots`, for the cover (preview
    /// frame `middle`): until the middle frame arrives, the latest one stands in (short clips);
    /// the middle one is written at once, and later frames are not needed. Swapping buffers
    /// keeps a frame without a copy (the painter reuses the old stand-in's).
    fn offer(
        &mut self,
        painter: &mut Painter,
        slots: std::ops::Range<u64>,
        middle: u64,
        path: &Path,
        size: (u32, u32),
    ) {
        if matches!(self, Cover::Writing(_)) || slots.start > middle {
            return;
        }
        let mut kept = match std::mem::replace(self, Cover::None) {
            Cover::Frame(old) => old,
            _ => Vec::new(),
        };
        painter.swap_rgb(&mut kept);
        *self = if slots.contains(&middle) {
            Cover::Writing(spawn_cover(path.to_path_buf(), size, kept))
        } else {
            Cover::Frame(kept)
        };
    }
}

/// Writes the cover JPEG (a painted rgb24 frame of `size`) on the blocking pool.
fn spawn_cover(
    path: PathBuf,
    size: (u32, u32),
    rgb: Vec<u8>,
) -> tokio::task::JoinHandle<Result<(), ExtractError>> {
    tokio::task::spawn_blocking(move || {
        render::jpeg::write_rgb_jpeg(&path, size.0, size.1, &rgb)
            .map_err(|e| ExtractError::Internal(e.to_string()))
    })
}

impl PreviewDone {
    /// Closes the encoder (the file is complete once ffmpeg exits) and finishes the cover.
    async fn finish(self, job: &JobDir) -> Result<PreviewFiles, ExtractError> {
        let files = PreviewFiles {
            preview: job.path(PREVIEW_NAME),
            cover: job.path(COVER_NAME),
        };
        let out_size = self.out_size;
        let cover = match self.cover {
            Cover::Writing(task) => task,
            Cover::Frame(rgb) => spawn_cover(files.cover.clone(), out_size, rgb),
            Cover::None => {
                return Err(ExtractError::Internal(
                    "the preview received no frames for the cover".into(),
                ));
            }
        };
        let (encoded, covered) = tokio::join!(self.encoder.finish(), cover);
        encoded.map_err(ExtractError::from)?;
        covered.map_err(|e| ExtractError::Internal(format!("cover task: {e}")))??;
        Ok(files)
    }
}

/// The x264 preset of previews: the fastest. A preview is watched once in a browser, and the
/// encoder shares the two cores with inference; its files are ~1.5× those of `veryfast`
/// (≈ 0.6 Mbit/s at 720p30, see [`media::encode::Preset`]'s rate control).
const PREVIEW_PRESET: media::encode::Preset = media::encode::Preset::Ultrafast;

/// Runs beside the tracking pass: scales each tracked frame to the preview size, draws its 2D
/// landmarks (nothing when no person was found) and feeds the H.264 encoder (§9.3). The
/// painting runs on one thread of the blocking pool, off the async workers and off the tracker;
/// the decoded frame's buffer then goes back to the decoder's pool.
/// Preview frame `cover_at` (the middle of the analysis grid) is the cover, written as soon as
/// it is painted; a clip that ends before it gets its last frame instead.
async fn preview_writer(
    rx: mpsc::Receiver<Drawn>,
    job: &JobDir,
    info: &MediaInfo,
    opts: &ExtractOptions,
    cancel: &CancellationToken,
    cover_at: u64,
    pool: FramePool,
) -> Result<PreviewDone, ExtractError> {
    let src_size = (info.width, info.height);
    let out_size = render::preview_size(src_size.0, src_size.1, PREVIEW_MAX_SIDE);
    let painter =
        Painter::new(src_size, out_size).map_err(|e| ExtractError::Internal(e.to_string()))?;
    let encoder = media::encode::Encoder::start_yuv420p(
        &job.path(PREVIEW_NAME),
        out_size,
        &render::ffmpeg_rate(info.fps),
        PREVIEW_PRESET,
        &streaming_limits(&opts.limits),
        cancel,
    )
    .map_err(ExtractError::from)?;
    let writer = PaintLoop {
        painter,
        encoder,
        cover_path: job.path(COVER_NAME),
        cover_at,
        src_size,
        pool,
        cancel: cancel.clone(),
    };
    tokio::task::spawn_blocking(move || writer.run(rx))
        .await
        .map_err(|e| ExtractError::Internal(format!("preview painter: {e}")))?
}

/// Why painting a frame failed: the encoder stopped taking frames (its pipe's error, until
/// ffmpeg says why), or anything else.
enum Painting {
    EncoderStopped(MediaError),
    Stopped(ExtractError),
}

/// The preview writer's loop, on its blocking thread.
struct PaintLoop {
    painter: Painter,
    encoder: media::encode::Encoder,
    cover_path: PathBuf,
    cover_at: u64,
    src_size: (u32, u32),
    pool: FramePool,
    cancel: CancellationToken,
}

impl PaintLoop {
    fn run(mut self, mut rx: mpsc::Receiver<Drawn>) -> Result<PreviewDone, ExtractError> {
        let _name = ThreadName::set(thread_name::PREVIEW);
        // A thread of the runtime's blocking pool: it may wait on the encoder's pipe.
        let runtime = tokio::runtime::Handle::current();
        let mut cover = Cover::None;
        while let Some(drawn) = rx.blocking_recv() {
            let slots = drawn.first_slot..drawn.first_slot + drawn.copies;
            match self.paint_one(drawn, &runtime) {
                Ok(()) => {}
                Err(Painting::Stopped(e)) => return Err(e),
                Err(Painting::EncoderStopped(pushed)) => {
                    let why = runtime.block_on(self.encoder.why_stopped(pushed));
                    return Err(ExtractError::from(why));
                }
            }
            if slots.is_empty() {
                continue; // off the grid: the painter still holds the frame before it
            }
            let out_size = self.painter.out_size();
            cover.offer(
                &mut self.painter,
                slots,
                self.cover_at,
                &self.cover_path,
                out_size,
            );
        }
        if self.cancel.is_cancelled() {
            return Err(ExtractError::Cancelled);
        }
        Ok(PreviewDone {
            encoder: self.encoder,
            cover,
            out_size: self.painter.out_size(),
        })
    }

    /// Paints one tracked frame and hands it to the encoder; the decoded frame's buffer goes
    /// back to the decoder's pool whatever happens.
    fn paint_one(
        &mut self,
        Drawn {
            frame,
            pose,
            copies,
            ..
        }: Drawn,
        runtime: &tokio::runtime::Handle,
    ) -> Result<(), Painting> {
        let (width, height) = (frame.width, frame.height);
        let mut data = frame.data;
        if copies == 0 {
            // Off the analysis grid (a frame faster than the grid's rate): not in the preview.
            self.pool.put(data);
            return Ok(());
        }
        let painted = if self.cancel.is_cancelled() {
            Err(ExtractError::Cancelled)
        } else if (width, height) != self.src_size {
            let (w, h) = self.src_size;
            Err(ExtractError::Internal(format!(
                "decoded frame is {width}x{height}, the probe said {w}x{h}"
            )))
        } else {
            let painted = self.painter.paint(&mut data, pose.as_ref());
            painted
                .map(|_| ())
                .map_err(|e| ExtractError::Internal(e.to_string()))
        };
        self.pool.put(data);
        painted.map_err(Painting::Stopped)?;
        // A frame that also fills a pause in the source is shown for the whole pause.
        for _ in 0..copies {
            let pushed = runtime.block_on(self.encoder.push(self.painter.yuv()));
            if let Err(e) = pushed {
                // Cancelling kills the encoder: its broken pipe is not the error to report.
                return Err(match self.cancel.is_cancelled() {
                    true => Painting::Stopped(ExtractError::Cancelled),
                    false => Painting::EncoderStopped(e),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_files::names_in;

    /// Motion files made in `job`, as the exports name them.
    fn made_in(job: &Path) -> Exported {
        let mut files = Exported {
            bvh: PathBuf::new(),
            glb: PathBuf::new(),
            landmarks: PathBuf::new(),
            quality: PathBuf::new(),
            bvh_zip: PathBuf::new(),
            binary_zip: PathBuf::new(),
        };
        use crate::export::{
            BINARY_ZIP_NAME, BVH_NAME, BVH_ZIP_NAME, GLB_NAME, LANDMARKS_NAME, QUALITY_NAME,
        };
        let names = [
            BVH_NAME,
            GLB_NAME,
            LANDMARKS_NAME,
            QUALITY_NAME,
            BVH_ZIP_NAME,
            BINARY_ZIP_NAME,
        ];
        for (path, name) in files.paths_mut().into_iter().zip(names) {
            *path = job.join(name);
            std::fs::write(&*path, name).unwrap();
        }
        files
    }

    #[test]
    fn outputs_that_cannot_all_be_delivered_leave_the_folder_as_it_was() {
        let job = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        std::fs::write(out.path().join("motion.bvh"), b"an earlier run's").unwrap();
        // Where a folder of a file's name is in the way, nothing is delivered.
        std::fs::create_dir_all(out.path().join("quality.json").join("in the way")).unwrap();
        let mut files = made_in(job.path());
        let output = OutputDir::prepare(out.path(), &job.path().join("input")).unwrap();
        let err = output
            .deliver(&mut files, None, &CancellationToken::new())
            .unwrap_err();
        assert!(matches!(err, ExtractError::Output(_)), "{err:?}");
        assert_eq!(names_in(out.path()), ["motion.bvh", "quality.json"]);
        assert_eq!(
            std::fs::read(out.path().join("motion.bvh")).unwrap(),
            b"an earlier run's"
        );
    }

    #[test]
    fn a_run_without_a_preview_removes_an_earlier_run_s_preview_and_cover() {
        let job = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        for stale in [PREVIEW_NAME, COVER_NAME, "notes.txt"] {
            std::fs::write(out.path().join(stale), b"earlier").unwrap();
        }
        let mut files = made_in(job.path());
        let output = OutputDir::prepare(out.path(), &job.path().join("input")).unwrap();
        output
            .deliver(&mut files, None, &CancellationToken::new())
            .unwrap();
        assert_eq!(
            names_in(out.path()),
            [
                "binary.zip",
                "bvh.zip",
                "landmarks.json",
                "motion.bvh",
                "motion.glb",
                "notes.txt",
                "quality.json"
            ]
        );
        assert_eq!(files.bvh, out.path().join("motion.bvh"));
        assert_eq!(std::fs::read(&files.bvh).unwrap(), b"motion.bvh");

        // The video itself, named like a preview in the output folder, is no earlier output.
        let input = out.path().join(PREVIEW_NAME);
        std::fs::write(&input, b"the user's video").unwrap();
        let mut files = made_in(job.path());
        let output = OutputDir::prepare(out.path(), &input).unwrap();
        output
            .deliver(&mut files, None, &CancellationToken::new())
            .unwrap();
        assert_eq!(std::fs::read(&input).unwrap(), b"the user's video");
    }

    #[test]
    fn a_killed_run_s_hidden_folder_goes_at_the_next_run_and_a_live_one_s_stays() {
        let job = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        // Two earlier runs into the same folder: one killed (its lock gone with it), one still
        // at work, however long it has taken.
        let killed = OutputDir::prepare(out.path(), &job.path().join("input")).unwrap();
        std::fs::write(killed.gathering.path().join("motion.bvh"), b"half").unwrap();
        let killed_path = killed.gathering.abandon();
        let live = OutputDir::prepare(out.path(), &job.path().join("input")).unwrap();
        let live_name = live.gathering.path().file_name().unwrap().to_owned();

        let mut files = made_in(job.path());
        let output = OutputDir::prepare(out.path(), &job.path().join("input")).unwrap();
        output
            .deliver(&mut files, None, &CancellationToken::new())
            .unwrap();

        assert!(!killed_path.exists());
        let hidden: Vec<String> = names_in(out.path())
            .into_iter()
            .filter(|n| n.starts_with('.'))
            .collect();
        assert_eq!(hidden, [live_name.to_string_lossy()]);
    }

    #[test]
    fn an_output_folder_that_cannot_be_made_is_found_before_any_work() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a file");
        std::fs::write(&file, b"x").unwrap();
        let err = OutputDir::prepare(&file.join("sub"), &file).err().unwrap();
        assert!(err.is_callers_fault(), "{err:?}");
        assert!(!err.to_string().contains("internal"), "{err}");
    }

    /// A full or missing scratch space is the machine's fault, an unreadable input the user's.
    #[test]
    fn only_an_unreadable_input_is_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("clip.mp4");
        std::fs::write(&input, b"some bytes").unwrap();
        let copy = dir.path().join("copy");
        copy_input(&input, &copy).unwrap();
        assert_eq!(std::fs::read(&copy).unwrap(), b"some bytes");
        let nowhere = dir.path().join("no such dir").join("copy");
        let err = copy_input(&input, &nowhere).unwrap_err();
        assert!(matches!(err, ExtractError::Internal(_)), "{err:?}");
        // Linux's /dev/full: every write fails with "no space left on device".
        let err = copy_input(&input, Path::new("/dev/full")).unwrap_err();
        assert!(matches!(err, ExtractError::Internal(_)), "{err:?}");
        let err = copy_input(&dir.path().join("missing.mp4"), &copy).unwrap_err();
        assert!(err.is_bad_input(), "{err:?}");
    }

    /// An inference thread that has stopped already, tracking nothing.
    fn finished_inference(preview_wanted: bool) -> Inference {
        let (wiring, _never_read) = oneshot::channel();
        let handle = tokio::task::spawn_blocking(|| {
            Ok(Tracked {
                frames: Vec::new(),
                source_frames: 0,
                scores: Vec::new(),
            })
        });
        Inference {
            wiring,
            preview_wanted,
            handle,
        }
    }

    #[tokio::test]
    async fn channels_of_large_frames_hold_fewer_of_them() {
        let hd = finished_inference(true).connect(1920, 1080);
        assert_eq!(hd.tx.max_capacity(), INFERENCE_CHANNEL_FRAMES);
        let preview = hd.preview.expect("a preview was wanted");
        assert_eq!(preview.max_capacity(), PREVIEW_CHANNEL_FRAMES);

        let uhd = finished_inference(true).connect(3840, 2160);
        assert_eq!(uhd.tx.max_capacity(), 1);
        assert_eq!(uhd.preview.expect("a preview").max_capacity(), 1);

        let without = finished_inference(false).connect(3840, 2160);
        assert!(without.preview.is_none());
    }

    #[tokio::test]
    async fn a_thread_that_stopped_before_connecting_leaves_the_sender_closed() {
        let connected = finished_inference(false).connect(64, 48);
        connected.handle.await.expect("joined").expect("tracked");
        assert!(connected.tx.is_closed());
    }
}
