//! Two-bone inverse kinematics for a leg: moves the ankle to a target by bending the knee and
//! turning the hip, keeping the foot's orientation in the world (a planted foot stays flat).

use crate::animation::math::{Quat, Vec3, add, cross, dist, dot, sub};
use crate::animation::{Animation, joint as J};

/// The leg's joints: hip (UpLeg), knee (Leg), ankle (Foot), for [left, right].
const LEGS: [[usize; 3]; 2] = [
    [J::LEFT_UP_LEG, J::LEFT_LEG, J::LEFT_FOOT],
    [J::RIGHT_UP_LEG, J::RIGHT_LEG, J::RIGHT_FOOT],
];

/// How far (cm) the ankle of leg `side` (0 left, 1 right) in frame `f` can move straight down,
/// the hip staying where it is, before the leg is `straightest` of its full length (1 straight).
pub fn reach_down(anim: &Animation, f: usize, side: usize, straightest: f32) -> f32 {
    let [hip_j, knee_j, ankle_j] = LEGS[side];
    let pos = anim.world_positions(&anim.frames[f]);
    let (hip, knee, ankle) = (pos[hip_j], pos[knee_j], pos[ankle_j]);
    let longest = (dist(hip, knee) + dist(knee, ankle)) * straightest;
    let across = (hip[0] - ankle[0]).hypot(hip[2] - ankle[2]);
    if across >= longest {
        return 0.0;
    }
    ((longest * longest - across * across).sqrt() - (hip[1] - ankle[1])).max(0.0)
}

/// Moves foot `side` (0 left, 1 right) of frame `f` by `delta` (cm, world) as far as the leg
/// reaches. The hip stays where it is; the knee stays in its bending plane.
pub fn move_foot(anim: &mut Animation, f: usize, side: usize, delta: Vec3) {
    let [hip_j, knee_j, ankle_j] = LEGS[side];
    let (pos, rots) = anim.world_pose(&anim.frames[f]);
    let (hip, knee, ankle) = (pos[hip_j], pos[knee_j], pos[ankle_j]);
    let (thigh, shin) = (dist(hip, knee), dist(knee, ankle));
    if thigh < 1e-3 || shin < 1e-3 {
        return;
    }
    let target = add(ankle, delta);
    let (shortest, longest) = ((thigh - shin).abs() + 1e-3, (thigh + shin) * 0.999);
    let reach = dist(hip, target).max(shortest).min(longest);
    // The knee is a hinge about the thigh's X axis; positive turns bend it the natural way
    // (the shin swings back). Bending about the leg's current plane instead would follow
    // landmark noise on a nearly straight leg, and could bend the knee backward or sideways.
    let hinge = rots[hip_j].rotate([1.0, 0.0, 0.0]);
    let (thigh_dir, shin_dir) = (sub(knee, hip), sub(ankle, knee));
    let flexion_now = dot(cross(thigh_dir, shin_dir), hinge).atan2(dot(thigh_dir, shin_dir));
    let flexion_wanted = std::f32::consts::PI - cos_at_knee(thigh, shin, reach).acos();
    let knee_turn = Quat::from_axis_angle(hinge, flexion_wanted - flexion_now);
    let bent_ankle = add(knee, knee_turn.rotate(sub(ankle, knee)));
    // Then turn the whole leg about the hip so that the ankle points at the target.
    let hip_turn = Quat::from_to(sub(bent_ankle, hip), sub(target, hip));
    let thigh_global = (hip_turn * rots[hip_j]).normalized();
    let shin_global = (hip_turn * knee_turn * rots[knee_j]).normalized();
    let parent = anim.skeleton.joints[hip_j]
        .parent
        .map_or(Quat::IDENTITY, |p| rots[p]);
    let frame = &mut anim.frames[f];
    frame.rotations[hip_j] = (parent.conjugate() * thigh_global).normalized();
    frame.rotations[knee_j] = (thigh_global.conjugate() * shin_global).normalized();
    // The foot keeps its world orientation, so its local rotation absorbs the leg's change.
    frame.rotations[ankle_j] = (shin_global.conjugate() * rots[ankle_j]).normalized();
}

/// Moves foot `side` of frame `f` toward its ankle moved by `delta` (cm, world) by turning the
/// shin about the knee alone, as far as the shin's length allows: the hip and the knee stay
/// where they are (a knee that was seen keeps its place in the picture). The foot keeps its
/// orientation in the world.
pub fn turn_shin(anim: &mut Animation, f: usize, side: usize, delta: Vec3) {
    let [hip_j, knee_j, ankle_j] = LEGS[side];
    let (pos, rots) = anim.world_pose(&anim.frames[f]);
    let (knee, ankle) = (pos[knee_j], pos[ankle_j]);
    let (shin_now, shin_wanted) = (sub(ankle, knee), sub(add(ankle, delta), knee));
    if dist(ankle, knee) < 1e-3 || dot(shin_wanted, shin_wanted) < 1e-6 {
        return;
    }
    let shin_global = (Quat::from_to(shin_now, shin_wanted) * rots[knee_j]).normalized();
    let frame = &mut anim.frames[f];
    frame.rotations[knee_j] = (rots[hip_j].conjugate() * shin_global).normalized();
    frame.rotations[ankle_j] = (shin_global.conjugate() * rots[ankle_j]).normalized();
}

