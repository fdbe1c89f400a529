//! Levelling: the camera's pitch and roll taken out of the motion.
//!
//! MediaPipe's world landmarks are in the camera's axes (more exactly, those of the view toward
//! the person: BlazePose sees them through a crop), and the solve takes the image's up for the
//! world's up. A camera looking down at the performer (on a tripod at head height, in a corner of
//! a room, a phone held high) therefore tilts the whole animation toward it: a person standing
//! straight leans toward the camera by the pitch at which it sees them, and walks on a floor
//! that slopes.
//!
//! Standing frames tell the pitch. A standing body's centre of mass is above the feet that
//! carry it, so in each frame where both feet are clearly seen and the trunk is upright, the
//! direction from the feet on the floor to the body's centre is the world's up in camera axes;
//! its tilt about the camera's x axis is the pitch. The median over the clip (pulled toward level
//! when few frames show it, and never past [`MAX_PITCH_DEG`]) is taken out of the world
//! landmarks and the person's camera-space positions alike (a turn about the camera), so the
//! pose keeps projecting onto the video.
//!
//! The same frames tell the camera's roll about its line of sight (a phone held askew, a camera
//! on a slope: pose2sim's cam04 is rolled 26°), which otherwise tilts the floor sideways: one
//! foot floats while the other is planted, and the body leans. Balance, not posture, says where
//! up is, so a performer leaning on one leg does not read as a rolled camera; but a body in
//! motion (a throw, a dance on one leg) is not balanced over its feet, so the roll is taken out
//! only where the standing frames agree on it ([`MAX_ROLL_SPREAD_DEG`]), and only what exceeds
//! the rolls such bodies read under level cameras ([`ROLL_DEADBAND_DEG`]): a clearly rolled
//! camera is mostly levelled, and a level one is left as it was.

use crate::animation::math::{
    Quat, Vec3, add, dot, lerp, mean, midpoint, normalize_or, scale, sub,
};
use crate::types::{NUM_LANDMARKS, PoseFrame};

use super::rig::lm;
use super::{FEET, Tracks, landmark_weight, visibility_in_view};

/// Pitches beyond this are not believed: a camera that steep looks down on the top of the head
/// and BlazePose is not made for it, so the gates must have let a lying or bent pose through.
const MAX_PITCH_DEG: f32 = 35.0;

/// Seconds of standing at which the clip's estimate counts half; less pulls it toward level, so
/// a clip with a few upright moments among crawling or rolling is turned only part of the way
/// (a second counts 87%). Time, not frames: neighbouring frames of a 60 fps clip are no more
/// independent than those at 30.
const HALF_TRUST_S: f32 = 0.15;

/// The most the support→centre direction may lean from the image's up in a frame that counts
/// (beyond [`MAX_PITCH_DEG`], with room for a frame's noise).
const MAX_UP_FROM_IMAGE_UP_DEG: f32 = 45.0;

/// The most the trunk may lean from the support→centre direction in a frame that counts: a
/// bow, a squat or a push-up keeps its balance with the trunk far off the vertical.
const MAX_TRUNK_LEAN_DEG: f32 = 20.0;

/// A foot whose lowest point is within this height (m) of the other's carries the body too.
const SUPPORT_BAND_M: f32 = 0.1;

/// The body's segments as BlazePose sees them, for its centre of mass: each is a point a
/// fraction of the way from one landmark to another, with its share of the body's mass (a
/// standard anthropometric table, after Dempster as tabulated by Winter). The trunk's centre is
/// that of its four corners, split over two diagonals; the head's is the ears' midpoint.
const SEGMENTS: [(usize, usize, f32, f32); 15] = [
    (lm::LEFT_EAR, lm::RIGHT_EAR, 0.5, 0.081),
    (lm::LEFT_SHOULDER, lm::RIGHT_HIP, 0.5, 0.2485),
    (lm::RIGHT_SHOULDER, lm::LEFT_HIP, 0.5, 0.2485),
    (lm::LEFT_SHOULDER, lm::LEFT_ELBOW, 0.436, 0.028),
    (lm::RIGHT_SHOULDER, lm::RIGHT_ELBOW, 0.436, 0.028),
    (lm::LEFT_ELBOW, lm::LEFT_WRIST, 0.43, 0.016),
    (lm::RIGHT_ELBOW, lm::RIGHT_WRIST, 0.43, 0.016),
    (lm::LEFT_WRIST, lm::LEFT_INDEX, 0.5, 0.006),
    (lm::RIGHT_WRIST, lm::RIGHT_INDEX, 0.5, 0.006),
    (lm::LEFT_HIP, lm::LEFT_KNEE, 0.433, 0.1),
    (lm::RIGHT_HIP, lm::RIGHT_KNEE, 0.433, 0.1),
    (lm::LEFT_KNEE, lm::LEFT_ANKLE, 0.433, 0.0465),
    (lm::RIGHT_KNEE, lm::RIGHT_ANKLE, 0.433, 0.0465),
    (lm::LEFT_HEEL, lm::LEFT_FOOT_INDEX, 0.5, 0.0145),
    (lm::RIGHT_HEEL, lm::RIGHT_FOOT_INDEX, 0.5, 0.0145),
];

