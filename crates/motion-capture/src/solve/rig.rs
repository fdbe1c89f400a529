//! From smoothed 3D landmarks to the Mixamo-named skeleton: bone lengths and joint rotations.
//!
//! Landmarks here are already in the animation's axes (cm, Y up, the performer facing +Z when
//! facing the camera, their left toward +X) and centred on the hips.

use crate::animation::math::{
    Quat, Vec3, add, any_perpendicular, cross, dist, dot, lerp, midpoint, norm, normalize_or,
    reject, scale, sub,
};
use crate::animation::{Joint, MIXAMO_JOINTS, MIXAMO_PARENTS, Skeleton, joint as J};

use super::{smooth, twist};

/// BlazePose landmark indices used by the rig.
pub mod lm {
    pub const NOSE: usize = 0;
    pub const LEFT_EAR: usize = 7;
    pub const RIGHT_EAR: usize = 8;
    pub const LEFT_SHOULDER: usize = 11;
    pub const RIGHT_SHOULDER: usize = 12;
    pub const LEFT_ELBOW: usize = 13;
    pub const RIGHT_ELBOW: usize = 14;
    pub const LEFT_WRIST: usize = 15;
    pub const RIGHT_WRIST: usize = 16;
    pub const LEFT_PINKY: usize = 17;
    pub const RIGHT_PINKY: usize = 18;
    pub const LEFT_INDEX: usize = 19;
    pub const RIGHT_INDEX: usize = 20;
    pub const LEFT_HIP: usize = 23;
    pub const RIGHT_HIP: usize = 24;
    pub const LEFT_KNEE: usize = 25;
    pub const RIGHT_KNEE: usize = 26;
    pub const LEFT_ANKLE: usize = 27;
    pub const RIGHT_ANKLE: usize = 28;
    pub const LEFT_HEEL: usize = 29;
    pub const RIGHT_HEEL: usize = 30;
    pub const LEFT_FOOT_INDEX: usize = 31;
    pub const RIGHT_FOOT_INDEX: usize = 32;

    /// The landmark on the other side of the body (the nose is its own): BlazePose numbers the
    /// eyes' points 1-3 left and 4-6 right, and every later pair left, then right.
    pub fn opposite(k: usize) -> usize {
        match k {
            0 => 0,
            1..=3 => k + 3,
            4..=6 => k - 3,
            _ if k % 2 == 1 => k + 1,
            _ => k - 1,
        }
    }
}

const X: Vec3 = [1.0, 0.0, 0.0];
const NEG_X: Vec3 = [-1.0, 0.0, 0.0];
const Y: Vec3 = [0.0, 1.0, 0.0];
const NEG_Y: Vec3 = [0.0, -1.0, 0.0];
const Z: Vec3 = [0.0, 0.0, 1.0];

/// Fractions of the hip-to-shoulder distance taken by Spine, Spine1, Spine2 and Neck offsets
/// (they sum to 1, so the Neck joint sits at shoulder height in the rest pose).
const SPINE_SPLIT: [f32; 4] = [0.12, 0.25, 0.25, 0.38];

/// Per-clip body measurements, cm, symmetric left/right.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BoneLengths {
    pub torso: f32,
    pub half_shoulder: f32,
    pub half_hip: f32,
    pub upper_arm: f32,
    pub forearm: f32,
    pub hand: f32,
    pub thigh: f32,
    pub shin: f32,
    pub neck_to_ears: f32,
    pub ear_width: f32,
    /// Toe tip (foot_index) relative to the ankle in the foot's rest frame (left foot; the
    /// right one mirrors x).
    pub toe_local: Vec3,
    /// Heel relative to the ankle in the foot's rest frame (left foot).
    pub heel_local: Vec3,
}

impl BoneLengths {
    /// An adult's measurements, for tests that need a skeleton.
    #[cfg(test)]
    pub fn example() -> BoneLengths {
        BoneLengths {
            torso: 50.0,
            half_shoulder: 18.0,
            half_hip: 10.0,
            upper_arm: 28.0,
            forearm: 25.0,
            hand: 8.0,
            thigh: 42.0,
            shin: 40.0,
            neck_to_ears: 15.0,
            ear_width: 14.0,
            toe_local: [0.0, -8.0, 15.0],
            heel_local: [0.0, -8.0, -5.0],
        }
    }
}

/// Robust (median) bone lengths over the frames, averaged left/right.
pub fn measure(frames: &[[Vec3; 33]], weights: &[[f32; 33]]) -> BoneLengths {
    let seg = |a: usize, b: usize| median_len(frames, weights, |p| dist(p[a], p[b]), &[a, b]);
    let pair = |la: usize, lb: usize, ra: usize, rb: usize| 0.5 * (seg(la, lb) + seg(ra, rb));
    let shoulder_c = |p: &[Vec3; 33]| midpoint(p[lm::LEFT_SHOULDER], p[lm::RIGHT_SHOULDER]);
    let hip_c = |p: &[Vec3; 33]| midpoint(p[lm::LEFT_HIP], p[lm::RIGHT_HIP]);
    let ear_c = |p: &[Vec3; 33]| midpoint(p[lm::LEFT_EAR], p[lm::RIGHT_EAR]);
    let hand_c = |p: &[Vec3; 33], w: usize, i: usize, k: usize| dist(midpoint(p[i], p[k]), p[w]);
    let torso_ids = [
        lm::LEFT_SHOULDER,
        lm::RIGHT_SHOULDER,
        lm::LEFT_HIP,
        lm::RIGHT_HIP,
    ];
    let hand = 0.5
        * (median_len(
            frames,
            weights,
            |p| hand_c(p, lm::LEFT_WRIST, lm::LEFT_INDEX, lm::LEFT_PINKY),
            &[lm::LEFT_WRIST, lm::LEFT_INDEX],
        ) + median_len(
            frames,
            weights,
            |p| hand_c(p, lm::RIGHT_WRIST, lm::RIGHT_INDEX, lm::RIGHT_PINKY),
            &[lm::RIGHT_WRIST, lm::RIGHT_INDEX],
        ));
    let (toe_local, heel_local) = foot_shape(frames);
    BoneLengths {
        torso: median_len(
            frames,
            weights,
            |p| dist(shoulder_c(p), hip_c(p)),
            &torso_ids,
        ),
        half_shoulder: 0.5 * seg(lm::LEFT_SHOULDER, lm::RIGHT_SHOULDER),
        half_hip: 0.5 * seg(lm::LEFT_HIP, lm::RIGHT_HIP),
        upper_arm: pair(
            lm::LEFT_SHOULDER,
            lm::LEFT_ELBOW,
            lm::RIGHT_SHOULDER,
            lm::RIGHT_ELBOW,
        ),
        forearm: pair(
            lm::LEFT_ELBOW,
            lm::LEFT_WRIST,
            lm::RIGHT_ELBOW,
            lm::RIGHT_WRIST,
        ),
        hand: hand * 1.15,
        thigh: pair(lm::LEFT_HIP, lm::LEFT_KNEE, lm::RIGHT_HIP, lm::RIGHT_KNEE),
        shin: pair(
            lm::LEFT_KNEE,
            lm::LEFT_ANKLE,
            lm::RIGHT_KNEE,
            lm::RIGHT_ANKLE,
        ),
        neck_to_ears: median_len(
            frames,
            weights,
            |p| dist(ear_c(p), shoulder_c(p)),
            &[lm::LEFT_EAR, lm::RIGHT_EAR],
        ),
        ear_width: seg(lm::LEFT_EAR, lm::RIGHT_EAR),
        toe_local,
        heel_local,
    }
}

/// Weighted median of a per-frame length; frames where the involved landmarks are confidently
/// visible count, falling back to all frames when there are too few of those.
fn median_len(
    frames: &[[Vec3; 33]],
    weights: &[[f32; 33]],
    f: impl Fn(&[Vec3; 33]) -> f32,
    ids: &[usize],
) -> f32 {
    let good: Vec<f32> = frames
        .iter()
        .zip(weights)
        .filter(|(_, w)| ids.iter().all(|&i| w[i] > 0.5))
        .map(|(p, _)| f(p))
        .collect();
    let mut v = if good.len() >= 3 {
        good
    } else {
        frames.iter().map(&f).collect()
    };
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Median toe and heel positions relative to the ankle, in the foot frame, mirrored onto the
/// left foot and averaged.
fn foot_shape(frames: &[[Vec3; 33]]) -> (Vec3, Vec3) {
    let mut toes: Vec<Vec3> = Vec::new();
    let mut heels: Vec<Vec3> = Vec::new();
    for p in frames {
        for (m, mirror) in LEG_MARKS.iter().zip([false, true]) {
            let g = foot_frame(m.foot_forward(p), foot_side(p, m)).conjugate();
            let mut toe = g.rotate(sub(p[m.toe], p[m.ankle]));
            let mut heel = g.rotate(sub(p[m.heel], p[m.ankle]));
            if mirror {
                toe[0] = -toe[0];
                heel[0] = -heel[0];
            }
            toes.push(toe);
            heels.push(heel);
        }
    }
    (median_vec(&toes), median_vec(&heels))
}

fn median_vec(v: &[Vec3]) -> Vec3 {
    let mut out = [0.0; 3];
    for (k, o) in out.iter_mut().enumerate() {
        let mut c: Vec<f32> = v.iter().map(|p| p[k]).collect();
        c.sort_by(|a, b| a.total_cmp(b));
        *o = c.get(c.len() / 2).copied().unwrap_or(0.0);
    }
    out
}

/// The foot's global rotation: forward (heel→toe) is +Z at rest, `side` (see [`foot_side`])
/// +X, so up (heel→ankle) is +Y.
fn foot_frame(forward: Vec3, side: Vec3) -> Quat {
    Quat::from_two_axes(Z, X, forward, side)
}

/// The sideways axis in one frame of the foot of leg `m`: up (heel→ankle) across forward
/// (heel→toe), as long as the sine of the angle between them. A pointed or foreshortened foot
/// brings heel, ankle and toe into a line, where its length falls and its direction is landmark
/// noise.
fn foot_side(p: &[Vec3; 33], m: &LegMarks) -> Vec3 {
    let up = normalize_or(sub(p[m.ankle], p[m.heel]), Y);
    cross(up, normalize_or(m.foot_forward(p), Z))
}

/// The rest skeleton (T-pose facing +Z) for the measured body.
pub fn build_skeleton(b: &BoneLengths) -> Skeleton {
    let t = b.torso;
    let toe = b.toe_local;
    let mirror = |v: Vec3| [-v[0], v[1], v[2]];
    let offsets: [Vec3; 22] = [
        [0.0, 0.0, 0.0],
        [0.0, SPINE_SPLIT[0] * t, 0.0],
        [0.0, SPINE_SPLIT[1] * t, 0.0],
        [0.0, SPINE_SPLIT[2] * t, 0.0],
        [0.0, SPINE_SPLIT[3] * t, 0.0],
        [0.0, 0.5 * b.neck_to_ears, 0.0],
        [0.2 * b.half_shoulder, 0.28 * t, 0.0],
        [0.8 * b.half_shoulder, 0.1 * t, 0.0],
        [b.upper_arm, 0.0, 0.0],
        [b.forearm, 0.0, 0.0],
        [-0.2 * b.half_shoulder, 0.28 * t, 0.0],
        [-0.8 * b.half_shoulder, 0.1 * t, 0.0],
        [-b.upper_arm, 0.0, 0.0],
        [-b.forearm, 0.0, 0.0],
        [b.half_hip, 0.0, 0.0],
        [0.0, -b.thigh, 0.0],
        [0.0, -b.shin, 0.0],
        scale(toe, 0.7),
        [-b.half_hip, 0.0, 0.0],
        [0.0, -b.thigh, 0.0],
        [0.0, -b.shin, 0.0],
        mirror(scale(toe, 0.7)),
    ];
    let head_top = 0.5 * b.neck_to_ears + 1.1 * b.ear_width;
    let joints = (0..22)
        .map(|i| {
            let end_site = match i {
                J::HEAD => Some([0.0, head_top, 0.0]),
                J::LEFT_HAND => Some([b.hand, 0.0, 0.0]),
                J::RIGHT_HAND => Some([-b.hand, 0.0, 0.0]),
                J::LEFT_TOE_BASE => Some(scale(toe, 0.3)),
                J::RIGHT_TOE_BASE => Some(mirror(scale(toe, 0.3))),
                _ => None,
            };
            Joint {
                name: MIXAMO_JOINTS[i].to_string(),
                parent: MIXAMO_PARENTS[i],
                offset: offsets[i],
                end_site,
            }
        })
        .collect();
    Skeleton { joints }
}

/// Global rotation of every joint for one frame of landmarks (hip-centred, animation axes),
/// for the rest skeleton `sk` (its offsets place the spine and clavicles). `hints`: this
/// frame's limb hints, as [`smoothed_limb_hints`] found them.
pub fn global_rotations(p: &[Vec3; 33], sk: &Skeleton, hints: &LimbHints) -> [Quat; 22] {
    let off = |j: usize| sk.joints[j].offset;
    let hip_c = midpoint(p[lm::LEFT_HIP], p[lm::RIGHT_HIP]);
    let sh_c = midpoint(p[lm::LEFT_SHOULDER], p[lm::RIGHT_SHOULDER]);
    let hip_line = normalize_or(sub(p[lm::LEFT_HIP], p[lm::RIGHT_HIP]), X);
    let sh_line = normalize_or(sub(p[lm::LEFT_SHOULDER], p[lm::RIGHT_SHOULDER]), X);
    let mut g = [Quat::IDENTITY; 22];
    g[J::HIPS] = pelvis(p);
    // The spine points straight from its base at the shoulder centre; its sideways axis turns
    // gradually from the hip line to the shoulder line (the twist spreads over three joints).
    let spine_base = add(hip_c, g[J::HIPS].rotate(off(J::SPINE)));
    let spine_up = sub(sh_c, spine_base);
    for (j, f) in [
        (J::SPINE, 1.0 / 3.0),
        (J::SPINE1, 2.0 / 3.0),
        (J::SPINE2, 1.0),
    ] {
        let side = add(scale(hip_line, 1.0 - f), scale(sh_line, f));
        g[j] = same_hemisphere(Quat::from_two_axes(Y, X, spine_up, side), g[J::HIPS]);
    }
    let chest = g[J::SPINE2];
    let ear_c = midpoint(p[lm::LEFT_EAR], p[lm::RIGHT_EAR]);
    let head = Quat::from_two_axes(
        X,
        Z,
        sub(p[lm::LEFT_EAR], p[lm::RIGHT_EAR]),
        sub(p[lm::NOSE], ear_c),
    );
    let head = same_hemisphere(head, chest);
    g[J::NECK] = chest.slerp(head, 0.5);
    g[J::HEAD] = head;
    // Clavicles aim the shoulder joints at the detected shoulders (shrugs, hunched shoulders).
    let spine_len = off(J::SPINE1)[1] + off(J::SPINE2)[1];
    let chest_pos = add(spine_base, scale(normalize_or(spine_up, Y), spine_len));
    let chest_fwd = chest.rotate(Z);
    for (clav, arm_j, shoulder) in [
        (J::LEFT_SHOULDER, J::LEFT_ARM, lm::LEFT_SHOULDER),
        (J::RIGHT_SHOULDER, J::RIGHT_ARM, lm::RIGHT_SHOULDER),
    ] {
        let base = add(chest_pos, chest.rotate(off(clav)));
        let q = Quat::from_two_axes(off(arm_j), Z, sub(p[shoulder], base), chest_fwd);
        g[clav] = same_hemisphere(q, chest);
    }
    for s in [Side::Left, Side::Right] {
        arm(p, s, hints, &mut g);
        leg(p, s, hints, &mut g);
    }
    g
}

/// What fixes, in one frame, the twist of limbs that their bones alone leave open, and how a
/// wrist bends, read from the frames around (see [`smoothed_limb_hints`]). [left, right].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LimbHints {
    /// Where each upper arm's front (the side its elbow bends to) faces: unit length, square
    /// to the upper arm ([`upper_arm_fronts`]).
    pub upper_arm_fronts: [Vec3; 2],
    /// Where each forearm's front faces: unit length, square to the forearm
    /// ([`forearm_fronts`]).
    pub forearm_fronts: [Vec3; 2],
    /// Where each palm's thumb side faces ([`palm_front`]; its part square to the forearm is as
    /// long as the palm is clear): the forearm faces it, as far as a forearm twists.
    pub palm_fronts: [Vec3; 2],
    /// How each wrist bends: where the hand points less where the forearm does ([`wrist_bend`]),
    /// averaged where the hand is seen clearly.
    pub wrist_bends: [Vec3; 2],
    /// How clearly each hand is seen in the frames around: 1 where fully, 0 where not at all.
    pub hands_seen: [f32; 2],
    /// How each forearm is turned toward its upper arm's hinge plane where the picture does not
    /// show it clearly ([`unclear_forearm_turns`]); `None` where it does.
    pub forearm_turns: [Option<Quat>; 2],
    /// Which way each knee bends (a bend vector, as the elbows'): the kneecap faces it.
    pub knee_bends: [Vec3; 2],
    /// Where each foot points, square to its shin ([`shin_front`]): the shin faces it, as far
    /// as a knee twists.
    pub shin_fronts: [Vec3; 2],
    /// How far each foot rolls about its own axis (inverts or everts) from the shin's sideways
    /// axis, radians ([`foot_roll_axes`]); the animation's +X is not mirrored, so a positive roll
    /// everts the left foot and inverts the right.
    pub foot_rolls: [f32; 2],
    /// How each ankle bends: where the foot points in its shin's frame less where a foot at rest
    /// points there ([`ankle_bend`]), averaged where the foot is seen clearly.
    pub ankle_bends: [Vec3; 2],
    /// How clearly each foot is seen in the frames around: 1 where fully, 0 where not at all.
    pub feet_seen: [f32; 2],
}

