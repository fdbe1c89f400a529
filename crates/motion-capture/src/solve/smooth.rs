//! Zero-phase smoothing of landmark tracks over the whole clip.
//!
//! A causal filter (MediaPipe's one-euro) must trade lag for noise; we know the whole clip, so a
//! weighted Gaussian kernel centred on each frame removes noise without lag. Weights come from
//! the landmark's visibility (occluded points lean on their visible neighbours in time) and are
//! zero where no person was found, which also interpolates short gaps. A second, robust pass
//! down-weights single-frame outliers (a swapped or jumping landmark).

use crate::animation::math::{Vec3, add, dist, scale};

/// One landmark's track: a value and a weight (0 = missing) per frame.
pub struct Track<'a> {
    pub times_s: &'a [f64],
    pub values: &'a [Vec3],
    pub weights: &'a [f32],
}

/// Smooths `track` with a Gaussian of `sigma_s` seconds and fills frames whose neighbourhood
/// has (almost) no weight, or no weighted frame within `sigma_s`, by linear interpolation in
/// time (held constant at the ends).
/// Returns `None` when the track has no weight at all.
pub fn smooth_track(track: &Track<'_>, sigma_s: f64) -> Option<Vec<Vec3>> {
    let weighted: Vec<bool> = track.weights.iter().map(|&w| w > 0.0).collect();
    smooth_track_observed(track, sigma_s, &weighted)
}

/// [`smooth_track`] of a track whose weighted frames are not all observations: some were
/// filled in by the caller (the root fitted to landmark tracks drawn across a gap, or held
/// before the person came into view). Only the `observed` frames set the typical residual of
/// the robust pass: a person in view for less than half of the clip left the held frames' zero
/// residuals the typical one, and every moving frame an outlier, which froze the path.
pub fn smooth_track_observed(
    track: &Track<'_>,
    sigma_s: f64,
    observed: &[bool],
) -> Option<Vec<Vec3>> {
    let first = gaussian_pass(track, track.weights, sigma_s);
    // Robust pass: residuals far beyond the typical one get little weight.
    let residual = |i: usize| match first[i] {
        Some(v) if track.weights[i] > 0.0 => dist(v, track.values[i]),
        _ => f32::NAN,
    };
    let residuals: Vec<f32> = (0..track.values.len()).map(residual).collect();
    let observed_residuals: Vec<f32> = (0..track.values.len())
        .filter(|&i| observed[i])
        .map(residual)
        .collect();
    let scale_r = robust_scale(&observed_residuals);
    let weights: Vec<f32> = track
        .weights
        .iter()
        .zip(&residuals)
        .map(|(&w, &r)| {
            if !r.is_finite() || scale_r <= 0.0 {
                return w;
            }
            // Cauchy-like down-weighting beyond ~3 robust sigmas.
            let u = r / (3.0 * scale_r);
            w / (1.0 + u * u)
        })
        .collect();
    let second = gaussian_pass(track, &weights, sigma_s);
    fill_gaps(track.times_s, second)
}

/// The least weight the frames around a frame must hold on average (kernel-weighted) for it to
/// be smoothed rather than filled as part of a gap. An average, so that it means the same at
/// any frame rate and sigma: as a plain sum of weights, a landmark the model never sees
/// (weighted 0.02 throughout) had support at 30 fps and none at 10, and lost its whole track.
/// Below that 0.02, so that a frame with the person always has support.
const MIN_MEAN_WEIGHT: f32 = 0.01;

