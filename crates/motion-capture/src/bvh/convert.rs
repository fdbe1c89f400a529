//! BVH → the engine's common [`Animation`] (Y up, cm, facing +Z, floor at 0).
//!
//! With `C` the normalisation's rotation and `s` its scale, every local rotation becomes
//! `C·R·Cᵀ` and every offset `s·C·o`; then each world position is exactly `s·C·p + t`. The
//! root's rest offset is folded into its per-frame translation (offset zero), so exporters that
//! add the offset to the root position channels and those that do not agree.

use super::fk::{Mat3, local_transform, mat_mul, norm3, sub3, transpose};
use super::{Bvh, Normalization};
use crate::animation::math::Quat;
use crate::animation::{Animation, Frame, Joint, Skeleton};

/// The result of [`Bvh::to_animation`].
#[derive(Clone, Debug)]
pub struct Converted {
    pub animation: Animation,
    pub normalization: Normalization,
    /// Non-root joints whose position channels change over the clip. The common animation
    /// has fixed bone lengths, so these keep their first frame's translation.
    pub approximated_joints: Vec<String>,
}

impl Bvh {
    pub fn to_animation(&self) -> Converted {
        let normalization = self.normalization();
        let c = normalization.rotation;
        let ct = transpose(&c);
        let first = self.frame(0);
        let mut approximated_joints = Vec::new();
        let joints = self
            .joints
            .iter()
            .map(|j| {
                let offset = match j.parent {
                    None => [0.0; 3],
                    Some(_) => {
                        let (_, t0) = local_transform(j, first);
                        if j.has_position_channels()
                            && self.translation_varies(j, t0, &normalization)
                        {
                            approximated_joints.push(j.short_name().to_string());
                        }
                        normalization.apply_vector(t0)
                    }
                };
                Joint {
                    name: j.short_name().to_string(),
                    parent: j.parent,
                    offset: to_f32(offset),
                    end_site: j
                        .end_sites
                        .first()
                        .map(|e| to_f32(normalization.apply_vector(*e))),
                }
            })
            .collect();
        let frames = (0..self.frame_count())
            .map(|f| {
                let values = self.frame(f);
                let rotations = self
                    .joints
                    .iter()
                    .map(|j| {
                        quat_from_matrix(&mat_mul(&mat_mul(&c, &local_transform(j, values).0), &ct))
                    })
                    .collect();
                let root = local_transform(&self.joints[0], values).1;
                Frame {
                    root_translation: to_f32(normalization.apply(root)),
                    rotations,
                }
            })
            .collect();
        let mut animation = Animation {
            skeleton: Skeleton { joints },
            frame_time_s: self.frame_time_s,
            frames,
        };
        animation.enforce_quaternion_continuity();
        Converted {
            animation,
            normalization,
            approximated_joints,
        }
    }

    fn translation_varies(&self, joint: &super::BvhJoint, t0: [f64; 3], n: &Normalization) -> bool {
        let tolerance = 1e-6 * n.height_file_units.max(1e-9);
        (1..self.frame_count())
            .any(|f| norm3(sub3(local_transform(joint, self.frame(f)).1, t0)) > tolerance)
    }
}

fn to_f32(v: [f64; 3]) -> [f32; 3] {
    v.map(|x| x as f32)
}

/// Rotation matrix → unit quaternion (Shepperd's method, in f64 before rounding to f32).
pub fn quat_from_matrix(m: &Mat3) -> Quat {
    let trace = m[0][0] + m[1][1] + m[2][2];
    let (w, x, y, z) = if trace > 0.0 {
        let s = (trace + 1.0).sqrt() * 2.0;
        (
            0.25 * s,
            (m[2][1] - m[1][2]) / s,
            (m[0][2] - m[2][0]) / s,
            (m[1][0] - m[0][1]) / s,
        )
    } else if m[0][0] > m[1][1] && m[0][0] > m[2][2] {
        let s = (1.0 + m[0][0] - m[1][1] - m[2][2]).sqrt() * 2.0;
        (
            (m[2][1] - m[1][2]) / s,
            0.25 * s,
            (m[0][1] + m[1][0]) / s,
            (m[0][2] + m[2][0]) / s,
        )
    } else if m[1][1] > m[2][2] {
        let s = (1.0 + m[1][1] - m[0][0] - m[2][2]).sqrt() * 2.0;
        (
            (m[0][2] - m[2][0]) / s,
            (m[0][1] + m[1][0]) / s,
            0.25 * s,
            (m[1][2] + m[2][1]) / s,
        )
    } else {
        let s = (1.0 + m[2][2] - m[0][0] - m[1][1]).sqrt() * 2.0;
        (
            (m[1][0] - m[0][1]) / s,
            (m[0][2] + m[2][0]) / s,
            (m[1][2] + m[2][1]) / s,
            0.25 * s,
        )
    };
    let n = (w * w + x * x + y * y + z * z).sqrt();
    Quat {
        w: (w / n) as f32,
        x: (x / n) as f32,
        y: (y / n) as f32,
        z: (z / n) as f32,
    }
}
