//! The engine's common intermediate: a skeleton and its per-frame joint rotations.
//!
//! Everything that writes a motion (the BVH and glb exporters, the preview renderer, the
//! official-catalog importer) takes an [`Animation`], whatever produced it (the video solver or
//! a BVH reader).
//!
//! Conventions (the same as `motion.bvh`, see api-contract §9.4):
//! - right-handed, **Y up**, units **centimetres**;
//! - rest pose (all rotations identity) is what the `offset`s describe; for the solver's
//!   skeleton it is a **T-pose facing +Z** with the performer's left side toward +X;
//! - rotations are **local** (relative to the parent joint's frame) unit quaternions; a joint's
//!   global rotation is `global(parent) * local`;
//! - a joint's position is `position(parent) + global(parent).rotate(offset)`; the root's is
//!   `root_translation + offset(root)`;
//! - written to BVH as Euler angles in degrees with channels `Zrotation Yrotation Xrotation`,
//!   i.e. R = Rz·Ry·Rx.

pub mod math;

use math::{Quat, Vec3, add};

/// One joint of a skeleton. Joints are stored parents-first (a parent's index is always
/// smaller than its children's), in the depth-first order a BVH file lists them.
#[derive(Clone, Debug, PartialEq)]
pub struct Joint {
    pub name: String,
    pub parent: Option<usize>,
    /// Offset from the parent joint in the parent's rest frame, cm.
    pub offset: Vec3,
    /// BVH `End Site` offset for leaf joints (tip of the head, fingers, toes), cm.
    pub end_site: Option<Vec3>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Skeleton {
    pub joints: Vec<Joint>,
}

impl Skeleton {
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.joints.iter().position(|j| j.name == name)
    }

    pub fn children(&self, index: usize) -> impl Iterator<Item = usize> + '_ {
        self.joints
            .iter()
            .enumerate()
            .filter(move |(_, j)| j.parent == Some(index))
            .map(|(i, _)| i)
    }

    /// Joint positions in the rest pose, with the root at `root_offset`.
    pub fn rest_positions(&self) -> Vec<Vec3> {
        let mut out: Vec<Vec3> = Vec::with_capacity(self.joints.len());
        for j in &self.joints {
            let p = match j.parent {
                Some(p) => add(out[p], j.offset),
                None => j.offset,
            };
            out.push(p);
        }
        out
    }
}

/// One frame of motion.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    /// Added to the root joint's offset, cm.
    pub root_translation: Vec3,
    /// Local rotation of every joint, same order as [`Skeleton::joints`].
    pub rotations: Vec<Quat>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Animation {
    pub skeleton: Skeleton,
    /// Seconds per frame (1 / the analysis frame rate).
    pub frame_time_s: f64,
    pub frames: Vec<Frame>,
}

impl Animation {
    pub fn fps(&self) -> f64 {
        1.0 / self.frame_time_s
    }

    /// Global (world) rotation of every joint in `frame`.
    pub fn world_rotations(&self, frame: &Frame) -> Vec<Quat> {
        let mut out: Vec<Quat> = Vec::with_capacity(self.skeleton.joints.len());
        for (i, j) in self.skeleton.joints.iter().enumerate() {
            let local = frame.rotations.get(i).copied().unwrap_or_default();
            let g = match j.parent {
                Some(p) => out[p].compose(local),
                None => local,
            };
            out.push(g);
        }
        out
    }

    /// Forward kinematics: the world position of every joint in `frame`, cm.
    pub fn world_positions(&self, frame: &Frame) -> Vec<Vec3> {
        self.world_pose(frame).0
    }

    /// Positions and global rotations of every joint in `frame`.
    pub fn world_pose(&self, frame: &Frame) -> (Vec<Vec3>, Vec<Quat>) {
        let rots = self.world_rotations(frame);
        let mut pos: Vec<Vec3> = Vec::with_capacity(rots.len());
        for j in &self.skeleton.joints {
            let p = match j.parent {
                Some(p) => add(pos[p], rots[p].rotate(j.offset)),
                None => add(frame.root_translation, j.offset),
            };
            pos.push(p);
        }
        (pos, rots)
    }

    /// World position of each leaf joint's end site (same order as the joints; `None` where
    /// a joint has no end site).
    pub fn end_site_positions(&self, frame: &Frame) -> Vec<Option<Vec3>> {
        let (pos, rots) = self.world_pose(frame);
        self.skeleton
            .joints
            .iter()
            .enumerate()
            .map(|(i, j)| j.end_site.map(|e| add(pos[i], rots[i].rotate(e))))
            .collect()
    }

    /// Per frame, the height (Y) of its lowest joint or end site.
    pub fn lowest_points(&self) -> Vec<f32> {
        self.frames
            .iter()
            .map(|frame| {
                let mut points = self.world_positions(frame);
                points.extend(self.end_site_positions(frame).into_iter().flatten());
                points.iter().map(|p| p[1]).fold(f32::INFINITY, f32::min)
            })
            .collect()
    }

