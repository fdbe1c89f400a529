//! ImageToTensor (pose-pipeline §3): cut a rotated rectangle out of the RGB frame and resample
//! it to an n×n float tensor exactly as MediaPipe does through OpenCV: f32 corner points as
//! `RotatedRect::points` computes them, `getPerspectiveTransform` (f32 products, f64 LU solve),
//! the 3×3 inverse, `warpPerspective`'s per-block source coordinates quantised to 1/32 px, and
//! 10-bit fixed-point bilinear sampling with a zero or replicated border. The landmark model is
//! so sensitive to its input that any shortcut here moves landmarks by pixels (§3 "Why
//! exactness matters").

use super::roi::Roi;

#[cfg(target_arch = "x86_64")]
mod simd;

/// What a sample outside the frame reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Border {
    /// `cv::BORDER_CONSTANT` with 0 (detector).
    Zero,
    /// `cv::BORDER_REPLICATE` (landmark model).
    Replicate,
}

/// Letterbox padding as fractions of the tensor: left, top, right, bottom.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Padding {
    pub left: f32,
    pub top: f32,
    pub right: f32,
    pub bottom: f32,
}

/// A rotated rectangle in pixels (f32, as MediaPipe keeps it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RectPx {
    pub cx: f32,
    pub cy: f32,
    pub w: f32,
    pub h: f32,
    pub rotation: f32,
}

impl RectPx {
    /// The whole frame (the detector's input rectangle).
    pub fn whole(width: u32, height: u32) -> Self {
        RectPx {
            cx: 0.5 * width as f32,
            cy: 0.5 * height as f32,
            w: width as f32,
            h: height as f32,
            rotation: 0.0,
        }
    }

    /// A normalised ROI in pixels (`GetRoi`).
    pub fn from_roi(roi: &Roi, width: u32, height: u32) -> Self {
        let (wf, hf) = (width as f32, height as f32);
        RectPx {
            cx: roi.cx * wf,
            cy: roi.cy * hf,
            w: roi.w * wf,
            h: roi.h * hf,
            rotation: roi.rotation,
        }
    }

    /// Keep-aspect-ratio padding for a square tensor (`PadRoi`): grows the short side and
    /// returns the padding that the output stages undo.
    pub fn pad_to_square(&mut self) -> Padding {
        let r = self.h / self.w;
        if 1.0 > r {
            self.h = self.w;
            let v = (1.0 - r) / 2.0;
            Padding {
                left: 0.0,
                top: v,
                right: 0.0,
                bottom: v,
            }
        } else {
            self.w = self.h;
            let hpad = (1.0 - 1.0 / r) / 2.0;
            Padding {
                left: hpad,
                top: 0.0,
                right: hpad,
                bottom: 0.0,
            }
        }
    }

    /// Corner points as `cv::RotatedRect::points`: bottom-left, top-left, top-right, bottom-right.
    pub fn corners(&self) -> [[f32; 2]; 4] {
        let angle_deg = ((self.rotation * 180.0f32) as f64 / std::f64::consts::PI) as f32;
        let phi = angle_deg as f64 * std::f64::consts::PI / 180.0;
        let b = (phi.cos() as f32) * 0.5f32;
        let a = (phi.sin() as f32) * 0.5f32;
        let (cx, cy, w, h) = (self.cx, self.cy, self.w, self.h);
        let p0 = [cx - a * h - b * w, cy + b * h - a * w];
        let p1 = [cx + a * h - b * w, cy - b * h - a * w];
        let p2 = [2.0 * cx - p0[0], 2.0 * cy - p0[1]];
        let p3 = [2.0 * cx - p1[0], 2.0 * cy - p1[1]];
        [p0, p1, p2, p3]
    }
}

