//! From smoothed 3D landmarks to the Mixamo-named skeleton: bone lengths and joint rotations.
//!
//! Landmarks here are already in the animation's axes (cm, Y up, the performer facing +Z when
//! facing the camera, their left toward +X) and centred on the hips.

use crate::animation::math::{Quat, Vec3, add, dist, midpoint, normalize_or, reject, scale, sub};
use crate::animation::{Joint, MIXAMO_JOINTS, MIXAMO_PARENTS, Skeleton, joint as J};

use super::smooth;

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
        for (a, h, t, mirror) in [
            (lm::LEFT_ANKLE, lm::LEFT_HEEL, lm::LEFT_FOOT_INDEX, false),
            (lm::RIGHT_ANKLE, lm::RIGHT_HEEL, lm::RIGHT_FOOT_INDEX, true),
        ] {
            let g = foot_frame(p[a], p[h], p[t]).conjugate();
            let mut toe = g.rotate(sub(p[t], p[a]));
            let mut heel = g.rotate(sub(p[h], p[a]));
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

/// The foot's global rotation: forward (heel→toe) is +Z at rest, up (heel→ankle) +Y.
fn foot_frame(ankle: Vec3, heel: Vec3, toe: Vec3) -> Quat {
    Quat::from_two_axes(Z, Y, sub(toe, heel), sub(ankle, heel))
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
/// for the rest skeleton `sk` (its offsets place the spine and clavicles). `elbow_bends`:
/// the direction each elbow bends toward in this frame, [left, right], as
/// [`smoothed_elbow_bends`] found it.
pub fn global_rotations(p: &[Vec3; 33], sk: &Skeleton, elbow_bends: [Vec3; 2]) -> [Quat; 22] {
    let off = |j: usize| sk.joints[j].offset;
    let hip_c = midpoint(p[lm::LEFT_HIP], p[lm::RIGHT_HIP]);
    let sh_c = midpoint(p[lm::LEFT_SHOULDER], p[lm::RIGHT_SHOULDER]);
    let hip_line = normalize_or(sub(p[lm::LEFT_HIP], p[lm::RIGHT_HIP]), X);
    let sh_line = normalize_or(sub(p[lm::LEFT_SHOULDER], p[lm::RIGHT_SHOULDER]), X);
    let mut g = [Quat::IDENTITY; 22];
    g[J::HIPS] = Quat::from_two_axes(X, Y, hip_line, sub(sh_c, hip_c));
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
    for (s, bend) in [(Side::Left, elbow_bends[0]), (Side::Right, elbow_bends[1])] {
        arm(p, s, chest_fwd, bend, &mut g);
        leg(p, s, &mut g);
    }
    g
}

/// Which way each elbow bends, [left, right] per frame: the bend vector (its length the sine of
/// the bend) averaged over the frames around. Nearly straight, the bend's direction is landmark
/// noise (a few degrees of bend can point anywhere round the arm, which spun the upper arm frame
/// to frame); averaged, noise cancels and a clear bend nearby in time dominates, while a stretch
/// where the arm stays straight averages to almost nothing and leaves the twist to the hand.
pub fn smoothed_elbow_bends(frames: &[[Vec3; 33]], times_s: &[f64]) -> Vec<[Vec3; 2]> {
    let arms = [
        (lm::LEFT_SHOULDER, lm::LEFT_ELBOW, lm::LEFT_WRIST),
        (lm::RIGHT_SHOULDER, lm::RIGHT_ELBOW, lm::RIGHT_WRIST),
    ];
    let smoothed = arms.map(|(sh, el, wr)| {
        let bends: Vec<Vec3> = frames
            .iter()
            .map(|p| {
                let upper = normalize_or(sub(p[el], p[sh]), X);
                reject(normalize_or(sub(p[wr], p[el]), upper), upper)
            })
            .collect();
        smooth::smooth_points(times_s, &bends, ELBOW_BEND_SIGMA_S)
    });
    (0..frames.len())
        .map(|i| [smoothed[0][i], smoothed[1][i]])
        .collect()
}

/// Gaussian sigma (s) of the elbow's bend over time.
const ELBOW_BEND_SIGMA_S: f64 = 0.15;

#[derive(Clone, Copy)]
enum Side {
    Left,
    Right,
}

fn arm(p: &[Vec3; 33], side: Side, chest_fwd: Vec3, bend: Vec3, g: &mut [Quat; 22]) {
    let (sh, el, wr, pi, ix, rest, ja, jf, jh) = match side {
        Side::Left => (
            lm::LEFT_SHOULDER,
            lm::LEFT_ELBOW,
            lm::LEFT_WRIST,
            lm::LEFT_PINKY,
            lm::LEFT_INDEX,
            X,
            J::LEFT_ARM,
            J::LEFT_FORE_ARM,
            J::LEFT_HAND,
        ),
        Side::Right => (
            lm::RIGHT_SHOULDER,
            lm::RIGHT_ELBOW,
            lm::RIGHT_WRIST,
            lm::RIGHT_PINKY,
            lm::RIGHT_INDEX,
            NEG_X,
            J::RIGHT_ARM,
            J::RIGHT_FORE_ARM,
            J::RIGHT_HAND,
        ),
    };
    let upper = normalize_or(sub(p[el], p[sh]), rest);
    let fore = normalize_or(sub(p[wr], p[el]), upper);
    let palm_across = normalize_or(sub(p[ix], p[pi]), chest_fwd);
    // The elbow's bend plane (averaged over the frames around, see `smoothed_elbow_bends`)
    // fixes the upper arm's twist; near full extension it is undefined, so the hand's
    // orientation and the chest's forward axis take over smoothly.
    let bend = reject(bend, upper);
    let hint = add(
        add(bend, scale(reject(palm_across, upper), 0.2)),
        scale(reject(chest_fwd, upper), 0.05),
    );
    g[ja] = Quat::from_two_axes(rest, Z, upper, hint);
    g[jf] = Quat::from_two_axes(rest, Z, fore, palm_across);
    let hand_dir = sub(midpoint(p[ix], p[pi]), p[wr]);
    g[jh] = Quat::from_two_axes(rest, Z, hand_dir, palm_across);
    g[jf] = same_hemisphere(g[jf], g[ja]);
    g[jh] = same_hemisphere(g[jh], g[jf]);
}

fn leg(p: &[Vec3; 33], side: Side, g: &mut [Quat; 22]) {
    let (hip, knee, ankle, heel, toe, ju, jl, jf, jt) = match side {
        Side::Left => (
            lm::LEFT_HIP,
            lm::LEFT_KNEE,
            lm::LEFT_ANKLE,
            lm::LEFT_HEEL,
            lm::LEFT_FOOT_INDEX,
            J::LEFT_UP_LEG,
            J::LEFT_LEG,
            J::LEFT_FOOT,
            J::LEFT_TOE_BASE,
        ),
        Side::Right => (
            lm::RIGHT_HIP,
            lm::RIGHT_KNEE,
            lm::RIGHT_ANKLE,
            lm::RIGHT_HEEL,
            lm::RIGHT_FOOT_INDEX,
            J::RIGHT_UP_LEG,
            J::RIGHT_LEG,
            J::RIGHT_FOOT,
            J::RIGHT_TOE_BASE,
        ),
    };
    let thigh = normalize_or(sub(p[knee], p[hip]), NEG_Y);
    let shin = normalize_or(sub(p[ankle], p[knee]), thigh);
    let foot_fwd = sub(p[toe], p[heel]);
    // The kneecap points against the shin's bend; the foot's direction covers straight legs.
    let knee_fwd = add(
        scale(reject(shin, thigh), -1.0),
        scale(reject(normalize_or(foot_fwd, Z), thigh), 0.2),
    );
    g[ju] = Quat::from_two_axes(NEG_Y, Z, thigh, knee_fwd);
    g[jl] = same_hemisphere(Quat::from_two_axes(NEG_Y, Z, shin, foot_fwd), g[ju]);
    g[jf] = same_hemisphere(foot_frame(p[ankle], p[heel], p[toe]), g[jl]);
    g[jt] = g[jf];
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
