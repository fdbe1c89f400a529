//! Retargeting any BVH onto the engine's 22-joint skeleton (api-contract §9.4), so that official
//! motions come in the same files as motions extracted from videos.
//!
//! The source is read as the engine reads a video: its joints give, frame by frame, BlazePose's
//! 33 landmarks (in the engine's axes, after [`Bvh::normalization`]), and the video solver's own
//! rig ([`rig::measure`], [`rig::build_skeleton`], and the posing of every frame) turns them into
//! the animation. Landmarks that no joint gives (the face, the hands' knuckles, heels and toe
//! tips) ride on the nearest joint: an offset measured in the clip's first frame, scaled by the
//! skeleton's height, turned by that joint's world rotation in each frame, so that head turns,
//! hand twists and foot pitch survive.

use super::Bvh;
use super::Normalization;
use super::fk::{Mat3, add3, mat_vec, transpose};
use crate::animation::math::{
    Quat, Vec3, add, any_perpendicular, cross, dot, midpoint, normalize_or, reject, scale, sub,
};
use crate::animation::{Animation, joint as J};
use crate::solve::rig::{self, HintSource, lm};
use crate::types::NUM_LANDMARKS;

/// A source clip on the engine's skeleton, with what it was solved from.
#[derive(Clone, Debug)]
pub struct Retargeted {
    /// The 22-joint animation: Y up, cm, T-pose rest facing +Z, on the floor at Y = 0
    /// ([`place_at_origin_on_floor`]),
    /// starting over the origin.
    pub animation: Animation,
    /// Per frame, the 33 landmarks the animation was solved from, where the animation is (cm).
    pub landmarks: Vec<[Vec3; NUM_LANDMARKS]>,
    /// The source's normalisation; a normalised source point plus [`Retargeted::shift`] is in
    /// the animation's place.
    pub normalization: Normalization,
    pub shift: Vec3,
}

/// The source's skeleton lacks joints the landmarks need.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error(
    "the BVH skeleton cannot be retargeted onto the 22-joint skeleton: no joint found for {}",
    .missing.join(", ")
)]
pub struct UnmatchedSkeleton {
    /// The body parts not found, e.g. `left knee (LeftLeg, LeftKnee, …)`.
    pub missing: Vec<String>,
}

/// How a clip's joints are read into the rig: as retargeting reads them now
/// ([`Reading::CURRENT`]), or as an earlier catalog build format did, to recognise its files
/// ([`crate::catalog::is_build_in_format`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reading {
    /// How the limb hints are averaged over time.
    pub hints: HintSource,
    /// Where the knuckles put the thumb in the clip's first frame.
    pub thumbs: ThumbSide,
}

impl Reading {
    pub const CURRENT: Reading = Reading {
        hints: HintSource::Exact,
        thumbs: ThumbSide::Untwisted,
    };
}

/// Where the thumb faces in a clip's first frame: no source joint says where a palm faces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThumbSide {
    /// Toward the body's front, however the elbow is bent (build formats 2 and 3).
    BodyFront,
    /// Where it is on a forearm untwisted from its upper arm ([`untwisted_thumb_side`]).
    Untwisted,
}

impl Bvh {
    /// The clip on the engine's skeleton (see the module's documentation).
    pub fn retarget(&self) -> Result<Retargeted, UnmatchedSkeleton> {
        self.retarget_reading(Reading::CURRENT)
    }

    /// [`Bvh::retarget`] with the joints read as `reading` says.
    pub fn retarget_reading(&self, reading: Reading) -> Result<Retargeted, UnmatchedSkeleton> {
        let body = BodyJoints::find(self)?;
        let normalization = self.normalization();
        let height = normalization.height_file_units;
        let sources = LandmarkSources::new(self, &body, height, reading.thumbs);
        let mut landmarks: Vec<[Vec3; NUM_LANDMARKS]> = (0..self.frame_count())
            .map(|f| sources.place(self, f, &normalization))
            .collect();
        let mut animation = solve_landmarks(&landmarks, self.frame_time_s, reading.hints);
        let shift = place_at_origin_on_floor(&mut animation);
        for frame in &mut landmarks {
            frame.iter_mut().for_each(|p| *p = add(*p, shift));
        }
        Ok(Retargeted {
            animation,
            landmarks,
            normalization,
            shift,
        })
    }
}