/// Rolls beyond this are not believed (degrees), as [`MAX_PITCH_DEG`] for pitch.
const MAX_ROLL_DEG: f32 = 35.0;

/// The most the standing frames' rolls may spread (their interquartile range, degrees) for the
/// clip's roll to be taken out: off balance, a body's centre is anywhere over its feet.
const MAX_ROLL_SPREAD_DEG: f32 = 12.0;

/// The part of a roll (degrees) left in: the standing frames of clips filmed by level cameras
/// read up to 9° of roll that is not there (a thrower; a dancer on one leg 7°), those of cam04
/// (rolled 26°) 24°.
const ROLL_DEADBAND_DEG: f32 = 8.0;

/// How the camera is turned from level (radians), as the clip's standing frames show it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CameraTilt {
    /// Positive looking down.
    pub pitch: f32,
    /// About the line of sight, positive where the world's up leans toward the image's right.
    pub roll: f32,
}

impl CameraTilt {
    pub const LEVEL: CameraTilt = CameraTilt {
        pitch: 0.0,
        roll: 0.0,
    };

    /// The turn from the camera's axes to level ones, in MediaPipe's axes (x right, y down,
    /// z away): the roll taken out about the line of sight, then the pitch about the camera's
    /// x axis.
    pub fn to_level(self) -> Quat {
        let unrolled = Quat::from_axis_angle([0.0, 0.0, 1.0], -self.roll);
        Quat::from_axis_angle([1.0, 0.0, 0.0], -self.pitch).compose(unrolled)
    }
}

/// The camera's tilt from the clip's standing frames: `world` holds hip-centred landmarks in
/// MediaPipe axes (x right, y down, z away), `weights` their per-frame weights, on frames `fps`
/// per second (taken as at least 1).
pub fn estimate_tilt(
    world: &[[Vec3; NUM_LANDMARKS]],
    weights: &[[f32; NUM_LANDMARKS]],
    fps: f64,
) -> CameraTilt {
    let ups: Vec<Vec3> = world
        .iter()
        .zip(weights)
        .filter_map(|(p, w)| up_if_standing(p, w))
        .collect();
    if ups.is_empty() {
        return CameraTilt::LEVEL;
    }
    let standing_s = (ups.len() as f64 / fps.max(1.0)) as f32;
    let trust = standing_s / (standing_s + HALF_TRUST_S);
    // The roll is the up's lean in the image; the pitch is its lean toward the camera once the
    // roll that is taken out is undone (none undone: the pitch that best levels a clip whose
    // roll stays in).
    let mut rolls: Vec<f32> = ups.iter().map(|u| u[0].atan2(-u[1])).collect();
    let roll = if spread(&mut rolls) <= MAX_ROLL_SPREAD_DEG.to_radians() {
        let deadband = ROLL_DEADBAND_DEG.to_radians();
        let trusted = median(&mut rolls) * trust;
        let max = MAX_ROLL_DEG.to_radians();
        (trusted - trusted.clamp(-deadband, deadband)).clamp(-max, max)
    } else {
        0.0
    };
    let unrolled = CameraTilt { pitch: 0.0, roll }.to_level();
    let mut pitches: Vec<f32> = ups
        .iter()
        .map(|&u| unrolled.rotate(u))
        .map(|u| (-u[2]).atan2(-u[1]))
        .collect();
    let max = MAX_PITCH_DEG.to_radians();
    let pitch = (median(&mut pitches) * trust).clamp(-max, max);
    CameraTilt { pitch, roll }
}

/// The middle value of `values` (not empty), which it sorts.
fn median(values: &mut [f32]) -> f32 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

/// The interquartile range of `values` (not empty), which it sorts.
fn spread(values: &mut [f32]) -> f32 {
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    values[(3 * n / 4).min(n - 1)] - values[n / 4]
}