/// Cosine of the angle at the knee between thigh and shin for a hip-to-ankle distance `d`.
fn cos_at_knee(thigh: f32, shin: f32, d: f32) -> f32 {
    ((thigh * thigh + shin * shin - d * d) / (2.0 * thigh * shin)).clamp(-1.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::animation::Frame;
    use crate::solve::rig;

    /// One frame of the example skeleton, standing with its hips 90 cm up and its left knee bent
    /// by `radians`.
    fn left_knee_bent(radians: f32) -> Animation {
        let skeleton = rig::build_skeleton(&rig::BoneLengths::example());
        let mut rotations = vec![Quat::IDENTITY; skeleton.joints.len()];
        rotations[J::LEFT_LEG] = Quat::from_axis_angle([1.0, 0.0, 0.0], radians);
        Animation {
            skeleton,
            frame_time_s: 1.0 / 30.0,
            frames: vec![Frame {
                root_translation: [0.0, 90.0, 0.0],
                rotations,
            }],
        }
    }

    #[test]
    fn turning_the_shin_keeps_the_knee_and_points_the_ankle_at_the_target() {
        let anim = left_knee_bent(0.6);
        let (pos, rots) = anim.world_pose(&anim.frames[0]);
        let shin = dist(pos[J::LEFT_FOOT], pos[J::LEFT_LEG]);
        for delta in [[0.0, -6.0, 0.0], [0.0, 5.0, 0.0], [4.0, -3.0, 2.0]] {
            let mut moved = anim.clone();
            turn_shin(&mut moved, 0, 0, delta);
            let (p, r) = moved.world_pose(&moved.frames[0]);
            assert!(
                dist(p[J::LEFT_LEG], pos[J::LEFT_LEG]) < 1e-3,
                "the knee stays"
            );
            assert!((dist(p[J::LEFT_FOOT], p[J::LEFT_LEG]) - shin).abs() < 1e-3);
            // The ankle lies on the way from the knee to the target.
            let to_target = sub(add(pos[J::LEFT_FOOT], delta), pos[J::LEFT_LEG]);
            let now = sub(p[J::LEFT_FOOT], p[J::LEFT_LEG]);
            let cos = dot(now, to_target)
                / (dist(p[J::LEFT_FOOT], p[J::LEFT_LEG]) * dot(to_target, to_target).sqrt());
            assert!(cos > 0.9999, "{delta:?}: cos {cos}");
            assert!(
                r[J::LEFT_FOOT].dot(rots[J::LEFT_FOOT]).abs() > 0.9999,
                "foot turned"
            );
        }
    }

    #[test]
    fn the_ankle_reaches_a_target_and_the_foot_keeps_its_orientation() {
        let mut anim = left_knee_bent(0.4);
        let (pos, rots) = anim.world_pose(&anim.frames[0]);
        for delta in [[3.0, 0.0, -2.0], [0.0, 4.0, 0.0], [-2.0, -1.0, 5.0]] {
            let mut moved = anim.clone();
            move_foot(&mut moved, 0, 0, delta);
            let (p, r) = moved.world_pose(&moved.frames[0]);
            let want = add(pos[J::LEFT_FOOT], delta);
            assert!(
                dist(p[J::LEFT_FOOT], want) < 0.05,
                "{delta:?}: {:?} vs {want:?}",
                p[J::LEFT_FOOT]
            );
            assert!(
                r[J::LEFT_FOOT].dot(rots[J::LEFT_FOOT]).abs() > 0.9999,
                "foot turned"
            );
            assert_eq!(p[J::LEFT_UP_LEG], pos[J::LEFT_UP_LEG], "the hip stays");
            assert_eq!(p[J::RIGHT_FOOT], pos[J::RIGHT_FOOT], "the other leg stays");
        }
        // A straight leg asked to shorten bends its knee the natural way: the shin swings back
        // (-Z), never forward or sideways.
        anim.frames[0].rotations[J::LEFT_LEG] = Quat::IDENTITY;
        let mut lifted = anim.clone();
        move_foot(&mut lifted, 0, 0, [0.0, 2.0, 0.0]);
        let p = lifted.world_positions(&lifted.frames[0]);
        let shin = sub(p[J::LEFT_FOOT], p[J::LEFT_LEG]);
        let thigh = sub(p[J::LEFT_LEG], p[J::LEFT_UP_LEG]);
        assert!(
            shin[2] < thigh[2],
            "the knee bent backward: thigh {thigh:?}, shin {shin:?}"
        );
        assert!(shin[0].abs() < 1e-3, "the knee bent sideways: {shin:?}");
        let straight = anim.clone();
        move_foot(&mut anim, 0, 0, [0.0, -20.0, 0.0]);
        let p = anim.world_positions(&anim.frames[0]);
        let q = straight.world_positions(&straight.frames[0]);
        assert!(
            p[J::LEFT_FOOT][1] >= q[J::LEFT_FOOT][1] - 0.01,
            "a straight leg cannot reach further"
        );
    }
}