/// The video solver's rig on landmarks that are exact: every one seen, none smoothed, their
/// limb hints read as `hints` says, the root at the hips' midpoint.
fn solve_landmarks(
    points: &[[Vec3; NUM_LANDMARKS]],
    frame_time_s: f64,
    hints: HintSource,
) -> Animation {
    let hip_centres: Vec<Vec3> = points
        .iter()
        .map(|p| midpoint(p[lm::LEFT_HIP], p[lm::RIGHT_HIP]))
        .collect();
    let centred: Vec<[Vec3; NUM_LANDMARKS]> = points
        .iter()
        .zip(&hip_centres)
        .map(|(p, c)| p.map(|q| sub(q, *c)))
        .collect();
    let weights = vec![[1.0f32; NUM_LANDMARKS]; points.len()];
    let skeleton = rig::build_skeleton(&rig::measure(&centred, &weights));
    let times: Vec<f64> = (0..points.len()).map(|i| i as f64 * frame_time_s).collect();
    // The poser places the root at a camera-space position (MediaPipe axes) plus the hips.
    let roots: Vec<Vec3> = hip_centres
        .iter()
        .map(|c| crate::solve::anim_to_mp(*c))
        .collect();
    // Motion capture sees every joint clearly.
    let clear = vec![[1.0; NUM_LANDMARKS]; centred.len()];
    let seen = (times.as_slice(), clear.as_slice(), hints);
    let frames = crate::solve::posed_frames(&centred, seen, &roots, &skeleton);
    let mut animation = Animation {
        skeleton,
        frame_time_s,
        frames,
    };
    animation.enforce_quaternion_continuity();
    animation
}

/// The share of a clip's frames whose lowest point may lie under the floor
/// ([`place_at_origin_on_floor`]).
const FRAMES_UNDER_FLOOR: f64 = 0.1;

/// Moves the clip to start over the origin (X and Z) and onto the floor (Y = 0), and returns the
/// move. The floor is where the clip's frames have their lowest point (a joint or an end site: a
/// toe tip, a hand on the ground), all but the lowest tenth of them: the source's own floor is
/// not the engine skeleton's (its feet end elsewhere: 3 cm under it in some clips, 3 cm above it
/// in others), and a toe that dips through the floor for a few frames, as mocap's do (CMU
/// 131_02: 7 cm in frame 178), must not lift the rest of the clip off it (by 10 cm).
fn place_at_origin_on_floor(animation: &mut Animation) -> Vec3 {
    let Some(first) = animation.frames.first() else {
        return [0.0; 3];
    };
    let start = animation.world_positions(first)[J::HIPS];
    crate::solve::start_at_origin(animation);
    let mut lowest_points = animation.lowest_points();
    lowest_points.sort_by(f32::total_cmp);
    let at = (lowest_points.len() as f64 * FRAMES_UNDER_FLOOR) as usize;
    let lowest = lowest_points[at.min(lowest_points.len() - 1)];
    for frame in &mut animation.frames {
        frame.root_translation[1] -= lowest;
    }
    [-start[0], -lowest, -start[2]]
}

/// Names tried for each body part, after a side's prefix ([`SIDES`]), in order (case aside):
/// the Mixamo/MotionBuilder names first, then cgspeed's "max" names (where `LeftShoulder` is the
/// upper arm, not the collar bone), then other common ones (Daz/Poser's `lShldr`, `lShin`; 3ds
/// Max Biped's `Bip01 L Calf`).
const SHOULDER: &[&str] = &["Arm", "UpperArm", "UpArm", "Shldr", "Shoulder"];
const ELBOW: &[&str] = &["ForeArm", "Elbow", "LowerArm", "LowArm"];
const WRIST: &[&str] = &["Wrist", "Hand"];
const HIP: &[&str] = &["UpLeg", "Thigh", "UpperLeg", "Hip"];
const KNEE: &[&str] = &["Leg", "Knee", "Shin", "Calf", "LowerLeg", "LowLeg"];
const ANKLE: &[&str] = &["Ankle", "Foot"];
const TOE: &[&str] = &["ToeBase", "Toe", "Toes", "Toe0"];
/// The prefixes of a side's joint names, [left, right], tried in order: one rig's names are
/// all of one family (3ds Max names its Biped `Bip001` since 2009, `Bip01` before).
const SIDES: [[&str; 2]; 6] = [
    ["Left", "Right"],
    ["Left_", "Right_"],
    ["L_", "R_"],
    ["l", "r"],
    ["Bip01 L ", "Bip01 R "],
    ["Bip001 L ", "Bip001 R "],
];
const HEAD: &[&str] = &["Head", "Bip01 Head", "Bip001 Head"];

