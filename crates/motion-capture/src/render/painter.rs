//! Turns a decoded frame into one preview frame: scaled to the preview size on our side, the
//! tracked skeleton drawn on the small frame, converted to the encoder's yuv420p.
//!
//! Why here and not in ffmpeg: ffmpeg 5's rgb24 input path (rgb24 → yuv420p plus the scale) is
//! scalar and was the preview's largest cost; piping the full decoded frame (6 MB at 1080p)
//! cost kernel copies on both sides. A SIMD resize of the rgb frame, a small skeleton drawing and
//! an integer colour conversion of the (≤ 1280 px) result cost a fraction of that, and the
//! encoder then gets 1.4 MB per 720p frame that it encodes as it is. The most common reduction,
//! 3:2 (1080p to 720p), has its own kernel with the same result ([`super::downscale`]).

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use crate::types::Pose;

use super::downscale::{Scratch, downscale_3_1, downscale_3_2, is_three_to_one, is_three_to_two};
use super::overlay;

/// Paints preview frames of one clip (reusing its buffers from frame to frame).
pub struct Painter {
    src: (u32, u32),
    out: (u32, u32),
    line: f32,
    resizer: Resizer,
    options: ResizeOptions,
    /// How `src` reduces to `out`.
    reduction: Reduction,
    downscale_scratch: Scratch,
    /// The last painted frame, rgb24 of the preview size.
    rgb: Vec<u8>,
    /// The same frame as yuv420p (what the encoder gets).
    yuv: Vec<u8>,
    /// The overlay's drawing buffer, reused from frame to frame.
    overlay_scratch: Vec<u8>,
}

/// A frame size the painter cannot work with.
#[derive(Debug, thiserror::Error)]
#[error("preview painter: {0}")]
pub struct PaintError(String);

impl Painter {
    /// A painter for decoded frames of `src` size into preview frames of `out` size (both sides
    /// even, as [`super::preview_size`] makes them).
    pub fn new(src: (u32, u32), out: (u32, u32)) -> Result<Painter, PaintError> {
        if src.0 == 0 || src.1 == 0 || out.0 == 0 || out.1 == 0 || out.0 % 2 + out.1 % 2 != 0 {
            return Err(PaintError(format!(
                "cannot paint {}x{} frames at {}x{}",
                src.0, src.1, out.0, out.1
            )));
        }
        Ok(Painter {
            src,
            out,
            // Drawn at the size it is shown, so no stroke width conversion is needed.
            line: overlay::line_width(out.0, out.1, out.0.max(out.1)),
            resizer: Resizer::new(),
            options: ResizeOptions::new().resize_alg(resize_alg(src, out)),
            reduction: Reduction::of(src, out),
            downscale_scratch: Scratch::default(),
            rgb: Vec::new(),
            yuv: Vec::new(),
            overlay_scratch: Vec::new(),
        })
    }

    pub fn out_size(&self) -> (u32, u32) {
        self.out
    }

    /// Paints one decoded rgb24 frame (`src` size) with `pose` (nothing drawn when `None`) and
    /// returns it as yuv420p. The rgb24 result stays readable through [`Painter::rgb`].
    ///
    /// A frame of the preview size is painted in place, without a copy: its buffer becomes the
    /// painter's, and `frame` gets the painter's previous buffer (stale contents, possibly of
    /// another length) in exchange. Callers recycle whatever `frame` holds afterwards.
    pub fn paint(&mut self, frame: &mut Vec<u8>, pose: Option<&Pose>) -> Result<&[u8], PaintError> {
        let (w, h) = self.out;
        let want = self.src.0 as usize * self.src.1 as usize * 3;
        if frame.len() != want {
            return Err(PaintError(format!(
                "frame has {} bytes, {}x{} rgb24 needs {want}",
                frame.len(),
                self.src.0,
                self.src.1
            )));
        }
        if self.src == self.out {
            // Nothing to scale (a small video): draw on the decoded frame itself.
            std::mem::swap(&mut self.rgb, frame);
        } else {
            self.rgb.resize(w as usize * h as usize * 3, 0);
            self.scale(frame)?;
        }
        if let Some(pose) = pose {
            overlay::draw_landmarks(
                &mut self.rgb,
                w,
                h,
                pose,
                self.line,
                &mut self.overlay_scratch,
            );
        }
        rgb_to_yuv420p(&self.rgb, w as usize, h as usize, &mut self.yuv);
        Ok(&self.yuv)
    }

