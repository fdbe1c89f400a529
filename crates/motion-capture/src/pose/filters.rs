//! MediaPipe's landmark filters (pose-pipeline §8.3), with their numeric types and timestamp
//! quirks: a low-pass filter that stores f32 but mixes in f64 (`1.0 − α` is a double in the
//! C++), and a one-euro filter in f64 whose frequency is not updated when the previous
//! timestamp is 0.

use crate::types::{Landmark, NUM_LANDMARKS};

/// `LowPassFilter` (values kept as f32).
#[derive(Clone, Copy, Debug, Default)]
pub struct LowPass {
    initialized: bool,
    raw: f32,
    stored: f32,
}

impl LowPass {
    pub fn apply(&mut self, value: f32, alpha: f32) -> f32 {
        let out = if self.initialized {
            ((alpha * value) as f64 + (1.0 - alpha as f64) * self.stored as f64) as f32
        } else {
            self.initialized = true;
            value
        };
        self.raw = value;
        self.stored = out;
        out
    }

    pub fn last_raw(&self) -> Option<f32> {
        self.initialized.then_some(self.raw)
    }
}

/// One-euro filter parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OneEuroParams {
    pub min_cutoff: f64,
    pub beta: f64,
    pub derivate_cutoff: f64,
}

/// Auxiliary landmarks (tracking ROI).
pub const AUX_FILTER: OneEuroParams = OneEuroParams {
    min_cutoff: 0.01,
    beta: 10.0,
    derivate_cutoff: 1.0,
};
/// The 33 image landmarks.
pub const IMAGE_FILTER: OneEuroParams = OneEuroParams {
    min_cutoff: 0.05,
    beta: 80.0,
    derivate_cutoff: 1.0,
};
/// The 33 world landmarks (no value scaling).
pub const WORLD_FILTER: OneEuroParams = OneEuroParams {
    min_cutoff: 0.1,
    beta: 40.0,
    derivate_cutoff: 1.0,
};
/// Visibility low-pass α.
pub const VISIBILITY_ALPHA: f32 = 0.1;
/// Below this object scale the scaled filters pass values through.
pub const MIN_OBJECT_SCALE: f32 = 1e-6;
const INITIAL_FREQUENCY: f64 = 30.0;
/// Samples closer together than this (a thousand a second and more) are no new moment to the
/// one-euro filter: they pass through as an equal timestamp does. Only a broken clock gives
/// them (the decoder keeps a repeated timestamp apart from the one before by a microsecond),
/// and taken for a real rate their megahertz would freeze the filter (α ≈ 10⁻⁶) on one pose.
const MIN_STEP_US: i64 = 1000;
/// `last_us` of a filter that has seen no sample (MediaPipe's is −1 ns; it only sets the
/// frequency of the first sample, which nothing reads).
const NO_SAMPLE_US: i64 = -1;

/// `OneEuroFilter` for one scalar.
#[derive(Clone, Copy, Debug)]
pub struct OneEuro {
    p: OneEuroParams,
    x: LowPass,
    dx: LowPass,
    frequency: f64,
    last_us: i64,
}

impl OneEuro {
    pub fn new(p: OneEuroParams) -> Self {
        OneEuro {
            p,
            x: LowPass::default(),
            dx: LowPass::default(),
            frequency: INITIAL_FREQUENCY,
            last_us: NO_SAMPLE_US,
        }
    }

    fn alpha(&self, cutoff: f64) -> f64 {
        let te = 1.0 / self.frequency;
        let tau = 1.0 / (2.0 * std::f64::consts::PI * cutoff);
        1.0 / (1.0 + tau / te)
    }

