//! The BVH file's own forward kinematics, in `f64`, in the file's units and axes.
//!
//! This is deliberately independent of [`crate::animation`]: it is the reference that the
//! conversions (Animation, glb) are checked against.

use super::{Bvh, BvhJoint};

/// Row-major 3×3 matrix (rotates column vectors).
pub type Mat3 = [[f64; 3]; 3];

pub const IDENTITY: Mat3 = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

pub fn mat_mul(a: &Mat3, b: &Mat3) -> Mat3 {
    let mut m = [[0.0; 3]; 3];
    for (i, row) in m.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    m
}

pub fn mat_vec(a: &Mat3, v: [f64; 3]) -> [f64; 3] {
    [0, 1, 2].map(|i| a[i][0] * v[0] + a[i][1] * v[1] + a[i][2] * v[2])
}

pub fn transpose(a: &Mat3) -> Mat3 {
    [0, 1, 2].map(|i| [a[0][i], a[1][i], a[2][i]])
}

pub fn add3(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

pub fn sub3(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

pub fn norm3(a: [f64; 3]) -> f64 {
    (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt()
}

/// Rotation by `degrees` about axis 0 (X), 1 (Y) or 2 (Z).
pub fn axis_rotation(axis: usize, degrees: f64) -> Mat3 {
    let (s, c) = degrees.to_radians().sin_cos();
    match axis {
        0 => [[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]],
        1 => [[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]],
        _ => [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]],
    }
}

/// A joint's local rotation and translation in one frame. Rotation channels compose in the
/// order listed (`Zrotation Yrotation Xrotation` gives Rz·Ry·Rx). Position channels *replace*
/// the offset on their axis, as Blender's importer reads them: exporters write the absolute
/// root position there, and files with 6 channels on every joint repeat the offset.
pub fn local_transform(joint: &BvhJoint, values: &[f64]) -> (Mat3, [f64; 3]) {
    let mut rotation = IDENTITY;
    let mut translation = joint.offset;
    for (k, channel) in joint.channels.iter().enumerate() {
        let v = values.get(joint.channel_start + k).copied().unwrap_or(0.0);
        if channel.is_rotation() {
            rotation = mat_mul(&rotation, &axis_rotation(channel.axis(), v));
        } else {
            translation[channel.axis()] = v;
        }
    }
    (rotation, translation)
}

impl Bvh {
    /// World positions and rotations of every joint in frame `index`, in file units and axes.
    pub fn world_pose(&self, index: usize) -> (Vec<[f64; 3]>, Vec<Mat3>) {
        let values = self.frame(index);
        let mut positions: Vec<[f64; 3]> = Vec::with_capacity(self.joints.len());
        let mut rotations: Vec<Mat3> = Vec::with_capacity(self.joints.len());
        for joint in &self.joints {
            let (local_r, local_t) = local_transform(joint, values);
            let (p, r) = match joint.parent {
                Some(parent) => (
                    add3(positions[parent], mat_vec(&rotations[parent], local_t)),
                    mat_mul(&rotations[parent], &local_r),
                ),
                None => (local_t, local_r),
            };
            positions.push(p);
            rotations.push(r);
        }
        (positions, rotations)
    }

    pub fn world_positions(&self, index: usize) -> Vec<[f64; 3]> {
        self.world_pose(index).0
    }

    /// World positions of every `End Site` in frame `index`, with the joint each belongs to.
    pub fn end_site_positions(&self, index: usize) -> Vec<(usize, [f64; 3])> {
        let (positions, rotations) = self.world_pose(index);
        let mut out = Vec::new();
        for (i, joint) in self.joints.iter().enumerate() {
            for e in &joint.end_sites {
                out.push((i, add3(positions[i], mat_vec(&rotations[i], *e))));
            }
        }
        out
    }

    /// Every joint position followed by every end-site position in frame `index`: the points a
    /// renderer or a floor search needs, from one forward-kinematics pass.
    pub fn points(&self, index: usize) -> Vec<[f64; 3]> {
        let (mut positions, rotations) = self.world_pose(index);
        for (i, joint) in self.joints.iter().enumerate() {
            for e in &joint.end_sites {
                positions.push(add3(positions[i], mat_vec(&rotations[i], *e)));
            }
        }
        positions
    }
}
