//! Draws the solved skeleton over a video frame.

use tiny_skia::{Color, FillRule, LineCap, Paint, PathBuilder, Pixmap, Stroke, Transform};

use crate::animation::joint as J;
use crate::solve::Solution;

/// Bones drawn on the preview (parent → child joint), coloured by side.
const BONES: [(usize, usize, Side); 21] = [
    (J::HIPS, J::SPINE, Side::Centre),
    (J::SPINE, J::SPINE1, Side::Centre),
    (J::SPINE1, J::SPINE2, Side::Centre),
    (J::SPINE2, J::NECK, Side::Centre),
    (J::NECK, J::HEAD, Side::Centre),
    (J::SPINE2, J::LEFT_SHOULDER, Side::Left),
    (J::LEFT_SHOULDER, J::LEFT_ARM, Side::Left),
    (J::LEFT_ARM, J::LEFT_FORE_ARM, Side::Left),
    (J::LEFT_FORE_ARM, J::LEFT_HAND, Side::Left),
    (J::SPINE2, J::RIGHT_SHOULDER, Side::Right),
    (J::RIGHT_SHOULDER, J::RIGHT_ARM, Side::Right),
    (J::RIGHT_ARM, J::RIGHT_FORE_ARM, Side::Right),
    (J::RIGHT_FORE_ARM, J::RIGHT_HAND, Side::Right),
    (J::HIPS, J::LEFT_UP_LEG, Side::Left),
    (J::LEFT_UP_LEG, J::LEFT_LEG, Side::Left),
    (J::LEFT_LEG, J::LEFT_FOOT, Side::Left),
    (J::LEFT_FOOT, J::LEFT_TOE_BASE, Side::Left),
    (J::HIPS, J::RIGHT_UP_LEG, Side::Right),
    (J::RIGHT_UP_LEG, J::RIGHT_LEG, Side::Right),
    (J::RIGHT_LEG, J::RIGHT_FOOT, Side::Right),
    (J::RIGHT_FOOT, J::RIGHT_TOE_BASE, Side::Right),
];

#[derive(Clone, Copy)]
enum Side {
    Left,
    Right,
    Centre,
}

impl Side {
    fn color(self) -> Color {
        match self {
            Side::Left => Color::from_rgba8(255, 140, 30, 255),
            Side::Right => Color::from_rgba8(40, 170, 255, 255),
            Side::Centre => Color::from_rgba8(240, 240, 240, 255),
        }
    }
}

/// Draws frame `index` of the solution onto `rgb` (packed rgb24 of `width × height`, the
/// source's display size the solution was computed for, scaled by `scale` to this buffer).
pub fn draw_skeleton(rgb: &mut [u8], width: u32, height: u32, solution: &Solution, index: usize, scale: f32) {
    let Some(frame) = solution.animation.frames.get(index) else { return };
    let Some(mut pixmap) = Pixmap::new(width, height) else { return };
    rgb_to_pixmap(rgb, &mut pixmap);
    let joints = solution.animation.world_positions(frame);
    let px: Vec<Option<(f32, f32)>> = joints
        .iter()
        .map(|p| solution.project(index, *p).map(|q| (q[0] * scale, q[1] * scale)))
        .collect();
    let width_px = (width.max(height) as f32 / 220.0).clamp(2.0, 8.0);
    let stroke = Stroke { width: width_px, line_cap: LineCap::Round, ..Stroke::default() };
    let mut paint = Paint { anti_alias: true, ..Paint::default() };
    for (a, b, side) in BONES {
        let (Some(pa), Some(pb)) = (px[a], px[b]) else { continue };
        let mut pb_ = PathBuilder::new();
        pb_.move_to(pa.0, pa.1);
        pb_.line_to(pb.0, pb.1);
        if let Some(path) = pb_.finish() {
            paint.set_color(side.color());
            pixmap.stroke_path(&path, &paint, &stroke, Transform::identity(), None);
        }
    }
    paint.set_color(Color::from_rgba8(255, 255, 255, 255));
    for p in px.iter().flatten() {
        if let Some(c) = PathBuilder::from_circle(p.0, p.1, width_px * 0.9) {
            pixmap.fill_path(&c, &paint, FillRule::Winding, Transform::identity(), None);
        }
    }
    pixmap_to_rgb(&pixmap, rgb);
}

fn rgb_to_pixmap(rgb: &[u8], pixmap: &mut Pixmap) {
    for (dst, src) in pixmap.data_mut().chunks_exact_mut(4).zip(rgb.chunks_exact(3)) {
        dst[0] = src[0];
        dst[1] = src[1];
        dst[2] = src[2];
        dst[3] = 255;
    }
}

fn pixmap_to_rgb(pixmap: &Pixmap, rgb: &mut [u8]) {
    // Every pixel stays opaque (we only paint opaque colours over an opaque frame), so the
    // premultiplied values are the colours.
    for (dst, src) in rgb.chunks_exact_mut(3).zip(pixmap.data().chunks_exact(4)) {
        dst.copy_from_slice(&src[..3]);
    }
}