/// The limb hints of every frame. Each is read as a vector whose length says how clearly the
/// landmarks show it, because where a hint is unclear its direction is landmark noise: a few
/// degrees of elbow bend can point anywhere round the arm, which spun the upper arm frame to
/// frame; a hand the model cannot see, drawn a centimetre or two long, spun the forearm and
/// bent the wrist back on itself; a pointed foot, its heel, ankle and toe nearly in a line, spun
/// the foot half round about its own axis in one frame, and a foot in line with its shin, or one
/// the model cannot see, twisted the shin and bent the ankle anywhere. Averaged over the frames
/// around, noise cancels and a clear hint nearby in time dominates, while a stretch where the
/// arm stays straight averages to almost nothing and leaves the twist to the hand.
///
/// `clear` says per frame how clearly (0..1) the model saw each landmark (its visibility): an
/// elbow's bend read from a wrist the model only guesses is no hint of where the arm faces.
/// `source` says whether the landmarks are a video's or exact ones ([`HintSource`]): exact
/// ones are averaged over a frame either side only, and their forearms twist as far as the
/// palm says.
pub fn smoothed_limb_hints(
    frames: &[[Vec3; 33]],
    times_s: &[f64],
    clear: &[[f32; 33]],
    source: HintSource,
) -> Vec<LimbHints> {
    let reading = HintReading::of(source, times_s);
    let hands = HandsSeen::of(frames);
    let palm_fronts = ARM_MARKS.map(|m| {
        let fronts: Vec<Vec3> = frames
            .iter()
            .map(|p| weighted(palm_front(p, &m), hands.shown(p, &m)))
            .collect();
        smooth::smooth_points(times_s, &fronts, reading.arm_twist)
    });
    let upper_arm_fronts = std::array::from_fn::<_, 2, _>(|k| {
        let (m, palm_fronts) = (&ARM_MARKS[k], &palm_fronts[k]);
        upper_arm_fronts(frames, (times_s, &reading), clear, m, palm_fronts)
    });
    let forearms_seen = ARM_MARKS.map(|m| forearm_seen_over_time(&m, times_s, clear));
    let forearm_turns = std::array::from_fn::<_, 2, _>(|k| {
        unclear_forearm_turns(
            frames,
            &ARM_MARKS[k],
            &forearms_seen[k],
            &upper_arm_fronts[k],
        )
    });
    let forearm_fronts = std::array::from_fn::<_, 2, _>(|k| {
        let turned = (forearm_turns[k].as_slice(), forearms_seen[k].as_slice());
        let palms = posed_palm_fronts(frames, turned, (times_s, &reading), &ARM_MARKS[k], &hands);
        let posed = (forearm_turns[k].as_slice(), upper_arm_fronts[k].as_slice());
        forearm_fronts(frames, posed, (times_s, &reading), &ARM_MARKS[k], &palms)
    });
    let wrists = std::array::from_fn::<_, 2, _>(|k| {
        let turns = forearm_turns[k].as_slice();
        wrist_bends(frames, turns, (times_s, &reading), &ARM_MARKS[k], &hands)
    });
    let knee_bends = LEG_MARKS.map(|m| {
        let bends: Vec<Vec3> = frames.iter().map(|p| knee_bend(p, &m)).collect();
        smooth::smooth_points(times_s, &bends, reading.bend)
    });
    let feet = Clarity::of(frames, |p| LEG_MARKS.map(|m| norm(m.foot_forward(p))));
    let shin_fronts = LEG_MARKS.map(|m| {
        let fronts: Vec<Vec3> = frames
            .iter()
            .map(|p| weighted(shin_front(p, &m), feet.shown(norm(m.foot_forward(p)))))
            .collect();
        smooth::smooth_points(times_s, &fronts, reading.leg_twist)
    });
    let shins = std::array::from_fn::<_, 2, _>(|k| -> Vec<Quat> {
        let m = &LEG_MARKS[k];
        let leg_hints = knee_bends[k].iter().zip(&shin_fronts[k]);
        let posed = frames.iter().zip(leg_hints);
        posed
            .map(|(p, (&bend, &front))| thigh_and_shin(p, m, pelvis(p), (bend, front)).1)
            .collect()
    });
    let foot_rolls = std::array::from_fn::<_, 2, _>(|k| {
        foot_rolls(frames, (times_s, &reading), &LEG_MARKS[k], &feet, &shins[k])
    });
    let ankles = std::array::from_fn::<_, 2, _>(|k| {
        ankle_bends(frames, (times_s, &reading), &LEG_MARKS[k], &feet, &shins[k])
    });
    (0..frames.len())
        .map(|i| LimbHints {
            upper_arm_fronts: [upper_arm_fronts[0][i], upper_arm_fronts[1][i]],
            forearm_fronts: [forearm_fronts[0][i], forearm_fronts[1][i]],
            palm_fronts: [palm_fronts[0][i], palm_fronts[1][i]],
            wrist_bends: [wrists[0].0[i], wrists[1].0[i]],
            hands_seen: [wrists[0].1[i], wrists[1].1[i]],
            forearm_turns: [forearm_turns[0][i], forearm_turns[1][i]],
            knee_bends: [knee_bends[0][i], knee_bends[1][i]],
            shin_fronts: [shin_fronts[0][i], shin_fronts[1][i]],
            foot_rolls: [foot_rolls[0][i], foot_rolls[1][i]],
            ankle_bends: [ankles[0].0[i], ankles[1].0[i]],
            feet_seen: [ankles[0].1[i], ankles[1].1[i]],
        })
        .collect()
}

/// How clearly a part of the body (a foot, a hand) is seen in each frame, for weighting the
/// hints its landmarks give. A part the model draws much shorter than its typical length over
/// the clip (the median, both sides) is one it cannot see well: seen end on, or hidden.
struct Clarity {
    typical: f32,
}

impl Clarity {
    /// From each frame's drawn length of the part, left and right.
    fn of(frames: &[[Vec3; 33]], drawn: impl Fn(&[Vec3; 33]) -> [f32; 2]) -> Self {
        let mut lengths: Vec<f32> = frames.iter().flat_map(drawn).collect();
        lengths.sort_by(f32::total_cmp);
        let typical = lengths.get(lengths.len() / 2).map_or(1.0, |l| l.max(1e-3));
        Clarity { typical }
    }

    /// How fully a part drawn `drawn` long is shown: 1 at its typical length or more.
    fn shown(&self, drawn: f32) -> f32 {
        (drawn / self.typical).min(1.0)
    }
}

/// A hint `v` (as long as the part's own landmarks show it clearly) shortened by how fully the
/// part is shown ([`Clarity::shown`]), then weighted by its whole length once more: a part seen
/// half as clearly counts a quarter as much.
fn weighted(v: Vec3, shown: f32) -> Vec3 {
    let v = scale(v, shown);
    scale(v, norm(v))
}

/// How clearly a clip's hands are seen in each frame: a hand the model draws much shorter
/// (wrist to knuckles) or narrower (index to pinky) than the clip's hands usually are is one it
/// cannot see well, and where it points and faces is its guess.
struct HandsSeen {
    lengths: Clarity,
    widths: Clarity,
}

impl HandsSeen {
    fn of(frames: &[[Vec3; 33]]) -> Self {
        HandsSeen {
            lengths: Clarity::of(frames, |p| ARM_MARKS.map(|m| norm(m.hand_length(p)))),
            widths: Clarity::of(frames, |p| ARM_MARKS.map(|m| norm(m.palm_across(p)))),
        }
    }

    /// How fully the hand of arm `m` is shown in one frame ([`Clarity::shown`]).
    fn shown(&self, p: &[Vec3; 33], m: &ArmMarks) -> f32 {
        let length = self.lengths.shown(norm(m.hand_length(p)));
        length.min(self.widths.shown(norm(m.palm_across(p))))
    }
}