/// `cv::getPerspectiveTransform(src, dst)`: the 8×8 system with f32 products, solved in f64 by
/// Gaussian elimination with partial pivoting (OpenCV's `DECOMP_LU`). Row-major 3×3, h33 = 1.
pub fn perspective_transform(src: &[[f32; 2]; 4], dst: &[[f32; 2]; 4]) -> [f64; 9] {
    let mut a = [[0f64; 8]; 8];
    let mut b = [0f64; 8];
    for i in 0..4 {
        let (sx, sy, dx, dy) = (src[i][0], src[i][1], dst[i][0], dst[i][1]);
        a[i][0] = sx as f64;
        a[i + 4][3] = sx as f64;
        a[i][1] = sy as f64;
        a[i + 4][4] = sy as f64;
        a[i][2] = 1.0;
        a[i + 4][5] = 1.0;
        a[i][6] = (-sx * dx) as f64;
        a[i][7] = (-sy * dx) as f64;
        a[i + 4][6] = (-sx * dy) as f64;
        a[i + 4][7] = (-sy * dy) as f64;
        b[i] = dx as f64;
        b[i + 4] = dy as f64;
    }
    let x = solve_lu(&mut a, &mut b);
    [x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], 1.0]
}

fn solve_lu(a: &mut [[f64; 8]; 8], b: &mut [f64; 8]) -> [f64; 8] {
    const N: usize = 8;
    for i in 0..N {
        let mut k = i;
        for j in i + 1..N {
            if a[j][i].abs() > a[k][i].abs() {
                k = j;
            }
        }
        if k != i {
            a.swap(i, k);
            b.swap(i, k);
        }
        let d = -1.0 / a[i][i];
        for j in i + 1..N {
            let alpha = a[j][i] * d;
            let pivot_row = a[i];
            for (dst, src) in a[j][i + 1..].iter_mut().zip(&pivot_row[i + 1..]) {
                *dst += alpha * src;
            }
            b[j] += alpha * b[i];
        }
    }
    let mut x = [0f64; N];
    for i in (0..N).rev() {
        let mut s = b[i];
        for k in i + 1..N {
            s -= a[i][k] * x[k];
        }
        x[i] = s / a[i][i];
    }
    x
}

/// The 3×3 inverse as OpenCV's `invert` computes it for small matrices (adjugate / determinant).
pub fn invert3(m: &[f64; 9]) -> [f64; 9] {
    let det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6])
        + m[2] * (m[3] * m[7] - m[4] * m[6]);
    if det == 0.0 {
        return [0.0; 9];
    }
    let d = 1.0 / det;
    [
        (m[4] * m[8] - m[5] * m[7]) * d,
        (m[2] * m[7] - m[1] * m[8]) * d,
        (m[1] * m[5] - m[2] * m[4]) * d,
        (m[5] * m[6] - m[3] * m[8]) * d,
        (m[0] * m[8] - m[2] * m[6]) * d,
        (m[2] * m[3] - m[0] * m[5]) * d,
        (m[3] * m[7] - m[4] * m[6]) * d,
        (m[1] * m[6] - m[0] * m[7]) * d,
        (m[0] * m[4] - m[1] * m[3]) * d,
    ]
}

/// `warpPerspective` processes the output in blocks of 16 rows × 64 columns and starts each
/// block's sums at the block's first column; we evaluate the same sums for identical rounding.
const BLOCK_W: usize = 64;

/// Output rows per tile of [`crop_to_tensor`] (the arithmetic is per row, so any height is exact).
const TILE_ROWS: usize = 16;

/// Output tensor value = q·scale + offset for the 8-bit sample q.
#[derive(Clone, Copy, Debug)]
pub struct ValueRange {
    pub scale: f32,
    pub offset: f32,
}

impl ValueRange {
    /// [−1, 1] (detector).
    pub const SIGNED: ValueRange = ValueRange {
        scale: 2.0 / 255.0,
        offset: -1.0,
    };
    /// [0, 1] (landmark model).
    pub const UNIT: ValueRange = ValueRange {
        scale: 1.0 / 255.0,
        offset: 0.0,
    };
}