/// [`estimate_tilt`] from the pose model's own frames, before any smoothing: what the facing
/// correction turns its stretches about (the world's vertical), which must be known before the
/// landmarks are smoothed. Frames whose labels the model flipped tilt the other way; they are
/// few and short, and the median passes over them.
pub fn estimate_tilt_of_poses(frames: &[PoseFrame], fps: f64) -> CameraTilt {
    let (world, weights): (Vec<[Vec3; NUM_LANDMARKS]>, Vec<[f32; NUM_LANDMARKS]>) = frames
        .iter()
        .filter_map(|f| f.pose.as_ref())
        .map(|pose| {
            (
                pose.world.map(|l| [l.x, l.y, l.z]),
                pose.image.map(|l| landmark_weight(visibility_in_view(&l))),
            )
        })
        .unzip();
    estimate_tilt(&world, &weights, fps)
}

/// The world's up in camera axes, from one frame of a person standing with both feet seen;
/// `None` for any other frame.
fn up_if_standing(p: &[Vec3; NUM_LANDMARKS], w: &[f32; NUM_LANDMARKS]) -> Option<Vec3> {
    let seen = landmark_weight(0.5);
    let mut needed = FEET.as_flattened().iter().chain(&[
        lm::LEFT_SHOULDER,
        lm::RIGHT_SHOULDER,
        lm::LEFT_HIP,
        lm::RIGHT_HIP,
    ]);
    if needed.any(|&k| w[k] < seen) || !p.as_flattened().iter().all(|v| v.is_finite()) {
        return None;
    }
    let centre = centre_of_mass(p);
    let trunk = normalize_or(
        sub(
            midpoint(p[lm::LEFT_SHOULDER], p[lm::RIGHT_SHOULDER]),
            midpoint(p[lm::LEFT_HIP], p[lm::RIGHT_HIP]),
        ),
        [0.0, -1.0, 0.0],
    );
    // Which feet carry the body depends on which way is up, and up is what is sought: start
    // from the trunk's up (an upright trunk is nearer the vertical than the image's up of a
    // pitched camera, which puts the front foot of a step far below the back one) and settle
    // it in a few rounds.
    let mut up = trunk;
    for _ in 0..3 {
        up = normalize_or(sub(centre, support(p, up)), up);
    }
    let within = |a: Vec3, b: Vec3, deg: f32| dot(a, b) >= deg.to_radians().cos();
    (within(up, [0.0, -1.0, 0.0], MAX_UP_FROM_IMAGE_UP_DEG)
        && within(trunk, up, MAX_TRUNK_LEAN_DEG))
    .then_some(up)
}

/// The body's centre of mass: what stands balanced over the feet (the plain mean of the
/// landmarks is a third face and a quarter hands). The masses in [`SEGMENTS`] add up to 1.
fn centre_of_mass(p: &[Vec3; NUM_LANDMARKS]) -> Vec3 {
    SEGMENTS.iter().fold([0.0; 3], |sum, &(a, b, t, mass)| {
        add(sum, scale(lerp(p[a], p[b], t), mass))
    })
}

/// The middle of the feet that carry the body (the lower one, and the other when it is about as
/// low), with `up` the world's up in camera axes.
fn support(p: &[Vec3; NUM_LANDMARKS], up: Vec3) -> Vec3 {
    let lowest_of =
        |foot: &[usize; 3]| foot.iter().map(|&k| dot(p[k], up)).fold(f32::MAX, f32::min);
    let lows = FEET.map(|foot| lowest_of(&foot));
    let lowest = lows[0].min(lows[1]);
    let carrying: Vec<Vec3> = FEET
        .iter()
        .zip(lows)
        .filter(|&(_, low)| low <= lowest + SUPPORT_BAND_M)
        .flat_map(|(foot, _)| foot.map(|k| p[k]))
        .collect();
    mean(&carrying)
}

