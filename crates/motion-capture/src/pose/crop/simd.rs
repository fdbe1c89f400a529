//! The crop's arithmetic with AVX2 and FMA, bit for bit that of the portable code:
//! - positions: the same IEEE f64 operations in the same order, four columns at a time
//!   (no contraction into FMA), rounded half to even by the same `ROUNDING_MAGIC`;
//! - samples: the four 10-bit weights and the pixels meet in `pmaddwd`, which forms the same
//!   integer sums; the tensor value is one fused multiply-add, as `tensor_value` computes it.
//!
//! Samples whose 2×2 neighbourhood leaves the frame (borders) take the portable path.

use std::arch::x86_64::*;

use super::{BLOCK_W, BlockCoords, ROUNDING_MAGIC, Sampler, ValueRange, tensor_value};

/// Whether this CPU runs the kernels below.
pub(super) fn available() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

/// [`super::block_coords`], four columns per step.
///
/// # Safety
/// The CPU must have AVX2 and FMA ([`available`]).
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn block_coords(
    m: &[f64; 9],
    [x0, y0, w0]: [f64; 3],
    cols: usize,
    out: &mut BlockCoords,
) {
    const _: () = assert!(BLOCK_W.is_multiple_of(4));
    let (m0, m3, m6) = (
        _mm256_set1_pd(m[0]),
        _mm256_set1_pd(m[3]),
        _mm256_set1_pd(m[6]),
    );
    let (x0, y0, w0) = (_mm256_set1_pd(x0), _mm256_set1_pd(y0), _mm256_set1_pd(w0));
    let (lo, hi) = (
        _mm256_set1_pd(i32::MIN as f64),
        _mm256_set1_pd(i32::MAX as f64),
    );
    let thirty_two = _mm256_set1_pd(32.0);
    let zero = _mm256_setzero_pd();
    let mut k = _mm256_setr_pd(0.0, 1.0, 2.0, 3.0);
    let four = _mm256_set1_pd(4.0);
    // Whole groups of four cover `cols` (the arrays hold BLOCK_W); the extra lanes are unused.
    for group in 0..cols.div_ceil(4) {
        let wv = _mm256_add_pd(w0, _mm256_mul_pd(m6, k));
        // `if wv != 0 { 32 / wv } else { 0 }`: NaN compares unequal, as in Rust.
        let nonzero = _mm256_cmp_pd::<_CMP_NEQ_UQ>(wv, zero);
        let r = _mm256_and_pd(_mm256_div_pd(thirty_two, wv), nonzero);
        let fx = _mm256_mul_pd(_mm256_add_pd(x0, _mm256_mul_pd(m0, k)), r);
        let fy = _mm256_mul_pd(_mm256_add_pd(y0, _mm256_mul_pd(m3, k)), r);
        let at = group * 4;
        let (qx, qy) = (&mut out.qx[at..at + 4], &mut out.qy[at..at + 4]);
        // SAFETY: each slice holds the four i32 stored.
        unsafe {
            _mm_storeu_si128(qx.as_mut_ptr().cast(), quantise(fx, lo, hi));
            _mm_storeu_si128(qy.as_mut_ptr().cast(), quantise(fy, lo, hi));
        }
        k = _mm256_add_pd(k, four);
    }
}

/// `round_half_even(v.clamp(lo, hi))` per lane; NaN becomes 0, as `NaN as i32` does.
#[target_feature(enable = "avx2,fma")]
fn quantise(v: __m256d, lo: __m256d, hi: __m256d) -> __m128i {
    let v = _mm256_and_pd(v, _mm256_cmp_pd::<_CMP_ORD_Q>(v, v));
    let clamped = _mm256_min_pd(_mm256_max_pd(v, lo), hi);
    let magic = _mm256_set1_pd(ROUNDING_MAGIC);
    _mm256_cvttpd_epi32(_mm256_sub_pd(_mm256_add_pd(clamped, magic), magic))
}

/// Samples the block's positions into `row` (3 values each, `row.len() / 3` positions).
///
/// # Safety
/// The CPU must have AVX2 and FMA ([`available`]).
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn block_samples(
    sampler: &Sampler<'_>,
    block: &BlockCoords,
    range: ValueRange,
    row: &mut [f32],
) {
    let (scale, offset) = (_mm_set1_ps(range.scale), _mm_set1_ps(range.offset));
    // Bytes r0 g0 b0 r1 g1 b1 (a pixel and its right neighbour) → i16 lanes
    // r0 r1 g0 g1 b0 b1 0 0, so that `pmaddwd` pairs each channel with its two weights.
    let pairs = _mm_setr_epi8(0, -1, 3, -1, 1, -1, 4, -1, 2, -1, 5, -1, -1, -1, -1, -1);
    let half = _mm_set1_epi32(512);
    let positions = row.len() / 3;
    for (i, (&qx, &qy)) in block.qx[..positions].iter().zip(&block.qy).enumerate() {
        let dst = &mut row[i * 3..];
        let (x0, y0) = (qx >> 5, qy >> 5);
        let (fx, fy) = (qx & 31, qy & 31);
        // Eight-byte loads read two bytes past the right neighbour: of the samples inside the
        // frame, only those at its last pixel lack them, and they join the border samples.
        let rows = sampler
            .inner_index(x0, y0)
            .map(|top| (top, top + sampler.row_bytes()))
            .filter(|&(_, below)| below + 8 <= sampler.rgb.len());
        let Some((top, below)) = rows else {
            let px = sampler.sample(qx, qy);
            dst[..3].copy_from_slice(&px.map(|q| tensor_value(q, range)));
            continue;
        };
        let weights = |w_left: i32, w_right: i32| _mm_set1_epi32((w_right << 16) | w_left);
        let upper = weights((32 - fx) * (32 - fy), fx * (32 - fy));
        let lower = weights((32 - fx) * fy, fx * fy);
        // SAFETY: `top < below` and `below + 8 <= len`, checked above.
        let (t, b) = unsafe {
            let rgb = sampler.rgb.as_ptr();
            (
                _mm_loadl_epi64(rgb.add(top).cast()),
                _mm_loadl_epi64(rgb.add(below).cast()),
            )
        };
        let sum = _mm_add_epi32(
            _mm_madd_epi16(_mm_shuffle_epi8(t, pairs), upper),
            _mm_madd_epi16(_mm_shuffle_epi8(b, pairs), lower),
        );
        let q = _mm_srli_epi32::<10>(_mm_add_epi32(sum, half));
        let value = _mm_fmadd_ps(_mm_cvtepi32_ps(q), scale, offset);
        if dst.len() >= 4 {
            // SAFETY: four floats fit; the fourth is the next position's, written after this.
            unsafe { _mm_storeu_ps(dst.as_mut_ptr(), value) };
        } else {
            let mut four = [0f32; 4];
            // SAFETY: `four` holds four floats.
            unsafe { _mm_storeu_ps(four.as_mut_ptr(), value) };
            dst[..3].copy_from_slice(&four[..3]);
        }
    }
}
