//! A bone's twist about itself, followed over the whole clip.
//!
//! Where a bone's twist comes from a hint that can reverse (an elbow's bend plane: the model's
//! arm straightens and bends a little the other way, or a guess jumps between frames), reading
//! the twist frame by frame turns the bone half round in one frame. Followed as an angle about
//! the bone, measured from an axis carried along with the bone as it swings, the twist is
//! unwrapped against the clear frames before it and then averaged over the frames around,
//! weighted by how clear each frame's hint is: a faint or reversed hint between clear ones
//! takes their twist, and where the hint really turns round, the turn is spread over the frames
//! around instead of made at once.

use std::f32::consts::TAU;

use crate::animation::math::{
    Vec3, add, any_perpendicular, cross, dot, normalize_or, reject, scale,
};

use super::smooth;

/// For each frame, the direction square to the bone `bones[i]` (unit) that its twist turns its
/// front to: the hints `hints[i]` (their parts square to the bone, as long as the hint is clear)
/// followed over time as the module's documentation says, averaged over the frames around
/// ([`weighted_average`], `sigma_s` seconds where they are clear). The weight of a frame's hint
/// is its squared length: one half as long counts a quarter as much.
pub fn followed_fronts(times_s: &[f64], bones: &[Vec3], hints: &[Vec3], sigma_s: f64) -> Vec<Vec3> {
    let axes = carried_axes(bones);
    let (angles, weights): (Vec<f32>, Vec<f32>) = bones
        .iter()
        .zip(hints)
        .zip(&axes)
        .map(|((&bone, &hint), &(along, side))| {
            let square = reject(hint, bone);
            let weight = dot(square, square);
            (dot(square, side).atan2(dot(square, along)), weight)
        })
        .unzip();
    let angles = unwrapped(times_s, &angles, &weights, sigma_s);
    let angles = weighted_average(times_s, &angles, &weights, sigma_s);
    angles
        .iter()
        .zip(&axes)
        .map(|(&angle, &(along, side))| {
            let (sin, cos) = angle.sin_cos();
            normalize_or(add(scale(along, cos), scale(side, sin)), along)
        })
        .collect()
}

/// Per frame, two unit axes square to the bone (`along`, and `side` = bone × along) that the
/// twist is measured from: the first frame's any, each next frame's carried over from the
/// frame before by the bone's swing alone (the previous axis made square to the new bone), so
/// they never turn about the bone themselves.
fn carried_axes(bones: &[Vec3]) -> Vec<(Vec3, Vec3)> {
    let mut along: Option<Vec3> = None;
    bones
        .iter()
        .map(|&bone| {
            let fresh = any_perpendicular(bone);
            let next = along.map_or(fresh, |a| normalize_or(reject(a, bone), fresh));
            along = Some(next);
            (next, normalize_or(cross(bone, next), fresh))
        })
        .collect()
}

/// The angles (radians, each as measured, −π..π) shifted by whole turns to follow on from the
/// frames before: each is put within half a turn of the running average of those already
/// followed, weighted by `weights` and fading over `sigma_s` seconds. Against that average
/// rather than the frame before, a faint hint pointing the other way (a half turn off, either
/// way) does not decide which way round the next clear one is counted.
fn unwrapped(times_s: &[f64], angles: &[f32], weights: &[f32], sigma_s: f64) -> Vec<f32> {
    let mut average: Option<f32> = None;
    let mut mass = 0.0f32;
    let mut previous_s = times_s.first().copied().unwrap_or(0.0);
    angles
        .iter()
        .zip(weights)
        .zip(times_s)
        .map(|((&angle, &weight), &t)| {
            let followed = average.map_or(angle, |a| angle + TAU * ((a - angle) / TAU).round());
            mass *= (-(t - previous_s) / sigma_s).exp() as f32;
            previous_s = t;
            let total = mass + weight;
            average = Some(match average {
                Some(a) if total > 0.0 => (a * mass + followed * weight) / total,
                Some(a) => a,
                None => followed,
            });
            mass = total;
            followed
        })
        .collect()
}

/// `values` averaged over the frames around, each weighted by `weights`, over as long a time as
/// it takes to gather clear frames: a Gaussian of `sigma_s` seconds where the frames around
/// hold [`CLEAR_WEIGHT`] on average, widening (×2, ×4, ×8) where they hold less, gradually. A
/// stretch where the hint is faint in every frame (an arm held almost straight, its bend plane
/// wandering with each guess) takes its twist from the clear frames either side, turned slowly
/// across, rather than following the wander.
fn weighted_average(times_s: &[f64], values: &[f32], weights: &[f32], sigma_s: f64) -> Vec<f32> {
    let weighted: Vec<f32> = values.iter().zip(weights).map(|(v, w)| v * w).collect();
    let at_scale = |sigma_s: f64| -> (Vec<f32>, Vec<f32>) {
        let sums = smooth::smooth_scalar(times_s, &weighted, sigma_s);
        let masses = smooth::smooth_scalar(times_s, weights, sigma_s);
        let averages = (sums.iter().zip(&masses).zip(values))
            .map(|((&sum, &mass), &own)| if mass > 1e-9 { sum / mass } else { own })
            .collect();
        (averages, masses)
    };
    let (mut averaged, _) = at_scale(sigma_s * 8.0);
    for widening in [4.0, 2.0, 1.0] {
        let (closer, masses) = at_scale(sigma_s * widening);
        for ((a, c), mass) in averaged.iter_mut().zip(closer).zip(masses) {
            *a += (c - *a) * (mass / CLEAR_WEIGHT).min(1.0);
        }
    }
    averaged
}

