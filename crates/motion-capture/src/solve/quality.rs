//! `quality.json`'s numbers: how well the solved skeleton explains the video.

use serde::Serialize;

use crate::animation::math::{Vec3, dist, sub};
use crate::animation::{Animation, joint as J};

use super::{Solution, SolveInput, ground};

/// BlazePose landmark ↔ skeleton joint pairs compared for reprojection: shoulders, elbows,
/// wrists, hips, knees, ankles.
pub const BODY_PAIRS: [(usize, usize); 12] = [
    (11, J::LEFT_ARM),
    (12, J::RIGHT_ARM),
    (13, J::LEFT_FORE_ARM),
    (14, J::RIGHT_FORE_ARM),
    (15, J::LEFT_HAND),
    (16, J::RIGHT_HAND),
    (23, J::LEFT_UP_LEG),
    (24, J::RIGHT_UP_LEG),
    (25, J::LEFT_LEG),
    (26, J::RIGHT_LEG),
    (27, J::LEFT_FOOT),
    (28, J::RIGHT_FOOT),
];

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Quality {
    pub frame_count: usize,
    pub person_found_frames: usize,
    pub person_found_ratio: f32,
    /// Mean distance (px) between the solved joints projected into the frame and the detected
    /// 2D landmarks (visible ones, frames with a person).
    pub reprojection_error_px: f32,
    /// Mean joint acceleration magnitude, m/s² (body joints, root-relative).
    #[serde(rename = "jitterMps2")]
    pub jitter_m_s2: f32,
    /// Mean horizontal speed of planted feet, cm/s, each by its end (heel or toe tip) that moves
    /// less: a planted foot may turn about either.
    #[serde(rename = "footSkateCmps")]
    pub foot_skate_cm_s: f32,
    /// Fraction of frames with at least one planted foot.
    pub contact_ratio: f32,
}

/// The quality of `sol`, solved from `input`; `found` frames had the performer tracked (some of
/// them may be missing from `input`, where the solve set a mislabelled pose aside).
pub fn measure(
    sol: &Solution,
    input: &SolveInput<'_>,
    found: usize,
    times: &[f64],
    heel: [Vec3; 2],
) -> Quality {
    let n = input.frames.len();
    Quality {
        frame_count: n,
        person_found_frames: found,
        person_found_ratio: found as f32 / n.max(1) as f32,
        reprojection_error_px: reprojection(sol, input),
        jitter_m_s2: jitter(&body_positions(&sol.animation), sol.animation.frame_time_s),
        foot_skate_cm_s: ground::foot_skate(&sol.animation, times, heel, &sol.contacts),
        contact_ratio: sol.contacts.iter().filter(|c| c[0] || c[1]).count() as f32
            / n.max(1) as f32,
    }
}

fn reprojection(sol: &Solution, input: &SolveInput<'_>) -> f32 {
    let (w, h) = (input.width as f32, input.height as f32);
    let (mut sum, mut count) = (0.0f64, 0usize);
    for (i, (f, frame)) in input.frames.iter().zip(&sol.animation.frames).enumerate() {
        let Some(pose) = &f.pose else { continue };
        let joints = sol.animation.world_positions(frame);
        for &(l, j) in &BODY_PAIRS {
            let lmk = pose.image[l];
            if super::visibility_in_view(&lmk) < 0.5 {
                continue;
            }
            if let Some(px) = sol.project(i, joints[j]) {
                let d = ((px[0] - lmk.x * w).powi(2) + (px[1] - lmk.y * h).powi(2)).sqrt();
                sum += d as f64;
                count += 1;
            }
        }
    }
    if count == 0 {
        0.0
    } else {
        (sum / count as f64) as f32
    }
}

/// Root-relative positions (cm) of the 12 compared body joints per frame.
pub fn body_positions(anim: &Animation) -> Vec<Vec<Vec3>> {
    anim.frames
        .iter()
        .map(|f| {
            let p = anim.world_positions(f);
            BODY_PAIRS
                .iter()
                .map(|&(_, j)| sub(p[j], p[J::HIPS]))
                .collect()
        })
        .collect()
}

/// Mean second-difference magnitude per joint, in m/s² (positions given in cm).
pub fn jitter(frames: &[Vec<Vec3>], dt: f64) -> f32 {
    if frames.len() < 3 {
        return 0.0;
    }
    let (mut sum, mut count) = (0.0f64, 0usize);
    for t in 1..frames.len() - 1 {
        for ((next, cur), prev) in frames[t + 1].iter().zip(&frames[t]).zip(&frames[t - 1]) {
            let a = sub(*next, *cur);
            let b = sub(*cur, *prev);
            sum += dist(a, b) as f64;
            count += 1;
        }
    }
    (sum / count as f64 / (dt * dt) / 100.0) as f32
}
