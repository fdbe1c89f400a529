//! Landmark model post-processing (pose-pipeline §6): decoding the 39 rows, heatmap
//! refinement (9×9 window), letterbox removal, projection to the frame, world rotation.

use super::crop::Padding;
use super::roi::Roi;
use crate::types::{Landmark, NUM_LANDMARKS};

/// Landmark model input side.
pub const LANDMARK_SIZE: usize = 256;
/// Rows in the model output (33 landmarks, 2 auxiliary, 4 unused).
pub const NUM_ROWS: usize = 39;
const HEATMAP: usize = 64;
const REFINE_KERNEL: i32 = 9;
const REFINE_MIN_CONFIDENCE: f32 = 0.5;
/// `min_tracking_confidence`: a pose needs presence strictly above it.
pub const MIN_PRESENCE: f32 = 0.5;

fn sigmoid(v: f32) -> f32 {
    1.0 / (1.0 + (-v).exp())
}

/// Rows of `Identity` → normalised crop landmarks (x, y, z / 256; sigmoid visibility/presence).
pub fn decode(raw: &[f32]) -> [Landmark; NUM_ROWS] {
    let s = LANDMARK_SIZE as f32;
    std::array::from_fn(|i| {
        let r = &raw[i * 5..i * 5 + 5];
        Landmark {
            x: r[0] / s,
            y: r[1] / s,
            z: r[2] / s / 1.0,
            visibility: sigmoid(r[3]),
            presence: sigmoid(r[4]),
        }
    })
}

/// Heatmap refinement of every landmark (`heatmap` is `[64, 64, 39]` HWC logits).
pub fn refine(lms: &mut [Landmark; NUM_ROWS], heatmap: &[f32]) {
    let hm = HEATMAP as i32;
    let off = REFINE_KERNEL / 2;
    for (i, lm) in lms.iter_mut().enumerate() {
        // C++ float → int conversion truncates toward zero.
        let col = (lm.x * hm as f32) as i32;
        let row = (lm.y * hm as f32) as i32;
        if col < 0 || col >= hm || row < 0 || row >= hm {
            continue;
        }
        let (left, right) = ((col - off).max(0), (col + off + 1).min(hm));
        let (top, bottom) = ((row - off).max(0), (row + off + 1).min(hm));
        let (mut sum, mut wc, mut wr, mut maxc) = (0f32, 0f32, 0f32, 0f32);
        for r in top..bottom {
            for c in left..right {
                let conf = sigmoid(heatmap[((r * hm + c) as usize) * NUM_ROWS + i]);
                sum += conf;
                maxc = maxc.max(conf);
                wc += c as f32 * conf;
                wr += r as f32 * conf;
            }
        }
        if maxc >= REFINE_MIN_CONFIDENCE && sum > 0.0 {
            lm.x = wc / hm as f32 / sum;
            lm.y = wr / hm as f32 / sum;
        }
    }
}

/// Letterbox removal then projection of a crop landmark into the frame (normalised).
pub fn project(lm: &Landmark, roi: &Roi, p: &Padding) -> Landmark {
    let (lr, tb) = (p.left + p.right, p.top + p.bottom);
    let x = (lm.x - p.left) / (1.0 - lr);
    let y = (lm.y - p.top) / (1.0 - tb);
    let z = lm.z / (1.0 - lr);
    let (dx, dy) = (x - 0.5, y - 0.5);
    let (s, c) = (roi.rotation.sin(), roi.rotation.cos());
    let nx = c * dx - s * dy;
    let ny = s * dx + c * dy;
    Landmark {
        x: nx * roi.w + roi.cx,
        y: ny * roi.h + roi.cy,
        z: z * roi.w,
        ..*lm
    }
}

/// World landmarks (rows 0..32 of `Identity_4`) rotated by the ROI angle; visibility and
/// presence copied from the image landmarks.
pub fn world(
    raw: &[f32],
    rotation: f32,
    image: &[Landmark; NUM_LANDMARKS],
) -> [Landmark; NUM_LANDMARKS] {
    let (s, c) = (rotation.sin(), rotation.cos());
    std::array::from_fn(|i| {
        let (x, y, z) = (raw[i * 3], raw[i * 3 + 1], raw[i * 3 + 2]);
        Landmark {
            x: c * x - s * y,
            y: s * x + c * y,
            z,
            visibility: image[i].visibility,
            presence: image[i].presence,
        }
    })
}

/// What the landmark stage gives for one ROI.
#[derive(Clone, Debug, PartialEq)]
pub struct LandmarkResult {
    /// 33 image landmarks, normalised to the frame.
    pub image: [Landmark; NUM_LANDMARKS],
    /// 33 world landmarks in metres.
    pub world: [Landmark; NUM_LANDMARKS],
    /// Auxiliary landmarks 33 and 34, normalised to the frame (unfiltered).
    pub aux: [Landmark; 2],
}