/// The average weight of the frames around at which the twist is taken from them alone: that of
/// a hint a quarter long (an elbow bent about 15°).
const CLEAR_WEIGHT: f32 = 0.25 * 0.25;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::animation::math::norm;

    const DOWN: Vec3 = [0.0, -1.0, 0.0];

    fn times(n: usize) -> Vec<f64> {
        (0..n).map(|i| i as f64 / 30.0).collect()
    }

    /// The angle (degrees) between two directions.
    fn degrees(a: Vec3, b: Vec3) -> f32 {
        (dot(a, b) / (norm(a) * norm(b)))
            .clamp(-1.0, 1.0)
            .acos()
            .to_degrees()
    }

    fn largest_step(fronts: &[Vec3]) -> f32 {
        fronts
            .windows(2)
            .map(|w| degrees(w[0], w[1]))
            .fold(0.0, f32::max)
    }

    #[test]
    fn a_clear_steady_hint_is_followed_exactly() {
        let n = 30;
        let hint = [0.0, 0.0, 0.5];
        let fronts = followed_fronts(&times(n), &vec![DOWN; n], &vec![hint; n], 0.1);
        for front in fronts {
            assert!(degrees(front, hint) < 0.01, "{front:?}");
        }
    }

    #[test]
    fn a_faint_reversed_hint_between_clear_ones_keeps_their_twist() {
        let n = 30;
        let mut hints = vec![[0.0, 0.0, 0.5]; n];
        for h in &mut hints[14..17] {
            *h = [0.0, 0.0, -0.05];
        }
        let fronts = followed_fronts(&times(n), &vec![DOWN; n], &hints, 0.1);
        for (i, front) in fronts.iter().enumerate() {
            assert!(
                degrees(*front, [0.0, 0.0, 1.0]) < 2.0,
                "frame {i}: {front:?}"
            );
        }
    }

    #[test]
    fn a_hint_that_turns_round_at_once_is_followed_gradually() {
        // A clear bend one way, then as clear the other way from one frame to the next.
        let n = 30;
        let hints: Vec<Vec3> = (0..n)
            .map(|i| {
                if i < 15 {
                    [0.0, 0.0, 0.5]
                } else {
                    [0.1, 0.0, -0.5]
                }
            })
            .collect();
        let fronts = followed_fronts(&times(n), &vec![DOWN; n], &hints, 0.1);
        let step = largest_step(&fronts);
        assert!(step < 60.0, "turned {step:.1}° in a frame");
        assert!(degrees(fronts[0], hints[0]) < 1.0);
        assert!(degrees(fronts[n - 1], hints[n - 1]) < 1.0);
    }

    #[test]
    fn the_twist_stays_put_while_the_bone_swings() {
        // The bone swings from down to forward about the sideways axis; a hint that keeps
        // pointing sideways leaves the twist where it is.
        let n = 30;
        let bones: Vec<Vec3> = (0..n)
            .map(|i| {
                let a = i as f32 / (n - 1) as f32 * std::f32::consts::FRAC_PI_2;
                [0.0, -a.cos(), a.sin()]
            })
            .collect();
        let hints = vec![[0.4, 0.0, 0.0]; n];
        let fronts = followed_fronts(&times(n), &bones, &hints, 0.1);
        for (front, bone) in fronts.iter().zip(&bones) {
            assert!(degrees(*front, [1.0, 0.0, 0.0]) < 0.5, "{front:?}");
            assert!(dot(*front, *bone).abs() < 1e-4);
        }
    }

    #[test]
    fn a_hint_turning_steadily_round_the_bone_is_followed_past_a_half_turn() {
        let n = 60;
        let hints: Vec<Vec3> = (0..n)
            .map(|i| {
                let a = i as f32 * 0.1;
                scale([a.cos(), 0.0, a.sin()], 0.5)
            })
            .collect();
        let fronts = followed_fronts(&times(n), &vec![DOWN; n], &hints, 0.1);
        for (i, (front, hint)) in fronts.iter().zip(&hints).enumerate().skip(10).take(n - 20) {
            assert!(
                degrees(*front, *hint) < 1.0,
                "frame {i}: {front:?} for {hint:?}"
            );
        }
    }
}