/// Where the upper arm of arm `m` faces in each frame ([`LimbHints::upper_arm_fronts`]). The
/// elbow's bend plane fixes it: the forearm bends to the upper arm's front. Near full extension
/// that plane is noise, so the palm's facing (`palm_fronts`, averaged over the frames around)
/// and the chest's forward axis weigh in, less and less as the elbow bends. The hint so made in
/// each frame is followed over the clip ([`twist::followed_fronts`]): read frame by frame, an arm
/// that straightened and bent a little the other way, or a guess that jumped, turned the upper
/// arm half round in one frame (176° in the person-detection clip, 94° in the walk-in clip).
/// The bend counts as much as its elbow and wrist were seen (`clear`): a wrist hidden behind
/// the body, where the model guesses it, turned the upper arm 90° in five frames while the
/// performer stood still (the walk-in clip).
fn upper_arm_fronts(
    frames: &[[Vec3; 33]],
    (times_s, reading): (&[f64], &HintReading),
    clear: &[[f32; 33]],
    m: &ArmMarks,
    palm_fronts: &[Vec3],
) -> Vec<Vec3> {
    let bends: Vec<Vec3> = frames
        .iter()
        .zip(clear)
        .map(|(p, c)| scale(elbow_bend(p, m), m.forearm_seen(c)))
        .collect();
    let bends = smooth::smooth_points(times_s, &bends, reading.bend);
    let (uppers, hints): (Vec<Vec3>, Vec<Vec3>) = frames
        .iter()
        .zip(bends.iter().zip(palm_fronts))
        .map(|(p, (&bend, &palm))| {
            let (upper, _) = m.bones(p);
            let hint = add(
                add(bend, scale(reject(palm, upper), 0.2)),
                scale(reject(chest_forward(p), upper), 0.05),
            );
            (upper, hint)
        })
        .unzip();
    twist::followed_fronts(times_s, &uppers, &hints, reading.arm_twist)
}

/// How clearly the forearm of arm `m` is seen in each frame ([`ArmMarks::forearm_seen`]),
/// averaged over the frames around as a hidden landmark's track is (`HIDDEN_SIGMA_S`): it
/// says how far the forearm is turned into its hinge plane ([`unclear_forearm_turn`]), and
/// frame by frame, a wrist whose visibility fell from 0.46 to 0.06 in one frame at 10 fps
/// moved the forearm 50° and turned the hand 51° about itself in that frame (the walk-in clip's
/// raw landmarks).
fn forearm_seen_over_time(m: &ArmMarks, times_s: &[f64], clear: &[[f32; 33]]) -> Vec<f32> {
    let seen: Vec<f32> = clear.iter().map(|c| m.forearm_seen(c)).collect();
    smooth::smooth_scalar(times_s, &seen, super::HIDDEN_SIGMA_S)
}

/// Where the palm of arm `m` faces in each frame, as the posed forearm carries it: each frame's
/// palm front ([`palm_front`]) turned with its forearm where that is turned toward the hinge
/// plane (`turns`, [`unclear_forearm_turns`]), counted as much as the forearm is `seen`, then
/// averaged as the palm fronts are. Where the forearm is not seen the
/// palm is the model's guess too, and a forearm held in its hinge plane twisted instead with
/// each guess of the wrist (the walk-in clip's left forearm 110° in eight frames, its hand up to
/// 32° in a frame, in the review); turned after averaging, a steady palm spun with each frame's
/// turn. Where every forearm is seen this is exactly the palm fronts.
fn posed_palm_fronts(
    frames: &[[Vec3; 33]],
    (turns, seen): (&[Option<Quat>], &[f32]),
    (times_s, reading): (&[f64], &HintReading),
    m: &ArmMarks,
    hands: &HandsSeen,
) -> Vec<Vec3> {
    let fronts: Vec<Vec3> = (frames.iter().zip(turns).zip(seen))
        .map(|((p, turn), &seen)| {
            let palm = weighted(palm_front(p, m), hands.shown(p, m));
            match turn {
                Some(turn) => scale(turn.rotate(palm), faded(seen)),
                None => palm,
            }
        })
        .collect();
    smooth::smooth_points(times_s, &fronts, reading.arm_twist)
}

/// Where the forearm of arm `m` faces in each frame ([`LimbHints::forearm_fronts`]), the forearm
/// turned where `turns` says ([`unclear_forearm_turns`]): turned from its upper arm (facing
/// `upper_arm_fronts`) about the elbow's hinge and twisted toward the palm (`palm_fronts`) as
/// far as a forearm twists ([`forearm`]), followed over the clip ([`twist::followed_fronts`]) so
/// that where the upper arm turns fast the forearm does not turn further in one frame.
fn forearm_fronts(
    frames: &[[Vec3; 33]],
    (turns, upper_arm_fronts): (&[Option<Quat>], &[Vec3]),
    (times_s, reading): (&[f64], &HintReading),
    m: &ArmMarks,
    palm_fronts: &[Vec3],
) -> Vec<Vec3> {
    let (fores, fronts): (Vec<Vec3>, Vec<Vec3>) = frames
        .iter()
        .zip(turns)
        .zip(upper_arm_fronts.iter().zip(palm_fronts))
        .map(|((p, turn), (&upper_front, &palm))| {
            let (upper, fore) = m.bones(p);
            let fore = turn.map_or(fore, |turn| turn.rotate(fore));
            let upper_arm = Quat::from_two_axes(m.rest, Z, upper, upper_front);
            let twist_limit = reading.forearm_twist_limit;
            (
                fore,
                forearm(upper_arm, m.rest, fore, palm, twist_limit).rotate(Z),
            )
        })
        .unzip();
    twist::followed_fronts(times_s, &fores, &fronts, reading.arm_twist)
}

/// The chest's forward axis in one frame, from the shoulder line and the spine (hip centre to
/// shoulder centre): the +Z of the chest's frame.
fn chest_forward(p: &[Vec3; 33]) -> Vec3 {
    let hip_c = midpoint(p[lm::LEFT_HIP], p[lm::RIGHT_HIP]);
    let sh_c = midpoint(p[lm::LEFT_SHOULDER], p[lm::RIGHT_SHOULDER]);
    let sh_line = sub(p[lm::LEFT_SHOULDER], p[lm::RIGHT_SHOULDER]);
    normalize_or(cross(sh_line, sub(sh_c, hip_c)), Z)
}

/// Each frame's bend of the wrist of arm `m` ([`wrist_bend`]) averaged over the frames around
/// where the hand is seen clearly ([`averaged_where_seen`]). The bend is taken from the forearm
/// in each frame, so a straight wrist on a swinging arm averages to straight (the hand's own
/// direction, averaged, would lag the swing), and turned with a forearm turned toward its hinge
/// plane (`turns`, [`unclear_forearm_turns`]).
fn wrist_bends(
    frames: &[[Vec3; 33]],
    turns: &[Option<Quat>],
    (times_s, reading): (&[f64], &HintReading),
    m: &ArmMarks,
    hands: &HandsSeen,
) -> (Vec<Vec3>, Vec<f32>) {
    let samples = frames.iter().zip(turns).map(|(p, turn)| {
        let bend = wrist_bend(p, m);
        let bend = turn.map_or(bend, |turn| turn.rotate(bend));
        (bend, hands.shown(p, m))
    });
    averaged_where_seen(times_s, samples, reading.arm_twist)
}

/// Each frame's bend of the ankle of leg `m` ([`ankle_bend`], in the shin's frame as `shins`
/// pose it) averaged over the frames around where the foot is seen clearly
/// ([`averaged_where_seen`]). In the shin's frame, a foot that keeps its angle to the shin
/// through a stride averages to that angle, however fast the leg swings.
fn ankle_bends(
    frames: &[[Vec3; 33]],
    (times_s, reading): (&[f64], &HintReading),
    m: &LegMarks,
    feet: &Clarity,
    shins: &[Quat],
) -> (Vec<Vec3>, Vec<f32>) {
    let samples = frames.iter().zip(shins).map(|(p, &shin)| {
        let forward = m.foot_forward(p);
        (ankle_bend(forward, shin), feet.shown(norm(forward)))
    });
    averaged_where_seen(times_s, samples, reading.ankle)
}

/// Per-frame samples `(bend, shown)`, a bend and how fully its part is seen
/// ([`Clarity::shown`]), averaged over the frames around (Gaussian, `sigma_s`) with the weight
/// `shown²`, and that weight averaged alike: a part seen half as clearly counts a quarter as
/// much, and where it is unclear in every frame around, the weight says so. Returns the
/// averaged bends and weights.
fn averaged_where_seen(
    times_s: &[f64],
    samples: impl Iterator<Item = (Vec3, f32)>,
    sigma_s: f64,
) -> (Vec<Vec3>, Vec<f32>) {
    let (bends, weights): (Vec<Vec3>, Vec<f32>) = samples
        .map(|(bend, shown)| {
            let weight = shown.powi(2);
            (scale(bend, weight), weight)
        })
        .unzip();
    let bends = smooth::smooth_points(times_s, &bends, sigma_s);
    let seen = smooth::smooth_scalar(times_s, &weights, sigma_s);
    let bends = bends
        .iter()
        .zip(&seen)
        .map(|(&b, &w)| {
            if w > 1e-6 {
                scale(b, 1.0 / w)
            } else {
                [0.0; 3]
            }
        })
        .collect();
    (bends, seen)
}

/// Each frame's roll of the foot of leg `m`, averaged over the frames around: measured from the
/// sideways axis of its shin as `shins` pose it, kept within an ankle's range.
fn foot_rolls(
    frames: &[[Vec3; 33]],
    (times_s, reading): (&[f64], &HintReading),
    m: &LegMarks,
    feet: &Clarity,
    shins: &[Quat],
) -> Vec<f32> {
    let rolls: Vec<Vec3> = frames
        .iter()
        .zip(shins)
        .map(|(p, &shin)| {
            let (across, up) = foot_roll_axes(shin, m.foot_forward(p));
            let side = weighted(foot_side(p, m), feet.shown(norm(m.foot_forward(p))));
            [dot(side, across), dot(side, up), 0.0]
        })
        .collect();
    smooth::smooth_points(times_s, &rolls, reading.leg_twist)
        .into_iter()
        // With a slight pull toward none: a foot unclear in every frame around keeps the
        // shin's sideways axis rather than whatever its noise adds up to.
        .map(|r| within_range(r[1].atan2(r[0] + PULL_TO_NONE), MAX_FOOT_ROLL))
        .collect()
}

/// Gaussian sigma (s) of an elbow's or a knee's bend over time.
const BEND_SIGMA_S: f64 = 0.15;
/// The fewest frames a twist's or a bend's sigma spans ([`widened`]).
const MIN_SIGMA_FRAMES: f64 = 2.0;

/// `sigma_s` widened to at least [`MIN_SIGMA_FRAMES`] frames of the clip (`times_s`, a regular
/// grid). The sigmas above are earned on 25-60 fps clips; at 10 fps a tenth of a second is one
/// frame, which averages nothing, and a clip's twists followed each frame's guess (a shin turned
/// 30° one way and back within three frames at a walk's end, an upper arm 90° in five frames
/// while the performer stood still).
fn widened(sigma_s: f64, times_s: &[f64]) -> f64 {
    sigma_s.max(MIN_SIGMA_FRAMES * frame_seconds(times_s))
}

/// The step (s) of a clip's regular grid of frame times; 0 for a single frame.
fn frame_seconds(times_s: &[f64]) -> f64 {
    match times_s {
        [first, .., last] => (last - first) / (times_s.len() - 1) as f64,
        _ => 0.0,
    }
}

/// Where a clip's landmarks come from, which says how their limb hints are read over time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HintSource {
    /// Tracked by the pose model in a video: noisy, and where a part is unclear its hint is
    /// noise, so each hint is averaged over the frames around (the sigmas above).
    Tracked,
    /// Read off a motion-capture clip's joints (retargeting): exact, so each hint is averaged
    /// over its frame and the next one either side only ([`EXACT_SIGMA_FRAMES`]), and a forearm
    /// twists as far as the palm says. Averaged over a tenth of a second, as a video's, the
    /// hands lagged their sources' turns (fair1 dab's by up to 61°), and a reference pose in a
    /// clip's first frame (CMU 01_01's, a half turn of the hand from the next) blurred into the
    /// frames after it (118°); held within a video's range, the mocapbank clip's wrist, which
    /// twists 70-100° one way and back, was folded back to 102° off its source's.
    Exact,
}

/// How one clip's limb hints are read: their Gaussian sigmas (s) over time, and how far a
/// forearm may twist.
struct HintReading {
    arm_twist: f64,
    leg_twist: f64,
    bend: f64,
    ankle: f64,
    /// A video's forearm twists within [`MAX_FOREARM_TWIST`] of the hinge's palm-down, and a
    /// palm shown further round (the model's guess of a hand on its side or back to front) is
    /// eased back to none ([`within_range`]). An exact clip's twists as far as its palm says.
    forearm_twist_limit: Option<f32>,
}

