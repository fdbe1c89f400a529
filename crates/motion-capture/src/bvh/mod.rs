//! Reading BVH motion files from any common exporter, and turning them into an [`Animation`].
//!
//! The reader is built for untrusted input (catalog imports, later user uploads): every limit is
//! checked before memory is committed, every number must be finite, and every malformed file
//! ends in a [`BvhError`] naming the line, never a panic.
//!
//! Three layers:
//! - [`parse`] reads the text into a [`Bvh`]: the hierarchy as written (any channel order,
//!   3 or 6 channels on any joint, `End Site`s) and the raw channel values of every frame;
//! - [`Bvh::world_pose`] is the file's own forward kinematics, in the file's units and axes
//!   (the reference the conversions are tested against);
//! - [`Bvh::to_animation`] normalises to the engine's conventions (Y up, centimetres, facing
//!   +Z at the first frame, floor at Y = 0, starting at the origin) and returns the common
//!   [`Animation`] plus the [`Normalization`] that maps file coordinates to it;
//! - [`Bvh::retarget`] puts the clip on the engine's own 22-joint skeleton (the files of
//!   api-contract §9.4-§9.5), solved from the landmarks its joints give.
//!
//! [`Animation`]: crate::animation::Animation

mod convert;
mod fk;
mod normalize;
mod parse;
mod retarget;

pub use convert::Converted;
pub use fk::Mat3;
pub(crate) use normalize::side_of;
pub use normalize::{Normalization, Unit, UpAxis};
pub use parse::{Limits, parse, parse_with_limits};
pub use retarget::{Reading, Retargeted, ThumbSide, UnmatchedSkeleton};

/// One channel of a joint, in the order the file lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Xposition,
    Yposition,
    Zposition,
    Xrotation,
    Yrotation,
    Zrotation,
}

impl Channel {
    /// Axis index 0..3 (X, Y, Z).
    pub fn axis(self) -> usize {
        match self {
            Channel::Xposition | Channel::Xrotation => 0,
            Channel::Yposition | Channel::Yrotation => 1,
            Channel::Zposition | Channel::Zrotation => 2,
        }
    }

    pub fn is_rotation(self) -> bool {
        matches!(
            self,
            Channel::Xrotation | Channel::Yrotation | Channel::Zrotation
        )
    }
}

/// One joint as the file declares it. Joints are stored parents-first, in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct BvhJoint {
    /// The name exactly as written (for example `mixamorig:Hips`).
    pub name: String,
    pub parent: Option<usize>,
    /// `OFFSET`, in file units and axes.
    pub offset: [f64; 3],
    pub channels: Vec<Channel>,
    /// Index of this joint's first channel within a frame's values.
    pub channel_start: usize,
    /// `End Site` offsets (normally zero or one).
    pub end_sites: Vec<[f64; 3]>,
}

impl BvhJoint {
    /// The name without a namespace prefix such as `mixamorig:` (text after the last `:`).
    pub fn short_name(&self) -> &str {
        match self.name.rsplit_once(':') {
            Some((_, tail)) if !tail.is_empty() => tail,
            _ => &self.name,
        }
    }

    pub fn has_position_channels(&self) -> bool {
        self.channels.iter().any(|c| !c.is_rotation())
    }
}

/// A parsed BVH file.
#[derive(Clone, Debug, PartialEq)]
pub struct Bvh {
    pub joints: Vec<BvhJoint>,
    /// `Frame Time`, seconds.
    pub frame_time_s: f64,
    /// Number of values per frame (the sum of all joints' channel counts).
    pub channels_per_frame: usize,
    /// All frames' values, frame after frame (`frame_count × channels_per_frame`).
    values: Vec<f64>,
}

impl Bvh {
    pub fn frame_count(&self) -> usize {
        self.values
            .len()
            .checked_div(self.channels_per_frame)
            .unwrap_or(0)
    }

    pub fn fps(&self) -> f64 {
        1.0 / self.frame_time_s
    }

    pub fn duration_s(&self) -> f64 {
        self.frame_count() as f64 * self.frame_time_s
    }

    /// The raw channel values of frame `index` (empty past the end).
    pub fn frame(&self, index: usize) -> &[f64] {
        let n = self.channels_per_frame;
        self.values.get(index * n..(index + 1) * n).unwrap_or(&[])
    }

    /// Index of the first joint whose short name equals `name`, ignoring ASCII case.
    pub fn find_joint(&self, name: &str) -> Option<usize> {
        self.joints
            .iter()
            .position(|j| j.short_name().eq_ignore_ascii_case(name))
    }
}

/// Why a BVH file could not be read. Messages are meant for an operator or an API client.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BvhError {
    #[error("not a BVH file: it must start with HIERARCHY")]
    NotBvh,
    #[error("BVH line {line}: {message}")]
    Syntax { line: usize, message: String },
    #[error("BVH file ends early: {0}")]
    Truncated(String),
    #[error("BVH line {line}: the number {text:?} is not a finite value in range")]
    BadNumber { line: usize, text: String },
    #[error("BVH file is too large: {0}")]
    TooLarge(String),
    #[error("BVH has no frames")]
    NoFrames,
}

#[cfg(test)]
mod tests;