    /// Scales a decoded frame (`src` size) into `rgb` (already of the preview size).
    fn scale(&mut self, frame: &[u8]) -> Result<(), PaintError> {
        let (sw, sh) = self.src;
        let (w, h) = (sw as usize, sh as usize);
        match self.reduction {
            Reduction::ThreeToTwo => {
                downscale_3_2(frame, w, h, &mut self.rgb, &mut self.downscale_scratch);
                return Ok(());
            }
            Reduction::ThreeToOne => {
                downscale_3_1(frame, w, h, &mut self.rgb, &mut self.downscale_scratch);
                return Ok(());
            }
            Reduction::General => {}
        }
        let src =
            ImageRef::new(sw, sh, frame, PixelType::U8x3).map_err(|e| PaintError(e.to_string()))?;
        let (w, h) = self.out;
        let mut dst = Image::from_slice_u8(w, h, &mut self.rgb, PixelType::U8x3)
            .map_err(|e| PaintError(e.to_string()))?;
        self.resizer
            .resize(&src, &mut dst, &self.options)
            .map_err(|e| PaintError(e.to_string()))
    }

    /// The last painted frame, rgb24 of [`Painter::out_size`].
    pub fn rgb(&self) -> &[u8] {
        &self.rgb
    }

    /// The last painted frame as yuv420p (what [`Painter::paint`] returned).
    pub fn yuv(&self) -> &[u8] {
        &self.yuv
    }

    /// Swaps the last painted rgb24 frame with `other` (which the painter then reuses as its
    /// buffer), so a caller can keep a frame without copying it.
    pub fn swap_rgb(&mut self, other: &mut Vec<u8>) {
        std::mem::swap(&mut self.rgb, other);
    }
}

/// Below a 2× reduction, plain bilinear interpolation (2×2 source pixels per output pixel)
/// samples every source pixel and costs a third less than a convolution; from 2× on, a
/// bilinear *convolution*, whose filter widens with the factor, so large reductions (4K → 1280)
/// average their pixels instead of skipping them.
/// How a painter reduces decoded frames to the preview size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reduction {
    /// 1080p to 720p: [`downscale_3_2`], the general resizer's pixels at a third of its cost.
    ThreeToTwo,
    /// 4K to 720p: [`downscale_3_1`], a box filter.
    ThreeToOne,
    /// Anything else: fast_image_resize ([`resize_alg`]).
    General,
}

impl Reduction {
    fn of(src: (u32, u32), out: (u32, u32)) -> Reduction {
        if is_three_to_two(src, out) {
            Reduction::ThreeToTwo
        } else if is_three_to_one(src, out) {
            Reduction::ThreeToOne
        } else {
            Reduction::General
        }
    }
}

fn resize_alg(src: (u32, u32), out: (u32, u32)) -> ResizeAlg {
    if src.0 < 2 * out.0 && src.1 < 2 * out.1 {
        ResizeAlg::Interpolation(FilterType::Bilinear)
    } else {
        ResizeAlg::Convolution(FilterType::Bilinear)
    }
}

/// Converts packed rgb24 (`w × h`, both even) to planar yuv420p, BT.601 limited range (what
/// ffmpeg's rgb24 → yuv420p conversion produced before, and what players assume for untagged
/// H.264). Chroma is the mean of each 2×2 block. Integer arithmetic, 8 fractional bits.
pub fn rgb_to_yuv420p(rgb: &[u8], w: usize, h: usize, out: &mut Vec<u8>) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked just above.
        return unsafe { rgb_to_yuv420p_avx2(rgb, w, h, out) };
    }
    convert_rgb_to_yuv420p(rgb, w, h, out);
}

/// The same conversion compiled for AVX2 (integer arithmetic: identical results), which lets
/// the compiler vectorise the packed-rgb loads: a third of the time of the SSE2 baseline build.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn rgb_to_yuv420p_avx2(rgb: &[u8], w: usize, h: usize, out: &mut Vec<u8>) {
    convert_rgb_to_yuv420p(rgb, w, h, out);
}

