//! A clean 3D stick figure for official-motion previews: bones as round-capped lines coloured
//! by side (left blue, right orange), a head, a floor grid and a soft shadow, seen by a
//! perspective camera that follows the figure across the floor.

use tiny_skia::{Color, FillRule, LineCap, Paint, PathBuilder, Pixmap, Stroke, Transform};

use crate::animation::Animation;
use crate::animation::math::{Vec3, add, cross, dot, lerp, midpoint, normalize_or, scale, sub};
use crate::solve::rig::lm::{LEFT_HIP, RIGHT_HIP};
use crate::types::{Landmark, NUM_LANDMARKS, Pose};

const BACKGROUND: [u8; 3] = [30, 34, 46];
const GRID_LINE: [u8; 3] = [120, 128, 150];
const GRID_ALPHA: f32 = 0.4;
const LEFT: [u8; 3] = [86, 170, 255];
const RIGHT: [u8; 3] = [255, 146, 64];
const CENTER: [u8; 3] = [236, 238, 244];
/// Camera direction: in front of the figure (it faces +Z), a little to its left, slightly above.
const AZIMUTH_DEG: f32 = 28.0;
const ELEVATION_DEG: f32 = 12.0;
/// Bone thickness in world units (cm), before perspective.
const BONE_WIDTH_CM: f32 = 4.5;
/// Grid spacing and half-extent around the camera target, cm.
const GRID_STEP_CM: f32 = 50.0;
const GRID_HALF_CM: f32 = 300.0;
/// The follow camera averages the root's floor position over this many seconds either side.
const FOLLOW_WINDOW_S: f64 = 0.75;

/// One drawable segment between two points of a pose.
#[derive(Clone, Copy, Debug)]
struct Bone {
    from: usize,
    to: usize,
    color: [u8; 3],
    /// World thickness, cm (thin for fingers).
    width: f32,
}

/// Everything needed to draw any frame of one animation.
pub struct StickFigure {
    width: u32,
    height: u32,
    bones: Vec<Bone>,
    /// Head circle: (centre point index, tip point index), when a head is named.
    head: Option<(usize, Option<usize>)>,
    /// Per source frame: joint positions followed by end-site positions, cm.
    points: Vec<Vec<Vec3>>,
    /// Per source frame: the smoothed floor point the camera looks at.
    targets: Vec<Vec3>,
    frame_time_s: f64,
    /// Vertical extent the camera keeps in view, cm.
    top: f32,
}

impl StickFigure {
    /// Prepares the figure: forward kinematics of every frame, bones and the camera path.
    pub fn new(animation: &Animation, width: u32, height: u32) -> Self {
        let joints = &animation.skeleton.joints;
        let points: Vec<Vec<Vec3>> = animation
            .frames
            .iter()
            .map(|f| {
                let mut p = animation.world_positions(f);
                p.extend(animation.end_site_positions(f).into_iter().flatten());
                p
            })
            .collect();
        let mut bones = Vec::new();
        let mut end_index = joints.len();
        let mut end_of = vec![None; joints.len()];
        for (i, j) in joints.iter().enumerate() {
            let color = side_color(&j.name);
            if let Some(p) = j.parent {
                bones.push(Bone {
                    from: p,
                    to: i,
                    color,
                    width: bone_width(crate::animation::math::norm(j.offset)),
                });
            }
            if let Some(e) = j.end_site {
                end_of[i] = Some(end_index);
                bones.push(Bone {
                    from: i,
                    to: end_index,
                    color,
                    width: bone_width(crate::animation::math::norm(e)),
                });
                end_index += 1;
            }
        }
        // Zero-length bones (CMU's hip joints at offset 0) draw as dots; leave them out.
        bones.retain(|b| b.width > 0.0);
        let head = joints
            .iter()
            .position(|j| j.name.to_ascii_lowercase().contains("head"))
            .map(|h| {
                let tip = end_of[h].or_else(|| joints.iter().position(|j| j.parent == Some(h)));
                (h, tip)
            });
        let top = points.iter().flatten().map(|p| p[1]).fold(1.0f32, f32::max);
        let targets = follow_targets(&points, animation.frame_time_s);
        StickFigure {
            width,
            height,
            bones,
            head,
            points,
            targets,
            frame_time_s: animation.frame_time_s,
            top,
        }
    }

