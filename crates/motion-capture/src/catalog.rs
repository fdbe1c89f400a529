//! Official catalog motions: from a BVH file to the four files of a motion (api-contract §5.2,
//! §9.3-§9.5).
//!
//! - `motion.mp4`: a 3D stick figure on a plain background ([`stick`]), H.264 yuv420p faststart,
//!   at the clip's rate or [`MAX_PREVIEW_FPS`], whichever is lower;
//! - `cover.jpg`: the preview frame where the figure is most spread out (arms and legs apart
//!   make a readable thumbnail);
//! - `bvh.zip`: `motion.bvh`, the clip on the engine's 22-joint skeleton ([`Bvh::retarget`]),
//!   as the video engine writes it (§9.4);
//! - `binary.zip`: `motion.glb` of the same animation and `landmarks.json`, the landmarks it
//!   was solved from, as seen by the preview's camera (§9.5).
//!
//! The preview and cover show the retargeted animation: the motion the files hold.
//!
//! [`Bvh::retarget`]: crate::bvh::Bvh::retarget
//!
//! Knows nothing of storage: `motiond motions import` and the first-start seeding put the
//! files where they belong.

pub mod stick;

use std::path::{Path, PathBuf};

use tokio_util::sync::CancellationToken;

use crate::animation::{Animation, Frame};
use crate::bvh::{self, BvhError, Retargeted, UnmatchedSkeleton};
use crate::export;
use crate::media::{self, MediaError};
use crate::types::PoseFrame;
use stick::StickFigure;

/// Previews of 100-120 fps capture are resampled: browsers and thumbnails gain nothing above 30.
pub const MAX_PREVIEW_FPS: f64 = 30.0;

/// The format of the files [`build_from_bvh`] writes, recorded with each official motion so
/// that an installation seeded by an older version rebuilds them: 1 was the source BVH as it
/// came with a glb of its own skeleton and `joints.json`; 2 is the contract's files on the
/// engine's 22-joint skeleton; 3 the same, the hands and feet turning as the source's do (its
/// joints read as exact, not averaged over time as a video's landmarks are); 4 the same, the
/// forearms untwisted in the clip's first frame (the thumb placed by the elbow's bend, where 3
/// put it toward the body's front).
pub const BUILD_FORMAT: u32 = 4;

/// Names of the files inside `out_dir` after [`build_from_bvh`].
pub const PREVIEW_NAME: &str = "motion.mp4";
pub const COVER_NAME: &str = "cover.jpg";
pub const BVH_ZIP_NAME: &str = "bvh.zip";
pub const BINARY_ZIP_NAME: &str = "binary.zip";

#[derive(Clone, Debug)]
pub struct BuildOptions {
    pub width: u32,
    pub height: u32,
    pub max_fps: f64,
    /// Caps of the preview encoder (ffmpeg); the cover is encoded in process.
    pub media_limits: media::Limits,
    /// Largest `frames × joints` of the source accepted: its forward kinematics, every frame,
    /// grows with it (the default allows e.g. 60 joints for 50,000 frames, ~7 minutes at
    /// 120 fps).
    pub max_points: usize,
}

/// 480×480: covers and hover previews in the studio grid; the 3D viewer shows the detail.
impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            width: 480,
            height: 480,
            max_fps: MAX_PREVIEW_FPS,
            media_limits: media::Limits::default(),
            max_points: 3_000_000,
        }
    }
}

