//! The 3:2 reduction of packed rgb24 frames: 1920×1080 → 1280×720 and 1080×1920 → 720×1280,
//! the preview size of the most common camera and phone videos (and, at the end, the 3:1 one of
//! 4K videos, [`downscale_3_1`]).
//!
//! It gives the pixels of fast_image_resize's `Interpolation(Bilinear)`, which every other size
//! uses: with centred pixels, output pixel 2k samples the source at 3k + ¼ and 2k + 1 at
//! 3k + 1¾, so every output value is (3a + b + 2) / 4 of two neighbours, first down the columns
//! and then across the rows, rounded to 8 bits in between, in the order fast_image_resize 6
//! works on 8-bit images (the tests compare the two on noise, so a change of theirs shows).
//! Written for that one ratio, both passes are plain byte arithmetic the compiler vectorises: a
//! third of the general resizer's time, which the preview painter pays on every frame beside
//! inference.

/// Whether `src` reduces to `out` by exactly 3:2 on both axes.
pub fn is_three_to_two(src: (u32, u32), out: (u32, u32)) -> bool {
    reduces_exactly(src, out, 3, 2)
}

/// Whether `src` reduces to `out` by exactly 3:1 on both axes (3840×2160 → 1280×720).
pub fn is_three_to_one(src: (u32, u32), out: (u32, u32)) -> bool {
    reduces_exactly(src, out, 3, 1)
}

/// Whether `src` reduces to `out` by exactly `from`:`to` on both axes.
fn reduces_exactly(src: (u32, u32), out: (u32, u32), from: u64, to: u64) -> bool {
    let exact = |s: u32, o: u32| o > 0 && to * u64::from(s) == from * u64::from(o);
    exact(src.0, out.0) && exact(src.1, out.1)
}

/// Reusable buffers of [`downscale_3_2`].
#[derive(Default)]
pub struct Scratch {
    /// The two vertically reduced rows of one band of three source rows.
    rows: Vec<u8>,
    /// Per byte of a reduced row: the weight of its own value in the horizontal step.
    weights: Vec<u8>,
    /// One row after the horizontal blend, before every third pixel is dropped.
    mixed: Vec<u8>,
    /// [`downscale_3_1`]: each byte of a row summed over a band of three source rows.
    column_sums: Vec<u16>,
}

/// What both exact reductions need: `src` rgb24 of `width × height`, both multiples of 3, and
/// `dst` of `dst_bytes`.
fn check_exact_reduction(
    ratio: &str,
    src: &[u8],
    (width, height): (usize, usize),
    dst: &[u8],
    dst_bytes: usize,
) {
    assert!(
        width > 0 && width.is_multiple_of(3) && height.is_multiple_of(3),
        "{ratio} needs non-zero sides divisible by 3"
    );
    assert_eq!(src.len(), width * height * 3, "source size");
    assert_eq!(dst.len(), dst_bytes, "destination size");
}

/// Reduces the rgb24 frame `src` (`width × height`, both multiples of 3) into `dst`
/// (`2/3` of each side, rgb24).
pub fn downscale_3_2(
    src: &[u8],
    width: usize,
    height: usize,
    dst: &mut [u8],
    scratch: &mut Scratch,
) {
    check_exact_reduction("3:2", src, (width, height), dst, width * height * 4 / 3);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked just above.
        return unsafe { downscale_avx2(src, width, dst, scratch) };
    }
    downscale(src, width, dst, scratch);
}

/// The same code compiled for AVX2 (integer arithmetic: identical results).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn downscale_avx2(src: &[u8], width: usize, dst: &mut [u8], scratch: &mut Scratch) {
    downscale(src, width, dst, scratch);
}

/// Reduces the rgb24 frame `src` (`width × height`, both multiples of 3) into `dst` (a third of
/// each side, rgb24): each output pixel is the rounded mean of its 3×3 block. For an exact 3:1
/// reduction that box is the natural filter (every source pixel counts once; the general
/// resizer's bilinear convolution also blends in the neighbouring blocks' edges, at three times
/// the cost on the 25 MB frames of a 4K video).
pub fn downscale_3_1(
    src: &[u8],
    width: usize,
    height: usize,
    dst: &mut [u8],
    scratch: &mut Scratch,
) {
    check_exact_reduction("3:1", src, (width, height), dst, width * height / 3);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked just above.
        return unsafe { box_downscale_avx2(src, width, dst, &mut scratch.column_sums) };
    }
    box_downscale(src, width, dst, &mut scratch.column_sums);
}

