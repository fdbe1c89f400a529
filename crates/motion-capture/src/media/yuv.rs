//! 8-bit 4:2:0 YUV to packed rgb24, bit for bit as ffmpeg's own conversion.
//!
//! Why: a 1080p frame is 6.2 MB as rgb24 and 3.1 MB as yuv420p. Having ffmpeg convert and pipe
//! rgb24 cost more CPU than decoding the H.264 itself (measured with ffmpeg into a reader on the
//! benchmark's 1080p clip, both sides: decoding alone 2.5 ms a frame, to a yuv420p pipe 5 ms, to
//! an rgb24 pipe 8-11 ms), on a machine whose two cores the pose model needs. So the decoder
//! pipes the frames as they come out of the codec, and they are converted here (0.8 ms a 1080p
//! frame with AVX2).
//!
//! The pose models must see the very pixels MediaPipe saw (the goldens hash every frame), so this
//! is not any YUV conversion but the arithmetic that ffmpeg's `swscale` uses for 4:2:0 → rgb24
//! without scaling: each 2×2 block shares its chroma sample (no interpolation), and each channel
//! is a sum of 16-bit fixed-point products whose high halves are taken, then clamped to a byte.
//! The coefficients come from the colour matrix and range of the stream, computed as `swscale`
//! computes them. `tests/media_yuv.rs` checks every (Y, U, V) and every matrix and range against
//! the ffmpeg the setup installs (Debian's 5.1, x86-64). Another build (another CPU's vector
//! code) may round some values differently by a level; its frames would then not be MediaPipe's
//! bit for bit, as they already are not where MediaPipe runs on that build.

/// A YUV → RGB matrix as ffmpeg holds it: (Cr→R, Cb→B, Cb→G, Cr→G) in 1/65536.
type Matrix = [i64; 4];
const BT601: Matrix = [104_597, 132_201, 25_675, 53_279];
const BT709: Matrix = [117_489, 138_438, 13_975, 34_925];
const FCC: Matrix = [104_448, 132_798, 24_759, 53_109];
const SMPTE240M: Matrix = [117_579, 136_230, 16_907, 35_559];
const BT2020: Matrix = [110_013, 140_363, 12_277, 42_626];

/// The matrix of ffprobe's `color_space` name, as ffmpeg's scale filter picks it from the
/// frame: BT.601 for every other value (unstated, BT.470 B/G, SMPTE 170M, GBR, YCgCo, …).
fn matrix(color_space: Option<&str>) -> Matrix {
    match color_space.unwrap_or("unknown") {
        "bt709" => BT709,
        "fcc" => FCC,
        "smpte240m" => SMPTE240M,
        "bt2020nc" | "bt2020c" => BT2020,
        _ => BT601,
    }
}

/// The fixed-point coefficients of one conversion (`swscale`'s `yCoeff`, `vrCoeff`, … and
/// `yOffset`): products are `(a · coefficient) >> 16` of 16-bit values scaled by 8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct YuvToRgb {
    y: i32,
    y_offset: i32,
    v_r: i32,
    u_b: i32,
    u_g: i32,
    v_g: i32,
}

impl YuvToRgb {
    /// The conversion of a stream with ffprobe's `color_space` (None: not stated) and range
    /// (`full_range`: `pc`/JPEG range, as `yuvj420p` streams are).
    pub fn new(color_space: Option<&str>, full_range: bool) -> YuvToRgb {
        let [cr_r, cb_b, cb_g, cr_g] = matrix(color_space);
        let (mut crv, mut cbu, mut cgu, mut cgv) = (cr_r, cb_b, -cb_g, -cr_g);
        let (cy, oy) = if full_range {
            // Full-range chroma spans 0..255 instead of 16..240: the products shrink by 224/255
            // (C's division, which truncates toward zero).
            for c in [&mut crv, &mut cbu, &mut cgu, &mut cgv] {
                *c = *c * 224 / 255;
            }
            (1i64 << 16, 0i64)
        } else {
            ((1i64 << 16) * 255 / 219, 16i64 << 16)
        };
        YuvToRgb {
            y: round_to_i16(cy << 13),
            y_offset: round_to_i16(oy << 3),
            v_r: round_to_i16(crv << 13),
            u_b: round_to_i16(cbu << 13),
            u_g: round_to_i16(cgu << 13),
            v_g: round_to_i16(cgv << 13),
        }
    }

