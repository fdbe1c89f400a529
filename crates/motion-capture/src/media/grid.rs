//! The analysis grid (api-contract §9.4): the motion and its preview have one frame every
//! 1/fps seconds at the source's average rate, as ffmpeg's `fps` filter resamples them.
//!
//! The decoder passes every source frame through with its presentation time (the goldens need
//! the source frames themselves, and the tracker's filters need every one). The grid then says
//! how many analysis frames each source frame becomes, by the `fps` filter's rule: each frame's
//! time rounds to its nearest slot, and a slot shows the last frame that rounded to it or
//! before. So of frames faster than the grid the later one is kept, and a pause in a
//! variable-rate recording holds the frame before it, as long as the pause lasts. The grid
//! ends where the stream ends (its duration), not at the last frame's slot. A frame's share is
//! known only when the next frame (or the end) arrives, so the caller holds one frame back.
//! For a constant-rate video every frame is exactly one analysis frame.

/// Seconds of a stream's stated duration its frames may fall short of before it counts as cut
/// short (see [`FrameGrid::ended_early`]) ...
pub const CUT_SHORT_MIN_S: f64 = 1.0;
/// ... and the share of the stated duration.
pub const CUT_SHORT_SHARE: f64 = 0.1;

/// Frames a stream may decode fewer than its container indexes and still count as whole: an MP4
/// edit list that starts after the first sample drops a frame or two.
const INDEXED_FRAMES_SLACK: u64 = 2;

/// Places source frames, in presentation order, on the analysis grid.
#[derive(Clone, Debug)]
pub struct FrameGrid {
    step_us: f64,
    /// Time of the grid's slot 0, µs: the first frame's.
    start_us: Option<i64>,
    /// The slot the held frame (arrived, not yet placed) rounds to.
    held_slot: Option<u64>,
    /// The next slot not yet given to a frame.
    next_slot: u64,
    /// Extra copies that may still be made to fill pauses; a file whose timestamps leap
    /// (damaged, or hostile) must not turn one frame into hours of copies.
    fill_budget: u64,
    /// Slots skipped after the fill budget ran out: later slots count from there.
    skipped: u64,
    /// Slots in all: the stream's duration times the rate, when known.
    slot_limit: Option<u64>,
    /// The frames the container's index lists (an MP4's sample table), when it has one.
    indexed_frames: Option<u64>,
    /// The frames that have arrived.
    arrived: u64,
}

/// What a source frame becomes on the grid.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Placement {
    /// The first analysis frame this source frame fills.
    pub first_slot: u64,
    /// How many analysis frames it fills: 0 (dropped), 1, or more (it also holds a pause).
    pub copies: u64,
    /// The time of the first slot, µs on the source's clock, and the grid's step.
    first_time_us: i64,
    step_us: f64,
}

impl Placement {
    /// The times of the analysis frames this source frame fills, µs on the source's clock.
    pub fn slot_times_us(&self) -> impl Iterator<Item = i64> + use<> {
        let (first, step) = (self.first_time_us, self.step_us);
        (0..self.copies).map(move |j| first.saturating_add((j as f64 * step).round() as i64))
    }
}

impl FrameGrid {
    /// A grid at `fps` (> 0) whose pauses are filled with at most `fill_budget` extra copies.
    pub fn new(fps: f64, fill_budget: u64) -> FrameGrid {
        FrameGrid {
            step_us: 1e6 / fps,
            start_us: None,
            held_slot: None,
            next_slot: 0,
            fill_budget,
            skipped: 0,
            slot_limit: None,
            indexed_frames: None,
            arrived: 0,
        }
    }

    /// The grid of a stream lasting `duration_s` at `fps`: round(duration · fps) slots. Pauses
    /// are filled with at most `max_fill` extra copies in all.
    pub fn for_stream(fps: f64, duration_s: Option<f64>, max_fill: u64) -> FrameGrid {
        let slots = duration_s
            .map(|d| (d * fps).round())
            .filter(|s| s.is_finite() && *s >= 1.0);
        FrameGrid {
            // A float beyond u64 saturates: no limit in practice, the fill budget still holds.
            slot_limit: slots.map(|s| s as u64),
            ..FrameGrid::new(fps, max_fill)
        }
    }

    /// The grid of a stream whose container indexes `frames` frames (an MP4's sample table; not
    /// a count estimated from the duration): when they all arrive, the stream is whole however
    /// long its last frame lasts (see [`FrameGrid::ended_early`]).
    pub fn with_indexed_frames(self, frames: Option<u64>) -> FrameGrid {
        FrameGrid {
            indexed_frames: frames,
            ..self
        }
    }

    /// How many analysis frames the grid holds, when the stream's duration is known.
    pub fn slots(&self) -> Option<u64> {
        self.slot_limit
    }