/// Decode → refine → project. `None` when the presence score is not above 0.5 (a score that is
/// not a number is not: MediaPipe's thresholding asks `score > threshold`), or when any value
/// of the result is not finite: the one-euro filters would carry it into every later frame.
pub fn postprocess(
    presence: f32,
    raw: &[f32],
    heatmap: &[f32],
    world_raw: &[f32],
    roi: &Roi,
    padding: &Padding,
) -> Option<LandmarkResult> {
    if presence.is_nan() || presence <= MIN_PRESENCE {
        return None;
    }
    let mut lms = decode(raw);
    refine(&mut lms, heatmap);
    let image: [Landmark; NUM_LANDMARKS] = std::array::from_fn(|i| project(&lms[i], roi, padding));
    let aux = [
        project(&lms[33], roi, padding),
        project(&lms[34], roi, padding),
    ];
    let world = world(world_raw, roi.rotation, &image);
    let finite = |l: &Landmark| {
        [l.x, l.y, l.z, l.visibility, l.presence]
            .iter()
            .all(|v| v.is_finite())
    };
    image
        .iter()
        .chain(&world)
        .chain(&aux)
        .all(finite)
        .then_some(LandmarkResult { image, world, aux })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refinement_takes_the_weighted_mean_of_the_window() {
        let mut lms = [Landmark {
            x: 10.2 / 64.0,
            y: 20.7 / 64.0,
            ..Default::default()
        }; NUM_ROWS];
        let mut hm = vec![-50f32; 64 * 64 * NUM_ROWS];
        // Landmark 0: two hot cells inside its window (cols 6..15, rows 16..25).
        hm[(20 * 64 + 12) * NUM_ROWS] = 50.0;
        hm[(22 * 64 + 12) * NUM_ROWS] = 50.0;
        // Landmark 1: nothing above 0.5, stays put.
        refine(&mut lms, &hm);
        assert!((lms[0].x - 12.0 / 64.0).abs() < 1e-4);
        assert!((lms[0].y - 21.0 / 64.0).abs() < 1e-4);
        assert_eq!(lms[1].x, 10.2 / 64.0);
        // A hot cell just outside the 9×9 window is ignored.
        let mut lms2 = [Landmark {
            x: 10.0 / 64.0,
            y: 10.0 / 64.0,
            ..Default::default()
        }; NUM_ROWS];
        let mut hm2 = vec![-50f32; 64 * 64 * NUM_ROWS];
        hm2[(10 * 64 + 15) * NUM_ROWS] = 50.0;
        refine(&mut lms2, &hm2);
        assert_eq!(lms2[0].x, 10.0 / 64.0);
    }

    #[test]
    fn a_score_or_a_value_that_is_not_a_number_is_no_pose() {
        let roi = Roi {
            cx: 0.5,
            cy: 0.5,
            w: 0.5,
            h: 0.5,
            rotation: 0.0,
        };
        let raw = vec![100.0f32; NUM_ROWS * 5];
        let heatmap = vec![-50f32; 64 * 64 * NUM_ROWS];
        let world_raw = vec![0.1f32; NUM_ROWS * 3];
        let run = |presence: f32, raw: &[f32], world_raw: &[f32]| {
            postprocess(
                presence,
                raw,
                &heatmap,
                world_raw,
                &roi,
                &Padding::default(),
            )
        };
        assert!(run(5.0, &raw, &world_raw).is_some());
        assert!(run(f32::NAN, &raw, &world_raw).is_none());
        let mut nan_world = world_raw.clone();
        nan_world[7] = f32::NAN;
        assert!(run(5.0, &raw, &nan_world).is_none());
        let mut infinite_image = raw.clone();
        infinite_image[0] = f32::INFINITY;
        assert!(run(5.0, &infinite_image, &world_raw).is_none());
    }

    #[test]
    fn projection_rotates_about_the_roi_centre() {
        let roi = Roi {
            cx: 0.5,
            cy: 0.5,
            w: 0.5,
            h: 0.25,
            rotation: std::f32::consts::FRAC_PI_2,
        };
        let lm = Landmark {
            x: 1.0,
            y: 0.5,
            z: 0.1,
            ..Default::default()
        };
        let p = project(&lm, &roi, &Padding::default());
        // (0.5, 0) in crop units rotated by 90° clockwise is (0, 0.5): straight down.
        assert!((p.x - 0.5).abs() < 1e-6 && (p.y - 0.625).abs() < 1e-6);
        assert!((p.z - 0.05).abs() < 1e-7);
    }
}