/// A packed RGB image (3 bytes per pixel, no row padding).
#[derive(Clone, Copy, Debug)]
pub struct ImageRef<'a> {
    pub rgb: &'a [u8],
    pub width: u32,
    pub height: u32,
}

/// The tensor a crop produces: n×n, border rule, value range.
#[derive(Clone, Copy, Debug)]
pub struct TensorSpec {
    pub n: usize,
    pub border: Border,
    pub range: ValueRange,
}

/// Crops `rect` (in pixels, before padding) out of `img` into the n×n NHWC tensor `out`
/// (length n·n·3). Returns the letterbox padding.
pub fn crop_to_tensor(
    img: ImageRef<'_>,
    mut rect: RectPx,
    spec: &TensorSpec,
    out: &mut [f32],
) -> Padding {
    let (rgb, width, height) = (img.rgb, img.width, img.height);
    let (n, border, range) = (spec.n, spec.border, spec.range);
    assert_eq!(
        rgb.len(),
        width as usize * height as usize * 3,
        "frame size"
    );
    assert_eq!(out.len(), n * n * 3, "tensor size");
    let padding = rect.pad_to_square();
    let m = tensor_to_source(&rect, n);
    let sampler = Sampler {
        rgb,
        w: width as i32,
        h: height as i32,
        border,
    };
    crop_with(Kernel::new(range), &m, &sampler, n, out);
    padding
}

/// The transform from n×n tensor pixels to source pixels of `rect` (already padded).
fn tensor_to_source(rect: &RectPx, n: usize) -> [f64; 9] {
    let nf = n as f32;
    let dst = [[0.0, nf], [0.0, 0.0], [nf, 0.0], [nf, nf]];
    invert3(&perspective_transform(&rect.corners(), &dst))
}

/// Fills the n×n tensor `out` through the inverse transform `m` with `kernel`'s arithmetic.
fn crop_with(kernel: Kernel, m: &[f64; 9], sampler: &Sampler<'_>, n: usize, out: &mut [f32]) {
    // Tiles of TILE_ROWS rows × one block of columns: a rotated crop walks diagonally through
    // the frame, and a tile keeps the source rows it reads in cache. Within a tile, two passes
    // per row: the source positions first (pure arithmetic, and a prefetch of the rows they
    // read), then the samples, so that the memory loads of neighbouring pixels overlap.
    let mut block = BlockCoords::default();
    for tile_v in (0..n).step_by(TILE_ROWS) {
        for bx in (0..n).step_by(BLOCK_W) {
            let cols = BLOCK_W.min(n - bx);
            for v in tile_v..(tile_v + TILE_ROWS).min(n) {
                kernel.coords(m, (bx, v), cols, &mut block);
                for (&qx, &qy) in block.qx[..cols].iter().zip(&block.qy[..cols]) {
                    sampler.prefetch(qx, qy);
                }
                let start = (v * n + bx) * 3;
                kernel.samples(sampler, &block, &mut out[start..start + cols * 3]);
            }
        }
    }
}

/// The source positions of one block row, in 1/32 px.
struct BlockCoords {
    qx: [i32; BLOCK_W],
    qy: [i32; BLOCK_W],
}

impl Default for BlockCoords {
    fn default() -> Self {
        BlockCoords {
            qx: [0; BLOCK_W],
            qy: [0; BLOCK_W],
        }
    }
}

/// The arithmetic of a crop: portable, or vectorised where the CPU has AVX2 and FMA. Both
/// give the same bits (IEEE f64 for the positions, the same integer sums for the samples; see
/// `simd`).
// One lives on the stack for the length of a crop: the portable table's size costs nothing.
#[allow(clippy::large_enum_variant)]
enum Kernel {
    Portable {
        /// 256 possible 8-bit values → tensor value, computed once.
        lut: [f32; 256],
    },
    #[cfg(target_arch = "x86_64")]
    Avx2Fma { range: ValueRange },
}

