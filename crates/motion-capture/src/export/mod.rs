//! Writers for everything one extraction produces: `motion.bvh`, `motion.glb`,
//! `landmarks.json`, `quality.json`, and the archives `bvh.zip` and `binary.zip`.

pub mod archive;
pub mod bvh;
pub mod glb;
pub mod landmarks;

use std::path::{Path, PathBuf};

use crate::solve::{Quality, Solution};
use crate::types::PoseFrame;

pub const BVH_NAME: &str = "motion.bvh";
pub const GLB_NAME: &str = "motion.glb";
pub const LANDMARKS_NAME: &str = "landmarks.json";
pub const QUALITY_NAME: &str = "quality.json";
pub const BVH_ZIP_NAME: &str = "bvh.zip";
pub const BINARY_ZIP_NAME: &str = "binary.zip";

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("building motion.glb: {0}")]
    Glb(#[from] glb::GlbError),
    #[error(transparent)]
    Zip(#[from] archive::ZipError),
    #[error("writing {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Paths of the written files.
#[derive(Clone, Debug)]
pub struct Exported {
    pub bvh: PathBuf,
    pub glb: PathBuf,
    pub landmarks: PathBuf,
    pub quality: PathBuf,
    pub bvh_zip: PathBuf,
    pub binary_zip: PathBuf,
}

impl Exported {
    /// Every file, each with its path.
    pub fn paths_mut(&mut self) -> [&mut PathBuf; 6] {
        [
            &mut self.bvh,
            &mut self.glb,
            &mut self.landmarks,
            &mut self.quality,
            &mut self.bvh_zip,
            &mut self.binary_zip,
        ]
    }
}

/// Writes the motion files of `solution` into `out_dir` (which must exist).
pub fn write_motion_files(
    out_dir: &Path,
    solution: &Solution,
    frames: &[PoseFrame],
    scores: &[f32],
    meta: &landmarks::LandmarksMeta<'_>,
) -> Result<Exported, ExportError> {
    let bvh_text = bvh::to_bvh(&solution.animation);
    let glb_bytes = glb::to_glb(&solution.animation)?;
    let lm_text = landmarks::to_landmarks_json(meta, frames, scores, &solution.performer_seen);
    let quality_text = quality_json(&solution.quality);
    let paths = Exported {
        bvh: out_dir.join(BVH_NAME),
        glb: out_dir.join(GLB_NAME),
        landmarks: out_dir.join(LANDMARKS_NAME),
        quality: out_dir.join(QUALITY_NAME),
        bvh_zip: out_dir.join(BVH_ZIP_NAME),
        binary_zip: out_dir.join(BINARY_ZIP_NAME),
    };
    write(&paths.bvh, bvh_text.as_bytes())?;
    write(&paths.glb, &glb_bytes)?;
    write(&paths.landmarks, lm_text.as_bytes())?;
    write(&paths.quality, quality_text.as_bytes())?;
    write(
        &paths.bvh_zip,
        &archive::zip_entries(&[(BVH_NAME, bvh_text.as_bytes())])?,
    )?;
    let binary =
        archive::zip_entries(&[(GLB_NAME, &glb_bytes), (LANDMARKS_NAME, lm_text.as_bytes())])?;
    write(&paths.binary_zip, &binary)?;
    Ok(paths)
}

/// `quality.json`: the solver's measures, camelCase keys, pretty-printed.
pub fn quality_json(q: &Quality) -> String {
    let mut s = serde_json::to_string_pretty(q).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    std::fs::write(path, bytes).map_err(|source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    })
}
