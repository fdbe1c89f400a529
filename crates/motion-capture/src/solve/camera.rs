//! Where the person is: the hip centre in camera space from 2D + metric 3D landmarks.
//!
//! BlazePose's world landmarks are metric but centred on the hips; the image landmarks say
//! where the body is on screen. Under a pinhole camera the translation `t` that makes the world
//! landmarks project onto the image landmarks solves a small linear least-squares problem
//! (3 unknowns, two equations per visible landmark).

use crate::animation::math::Vec3;

/// A pinhole camera in pixels; principal point at the image centre, square pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Camera {
    pub focal_px: f32,
    pub cx: f32,
    pub cy: f32,
    pub width: u32,
    pub height: u32,
}

impl Camera {
    /// The focal length is unknown for arbitrary footage; a field of view of about 53° on the
    /// longer side (focal = longer side) is between phone main cameras and typical webcams.
    pub fn assumed(width: u32, height: u32) -> Camera {
        let long = width.max(height) as f32;
        Camera {
            focal_px: long,
            cx: width as f32 / 2.0,
            cy: height as f32 / 2.0,
            width,
            height,
        }
    }

    /// Projects a camera-space point (metres; x right, y down, z forward) to pixels.
    pub fn project(&self, p: Vec3) -> Option<[f32; 2]> {
        if p[2] <= 1e-3 {
            return None;
        }
        Some([
            self.cx + self.focal_px * p[0] / p[2],
            self.cy + self.focal_px * p[1] / p[2],
        ])
    }

    /// Camera-space translation of the hip-centred `world` points (MediaPipe axes, metres) that
    /// best reprojects them onto `image_px`, weighting each point by `weights`.
    pub fn solve_translation(
        &self,
        world: &[Vec3],
        image_px: &[[f32; 2]],
        weights: &[f32],
    ) -> Option<Vec3> {
        // Unknowns t = (tx, ty, tz): tx - u'·tz = u'·Z - X and ty - v'·tz = v'·Z - Y.
        let mut ata = [[0.0f64; 3]; 3];
        let mut atb = [0.0f64; 3];
        let mut add_row = |row: [f64; 3], rhs: f64, w: f64| {
            for r in 0..3 {
                for c in 0..3 {
                    ata[r][c] += w * row[r] * row[c];
                }
                atb[r] += w * row[r] * rhs;
            }
        };
        let mut total = 0.0;
        for ((p, uv), &w) in world.iter().zip(image_px).zip(weights) {
            if w <= 0.0 {
                continue;
            }
            let u = ((uv[0] - self.cx) / self.focal_px) as f64;
            let v = ((uv[1] - self.cy) / self.focal_px) as f64;
            let (x, y, z) = (p[0] as f64, p[1] as f64, p[2] as f64);
            add_row([1.0, 0.0, -u], u * z - x, w as f64);
            add_row([0.0, 1.0, -v], v * z - y, w as f64);
            total += w as f64;
        }
        if total < 1.0 {
            return None;
        }
        let t = solve3(ata, atb)?;
        // Behind the camera or absurdly close means the fit is meaningless.
        (t[2] > 0.3).then_some([t[0] as f32, t[1] as f32, t[2] as f32])
    }
}

/// Solves the 3×3 system by Cramer's rule (well conditioned here: depth from spread points).
fn solve3(a: [[f64; 3]; 3], b: [f64; 3]) -> Option<[f64; 3]> {
    let det = |m: [[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(a);
    if d.abs() < 1e-12 {
        return None;
    }
    let mut out = [0.0; 3];
    for (c, o) in out.iter_mut().enumerate() {
        let mut m = a;
        for r in 0..3 {
            m[r][c] = b[r];
        }
        *o = det(m) / d;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_known_translation() {
        let cam = Camera::assumed(640, 480);
        let world: Vec<Vec3> = vec![
            [0.2, -0.5, 0.1],
            [-0.2, -0.5, 0.0],
            [0.1, 0.4, -0.05],
            [-0.1, 0.4, 0.05],
            [0.0, 0.0, 0.0],
        ];
        let t = [0.3, -0.1, 3.0];
        let img: Vec<[f32; 2]> = world
            .iter()
            .map(|p| {
                cam.project([p[0] + t[0], p[1] + t[1], p[2] + t[2]])
                    .unwrap()
            })
            .collect();
        let got = cam.solve_translation(&world, &img, &[1.0; 5]).unwrap();
        for k in 0..3 {
            assert!((got[k] - t[k]).abs() < 1e-3, "{got:?}");
        }
    }
}