    pub fn source_frames(&self) -> usize {
        self.points.len()
    }

    /// Renders the pose at `time_s` (linearly interpolated between source frames) as tightly
    /// packed RGB24.
    pub fn render_rgb(&self, time_s: f64) -> Vec<u8> {
        let pixmap = self.render(time_s);
        let mut rgb = Vec::with_capacity((self.width * self.height * 3) as usize);
        // The background is opaque, so premultiplied RGBA is plain RGBA.
        for px in pixmap.data().chunks_exact(4) {
            rgb.extend_from_slice(&px[..3]);
        }
        rgb
    }

    fn render(&self, time_s: f64) -> Pixmap {
        let mut pixmap = Pixmap::new(self.width.max(1), self.height.max(1)).expect("non-zero size");
        pixmap.fill(Color::from_rgba8(
            BACKGROUND[0],
            BACKGROUND[1],
            BACKGROUND[2],
            255,
        ));
        if self.points.is_empty() {
            return pixmap;
        }
        let (points, target) = self.pose_at(time_s);
        let camera = Camera::framing(target, self.top, self.width, self.height);
        draw_grid(&mut pixmap, &camera, target);
        if let Some(root) = points.first() {
            draw_shadow(&mut pixmap, &camera, [root[0], 0.0, root[2]]);
        }
        self.draw_bones(&mut pixmap, &camera, &points);
        pixmap
    }

    /// BlazePose's landmarks of one frame (`points`: the 33, cm, the animation's axes) as the
    /// preview's camera at `time_s` sees them: image points normalised to the picture (z the
    /// depth from the hips' midpoint on the scale of x), world points in metres from the hips'
    /// midpoint along the camera's axes (x right, y down, z away); every point seen.
    pub fn pose_seen_at(&self, time_s: f64, points: &[Vec3; NUM_LANDMARKS]) -> Pose {
        let camera = self.camera_at(time_s);
        let hips = midpoint(points[LEFT_HIP], points[RIGHT_HIP]);
        let hip_depth = camera.depth(hips).max(1.0);
        let (w, h) = (self.width.max(1) as f32, self.height.max(1) as f32);
        let seen = |[x, y, z]: Vec3| Landmark {
            x,
            y,
            z,
            visibility: 1.0,
            presence: 1.0,
        };
        let image = points.map(|p| {
            let v = sub(p, camera.eye);
            let depth = dot(v, camera.forward).max(1.0);
            let x = camera.cx + camera.focal * dot(v, camera.right) / depth;
            let y = camera.cy - camera.focal * dot(v, camera.up) / depth;
            let z = (depth - hip_depth) * camera.focal / hip_depth;
            seen([x / w, y / h, z / w])
        });
        let world = points.map(|p| {
            let v = scale(sub(p, hips), 0.01);
            seen([
                dot(v, camera.right),
                -dot(v, camera.up),
                dot(v, camera.forward),
            ])
        });
        Pose { image, world }
    }

    /// The preview's camera at `time_s`, as [`StickFigure::render`] places it.
    fn camera_at(&self, time_s: f64) -> Camera {
        let last = self.targets.len().saturating_sub(1);
        let s = (time_s / self.frame_time_s).clamp(0.0, last as f64);
        let i = (s.floor() as usize).min(last);
        let target = match self.targets.get(i) {
            Some(&a) => lerp(a, self.targets[(i + 1).min(last)], (s - i as f64) as f32),
            None => [0.0; 3],
        };
        Camera::framing(target, self.top, self.width, self.height)
    }