impl HintReading {
    fn of(source: HintSource, times_s: &[f64]) -> HintReading {
        match source {
            HintSource::Tracked => HintReading {
                arm_twist: widened(ARM_TWIST_SIGMA_S, times_s),
                leg_twist: widened(LEG_TWIST_SIGMA_S, times_s),
                bend: widened(BEND_SIGMA_S, times_s),
                ankle: ANKLE_SIGMA_S,
                forearm_twist_limit: Some(MAX_FOREARM_TWIST),
            },
            HintSource::Exact => {
                // Never zero, which the Gaussian cannot take (a clip of one frame).
                let sigma = (EXACT_SIGMA_FRAMES * frame_seconds(times_s)).max(1e-6);
                HintReading {
                    arm_twist: sigma,
                    leg_twist: sigma,
                    bend: sigma,
                    ankle: sigma,
                    forearm_twist_limit: None,
                }
            }
        }
    }
}

/// The sigma of an exact clip's hints, in frames ([`HintSource::Exact`]): a neighbour weighs
/// 0.61 of the frame itself. Even exact landmarks leave a straight arm's bend plane undefined:
/// with a quarter of a frame (each frame's own hints), a punch's straight arm spun the boxing
/// clip's right hand 60° in one frame where the source's turned 8°.
const EXACT_SIGMA_FRAMES: f64 = 1.0;
/// How strongly a leg's twist is drawn to none (the pelvis or the thigh's hinge, the shin's
/// sideways axis) against a clear hint's 1: enough to decide where every hint is unclear. A
/// straight leg's kneecap hint is at most 0.2 long (where the foot points), so its thigh keeps a
/// fifth of its twist less (a foot turned out 20° twists it 16°; knee and ankle turn the rest).
const PULL_TO_NONE: f32 = 0.05;
/// Gaussian sigma (s) over time of where a palm faces and a hand points, and over which an
/// upper arm's and a forearm's twist are followed where clear ([`twist::followed_fronts`]).
const ARM_TWIST_SIGMA_S: f64 = 0.1;
/// The most an elbow bends (radians), the forearm from the upper arm's line: about its range
/// of flexion.
const MAX_ELBOW_BEND: f32 = 150.0 * std::f32::consts::PI / 180.0;
/// The most a forearm twists about itself from the upper arm's hinge (radians): about the
/// range of pronation and supination from the palm-down rest.
const MAX_FOREARM_TWIST: f32 = 90.0 * std::f32::consts::PI / 180.0;
/// How clear an averaged hint of a hand or a foot must be for its whole turn to be made
/// ([`faded`]): a palm seen fully, square to the forearm, or a hand or a foot seen fully in every
/// frame around gives 1.
const CLEAR_HINT: f32 = 0.3;
/// The most a wrist bends (radians): about its range of flexion; the model's guess of a hand it
/// cannot see points it anywhere.
const MAX_WRIST_BEND: f32 = 80.0 * std::f32::consts::PI / 180.0;
/// Gaussian sigma (s) over time of where a foot points and how it rolls.
const LEG_TWIST_SIGMA_S: f64 = 0.1;
/// The most a thigh twists about itself from the pelvis (radians): about a hip's internal and
/// external rotation, with room for the model's view of the pelvis.
const MAX_HIP_TWIST: f32 = 60.0 * std::f32::consts::PI / 180.0;
/// The most a shin twists about itself from the thigh's hinge (radians): about a bent knee's
/// range. The model's guess of a foot seen end on or hidden can point it anywhere.
const MAX_KNEE_TWIST: f32 = 30.0 * std::f32::consts::PI / 180.0;
/// Gaussian sigma (s) over time of an ankle's bend: short, because in a stride the ankle turns
/// from heel strike to a flat foot within a tenth of a second, and grounding reads the sole from
/// it (0.1 s, the legs' twist sigma, cost the synthetic walk 1.3 mm of accuracy through foot
/// contacts found in the swing).
const ANKLE_SIGMA_S: f64 = 0.04;
/// The most an ankle bends (radians), the foot from square to the shin, in any direction: about
/// a pointed foot's plantar flexion; the model's guess of a foot seen end on or hidden points it
/// anywhere.
const MAX_ANKLE_BEND: f32 = 70.0 * std::f32::consts::PI / 180.0;
/// The most a foot rolls about its own axis from the shin's sideways axis (radians): about the
/// range of the ankle's inversion; the model's 3D guess of a foot seen end on goes far beyond.
const MAX_FOOT_ROLL: f32 = 30.0 * std::f32::consts::PI / 180.0;

#[derive(Clone, Copy)]
enum Side {
    Left,
    Right,
}

fn arm(p: &[Vec3; 33], side: Side, hints: &LimbHints, g: &mut [Quat; 22]) {
    let (k, ja, jf, jh) = match side {
        Side::Left => (0, J::LEFT_ARM, J::LEFT_FORE_ARM, J::LEFT_HAND),
        Side::Right => (1, J::RIGHT_ARM, J::RIGHT_FORE_ARM, J::RIGHT_HAND),
    };
    let m = &ARM_MARKS[k];
    let (upper, fore) = m.bones(p);
    // Turned first: part of the way toward the hinge plane, a forearm bent back folds further.
    let fore = hints.forearm_turns[k].map_or(fore, |turn| turn.rotate(fore));
    let fore = within_elbow_range(upper, fore);
    g[ja] = Quat::from_two_axes(m.rest, Z, upper, hints.upper_arm_fronts[k]);
    let forearm = Quat::from_two_axes(m.rest, Z, fore, hints.forearm_fronts[k]);
    g[jf] = same_hemisphere(forearm, g[ja]);
    let wrist = (hints.wrist_bends[k], hints.hands_seen[k]);
    g[jh] = same_hemisphere(hand(g[jf], fore, wrist), g[jf]);
}

/// The forearm's direction `fore` (unit) bent from the upper arm's `upper` (unit) no further
/// than an elbow bends ([`MAX_ELBOW_BEND`]), turned back in its bend plane where the landmarks
/// fold it further: the model's guess of a wrist hidden in front of the body folded the arm
/// to 170° (the walk-in clip).
fn within_elbow_range(upper: Vec3, fore: Vec3) -> Vec3 {
    let bent = dot(upper, fore).clamp(-1.0, 1.0).acos();
    if bent <= MAX_ELBOW_BEND {
        return fore;
    }
    let across = normalize_or(reject(fore, upper), any_perpendicular(upper));
    let (sin, cos) = MAX_ELBOW_BEND.sin_cos();
    add(scale(upper, cos), scale(across, sin))
}

/// How the forearm of arm `m` is turned in each frame where the picture does not show it
/// clearly ([`unclear_forearm_turn`], its upper arm facing `upper_arm_fronts`, the forearm as
/// clearly `seen` as [`forearm_seen_over_time`] says); `None` where it does.
fn unclear_forearm_turns(
    frames: &[[Vec3; 33]],
    m: &ArmMarks,
    seen: &[f32],
    upper_arm_fronts: &[Vec3],
) -> Vec<Option<Quat>> {
    (frames.iter().zip(seen).zip(upper_arm_fronts))
        .map(|((p, &seen), &front)| {
            let (upper, fore) = m.bones(p);
            unclear_forearm_turn(upper, front, fore, seen)
        })
        .collect()
}

/// The turn of the forearm's direction `fore` (unit) toward the elbow's hinge plane, the one the
/// upper arm's front `upper_front` (square to the upper arm `upper`, unit) bends to, as far as
/// the elbow and the wrist are unclear (`seen`, [`faded`]): where neither is seen, into it, its
/// bend kept. The model's guess of a wrist it cannot see may fold the arm almost flat in any
/// plane; the rig posed it there, bent sideways or back through the elbow, and the forearm's
/// twist followed: a hand hidden in front of a woman seen from behind swung 130° across the
/// elbow and back in eight frames, the forearm twisting half round (the walk-in clip). The
/// hand's hints (its palm, its bend from the forearm) take the same turn: read off the
/// landmarks' forearm, they would turn the hand away from the posed one. `None` for a forearm
/// seen clearly, which is left as the landmarks put it.
///
/// Part of the way, the forearm's part square to the upper arm goes straight toward the hinge
/// plane's, not round the upper arm: turned round by a share of its angle to the plane, a forearm
/// bent back against the hinge would flip from one side to the other as that angle passed a
/// half turn (no share of an angle that wraps round is continuous). Straight across, one bent
/// back comes nearer straight on its way.
fn unclear_forearm_turn(upper: Vec3, upper_front: Vec3, fore: Vec3, seen: f32) -> Option<Quat> {
    let unclear = 1.0 - faded(seen);
    if unclear <= 0.0 {
        return None;
    }
    let across = reject(fore, upper);
    let front = normalize_or(reject(upper_front, upper), any_perpendicular(upper));
    let hinged = scale(front, norm(across));
    let turned = add(
        scale(upper, dot(fore, upper)),
        lerp(across, hinged, unclear),
    );
    Some(Quat::from_to(fore, normalize_or(turned, fore)))
}

/// How much of a turn a hint of clarity `clarity` asks for is made: all of it once the hint is
/// clear enough ([`CLEAR_HINT`]), less as it fades. A hand unclear in every frame around leaves
/// the forearm untwisted and the wrist straight, a foot so leaves the ankle at rest; and a faint
/// hint whose direction swings round leaves the turn continuous, where a pull toward none would
/// flip it across.
fn faded(clarity: f32) -> f32 {
    (clarity / CLEAR_HINT).min(1.0)
}

/// The forearm's global rotation in one frame, pointing along `fore`, for the upper arm's
/// `upper_arm` and the palm's front as the frames around show it: turned from the upper arm
/// about the elbow's hinge ([`hinged`]), and twisted about itself toward where the palm faces,
/// within `twist_limit` where there is one ([`HintReading::forearm_twist_limit`]).
fn forearm(upper_arm: Quat, rest: Vec3, fore: Vec3, palm: Vec3, twist_limit: Option<f32>) -> Quat {
    let untwisted = hinged(upper_arm, (rest, Z), HALF_BENT, fore);
    let (front, side) = (untwisted.rotate(Z), untwisted.rotate(Y));
    let (c, s) = (dot(palm, front), dot(palm, side));
    let shown = s.atan2(c);
    let kept = twist_limit.map_or(shown, |limit| within_range(shown, limit));
    let twist = kept * faded(c.hypot(s));
    let (sin, cos) = twist.sin_cos();
    Quat::from_two_axes(rest, Z, fore, add(scale(front, cos), scale(side, sin)))
}

/// The lower bone of a hinged joint untwisted, pointing along `lower`: the upper bone's frame
/// `upper` bent `bent` radians (from `rest`, the bones' rest direction, toward `bends_to`),
/// carried onto `lower` by the shortest swing. For a lower bone in the bend plane that is the
/// turn about the hinge; out of it, the twist changes gradually. It is undefined only where the
/// lower bone points away from that bent direction, so `bent` is chosen to put that where the
/// joint never goes: halfway through an elbow's or a knee's bend ([`HALF_BENT`]), 105° the
/// wrong way, where the model's guesses of a joint folded right back or bent sideways (which a
/// swing from the upper bone or a hinge axis kept square to the lower bone would spin half
/// round) leave it defined; for the thigh from the pelvis, a hip flexed a little
/// ([`HIP_FLEXED`]), 150° behind the trunk, beyond a split's back leg.
fn hinged(upper: Quat, (rest, bends_to): (Vec3, Vec3), bent: f32, lower: Vec3) -> Quat {
    let (sin, cos) = bent.sin_cos();
    let half_bent = upper.compose(Quat::from_to(
        rest,
        add(scale(rest, cos), scale(bends_to, sin)),
    ));
    Quat::from_to(half_bent.rotate(rest), lower).compose(half_bent)
}

/// Halfway through an elbow's or a knee's bend (radians).
const HALF_BENT: f32 = 75.0 * std::f32::consts::PI / 180.0;
/// The hip's flexion (radians) from which a thigh's twist is measured ([`thigh`]): a little,
/// because a thigh goes from 160° forward (a pike) to 100° back (a split's back leg), and
/// [`hinged`] is undefined opposite it.
const HIP_FLEXED: f32 = 30.0 * std::f32::consts::PI / 180.0;

/// The hand's global rotation in one frame: the forearm's `forearm` (pointing along `fore`)
/// turned about the wrist toward where the frames around point the hand
/// ([`LimbHints::wrist_bends`]), as far as a wrist bends. The wrist does not twist: the hand
/// keeps the forearm's.
fn hand(forearm: Quat, fore: Vec3, wrist: (Vec3, f32)) -> Quat {
    bent_toward(fore, wrist, MAX_WRIST_BEND).compose(forearm)
}