    /// A new source frame, presented at `t_us` (increasing from call to call), has arrived:
    /// returns the placement of the frame held before it, which is now known (None for the
    /// first frame). The new frame is held until the next call or [`FrameGrid::finish`].
    pub fn arrive(&mut self, t_us: i64) -> Option<Placement> {
        let start = *self.start_us.get_or_insert(t_us);
        self.arrived += 1;
        let elapsed_slots = (t_us as f64 - start as f64) / self.step_us;
        let nearest = elapsed_slots.round().max(0.0) as u64;
        let placed = self
            .held_slot
            .map(|_| self.place_held(nearest.saturating_sub(self.skipped)));
        // After placing: a leap just skipped shifts this frame's slot too.
        self.held_slot = Some(nearest.saturating_sub(self.skipped));
        placed
    }

    /// Called at the end of the stream, before [`FrameGrid::finish`]: when its frames stopped
    /// well short of its stated duration (more than [`CUT_SHORT_MIN_S`], and more than
    /// [`CUT_SHORT_SHARE`] of it), the seconds the frames covered and the seconds stated. Such a
    /// file was cut short (a copy or an upload that stopped) or is damaged past some point, and
    /// ffmpeg decodes what it can without failing: held to the end, its last frame would freeze
    /// the rest of the motion. A last frame's own duration, or a short pause at the end, is no
    /// sign of damage; nor is a long one where every frame the container indexes arrived (a
    /// phone that stopped sending frames before the recording ended: its sample table gives the
    /// last frame the rest of the time, and a file cut short loses the samples past the cut).
    pub fn ended_early(&self) -> Option<(f64, f64)> {
        let limit = self.slot_limit?;
        if self
            .indexed_frames
            .is_some_and(|n| self.arrived + INDEXED_FRAMES_SLACK >= n)
        {
            return None;
        }
        let reached = self
            .held_slot
            .map_or(self.next_slot, |held| held.saturating_add(1))
            .saturating_add(self.skipped);
        let seconds = |slots: u64| slots as f64 * self.step_us / 1e6;
        let (covered, stated) = (seconds(reached), seconds(limit));
        let missing = stated - covered;
        (missing > CUT_SHORT_MIN_S && missing > CUT_SHORT_SHARE * stated)
            .then_some((covered, stated))
    }

    /// The end of the stream: the placement of the last frame, which holds until the grid's
    /// end (or fills its own slot when the stream's duration is unknown).
    pub fn finish(&mut self) -> Option<Placement> {
        let held = self.held_slot?;
        let end = self.slot_limit.unwrap_or(held.max(self.next_slot) + 1);
        Some(self.place_held(end))
    }