/// Turns the world landmarks (about the hip centre, which stays at the origin) and the person's
/// camera-space positions (about the camera) by `level`.
pub(super) fn level_tracks(level: Quat, tracks: &mut Tracks, root_cam: &mut [Vec3]) {
    for p in tracks.world.as_flattened_mut() {
        *p = level.rotate(*p);
    }
    for root in root_cam.iter_mut() {
        *root = level.rotate(*root);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A person standing straight, feet on the floor, seen by a level camera (MediaPipe axes,
    /// hip-centred, metres), every landmark clearly visible.
    fn standing() -> ([Vec3; NUM_LANDMARKS], [f32; NUM_LANDMARKS]) {
        let mut p = [[0.0, -0.65, 0.0]; NUM_LANDMARKS]; // the head's landmarks
        let pairs = [
            (lm::LEFT_SHOULDER, [0.18, -0.5, 0.0]),
            (lm::LEFT_ELBOW, [0.2, -0.22, 0.0]),
            (lm::LEFT_WRIST, [0.2, 0.05, 0.0]),
            (lm::LEFT_PINKY, [0.2, 0.1, 0.0]),
            (lm::LEFT_INDEX, [0.2, 0.1, 0.0]),
            (lm::LEFT_INDEX + 2, [0.2, 0.08, 0.0]), // the thumb
            (lm::LEFT_HIP, [0.1, 0.0, 0.0]),
            (lm::LEFT_KNEE, [0.1, 0.45, 0.0]),
            (lm::LEFT_ANKLE, [0.1, 0.85, 0.0]),
            // Toes toward the camera (MediaPipe's z points away), balanced over the feet.
            (lm::LEFT_HEEL, [0.1, 0.9, 0.1]),
            (lm::LEFT_FOOT_INDEX, [0.1, 0.9, -0.1]),
        ];
        for (left, q) in pairs {
            p[left] = q;
            p[left + 1] = [-q[0], q[1], q[2]];
        }
        (p, [1.0; NUM_LANDMARKS])
    }

    /// How much an estimate from `frames` standing frames at 30 fps is trusted.
    fn trust(frames: usize) -> f32 {
        let standing_s = frames as f32 / 30.0;
        standing_s / (standing_s + HALF_TRUST_S)
    }

    fn pitched(deg: f32) -> CameraTilt {
        CameraTilt {
            pitch: deg.to_radians(),
            roll: 0.0,
        }
    }

    fn seen_by_camera_pitched(deg: f32, p: &[Vec3; NUM_LANDMARKS]) -> [Vec3; NUM_LANDMARKS] {
        seen_by_camera(pitched(deg), p)
    }

    fn seen_by_camera(tilt: CameraTilt, p: &[Vec3; NUM_LANDMARKS]) -> [Vec3; NUM_LANDMARKS] {
        let to_camera = tilt.to_level().conjugate();
        p.map(|q| to_camera.rotate(q))
    }

    #[test]
    fn the_pitch_of_a_camera_looking_down_on_a_standing_person_is_found_and_taken_out() {
        let (body, w) = standing();
        let frames = vec![seen_by_camera_pitched(20.0, &body); 200];
        let pitch = estimate_tilt(&frames, &vec![w; 200], 30.0).pitch;
        // 6.7 s of evidence: the estimate is trusted to within 3%.
        assert!(trust(200) > 0.97);
        assert!(
            (pitch.to_degrees() - 20.0 * trust(200)).abs() < 0.01,
            "{pitch}"
        );
        let levelled = frames[0].map(|q| pitched(20.0).to_level().rotate(q));
        for (a, b) in levelled.iter().zip(&body) {
            assert!(crate::animation::math::dist(*a, *b) < 1e-5);
        }
    }

    #[test]
    fn a_camera_looking_up_gives_a_negative_pitch() {
        let (body, w) = standing();
        let frames = vec![seen_by_camera_pitched(-10.0, &body); 400];
        let pitch = estimate_tilt(&frames, &vec![w; 400], 30.0)
            .pitch
            .to_degrees();
        assert!((pitch + 10.0 * trust(400)).abs() < 0.01, "{pitch}");
    }

    #[test]
    fn a_bow_or_a_push_up_is_not_taken_for_a_pitched_camera() {
        let (body, w) = standing();
        // Bent at the hips: the trunk leans 60° forward (toward the camera) over straight legs.
        let bow = Quat::from_axis_angle([1.0, 0.0, 0.0], 60f32.to_radians());
        let mut bowing = body;
        for k in 0..=lm::RIGHT_HIP {
            bowing[k] = bow.rotate(body[k]);
        }
        // A push-up seen from the side: the whole body lying along the image's x axis.
        let lying_down = Quat::from_axis_angle([0.0, 0.0, 1.0], 80f32.to_radians());
        let push_up = body.map(|q| lying_down.rotate(q));
        for pose in [bowing, push_up] {
            let pitch = estimate_tilt(&vec![pose; 100], &vec![w; 100], 30.0).pitch;
            assert_eq!(pitch, 0.0);
        }
    }

    #[test]
    fn feet_not_seen_leave_the_clip_level() {
        let (body, mut w) = standing();
        for &k in FEET.as_flattened() {
            w[k] = landmark_weight(0.3);
        }
        let frames = vec![seen_by_camera_pitched(20.0, &body); 100];
        assert_eq!(estimate_tilt(&frames, &vec![w; 100], 30.0).pitch, 0.0);
    }

    #[test]
    fn a_few_standing_frames_turn_the_clip_part_of_the_way_and_nothing_turns_it_past_the_limit() {
        let (body, w) = standing();
        let few = vec![seen_by_camera_pitched(20.0, &body); 2];
        let pitch = estimate_tilt(&few, &vec![w; 2], 30.0).pitch.to_degrees();
        assert!((pitch - 20.0 * trust(2)).abs() < 0.01, "{pitch}");
        assert!(trust(2) < 0.35);
        let steep = vec![seen_by_camera_pitched(42.0, &body); 1000];
        let pitch = estimate_tilt(&steep, &vec![w; 1000], 30.0)
            .pitch
            .to_degrees();
        assert!((pitch - MAX_PITCH_DEG).abs() < 1e-3, "{pitch}");
    }

    #[test]
    fn both_feet_of_a_long_step_carry_the_body_under_a_pitched_camera() {
        let (mut body, w) = standing();
        // The left foot half a metre toward the camera, the right one as far back.
        for (left, right) in [
            (lm::LEFT_ANKLE, lm::RIGHT_ANKLE),
            (lm::LEFT_HEEL, lm::RIGHT_HEEL),
            (lm::LEFT_FOOT_INDEX, lm::RIGHT_FOOT_INDEX),
        ] {
            body[left][2] -= 0.25;
            body[right][2] += 0.25;
        }
        let frames = vec![seen_by_camera_pitched(25.0, &body); 300];
        let pitch = estimate_tilt(&frames, &vec![w; 300], 30.0)
            .pitch
            .to_degrees();
        assert!((pitch - 25.0 * trust(300)).abs() < 0.01, "{pitch}");
    }

    #[test]
    fn frames_with_landmarks_that_are_not_numbers_do_not_count() {
        let (body, w) = standing();
        let mut frames = vec![seen_by_camera_pitched(20.0, &body); 60];
        let mut broken = frames[0];
        broken[lm::LEFT_KNEE] = [f32::NAN, 0.0, f32::INFINITY];
        frames.extend(vec![broken; 100]);
        let pitch = estimate_tilt(&frames, &vec![w; 160], 30.0)
            .pitch
            .to_degrees();
        assert!((pitch - 20.0 * trust(60)).abs() < 0.01, "{pitch}");
    }

    #[test]
    fn a_rolled_camera_s_roll_is_found_and_taken_out_with_its_pitch() {
        let (body, w) = standing();
        let tilt = CameraTilt {
            pitch: 20f32.to_radians(),
            roll: -25f32.to_radians(),
        };
        let frames = vec![seen_by_camera(tilt, &body); 200];
        // The image's up leans to the left of the world's: the body's up leans right (+x).
        assert!(frames[0][lm::LEFT_SHOULDER][0] < body[lm::LEFT_SHOULDER][0]);
        let found = estimate_tilt(&frames, &vec![w; 200], 30.0);
        let roll = -25.0 * trust(200) + ROLL_DEADBAND_DEG;
        assert!((found.roll.to_degrees() - roll).abs() < 0.01, "{found:?}");
        // The roll left in (the dead band) tilts the pitch's axis by as much: 0.1° here.
        assert!(
            (found.pitch.to_degrees() - 20.0 * trust(200)).abs() < 0.3,
            "{found:?}"
        );
        // Taken out in full (a clip trusted in full, no dead band), the body stands level.
        let levelled = frames[0].map(|q| tilt.to_level().rotate(q));
        for (a, b) in levelled.iter().zip(&body) {
            assert!(crate::animation::math::dist(*a, *b) < 1e-5);
        }
    }

    #[test]
    fn a_slight_or_an_unsteady_roll_is_left_in() {
        let (body, w) = standing();
        let rolled = |deg: f32| {
            let tilt = CameraTilt {
                pitch: 0.0,
                roll: deg.to_radians(),
            };
            seen_by_camera(tilt, &body)
        };
        let slight = vec![rolled(7.0); 200];
        assert_eq!(estimate_tilt(&slight, &vec![w; 200], 30.0).roll, 0.0);
        // Standing frames that disagree (a body in motion, off balance) tell no roll.
        let unsteady: Vec<_> = (0..200)
            .map(|i| rolled(if i % 2 == 0 { 15.0 } else { -10.0 }))
            .collect();
        assert_eq!(estimate_tilt(&unsteady, &vec![w; 200], 30.0).roll, 0.0);
    }

    #[test]
    fn the_segments_masses_add_up_to_the_whole_body() {
        let total: f32 = SEGMENTS.iter().map(|s| s.3).sum();
        assert!((total - 1.0).abs() < 1e-6, "{total}");
    }
}