/// The turn of a joint that bends a bone from `rest` toward `rest + bend`, where the frames
/// around show that bend as clearly as `seen` (a wrist's, an ankle's; `rest + bend` the
/// average of unit directions): as far as the joint bends (`limit`), part of the way for a
/// faint hint ([`faded`]), and as far as the frames around agree: guesses that point every
/// way average to a short direction, which leaves the joint nearly at rest instead of flipping
/// with each guess. Beyond a quarter turn (the model's hand bent back on the forearm, its foot
/// back to front) the bend eases back to none ([`within_range`]), so the bone never jumps from
/// one side to the other as the guess passes behind.
fn bent_toward(rest: Vec3, (bend, seen): (Vec3, f32), limit: f32) -> Quat {
    let averaged = add(rest, bend);
    let agreed = norm(averaged).min(1.0);
    let toward = normalize_or(averaged, rest);
    let axis = cross(rest, toward);
    let shown = norm(axis).atan2(dot(rest, toward));
    let kept = within_range(shown, limit) * faded(seen) * agreed;
    Quat::from_axis_angle(normalize_or(axis, any_perpendicular(rest)), kept)
}

/// Where the hand points in one frame (wrist to the knuckles' midpoint) less where the forearm
/// does, both unit length: none for a straight wrist.
fn wrist_bend(p: &[Vec3; 33], m: &ArmMarks) -> Vec3 {
    let (_, fore) = m.bones(p);
    sub(normalize_or(m.hand_length(p), fore), fore)
}

/// Which way the elbow bends in one frame: the forearm's direction square to the upper arm, as
/// long as the sine of the bend.
fn elbow_bend(p: &[Vec3; 33], m: &ArmMarks) -> Vec3 {
    let (upper, fore) = m.bones(p);
    reject(fore, upper)
}

/// Where the thumb side of the palm faces in one frame (pinky→index), square to the forearm:
/// as long as the sine of the angle between them. A hand seen edge on brings index and pinky
/// together, and one in line with the forearm leaves it short: there its direction is noise.
fn palm_front(p: &[Vec3; 33], m: &ArmMarks) -> Vec3 {
    let (_, fore) = m.bones(p);
    reject(normalize_or(m.palm_across(p), Z), fore)
}

/// An arm's landmarks, and its direction in the rest pose.
struct ArmMarks {
    rest: Vec3,
    shoulder: usize,
    elbow: usize,
    wrist: usize,
    pinky: usize,
    index: usize,
}

impl ArmMarks {
    /// The upper arm's (shoulder→elbow) and the forearm's (elbow→wrist) directions in one
    /// frame, unit length (the rest direction where the landmarks coincide).
    fn bones(&self, p: &[Vec3; 33]) -> (Vec3, Vec3) {
        let upper = normalize_or(sub(p[self.elbow], p[self.shoulder]), self.rest);
        (
            upper,
            normalize_or(sub(p[self.wrist], p[self.elbow]), upper),
        )
    }

    /// From the wrist to the knuckles' midpoint in one frame, as long as the model draws the
    /// hand.
    fn hand_length(&self, p: &[Vec3; 33]) -> Vec3 {
        sub(midpoint(p[self.index], p[self.pinky]), p[self.wrist])
    }

    /// Across the palm toward the thumb side in one frame: pinky→index, as long as the model
    /// draws the hand's width.
    fn palm_across(&self, p: &[Vec3; 33]) -> Vec3 {
        sub(p[self.index], p[self.pinky])
    }

    /// How clearly the forearm is seen in one frame: its elbow's and its wrist's clarity
    /// (`clear`), the less of the two.
    fn forearm_seen(&self, clear: &[f32; 33]) -> f32 {
        clear[self.elbow].min(clear[self.wrist])
    }
}

/// [left, right].
const ARM_MARKS: [ArmMarks; 2] = [
    ArmMarks {
        rest: X,
        shoulder: lm::LEFT_SHOULDER,
        elbow: lm::LEFT_ELBOW,
        wrist: lm::LEFT_WRIST,
        pinky: lm::LEFT_PINKY,
        index: lm::LEFT_INDEX,
    },
    ArmMarks {
        rest: NEG_X,
        shoulder: lm::RIGHT_SHOULDER,
        elbow: lm::RIGHT_ELBOW,
        wrist: lm::RIGHT_WRIST,
        pinky: lm::RIGHT_PINKY,
        index: lm::RIGHT_INDEX,
    },
];

/// A leg's landmarks.
struct LegMarks {
    hip: usize,
    knee: usize,
    ankle: usize,
    heel: usize,
    toe: usize,
}

impl LegMarks {
    /// The thigh's (hip→knee) and the shin's (knee→ankle) directions in one frame, unit length.
    fn bones(&self, p: &[Vec3; 33]) -> (Vec3, Vec3) {
        let thigh = normalize_or(sub(p[self.knee], p[self.hip]), NEG_Y);
        (thigh, normalize_or(sub(p[self.ankle], p[self.knee]), thigh))
    }

    /// The foot's forward axis in one frame: heel→toe, as long as the model draws the foot.
    fn foot_forward(&self, p: &[Vec3; 33]) -> Vec3 {
        sub(p[self.toe], p[self.heel])
    }
}

/// [left, right].
const LEG_MARKS: [LegMarks; 2] = [
    LegMarks {
        hip: lm::LEFT_HIP,
        knee: lm::LEFT_KNEE,
        ankle: lm::LEFT_ANKLE,
        heel: lm::LEFT_HEEL,
        toe: lm::LEFT_FOOT_INDEX,
    },
    LegMarks {
        hip: lm::RIGHT_HIP,
        knee: lm::RIGHT_KNEE,
        ankle: lm::RIGHT_ANKLE,
        heel: lm::RIGHT_HEEL,
        toe: lm::RIGHT_FOOT_INDEX,
    },
];

fn leg(p: &[Vec3; 33], side: Side, hints: &LimbHints, g: &mut [Quat; 22]) {
    let (k, ju, jl, jf, jt) = match side {
        Side::Left => (
            0,
            J::LEFT_UP_LEG,
            J::LEFT_LEG,
            J::LEFT_FOOT,
            J::LEFT_TOE_BASE,
        ),
        Side::Right => (
            1,
            J::RIGHT_UP_LEG,
            J::RIGHT_LEG,
            J::RIGHT_FOOT,
            J::RIGHT_TOE_BASE,
        ),
    };
    let m = &LEG_MARKS[k];
    let leg_hints = (hints.knee_bends[k], hints.shin_fronts[k]);
    let (thigh, shin) = thigh_and_shin(p, m, g[J::HIPS], leg_hints);
    g[ju] = thigh;
    g[jl] = same_hemisphere(shin, g[ju]);
    let ankle = (hints.ankle_bends[k], hints.feet_seen[k]);
    let foot_fwd = g[jl].rotate(bent_toward(Z, ankle, MAX_ANKLE_BEND).rotate(Z));
    let (across, up) = foot_roll_axes(g[jl], foot_fwd);
    let (sin, cos) = hints.foot_rolls[k].sin_cos();
    let foot_side = add(scale(across, cos), scale(up, sin));
    g[jf] = same_hemisphere(foot_frame(foot_fwd, foot_side), g[jl]);
    g[jt] = g[jf];
}

/// Which way the knee bends in one frame: the shin's direction square to the thigh, reversed
/// (the kneecap's side), as long as the sine of the bend.
fn knee_bend(p: &[Vec3; 33], m: &LegMarks) -> Vec3 {
    let (thigh, shin) = m.bones(p);
    scale(reject(shin, thigh), -1.0)
}

/// Where the foot points in one frame, square to the shin: as long as the sine of the angle
/// between them. A foot pointed in line with the shin leaves it short, its direction noise.
fn shin_front(p: &[Vec3; 33], m: &LegMarks) -> Vec3 {
    let (_, shin) = m.bones(p);
    reject(normalize_or(m.foot_forward(p), Z), shin)
}

/// Where a foot pointing along `forward` (heel→toe) points in the frame of its shin `shin`, less
/// where a foot at rest points (the shin's front, +Z), both unit length: none for an ankle at
/// rest, square to the shin.
fn ankle_bend(forward: Vec3, shin: Quat) -> Vec3 {
    let own = shin
        .conjugate()
        .rotate(normalize_or(forward, shin.rotate(Z)));
    sub(own, Z)
}

/// The thigh's and the shin's global rotations in one frame, for the pelvis `pelvis` and the
/// knee's bend and the shin's front as the frames around show them. The kneecap faces the bend;
/// a straight leg's faces where the foot points; either as far as a hip twists ([`thigh`]).
/// The knee is a hinge: the shin turns from the thigh about the hinge, and twists about itself
/// toward where the foot points as far as a knee can ([`MAX_KNEE_TWIST`]); a foot that points
/// elsewhere turns at the ankle.
fn thigh_and_shin(
    p: &[Vec3; 33],
    m: &LegMarks,
    pelvis: Quat,
    (bend, front): (Vec3, Vec3),
) -> (Quat, Quat) {
    let (thigh_dir, shin) = m.bones(p);
    let kneecap = add(
        reject(bend, thigh_dir),
        scale(reject(normalize_or(front, Z), thigh_dir), 0.2),
    );
    let thigh_q = thigh(pelvis, thigh_dir, kneecap);
    let hinge = normalize_or(reject(thigh_q.rotate(X), shin), X);
    let hinge_turned = cross(shin, hinge);
    // The twist the foot asks for, as a 2D vector as long as the foot is clear, with a slight
    // pull toward none: an unclear foot leaves the shin on the thigh's hinge.
    let wanted = Quat::from_two_axes(NEG_Y, Z, shin, front).rotate(X);
    let clarity = norm(front);
    let (c, s) = (
        dot(wanted, hinge) * clarity + PULL_TO_NONE,
        dot(wanted, hinge_turned) * clarity,
    );
    let (sin, cos) = within_range(s.atan2(c), MAX_KNEE_TWIST).sin_cos();
    let across = add(scale(hinge, cos), scale(hinge_turned, sin));
    (thigh_q, Quat::from_two_axes(NEG_Y, X, shin, across))
}

/// The thigh's global rotation in one frame, pointing along `thigh_dir`: turned from the pelvis
/// `pelvis` at the hip ([`hinged`]), and twisted about itself toward where the kneecap faces
/// (`kneecap`, as long as the knee shows it clearly) as far as a hip twists
/// ([`MAX_HIP_TWIST`]), with a slight pull toward none. Where the frames around give a bend
/// that the moving thigh has left behind, a nearly straight knee gives only noise, or the model
/// guesses the knee bent forward, the kneecap could point anywhere round the thigh: unlimited,
/// it turned cam04's thigh 25.5° in a frame.
fn thigh(pelvis: Quat, thigh_dir: Vec3, kneecap: Vec3) -> Quat {
    let untwisted = hinged(pelvis, (NEG_Y, Z), HIP_FLEXED, thigh_dir);
    let (front, side) = (untwisted.rotate(Z), untwisted.rotate(X));
    let (c, s) = (dot(kneecap, front) + PULL_TO_NONE, dot(kneecap, side));
    let (sin, cos) = within_range(s.atan2(c), MAX_HIP_TWIST).sin_cos();
    Quat::from_two_axes(
        NEG_Y,
        Z,
        thigh_dir,
        add(scale(front, cos), scale(side, sin)),
    )
}

/// The pelvis's global rotation in one frame: +X along the hips toward the left hip, +Y up the
/// spine (hip centre to shoulder centre).
fn pelvis(p: &[Vec3; 33]) -> Quat {
    let hip_c = midpoint(p[lm::LEFT_HIP], p[lm::RIGHT_HIP]);
    let sh_c = midpoint(p[lm::LEFT_SHOULDER], p[lm::RIGHT_SHOULDER]);
    let hip_line = normalize_or(sub(p[lm::LEFT_HIP], p[lm::RIGHT_HIP]), X);
    Quat::from_two_axes(X, Y, hip_line, sub(sh_c, hip_c))
}

/// A twist or roll of `shown` radians (-π..π) kept within ±`limit`: as shown up to the limit
/// and held there; beyond a quarter turn, where the model's guess has the limb on its side or
/// back to front, eased back to none at a half turn, so that the result never jumps from one
/// end of the range to the other as the guess turns on.
fn within_range(shown: f32, limit: f32) -> f32 {
    use std::f32::consts::{FRAC_PI_2, PI};
    let turn = shown.abs();
    let kept = if turn <= FRAC_PI_2 {
        turn.min(limit)
    } else {
        limit * (PI - turn) / FRAC_PI_2
    };
    kept.copysign(shown)
}

/// The axes a foot's roll is measured in, both square to its forward axis: `across`, the
/// sideways axis of the shin's frame `shin` made square to the foot, and `up`, forward crossed
/// with it: a foot rolled by `r` has the sideways axis `cos r * across + sin r * up`.
fn foot_roll_axes(shin: Quat, foot_forward: Vec3) -> (Vec3, Vec3) {
    let forward = normalize_or(foot_forward, Z);
    let shin_across = shin.rotate(X);
    let across = normalize_or(reject(shin_across, forward), shin_across);
    (across, cross(forward, across))
}