    /// Places the held frame, which shows until `until` (the slot of the frame after it).
    fn place_held(&mut self, until: u64) -> Placement {
        let until = self.slot_limit.map_or(until, |limit| until.min(limit));
        let first_slot = self.next_slot;
        let wanted = until.saturating_sub(first_slot);
        let copies = wanted.min(self.fill_budget.saturating_add(1));
        self.fill_budget -= copies.saturating_sub(1);
        // A leap beyond the budget: the grid goes on after the copies made.
        self.skipped = self.skipped.saturating_add(wanted - copies);
        self.held_slot = None;
        self.next_slot += copies;
        let start = self.start_us.unwrap_or(0);
        Placement {
            first_slot,
            copies,
            first_time_us: start.saturating_add((first_slot as f64 * self.step_us).round() as i64),
            step_us: self.step_us,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (first slot, copies) of each frame presented at `times_ms`, in order, then the end.
    fn place_all(grid: &mut FrameGrid, times_ms: &[i64]) -> Vec<(u64, u64)> {
        let mut out: Vec<(u64, u64)> = times_ms
            .iter()
            .filter_map(|&t| grid.arrive(t * 1000))
            .map(|p| (p.first_slot, p.copies))
            .collect();
        out.extend(grid.finish().map(|p| (p.first_slot, p.copies)));
        out
    }

    fn copies(grid: &mut FrameGrid, times_ms: &[i64]) -> Vec<u64> {
        place_all(grid, times_ms)
            .into_iter()
            .map(|(_, c)| c)
            .collect()
    }

    #[test]
    fn a_constant_rate_video_is_one_analysis_frame_per_frame() {
        // 29.97 fps, times rounded to the microsecond as the decoder reports them, jittered.
        let mut grid =
            FrameGrid::for_stream(30000.0 / 1001.0, Some(300.0 * 1001.0 / 30000.0), 1000);
        let mut placed = Vec::new();
        for i in 0..300u64 {
            let t = (i as f64 * 1001.0 / 30000.0 * 1e6).round() as i64;
            placed.extend(grid.arrive(t + 5 - (i as i64 % 11)));
        }
        placed.extend(grid.finish());
        assert_eq!(placed.len(), 300);
        for (i, p) in placed.iter().enumerate() {
            assert_eq!((p.first_slot, p.copies), (i as u64, 1));
        }
    }

    /// What ffmpeg 5.1's `fps=10` makes of the same times: the later of two frames rounding to
    /// one slot is kept (halves round up), a pause holds the frame before it.
    #[test]
    fn faster_frames_give_way_to_later_ones_and_a_pause_holds_the_frame_before_it() {
        let mut grid = FrameGrid::for_stream(10.0, Some(1.0), 1000);
        // 20 fps for 0.3 s, then a 0.5 s pause, then 10 fps to the end (1 s).
        let times = [0, 50, 100, 150, 200, 250, 300, 800, 900];
        assert_eq!(
            place_all(&mut grid, &times),
            [
                (0, 1),
                (1, 0),
                (1, 1),
                (2, 0),
                (2, 1),
                (3, 0),
                (3, 5),
                (8, 1),
                (9, 1)
            ]
        );
        let mut grid = FrameGrid::for_stream(10.0, Some(1.0), 1000);
        for t in &times[..6] {
            grid.arrive(t * 1000);
        }
        let before_pause = grid.arrive(800_000).unwrap();
        let slot_times: Vec<i64> = before_pause.slot_times_us().collect();
        assert_eq!(slot_times, [300_000, 400_000, 500_000, 600_000, 700_000]);
    }

    #[test]
    fn the_grid_ends_with_the_stream() {
        // 30 frames at 30 fps, a 3 s pause, 30 more: 5 s at 12 fps is 60 slots, although the
        // last frame (4.967 s) rounds to slot 60.
        let mut grid = FrameGrid::for_stream(12.0, Some(5.0), 1000);
        let times: Vec<i64> = (0..60)
            .map(|i| i * 1000 / 30 + if i >= 30 { 3000 } else { 0 })
            .collect();
        let placed = copies(&mut grid, &times);
        assert_eq!(placed.iter().sum::<u64>(), 60);
        // The last frame before the pause (0.967 s, slot 12) holds it: slots 12 to 47.
        assert_eq!(placed[29], 36);
        // Without a known duration the last frame fills its own slot.
        let mut grid = FrameGrid::new(30.0, 1000);
        assert_eq!(copies(&mut grid, &[0, 33, 67]), [1, 1, 1]);
    }

    #[test]
    fn frames_ending_well_before_the_stated_duration_are_told_apart_from_a_last_frame_s_own() {
        let frames_until = |fps: f64, stated_s: f64, last_s: f64| {
            let mut grid = FrameGrid::for_stream(fps, Some(stated_s), 1000);
            let step_ms = 1000.0 / fps;
            for i in 0..=(last_s * 1000.0 / step_ms).round() as i64 {
                grid.arrive((i as f64 * step_ms * 1000.0) as i64);
            }
            grid.ended_early()
        };
        // 29 of 65 frames at 5 fps: a file cut in half.
        assert_eq!(frames_until(5.0, 13.0, 5.6), Some((5.8, 13.0)));
        // The last frame at 9.0 s of 10: missing 0.9 s, under a second.
        assert_eq!(frames_until(30.0, 10.0, 9.0), None);
        // 1.5 s missing of 20 s: under a tenth.
        assert_eq!(frames_until(30.0, 20.0, 18.5), None);
        assert!(frames_until(30.0, 10.0, 8.0).is_some());
        // Without a stated duration there is nothing to fall short of.
        let mut grid = FrameGrid::new(30.0, 1000);
        grid.arrive(0);
        assert_eq!(grid.ended_early(), None);
    }

    #[test]
    fn a_long_last_frame_is_no_damage_when_every_indexed_frame_arrived() {
        // 120 frames at 30 fps, the last lasting 1.5 s: 5.4 s stated.
        let frames_until = |indexed: Option<u64>, arriving: i64| {
            let mut grid =
                FrameGrid::for_stream(30.0, Some(5.4), 1000).with_indexed_frames(indexed);
            for i in 0..arriving {
                grid.arrive(i * 33_333);
            }
            grid.ended_early()
        };
        assert_eq!(frames_until(Some(120), 120), None);
        // An edit list may drop the first frame or two.
        assert_eq!(frames_until(Some(120), 118), None);
        // Frames missing from the index's count: cut short.
        assert!(frames_until(Some(120), 117).is_some());
        // Without an index only the time tells.
        assert!(frames_until(None, 120).is_some());
    }

    #[test]
    fn the_fill_budget_bounds_the_copies_of_a_leap_in_time() {
        let mut grid = FrameGrid::new(10.0, 3);
        // A one-hour leap: the frame before it gets 3 extra copies, then the grid goes on.
        assert_eq!(
            place_all(&mut grid, &[0, 100, 3_600_100, 3_600_200, 3_600_300]),
            [(0, 1), (1, 4), (5, 1), (6, 1), (7, 1)]
        );
        // Timestamps at the ends of i64 neither panic nor wrap.
        let mut grid = FrameGrid::new(30.0, 10);
        grid.arrive(i64::MIN + 1);
        let p = grid.arrive(i64::MAX).unwrap();
        assert_eq!(p.copies, 11);
        assert!(p.slot_times_us().all(|t| t > i64::MIN));
    }
}
