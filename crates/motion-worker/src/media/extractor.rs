//! `MotionExtractor` over `motion_capture`'s engine: one job's video in, the motion's files
//! out, with cancellation and progress, and the engine's failures mapped to the contract's
//! failure reasons (§6.1).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use async_trait::async_trait;
use motion_capture::engine::{
    Engine, ExtractError as EngineError, ExtractOptions, PREVIEW_MAX_SIDE, PREVIEW_NAME, Progress,
    Stage,
};
use motion_capture::media::{self, Limits, MediaError};
use motion_capture::models::{LandmarkModel, ModelError, ORT_LIBRARY_FILE};
use motion_capture::render::preview_size;
use motion_core::ports::{ExtractError, ExtractJob, Extracted, MotionExtractor, ProgressSink};
use motion_core::reason::{FailureReason, duration_tenths};
use tokio_util::sync::CancellationToken;

/// Name of the detector model in the models directory.
const DETECTOR_FILE: &str = "pose_detection.onnx";

/// Runs the engine for the worker.
#[derive(Debug)]
pub struct EngineExtractor {
    models_dir: PathBuf,
    landmark: LandmarkModel,
}

impl EngineExtractor {
    pub fn new(models_dir: PathBuf, landmark: &str) -> Result<Self, ModelError> {
        Ok(Self {
            models_dir,
            landmark: LandmarkModel::from_str(landmark)?,
        })
    }

    /// The model files and the runtime library are where the engine will look (`/readyz`).
    pub fn models_present(&self) -> bool {
        [DETECTOR_FILE, self.landmark.file_name(), ORT_LIBRARY_FILE]
            .iter()
            .all(|f| self.models_dir.join(f).is_file())
    }

    /// Loads the models once at start, so a missing or broken model stops `serve` with a
    /// clear message instead of failing every task.
    pub async fn preload(&self) -> Result<(), ModelError> {
        let dir = self.models_dir.clone();
        let variant = self.landmark;
        tokio::task::spawn_blocking(move || {
            motion_capture::models::PoseModels::load(&dir, variant).map(drop)
        })
        .await
        .map_err(|e| ModelError::Tool {
            what: "loading the pose models".into(),
            message: e.to_string(),
        })?
    }

    pub fn models_dir(&self) -> &Path {
        &self.models_dir
    }
}

/// Progress of the whole job (0..=1) from the engine's stage progress: tracking is the bulk.
fn job_fraction(p: Progress) -> f64 {
    let part = if p.total > 0 {
        (p.done as f64 / p.total as f64).clamp(0.0, 1.0)
    } else {
        0.0
    };
    match p.stage {
        Stage::Probing => 0.0,
        Stage::Tracking => 0.02 + 0.78 * part,
        Stage::Solving => 0.80,
        Stage::Exporting => 0.83,
        Stage::Preview => 0.85 + 0.15 * part,
    }
}

fn map_engine_error(e: EngineError) -> ExtractError {
    match e {
        EngineError::BadInput(_) => ExtractError::Failed(FailureReason::Undecodable),
        EngineError::NoPerson => ExtractError::Failed(FailureReason::NoPerson),
        EngineError::Cancelled => ExtractError::Cancelled,
        EngineError::Models(_) => ExtractError::Internal(e.to_string()),
        // The worker's own job folder: the service's storage, not the user's input, and a
        // shortage there (EMFILE, ENOSPC) may pass.
        EngineError::Output(_) => ExtractError::Unavailable(e.to_string()),
        EngineError::Internal(m) => ExtractError::Internal(m),
    }
}

impl EngineExtractor {
    /// The decoded duration must be 2.0–10.0 s (rounded to tenths, contract §6.1); checked
    /// with one probe before the expensive work.
    async fn check_duration(
        &self,
        input: &Path,
        cancel: &CancellationToken,
    ) -> Result<(), ExtractError> {
        let container = media::sniff_file(input)
            .map_err(|e| ExtractError::Internal(format!("read input: {e}")))?;
        if !container.is_video() {
            return Err(ExtractError::Failed(FailureReason::Undecodable));
        }
        let limits = Limits {
            timeout: std::time::Duration::from_secs(30),
            ..Limits::default()
        };
        let probed = media::probe(input, container, &limits, cancel).await;
        let info = match probed.and_then(|info| info.check_side_limit().map(|()| info)) {
            Ok(info) => info,
            Err(MediaError::Cancelled { .. }) => return Err(ExtractError::Cancelled),
            Err(e) if e.is_bad_input() => {
                return Err(ExtractError::Failed(FailureReason::Undecodable));
            }
            Err(e) => return Err(ExtractError::Internal(e.to_string())),
        };
        let tenths = duration_tenths(info.duration_s.unwrap_or(0.0));
        if !(20..=100).contains(&tenths) {
            return Err(ExtractError::Failed(FailureReason::Duration { tenths }));
        }
        Ok(())
    }
}

