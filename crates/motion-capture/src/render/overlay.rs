//! Draws the tracked BlazePose skeleton (33 image landmarks) over a video frame.
//!
//! The preview is drawn while the clip is still being tracked (the solved skeleton only exists
//! after the whole clip), so it shows what is known per frame: that frame's 2D landmarks.

use tiny_skia::{Color, FillRule, LineCap, Paint, PathBuilder, PixmapMut, Stroke, Transform};

use crate::types::Pose;

/// Landmarks less likely visible than this are not drawn (nor their bones).
const MIN_VISIBILITY: f32 = 0.5;

/// The BlazePose topology (landmark index pairs), coloured by side of the body.
const BONES: [(usize, usize, Side); 35] = [
    // face
    (0, 1, Side::Left),
    (1, 2, Side::Left),
    (2, 3, Side::Left),
    (3, 7, Side::Left),
    (0, 4, Side::Right),
    (4, 5, Side::Right),
    (5, 6, Side::Right),
    (6, 8, Side::Right),
    (9, 10, Side::Centre),
    // torso
    (11, 12, Side::Centre),
    (11, 23, Side::Left),
    (12, 24, Side::Right),
    (23, 24, Side::Centre),
    // left arm and hand
    (11, 13, Side::Left),
    (13, 15, Side::Left),
    (15, 17, Side::Left),
    (15, 19, Side::Left),
    (15, 21, Side::Left),
    (17, 19, Side::Left),
    // right arm and hand
    (12, 14, Side::Right),
    (14, 16, Side::Right),
    (16, 18, Side::Right),
    (16, 20, Side::Right),
    (16, 22, Side::Right),
    (18, 20, Side::Right),
    // left leg and foot
    (23, 25, Side::Left),
    (25, 27, Side::Left),
    (27, 29, Side::Left),
    (29, 31, Side::Left),
    (27, 31, Side::Left),
    // right leg and foot
    (24, 26, Side::Right),
    (26, 28, Side::Right),
    (28, 30, Side::Right),
    (30, 32, Side::Right),
    (28, 32, Side::Right),
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

/// Stroke width in pixels of a frame of `width × height` that will be shown at `out_long_side`
/// pixels on its longer side, so that lines look the same after the encoder's downscale.
pub fn line_width(width: u32, height: u32, out_long_side: u32) -> f32 {
    let shown = (out_long_side as f32 / 220.0).clamp(2.0, 8.0);
    shown * width.max(height) as f32 / out_long_side.max(1) as f32
}

/// Draws `pose`'s image landmarks (normalised coordinates) onto `rgb` (packed rgb24 of
/// `width × height`), anti-aliased, with strokes `line` pixels wide.
///
/// Only the skeleton's bounding box is converted to a pixmap and back: on a 1080p frame that
/// is a small fraction of the pixels. The pixmap lives in `scratch`, which callers keep from
/// frame to frame (its contents do not matter): a new megabyte-sized buffer per frame costs
/// the kernel's page faults and zeroing every time.
pub fn draw_landmarks(
    rgb: &mut [u8],
    width: u32,
    height: u32,
    pose: &Pose,
    line: f32,
    scratch: &mut Vec<u8>,
) {
    let px: Vec<Option<(f32, f32)>> = pose
        .image
        .iter()
        .map(|l| {
            let p = (l.x * width as f32, l.y * height as f32);
            (l.visibility >= MIN_VISIBILITY && p.0.is_finite() && p.1.is_finite()).then_some(p)
        })
        .collect();
    let Some(bbox) = bounding_box(&px, line * 2.0, width, height) else {
        return;
    };
    scratch.resize(bbox.w as usize * bbox.h as usize * 4, 0);
    let Some(mut pixmap) = PixmapMut::from_bytes(scratch, bbox.w, bbox.h) else {
        return;
    };
    copy_region_in(rgb, width, &bbox, pixmap.data_mut());
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
    copy_region_out(pixmap.data_mut(), &bbox, rgb, width);
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

fn copy_region_in(rgb: &[u8], width: u32, r: &Region, data: &mut [u8]) {
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

fn copy_region_out(data: &[u8], r: &Region, rgb: &mut [u8], width: u32) {
    // Every pixel stays opaque (opaque paint over an opaque frame), so the premultiplied
    // values are the colours.
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

    #[test]
    fn a_pose_is_drawn_inside_its_box_only() {
        use crate::types::{Landmark, NUM_LANDMARKS};
        let (w, h) = (64u32, 48u32);
        let mut image = [Landmark::default(); NUM_LANDMARKS];
        for (i, l) in image.iter_mut().enumerate() {
            // A vertical line of points in the left half; visible except landmark 0.
            *l = Landmark {
                x: 0.25,
                y: 0.2 + 0.6 * i as f32 / NUM_LANDMARKS as f32,
                z: 0.0,
                visibility: if i == 0 { 0.0 } else { 1.0 },
                presence: 1.0,
            };
        }
        let pose = Pose {
            image,
            world: [Landmark::default(); NUM_LANDMARKS],
        };
        let mut rgb = vec![0u8; (w * h * 3) as usize];
        draw_landmarks(&mut rgb, w, h, &pose, 2.0, &mut Vec::new());
        let lit = |x: u32, y: u32| rgb[((y * w + x) * 3) as usize..][..3] != [0, 0, 0];
        assert!(lit(16, 24), "the skeleton is drawn");
        assert!(!lit(60, 24), "the right half stays untouched");
        assert!(!lit(16, 2), "nothing above the highest visible point");
    }

    #[test]
    fn line_width_is_kept_through_the_downscale() {
        let shown = line_width(1920, 1080, 1280) * 1280.0 / 1920.0;
        assert!((shown - 1280.0 / 220.0).abs() < 1e-4, "{shown}");
        assert_eq!(line_width(320, 240, 320), 2.0);
    }
}