/// The same code compiled for AVX2 (integer arithmetic: identical results).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn box_downscale_avx2(src: &[u8], width: usize, dst: &mut [u8], sums: &mut Vec<u16>) {
    box_downscale(src, width, dst, sums);
}

#[inline(always)]
fn box_downscale(src: &[u8], width: usize, dst: &mut [u8], sums: &mut Vec<u16>) {
    let row = width * 3;
    sums.resize(row, 0);
    for (band, out) in src.chunks_exact(3 * row).zip(dst.chunks_exact_mut(row / 3)) {
        let (r0, rest) = band.split_at(row);
        let (r1, r2) = rest.split_at(row);
        for ((sum, &a), (&b, &c)) in sums.iter_mut().zip(r0).zip(r1.iter().zip(r2)) {
            *sum = a as u16 + b as u16 + c as u16;
        }
        for (px, group) in out.chunks_exact_mut(3).zip(sums.chunks_exact(9)) {
            for (c, v) in px.iter_mut().enumerate() {
                *v = ((group[c] + group[c + 3] + group[c + 6] + 4) / 9) as u8;
            }
        }
    }
}

#[inline(always)]
fn blend(near: u8, far: u8) -> u8 {
    ((3 * near as u16 + far as u16 + 2) >> 2) as u8
}

#[inline(always)]
fn downscale(src: &[u8], width: usize, dst: &mut [u8], scratch: &mut Scratch) {
    let row = width * 3;
    let out_row = row / 3 * 2;
    let Scratch {
        rows,
        weights,
        mixed,
        ..
    } = scratch;
    rows.resize(2 * row, 0);
    mixed.resize(row, 0);
    if weights.len() != row {
        // Within each group of three pixels (nine bytes): the first output pixel leans on
        // pixel 0 (weight 3, pixel 1 weight 1), the second on pixel 2 (pixel 1 weight 1, pixel
        // 2 weight 3); the group's last three bytes are never read.
        *weights = (0..row).map(|i| if i % 9 < 3 { 3 } else { 1 }).collect();
    }
    let bands = src
        .chunks_exact(3 * row)
        .zip(dst.chunks_exact_mut(2 * out_row));
    for (band, out) in bands {
        let (r0, rest) = band.split_at(row);
        let (r1, r2) = rest.split_at(row);
        let (top, bottom) = rows.split_at_mut(row);
        for (((t, b), (&a, &m)), &c) in top
            .iter_mut()
            .zip(bottom.iter_mut())
            .zip(r0.iter().zip(r1))
            .zip(r2)
        {
            *t = blend(a, m);
            *b = blend(c, m);
        }
        let (out_top, out_bottom) = out.split_at_mut(out_row);
        across(top, weights, mixed, out_top);
        across(bottom, weights, mixed, out_bottom);
    }
}