/// What [`build_from_bvh`] produced.
#[derive(Clone, Debug)]
pub struct BuiltMotion {
    pub preview: PathBuf,
    pub cover: PathBuf,
    pub bvh_zip: PathBuf,
    pub binary_zip: PathBuf,
    pub width: u32,
    pub height: u32,
    /// Frames and rate of the preview video.
    pub preview_frames: usize,
    pub preview_fps: f64,
    /// Frames and rate of the BVH clip.
    pub source_frames: usize,
    pub source_fps: f64,
    pub duration_s: f64,
    pub joints: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error(transparent)]
    Bvh(#[from] BvhError),
    #[error(transparent)]
    Retarget(#[from] UnmatchedSkeleton),
    #[error("rendering the preview: {0}")]
    Media(#[from] MediaError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("writing {name}: {message}")]
    Export { name: &'static str, message: String },
    #[error("cancelled")]
    Cancelled,
    #[error(
        "the clip is too long for the catalog: {frames} frames × {joints} joints exceed {max} points"
    )]
    TooLong {
        frames: usize,
        joints: usize,
        max: usize,
    },
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> CatalogError {
    let context = context.into();
    move |source| CatalogError::Io { context, source }
}

/// Builds the four files of an official motion from BVH bytes, into `out_dir` (which must
/// exist and should be empty: it is also ffmpeg's working directory).
pub async fn build_from_bvh(
    bvh_bytes: &[u8],
    out_dir: &Path,
    options: &BuildOptions,
    cancel: &CancellationToken,
) -> Result<BuiltMotion, CatalogError> {
    let (owned, paths, opts) = (bvh_bytes.to_vec(), Paths::new(out_dir), options.clone());
    let archives_at = paths.clone();
    // Parsing, retargeting and writing the archives of a 3000-frame clip take seconds: keep
    // them off the async workers.
    let (animation, figure) =
        tokio::task::spawn_blocking(move || retarget_and_archive(&owned, &archives_at, &opts))
            .await
            .map_err(|e| CatalogError::Export {
                name: "motion",
                message: format!("conversion task failed: {e}"),
            })??;
    let timing = PreviewTiming::new(
        animation.frame_time_s,
        animation.frames.len(),
        options.max_fps,
    );
    let cover_rgb = figure.render_rgb(cover_time(&animation, &timing));
    render_preview(figure, &timing, &paths.preview, options, cancel).await?;
    crate::render::jpeg::write_rgb_jpeg(&paths.cover, options.width, options.height, &cover_rgb)
        .map_err(|e| CatalogError::Export {
            name: "cover.jpg",
            message: e.to_string(),
        })?;
    Ok(BuiltMotion {
        preview: paths.preview,
        cover: paths.cover,
        bvh_zip: paths.bvh_zip,
        binary_zip: paths.binary_zip,
        width: options.width,
        height: options.height,
        preview_frames: timing.frames,
        preview_fps: timing.fps,
        source_frames: animation.frames.len(),
        source_fps: animation.fps(),
        duration_s: timing.frames as f64 / timing.fps,
        joints: animation.skeleton.joints.len(),
    })
}

/// Parses the clip, refuses one too long, puts it on the engine's skeleton and writes
/// `bvh.zip` and `binary.zip`; returns the animation and the figure that shows it.
fn retarget_and_archive(
    bvh_bytes: &[u8],
    paths: &Paths,
    options: &BuildOptions,
) -> Result<(Animation, StickFigure), CatalogError> {
    let source = bvh::parse(bvh_bytes)?;
    let (frames, joints) = (source.frame_count(), source.joints.len());
    if frames.saturating_mul(joints) > options.max_points {
        return Err(CatalogError::TooLong {
            frames,
            joints,
            max: options.max_points,
        });
    }
    let retargeted = source.retarget()?;
    let figure = StickFigure::new(&retargeted.animation, options.width, options.height);
    let bvh_text = export::bvh::to_bvh(&retargeted.animation);
    write_zip(&paths.bvh_zip, &[(export::BVH_NAME, bvh_text.as_bytes())])?;
    let glb = glb_for(&retargeted.animation)?;
    let landmarks = landmarks_json(&retargeted, &figure, options);
    write_zip(
        &paths.binary_zip,
        &[
            (export::GLB_NAME, &glb),
            (export::LANDMARKS_NAME, landmarks.as_bytes()),
        ],
    )?;
    Ok((retargeted.animation, figure))
}

/// `landmarks.json`'s `model` for official motions: made from motion capture, not a video.
pub const MOCAP_LANDMARKS_MODEL: &str = "mocap_bvh";

/// `landmarks.json` of a retargeted clip: the landmarks it was solved from, as BlazePose would
/// give them seeing the preview (every point seen).
fn landmarks_json(retargeted: &Retargeted, figure: &StickFigure, options: &BuildOptions) -> String {
    let frame_time_s = retargeted.animation.frame_time_s;
    let frames: Vec<PoseFrame> = (retargeted.landmarks.iter().enumerate())
        .map(|(i, points)| {
            let time_s = i as f64 * frame_time_s;
            PoseFrame {
                t_us: (time_s * 1e6).round() as i64,
                pose: Some(figure.pose_seen_at(time_s, points)),
            }
        })
        .collect();
    let meta = export::landmarks::LandmarksMeta {
        model: MOCAP_LANDMARKS_MODEL,
        fps: retargeted.animation.fps(),
        width: options.width,
        height: options.height,
    };
    let n = frames.len();
    export::landmarks::to_landmarks_json(&meta, &frames, &vec![1.0; n], &vec![true; n])
}

#[derive(Clone)]
struct Paths {
    preview: PathBuf,
    cover: PathBuf,
    bvh_zip: PathBuf,
    binary_zip: PathBuf,
}

impl Paths {
    fn new(dir: &Path) -> Self {
        Paths {
            preview: dir.join(PREVIEW_NAME),
            cover: dir.join(COVER_NAME),
            bvh_zip: dir.join(BVH_ZIP_NAME),
            binary_zip: dir.join(BINARY_ZIP_NAME),
        }
    }
}

/// Frame count and rate of the preview for a clip.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PreviewTiming {
    pub fps: f64,
    pub frames: usize,
}

impl PreviewTiming {
    pub fn new(frame_time_s: f64, source_frames: usize, max_fps: f64) -> Self {
        let source_fps = 1.0 / frame_time_s;
        // "0.0333333" means 30 fps: snap rates within 0.1% of a whole number.
        let snapped = if (source_fps - source_fps.round()).abs() < source_fps * 1e-3 {
            source_fps.round()
        } else {
            source_fps
        };
        let fps = snapped.min(max_fps);
        let duration = source_frames as f64 * frame_time_s;
        let frames = ((duration * fps).round() as usize).max(1);
        PreviewTiming { fps, frames }
    }

    /// The rate as ffmpeg's `-framerate` takes it (a whole number or thousandths).
    pub fn ffmpeg_rate(&self) -> String {
        if (self.fps - self.fps.round()).abs() < 1e-9 {
            format!("{}", self.fps.round() as u64)
        } else {
            format!("{}/1000", (self.fps * 1000.0).round() as u64)
        }
    }

    pub fn time_of(&self, frame: usize) -> f64 {
        frame as f64 / self.fps
    }
}

/// Renders every preview frame on a blocking thread and streams it to the encoder.
async fn render_preview(
    figure: StickFigure,
    timing: &PreviewTiming,
    out: &Path,
    options: &BuildOptions,
    cancel: &CancellationToken,
) -> Result<(), CatalogError> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    let t = *timing;
    let renderer = tokio::task::spawn_blocking(move || {
        for k in 0..t.frames {
            if tx.blocking_send(figure.render_rgb(t.time_of(k))).is_err() {
                return; // the encoder side stopped
            }
        }
    });
    let mut encoder = media::encode::Encoder::start(
        out,
        options.width,
        options.height,
        &timing.ffmpeg_rate(),
        &options.media_limits,
        cancel,
    )?;
    while let Some(frame) = rx.recv().await {
        if cancel.is_cancelled() {
            return Err(CatalogError::Cancelled);
        }
        encoder.push(&frame).await?;
    }
    renderer.await.map_err(|e| CatalogError::Export {
        name: PREVIEW_NAME,
        message: format!("renderer failed: {e}"),
    })?;
    encoder.finish().await?;
    Ok(())
}