    /// Converts one frame: `yuv` is planar 4:2:0 (Y, then U and V at half width and height,
    /// rounded up) of `width × height`, `rgb` receives `width · height · 3` bytes.
    pub fn convert(&self, yuv: &[u8], width: usize, height: usize, rgb: &mut [u8]) {
        let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
        assert_eq!(yuv.len(), yuv420_len(width, height), "yuv420 frame size");
        assert_eq!(rgb.len(), width * height * 3, "rgb24 frame size");
        let (luma, chroma) = yuv.split_at(width * height);
        let (u_plane, v_plane) = chroma.split_at(cw * ch);
        #[cfg(target_arch = "x86_64")]
        let (avx2, ssse3) = (
            std::arch::is_x86_feature_detected!("avx2"),
            std::arch::is_x86_feature_detected!("ssse3"),
        );
        for (row, (y_row, rgb_row)) in luma
            .chunks_exact(width)
            .zip(rgb.chunks_exact_mut(width * 3))
            .enumerate()
        {
            let c = (row / 2) * cw;
            let chroma = ChromaRow {
                u: &u_plane[c..c + cw],
                v: &v_plane[c..c + cw],
            };
            let mut done = 0;
            #[cfg(target_arch = "x86_64")]
            if avx2 {
                // SAFETY: the CPU has AVX2 (checked above).
                done = unsafe { vectorised::convert_row_avx2(self, y_row, &chroma, rgb_row) };
            } else if ssse3 {
                // SAFETY: the CPU has SSSE3 (checked above).
                done = unsafe { vectorised::convert_row_ssse3(self, y_row, &chroma, rgb_row) };
            }
            self.convert_row_from(done, y_row, &chroma, rgb_row);
        }
    }

    /// Pixels `from..` of one row (`from` even), one at a time.
    fn convert_row_from(&self, from: usize, y_row: &[u8], chroma: &ChromaRow, rgb_row: &mut [u8]) {
        debug_assert_eq!(from % 2, 0);
        for (x, (&y, px)) in y_row
            .iter()
            .zip(rgb_row.chunks_exact_mut(3))
            .enumerate()
            .skip(from)
        {
            px.copy_from_slice(&self.pixel(y, chroma.u[x / 2], chroma.v[x / 2]));
        }
    }

    /// One pixel: ffmpeg's sums of fixed-point products.
    #[inline]
    fn pixel(&self, y: u8, u: u8, v: u8) -> [u8; 3] {
        // Every sample is scaled by 8; chroma is centred on 128.
        let luma = high_product(((y as i32) << 3) - self.y_offset, self.y);
        let (u, v) = (((u as i32) << 3) - 1024, ((v as i32) << 3) - 1024);
        // Both green products are summed before luma joins them, as ffmpeg adds them.
        let green = high_product(u, self.u_g) + high_product(v, self.v_g);
        [
            clamp_to_byte(luma + high_product(v, self.v_r)),
            clamp_to_byte(luma + green),
            clamp_to_byte(luma + high_product(u, self.u_b)),
        ]
    }
}

/// The chroma samples of one row pair.
struct ChromaRow<'a> {
    u: &'a [u8],
    v: &'a [u8],
}

/// The same arithmetic on 16 or 32 pixels at a time: 16-bit lanes, `pmulhw` for the products and
/// `packuswb` for the clamp, as ffmpeg's own x86 code, then shuffled into packed RGB.
#[cfg(target_arch = "x86_64")]
mod vectorised {
    use std::arch::x86_64::*;

    use super::{ChromaRow, YuvToRgb};