/// The source joints at BlazePose's body landmarks, [left, right] where paired.
#[derive(Clone, Debug)]
struct BodyJoints {
    head: usize,
    shoulders: [usize; 2],
    elbows: [usize; 2],
    wrists: [usize; 2],
    hips: [usize; 2],
    knees: [usize; 2],
    ankles: [usize; 2],
    toes: [Option<usize>; 2],
}

impl BodyJoints {
    fn find(bvh: &Bvh) -> Result<Self, UnmatchedSkeleton> {
        let mut missing = Vec::new();
        let mut sided = |part: &str, names: &[&str]| {
            [0, 1].map(|k| {
                let found = find_sided(bvh, k, names);
                if found.is_none() {
                    let side = SIDES[0][k];
                    let tried: Vec<String> = names.iter().map(|n| format!("{side}{n}")).collect();
                    let side = side.to_ascii_lowercase();
                    missing.push(format!("{side} {part} ({}, …)", tried.join(", ")));
                }
                found.unwrap_or(0)
            })
        };
        let shoulders = sided("shoulder", SHOULDER);
        let elbows = sided("elbow", ELBOW);
        let wrists = sided("wrist", WRIST);
        let hips = sided("hip", HIP);
        let knees = sided("knee", KNEE);
        let ankles = sided("ankle", ANKLE);
        let head = HEAD.iter().find_map(|n| bvh.find_joint(n));
        if head.is_none() {
            missing.push(format!("head ({})", HEAD.join(", ")));
        }
        if !missing.is_empty() {
            return Err(UnmatchedSkeleton { missing });
        }
        let toes = [0, 1].map(|k| find_sided(bvh, k, TOE));
        Ok(BodyJoints {
            head: head.unwrap_or(0),
            shoulders,
            elbows,
            wrists,
            hips,
            knees,
            ankles,
            toes,
        })
    }
}

/// The first joint of side `k` (0 left, 1 right) named by a prefix of [`SIDES`] and one of
/// `names`, prefixes first.
fn find_sided(bvh: &Bvh, k: usize, names: &[&str]) -> Option<usize> {
    SIDES.iter().find_map(|prefixes| {
        names
            .iter()
            .find_map(|n| bvh.find_joint(&format!("{}{n}", prefixes[k])))
    })
}

/// Where one landmark comes from.
#[derive(Clone, Copy, Debug, PartialEq)]
enum LandmarkSource {
    Joint(usize),
    /// A point fixed to a joint: `offset` in the joint's own axes (file units), so
    /// turned by the joint's world rotation in each frame.
    Attached {
        anchor: usize,
        offset: [f64; 3],
    },
}

/// Face points relative to the `Head` joint as fractions of the standing height, along the
/// head's (up, forward, left) axes in the first frame: an adult's proportions (ears ~15 cm
/// apart, the nose ~10 cm before them).
const FACE: [(usize, [f32; 3]); 11] = [
    (0, [0.045, 0.06, 0.0]),
    (1, [0.06, 0.052, 0.01]),
    (2, [0.06, 0.05, 0.018]),
    (3, [0.06, 0.046, 0.026]),
    (4, [0.06, 0.052, -0.01]),
    (5, [0.06, 0.05, -0.018]),
    (6, [0.06, 0.046, -0.026]),
    (lm::LEFT_EAR, [0.04, 0.0, 0.044]),
    (lm::RIGHT_EAR, [0.04, 0.0, -0.044]),
    (9, [0.02, 0.05, 0.014]),
    (10, [0.02, 0.05, -0.014]),
];

/// Knuckles relative to the wrist as fractions of the standing height, along the forearm and
/// toward the thumb side: [pinky, index, thumb] (BlazePose's 17/18, 19/20, 21/22).
const HAND: [[f32; 2]; 3] = [[0.045, -0.02], [0.05, 0.012], [0.025, 0.03]];

/// The heel lies this far behind the ankle (fraction of the height); its height is the
/// ankle's over the toe tip in the first frame, within [`SOLE_DROP`].
const HEEL_BACK: f32 = 0.035;
const SOLE_DROP: [f32; 2] = [0.02, 0.07];
/// Toe tips where the source has no end site: past a toe joint, or, without one, ahead of the
/// ankle and on the sole.
const TOE_PAST_TOE_JOINT: f32 = 0.03;
const TOE_AHEAD_OF_ANKLE: f32 = 0.12;