    fn pose_at(&self, time_s: f64) -> (Vec<Vec3>, Vec3) {
        let last = self.points.len() - 1;
        let s = (time_s / self.frame_time_s).clamp(0.0, last as f64);
        let i = (s.floor() as usize).min(last);
        let j = (i + 1).min(last);
        let t = (s - i as f64) as f32;
        let points = self.points[i]
            .iter()
            .zip(&self.points[j])
            .map(|(a, b)| lerp(*a, *b, t))
            .collect();
        (points, lerp(self.targets[i], self.targets[j], t))
    }

    fn draw_bones(&self, pixmap: &mut Pixmap, camera: &Camera, points: &[Vec3]) {
        // Far bones first, so that near limbs cover far ones.
        let mut order: Vec<(f32, Bone)> = self
            .bones
            .iter()
            .filter_map(|b| {
                let (pa, pb) = (points.get(b.from)?, points.get(b.to)?);
                Some((camera.depth(lerp(*pa, *pb, 0.5)), *b))
            })
            .collect();
        order.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (_, bone) in order {
            let (Some(a), Some(b)) = (
                camera.project(points[bone.from]),
                camera.project(points[bone.to]),
            ) else {
                continue;
            };
            let width = (bone.width * camera.focal / a.2.max(1.0)).max(1.2);
            stroke_line(pixmap, (a.0, a.1), (b.0, b.1), width, bone.color, 255);
            fill_circle(pixmap, a.0, a.1, width * 0.7, bone.color, 255);
        }
        if let Some((h, tip)) = self.head {
            let centre = match tip.and_then(|t| points.get(t)) {
                Some(tip) => lerp(points[h], *tip, 0.5),
                None => add(points[h], [0.0, 10.0, 0.0]),
            };
            let radius_cm = tip
                .and_then(|t| points.get(t))
                .map(|t| crate::animation::math::dist(points[h], *t) * 0.55)
                .unwrap_or(10.0)
                .clamp(8.0, 12.0);
            if let Some(c) = camera.project(centre) {
                let r = radius_cm * camera.focal / c.2.max(1.0);
                fill_circle(pixmap, c.0, c.1, r, CENTER, 255);
                fill_circle(pixmap, c.0, c.1, r * 0.72, BACKGROUND, 255);
            }
        }
    }
}

fn bone_width(length: f32) -> f32 {
    if length < 1e-3 {
        0.0
    } else {
        BONE_WIDTH_CM.min(0.45 * length).max(0.8)
    }
}

fn side_color(name: &str) -> [u8; 3] {
    match crate::bvh::side_of(name) {
        Some(true) => LEFT,
        Some(false) => RIGHT,
        None => CENTER,
    }
}

/// The root's floor position, averaged over a window: the camera glides with a walking figure
/// instead of jerking with every step.
fn follow_targets(points: &[Vec<Vec3>], frame_time_s: f64) -> Vec<Vec3> {
    let roots: Vec<Vec3> = points
        .iter()
        .map(|p| p.first().map(|r| [r[0], 0.0, r[2]]).unwrap_or([0.0; 3]))
        .collect();
    let half = ((FOLLOW_WINDOW_S / frame_time_s).round() as usize).max(1);
    // Prefix sums keep this linear in the clip length.
    let mut prefix = vec![[0.0f64; 3]; roots.len() + 1];
    for (i, r) in roots.iter().enumerate() {
        prefix[i + 1] = [0, 1, 2].map(|k| prefix[i][k] + r[k] as f64);
    }
    (0..roots.len())
        .map(|i| {
            let (lo, hi) = (i.saturating_sub(half), (i + half + 1).min(roots.len()));
            let n = (hi - lo) as f64;
            [0, 1, 2].map(|k| ((prefix[hi][k] - prefix[lo][k]) / n) as f32)
        })
        .collect()
}