    /// Converts the longest prefix of whole 16-pixel groups of one row; returns its length.
    #[target_feature(enable = "ssse3")]
    pub(super) fn convert_row_ssse3(
        k: &YuvToRgb,
        y_row: &[u8],
        chroma: &ChromaRow,
        rgb_row: &mut [u8],
    ) -> usize {
        let groups = y_row.len() / 16;
        assert!(chroma.u.len() >= 8 * groups && chroma.v.len() >= 8 * groups);
        assert!(rgb_row.len() >= 48 * groups);
        let splat = |v: i32| _mm_set1_epi16(v as i16);
        let (y_coef, y_off) = (splat(k.y), splat(k.y_offset));
        let (v_r, u_b, u_g, v_g) = (splat(k.v_r), splat(k.u_b), splat(k.u_g), splat(k.v_g));
        let (centre, low_bytes, zero) = (splat(1024), splat(0x00ff), _mm_setzero_si128());
        // SAFETY: each mask is 32 bytes, of which the first 16 are read.
        let masks = INTERLEAVE.map(|m| m.map(|c| unsafe { _mm_loadu_si128(c.as_ptr().cast()) }));
        for g in 0..groups {
            // SAFETY (all loads and stores): group g covers luma bytes 16g..16g+16 and chroma
            // bytes 8g..8g+8 of rows at least that long, and RGB bytes 48g..48g+48 (asserted).
            let (y, u, v) = unsafe {
                (
                    _mm_loadu_si128(y_row.as_ptr().add(16 * g).cast()),
                    _mm_loadl_epi64(chroma.u.as_ptr().add(8 * g).cast()),
                    _mm_loadl_epi64(chroma.v.as_ptr().add(8 * g).cast()),
                )
            };
            let u = _mm_sub_epi16(_mm_slli_epi16(_mm_unpacklo_epi8(u, zero), 3), centre);
            let v = _mm_sub_epi16(_mm_slli_epi16(_mm_unpacklo_epi8(v, zero), 3), centre);
            let red = _mm_mulhi_epi16(v, v_r);
            let green = _mm_add_epi16(_mm_mulhi_epi16(u, u_g), _mm_mulhi_epi16(v, v_g));
            let blue = _mm_mulhi_epi16(u, u_b);
            let luma =
                |y: __m128i| _mm_mulhi_epi16(_mm_sub_epi16(_mm_slli_epi16(y, 3), y_off), y_coef);
            let even = luma(_mm_and_si128(y, low_bytes));
            let odd = luma(_mm_srli_epi16(y, 8));
            // Even and odd pixels clamped to bytes, then back into pixel order.
            let channel = |c: __m128i| {
                let e = _mm_add_epi16(even, c);
                let o = _mm_add_epi16(odd, c);
                _mm_unpacklo_epi8(_mm_packus_epi16(e, e), _mm_packus_epi16(o, o))
            };
            let (r, gr, b) = (channel(red), channel(green), channel(blue));
            for (part, [mr, mg, mb]) in masks.iter().enumerate() {
                let bytes = _mm_or_si128(
                    _mm_or_si128(_mm_shuffle_epi8(r, *mr), _mm_shuffle_epi8(gr, *mg)),
                    _mm_shuffle_epi8(b, *mb),
                );
                let at = 48 * g + 16 * part;
                unsafe { _mm_storeu_si128(rgb_row.as_mut_ptr().add(at).cast(), bytes) };
            }
        }
        16 * groups
    }

    /// Converts the longest prefix of whole 32-pixel groups of one row; returns its length.
    /// Each 128-bit half of a register holds 16 pixels, laid out as in the SSSE3 version.
    #[target_feature(enable = "avx2")]
    pub(super) fn convert_row_avx2(
        k: &YuvToRgb,
        y_row: &[u8],
        chroma: &ChromaRow,
        rgb_row: &mut [u8],
    ) -> usize {
        let groups = y_row.len() / 32;
        assert!(chroma.u.len() >= 16 * groups && chroma.v.len() >= 16 * groups);
        assert!(rgb_row.len() >= 96 * groups);
        let splat = |v: i32| _mm256_set1_epi16(v as i16);
        let (y_coef, y_off) = (splat(k.y), splat(k.y_offset));
        let (v_r, u_b, u_g, v_g) = (splat(k.v_r), splat(k.u_b), splat(k.u_g), splat(k.v_g));
        let (centre, low_bytes) = (splat(1024), splat(0x00ff));
        // Within each half: 8 even then 8 odd pixels → pixel order.
        let zip_halves = _mm256_setr_epi8(
            0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15, //
            0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15,
        );
        // SAFETY: each mask is 32 bytes.
        let masks = INTERLEAVE.map(|m| m.map(|c| unsafe { _mm256_loadu_si256(c.as_ptr().cast()) }));
        for g in 0..groups {
            // SAFETY (all loads and stores): group g covers luma bytes 32g..32g+32 and chroma
            // bytes 16g..16g+16 of rows at least that long, and RGB bytes 96g..96g+96 (asserted).
            let (y, u, v) = unsafe {
                (
                    _mm256_loadu_si256(y_row.as_ptr().add(32 * g).cast()),
                    _mm_loadu_si128(chroma.u.as_ptr().add(16 * g).cast()),
                    _mm_loadu_si128(chroma.v.as_ptr().add(16 * g).cast()),
                )
            };
            // Chroma sample i serves pixels 2i and 2i+1: lanes 0..8 the low half's 16 pixels.
            let u = _mm256_sub_epi16(_mm256_slli_epi16(_mm256_cvtepu8_epi16(u), 3), centre);
            let v = _mm256_sub_epi16(_mm256_slli_epi16(_mm256_cvtepu8_epi16(v), 3), centre);
            let red = _mm256_mulhi_epi16(v, v_r);
            let green = _mm256_add_epi16(_mm256_mulhi_epi16(u, u_g), _mm256_mulhi_epi16(v, v_g));
            let blue = _mm256_mulhi_epi16(u, u_b);
            let luma = |y: __m256i| {
                _mm256_mulhi_epi16(_mm256_sub_epi16(_mm256_slli_epi16(y, 3), y_off), y_coef)
            };
            let even = luma(_mm256_and_si256(y, low_bytes));
            let odd = luma(_mm256_srli_epi16(y, 8));
            let channel = |c: __m256i| {
                let packed =
                    _mm256_packus_epi16(_mm256_add_epi16(even, c), _mm256_add_epi16(odd, c));
                _mm256_shuffle_epi8(packed, zip_halves)
            };
            let (r, gr, b) = (channel(red), channel(green), channel(blue));
            for (part, [mr, mg, mb]) in masks.iter().enumerate() {
                let bytes = _mm256_or_si256(
                    _mm256_or_si256(_mm256_shuffle_epi8(r, *mr), _mm256_shuffle_epi8(gr, *mg)),
                    _mm256_shuffle_epi8(b, *mb),
                );
                let (low, high) = (
                    _mm256_castsi256_si128(bytes),
                    _mm256_extracti128_si256::<1>(bytes),
                );
                let at = 96 * g + 16 * part;
                unsafe {
                    _mm_storeu_si128(rgb_row.as_mut_ptr().add(at).cast(), low);
                    _mm_storeu_si128(rgb_row.as_mut_ptr().add(at + 48).cast(), high);
                }
            }
        }
        32 * groups
    }