/// A joint turned less than this (radians) from the skeleton's rest pose is still in it.
const REST_POSE_TOLERANCE_RAD: f32 = 0.1;

/// Whether every joint below the root holds the skeleton's rest pose: the calibration T-pose
/// many mocap clips start with, which is no picture of their motion (and, arms out, the widest
/// pose of all).
fn holds_rest_pose(frame: &Frame) -> bool {
    frame
        .rotations
        .iter()
        .skip(1)
        .all(|q| q.angle() < REST_POSE_TOLERANCE_RAD)
}

/// The preview time at which the figure's joints spread widest (sampled over ~60 frames), out
/// of the frames that hold the rest pose unless every frame does.
fn cover_time(animation: &Animation, timing: &PreviewTiming) -> f64 {
    let n = animation.frames.len();
    if n == 0 {
        return 0.0;
    }
    let moving = |f: &usize| !holds_rest_pose(&animation.frames[*f]);
    let step = (n / 60).max(1);
    let spread = |f: usize| {
        let p = animation.world_positions(&animation.frames[f]);
        let (mut lo, mut hi) = ([f32::INFINITY; 3], [f32::NEG_INFINITY; 3]);
        for q in &p {
            for k in 0..3 {
                lo[k] = lo[k].min(q[k]);
                hi[k] = hi[k].max(q[k]);
            }
        }
        (hi[0] - lo[0]).max(hi[2] - lo[2]) + (hi[1] - lo[1])
    };
    let widest = |frames: &mut dyn Iterator<Item = usize>| {
        frames.max_by(|&a, &b| spread(a).total_cmp(&spread(b)))
    };
    let best = widest(&mut (0..n).step_by(step).filter(moving))
        .or_else(|| widest(&mut (0..n).filter(moving)))
        .or_else(|| widest(&mut (0..n).step_by(step)))
        .unwrap_or(0);
    let t = best as f64 * animation.frame_time_s;
    // Stay on a frame that exists in the preview.
    t.min(timing.time_of(timing.frames.saturating_sub(1)))
}

