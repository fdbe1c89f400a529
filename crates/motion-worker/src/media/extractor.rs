//! `MotionExtractor` over `motion_capture`'s engine: one job's video in, the motion's files
//! out, with cancellation and progress, and the engine's failures mapped to the contract's
//! failure reasons (§6.1).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use async_trait::async_trait;
use motion_capture::models::{LandmarkModel, ModelError, ORT_LIBRARY_FILE};
use motion_core::ports::{ExtractError, ExtractJob, Extracted, MotionExtractor, ProgressSink};
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

#[async_trait]
impl MotionExtractor for EngineExtractor {
    async fn extract(
        &self,
        _job: ExtractJob,
        _cancel: CancellationToken,
        _progress: &dyn ProgressSink,
    ) -> Result<Extracted, ExtractError> {
        // Temporary until `motion_capture::engine::Engine` lands (H3): the job fails with
        // "Internal error" instead of pretending to have produced a motion.
        Err(ExtractError::Internal(
            "the motion-capture engine is not integrated in this build yet".into(),
        ))
    }
}