    /// For each 16-byte part of 48 bytes of packed RGB and each channel, the shuffle that puts
    /// that channel's bytes in place (twice over, for both halves of a 256-bit register): byte j
    /// of part p is channel (16p + j) % 3 of pixel (16p + j) / 3; a mask byte of -1 clears the
    /// others.
    const INTERLEAVE: [[[i8; 32]; 3]; 3] = {
        let mut masks = [[[-1i8; 32]; 3]; 3];
        let mut part = 0;
        while part < 3 {
            let mut j = 0;
            while j < 32 {
                let k = 16 * part + j % 16;
                masks[part][k % 3][j] = (k / 3) as i8;
                j += 1;
            }
            part += 1;
        }
        masks
    };

    #[cfg(test)]
    mod tests {
        use super::super::{ChromaRow, YuvToRgb};

        /// Both vector paths against the pixel-by-pixel arithmetic for every (Y, U, V), on every
        /// CPU that has them: rows of 512 pixels, chroma sample i = U value i, each pair of
        /// pixels two luma values, 128 rows for each V.
        #[test]
        fn vector_rows_match_the_pixel_arithmetic_for_every_triple() {
            let width = 512;
            let u: Vec<u8> = (0..=255).collect();
            let paths: [(&str, bool, Row); 2] = [
                (
                    "ssse3",
                    std::arch::is_x86_feature_detected!("ssse3"),
                    |k, y, c, rgb| {
                        // SAFETY: only called where the CPU has SSSE3.
                        unsafe { super::convert_row_ssse3(k, y, c, rgb) }
                    },
                ),
                (
                    "avx2",
                    std::arch::is_x86_feature_detected!("avx2"),
                    |k, y, c, rgb| {
                        // SAFETY: only called where the CPU has AVX2.
                        unsafe { super::convert_row_avx2(k, y, c, rgb) }
                    },
                ),
            ];
            let (mut rgb, mut want) = (vec![0u8; width * 3], vec![0u8; width * 3]);
            for k in [
                YuvToRgb::new(None, false),
                YuvToRgb::new(Some("bt2020nc"), true),
            ] {
                for v_value in 0..=255u8 {
                    let v = vec![v_value; width / 2];
                    let chroma = ChromaRow { u: &u, v: &v };
                    for pair in 0..128 {
                        let y: Vec<u8> = (0..width).map(|x| (2 * pair + x % 2) as u8).collect();
                        for (x, px) in want.chunks_exact_mut(3).enumerate() {
                            px.copy_from_slice(&k.pixel(y[x], u[x / 2], v_value));
                        }
                        for (name, _, row) in paths.iter().filter(|p| p.1) {
                            let done = row(&k, &y, &chroma, &mut rgb);
                            assert_eq!(done, width, "{name}");
                            assert!(rgb == want, "{name}: V {v_value}, luma pair {pair}");
                        }
                    }
                }
            }
        }