    /// Filters `value` at `t_us`. MediaPipe counts nanoseconds; microseconds give the same
    /// steps (every timestamp is whole microseconds) without multiplying a late timestamp past
    /// i64.
    pub fn apply(&mut self, t_us: i64, value_scale: f64, value: f64) -> f64 {
        if self.last_us >= t_us {
            return value;
        }
        let step_us = t_us.saturating_sub(self.last_us);
        if self.last_us != NO_SAMPLE_US && step_us < MIN_STEP_US {
            return value;
        }
        if self.last_us != 0 && t_us != 0 {
            self.frequency = 1.0 / (step_us as f64 * 1e-6);
        }
        self.last_us = t_us;
        let d = match self.x.last_raw() {
            Some(raw) => (value - raw as f64) * value_scale * self.frequency,
            None => 0.0,
        };
        let ed = self
            .dx
            .apply(d as f32, self.alpha(self.p.derivate_cutoff) as f32) as f64;
        let cutoff = self.p.min_cutoff + self.p.beta * ed.abs();
        self.x.apply(value as f32, self.alpha(cutoff) as f32) as f64
    }
}

/// One-euro filters for the x, y, z of N landmarks (`LandmarksSmoothingCalculator`).
#[derive(Clone, Debug)]
pub struct LandmarksFilter<const N: usize> {
    p: OneEuroParams,
    filters: Vec<[OneEuro; 3]>,
}

impl<const N: usize> LandmarksFilter<N> {
    pub fn new(p: OneEuroParams) -> Self {
        LandmarksFilter {
            p,
            filters: vec![[OneEuro::new(p); 3]; N],
        }
    }

    pub fn reset(&mut self) {
        *self = Self::new(self.p);
    }

    /// Filters normalised image landmarks in pixels (x·W, y·H, z·W) with value scale
    /// `1/object_scale`; visibility and presence pass through.
    pub fn apply_image(
        &mut self,
        t_us: i64,
        object_scale: f32,
        lms: &[Landmark; N],
        width: u32,
        height: u32,
    ) -> [Landmark; N] {
        if object_scale < MIN_OBJECT_SCALE {
            return *lms;
        }
        let scale = (1.0f32 / object_scale) as f64;
        let (wf, hf) = (width as f32, height as f32);
        std::array::from_fn(|i| {
            let l = lms[i];
            let f = &mut self.filters[i];
            let x = f[0].apply(t_us, scale, (l.x * wf) as f64) as f32;
            let y = f[1].apply(t_us, scale, (l.y * hf) as f64) as f32;
            let z = f[2].apply(t_us, scale, (l.z * wf) as f64) as f32;
            Landmark {
                x: x / wf,
                y: y / hf,
                z: z / wf,
                ..l
            }
        })
    }

    /// Filters world landmarks (metres) without value scaling.
    pub fn apply_world(&mut self, t_us: i64, lms: &[Landmark; N]) -> [Landmark; N] {
        std::array::from_fn(|i| {
            let l = lms[i];
            let f = &mut self.filters[i];
            Landmark {
                x: f[0].apply(t_us, 1.0, l.x as f64) as f32,
                y: f[1].apply(t_us, 1.0, l.y as f64) as f32,
                z: f[2].apply(t_us, 1.0, l.z as f64) as f32,
                ..l
            }
        })
    }
}

/// Visibility low-pass of N landmarks (`VisibilitySmoothingCalculator`).
#[derive(Clone, Debug)]
pub struct VisibilityFilter<const N: usize> {
    filters: Vec<LowPass>,
}

impl<const N: usize> Default for VisibilityFilter<N> {
    fn default() -> Self {
        VisibilityFilter {
            filters: vec![LowPass::default(); N],
        }
    }
}

impl<const N: usize> VisibilityFilter<N> {
    pub fn apply(&mut self, lms: &[Landmark; N]) -> [Landmark; N] {
        std::array::from_fn(|i| Landmark {
            visibility: self.filters[i].apply(lms[i].visibility, VISIBILITY_ALPHA),
            ..lms[i]
        })
    }
}