/// How build format `format` read a clip onto the engine's skeleton, for the formats before
/// this one that stored it there (2 and 3): what recognises their files.
pub fn reading_of_format(format: u32) -> Option<bvh::Reading> {
    use crate::bvh::{Reading, ThumbSide};
    use crate::solve::rig::HintSource;
    match format {
        2 => Some(Reading {
            hints: HintSource::Tracked,
            thumbs: ThumbSide::BodyFront,
        }),
        3 => Some(Reading {
            hints: HintSource::Exact,
            thumbs: ThumbSide::BodyFront,
        }),
        _ => None,
    }
}

/// Whether `stored` is byte for byte the `motion.bvh` build format `format` made of `source`
/// ([`reading_of_format`]): only then is a stored motion known to be a bundled clip's, and
/// rebuilding it from that clip loses nothing. Joint positions alone cannot tell: an operator's
/// import of the clip with its hands turned, to mend format 2's, moves no joint. Input that does
/// not parse or retarget, and a format without a reading, is no match.
pub fn is_build_in_format(stored: &[u8], source: &[u8], format: u32) -> bool {
    build_in_format(source, format).is_some_and(|built| built.as_bytes() == stored)
}

/// The `motion.bvh` build format `format` made of `source` ([`reading_of_format`]); `None` for
/// input that does not parse or retarget, and for a format without a reading.
pub fn build_in_format(source: &[u8], format: u32) -> Option<String> {
    let parsed = bvh::parse(source).ok()?;
    let retargeted = parsed.retarget_reading(reading_of_format(format)?).ok()?;
    Some(export::bvh::to_bvh(&retargeted.animation))
}

/// The glb of `motion.glb` (the engine's glb writer, on any skeleton).
pub fn glb_for(animation: &Animation) -> Result<Vec<u8>, CatalogError> {
    crate::export::glb::to_glb(animation).map_err(|e| CatalogError::Export {
        name: "motion.glb",
        message: e.to_string(),
    })
}

/// `bytes` of a zip with `entries` (the engine's deterministic archive writer) into `path`.
fn write_zip(path: &Path, entries: &[(&str, &[u8])]) -> Result<(), CatalogError> {
    let bytes = crate::export::archive::zip_entries(entries).map_err(|e| CatalogError::Export {
        name: "zip",
        message: e.to_string(),
    })?;
    std::fs::write(path, bytes).map_err(io(format!("writing {}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::animation::math::{Quat, Vec3};

    #[test]
    fn preview_timing_resamples_fast_clips_and_keeps_slow_ones() {
        let t = PreviewTiming::new(0.0083333, 1247, 30.0);
        assert_eq!(t.fps, 30.0);
        assert_eq!(t.frames, 312); // 10.39 s × 30
        assert_eq!(t.ffmpeg_rate(), "30");
        let t = PreviewTiming::new(0.0333333, 339, 30.0);
        assert_eq!((t.fps, t.frames), (30.0, 339));
        let t = PreviewTiming::new(0.04, 100, 30.0);
        assert_eq!((t.fps, t.frames), (25.0, 100));
        let t = PreviewTiming::new(1.0 / 23.5, 47, 30.0);
        assert_eq!(t.ffmpeg_rate(), "23500/1000");
        assert_eq!(PreviewTiming::new(0.5, 1, 30.0).frames, 1);
    }

    #[test]
    fn the_cover_shows_the_motion_not_the_calibration_pose_before_it() {
        let joint = |name: &str, parent: Option<usize>, offset: Vec3| crate::animation::Joint {
            name: name.into(),
            parent,
            offset,
            end_site: None,
        };
        let skeleton = crate::animation::Skeleton {
            joints: vec![
                joint("Hips", None, [0.0, 90.0, 0.0]),
                joint("LeftArm", Some(0), [50.0, 40.0, 0.0]),
                joint("LeftHand", Some(1), [60.0, 0.0, 0.0]),
                joint("RightArm", Some(0), [-50.0, 40.0, 0.0]),
                joint("RightHand", Some(3), [-60.0, 0.0, 0.0]),
            ],
        };
        let arms_turned = |deg: f32| Frame {
            root_translation: [0.0; 3],
            rotations: [0.0, deg, 0.0, -deg, 0.0]
                .map(|d: f32| Quat::from_axis_angle([0.0, 0.0, 1.0], d.to_radians()))
                .to_vec(),
        };
        let animation = Animation {
            skeleton,
            frame_time_s: 0.1,
            // The T-pose first (arms straight out: the widest), then the arms lowered.
            frames: vec![arms_turned(0.0), arms_turned(-60.0), arms_turned(-30.0)],
        };
        let timing = PreviewTiming::new(0.1, 3, 30.0);
        assert_eq!(cover_time(&animation, &timing), 0.2);
        // A clip that only holds the rest pose still gets a cover.
        let still = Animation {
            frames: vec![arms_turned(0.0); 2],
            ..animation
        };
        assert!([0.0, 0.1].contains(&cover_time(&still, &timing)));
    }
}