impl Kernel {
    /// The fastest kernel this CPU runs.
    fn new(range: ValueRange) -> Kernel {
        #[cfg(target_arch = "x86_64")]
        if simd::available() {
            return Kernel::Avx2Fma { range };
        }
        Kernel::portable(range)
    }

    fn portable(range: ValueRange) -> Kernel {
        Kernel::Portable {
            lut: std::array::from_fn(|q| tensor_value(q as u8, range)),
        }
    }

    /// Source positions of output row `v`, columns `bx..bx + cols`.
    fn coords(&self, m: &[f64; 9], (bx, v): (usize, usize), cols: usize, out: &mut BlockCoords) {
        let (x, y) = (bx as f64, v as f64);
        // The block's origin, then a step of one column at a time (as warpPerspective sums).
        let origin = [
            m[0] * x + m[1] * y + m[2],
            m[3] * x + m[4] * y + m[5],
            m[6] * x + m[7] * y + m[8],
        ];
        match self {
            Kernel::Portable { .. } => block_coords(m, origin, cols, out),
            // SAFETY: this variant exists only where `simd::available()` said yes.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2Fma { .. } => unsafe { simd::block_coords(m, origin, cols, out) },
        }
    }

    /// Samples the block's positions into `row` (3 values per position).
    fn samples(&self, sampler: &Sampler<'_>, block: &BlockCoords, row: &mut [f32]) {
        match self {
            Kernel::Portable { lut } => {
                for (dst, (&qx, &qy)) in row.chunks_exact_mut(3).zip(block.qx.iter().zip(&block.qy))
                {
                    let px = sampler.sample(qx, qy);
                    dst[0] = lut[px[0] as usize];
                    dst[1] = lut[px[1] as usize];
                    dst[2] = lut[px[2] as usize];
                }
            }
            // SAFETY: this variant exists only where `simd::available()` said yes.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2Fma { range } => unsafe {
                simd::block_samples(sampler, block, *range, row)
            },
        }
    }
}

/// The tensor value of the 8-bit sample `q`: `q·scale + offset`, rounded once (fused).
#[inline]
fn tensor_value(q: u8, range: ValueRange) -> f32 {
    (q as f32).mul_add(range.scale, range.offset)
}

/// Source positions of one block row from its origin `(x0, y0, w0)`: column k is at
/// `((x0 + m0·k)·r, (y0 + m3·k)·r)` with `r = 32 / (w0 + m6·k)`, quantised to 1/32 px.
fn block_coords(m: &[f64; 9], [x0, y0, w0]: [f64; 3], cols: usize, out: &mut BlockCoords) {
    for (k, (qx, qy)) in out.qx[..cols]
        .iter_mut()
        .zip(&mut out.qy[..cols])
        .enumerate()
    {
        let kf = k as f64;
        let wv = w0 + m[6] * kf;
        let wv = if wv != 0.0 { 32.0 / wv } else { 0.0 };
        let fx = ((x0 + m[0] * kf) * wv).clamp(i32::MIN as f64, i32::MAX as f64);
        let fy = ((y0 + m[3] * kf) * wv).clamp(i32::MIN as f64, i32::MAX as f64);
        *qx = round_half_even(fx);
        *qy = round_half_even(fy);
    }
}

/// 1.5·2⁵²: adding and subtracting it makes the FPU round to an integer in its default mode
/// (nearest, ties to even) without a libm call; exact for |v| < 2⁵¹.
const ROUNDING_MAGIC: f64 = 6_755_399_441_055_744.0;

/// `cvRound`: nearest integer, halves to even ([`ROUNDING_MAGIC`]); callers clamp to the i32
/// range first.
#[inline]
fn round_half_even(v: f64) -> i32 {
    ((v + ROUNDING_MAGIC) - ROUNDING_MAGIC) as i32
}

struct Sampler<'a> {
    rgb: &'a [u8],
    w: i32,
    h: i32,
    border: Border,
}