/// The output filters of video mode with smoothing on (§8.3), with the reset rules of §8.1
/// step 6: on a frame without a pose only the image filter is reset; the world and visibility
/// filters keep their state and skip the frame.
#[derive(Clone, Debug)]
pub struct OutputSmoother {
    image: LandmarksFilter<NUM_LANDMARKS>,
    world: LandmarksFilter<NUM_LANDMARKS>,
    image_vis: VisibilityFilter<NUM_LANDMARKS>,
    world_vis: VisibilityFilter<NUM_LANDMARKS>,
}

impl Default for OutputSmoother {
    fn default() -> Self {
        OutputSmoother {
            image: LandmarksFilter::new(IMAGE_FILTER),
            world: LandmarksFilter::new(WORLD_FILTER),
            image_vis: VisibilityFilter::default(),
            world_vis: VisibilityFilter::default(),
        }
    }
}

impl OutputSmoother {
    /// Smooths one found pose. `object_scale` is §8.1 step 4's `s_obj`.
    #[allow(clippy::too_many_arguments)]
    pub fn apply(
        &mut self,
        t_us: i64,
        object_scale: f32,
        image: &[Landmark; NUM_LANDMARKS],
        world: &[Landmark; NUM_LANDMARKS],
        width: u32,
        height: u32,
    ) -> ([Landmark; NUM_LANDMARKS], [Landmark; NUM_LANDMARKS]) {
        let image = self.image.apply_image(
            t_us,
            object_scale,
            &self.image_vis.apply(image),
            width,
            height,
        );
        let world = self.world.apply_world(t_us, &self.world_vis.apply(world));
        (image, world)
    }

    /// A frame without a pose.
    pub fn no_pose(&mut self) {
        self.image.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn low_pass_mixes() {
        let mut f = LowPass::default();
        assert_eq!(f.apply(1.0, 0.1), 1.0);
        assert!((f.apply(0.0, 0.1) - 0.9).abs() < 1e-7);
        assert_eq!(f.last_raw(), Some(0.0));
    }

    #[test]
    fn timestamps_beyond_any_clip_s_neither_overflow_nor_stop_the_filters() {
        let lms = |x: f32| {
            [Landmark {
                x,
                ..Default::default()
            }; 1]
        };
        // 2900 years in: as nanoseconds, beyond i64.
        let start = i64::MAX / 100;
        let mut f = LandmarksFilter::<1>::new(WORLD_FILTER);
        f.apply_world(start, &lms(0.0));
        let smoothed = f.apply_world(start + 33_333, &lms(1.0))[0].x;
        assert!(smoothed > 0.0 && smoothed < 1.0, "{smoothed}");
    }

    #[test]
    fn one_euro_timestamp_quirks() {
        let mut f = OneEuro::new(AUX_FILTER);
        assert_eq!(f.apply(0, 1.0, 5.0), 5.0);
        // τ = 0 after the first sample at t = 0: the second keeps 30 Hz.
        f.apply(200_000, 1.0, 6.0);
        assert_eq!(f.frequency, 30.0);
        f.apply(400_000, 1.0, 6.0);
        assert!((f.frequency - 5.0).abs() < 1e-9);
        // Equal or older timestamps pass through without a state change.
        assert_eq!(f.apply(400_000, 1.0, 100.0), 100.0);
        // A sample a microsecond after the last is no new moment: it passes through, and the
        // next real one is timed from the last real one.
        assert_eq!(f.apply(400_001, 1.0, 50.0), 50.0);
        f.apply(600_000, 1.0, 6.0);
        assert!((f.frequency - 5.0).abs() < 1e-9);
        // After a reset (a fresh filter) the first sample at t > 0 sets a meaningless frequency.
        let mut g = OneEuro::new(AUX_FILTER);
        g.apply(1_000_000, 1.0, 1.0);
        assert!((g.frequency - 1e6 / 1_000_001.0).abs() < 1e-6);
    }
}