        type Row = fn(&YuvToRgb, &[u8], &ChromaRow, &mut [u8]) -> usize;
    }
}

/// Bytes of one planar 4:2:0 frame.
pub fn yuv420_len(width: usize, height: usize) -> usize {
    width * height + 2 * width.div_ceil(2) * height.div_ceil(2)
}

/// The high half of a 16 × 16-bit signed product (rounded toward −∞, as `pmulhw`).
#[inline]
fn high_product(a: i32, b: i32) -> i32 {
    (a * b) >> 16
}

#[inline]
fn clamp_to_byte(v: i32) -> u8 {
    v.clamp(0, 255) as u8
}

/// `swscale`'s `roundToInt16`: the nearest integer of `f / 65536`, kept within ±0x7fff.
fn round_to_i16(f: i64) -> i32 {
    let r = (f + (1 << 15)) >> 16;
    r.clamp(-0x7fff, 0x7fff) as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::downscale::tests::noise;

    #[test]
    fn coefficients_are_ffmpeg_s_for_bt601_limited_range() {
        let k = YuvToRgb::new(None, false);
        assert_eq!(
            (k.y, k.y_offset, k.v_r, k.u_b, k.u_g, k.v_g),
            (9539, 128, 13075, 16525, -3209, -6660)
        );
    }

    #[test]
    fn full_range_luma_passes_through_and_grey_stays_grey() {
        let k = YuvToRgb::new(Some("bt709"), true);
        for y in [0u8, 1, 77, 128, 254, 255] {
            let mut rgb = [0u8; 12];
            k.convert(&[y, y, y, y, 128, 128], 2, 2, &mut rgb);
            assert!(rgb.iter().all(|&c| c == y), "{y}: {rgb:?}");
        }
    }

    #[test]
    fn limited_range_black_and_white_reach_the_ends() {
        let k = YuvToRgb::new(None, false);
        let mut rgb = [0u8; 6];
        k.convert(&[16, 235, 128, 128], 2, 1, &mut rgb);
        assert_eq!(rgb, [0, 0, 0, 255, 255, 255]);
    }

    #[test]
    fn odd_sizes_share_the_last_chroma_sample() {
        let k = YuvToRgb::new(None, false);
        // 3 × 3: chroma is 2 × 2; the last column and row use the last chroma sample.
        let mut yuv = vec![128u8; yuv420_len(3, 3)];
        yuv[9..13].copy_from_slice(&[128, 128, 128, 255]);
        yuv[13..17].copy_from_slice(&[128, 128, 128, 255]);
        let mut rgb = vec![0u8; 27];
        k.convert(&yuv, 3, 3, &mut rgb);
        let px = |x: usize, y: usize| &rgb[(y * 3 + x) * 3..(y * 3 + x) * 3 + 3];
        assert_eq!(px(0, 0), px(1, 1));
        assert_ne!(px(2, 2), px(0, 0));
        assert_eq!(px(2, 2)[0], 255, "strong red: {:?}", px(2, 2));
    }

    #[test]
    fn whole_frames_match_the_pixel_by_pixel_arithmetic_at_any_width() {
        // Widths with and without a tail after the 16- and 32-pixel groups, in both ranges.
        for (width, height) in [(16, 2), (34, 4), (50, 3), (1, 1), (77, 5), (96, 2)] {
            let yuv = noise(yuv420_len(width, height), width as u64);
            for k in [
                YuvToRgb::new(None, false),
                YuvToRgb::new(Some("bt709"), true),
            ] {
                let mut rgb = vec![0u8; width * height * 3];
                k.convert(&yuv, width, height, &mut rgb);
                let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
                for (i, px) in rgb.chunks_exact(3).enumerate() {
                    let (x, y) = (i % width, i / width);
                    let c = (y / 2) * cw + x / 2;
                    let want = k.pixel(
                        yuv[i],
                        yuv[width * height + c],
                        yuv[width * height + cw * ch + c],
                    );
                    assert_eq!(px, want, "{width}x{height} pixel ({x}, {y})");
                }
            }
        }
    }
}