impl Sampler<'_> {
    /// Bilinear sample at (qx/32, qy/32) with 10-bit weights, rounded half up.
    #[inline]
    fn sample(&self, qx: i32, qy: i32) -> [u8; 3] {
        let (x0, y0) = (qx >> 5, qy >> 5);
        let (fx, fy) = (qx & 31, qy & 31);
        let w00 = (32 - fx) * (32 - fy);
        let w10 = fx * (32 - fy);
        let w01 = (32 - fx) * fy;
        let w11 = fx * fy;
        let mix = |p00: &[u8], p10: &[u8], p01: &[u8], p11: &[u8]| -> [u8; 3] {
            std::array::from_fn(|c| {
                let s = w00 * p00[c] as i32
                    + w10 * p10[c] as i32
                    + w01 * p01[c] as i32
                    + w11 * p11[c] as i32;
                ((s + 512) >> 10) as u8
            })
        };
        if let Some(i00) = self.inner_index(x0, y0) {
            let i01 = i00 + self.row_bytes();
            let r = self.rgb;
            return mix(
                &r[i00..i00 + 3],
                &r[i00 + 3..i00 + 6],
                &r[i01..i01 + 3],
                &r[i01 + 3..i01 + 6],
            );
        }
        let p00 = self.pixel(x0, y0);
        let p10 = self.pixel(x0 + 1, y0);
        let p01 = self.pixel(x0, y0 + 1);
        let p11 = self.pixel(x0 + 1, y0 + 1);
        mix(&p00, &p10, &p01, &p11)
    }

    /// Asks the CPU to start loading the two source rows that [`Sampler::sample`] will read
    /// for (qx/32, qy/32). The frame arrives from the decoder's pipe mostly out of cache, and a
    /// crop reads two rows per output pixel, rows apart: without this, each load of the lower
    /// row waited on memory in turn (half the crop's time); with it, the loads of a whole block
    /// row are in flight together before the samples need them.
    #[inline]
    fn prefetch(&self, qx: i32, qy: i32) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            if let Some(i00) = self.inner_index(qx >> 5, qy >> 5) {
                let rows = self.rgb[i00..].as_ptr();
                let below = self.rgb[i00 + self.row_bytes()..].as_ptr();
                // SAFETY: prefetching is a hint that never faults, and both pointers are in
                // bounds of the frame (checked by the slicing above).
                unsafe {
                    _mm_prefetch::<_MM_HINT_T0>(rows.cast());
                    _mm_prefetch::<_MM_HINT_T0>(below.cast());
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (qx, qy);
    }

    /// Byte index of pixel (x0, y0) when it and its right, lower and lower-right neighbours are
    /// all inside the frame (no border rule needed).
    #[inline]
    fn inner_index(&self, x0: i32, y0: i32) -> Option<usize> {
        let inside = x0 >= 0 && y0 >= 0 && x0 + 1 < self.w && y0 + 1 < self.h;
        // In usize: the vectorised sampler's bounds check relies on this index not wrapping.
        inside.then(|| (y0 as usize * self.w as usize + x0 as usize) * 3)
    }

    #[inline]
    fn row_bytes(&self) -> usize {
        self.w as usize * 3
    }

    #[inline]
    fn pixel(&self, x: i32, y: i32) -> [u8; 3] {
        let (x, y) = match self.border {
            Border::Zero => {
                if x < 0 || y < 0 || x >= self.w || y >= self.h {
                    return [0; 3];
                }
                (x, y)
            }
            Border::Replicate => (x.clamp(0, self.w - 1), y.clamp(0, self.h - 1)),
        };
        let i = (y * self.w + x) as usize * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::downscale::tests::noise;

    #[test]
    fn rounding_is_half_to_even() {
        for (v, r) in [
            (0.5, 0),
            (1.5, 2),
            (2.5, 2),
            (-0.5, 0),
            (-1.5, -2),
            (-2.5, -2),
            (2.4999, 2),
            (-7.6, -8),
        ] {
            assert_eq!(round_half_even(v), r, "{v}");
            assert_eq!(round_half_even(v), v.round_ties_even() as i32);
        }
        assert_eq!(round_half_even(2147483647.0), i32::MAX);
        assert_eq!(round_half_even(-2147483648.0), i32::MIN);
    }

    #[test]
    fn padding_matches_pad_roi() {
        let mut r = RectPx::whole(1280, 720);
        let p = r.pad_to_square();
        assert_eq!((r.w, r.h), (1280.0, 1280.0));
        assert!((p.top - 0.21875).abs() < 1e-7 && p.left == 0.0);
        let mut r = RectPx::whole(720, 1280);
        let p = r.pad_to_square();
        assert_eq!((r.w, r.h), (1280.0, 1280.0));
        assert!((p.left - 0.21875).abs() < 1e-7 && p.top == 0.0);
    }

    #[test]
    fn corners_of_an_unrotated_rect() {
        let r = RectPx {
            cx: 10.0,
            cy: 20.0,
            w: 4.0,
            h: 6.0,
            rotation: 0.0,
        };
        assert_eq!(
            r.corners(),
            [[8.0, 23.0], [8.0, 17.0], [12.0, 17.0], [12.0, 23.0]]
        );
    }

    #[test]
    fn transform_maps_corners_to_tensor_corners() {
        let r = RectPx {
            cx: 100.3,
            cy: 80.7,
            w: 50.0,
            h: 50.0,
            rotation: 0.4,
        };
        let c = r.corners();
        let dst = [[0.0, 256.0], [0.0, 0.0], [256.0, 0.0], [256.0, 256.0]];
        let m = perspective_transform(&c, &dst);
        for (s, d) in c.iter().zip(dst) {
            let (x, y) = (s[0] as f64, s[1] as f64);
            let w = m[6] * x + m[7] * y + m[8];
            assert!(((m[0] * x + m[1] * y + m[2]) / w - d[0] as f64).abs() < 1e-3);
            assert!(((m[3] * x + m[4] * y + m[5]) / w - d[1] as f64).abs() < 1e-3);
        }
        let inv = invert3(&m);
        let id: Vec<f64> = (0..9)
            .map(|k| {
                (0..3)
                    .map(|j| m[(k / 3) * 3 + j] * inv[j * 3 + k % 3])
                    .sum()
            })
            .collect();
        for (k, v) in id.iter().enumerate() {
            assert!((v - if k % 4 == 0 { 1.0 } else { 0.0 }).abs() < 1e-9);
        }
    }

    /// A 4×2 image cropped at the identity scale: tensor pixel (u, v) samples source (u, v).
    #[test]
    fn identity_crop_copies_pixels_and_borders() {
        let rgb: Vec<u8> = (0..4 * 4 * 3).map(|i| (i * 5) as u8).collect();
        let rect = RectPx {
            cx: 2.0,
            cy: 2.0,
            w: 4.0,
            h: 4.0,
            rotation: 0.0,
        };
        let mut out = vec![0f32; 4 * 4 * 3];
        crop_to_tensor(
            ImageRef {
                rgb: &rgb,
                width: 4,
                height: 4,
            },
            rect,
            &TensorSpec {
                n: 4,
                border: Border::Zero,
                range: ValueRange {
                    scale: 1.0,
                    offset: 0.0,
                },
            },
            &mut out,
        );
        for (o, i) in out.iter().zip(&rgb) {
            assert_eq!(*o, *i as f32);
        }
        // Shift by half a pixel: averages of neighbours, rounded half up; outside reads 0 or edge.
        let rect = RectPx {
            cx: 2.5,
            cy: 2.0,
            w: 4.0,
            h: 4.0,
            rotation: 0.0,
        };
        crop_to_tensor(
            ImageRef {
                rgb: &rgb,
                width: 4,
                height: 4,
            },
            rect,
            &TensorSpec {
                n: 4,
                border: Border::Zero,
                range: ValueRange {
                    scale: 1.0,
                    offset: 0.0,
                },
            },
            &mut out,
        );
        assert_eq!(
            out[0],
            ((rgb[0] as i32 * 512 + rgb[3] as i32 * 512 + 512) >> 10) as f32
        );
        assert_eq!(out[9], ((rgb[9] as i32 * 512 + 512) >> 10) as f32);
        crop_to_tensor(
            ImageRef {
                rgb: &rgb,
                width: 4,
                height: 4,
            },
            rect,
            &TensorSpec {
                n: 4,
                border: Border::Replicate,
                range: ValueRange {
                    scale: 1.0,
                    offset: 0.0,
                },
            },
            &mut out,
        );
        assert_eq!(out[9], rgb[9] as f32);
    }

    /// The vectorised kernel gives the portable kernel's exact values: random frames (odd
    /// sizes, so rows are not aligned, and frames 1 to 4 pixels wide or high), rotated and
    /// scaled rectangles that leave the frame on every side, degenerate rectangles (empty,
    /// infinite, NaN), both borders, three value ranges, and tensor sizes that end in every kind
    /// of partial block.
    #[test]
    fn vectorised_crop_equals_portable_crop() {
        #[cfg(target_arch = "x86_64")]
        assert!(simd::available(), "this test needs a CPU with AVX2 and FMA");
        const CASES: usize = 120;
        // One stream of noise for all the parameters, so that cases are independent.
        let params = noise(CASES * 10, 99);
        for (case, p) in params.chunks_exact(10).enumerate() {
            let (w, h) = if case % 5 == 0 {
                (1 + p[0] as u32 % 4, 1 + p[1] as u32 % 40)
            } else if case % 5 == 1 {
                (1 + p[0] as u32 % 40, 1 + p[1] as u32 % 4)
            } else {
                (17 + p[0] as u32 + p[1] as u32, 9 + p[2] as u32)
            };
            let rgb = noise((w * h * 3) as usize, case as u64);
            let unit = |i: usize| p[i] as f32 / 255.0;
            let mut rect = RectPx {
                cx: w as f32 * (1.4 * unit(3) - 0.2),
                cy: h as f32 * (1.4 * unit(4) - 0.2),
                w: w as f32 * (0.1 + 1.5 * unit(5)),
                h: h as f32 * (0.1 + 1.5 * unit(6)),
                rotation: (unit(7) - 0.5) * 7.0,
            };
            match case {
                3 => rect.w = 0.0,
                8 => rect.h = f32::INFINITY,
                13 => rect.rotation = f32::NAN,
                18 => rect.cx = 3.0e38,
                // Beyond ±2³¹/32 px: positions clamp to the i32 range, then to the edge.
                19 => rect.cx = 1.0e9,
                21 => rect.cy = -1.0e9,
                _ => {}
            }
            let spec = TensorSpec {
                n: [256, 224, 67, 5, 6, 66, 130][p[8] as usize % 7],
                border: [Border::Zero, Border::Replicate][case % 2],
                range: [
                    ValueRange::UNIT,
                    ValueRange::SIGNED,
                    ValueRange {
                        scale: 0.1,
                        offset: 0.3,
                    },
                ][p[9] as usize % 3],
            };
            let (fast, portable) = both_kernels(&rgb, w, h, rect, &spec);
            let differ = fast
                .iter()
                .zip(&portable)
                .filter(|(a, b)| a.to_bits() != b.to_bits());
            assert_eq!(
                differ.count(),
                0,
                "case {case}: {w}x{h}, {rect:?}, n {}",
                spec.n
            );
        }
    }

    /// The crop of `rgb` by `crop_to_tensor` (the vectorised kernel here) and by the portable
    /// kernel.
    fn both_kernels(
        rgb: &[u8],
        w: u32,
        h: u32,
        rect: RectPx,
        spec: &TensorSpec,
    ) -> (Vec<f32>, Vec<f32>) {
        let image = ImageRef {
            rgb,
            width: w,
            height: h,
        };
        let mut fast = vec![f32::NAN; spec.n * spec.n * 3];
        crop_to_tensor(image, rect, spec, &mut fast);
        let mut padded = rect;
        padded.pad_to_square();
        let m = tensor_to_source(&padded, spec.n);
        let sampler = Sampler {
            rgb,
            w: w as i32,
            h: h as i32,
            border: spec.border,
        };
        let mut portable = vec![f32::NAN; fast.len()];
        crop_with(
            Kernel::portable(spec.range),
            &m,
            &sampler,
            spec.n,
            &mut portable,
        );
        (fast, portable)
    }

    /// The vectorised sampler loads 8 bytes where a pixel and its right neighbour take 6: it
    /// must never read past the frame's last byte. The frame here ends exactly where an
    /// inaccessible page begins, so such a read would crash the test.
    #[test]
    fn vectorised_crop_never_reads_past_the_frame() {
        use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous, mprotect, munmap};
        use std::num::NonZeroUsize;
        let page = 4096;
        let (w, h) = (37u32, 11u32);
        let len = (w * h * 3) as usize;
        let mapped = 3 * page;
        // SAFETY: a fresh private anonymous mapping, unmapped at the end; the frame slice lies
        // inside its readable part and outlives no use of it.
        unsafe {
            let base = mmap_anonymous(
                None,
                NonZeroUsize::new(mapped).unwrap(),
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_PRIVATE,
            )
            .unwrap();
            let guard = base.cast::<u8>().add(2 * page);
            mprotect(guard.cast(), page, ProtFlags::PROT_NONE).unwrap();
            let start = guard.as_ptr().sub(len);
            std::ptr::copy_nonoverlapping(noise(len, 5).as_ptr(), start, len);
            let rgb = std::slice::from_raw_parts(start, len);
            for (border, dx) in [(Border::Zero, 0.3), (Border::Replicate, 0.7)] {
                // The frame's bottom-right corner, sampled between pixels.
                let rect = RectPx {
                    cx: w as f32 - 1.0 - dx,
                    cy: h as f32 - 1.5,
                    w: 3.0,
                    h: 3.0,
                    rotation: 0.0,
                };
                let spec = TensorSpec {
                    n: 16,
                    border,
                    range: ValueRange::UNIT,
                };
                let (fast, portable) = both_kernels(rgb, w, h, rect, &spec);
                assert_eq!(fast, portable);
            }
            munmap(base, mapped).unwrap();
        }
    }

    /// Hand-computed: +90° (clockwise on screen) around the centre of a 3×3 image. The corners
    /// are P1 = (3, 0) (tensor origin), P2 = (3, 3), P0 = (0, 0), so tensor pixel (u, v) reads the
    /// source point (3 − v, u): tensor rows walk image columns from the right.
    #[test]
    fn quarter_turn_rotates_the_image() {
        let rgb: Vec<u8> = (0..9)
            .flat_map(|i| [(10 * (i / 3) + i % 3) as u8; 3])
            .collect();
        let rect = RectPx {
            cx: 1.5,
            cy: 1.5,
            w: 3.0,
            h: 3.0,
            rotation: std::f32::consts::FRAC_PI_2,
        };
        let mut out = vec![0f32; 27];
        crop_to_tensor(
            ImageRef {
                rgb: &rgb,
                width: 3,
                height: 3,
            },
            rect,
            &TensorSpec {
                n: 3,
                border: Border::Replicate,
                range: ValueRange {
                    scale: 1.0,
                    offset: 0.0,
                },
            },
            &mut out,
        );
        let got: Vec<f32> = out.chunks(3).map(|p| p[0]).collect();
        // I(x, y) = 10·y + x; x = 3 is replicated from x = 2.
        assert_eq!(got, vec![2.0, 12.0, 22.0, 2.0, 12.0, 22.0, 1.0, 11.0, 21.0]);
    }
}