    /// Makes consecutive quaternions of each joint lie in the same hemisphere, so that
    /// interpolating exporters (glTF LINEAR) never take the long way round.
    pub fn enforce_quaternion_continuity(&mut self) {
        for f in 1..self.frames.len() {
            let (prev, cur) = self.frames.split_at_mut(f);
            let prev = &prev[f - 1];
            for (q, p) in cur[0].rotations.iter_mut().zip(&prev.rotations) {
                if q.dot(*p) < 0.0 {
                    *q = q.negated();
                }
            }
        }
    }
}

/// Names of the solver's 22 joints, in BVH (depth-first) order (api-contract §9.4).
pub const MIXAMO_JOINTS: [&str; 22] = [
    "Hips",
    "Spine",
    "Spine1",
    "Spine2",
    "Neck",
    "Head",
    "LeftShoulder",
    "LeftArm",
    "LeftForeArm",
    "LeftHand",
    "RightShoulder",
    "RightArm",
    "RightForeArm",
    "RightHand",
    "LeftUpLeg",
    "LeftLeg",
    "LeftFoot",
    "LeftToeBase",
    "RightUpLeg",
    "RightLeg",
    "RightFoot",
    "RightToeBase",
];

/// Parent of each of [`MIXAMO_JOINTS`] (by index).
pub const MIXAMO_PARENTS: [Option<usize>; 22] = [
    None,
    Some(0),
    Some(1),
    Some(2),
    Some(3),
    Some(4),
    Some(3),
    Some(6),
    Some(7),
    Some(8),
    Some(3),
    Some(10),
    Some(11),
    Some(12),
    Some(0),
    Some(14),
    Some(15),
    Some(16),
    Some(0),
    Some(18),
    Some(19),
    Some(20),
];

/// Indices into [`MIXAMO_JOINTS`].
pub mod joint {
    pub const HIPS: usize = 0;
    pub const SPINE: usize = 1;
    pub const SPINE1: usize = 2;
    pub const SPINE2: usize = 3;
    pub const NECK: usize = 4;
    pub const HEAD: usize = 5;
    pub const LEFT_SHOULDER: usize = 6;
    pub const LEFT_ARM: usize = 7;
    pub const LEFT_FORE_ARM: usize = 8;
    pub const LEFT_HAND: usize = 9;
    pub const RIGHT_SHOULDER: usize = 10;
    pub const RIGHT_ARM: usize = 11;
    pub const RIGHT_FORE_ARM: usize = 12;
    pub const RIGHT_HAND: usize = 13;
    pub const LEFT_UP_LEG: usize = 14;
    pub const LEFT_LEG: usize = 15;
    pub const LEFT_FOOT: usize = 16;
    pub const LEFT_TOE_BASE: usize = 17;
    pub const RIGHT_UP_LEG: usize = 18;
    pub const RIGHT_LEG: usize = 19;
    pub const RIGHT_FOOT: usize = 20;
    pub const RIGHT_TOE_BASE: usize = 21;
}

#[cfg(test)]
mod tests {
    use super::math::dist;
    use super::*;

    fn chain() -> Animation {
        let j = |name: &str, parent, offset| Joint {
            name: name.into(),
            parent,
            offset,
            end_site: None,
        };
        let skeleton = Skeleton {
            joints: vec![
                j("root", None, [0.0, 0.0, 0.0]),
                j("a", Some(0), [10.0, 0.0, 0.0]),
                j("b", Some(1), [10.0, 0.0, 0.0]),
            ],
        };
        let quarter = Quat::from_axis_angle([0.0, 0.0, 1.0], std::f32::consts::FRAC_PI_2);
        let frames = vec![Frame {
            root_translation: [1.0, 2.0, 3.0],
            rotations: vec![Quat::IDENTITY, quarter, Quat::IDENTITY],
        }];
        Animation {
            skeleton,
            frame_time_s: 1.0 / 30.0,
            frames,
        }
    }

    #[test]
    fn forward_kinematics_applies_parent_rotation_to_child_offsets() {
        let a = chain();
        let p = a.world_positions(&a.frames[0]);
        assert!(dist(p[0], [1.0, 2.0, 3.0]) < 1e-5);
        assert!(dist(p[1], [11.0, 2.0, 3.0]) < 1e-5);
        // Joint a turned 90° about Z: its child offset +X becomes +Y.
        assert!(dist(p[2], [11.0, 12.0, 3.0]) < 1e-5);
    }

    #[test]
    fn continuity_flips_signs() {
        let mut a = chain();
        let mut f = a.frames[0].clone();
        f.rotations[1] = f.rotations[1].negated();
        a.frames.push(f);
        a.enforce_quaternion_continuity();
        assert!(a.frames[1].rotations[1].dot(a.frames[0].rotations[1]) > 0.0);
    }

    #[test]
    fn mixamo_parents_come_first() {
        for (i, p) in MIXAMO_PARENTS.iter().enumerate() {
            if let Some(p) = p {
                assert!(*p < i);
            }
        }
    }
}