/// Where each of the 33 landmarks comes from, for one source skeleton.
struct LandmarkSources {
    sources: [LandmarkSource; NUM_LANDMARKS],
}

/// The pose the attached points are measured in: the clip's first frame (file units and
/// axes), where recordings stand. Not the rest pose: rigs disagree on it (Rokoko's lays every
/// bone along +X, its feet in line with the shins), while the first frame is a body.
struct Reference {
    positions: Vec<Vec3>,
    rotations: Vec<Mat3>,
    up: Vec3,
    forward: Vec3,
    left: Vec3,
}

impl Reference {
    fn of(bvh: &Bvh, body: &BodyJoints) -> Self {
        let (positions, rotations) = bvh.world_pose(0);
        let positions: Vec<Vec3> = positions.iter().map(|p| p.map(|v| v as f32)).collect();
        let hip_c = midpoint(positions[body.hips[0]], positions[body.hips[1]]);
        let up = normalize_or(sub(positions[body.head], hip_c), [0.0, 1.0, 0.0]);
        let across = reject(sub(positions[body.hips[0]], positions[body.hips[1]]), up);
        let left = normalize_or(across, any_perpendicular(up));
        let forward = cross(left, up);
        Reference {
            positions,
            rotations,
            up,
            forward,
            left,
        }
    }

    /// A direction in the body's axes: `(up, forward, left)` scaled by `size`.
    fn along(&self, v: [f32; 3], size: f32) -> Vec3 {
        let (u, f, l) = (self.up, self.forward, self.left);
        scale(
            add(add(scale(u, v[0]), scale(f, v[1])), scale(l, v[2])),
            size,
        )
    }

    /// The point `offset` (world axes, in this pose) away from joint `anchor`, fixed to it.
    fn attach(&self, anchor: usize, offset: Vec3) -> LandmarkSource {
        LandmarkSource::Attached {
            anchor,
            offset: self.local(anchor, offset),
        }
    }

    /// `offset` (world axes, in this pose) in joint `anchor`'s own axes.
    fn local(&self, anchor: usize, offset: Vec3) -> [f64; 3] {
        mat_vec(&transpose(&self.rotations[anchor]), offset.map(f64::from))
    }

    /// Where a point `local` to joint `anchor` (an end site) is in this pose.
    fn place(&self, anchor: usize, local: [f64; 3]) -> Vec3 {
        let turned = mat_vec(&self.rotations[anchor], local).map(|v| v as f32);
        add(self.positions[anchor], turned)
    }
}

impl LandmarkSources {
    fn new(bvh: &Bvh, body: &BodyJoints, height: f64, thumbs: ThumbSide) -> Self {
        let pose = Reference::of(bvh, body);
        let size = height as f32;
        let mut sources = [LandmarkSource::Joint(0); NUM_LANDMARKS];
        for (k, v) in FACE {
            sources[k] = pose.attach(body.head, pose.along(v, size));
        }
        for s in 0..2 {
            sources[lm::LEFT_SHOULDER + s] = LandmarkSource::Joint(body.shoulders[s]);
            sources[lm::LEFT_ELBOW + s] = LandmarkSource::Joint(body.elbows[s]);
            sources[lm::LEFT_WRIST + s] = LandmarkSource::Joint(body.wrists[s]);
            sources[lm::LEFT_HIP + s] = LandmarkSource::Joint(body.hips[s]);
            sources[lm::LEFT_KNEE + s] = LandmarkSource::Joint(body.knees[s]);
            sources[lm::LEFT_ANKLE + s] = LandmarkSource::Joint(body.ankles[s]);
            let arm = [body.shoulders[s], body.elbows[s], body.wrists[s]];
            let hand = hand_sources(&pose, arm, thumbs, size);
            for (k, source) in [lm::LEFT_PINKY, lm::LEFT_INDEX, 21].into_iter().zip(hand) {
                sources[k + s] = source;
            }
            let (heel, toe) = foot_sources(bvh, &pose, (body.ankles[s], body.toes[s]), size);
            sources[lm::LEFT_HEEL + s] = heel;
            sources[lm::LEFT_FOOT_INDEX + s] = toe;
        }
        LandmarkSources { sources }
    }

