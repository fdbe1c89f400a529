//! Data passed between the engine's stages. Kept small and stable: the pose stage produces
//! [`PoseFrame`]s, the solver consumes them.

use serde::Serialize;

/// Number of BlazePose landmarks in the output (the auxiliary landmarks 33..38 are internal).
pub const NUM_LANDMARKS: usize = 33;

/// One landmark. For image landmarks `x`, `y` are normalised frame coordinates (x right, y down)
/// and `z` a relative depth on the scale of `x`; for world landmarks they are metres with the
/// origin between the hips (x right, y down, z away from the camera), as MediaPipe outputs them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Landmark {
    pub x: f32,
    pub y: f32,
    pub z: f32,
    /// Probability that the point is visible (not occluded), 0..1.
    pub visibility: f32,
    /// Probability that the point is inside the frame, 0..1.
    pub presence: f32,
}

/// The pose found in one frame. (Not `Serialize`: serde has no impl for arrays of 33; the
/// exporters write their own JSON shapes.)
#[derive(Clone, Debug, PartialEq)]
pub struct Pose {
    pub image: [Landmark; NUM_LANDMARKS],
    pub world: [Landmark; NUM_LANDMARKS],
}

/// One decoded frame's result: its presentation time and the pose, if a person was found.
#[derive(Clone, Debug, PartialEq)]
pub struct PoseFrame {
    /// Presentation time in microseconds from the start of the video.
    pub t_us: i64,
    pub pose: Option<Pose>,
}

/// One decoded video frame, tightly packed RGB (3 bytes per pixel, row-major, no padding).
#[derive(Clone, Debug)]
pub struct RgbFrame {
    pub width: u32,
    pub height: u32,
    /// Presentation time in microseconds from the start of the video.
    pub t_us: i64,
    /// 0-based index in decoding order.
    pub index: u64,
    pub data: Vec<u8>,
}