/// A pinhole camera looking at a point near the figure's middle.
struct Camera {
    eye: Vec3,
    right: Vec3,
    up: Vec3,
    forward: Vec3,
    focal: f32,
    cx: f32,
    cy: f32,
}

impl Camera {
    /// Keeps the floor and `top` (cm) in view with some margin, whatever the figure's height.
    fn framing(target_floor: Vec3, top: f32, width: u32, height: u32) -> Camera {
        let (az, el) = (AZIMUTH_DEG.to_radians(), ELEVATION_DEG.to_radians());
        let look_at = add(target_floor, [0.0, top * 0.48, 0.0]);
        let distance = top * 4.0;
        let dir = [az.sin() * el.cos(), el.sin(), az.cos() * el.cos()];
        let eye = add(look_at, scale(dir, distance));
        let forward = normalize_or(sub(look_at, eye), [0.0, 0.0, -1.0]);
        let right = normalize_or(cross(forward, [0.0, 1.0, 0.0]), [1.0, 0.0, 0.0]);
        let up = cross(right, forward);
        // The visible height at the target's distance is 1.3 × top.
        let focal = height as f32 * distance / (1.3 * top);
        Camera {
            eye,
            right,
            up,
            forward,
            focal,
            cx: width as f32 / 2.0,
            cy: height as f32 / 2.0,
        }
    }

    fn depth(&self, p: Vec3) -> f32 {
        dot(sub(p, self.eye), self.forward)
    }

    /// Screen position and depth; `None` behind the camera.
    fn project(&self, p: Vec3) -> Option<(f32, f32, f32)> {
        let v = sub(p, self.eye);
        let z = dot(v, self.forward);
        if z < 1.0 {
            return None;
        }
        let x = self.cx + self.focal * dot(v, self.right) / z;
        let y = self.cy - self.focal * dot(v, self.up) / z;
        Some((x, y, z))
    }
}

fn draw_grid(pixmap: &mut Pixmap, camera: &Camera, target: Vec3) {
    let snap = |v: f32| (v / GRID_STEP_CM).round() * GRID_STEP_CM;
    let (cx, cz) = (snap(target[0]), snap(target[2]));
    let steps = (GRID_HALF_CM / GRID_STEP_CM) as i32;
    for k in -steps..=steps {
        let o = k as f32 * GRID_STEP_CM;
        let lines = [
            (
                [cx + o, 0.0, cz - GRID_HALF_CM],
                [cx + o, 0.0, cz + GRID_HALF_CM],
            ),
            (
                [cx - GRID_HALF_CM, 0.0, cz + o],
                [cx + GRID_HALF_CM, 0.0, cz + o],
            ),
        ];
        for (a, b) in lines {
            let (Some(pa), Some(pb)) = (camera.project(a), camera.project(b)) else {
                continue;
            };
            // Far-reaching lines are clipped here: rasterising thousands of off-screen
            // pixels cost more than the whole figure.
            if let Some((p, q)) = clip_segment(
                (pa.0, pa.1),
                (pb.0, pb.1),
                pixmap.width() as f32,
                pixmap.height() as f32,
            ) {
                thin_line(pixmap, p, q, GRID_LINE, GRID_ALPHA);
            }
        }
    }
}