    /// The 33 landmarks of frame `f`, normalised (cm, Y up, facing +Z, floor at 0).
    fn place(&self, bvh: &Bvh, f: usize, n: &Normalization) -> [Vec3; NUM_LANDMARKS] {
        let (positions, rotations) = bvh.world_pose(f);
        self.sources.map(|source| {
            let p = match source {
                LandmarkSource::Joint(i) => positions[i],
                LandmarkSource::Attached { anchor, offset } => {
                    add3(positions[anchor], mat_vec(&rotations[anchor], offset))
                }
            };
            n.apply(p).map(|v| v as f32)
        })
    }
}

/// Pinky, index and thumb knuckles on the wrist of arm `[shoulder, elbow, wrist]`: along the
/// forearm, the thumb on the side `thumbs` says.
fn hand_sources(
    pose: &Reference,
    [shoulder, elbow, wrist]: [usize; 3],
    thumbs: ThumbSide,
    size: f32,
) -> [LandmarkSource; 3] {
    let at = |j: usize| pose.positions[j];
    let upper = normalize_or(sub(at(elbow), at(shoulder)), scale(pose.up, -1.0));
    let along = normalize_or(sub(at(wrist), at(elbow)), upper);
    let thumb_side = match thumbs {
        ThumbSide::BodyFront => normalize_or(reject(pose.forward, along), pose.forward),
        ThumbSide::Untwisted => untwisted_thumb_side(upper, along, pose.forward),
    };
    HAND.map(|[a, t]| {
        let offset = add(scale(along, a * size), scale(thumb_side, t * size));
        pose.attach(wrist, offset)
    })
}

/// Where the thumb of a forearm pointing `along` (unit) from an upper arm pointing `upper` (unit)
/// faces when the forearm is not twisted, as the video solver's rig measures a twist (from its
/// elbow's hinge): the bend carries the thumb from the upper arm's front into the bend plane, on
/// the shoulder's side of the forearm (a forearm held forward at a right angle has its thumb
/// up). An arm bent too little to show its plane has it toward the body's `forward` (an arm at
/// the side faces the thigh, a T-pose's palm faces down); between the two bends the thumb turns
/// from one to the other. A source says nothing of its palms, so its forearms are taken as
/// untwisted in its first frame, where recordings stand. Taking the body's front for a bent
/// elbow too put the thumb of a forearm held across the belly 87° from untwisted, and the
/// forearm twisted up to 174° (the mocapbank clip).
fn untwisted_thumb_side(upper: Vec3, along: Vec3, forward: Vec3) -> Vec3 {
    let straight = normalize_or(reject(forward, along), any_perpendicular(along));
    let bent = dot(upper, along).clamp(-1.0, 1.0).acos();
    let weight =
        ((bent - PLANE_SHOWN_FROM) / (PLANE_CLEAR_FROM - PLANE_SHOWN_FROM)).clamp(0.0, 1.0);
    if weight == 0.0 {
        return straight;
    }
    let hinged = normalize_or(reject(scale(upper, -1.0), along), straight);
    let turn = dot(cross(straight, hinged), along).atan2(dot(straight, hinged));
    Quat::from_axis_angle(along, turn * weight).rotate(straight)
}

/// Elbow bends (radians) from which the bend plane starts to place the thumb, and from which
/// it alone places it ([`untwisted_thumb_side`]).
const PLANE_SHOWN_FROM: f32 = 15.0 * std::f32::consts::PI / 180.0;
const PLANE_CLEAR_FROM: f32 = 35.0 * std::f32::consts::PI / 180.0;

/// Heel and toe tip of one foot. The toe tip is the toe joint's end site where there is one;
/// the heel sits behind the ankle, as low as the toe tip (on the sole of a foot standing flat).
fn foot_sources(
    bvh: &Bvh,
    pose: &Reference,
    (ankle, toe): (usize, Option<usize>),
    size: f32,
) -> (LandmarkSource, LandmarkSource) {
    let end_site = |j: usize| bvh.joints[j].end_sites.first().copied();
    let (anchor, offset) = match (toe, toe.and_then(end_site), end_site(ankle)) {
        (Some(t), Some(local), _) => (t, local),
        (Some(t), None, _) => (
            t,
            pose.local(t, scale(pose.forward, TOE_PAST_TOE_JOINT * size)),
        ),
        (None, _, Some(local)) => (ankle, local),
        (None, _, None) => {
            let ahead = pose.along([-SOLE_DROP[0], TOE_AHEAD_OF_ANKLE, 0.0], size);
            (ankle, pose.local(ankle, ahead))
        }
    };
    let toe_tip = LandmarkSource::Attached { anchor, offset };
    let to_toe = sub(pose.place(anchor, offset), pose.positions[ankle]);
    let foot_forward = normalize_or(reject(to_toe, pose.up), pose.forward);
    let drop = (-dot(to_toe, pose.up)).clamp(SOLE_DROP[0] * size, SOLE_DROP[1] * size);
    let heel = add(
        scale(pose.up, -drop),
        scale(foot_forward, -HEEL_BACK * size),
    );
    (pose.attach(ankle, heel), toe_tip)
}