#[inline(always)]
fn convert_rgb_to_yuv420p(rgb: &[u8], w: usize, h: usize, out: &mut Vec<u8>) {
    debug_assert!(w.is_multiple_of(2) && h.is_multiple_of(2) && rgb.len() == w * h * 3);
    let (cw, ch) = (w / 2, h / 2);
    out.resize(w * h + 2 * cw * ch, 0);
    let (luma, chroma) = out.split_at_mut(w * h);
    let (u_plane, v_plane) = chroma.split_at_mut(cw * ch);
    for (src, dst) in rgb.chunks_exact(w * 3).zip(luma.chunks_exact_mut(w)) {
        for (p, y) in src.chunks_exact(3).zip(dst.iter_mut()) {
            let (r, g, b) = (p[0] as i32, p[1] as i32, p[2] as i32);
            *y = (((66 * r + 129 * g + 25 * b + 128) >> 8) + 16) as u8;
        }
    }
    let rows = rgb.chunks_exact(w * 6);
    for ((pair, u_row), v_row) in rows
        .zip(u_plane.chunks_exact_mut(cw))
        .zip(v_plane.chunks_exact_mut(cw))
    {
        let (top, bottom) = pair.split_at(w * 3);
        let blocks = top.chunks_exact(6).zip(bottom.chunks_exact(6));
        for ((a, b), (u, v)) in blocks.zip(u_row.iter_mut().zip(v_row.iter_mut())) {
            // Sums of the 2×2 block (4× the mean): the shifts below divide by 4 · 256.
            let r = a[0] as i32 + a[3] as i32 + b[0] as i32 + b[3] as i32;
            let g = a[1] as i32 + a[4] as i32 + b[1] as i32 + b[4] as i32;
            let bl = a[2] as i32 + a[5] as i32 + b[2] as i32 + b[5] as i32;
            *u = (((-38 * r - 74 * g + 112 * bl + 512) >> 10) + 128) as u8;
            *v = (((112 * r - 94 * g - 18 * bl + 512) >> 10) + 128) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Landmark, NUM_LANDMARKS};

    #[test]
    fn primaries_convert_to_bt601_limited_range() {
        // 2×2 frames of one colour: (Y, U, V) as in BT.601 with 8-bit limited range.
        for (rgb, yuv) in [
            ([0u8, 0, 0], [16u8, 128, 128]),
            ([255, 255, 255], [235, 128, 128]),
            ([255, 0, 0], [82, 90, 240]),
            ([0, 255, 0], [144, 54, 34]),
            ([0, 0, 255], [41, 240, 110]),
        ] {
            let frame: Vec<u8> = rgb.iter().copied().cycle().take(12).collect();
            let mut out = Vec::new();
            rgb_to_yuv420p(&frame, 2, 2, &mut out);
            assert_eq!(
                out,
                vec![yuv[0], yuv[0], yuv[0], yuv[0], yuv[1], yuv[2]],
                "{rgb:?}"
            );
        }
    }

    #[test]
    fn the_vectorised_build_converts_exactly_as_the_baseline() {
        let (w, h) = (98usize, 34usize);
        let frame: Vec<u8> = (0..w * h * 3).map(|i| ((i * 7919) % 256) as u8).collect();
        let (mut dispatched, mut baseline) = (Vec::new(), Vec::new());
        rgb_to_yuv420p(&frame, w, h, &mut dispatched);
        convert_rgb_to_yuv420p(&frame, w, h, &mut baseline);
        assert_eq!(dispatched, baseline);
    }

    #[test]
    fn chroma_is_the_mean_of_each_block() {
        // Left block black, right block white: U and V stay neutral, luma follows the pixels.
        let (w, h) = (4usize, 2usize);
        let mut frame = vec![0u8; w * h * 3];
        for y in 0..h {
            frame[(y * w + 2) * 3..(y * w + 4) * 3].fill(255);
        }
        let mut out = Vec::new();
        rgb_to_yuv420p(&frame, w, h, &mut out);
        assert_eq!(&out[..8], &[16, 16, 235, 235, 16, 16, 235, 235]);
        assert_eq!(&out[8..], &[128, 128, 128, 128]);
    }

    #[test]
    fn a_frame_is_scaled_and_painted_at_the_preview_size() {
        let (src, out) = ((64u32, 48u32), (32u32, 24u32));
        let mut painter = Painter::new(src, out).unwrap();
        // A uniform grey frame stays uniform grey through the resize.
        let frame = vec![100u8; (src.0 * src.1 * 3) as usize];
        let yuv = painter.paint(&mut frame.clone(), None).unwrap().to_vec();
        assert_eq!(yuv.len(), (out.0 * out.1 * 3 / 2) as usize);
        assert!(painter.rgb().iter().all(|&v| v == 100));
        // With a pose, the skeleton shows up in the left quarter where its points are.
        let mut image = [Landmark::default(); NUM_LANDMARKS];
        for (i, l) in image.iter_mut().enumerate() {
            *l = Landmark {
                x: 0.25,
                y: 0.2 + 0.6 * i as f32 / NUM_LANDMARKS as f32,
                z: 0.0,
                visibility: 1.0,
                presence: 1.0,
            };
        }
        let pose = Pose {
            image,
            world: [Landmark::default(); NUM_LANDMARKS],
        };
        painter.paint(&mut frame.clone(), Some(&pose)).unwrap();
        let px = |x: u32, y: u32| &painter.rgb()[((y * out.0 + x) * 3) as usize..][..3];
        assert_ne!(px(8, 12), [100, 100, 100], "the skeleton is drawn");
        assert_eq!(
            px(28, 12),
            [100, 100, 100],
            "the right side stays untouched"
        );
    }

    #[test]
    fn large_reductions_average_instead_of_skipping() {
        assert!(matches!(
            resize_alg((1920, 1080), (1280, 720)),
            ResizeAlg::Interpolation(_)
        ));
        assert!(matches!(
            resize_alg((3840, 2160), (1280, 720)),
            ResizeAlg::Convolution(_)
        ));
        // A 1-pixel checkerboard reduced 4× must come out mid-grey, not black or white.
        let (src, out) = ((64u32, 64u32), (16u32, 16u32));
        let frame: Vec<u8> = (0..src.0 * src.1)
            .flat_map(|i| {
                let v = if (i % src.0 + i / src.0) % 2 == 0 {
                    0
                } else {
                    255
                };
                [v, v, v]
            })
            .collect();
        let mut painter = Painter::new(src, out).unwrap();
        painter.paint(&mut frame.clone(), None).unwrap();
        assert!(
            painter.rgb().iter().all(|&v| (120..=135).contains(&v)),
            "{:?}",
            &painter.rgb()[..12]
        );
    }

    #[test]
    fn three_to_two_reductions_give_the_general_resizers_pixels() {
        use crate::render::downscale::tests::{noise, reference};
        let (src, out) = ((96u32, 54u32), (64u32, 36u32));
        let mut painter = Painter::new(src, out).unwrap();
        assert_eq!(painter.reduction, Reduction::ThreeToTwo);
        let frame = noise((src.0 * src.1 * 3) as usize, 11);
        painter.paint(&mut frame.clone(), None).unwrap();
        assert!(painter.rgb() == reference(&frame, src.0, src.1));
    }

    #[test]
    fn a_4k_frame_is_reduced_by_its_3x3_blocks() {
        let (src, out) = ((3840u32, 2160u32), (1280u32, 720u32));
        let mut painter = Painter::new(src, out).unwrap();
        assert_eq!(painter.reduction, Reduction::ThreeToOne);
        // Each 3×3 block one grey: the preview is that grey, pixel for pixel.
        let frame: Vec<u8> = (0..src.0 * src.1)
            .flat_map(|i| {
                let (x, y) = (i % src.0 / 3, i / src.0 / 3);
                [((x * 7 + y * 13) % 256) as u8; 3]
            })
            .collect();
        painter.paint(&mut frame.clone(), None).unwrap();
        let want: Vec<u8> = (0..out.0 * out.1)
            .flat_map(|i| [(((i % out.0) * 7 + (i / out.0) * 13) % 256) as u8; 3])
            .collect();
        assert!(painter.rgb() == want);
    }

    #[test]
    fn same_size_frames_are_painted_in_place_and_wrong_sizes_rejected() {
        let mut painter = Painter::new((4, 2), (4, 2)).unwrap();
        let frame: Vec<u8> = (0..24).collect();
        let mut decoded = frame.clone();
        painter.paint(&mut decoded, None).unwrap();
        assert_eq!(painter.rgb(), &frame[..]);
        assert!(
            decoded.is_empty(),
            "the painter's (empty) first buffer comes back"
        );
        let mut next = vec![7u8; 24];
        painter.paint(&mut next, None).unwrap();
        assert_eq!(next, frame, "the previous frame's buffer comes back");
        assert!(painter.paint(&mut vec![0; 10], None).is_err());
        assert!(Painter::new((4, 2), (3, 2)).is_err());
        let mut kept = Vec::new();
        painter.swap_rgb(&mut kept);
        assert_eq!(kept, vec![7u8; 24], "the last painted frame is kept");
    }
}
