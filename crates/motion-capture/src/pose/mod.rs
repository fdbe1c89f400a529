//! BlazePose GHUM 3D (full) as MediaPipe 0.10.21 runs it, re-implemented on ONNX Runtime
//! (pose-pipeline.md). Pure stages are separate modules so that each can be checked against
//! the goldens on its own:
//!
//! - [`crop`]: ImageToTensor (rotated crop, OpenCV-exact fixed-point bilinear sampling).
//! - [`detector`]: anchors, decoding, weighted NMS, letterbox removal.
//! - [`roi`]: the two-point ROI rule.
//! - [`landmarks`]: decoding, heatmap refinement, projection, world rotation.
//! - [`filters`]: one-euro and low-pass filters with MediaPipe's quirks.
//! - [`tracker`]: the per-frame state machine; the public entry point.

pub mod crop;
pub mod detector;
pub mod filters;
pub mod landmarks;
pub mod roi;
pub mod tracker;

pub use detector::Detection;
pub use landmarks::LandmarkResult;
pub use roi::Roi;
pub use tracker::{FrameDebug, PoseError, Tracker, TrackerOptions};