#[cfg(test)]
mod tests {
    const NO_KNEES: &str = "HIERARCHY
ROOT Hips
{
\tOFFSET 0 0 0
\tCHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
\tJOINT Head
\t{
\t\tOFFSET 0 60 0
\t\tCHANNELS 3 Zrotation Yrotation Xrotation
\t\tEnd Site
\t\t{
\t\t\tOFFSET 0 20 0
\t\t}
\t}
}
MOTION
Frames: 1
Frame Time: 0.0333333
0 90 0 0 0 0 0 0 0
";

    use super::untwisted_thumb_side;
    use crate::animation::math::{dot, normalize_or};

    const FORWARD: [f32; 3] = [0.0, 0.0, 1.0];
    const DOWN: [f32; 3] = [0.0, -1.0, 0.0];

    fn degrees_between(a: [f32; 3], b: [f32; 3]) -> f32 {
        dot(a, b).clamp(-1.0, 1.0).acos().to_degrees()
    }

    #[test]
    fn an_untwisted_forearm_s_thumb_is_up_when_held_forward_and_forward_when_hanging() {
        // A forearm held forward at a right angle from a hanging upper arm: thumb up.
        let up = untwisted_thumb_side(DOWN, FORWARD, FORWARD);
        assert!(degrees_between(up, [0.0, 1.0, 0.0]) < 0.1, "{up:?}");
        // A straight hanging arm, and a T-pose's: thumb toward the front.
        let hanging = untwisted_thumb_side(DOWN, DOWN, FORWARD);
        assert!(degrees_between(hanging, FORWARD) < 0.1, "{hanging:?}");
        let t_pose = untwisted_thumb_side([1.0, 0.0, 0.0], [1.0, 0.0, 0.0], FORWARD);
        assert!(degrees_between(t_pose, FORWARD) < 0.1, "{t_pose:?}");
        // A forearm across the belly (the mocapbank clip's first frame): up and toward the
        // shoulder, square to the forearm, not the body's front.
        let across = normalize_or([-0.57, -0.74, 0.35], DOWN);
        let upper = normalize_or([0.2, -1.0, -0.1], DOWN);
        let thumb = untwisted_thumb_side(upper, across, FORWARD);
        assert!(dot(thumb, across).abs() < 1e-5);
        assert!(dot(thumb, upper) < -0.5, "{thumb:?}");
    }

    /// Bent across the body, where the bend plane and the body's front put the thumb a quarter
    /// turn apart: the thumb turns from one to the other without a jump.
    #[test]
    fn the_thumb_turns_gradually_as_the_elbow_bends() {
        let mut last = untwisted_thumb_side(DOWN, DOWN, FORWARD);
        for degrees in 1..=90 {
            let bent = (degrees as f32).to_radians();
            let fore = [bent.sin(), -bent.cos(), 0.0];
            let thumb = untwisted_thumb_side(DOWN, fore, FORWARD);
            assert!((dot(thumb, thumb) - 1.0).abs() < 1e-5);
            assert!(degrees_between(last, thumb) < 6.0, "{degrees}°: {thumb:?}");
            last = thumb;
        }
        assert!(degrees_between(last, [0.0, 1.0, 0.0]) < 0.1, "{last:?}");
    }

    #[test]
    fn a_skeleton_without_limbs_is_refused_naming_what_is_missing() {
        let bvh = crate::bvh::parse(NO_KNEES.as_bytes()).unwrap();
        let err = bvh.retarget().unwrap_err();
        let text = err.to_string();
        assert!(text.contains("left knee (LeftLeg, LeftKnee"), "{text}");
        assert!(text.contains("right wrist"), "{text}");
        assert!(!text.contains("head"), "the head is there: {text}");
        assert_eq!(err.missing.len(), 12, "{text}");
    }
}