fn gaussian_pass(track: &Track<'_>, weights: &[f32], sigma_s: f64) -> Vec<Option<Vec3>> {
    let n = track.values.len();
    let t = track.times_s;
    let reach = 3.0 * sigma_s;
    let inv = 1.0 / (2.0 * sigma_s * sigma_s);
    let mut out = vec![None; n];
    let mut lo = 0usize;
    for i in 0..n {
        while lo < n && t[lo] < t[i] - reach {
            lo += 1;
        }
        let (mut acc, mut wsum, mut kernel_sum) = ([0.0f32; 3], 0.0f32, 0.0f32);
        let mut nearest_s = f64::INFINITY;
        let mut j = lo;
        while j < n && t[j] <= t[i] + reach {
            let d = t[j] - t[i];
            let kernel = (-(d * d) * inv).exp() as f32;
            kernel_sum += kernel;
            let w = weights[j];
            if w > 0.0 {
                nearest_s = nearest_s.min(d.abs());
                acc = add(acc, scale(track.values[j], kernel * w));
                wsum += kernel * w;
            }
            j += 1;
        }
        // Too little support: treat as a gap and interpolate later. So is a frame more than a
        // sigma from any support: inside a longer gap the blend of the two sides' weights
        // would swap from one side to the other within a few frames, where a line glides.
        if wsum > MIN_MEAN_WEIGHT * kernel_sum && nearest_s <= sigma_s {
            out[i] = Some(scale(acc, 1.0 / wsum));
        }
    }
    out
}

/// Linear interpolation in time across missing frames; the first/last known value is held.
pub fn fill_gaps(times: &[f64], values: Vec<Option<Vec3>>) -> Option<Vec<Vec3>> {
    let known: Vec<usize> = (0..values.len()).filter(|&i| values[i].is_some()).collect();
    let (&first, &last) = (known.first()?, known.last()?);
    let mut out = Vec::with_capacity(values.len());
    let mut next_k = 0usize;
    for i in 0..values.len() {
        if let Some(v) = values[i] {
            out.push(v);
            continue;
        }
        if i < first {
            out.push(values[first].unwrap_or_default());
            continue;
        }
        if i > last {
            out.push(values[last].unwrap_or_default());
            continue;
        }
        while known[next_k] < i {
            next_k += 1;
        }
        let (a, b) = (known[next_k - 1], known[next_k]);
        let f = ((times[i] - times[a]) / (times[b] - times[a]).max(1e-9)) as f32;
        let (va, vb) = (values[a].unwrap_or_default(), values[b].unwrap_or_default());
        out.push(add(va, scale(crate::animation::math::sub(vb, va), f)));
    }
    Some(out)
}

/// 1.4826 × median absolute value of the finite entries (a robust standard deviation).
fn robust_scale(r: &[f32]) -> f32 {
    let mut v: Vec<f32> = r.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    1.4826 * v[v.len() / 2]
}

/// Gaussian smoothing of a scalar series without weights (for derived signals).
pub fn smooth_scalar(times: &[f64], values: &[f32], sigma_s: f64) -> Vec<f32> {
    let points: Vec<Vec3> = values.iter().map(|&x| [x, 0.0, 0.0]).collect();
    smooth_points(times, &points, sigma_s)
        .into_iter()
        .map(|v| v[0])
        .collect()
}