/// A 1 px anti-aliased line drawn straight into the pixels (Wu's algorithm). tiny-skia's
/// general filler scans the whole bounding box of a path, which made 26 long grid lines cost
/// more than the figure itself; this is linear in the line's length. Assumes opaque pixels.
fn thin_line(pixmap: &mut Pixmap, a: (f32, f32), b: (f32, f32), color: [u8; 3], alpha: f32) {
    let (w, h) = (pixmap.width() as i64, pixmap.height() as i64);
    let data = pixmap.data_mut();
    let mut plot = |x: i64, y: i64, coverage: f32| {
        if x < 0 || y < 0 || x >= w || y >= h {
            return;
        }
        let i = ((y * w + x) * 4) as usize;
        let k = (coverage * alpha).clamp(0.0, 1.0);
        for c in 0..3 {
            let v = data[i + c] as f32;
            data[i + c] = (v + (color[c] as f32 - v) * k).round() as u8;
        }
    };
    let steep = (b.1 - a.1).abs() > (b.0 - a.0).abs();
    let (mut a, mut b) = if steep {
        ((a.1, a.0), (b.1, b.0))
    } else {
        (a, b)
    };
    if a.0 > b.0 {
        std::mem::swap(&mut a, &mut b);
    }
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let gradient = if dx.abs() < 1e-6 { 0.0 } else { dy / dx };
    let (x0, x1) = (a.0.round() as i64, b.0.round() as i64);
    for x in x0..=x1 {
        let y = a.1 + gradient * (x as f32 - a.0);
        let (yi, frac) = (y.floor() as i64, y - y.floor());
        let at = |xx: i64, yy: i64| if steep { (yy, xx) } else { (xx, yy) };
        let (p0, p1) = (at(x, yi), at(x, yi + 1));
        plot(p0.0, p0.1, 1.0 - frac);
        plot(p1.0, p1.1, frac);
    }
}

/// Liang-Barsky clipping of a segment to the image (with a 2 px margin).
fn clip_segment(a: (f32, f32), b: (f32, f32), w: f32, h: f32) -> Option<((f32, f32), (f32, f32))> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let (mut t0, mut t1) = (0.0f32, 1.0f32);
    let edges = [
        (-dx, a.0 + 2.0),
        (dx, w + 2.0 - a.0),
        (-dy, a.1 + 2.0),
        (dy, h + 2.0 - a.1),
    ];
    for (p, q) in edges {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
            continue;
        }
        let r = q / p;
        if p < 0.0 {
            t0 = t0.max(r);
        } else {
            t1 = t1.min(r);
        }
        if t0 > t1 {
            return None;
        }
    }
    Some((
        (a.0 + t0 * dx, a.1 + t0 * dy),
        (a.0 + t1 * dx, a.1 + t1 * dy),
    ))
}

fn draw_shadow(pixmap: &mut Pixmap, camera: &Camera, centre: Vec3) {
    let mut pb = PathBuilder::new();
    for k in 0..=24 {
        let a = k as f32 / 24.0 * std::f32::consts::TAU;
        let Some(p) = camera.project(add(centre, [28.0 * a.cos(), 0.0, 28.0 * a.sin()])) else {
            return;
        };
        if k == 0 {
            pb.move_to(p.0, p.1)
        } else {
            pb.line_to(p.0, p.1)
        }
    }
    pb.close();
    if let Some(path) = pb.finish() {
        pixmap.fill_path(
            &path,
            &paint([0, 0, 0], 70),
            FillRule::Winding,
            Transform::identity(),
            None,
        );
    }
}

fn paint(color: [u8; 3], alpha: u8) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color_rgba8(color[0], color[1], color[2], alpha);
    p.anti_alias = true;
    p
}

fn stroke_line(
    pixmap: &mut Pixmap,
    a: (f32, f32),
    b: (f32, f32),
    width: f32,
    color: [u8; 3],
    alpha: u8,
) {
    let mut pb = PathBuilder::new();
    pb.move_to(a.0, a.1);
    pb.line_to(b.0, b.1);
    if let Some(path) = pb.finish() {
        let stroke = Stroke {
            width,
            line_cap: LineCap::Round,
            ..Stroke::default()
        };
        pixmap.stroke_path(
            &path,
            &paint(color, alpha),
            &stroke,
            Transform::identity(),
            None,
        );
    }
}

fn fill_circle(pixmap: &mut Pixmap, x: f32, y: f32, r: f32, color: [u8; 3], alpha: u8) {
    if let Some(path) = PathBuilder::from_circle(x, y, r.max(0.5)) {
        pixmap.fill_path(
            &path,
            &paint(color, alpha),
            FillRule::Winding,
            Transform::identity(),
            None,
        );
    }
}
