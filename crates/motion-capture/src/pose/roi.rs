//! Regions of interest (pose-pipeline §5): the same two-point rule turns the detector's
//! keypoints 0/1 and the auxiliary landmarks 33/34 into the landmark model's rectangle. All in
//! f32, in MediaPipe's order of operations.

/// A rotated rectangle: normalised centre and size (by frame width/height), rotation in radians
/// (clockwise on screen).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Roi {
    pub cx: f32,
    pub cy: f32,
    pub w: f32,
    pub h: f32,
    pub rotation: f32,
}

/// `NormalizeRadians`: into [−π, π), computed in f64 as MediaPipe does (`M_PI` is a double).
pub fn normalize_radians(angle: f32) -> f32 {
    let a = angle as f64;
    let two_pi = 2.0 * std::f64::consts::PI;
    (a - two_pi * ((a - (-std::f64::consts::PI)) / two_pi).floor()) as f32
}

/// Step 1, `AlignmentPointsRectsCalculator` with target angle 90°: `p0` is the centre point,
/// `p1` the scale/rotation point, both normalised. No scaling, no squaring.
pub fn alignment_rect(p0: [f32; 2], p1: [f32; 2], width: u32, height: u32) -> Roi {
    let (wf, hf) = (width as f32, height as f32);
    let (x0, y0) = (p0[0] * wf, p0[1] * hf);
    let (x1, y1) = (p1[0] * wf, p1[1] * hf);
    let size = ((x1 - x0) * (x1 - x0) + (y1 - y0) * (y1 - y0)).sqrt() * 2.0;
    // `M_PI * 90 / 180.f` in double, stored as float.
    let target = (std::f64::consts::PI * 90.0 / 180.0) as f32;
    let rotation = normalize_radians(target - (-(y1 - y0)).atan2(x1 - x0));
    Roi {
        cx: x0 / wf,
        cy: y0 / hf,
        w: size / wf,
        h: size / hf,
        rotation,
    }
}

/// Step 2, `RectTransformationCalculator` (scale 1.25 both ways, `square_long`, no shift).
pub fn square_and_scale(r: Roi, width: u32, height: u32) -> Roi {
    let (wf, hf) = (width as f32, height as f32);
    let long = (r.w * wf).max(r.h * hf);
    let (w, h) = (long / wf, long / hf);
    Roi {
        w: w * 1.25,
        h: h * 1.25,
        ..r
    }
}

/// Steps 1 and 2: the landmark ROI from two points.
pub fn roi_from_points(p0: [f32; 2], p1: [f32; 2], width: u32, height: u32) -> Roi {
    square_and_scale(alignment_rect(p0, p1, width, height), width, height)
}

/// The object scale of the one-euro filters (§8.1 step 4): the mean side of the unscaled
/// alignment rectangle, in pixels.
pub fn object_scale(p0: [f32; 2], p1: [f32; 2], width: u32, height: u32) -> f32 {
    let r = alignment_rect(p0, p1, width, height);
    (r.w * width as f32 + r.h * height as f32) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upright_person_gives_zero_rotation_and_a_square() {
        // Hip centre at (50, 100) px, scale point 40 px straight above, on a 100×200 frame.
        let r = roi_from_points([0.5, 0.5], [0.5, 0.3], 100, 200);
        assert_eq!(r.rotation, 0.0);
        assert_eq!((r.cx, r.cy), (0.5, 0.5));
        // side = 1.25 · 2 · 40 = 100 px.
        assert!((r.w * 100.0 - 100.0).abs() < 1e-4 && (r.h * 200.0 - 100.0).abs() < 1e-4);
        assert!((object_scale([0.5, 0.5], [0.5, 0.3], 100, 200) - 80.0).abs() < 1e-4);
    }

    #[test]
    fn leaning_right_is_positive_and_angles_wrap() {
        let r = roi_from_points([0.5, 0.5], [0.6, 0.4], 100, 100);
        assert!((r.rotation - std::f32::consts::FRAC_PI_4).abs() < 1e-6);
        // Scale point straight below: ±π, normalised into [−π, π).
        let r = roi_from_points([0.5, 0.5], [0.5, 0.6], 100, 100);
        assert!((r.rotation + std::f32::consts::PI).abs() < 1e-6);
        assert!(
            (normalize_radians(3.0 * std::f32::consts::PI) + std::f32::consts::PI).abs() < 1e-6
        );
    }
}