/// Gaussian smoothing of a series of vectors without weights (for derived signals).
pub fn smooth_points(times: &[f64], values: &[Vec3], sigma_s: f64) -> Vec<Vec3> {
    let w = vec![1.0; values.len()];
    let track = Track {
        times_s: times,
        values,
        weights: &w,
    };
    gaussian_pass(&track, &w, sigma_s)
        .into_iter()
        .zip(values)
        .map(|(o, &v)| o.unwrap_or(v))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_held_for_most_of_the_clip_keeps_its_moving_part() {
        // Moving 1 m/s for 100 frames at 30 fps (with ±5 mm of noise), then held for 200
        // frames the caller filled in: all weighted alike, only the first 100 observed.
        let times: Vec<f64> = (0..300).map(|i| i as f64 / 30.0).collect();
        let noise = |i: usize| 0.005 * ((i * 7919 % 13) as f32 / 6.0 - 1.0);
        let values: Vec<Vec3> = (0..300)
            .map(|i| [(i.min(99) as f32 + 0.0) / 30.0 + noise(i.min(99)), 0.0, 0.0])
            .collect();
        let weights = vec![1.0; 300];
        let observed: Vec<bool> = (0..300).map(|i| i < 100).collect();
        let track = Track {
            times_s: &times,
            values: &values,
            weights: &weights,
        };
        let smoothed = smooth_track_observed(&track, 0.1, &observed).unwrap();
        for i in [10, 50, 90] {
            let want = values[i][0];
            assert!(
                (smoothed[i][0] - want).abs() < 0.02,
                "frame {i}: {:?}, want {want}",
                smoothed[i]
            );
        }
    }

    #[test]
    fn constant_track_is_unchanged_and_gaps_are_filled() {
        let times: Vec<f64> = (0..30).map(|i| i as f64 / 30.0).collect();
        let values = vec![[1.0, 2.0, 3.0]; 30];
        let mut weights = vec![1.0; 30];
        for w in &mut weights[10..20] {
            *w = 0.0;
        }
        let out = smooth_track(
            &Track {
                times_s: &times,
                values: &values,
                weights: &weights,
            },
            0.05,
        )
        .unwrap();
        for v in out {
            assert!(dist(v, [1.0, 2.0, 3.0]) < 1e-5);
        }
    }

    #[test]
    fn a_faint_track_is_followed_at_any_frame_rate() {
        // A landmark the model never sees clearly has the least weight in every frame; it is
        // still a track (the model's guess), at 5 fps as at 60.
        for fps in [5.0, 10.0, 30.0, 60.0] {
            let times: Vec<f64> = (0..40).map(|i| i as f64 / fps).collect();
            let values: Vec<Vec3> = (0..40).map(|i| [i as f32, 0.0, 0.0]).collect();
            let weights = vec![0.02; 40];
            let track = Track {
                times_s: &times,
                values: &values,
                weights: &weights,
            };
            let out = smooth_track(&track, 0.08).expect("a track");
            assert!(dist(out[20], values[20]) < 0.1, "{fps} fps: {:?}", out[20]);
        }
    }

    #[test]
    fn gap_is_interpolated_linearly() {
        let times: Vec<f64> = (0..5).map(|i| i as f64).collect();
        let vals = vec![
            Some([0.0, 0.0, 0.0]),
            None,
            None,
            None,
            Some([4.0, 0.0, 0.0]),
        ];
        let out = fill_gaps(&times, vals).unwrap();
        assert!((out[2][0] - 2.0).abs() < 1e-5);
    }

    #[test]
    fn a_longer_gap_glides_from_one_side_to_the_other() {
        // 0 before the gap, 1 after it, 8 frames missing at 30 fps (the synthetic walk's
        // dropped flip). The blend of the two sides' weights swapped within about three frames
        // in the middle; the line moves the same amount every frame.
        let times: Vec<f64> = (0..40).map(|i| i as f64 / 30.0).collect();
        let values: Vec<Vec3> = (0..40)
            .map(|i| [if i < 20 { 0.0 } else { 1.0 }, 0.0, 0.0])
            .collect();
        let mut weights = vec![1.0; 40];
        for w in &mut weights[16..24] {
            *w = 0.0;
        }
        let track = Track {
            times_s: &times,
            values: &values,
            weights: &weights,
        };
        let out = smooth_track(&track, 0.08).unwrap();
        let largest_step = out
            .windows(2)
            .map(|w| (w[1][0] - w[0][0]).abs())
            .fold(0.0f32, f32::max);
        // A line over the 9 steps between the last frame before and the first after: 0.11.
        assert!(largest_step < 0.2, "largest step {largest_step}");
    }

    #[test]
    fn a_single_outlier_is_suppressed() {
        let times: Vec<f64> = (0..60).map(|i| i as f64 / 30.0).collect();
        let mut values: Vec<Vec3> = times.iter().map(|&t| [t as f32, 0.0, 0.0]).collect();
        values[30][1] = 50.0;
        let w = vec![1.0; 60];
        let out = smooth_track(
            &Track {
                times_s: &times,
                values: &values,
                weights: &w,
            },
            0.05,
        )
        .unwrap();
        assert!(out[30][1].abs() < 5.0, "{:?}", out[30]);
        assert!((out[20][0] - values[20][0]).abs() < 1e-3);
    }

    #[test]
    fn empty_track_gives_none() {
        let times = [0.0, 1.0];
        let values = [[0.0; 3]; 2];
        let w = [0.0, 0.0];
        assert!(
            smooth_track(
                &Track {
                    times_s: &times,
                    values: &values,
                    weights: &w
                },
                0.1
            )
            .is_none()
        );
    }
}