fn same_hemisphere(q: Quat, reference: Quat) -> Quat {
    if q.dot(reference) < 0.0 {
        q.negated()
    } else {
        q
    }
}

/// Local rotations from global ones (`local = global(parent)⁻¹ · global`).
pub fn to_local(global: &[Quat; 22]) -> Vec<Quat> {
    (0..22)
        .map(|i| match MIXAMO_PARENTS[i] {
            Some(p) => global[p].conjugate().compose(global[i]).normalized(),
            None => global[i],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `fore` turned as [`unclear_forearm_turn`] turns it.
    fn hinged_where_unclear(upper: Vec3, upper_front: Vec3, fore: Vec3, seen: f32) -> Vec3 {
        unclear_forearm_turn(upper, upper_front, fore, seen).map_or(fore, |turn| turn.rotate(fore))
    }

    #[test]
    fn an_unclear_forearm_is_turned_into_the_hinge_plane_its_bend_kept() {
        // The upper arm down, its front forward; the forearm folded 150° out to the side.
        let (upper, front) = (NEG_Y, Z);
        let bent = 150f32.to_radians();
        let sideways = [bent.sin(), -bent.cos(), 0.0];
        let in_plane = [0.0, -bent.cos(), bent.sin()];
        let unseen = hinged_where_unclear(upper, front, sideways, 0.0);
        assert!(dist(unseen, in_plane) < 1e-5, "{unseen:?}");
        // Seen clearly: as the landmarks put it.
        assert_eq!(
            hinged_where_unclear(upper, front, sideways, CLEAR_HINT),
            sideways
        );
        // Half clear: half way across, toward the front.
        let half = hinged_where_unclear(upper, front, sideways, CLEAR_HINT / 2.0);
        let (across, ahead) = (dot(half, [1.0, 0.0, 0.0]), dot(half, front));
        assert!(
            (across.atan2(ahead).to_degrees() - 45.0).abs() < 1e-3,
            "{half:?}"
        );
    }

    #[test]
    fn a_half_clear_forearm_bent_back_against_its_hinge_does_not_flip() {
        // Folded 150° back against the upper arm's front (the walk-in clip's hidden wrist), a
        // degree either side of straight behind: the two come out as close as they went in,
        // wherever the clarity. (Bent exactly square, half clear, straight behind is the one
        // place left where the way across passes through no direction at all.)
        let (upper, front) = (NEG_Y, Z);
        let (sin, cos) = 150f32.to_radians().sin_cos();
        let back = |deg: f32| {
            let a = deg.to_radians();
            [sin * a.sin(), -cos, -sin * a.cos()]
        };
        for seen in [0.0, 0.05, CLEAR_HINT / 2.0, 0.25] {
            let [a, b] = [-1.0, 1.0].map(|d| hinged_where_unclear(upper, front, back(d), seen));
            assert!(dist(a, b) < 0.05, "seen {seen}: {a:?} {b:?}");
        }
    }

    /// A person standing in the animation's axes (cm, hips at the origin, facing +Z), arms
    /// hanging; the left foot as `heel_to_ankle` and `heel_to_toe` place it.
    fn standing(heel_to_ankle: Vec3, heel_to_toe: Vec3) -> [Vec3; 33] {
        let mut p = [[0.0; 3]; 33];
        for (side, s) in [(0usize, 1.0f32), (1, -1.0)] {
            let at = |x: f32, y: f32, z: f32| [s * x, y, z];
            p[lm::LEFT_SHOULDER + side] = at(18.0, 50.0, 0.0);
            p[lm::LEFT_ELBOW + side] = at(20.0, 22.0, 0.0);
            p[lm::LEFT_WRIST + side] = at(21.0, -3.0, 3.0);
            p[lm::LEFT_PINKY + side] = at(22.0, -11.0, 2.0);
            p[lm::LEFT_INDEX + side] = at(20.0, -11.0, 6.0);
            p[lm::LEFT_HIP + side] = at(10.0, 0.0, 0.0);
            p[lm::LEFT_KNEE + side] = at(10.0, -45.0, 2.0);
            p[lm::LEFT_ANKLE + side] = at(10.0, -88.0, 0.0);
            p[lm::LEFT_HEEL + side] = at(10.0, -94.0, -5.0);
            p[lm::LEFT_FOOT_INDEX + side] = at(10.0, -96.0, 14.0);
            p[lm::LEFT_EAR + side] = at(7.0, 70.0, -2.0);
        }
        p[lm::NOSE] = [0.0, 68.0, 9.0];
        let heel = sub(p[lm::LEFT_ANKLE], heel_to_ankle);
        p[lm::LEFT_HEEL] = heel;
        p[lm::LEFT_FOOT_INDEX] = add(heel, heel_to_toe);
        p
    }

    /// The left foot's and shin's global rotations in each frame, as the solve poses them.
    fn left_foot_and_shin(frames: &[[Vec3; 33]]) -> Vec<(Quat, Quat)> {
        posed(frames)
            .iter()
            .map(|g| (g[J::LEFT_FOOT], g[J::LEFT_LEG]))
            .collect()
    }

    /// Every joint's global rotation in each frame, as the solve poses them (30 fps), every
    /// landmark seen clearly.
    fn posed(frames: &[[Vec3; 33]]) -> Vec<[Quat; 22]> {
        posed_seen(frames, &vec![[1.0; 33]; frames.len()])
    }

    /// [`posed`] with each landmark seen as clearly as `clear` says.
    fn posed_seen(frames: &[[Vec3; 33]], clear: &[[f32; 33]]) -> Vec<[Quat; 22]> {
        let times: Vec<f64> = (0..frames.len()).map(|i| i as f64 / 30.0).collect();
        let sk = build_skeleton(&measure(frames, &vec![[1.0; 33]; frames.len()]));
        let hints = smoothed_limb_hints(frames, &times, clear, HintSource::Tracked);
        frames
            .iter()
            .zip(&hints)
            .map(|(p, h)| global_rotations(p, &sk, h))
            .collect()
    }

    /// The angle (degrees) between two directions.
    fn angle(a: Vec3, b: Vec3) -> f32 {
        (dot(a, b) / (norm(a) * norm(b)))
            .clamp(-1.0, 1.0)
            .acos()
            .to_degrees()
    }

    /// The foot's roll about its forward axis from the shin's sideways axis (degrees).
    fn roll_from_shin(foot: Quat, shin: Quat) -> f32 {
        let (foot_side, across) = (foot.rotate(X), shin.rotate(X));
        let sign = dot(cross(across, foot_side), foot.rotate(Z)).signum();
        sign * angle(foot_side, across)
    }

    #[test]
    fn a_hidden_wrist_s_guess_does_not_turn_the_upper_arm() {
        // The left elbow bent a little forward; for frames 12-17 the model, not seeing the
        // wrist, guesses it far out to the side: an elbow bent sideways, a strong hint.
        let frames: Vec<[Vec3; 33]> = (0..30)
            .map(|i| {
                let mut p = standing([0.0, 6.0, 5.0], [0.0, -2.0, 19.0]);
                if (12..18).contains(&i) {
                    p[lm::LEFT_WRIST] = [34.0, 2.0, 0.0];
                }
                p
            })
            .collect();
        let mut clear = vec![[1.0; 33]; frames.len()];
        for c in &mut clear[12..18] {
            c[lm::LEFT_WRIST] = 0.05;
        }
        let front = |g: &[Quat; 22]| g[J::LEFT_ARM].rotate(Z);
        let turned = |posed: &[[Quat; 22]]| {
            (12..18)
                .map(|i| angle(front(&posed[5]), front(&posed[i])))
                .fold(0.0, f32::max)
        };
        // Read as if the wrist were seen, the guess turns the upper arm far round.
        let seen = turned(&posed(&frames));
        assert!(seen > 25.0, "{seen}");
        let hidden = turned(&posed_seen(&frames, &clear));
        assert!(hidden < 6.0, "the upper arm turned {hidden:.1}°");
    }

    #[test]
    fn an_elbow_folds_no_further_than_an_elbow_can() {
        // The wrist guessed back at the shoulder: the arm folded 175°.
        let mut p = standing([0.0, 6.0, 5.0], [0.0, -2.0, 19.0]);
        let (shoulder, elbow) = (p[lm::LEFT_SHOULDER], p[lm::LEFT_ELBOW]);
        let folded = Quat::from_axis_angle(X, 5f32.to_radians()).rotate(sub(shoulder, elbow));
        p[lm::LEFT_WRIST] = add(elbow, folded);
        let g = posed(&vec![p; 10]);
        let (upper, fore) = (
            g[5][J::LEFT_ARM].rotate(X),
            g[5][J::LEFT_FORE_ARM].rotate(X),
        );
        let bent = angle(upper, fore);
        assert!((bent - 150.0).abs() < 0.5, "the elbow bends {bent:.1}°");
        // An arm within the range keeps its bend.
        let bent_as_shown = |p: &[Vec3; 33]| {
            let g = posed(&vec![*p; 10]);
            angle(
                g[5][J::LEFT_ARM].rotate(X),
                g[5][J::LEFT_FORE_ARM].rotate(X),
            )
        };
        let (upper, fore) = ARM_MARKS[0].bones(&standing([0.0, 6.0, 5.0], [0.0, -2.0, 19.0]));
        let as_given = angle(upper, fore);
        let kept = bent_as_shown(&standing([0.0, 6.0, 5.0], [0.0, -2.0, 19.0]));
        assert!((kept - as_given).abs() < 0.5, "{kept} against {as_given}");
    }

    #[test]
    fn twists_and_bends_are_averaged_over_two_frames_at_least() {
        let at = |fps: f64| (0..50).map(|i| i as f64 / fps).collect::<Vec<f64>>();
        assert!((widened(ARM_TWIST_SIGMA_S, &at(10.0)) - 0.2).abs() < 1e-9);
        assert_eq!(widened(ARM_TWIST_SIGMA_S, &at(30.0)), ARM_TWIST_SIGMA_S);
        assert_eq!(widened(BEND_SIGMA_S, &[0.0]), BEND_SIGMA_S);
    }

    #[test]
    fn exact_hints_are_averaged_over_a_frame_either_side_only() {
        let at_30_fps: Vec<f64> = (0..90).map(|i| i as f64 / 30.0).collect();
        let tracked = HintReading::of(HintSource::Tracked, &at_30_fps);
        assert_eq!(tracked.arm_twist, ARM_TWIST_SIGMA_S);
        assert_eq!(tracked.ankle, ANKLE_SIGMA_S);
        let exact = HintReading::of(HintSource::Exact, &at_30_fps);
        for sigma in [exact.arm_twist, exact.leg_twist, exact.bend, exact.ankle] {
            assert!((sigma - 1.0 / 30.0).abs() < 1e-9, "{sigma}");
        }
        // One frame has no step: the sigma stays above zero, which the Gaussian needs.
        assert!(HintReading::of(HintSource::Exact, &[0.0]).bend > 0.0);
    }

    #[test]
    fn an_exact_palm_turned_past_a_quarter_turn_twists_the_forearm_as_far() {
        // The arm hanging straight down, the palm turned 150° from the hinge's palm-down: a
        // video's guess is eased back toward none (30° of twist), an exact palm is followed.
        let upper_arm = Quat::from_two_axes(X, Z, NEG_Y, Z);
        let untwisted = forearm(upper_arm, X, NEG_Y, Z, None).rotate(Z);
        let palm = Quat::from_axis_angle(NEG_Y, 150f32.to_radians()).rotate(untwisted);
        let exact = forearm(upper_arm, X, NEG_Y, palm, None).rotate(Z);
        assert!(angle(exact, palm) < 0.5, "{:.1}°", angle(exact, palm));
        let video = forearm(upper_arm, X, NEG_Y, palm, Some(MAX_FOREARM_TWIST)).rotate(Z);
        assert!(
            (angle(video, untwisted) - 30.0).abs() < 0.5,
            "{:.1}°",
            angle(video, untwisted)
        );
    }

    #[test]
    fn a_pointed_foot_does_not_spin_about_itself() {
        // A flat foot, pointed for frames 12-17: its heel nearly in line with the ankle and the
        // toe (165°), the foot drawn 6 cm long, and the heel wandering a centimetre one way for
        // three frames and the other way for three, as the model's guess does.
        let toe_dir = normalize_or([0.0, -1.0, 0.9], Z);
        let frames: Vec<[Vec3; 33]> = (0..30)
            .map(|i| match i {
                12..18 => {
                    let wander = if i < 15 { 1.0 } else { -1.0 };
                    let heel_to_ankle = add(scale(toe_dir, -4.0), [wander, 0.7, 0.7]);
                    standing(heel_to_ankle, scale(toe_dir, 6.0))
                }
                _ => standing([0.0, 6.0, 5.0], [0.0, -2.0, 19.0]),
            })
            .collect();
        let own_side = |p: &[Vec3; 33]| foot_side(p, &LEG_MARKS[0]);
        // Frame by frame, those landmarks roll the foot 90° one way and back the other.
        assert!(angle(own_side(&frames[14]), own_side(&frames[15])) > 90.0);
        let rolls: Vec<f32> = left_foot_and_shin(&frames)
            .iter()
            .map(|&(f, s)| roll_from_shin(f, s))
            .collect();
        for (i, pair) in rolls.windows(2).enumerate() {
            let step = (pair[1] - pair[0]).abs();
            assert!(
                step < 5.0,
                "frame {i}: the foot rolled {step:.1}°: {rolls:?}"
            );
        }
    }

    #[test]
    fn a_foot_rolls_at_most_as_far_as_an_ankle_can() {
        // A flat foot whose heel, ankle and toe the model shows rolled 60° onto its side.
        let roll = Quat::from_axis_angle(Z, 60f32.to_radians());
        let heel_to_ankle = roll.rotate([0.0, 6.0, 5.0]);
        let frames = vec![standing(heel_to_ankle, [0.0, -2.0, 19.0]); 10];
        let shown = foot_side(&frames[0], &LEG_MARKS[0]);
        for (foot, shin) in left_foot_and_shin(&frames) {
            let rolled = angle(foot.rotate(X), shin.rotate(X));
            assert!((rolled - 30.0).abs() < 0.1, "rolled {rolled:.2}°");
            // Toward the roll shown (56° from the shin's sideways axis), not away from it, which
            // would leave the foot 86° from it.
            let short = angle(foot.rotate(X), shown);
            assert!(short < 30.0, "{short:.2}° short of the roll shown");
        }
        // Within the range, the foot is as its heel, ankle and toe place it (but for the slight
        // pull toward no roll), rolled either way.
        for degrees in [-20f32, 20.0] {
            let roll = Quat::from_axis_angle(Z, degrees.to_radians());
            let frames = vec![standing(roll.rotate([0.0, 6.0, 5.0]), [0.0, -2.0, 19.0]); 10];
            let left = &LEG_MARKS[0];
            let own = foot_frame(left.foot_forward(&frames[0]), foot_side(&frames[0], left));
            for (foot, _) in left_foot_and_shin(&frames) {
                let off = foot.angle_to(own).to_degrees();
                assert!(off < 2.0, "rolled {degrees}°: {off:.2}° off");
            }
        }
        // Unrolled, the foot keeps its own roll: sideways along the shin's.
        // (The roll eases back to none beyond a quarter turn, and is continuous throughout.)
        assert!(within_range(std::f32::consts::PI, MAX_FOOT_ROLL).abs() < 1e-6);
        let turns = (-360..=360)
            .map(|d| within_range((d as f32 / 2.0).to_radians(), MAX_FOOT_ROLL).to_degrees());
        let turns: Vec<f32> = turns.collect();
        assert!(turns.windows(2).all(|w| (w[1] - w[0]).abs() <= 0.5 + 1e-4));
        assert!(turns.iter().all(|r| r.abs() <= 30.0 + 1e-4));
        let flat = vec![standing([0.0, 6.0, 5.0], [0.0, -2.0, 19.0]); 10];
        for (foot, shin) in left_foot_and_shin(&flat) {
            assert!(angle(foot.rotate(X), shin.rotate(X)) < 0.1);
        }
    }

    /// The left foot drawn `length` cm long, its ankle bent `bend` degrees from rest (toe down)
    /// in the frame of the shin `shin`; the right foot flat and 19 cm long.
    fn bent_ankle(shin: Quat, bend: f32, length: f32) -> [Vec3; 33] {
        let pitch = shin.compose(Quat::from_axis_angle(X, bend.to_radians()));
        let heel_to_ankle = scale(pitch.rotate([0.0, 6.0, 5.0]), length / 19.0);
        standing(heel_to_ankle, scale(pitch.rotate(Z), length))
    }

    /// The left shin's global rotation when the person stands with flat feet.
    fn standing_shin() -> Quat {
        let flat = vec![standing([0.0, 6.0, 5.0], [0.0, -2.0, 19.0]); 4];
        left_foot_and_shin(&flat)[0].1
    }

    #[test]
    fn an_ankle_bends_within_its_range() {
        let shin = standing_shin();
        // (bend as drawn, bend wanted): as drawn within an ankle's range, held at 70°.
        for (drawn, wanted) in [(40.0, 40.0), (-15.0, 15.0), (85.0, 70.0)] {
            let frames = vec![bent_ankle(shin, drawn, 19.0); 10];
            for (i, (foot, shin)) in left_foot_and_shin(&frames).into_iter().enumerate() {
                let bend = angle(foot.rotate(Z), shin.rotate(Z));
                assert!(
                    (bend - wanted).abs() < 0.5,
                    "{drawn}°, frame {i}: bent {bend:.1}°"
                );
                // Toward the foot as drawn, about the shin's sideways axis.
                let axis = normalize_or(cross(shin.rotate(Z), foot.rotate(Z)), X);
                let off = angle(axis, scale(shin.rotate(X), drawn.signum()));
                assert!(off < 1.0, "{drawn}°: bent {off:.1}° off the hinge");
            }
        }
        // Beyond a quarter turn, eased back to rest for a foot turned back to front. (The bend is
        // measured from the shin as posed, which such a foot may twist within a knee's range.)
        for drawn in [130.0, 180.0] {
            let frames = vec![bent_ankle(shin, drawn, 19.0); 10];
            let toe_dir = LEG_MARKS[0].foot_forward(&frames[0]);
            for (foot, shin) in left_foot_and_shin(&frames) {
                let off = eased_bend_off(foot, shin, toe_dir);
                assert!(off < 0.5, "{drawn}°: {off:.1}° off the eased bend");
            }
        }
        let at_rest = within_range(std::f32::consts::PI, MAX_ANKLE_BEND);
        assert!(at_rest.abs() < 1e-6);
    }

    /// How far (degrees) the foot `foot` points from its shin `shin`'s front turned toward
    /// `toe_dir` (the foot as drawn) by what an ankle's eased range leaves of that turn.
    fn eased_bend_off(foot: Quat, shin: Quat, toe_dir: Vec3) -> f32 {
        let front = shin.rotate(Z);
        let shown = angle(toe_dir, front).to_radians();
        let axis = normalize_or(cross(front, toe_dir), shin.rotate(X));
        let kept = within_range(shown, MAX_ANKLE_BEND);
        angle(
            foot.rotate(Z),
            Quat::from_axis_angle(axis, kept).rotate(front),
        )
    }

    #[test]
    fn a_hidden_foot_does_not_spin_the_ankle() {
        // The foot flat in clear view, except in frames 12-17, where the model draws it 3 cm
        // long (hidden) and guesses it pointing down the shin, then back up behind it.
        let shin = standing_shin();
        let frames: Vec<[Vec3; 33]> = (0..30)
            .map(|i| match i {
                12..18 => bent_ankle(shin, if i % 2 == 0 { 80.0 } else { -150.0 }, 3.0),
                _ => bent_ankle(shin, 5.0, 19.0),
            })
            .collect();
        for (i, pair) in left_foot_and_shin(&frames).windows(2).enumerate() {
            let step = pair[0].0.angle_to(pair[1].0).to_degrees();
            assert!(step < 5.0, "frame {i}: the foot turned {step:.1}°");
        }
        // Hidden for half a second and more after the last clear frame, the ankle makes only a
        // small part of the bend its guess asks for (60°).
        let frames: Vec<[Vec3; 33]> = (0..40)
            .map(|i| {
                bent_ankle(
                    shin,
                    if i < 10 { 5.0 } else { 60.0 },
                    19.0 / (1 + i / 10 * 5) as f32,
                )
            })
            .collect();
        for (foot, shin) in &left_foot_and_shin(&frames)[25..] {
            let bend = angle(foot.rotate(Z), shin.rotate(Z));
            assert!(bend < 0.15 * 60.0, "the ankle bent {bend:.1}°");
        }
    }

    #[test]
    fn a_thigh_twists_from_the_pelvis_at_most_as_far_as_a_hip_can() {
        // The left thigh hanging straight down, the knee bent 40°, the lower leg and the foot
        // turned about the thigh by `out` degrees (180: the knee bent forward, as the model
        // guesses it in a flip).
        let turned_knee = |out: f32| {
            let turn = Quat::from_axis_angle(Y, out.to_radians());
            let mut p = standing([0.0, 6.0, 5.0], [0.0, -2.0, 19.0]);
            let knee = [10.0, -45.0, 0.0];
            let shin = [
                0.0,
                -43.0 * 40f32.to_radians().cos(),
                -43.0 * 40f32.to_radians().sin(),
            ];
            p[lm::LEFT_KNEE] = knee;
            p[lm::LEFT_ANKLE] = add(knee, turn.rotate(shin));
            for k in [lm::LEFT_HEEL, lm::LEFT_FOOT_INDEX] {
                let from_ankle = sub(p[k], [10.0, -88.0, 0.0]);
                p[k] = add(p[lm::LEFT_ANKLE], turn.rotate(from_ankle));
            }
            p
        };
        // (turned, twist wanted): toward the kneecap within a hip's range (but for the slight
        // pull toward none), held at 60°, eased back to none for a knee bent forward.
        for (out, wanted) in [(30.0, 28.3), (90.0, 60.0), (150.0, 21.3), (180.0, 0.0)] {
            let left = turned_knee(out);
            for (g, side) in [(posed(&[left; 4]), 0), (posed(&[mirrored(&left); 4]), 1)] {
                let up_leg = [J::LEFT_UP_LEG, J::RIGHT_UP_LEG][side];
                let (front, pelvis) = (g[0][up_leg].rotate(Z), g[0][J::HIPS]);
                let twist = angle(front, pelvis.rotate(Z));
                assert!(
                    (twist - wanted).abs() < 0.5,
                    "{out}°, side {side}: the thigh twisted {twist:.1}°"
                );
                // Toward the kneecap: out to the left for the left leg turned out, and to the
                // right for its mirror image.
                let outward = [1.0, -1.0][side] * dot(front, pelvis.rotate(X));
                assert!(
                    wanted == 0.0 || outward > 0.0,
                    "{out}°, side {side}: twisted in"
                );
            }
        }
    }

    #[test]
    fn a_split_s_back_leg_does_not_spin_the_thigh() {
        // The left leg straight, stretched back 100° from hanging (a split's back leg, the
        // trunk upright), its foot pointing down (the kneecap faces the floor), the leg moving
        // 3° to either side from frame to frame.
        let frames: Vec<[Vec3; 33]> = (0..20)
            .map(|i| {
                let wobble = if i % 2 == 0 { 3f32 } else { -3.0 }.to_radians();
                let back = Quat::from_axis_angle(X, 100f32.to_radians());
                let leg = Quat::from_axis_angle(Y, wobble).compose(back).rotate(NEG_Y);
                let mut p = standing([0.0, 6.0, 5.0], [0.0, -2.0, 19.0]);
                let hip = p[lm::LEFT_HIP];
                p[lm::LEFT_KNEE] = add(hip, scale(leg, 45.0));
                p[lm::LEFT_ANKLE] = add(hip, scale(leg, 88.0));
                p[lm::LEFT_HEEL] = add(p[lm::LEFT_ANKLE], add(scale(leg, -3.0), [0.0, 4.0, 0.0]));
                p[lm::LEFT_FOOT_INDEX] = add(p[lm::LEFT_HEEL], [0.0, -19.0, -3.0]);
                p
            })
            .collect();
        for (i, pair) in posed(&frames).windows(2).enumerate() {
            let step = pair[0][J::LEFT_UP_LEG]
                .angle_to(pair[1][J::LEFT_UP_LEG])
                .to_degrees();
            assert!(step < 10.0, "frame {i}: the thigh turned {step:.1}°");
        }
    }

    /// The pose seen in a mirror: left and right exchanged.
    fn mirrored(p: &[Vec3; 33]) -> [Vec3; 33] {
        let mut m = [[0.0; 3]; 33];
        for (k, q) in p.iter().enumerate() {
            m[lm::opposite(k)] = [-q[0], q[1], q[2]];
        }
        m
    }

    /// The left arm hanging with the elbow bent 90°, the forearm pointing forward, as the model
    /// draws it: the palm's thumb side turned `palm_turn` degrees from straight up (toward the
    /// body's midline, -X, for a positive turn), the hand bent `hand_bend` degrees up from the
    /// forearm, drawn `hand_length` cm long and `hand_width` cm wide.
    fn bent_elbow(palm_turn: f32, hand_bend: f32, hand_length: f32, hand_width: f32) -> [Vec3; 33] {
        let mut p = standing([0.0, 6.0, 5.0], [0.0, -2.0, 19.0]);
        let wrist = add(p[lm::LEFT_ELBOW], [0.0, 0.0, 25.0]);
        let across = Quat::from_axis_angle(Z, palm_turn.to_radians()).rotate(Y);
        let hand = Quat::from_axis_angle(X, -hand_bend.to_radians()).rotate(Z);
        let knuckles = add(wrist, scale(hand, hand_length));
        p[lm::LEFT_WRIST] = wrist;
        p[lm::LEFT_INDEX] = add(knuckles, scale(across, 0.5 * hand_width));
        p[lm::LEFT_PINKY] = add(knuckles, scale(across, -0.5 * hand_width));
        p
    }

    /// How far (degrees) the forearm of each arm twists from the upper arm's hinge: the angle
    /// between where it faces and where it would, turned from the upper arm about the elbow's
    /// hinge alone ([`hinged`]).
    fn forearm_twists(g: &[Quat; 22]) -> [f32; 2] {
        [
            (J::LEFT_ARM, J::LEFT_FORE_ARM, X),
            (J::RIGHT_ARM, J::RIGHT_FORE_ARM, NEG_X),
        ]
        .map(|(upper, fore, rest)| {
            let untwisted = hinged(g[upper], (rest, Z), HALF_BENT, g[fore].rotate(rest));
            angle(g[fore].rotate(Z), untwisted.rotate(Z))
        })
    }

    #[test]
    fn a_forearm_twists_toward_the_palm_within_its_range() {
        // The palm turned from thumb up: within a forearm's range, the forearm faces it; beyond
        // (the model's hand back to front), the twist eases back to none at a half turn.
        for turn in [-60.0f32, 0.0, 40.0, 80.0, 120.0, 180.0] {
            let left = bent_elbow(turn, 0.0, 8.0, 5.0);
            let shown = sub(left[lm::LEFT_INDEX], left[lm::LEFT_PINKY]);
            let mirrored_shown = [-shown[0], shown[1], shown[2]];
            for (g, (sides, shown)) in [
                (posed(&[left; 6])[3], (0, shown)),
                (posed(&[mirrored(&left); 6])[3], (1, mirrored_shown)),
            ] {
                let (upper, fore, rest) = [
                    (J::LEFT_ARM, J::LEFT_FORE_ARM, X),
                    (J::RIGHT_ARM, J::RIGHT_FORE_ARM, NEG_X),
                ][sides];
                if turn.abs() <= 90.0 {
                    let off = angle(g[fore].rotate(Z), shown);
                    assert!(off < 1.0, "turned {turn}°, side {sides}: {off:.1}° off");
                } else {
                    // The palm's turn from the untwisted forearm (the upper arm itself turns a
                    // few degrees toward the palm), and what is left of it.
                    let untwisted = hinged(g[upper], (rest, Z), HALF_BENT, g[fore].rotate(rest));
                    let shown = angle(untwisted.rotate(Z), shown);
                    let twist = forearm_twists(&g)[sides];
                    assert!(
                        (twist - (180.0 - shown)).abs() < 1.0,
                        "turned {turn}°, side {sides}: shown {shown:.1}°, twist {twist:.1}°"
                    );
                }
            }
        }
    }

    #[test]
    fn a_forearm_turned_off_its_hinge_still_faces_the_palm() {
        // The upper arm hanging and facing forward, its elbow's hinge along +X; the forearm as
        // the model may guess it for a frame, against the bend the frames around show: along
        // the hinge, a hair to either side of it, and folded nearly back onto the upper arm. A
        // hinge axis kept square to the forearm turns half round between the first two, a
        // swing from the upper arm spins about the last; the palm, thumb forward, is clear.
        let upper_arm = Quat::from_two_axes(X, Z, NEG_Y, Z);
        let palm = Z;
        let video = Some(MAX_FOREARM_TWIST);
        for (a, b) in [
            ([1.0, 0.0, 0.01], [1.0, 0.0, -0.01]),
            ([0.01, 1.0, 0.0], [-0.01, 1.0, 0.0]),
            ([0.01, 1.0, 0.0], [0.0, 1.0, 0.01]),
        ] {
            let [a, b] = [a, b].map(|v| forearm(upper_arm, X, normalize_or(v, X), palm, video));
            let turn = a.angle_to(b).to_degrees();
            assert!(turn < 5.0, "the forearm turned {turn:.1}°");
        }
        let along_hinge = forearm(upper_arm, X, X, palm, video);
        assert!(angle(along_hinge.rotate(Z), palm) < 1.0);
    }

    #[test]
    fn a_hidden_hand_does_not_spin_the_forearm() {
        // The palm turned 30° in clear view, except in frames 12-17, where the model draws the
        // hand 1.5 cm long and 1 cm wide (hidden) and guesses it turned one way, then the other.
        let frames: Vec<[Vec3; 33]> = (0..30)
            .map(|i| match i {
                12..18 => {
                    let (turn, bend) = if i % 2 == 0 {
                        (150.0, 70.0)
                    } else {
                        (-140.0, -60.0)
                    };
                    bent_elbow(turn, bend, 1.5, 1.0)
                }
                _ => bent_elbow(30.0, 10.0, 8.0, 5.0),
            })
            .collect();
        let both_arms = |frames: &[[Vec3; 33]]| {
            let mirror: Vec<[Vec3; 33]> = frames.iter().map(mirrored).collect();
            [(posed(frames), 0), (posed(&mirror), 1)]
        };
        for (poses, sides) in both_arms(&frames) {
            let joints = [
                [J::LEFT_FORE_ARM, J::LEFT_HAND],
                [J::RIGHT_FORE_ARM, J::RIGHT_HAND],
            ][sides];
            for (i, pair) in poses.windows(2).enumerate() {
                for j in joints {
                    let step = pair[0][j].angle_to(pair[1][j]).to_degrees();
                    assert!(step < 5.0, "frame {i}, joint {j}: turned {step:.1}°");
                }
            }
        }
        // Hidden for half a second and more after the last clear frame, the hand makes only a
        // small part of the turns its guess asks for: the forearm stays near the upper arm's
        // hinge (the guess, back to front, asks for 30°) and the wrist nearly straight (70°).
        let frames: Vec<[Vec3; 33]> = (0..40)
            .map(|i| match i {
                0..10 => bent_elbow(30.0, 10.0, 8.0, 5.0),
                _ => bent_elbow(150.0, 70.0, 1.5, 1.0),
            })
            .collect();
        for (poses, sides) in both_arms(&frames) {
            let (fore, hand) = [
                (J::LEFT_FORE_ARM, J::LEFT_HAND),
                (J::RIGHT_FORE_ARM, J::RIGHT_HAND),
            ][sides];
            for g in &poses[25..] {
                let twist = forearm_twists(g)[sides];
                assert!(twist < 0.15 * 30.0, "side {sides}: twisted {twist:.1}°");
                let bend = g[fore].angle_to(g[hand]).to_degrees();
                assert!(
                    bend < 0.15 * 70.0,
                    "side {sides}: the wrist bent {bend:.1}°"
                );
            }
        }
    }

    #[test]
    fn a_wrist_bends_within_its_range_and_does_not_twist() {
        // (the hand bent up from the forearm, the bend wanted): as drawn within a wrist's
        // range, held there; bent back on the forearm, eased back to none at a half turn.
        for (bend, wanted) in [
            (40.0f32, 40.0f32),
            (-30.0, 30.0),
            (85.0, 80.0),
            (130.0, 80.0 * 50.0 / 90.0),
            (180.0, 0.0),
        ] {
            let left = bent_elbow(20.0, bend, 8.0, 5.0);
            let arms = [
                (left, ARM_MARKS[0].rest, (J::LEFT_FORE_ARM, J::LEFT_HAND)),
                (
                    mirrored(&left),
                    ARM_MARKS[1].rest,
                    (J::RIGHT_FORE_ARM, J::RIGHT_HAND),
                ),
            ];
            for (k, (p, rest, (fore, hand))) in arms.into_iter().enumerate() {
                let g = posed(&[p; 6])[3];
                let (fore, hand) = (g[fore], g[hand]);
                let bent = angle(fore.rotate(rest), hand.rotate(rest));
                assert!(
                    (bent - wanted).abs() < 1.0,
                    "bent {bend}°, arm {k}: {bent:.1}°"
                );
                // The hand is the forearm turned about the wrist's bend alone: no twist.
                let swing = Quat::from_to(fore.rotate(rest), hand.rotate(rest));
                let twist = swing.compose(fore).angle_to(hand).to_degrees();
                assert!(
                    twist < 0.5,
                    "bent {bend}°, arm {k}: the hand twisted {twist:.1}°"
                );
                if bend.abs() <= 80.0 {
                    let drawn = ARM_MARKS[k].hand_length(&p);
                    let off = angle(hand.rotate(rest), drawn);
                    assert!(
                        off < 1.0,
                        "bent {bend}°, arm {k}: the hand points {off:.1}° off"
                    );
                }
            }
        }
        // A hand guessed behind the forearm, a hair to either side of it, stays put.
        let fore = Z;
        let forearm = Quat::from_two_axes(X, Z, fore, Y);
        let [a, b] =
            [0.02f32, -0.02].map(|y| hand(forearm, fore, (sub([0.0, y, -1.0], fore), 1.0)));
        let turn = a.angle_to(b).to_degrees();
        assert!(turn < 5.0, "the hand turned {turn:.1}°");
    }

    #[test]
    fn a_straight_wrist_stays_straight_on_a_fast_swing() {
        // The bent-elbow arm waving: the forearm swings ±45° about the upper arm at 3 Hz, the
        // hand in line with it and clearly seen. Where the hand points, averaged over the frames
        // around, lags the swing at each end; the wrist's bend from the forearm does not.
        let frames: Vec<[Vec3; 33]> = (0..30)
            .map(|i| {
                let swing =
                    45f32.to_radians() * (i as f32 * 3.0 * std::f32::consts::TAU / 30.0).sin();
                let turn = Quat::from_axis_angle(Y, swing);
                let mut p = bent_elbow(0.0, 0.0, 8.0, 5.0);
                let elbow = p[lm::LEFT_ELBOW];
                for k in [lm::LEFT_WRIST, lm::LEFT_INDEX, lm::LEFT_PINKY] {
                    p[k] = add(elbow, turn.rotate(sub(p[k], elbow)));
                }
                p
            })
            .collect();
        for (i, g) in posed(&frames).iter().enumerate() {
            let bend = angle(g[J::LEFT_FORE_ARM].rotate(X), g[J::LEFT_HAND].rotate(X));
            assert!(bend < 1.0, "frame {i}: the wrist bent {bend:.1}°");
        }
    }

    #[test]
    fn a_shin_twists_from_the_thigh_at_most_as_far_as_a_knee_can() {
        // The knee bent 40° forward; the foot as the model guesses it, 19 cm long, turned out
        // by `out` degrees (180: back to front).
        let bent_knee = |out: f32| {
            let toe_dir = Quat::from_axis_angle(Y, out.to_radians()).rotate(Z);
            let mut p = standing([0.0, 6.0, 5.0], scale(toe_dir, 19.0));
            p[lm::LEFT_KNEE] = [10.0, -40.0, 15.0];
            (p, toe_dir)
        };
        for (out, twist_wanted) in [(20.0, None), (60.0, Some(30.0)), (180.0, Some(0.0))] {
            let (left, toe_dir) = bent_knee(out);
            let right = mirrored(&left);
            let toe_dirs = [toe_dir, [-toe_dir[0], toe_dir[1], toe_dir[2]]];
            for (g, sides) in [(posed(&[left; 4]), 0), (posed(&[right; 4]), 1)] {
                let (up_leg, leg, foot) = [
                    (J::LEFT_UP_LEG, J::LEFT_LEG, J::LEFT_FOOT),
                    (J::RIGHT_UP_LEG, J::RIGHT_LEG, J::RIGHT_FOOT),
                ][sides];
                let g = g[0];
                let shin_up = g[leg].rotate(Y);
                // About the shin: from the thigh's hinge, square to the shin, to the shin's.
                let hinge = reject(g[up_leg].rotate(X), shin_up);
                let twist = angle(g[leg].rotate(X), hinge);
                let foot_front = reject(toe_dirs[sides], shin_up);
                let off = angle(g[leg].rotate(Z), foot_front);
                match twist_wanted {
                    // Within a knee's range the shin faces where the foot points.
                    None => assert!(off < 2.0, "{out}° out, {sides}: the shin is {off:.1}° off"),
                    Some(wanted) => {
                        assert!(
                            (twist - wanted).abs() < 0.5,
                            "{out}°, {sides}: twist {twist:.1}°"
                        );
                        if wanted > 0.0 {
                            // ...and beyond it, as near as the knee lets it.
                            let untwisted = angle(cross(hinge, shin_up), foot_front);
                            assert!(off < untwisted, "{out}°, {sides}: twisted away");
                        }
                    }
                }
                // Whatever the shin does, the foot points where its heel and toe say, as far
                // as an ankle bends: beyond a quarter turn from the shin's front (the foot turned
                // back to front), the bend eases back toward rest.
                let foot_off = eased_bend_off(g[foot], g[leg], toe_dirs[sides]);
                assert!(
                    foot_off < 0.5,
                    "{out}°, {sides}: the foot is {foot_off:.1}° off"
                );
            }
        }
    }
}
