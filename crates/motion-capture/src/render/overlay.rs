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
///
/// Only the skeleton's bounding box is converted to a pixmap and back: on a 1080p frame that
/// is a small fraction of the pixels.
pub fn draw_skeleton(
    rgb: &mut [u8],
    width: u32,
    height: u32,
    solution: &Solution,
    index: usize,
    scale: f32,
) {
    let Some(frame) = solution.animation.frames.get(index) else {
        return;
    };
    let joints = solution.animation.world_positions(frame);
    let px: Vec<Option<(f32, f32)>> = joints
        .iter()
        .map(|p| {
            solution
                .project(index, *p)
                .map(|q| (q[0] * scale, q[1] * scale))
        })
        .map(|q| q.filter(|(x, y)| x.is_finite() && y.is_finite()))
        .collect();
    let line = (width.max(height) as f32 / 220.0).clamp(2.0, 8.0);
    let Some(bbox) = bounding_box(&px, line * 2.0, width, height) else {
        return;
    };
    let Some(mut pixmap) = Pixmap::new(bbox.w, bbox.h) else {
        return;
    };
    copy_region_in(rgb, width, &bbox, &mut pixmap);
    let (ox, oy) = (bbox.x as f32, bbox.y as f32);
    let stroke = Stroke {
        width: line,
        line_cap: LineCap::Round,
        ..Stroke::default()
    };
    let mut paint = Paint {
        anti_alias: true,
        ..Paint::default()
    };
    for (a, b, side) in BONES {
        let (Some(pa), Some(pb)) = (px[a], px[b]) else {
            continue;
        };
        let mut path = PathBuilder::new();
        path.move_to(pa.0 - ox, pa.1 - oy);
        path.line_to(pb.0 - ox, pb.1 - oy);
        if let Some(path) = path.finish() {
            paint.set_color(side.color());
            pixmap.stroke_path(&path, &paint, &stroke, Transform::identity(), None);
        }
    }
    paint.set_color(Color::from_rgba8(255, 255, 255, 255));
    for p in px.iter().flatten() {
        if let Some(c) = PathBuilder::from_circle(p.0 - ox, p.1 - oy, line * 0.9) {
            pixmap.fill_path(&c, &paint, FillRule::Winding, Transform::identity(), None);
        }
    }
    copy_region_out(&pixmap, &bbox, rgb, width);
}

/// A pixel rectangle inside the frame.
struct Region {
    x: u32,
    y: u32,
    w: u32,
    h: u32,
}

fn bounding_box(px: &[Option<(f32, f32)>], margin: f32, width: u32, height: u32) -> Option<Region> {
    let (mut x0, mut y0, mut x1, mut y1) = (
        f32::INFINITY,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NEG_INFINITY,
    );
    for (x, y) in px.iter().flatten() {
        x0 = x0.min(*x);
        y0 = y0.min(*y);
        x1 = x1.max(*x);
        y1 = y1.max(*y);
    }
    let x0 = (x0 - margin).floor().max(0.0) as u32;
    let y0 = (y0 - margin).floor().max(0.0) as u32;
    let x1 = ((x1 + margin).ceil().max(0.0) as u32).min(width);
    let y1 = ((y1 + margin).ceil().max(0.0) as u32).min(height);
    (x1 > x0 && y1 > y0).then(|| Region {
        x: x0,
        y: y0,
        w: x1 - x0,
        h: y1 - y0,
    })
}

fn copy_region_in(rgb: &[u8], width: u32, r: &Region, pixmap: &mut Pixmap) {
    let data = pixmap.data_mut();
    for row in 0..r.h as usize {
        let src = ((r.y as usize + row) * width as usize + r.x as usize) * 3;
        let dst = row * r.w as usize * 4;
        for k in 0..r.w as usize {
            let (s, d) = (src + k * 3, dst + k * 4);
            data[d..d + 3].copy_from_slice(&rgb[s..s + 3]);
            data[d + 3] = 255;
        }
    }
}

fn copy_region_out(pixmap: &Pixmap, r: &Region, rgb: &mut [u8], width: u32) {
    // Every pixel stays opaque (opaque paint over an opaque frame), so the premultiplied
    // values are the colours.
    let data = pixmap.data();
    for row in 0..r.h as usize {
        let dst = ((r.y as usize + row) * width as usize + r.x as usize) * 3;
        let src = row * r.w as usize * 4;
        for k in 0..r.w as usize {
            let (s, d) = (src + k * 4, dst + k * 3);
            rgb[d..d + 3].copy_from_slice(&data[s..s + 3]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounding_box_is_clipped_to_the_frame() {
        let px = vec![Some((-5.0, 10.0)), Some((50.0, 300.0)), None];
        let r = bounding_box(&px, 4.0, 100, 200).unwrap();
        assert_eq!((r.x, r.y, r.w, r.h), (0, 6, 54, 194));
        assert!(bounding_box(&[None], 4.0, 100, 100).is_none());
    }
}
