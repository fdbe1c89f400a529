//! The analysis grid (api-contract §9.4): the motion and its preview have one frame every
//! 1/fps seconds at the source's average rate, as ffmpeg's `fps` filter would resample them.
//!
//! The decoder passes every source frame through with its presentation time (the goldens need
//! the source frames themselves, and the tracker's filters need every one). The grid then says
//! how many analysis frames each source frame becomes: each source frame takes the grid slot
//! nearest its time; a slot already taken drops it (frames faster than the grid), and slots
//! that no frame reached (a pause in a variable-rate recording) are filled with the next frame,
//! so times in the motion match times in the video. As with the filter, the grid ends where the
//! stream ends (its duration), not at the last frame's slot. For a constant-rate video every
//! frame is exactly one analysis frame.

/// Places source frames, in presentation order, on the analysis grid.
#[derive(Clone, Debug)]
pub struct FrameGrid {
    step_us: f64,
    /// Time of the grid's slot 0, µs: the first frame's.
    start_us: Option<i64>,
    /// The next free slot.
    next_slot: u64,
    /// Slots that may still be filled for gaps; a file whose timestamps leap (damaged, or
    /// hostile) must not turn one frame into hours of copies.
    fill_budget: u64,
    /// Slots skipped after the fill budget ran out: later slots count from there.
    skipped: u64,
    /// Slots in all: the stream's duration times the rate, when known.
    slot_limit: Option<u64>,
}

/// What a source frame becomes on the grid.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Placement {
    /// The first analysis frame this source frame fills.
    pub first_slot: u64,
    /// How many analysis frames it fills: 0 (dropped), 1, or more (it also fills a gap).
    pub copies: u64,
    /// The time of the first slot, µs on the source's clock, and the grid's step.
    first_time_us: i64,
    step_us: f64,
}

impl Placement {
    /// The times of the analysis frames this source frame fills, µs on the source's clock.
    pub fn slot_times_us(&self) -> impl Iterator<Item = i64> + use<> {
        let (first, step) = (self.first_time_us, self.step_us);
        (0..self.copies).map(move |j| first + (j as f64 * step).round() as i64)
    }
}

impl FrameGrid {
    /// A grid at `fps` (> 0) that fills at most `fill_budget` slots for gaps in total.
    pub fn new(fps: f64, fill_budget: u64) -> FrameGrid {
        FrameGrid {
            step_us: 1e6 / fps,
            start_us: None,
            next_slot: 0,
            fill_budget,
            skipped: 0,
            slot_limit: None,
        }
    }

    /// The grid of a stream lasting `duration_s` at `fps`: round(duration · fps) slots, gaps
    /// filled within them. Without a duration, gaps are filled up to `fallback_fill` slots and
    /// every frame keeps its slot.
    pub fn for_stream(fps: f64, duration_s: Option<f64>, fallback_fill: u64) -> FrameGrid {
        match duration_s.filter(|d| d.is_finite() && *d > 0.0) {
            Some(d) => {
                let slots = (d * fps).round().max(1.0) as u64;
                FrameGrid {
                    slot_limit: Some(slots),
                    ..FrameGrid::new(fps, slots)
                }
            }
            None => FrameGrid::new(fps, fallback_fill),
        }
    }

    /// Places the next source frame, presented at `t_us` (increasing from call to call).
    pub fn place(&mut self, t_us: i64) -> Placement {
        let start = *self.start_us.get_or_insert(t_us);
        let nearest = ((t_us - start) as f64 / self.step_us).round().max(0.0) as u64;
        let slot = nearest.saturating_sub(self.skipped);
        let first_slot = self.next_slot;
        let copies = if slot < first_slot {
            0
        } else {
            let gap = slot - first_slot;
            let filled = gap.min(self.fill_budget);
            self.fill_budget -= filled;
            self.skipped += gap - filled;
            filled + 1
        };
        let copies = match self.slot_limit {
            Some(limit) => copies.min(limit.saturating_sub(first_slot)),
            None => copies,
        };
        self.next_slot += copies;
        Placement {
            first_slot,
            copies,
            first_time_us: start + (first_slot as f64 * self.step_us).round() as i64,
            step_us: self.step_us,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(grid: &mut FrameGrid, t_us: i64) -> (u64, u64) {
        let p = grid.place(t_us);
        (p.first_slot, p.copies)
    }

    fn copies(grid: &mut FrameGrid, times_ms: &[i64]) -> Vec<u64> {
        times_ms
            .iter()
            .map(|&t| grid.place(t * 1000).copies)
            .collect()
    }

    #[test]
    fn a_constant_rate_video_is_one_analysis_frame_per_frame() {
        // 29.97 fps, times rounded to the microsecond as the decoder reports them.
        let mut grid = FrameGrid::new(30000.0 / 1001.0, 1000);
        for i in 0..300u64 {
            let t = (i as f64 * 1001.0 / 30000.0 * 1e6).round() as i64;
            assert_eq!(place(&mut grid, t + 5 - (i as i64 % 11)), (i, 1));
        }
    }

    #[test]
    fn frames_faster_than_the_grid_are_dropped_and_a_pause_is_filled() {
        let mut grid = FrameGrid::new(10.0, 1000);
        // 20 fps for 0.3 s (every other frame dropped: halves round up, as ffmpeg's do), then a
        // 0.5 s pause, then 10 fps.
        assert_eq!(
            copies(&mut grid, &[0, 50, 100, 150, 200, 250, 300]),
            [1, 1, 0, 1, 0, 1, 0]
        );
        let after_pause = grid.place(800_000);
        assert_eq!((after_pause.first_slot, after_pause.copies), (4, 5));
        let times: Vec<i64> = after_pause.slot_times_us().collect();
        assert_eq!(times, [400_000, 500_000, 600_000, 700_000, 800_000]);
        assert_eq!(place(&mut grid, 900_000), (9, 1));
    }

    #[test]
    fn the_fill_budget_bounds_the_copies_of_a_leap_in_time() {
        let mut grid = FrameGrid::new(10.0, 3);
        // A one-hour leap fills 3 slots, then the grid goes on from the frame after it.
        assert_eq!(
            copies(&mut grid, &[0, 100, 3_600_100, 3_600_200, 3_600_300]),
            [1, 1, 4, 1, 1]
        );
        assert_eq!(place(&mut grid, 3_600_400_000), (8, 1));
    }

    #[test]
    fn the_grid_ends_with_the_stream() {
        // 30 frames at 30 fps, then a 3 s pause, then 30 more: 5 s at 12 fps is 60 slots,
        // although the last frame (4.967 s) is nearest to slot 60.
        let mut grid = FrameGrid::for_stream(12.0, Some(5.0), 1000);
        let times: Vec<i64> = (0..60)
            .map(|i| i * 1000 / 30 + if i >= 30 { 3000 } else { 0 })
            .collect();
        let total: u64 = copies(&mut grid, &times).iter().sum();
        assert_eq!(total, 60);
        // A constant-rate stream keeps every frame.
        let mut grid = FrameGrid::for_stream(30.0, Some(2.0), 1000);
        let times: Vec<i64> = (0..60).map(|i| i * 1000 / 30).collect();
        assert_eq!(copies(&mut grid, &times), vec![1; 60]);
    }
}