#[async_trait]
impl MotionExtractor for EngineExtractor {
    async fn extract(
        &self,
        job: ExtractJob,
        cancel: CancellationToken,
        progress: &dyn ProgressSink,
    ) -> Result<Extracted, ExtractError> {
        self.check_duration(&job.source, &cancel).await?;
        let mut opts = ExtractOptions::new(self.models_dir.clone());
        opts.model = self.landmark;
        opts.preview = true;
        // The engine's scratch files (a copy of the user's video) go in the job's own
        // directory: the worker removes it after the job, and the janitor sweeps what a killed
        // process left; the system's temporary directory has no one to clean it.
        opts.scratch_dir = job.source.parent().map(Path::to_path_buf);
        let report = Engine::extract(&job.source, &job.out_dir, opts, cancel, |p: Progress| {
            progress.report(job_fraction(p))
        })
        .await
        .map_err(map_engine_error)?;
        let preview = report
            .preview
            .clone()
            .unwrap_or_else(|| job.out_dir.join(PREVIEW_NAME));
        let (width, height) = preview_size(report.width, report.height, PREVIEW_MAX_SIDE);
        let duration_ms = if report.video_fps > 0.0 {
            (report.frames as f64 / report.video_fps * 1000.0).round() as u64
        } else {
            0
        };
        // The engine reports the tracking stage's time (pose inference, with decoding running
        // beside it), the figure nearest to inference time (contract §10.3), per source frame
        // tracked (a variable-rate video has more or fewer analysis frames).
        if report.tracked_frames > 0 {
            metrics::histogram!("motiond_inference_seconds_per_frame")
                .record(report.tracking_s / report.tracked_frames as f64);
        }
        tracing::info!(
            frames = report.frames,
            person_found = report.person_found_frames,
            fps = report.processing_fps,
            "extraction done"
        );
        Ok(Extracted {
            preview,
            bvh_zip: report.files.bvh_zip.clone(),
            binary_zip: report.files.binary_zip.clone(),
            width,
            height,
            duration_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_monotonic_over_the_stages() {
        let p = |stage, done, total| job_fraction(Progress { stage, done, total });
        let seq = [
            p(Stage::Probing, 0, 1),
            p(Stage::Tracking, 0, 40),
            p(Stage::Tracking, 40, 40),
            p(Stage::Solving, 0, 1),
            p(Stage::Exporting, 0, 1),
            p(Stage::Preview, 20, 40),
            p(Stage::Preview, 40, 40),
        ];
        assert!(seq.windows(2).all(|w| w[0] <= w[1]), "{seq:?}");
        assert_eq!(seq[6], 1.0);
        assert_eq!(
            p(Stage::Tracking, 5, 0),
            0.02,
            "unknown totals do not divide by zero"
        );
    }

    #[test]
    fn engine_errors_map_to_contract_reasons() {
        assert!(matches!(
            map_engine_error(EngineError::NoPerson),
            ExtractError::Failed(FailureReason::NoPerson)
        ));
        assert!(matches!(
            map_engine_error(EngineError::BadInput("x".into())),
            ExtractError::Failed(FailureReason::Undecodable)
        ));
        assert!(matches!(
            map_engine_error(EngineError::Cancelled),
            ExtractError::Cancelled
        ));
        assert!(matches!(
            map_engine_error(EngineError::Internal("x".into())),
            ExtractError::Internal(_)
        ));
        assert!(matches!(
            map_engine_error(EngineError::Output(
                "x: Too many open files (os error 24)".into()
            )),
            ExtractError::Unavailable(_)
        ));
    }
}