/// The horizontal step of one reduced row: every byte blended with the same channel of the next
/// pixel (weights 3:1 or 1:3), then six of every nine bytes kept.
#[inline(always)]
fn across(row: &[u8], weights: &[u8], mixed: &mut [u8], out: &mut [u8]) {
    let (here, next) = (&row[..row.len() - 3], &row[3..]);
    for ((m, &w), (&a, &b)) in mixed.iter_mut().zip(weights).zip(here.iter().zip(next)) {
        let w = w as u16;
        *m = ((w * a as u16 + (4 - w) * b as u16 + 2) >> 2) as u8;
    }
    for (group, pair) in mixed.chunks_exact(9).zip(out.chunks_exact_mut(6)) {
        pair.copy_from_slice(&group[..6]);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use fast_image_resize::images::{Image, ImageRef};
    use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

    pub(crate) fn reference(src: &[u8], w: u32, h: u32) -> Vec<u8> {
        let (ow, oh) = (w / 3 * 2, h / 3 * 2);
        let mut out = vec![0u8; (ow * oh * 3) as usize];
        let s = ImageRef::new(w, h, src, PixelType::U8x3).unwrap();
        let mut d = Image::from_slice_u8(ow, oh, &mut out, PixelType::U8x3).unwrap();
        let options =
            ResizeOptions::new().resize_alg(ResizeAlg::Interpolation(FilterType::Bilinear));
        Resizer::new().resize(&s, &mut d, &options).unwrap();
        out
    }

    pub(crate) fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut state = seed;
        (0..len)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 56) as u8
            })
            .collect()
    }

    #[test]
    fn matches_the_general_bilinear_resizer() {
        for (w, h, seed) in [
            (1920u32, 1080u32, 1),
            (1080, 1920, 2),
            (9, 3, 3),
            (33, 12, 4),
        ] {
            let src = noise((w * h * 3) as usize, seed);
            let mut out = vec![0u8; (w * h * 3 * 4 / 9) as usize];
            let mut scratch = Scratch::default();
            downscale_3_2(&src, w as usize, h as usize, &mut out, &mut scratch);
            let want = reference(&src, w, h);
            let worst = out
                .iter()
                .zip(&want)
                .map(|(a, b)| a.abs_diff(*b))
                .max()
                .unwrap();
            assert_eq!(worst, 0, "{w}x{h}: off by {worst}");
            // Reused scratch gives the same result.
            let mut again = vec![0u8; out.len()];
            downscale_3_2(&src, w as usize, h as usize, &mut again, &mut scratch);
            assert_eq!(again, out);
        }
    }

    #[test]
    fn the_vectorised_build_computes_exactly_as_the_baseline() {
        let (w, h) = (96usize, 54usize);
        let src = noise(w * h * 3, 7);
        let (mut dispatched, mut baseline) = (vec![0u8; w * h * 4 / 3], vec![0u8; w * h * 4 / 3]);
        downscale_3_2(&src, w, h, &mut dispatched, &mut Scratch::default());
        downscale(&src, w, &mut baseline, &mut Scratch::default());
        assert_eq!(dispatched, baseline);
    }

    #[test]
    fn three_to_one_is_the_rounded_mean_of_each_block() {
        for (w, h, seed) in [(3840usize, 2160usize, 5), (9, 6, 6), (3, 3, 8)] {
            let src = noise(w * h * 3, seed);
            let mut out = vec![0u8; w * h / 3];
            downscale_3_1(&src, w, h, &mut out, &mut Scratch::default());
            let (ow, oh) = (w / 3, h / 3);
            for (i, px) in out.chunks_exact(3).enumerate() {
                let (x, y) = (i % ow, i / ow);
                for (c, &got) in px.iter().enumerate() {
                    let sum: u32 = (0..9)
                        .map(|k| src[((3 * y + k / 3) * w + 3 * x + k % 3) * 3 + c] as u32)
                        .sum();
                    assert_eq!(
                        got as u32,
                        (sum + 4) / 9,
                        "{w}x{h} pixel ({x}, {y}) of {ow}x{oh}"
                    );
                }
            }
            let mut baseline = vec![0u8; out.len()];
            box_downscale(&src, w, &mut baseline, &mut Vec::new());
            assert_eq!(out, baseline, "{w}x{h}: the vectorised build");
        }
    }

    #[test]
    fn only_exact_three_to_one_reductions_qualify() {
        assert!(is_three_to_one((3840, 2160), (1280, 720)));
        assert!(is_three_to_one((2160, 3840), (720, 1280)));
        assert!(!is_three_to_one((1920, 1080), (1280, 720)));
        assert!(!is_three_to_one((3840, 2160), (1280, 718)));
        assert!(!is_three_to_one((0, 3), (0, 1)));
    }

    #[test]
    fn only_exact_three_to_two_reductions_qualify() {
        assert!(is_three_to_two((1920, 1080), (1280, 720)));
        assert!(is_three_to_two((1080, 1920), (720, 1280)));
        assert!(!is_three_to_two((1280, 720), (1280, 720)));
        assert!(!is_three_to_two((3840, 2160), (1280, 720)));
        assert!(!is_three_to_two((1921, 1080), (1280, 720)));
        assert!(!is_three_to_two((1920, 1080), (1280, 719)));
        assert!(!is_three_to_two((0, 3), (0, 2)));
    }
}
