//! The motion-capture engine: a video of one person becomes a skeleton animation.
//!
//! Modules (each owned by one part of the pipeline):
//! - [`media`]: the one hardened subprocess runner, ffprobe, the ffmpeg frame source and encoders.
//! - [`models`]: fetching and converting the pinned BlazePose models at setup; loading them at run time.
//! - [`pose`]: the BlazePose pipeline (detector, ROI, landmark model, tracking, filters).
//! - [`solve`]: the whole-clip skeleton solve (bone lengths, rotations, grounding, foot locking).
//! - [`export`]: BVH, glTF/glb, landmarks.json, quality.json and the zip archives.
//! - [`render`]: the preview video and the cover.
//! - [`engine`]: `Engine::extract`, which ties them together.
//!
//! Shared data types between the stages live in [`types`].

pub mod animation;
pub mod bvh;
pub mod catalog;
pub mod engine;
pub mod export;
pub mod held_dir;
pub mod media;
pub mod models;
pub mod pose;
pub mod render;
pub mod solve;
mod thread_name;
pub mod types;

/// Helpers of the unit tests of more than one module.
#[cfg(test)]
mod test_files {
    use std::path::Path;

    /// The names of the entries of `dir`, sorted.
    pub(crate) fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}
