//! Grounding and foot locking.
//!
//! Monocular depth is the noisiest part of the root motion, and any error there makes planted
//! feet slide. A floor that rises or falls with the person's distance from the camera (their
//! distance, read from their size, is off by the lens's unknown focal length) is levelled
//! first. A body whose feet are well below the clip's floor is raised next (it stands on lower
//! ground, or the camera tilted). We detect when each foot is planted (low and slow), move
//! the root so that planted feet stay near where they were put down (interpolated between
//! contacts and smoothed, so the body never jumps), and then pin each planted foot exactly on
//! the floor (Y = 0) with its leg: two feet planted at once both stay put, which no root motion
//! alone can do. A foot that still dips a little below the floor, or swings across it, is lifted
//! clear of it by its leg. A foot out of view (cut off by the frame's edge) is the model's
//! guess: it neither sets the floor nor moves the body, and its leg stands it on the floor
//! while it is not swinging.

use crate::animation::math::{Quat, Vec3, add, dist_across, norm, scale, sub};
use crate::animation::{Animation, Frame, joint as J};

use super::leg_ik;
use super::smooth::{fill_gaps, smooth_points, smooth_scalar};

/// A foot's two ends on the floor side, [heel, toe tip], world cm.
pub type FootEnds = [Vec3; 2];

/// Per frame: each foot's ends, [left, right].
pub fn foot_ends(anim: &Animation, heel_local: [Vec3; 2]) -> Vec<[FootEnds; 2]> {
    (anim.frames.iter())
        .map(|f| ends_of_feet(anim, f, heel_local))
        .collect()
}

/// Each foot's ends in `frame` (a frame of `anim`'s skeleton), [left, right].
fn ends_of_feet(anim: &Animation, frame: &Frame, heel_local: [Vec3; 2]) -> [FootEnds; 2] {
    let (pos, rots) = anim.world_pose(frame);
    let ends = anim.end_site_positions(frame);
    let feet = [
        (J::LEFT_FOOT, J::LEFT_TOE_BASE),
        (J::RIGHT_FOOT, J::RIGHT_TOE_BASE),
    ];
    std::array::from_fn(|k| {
        let (foot, toe) = feet[k];
        let heel = add(pos[foot], rots[foot].rotate(heel_local[k]));
        [heel, ends[toe].unwrap_or(pos[toe])]
    })
}

/// Which end of a foot is lower: 0 the heel, 1 the toe tip.
fn lower_end(ends: &FootEnds) -> usize {
    usize::from(ends[1][1] < ends[0][1])
}

/// A foot's lowest point: its heel or its toe tip.
fn lowest(ends: &FootEnds) -> Vec3 {
    ends[lower_end(ends)]
}

/// How far (cm, across the floor) a foot moved between two frames, by the end that moved less:
/// a planted foot may turn about its heel or its toes.
fn moved_across(now: &FootEnds, then: &FootEnds) -> f32 {
    dist_across(now[0], then[0]).min(dist_across(now[1], then[1]))
}

/// Per frame: the lowest sole point (heel or toe tip) of each foot, [left, right], world cm.
pub fn sole_points(anim: &Animation, heel_local: [Vec3; 2]) -> Vec<[Vec3; 2]> {
    foot_ends(anim, heel_local)
        .iter()
        .map(|feet| feet.map(|ends| lowest(&ends)))
        .collect()
}

/// Which feet are planted in each frame: near the floor and nearly still, up and down as well as
/// sideways (a foot taking off straight up, still low, is not planted: counted so, its root
/// correction held the body down through the jump). Still is read from the lower end's own
/// speed: a flat foot's lowest point changes from heel to toe and back with the noise, and read
/// as one point it jumped the foot's length in a frame (pose2sim cam03's planted foot lost its
/// contact for 0.4 s that way). The other end may turn about it, rolling up off the floor or
/// turning slowly on it, but not sweep across the floor at a swing's speed: a foot standing on
/// one end does not spin about it that fast, it is in the air. Read from the end it stands on
/// alone, the synthetic walk's turning step (a shuffle 2 cm off the floor whose toe tip the model
/// moves 10 cm and its heel 23 cm, at 140 cm/s) stayed one contact with the stance before it, and
/// the root correction dragged the body the step's length back through that stance (11 cm off
/// the true path). A contact ends where the foot has stepped away (see [`STEP_AWAY`]). A foot
/// higher than a contact's height, but held still where nothing else could hold it (see
/// [`held_up_still`]), the lower of the two and under `hips` (per frame, cm) that stand on it
/// (see [`STANDING_HIPS`]), is stood on as well.
pub fn detect_contacts(
    feet: &[[FootEnds; 2]],
    hips: &[f32],
    times: &[f64],
    floor_y: f32,
    leg_len: f32,
) -> Vec<[bool; 2]> {
    let n = feet.len();
    let height_tol = CONTACT_HEIGHT * leg_len;
    let speed_tol = 0.9 * leg_len; // cm/s; a swinging foot moves several leg lengths per second
    let mut out = vec![[false; 2]; n];
    for k in 0..2 {
        let speed = [0, 1].map(|end| end_speeds(feet, times, k, end, false));
        let across = [0, 1].map(|end| end_speeds(feet, times, k, end, true));
        let held = held_up_still(feet, times, k, leg_len);
        for i in 0..n {
            let ends = &feet[i][k];
            let height = lowest(ends)[1] - floor_y;
            let low = height < height_tol;
            let (stands_on, other) = (lower_end(ends), 1 - lower_end(ends));
            let planted = low && speed[stands_on][i] < speed_tol && across[other][i] < speed_tol;
            let standing_on_it = hips[i] - lowest(ends)[1] > STANDING_HIPS * leg_len;
            let stood_on = !low
                && held[i]
                && height < HELD_HEIGHT * leg_len
                && standing_on_it
                && is_lower_foot(&feet[i], k);
            out[i][k] = planted || stood_on;
        }
        split_runs_that_step(&mut out, feet, times, k, STEP_AWAY * leg_len);
        remove_short_runs(&mut out, times, k);
    }
    out
}

/// How high (a share of the leg's length) above the floor a foot may be and count as planted
/// when it is low and slow.
const CONTACT_HEIGHT: f32 = 0.12;

/// How high (a share of the leg's length) the hips are above a held foot (see
/// [`held_up_still`]) that the body stands on: a person seated on a high stool holds dangling
/// feet as still, with the hips nearer them, and stood on they were stretched to the floor.
const STANDING_HIPS: f32 = 0.7;

/// How straight (a share of its full length) a leg may be made to stand a held foot (see
/// [`held_up_still`]) on the floor: a knee bent 7°.
const STANDING_LEG: f32 = 0.998;

/// How high (a share of the leg's length) above the floor a held foot (see [`held_up_still`])
/// may be and still count as standing: the floor under a body whose distance the model misjudges
/// for a moment. Above it the foot more likely stands on something else (a step, a box).
const HELD_HEIGHT: f32 = 0.3;

/// The shortest time (s) a held foot holds still: nothing but a foot standing on something
/// holds its height that long. A body in flight moves its feet with it, falling at least
/// ½·g·(0.15 s)² = 11 cm over the 0.15 s either side of the top of its jump.
const HOLD_S: f64 = 0.3;

/// How far (shares of the leg's length) both ends of a held foot may move in that time: up and
/// down, and across the floor.
const HOLD_UP_DOWN: f32 = 0.05;
const HOLD_ACROSS: f32 = 0.1;

/// Per frame, whether foot `k` is held still for at least [`HOLD_S`] around it, both its ends
/// within [`HOLD_UP_DOWN`] of one height and [`HOLD_ACROSS`] of where the stretch began. A foot
/// that stands still but higher than the contact height is standing: the dance clip's dancer
/// stands on her left foot for its first half second, which the body's misjudged distance put
/// 10-16 cm above the floor; unplanted, the whole body floated there.
fn held_up_still(feet: &[[FootEnds; 2]], times: &[f64], k: usize, leg_len: f32) -> Vec<bool> {
    let n = feet.len();
    let mut held = vec![false; n];
    for from in 0..n {
        let start = feet[from][k];
        let mut heights = start.map(|end| (end[1], end[1]));
        let mut to = from;
        while let Some(next) = feet.get(to + 1).map(|f| f[k]) {
            let still = (0..2).all(|end| {
                let (low, high) = heights[end];
                let (low, high) = (low.min(next[end][1]), high.max(next[end][1]));
                heights[end] = (low, high);
                high - low <= HOLD_UP_DOWN * leg_len
                    && dist_across(next[end], start[end]) <= HOLD_ACROSS * leg_len
            });
            if !still {
                break;
            }
            to += 1;
        }
        if times[to] - times[from] >= HOLD_S {
            held[from..=to].fill(true);
        }
    }
    for run in runs_of(&held) {
        if risen_into_and_fallen_from(feet, times, k, run.clone(), HOLD_UP_DOWN * leg_len) {
            held[run].fill(false);
        }
    }
    held
}

/// Whether foot `k` is lower by more than `margin` (cm) [`HOLD_S`]/2 before frames `run` and
/// after them than anywhere in them: the top of a jump filmed in slow motion, which holds as
/// still as a foot standing does.
fn risen_into_and_fallen_from(
    feet: &[[FootEnds; 2]],
    times: &[f64],
    k: usize,
    run: std::ops::Range<usize>,
    margin: f32,
) -> bool {
    let height = |f: usize| lowest(&feet[f][k])[1];
    let held_low = run.clone().map(height).fold(f32::INFINITY, f32::min);
    let reach = HOLD_S / 2.0;
    let before = (0..run.start)
        .rev()
        .find(|&f| times[run.start] - times[f] >= reach);
    let after = (run.end..feet.len()).find(|&f| times[f] - times[run.end - 1] >= reach);
    let lower = |f: Option<usize>| f.is_some_and(|f| height(f) < held_low - margin);
    lower(before) && lower(after)
}

/// The ranges of consecutive true values.
fn runs_of(flags: &[bool]) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < flags.len() {
        if !flags[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < flags.len() && flags[i] {
            i += 1;
        }
        runs.push(start..i);
    }
    runs
}

/// Whether foot `k` is the lower of the two: a body stands on its lowest foot. Not on both where
/// they are level: the model's 3D holds the dance clip's lifted foot, which the picture shows a
/// knee high, within 1.5 cm of the standing one for a quarter of a second, and planted there
/// it was pulled onto the floor.
fn is_lower_foot(feet: &[FootEnds; 2], k: usize) -> bool {
    lowest(&feet[k])[1] < lowest(&feet[1 - k])[1]
}

/// Per frame, the speed (cm/s) of end `end` of foot `k` (0 the heel, 1 the toe tip), in all
/// directions or only `across` the floor, over the frames either side and smoothed a little.
fn end_speeds(
    feet: &[[FootEnds; 2]],
    times: &[f64],
    k: usize,
    end: usize,
    across: bool,
) -> Vec<f32> {
    let n = feet.len();
    let speed: Vec<f32> = (0..n)
        .map(|i| {
            let (a, b) = (i.saturating_sub(1), (i + 1).min(n - 1));
            if a == b {
                return 0.0;
            }
            let (now, then) = (feet[b][k][end], feet[a][k][end]);
            let moved = if across {
                dist_across(now, then)
            } else {
                norm(sub(now, then))
            };
            moved / (times[b] - times[a]).max(1e-6) as f32
        })
        .collect();
    smooth_scalar(times, &speed, 0.05)
}

/// How far (a share of the leg's length) the model may move a planted foot, both its ends, from
/// where the contact began before the contact counts as ended: the foot has stepped. At 10
/// frames a second a person whose legs are hidden (a long coat, a table; the person-detection
/// clip) takes steps the model shows as feet low and slow throughout, each moving about a metre
/// over a few seconds of "contact"; pinned in one place, such a foot dragged the body up to half
/// a metre off the person in the image. A planted foot's own noise stays inside it, though not
/// by much: 17 cm over the squats (the 19 cm once measured over the synthetic walk's first
/// stance was a turning step the contact ran through, see [`detect_contacts`]), against
/// 24-26 cm for their legs (at 0.25 the synthetic walk's stance was cut).
const STEP_AWAY: f32 = 0.3;

/// Ends a contact run where the foot has moved further than `step` across the floor, both its
/// ends, from where the run (or its last part) began: the frames within `PIN_FADE_S` before the
/// first frame that far (at least one) lose their contact, so that the pin lets go of the old
/// place over them as it does at any lift, and the body glides to the new one; the next part
/// begins at that frame.
fn split_runs_that_step(
    c: &mut [[bool; 2]],
    feet: &[[FootEnds; 2]],
    times: &[f64],
    k: usize,
    step: f32,
) {
    for run in contact_runs(c, k) {
        let mut start = run.start;
        for f in run {
            if f > start && moved_across(&feet[f][k], &feet[start][k]) > step {
                let letting_go = (start + 1..f).filter(|&j| times[f] - times[j] <= PIN_FADE_S);
                for j in letting_go.chain(std::iter::once(f - 1)) {
                    c[j][k] = false;
                }
                start = f;
            }
        }
    }
}

/// The shortest contact kept: a foot passing low and slow through a stride is not planted. A
/// contact is a stretch of time, not of frames: three frames at 30 fps, as it was counted
/// before, are six at 60 fps (where a passing foot stays low for twice the frames) and
/// three tenths of a second at 10 fps (longer than a running step's contact).
const MIN_CONTACT_S: f64 = 0.09;

/// The fewest frames of a contact whatever the frame rate: a foot's speed is read from the
/// frames either side, so one low frame alone says nothing of it standing still.
const MIN_CONTACT_FRAMES: usize = 2;

/// Drops contact runs shorter than [`MIN_CONTACT_S`] or [`MIN_CONTACT_FRAMES`]. A run covers
/// its frames' own time: from halfway to the frame before it to halfway to the frame after it.
fn remove_short_runs(c: &mut [[bool; 2]], times: &[f64], k: usize) {
    for run in contact_runs(c, k) {
        if run.len() < MIN_CONTACT_FRAMES || covered_time(times, &run) < MIN_CONTACT_S {
            for f in &mut c[run] {
                f[k] = false;
            }
        }
    }
}

/// The time frames `run` stand for: from halfway to the frame before the first to halfway to
/// the frame after the last, an end of the clip counting its neighbour's interval.
fn covered_time(times: &[f64], run: &std::ops::Range<usize>) -> f64 {
    let interval = |a: usize, b: usize| times.get(b).zip(times.get(a)).map(|(tb, ta)| tb - ta);
    let (first, last) = (run.start, run.end - 1);
    let before = first
        .checked_sub(1)
        .and_then(|prev| interval(prev, first))
        .or_else(|| interval(first, first + 1))
        .unwrap_or(0.0);
    let after = interval(last, last + 1)
        .or_else(|| last.checked_sub(1).and_then(|prev| interval(prev, last)))
        .unwrap_or(0.0);
    times[last] - times[first] + (before + after) / 2.0
}

/// A robust floor height: the lower quartile of each frame's lowest sole point, over the frames
/// where a foot was clearly in view; `None` where fewer than a tenth of the frames (and three)
/// show one. A clip often starts with a person half in the frame or a spurious detection,
/// whose invented legs would otherwise set the floor and leave the real feet floating. The
/// quartile (not a lower percentile) lets up to a quarter of the frames be wrong that way, while
/// a person who is in the air for most of the clip still lands on the floor.
pub fn floor_of_seen_feet(soles: &[[Vec3; 2]], feet_seen: &[[bool; 2]]) -> Option<f32> {
    let lowest_seen: Vec<f32> = soles
        .iter()
        .zip(feet_seen)
        .filter_map(|(s, seen)| {
            (0..2)
                .filter(|&k| seen[k])
                .map(|k| s[k][1])
                .min_by(|a, b| a.total_cmp(b))
        })
        .collect();
    (lowest_seen.len() >= 3.max(soles.len().div_ceil(10))).then(|| lower_quartile(lowest_seen))
}

/// The floor of a clip whose feet are rarely in view (an upper-body clip, a person cut off at the
/// knees): as far below the hips as the skeleton's straight legs reach in the frames where the
/// hips are high (their upper quartile), so that the person stands on it there and bends the
/// knees where the hips come down. The model's invented legs keep their length whatever the hips
/// do: set by the lowest of them alone, the cropped squats clip's floor came from the bottom of
/// each squat, and the standing person floated 25 cm above it. Where those guesses stand higher
/// (the lower quartile of their soles), the floor is theirs: a person seated at a desk, whose
/// straight legs would reach half a metre under the floor their guessed bent ones stand on. (A
/// person in the air for over a quarter of the clip would set it too low; not handled.)
fn floor_below_the_hips(anim: &Animation, soles: &[[Vec3; 2]], footing: &Footing<'_>) -> f32 {
    let hips = hips_heights(anim);
    let standing_hips = upper_quartile(
        (hips.iter().zip(footing.performer_in_view()))
            .filter(|&(_, seen)| seen)
            .map(|(&h, _)| h)
            .collect(),
    );
    let guessed = lower_quartile(soles.iter().map(|s| s[0][1].min(s[1][1])).collect());
    (standing_hips - straight_legs_drop(anim, footing.heel_local)).max(guessed)
}

/// Per frame, the height (cm) of the hips joint.
fn hips_heights(anim: &Animation) -> Vec<f32> {
    (anim.frames.iter())
        .map(|f| anim.world_positions(f)[J::HIPS][1])
        .collect()
}

/// How far (cm) below the hips the lower sole is when the skeleton stands in its rest pose,
/// legs straight.
fn straight_legs_drop(anim: &Animation, heel_local: [Vec3; 2]) -> f32 {
    let rest = Frame {
        root_translation: [0.0; 3],
        rotations: vec![Quat::IDENTITY; anim.skeleton.joints.len()],
    };
    let hips = anim.world_positions(&rest)[J::HIPS][1];
    let feet = ends_of_feet(anim, &rest, heel_local);
    hips - lowest(&feet[0])[1].min(lowest(&feet[1])[1])
}

fn lower_quartile(mut values: Vec<f32>) -> f32 {
    values.sort_by(|a, b| a.total_cmp(b));
    values.get(values.len() / 4).copied().unwrap_or(0.0)
}

fn upper_quartile(mut values: Vec<f32>) -> f32 {
    values.sort_by(|a, b| a.total_cmp(b));
    values.get(values.len() * 3 / 4).copied().unwrap_or(0.0)
}

/// Gaussian sigma (s) over which a foot going out of view is stood on the floor, and one coming
/// into view is let go: the leg turns rather than snaps.
const UNSEEN_FADE_S: f64 = 0.1;

/// Stands each foot that is out of view on the floor with its leg, eased in and out over
/// [`UNSEEN_FADE_S`] around the frames where it is seen. Where a foot is, the model can only
/// guess when it does not see it, and a person's feet are on the floor far more often than not:
/// stood there, a person cut off at the knees bends them when the hips come down, as they must
/// have, instead of sinking through the floor or floating above it. Where the hips are higher
/// than the legs reach (a jump), the leg hangs straight toward the floor; a foot that moves
/// across the floor at a swing's speed is left as the model guesses it (see [`SWING_SPEED`]);
/// where the hips are lower than a deep squat's (see [`LOWEST_STANDING_HIPS`]), the body itself
/// is below the floor (on lower ground), and raising it is left to [`body_lifts`].
fn stand_unseen_feet(anim: &mut Animation, footing: &Footing<'_>, floor: f32) {
    let lowest_hips = LOWEST_STANDING_HIPS * footing.leg_len;
    let performer = footing.performer_in_view();
    let performer_share: Vec<f32> = performer.iter().map(|&p| f32::from(u8::from(p))).collect();
    let performer_around = smooth_scalar(footing.times, &performer_share, UNSEEN_FADE_S);
    let feet = foot_ends(anim, footing.heel_local);
    let swing_speed = SWING_SPEED * footing.leg_len;
    for k in 0..2 {
        let across = [0, 1].map(|end| end_speeds(&feet, footing.times, k, end, true));
        let stood: Vec<f32> = (0..feet.len())
            .map(|f| {
                if !footing.feet_out_of_view[f][k] {
                    return 0.0;
                }
                let hips = anim.world_positions(&anim.frames[f])[J::HIPS][1] - floor;
                let above_a_squat = 1.0 + (hips - lowest_hips) / (0.1 * footing.leg_len);
                let still = 2.0 - 2.0 * across[0][f].min(across[1][f]) / swing_speed;
                above_a_squat.clamp(0.0, 1.0) * still.clamp(0.0, 1.0)
            })
            .collect();
        // Averaged over the frames with the performer only: between glimpses (the performer
        // found in every other frame) a foot out of view is stood fully, not half-way.
        let stood = smooth_scalar(footing.times, &stood, UNSEEN_FADE_S);
        let shares = (stood.iter().zip(&performer_around)).map(|(&s, &p)| s / p.max(1e-6));
        for (f, share) in shares.enumerate().filter(|&(f, _)| performer[f]) {
            if share < 1e-3 {
                continue;
            }
            let ends = ends_of_feet(anim, &anim.frames[f], footing.heel_local)[k];
            let rise = [0.0, (floor - lowest(&ends)[1]) * share, 0.0];
            // A knee in view keeps its place in the picture: the shin alone turns.
            match footing.knees_seen[f][k] {
                true => leg_ik::turn_shin(anim, f, k, rise),
                false => leg_ik::move_foot(anim, f, k, rise),
            }
        }
    }
    // The frames without the performer turn between their neighbours' legs as they now stand;
    // stood in the glimpses only, the legs of the person-detection clip's man walking in swung
    // 62° in a frame between them.
    super::bridge_unseen(&mut anim.frames, footing.times, &performer);
}

/// The speed across the floor (leg lengths a second) from which a foot out of view is taken to
/// swing, and left where the model puts it; it is stood fully below half of it. The model
/// guesses the gait of a person walking behind a table (the person-detection clip) with its
/// steps lifted; stood on the floor, they shuffled.
const SWING_SPEED: f32 = 0.9;

/// The lowest the hips (a share of the leg's length above the floor) come in a deep squat: a
/// body whose hips are lower with its feet out of view is below the floor, not crouching on it,
/// and is raised to it (see [`body_lifts`]); its feet are stood less the lower it is, not at
/// all a tenth of a leg lower.
const LOWEST_STANDING_HIPS: f32 = 0.3;

/// The steepest floor slope along the depth (rise over run) that is put down to the depth's
/// scale, about 31° (the person-detection clip, filmed from 34° above, fits 0.54). A steeper fit
/// is more likely real ground (a walk toward the camera down a slope or off a step), and is left
/// alone.
const MAX_DEPTH_SLOPE: f32 = 0.6;

/// How far (cm) the person must move toward or away from the camera (between the 10th and 90th
/// percentile of their distance) before the floor's slope along the depth says anything.
const MIN_DEPTH_SPAN_CM: f32 = 30.0;

/// Levels a floor that rises or falls with the person's distance from the camera, by moving the
/// root up or down in proportion to its depth.
///
/// The person's distance comes from their size in the image under an assumed focal length: a
/// camera with a wider or narrower lens than assumed stretches or shrinks every distance by one
/// factor. Once the camera's pitch is taken out, that error turns into height: the body sinks or
/// floats in proportion to its depth (21 cm across half a metre of depth on the person-detection
/// clip, filmed from 34° above; the squatter's feet rose as his hips went back). The slope is the
/// robust (Theil–Sen) fit of the lowest seen sole's height against the root's depth, so that
/// swinging feet and jumps, which are above the floor, do not tilt it, nor a short stretch on
/// lower ground (under about a quarter of the clip).
fn level_the_floor_in_depth(
    anim: &mut Animation,
    soles: &mut [[Vec3; 2]],
    feet_seen: &[[bool; 2]],
) {
    let samples: Vec<(f32, f32)> = anim
        .frames
        .iter()
        .zip(soles.iter())
        .zip(feet_seen)
        .filter(|(_, seen)| seen[0] && seen[1])
        .map(|((frame, s), _)| (frame.root_translation[2], s[0][1].min(s[1][1])))
        .collect();
    let Some(slope) = depth_slope(&samples).filter(|s| s.abs() <= MAX_DEPTH_SLOPE) else {
        return;
    };
    let mut depths: Vec<f32> = anim.frames.iter().map(|f| f.root_translation[2]).collect();
    depths.sort_by(|a, b| a.total_cmp(b));
    let middle = depths[depths.len() / 2];
    for (frame, sole) in anim.frames.iter_mut().zip(soles.iter_mut()) {
        let drop = slope * (frame.root_translation[2] - middle);
        frame.root_translation[1] -= drop;
        sole[0][1] -= drop;
        sole[1][1] -= drop;
    }
}

/// The Theil–Sen slope of height against depth over `(depth, height)` samples: the median of the
/// slopes between pairs at least a fifth of the depth span apart (on at most 200 samples, evenly
/// picked). `None` when the person hardly moves in depth.
fn depth_slope(samples: &[(f32, f32)]) -> Option<f32> {
    let mut depths: Vec<f32> = samples.iter().map(|s| s.0).collect();
    depths.sort_by(|a, b| a.total_cmp(b));
    let n = depths.len();
    if n < 20 {
        return None;
    }
    let span = depths[n * 9 / 10] - depths[n / 10];
    if span.is_nan() || span < MIN_DEPTH_SPAN_CM {
        return None;
    }
    let step = n.div_ceil(200);
    let picked: Vec<(f32, f32)> = samples.iter().step_by(step).copied().collect();
    let mut slopes: Vec<f32> = Vec::new();
    for (i, a) in picked.iter().enumerate() {
        for b in &picked[i + 1..] {
            let run = b.0 - a.0;
            let slope = (b.1 - a.1) / run;
            if run.abs() >= span / 5.0 && slope.is_finite() {
                slopes.push(slope);
            }
        }
    }
    if slopes.len() < 20 {
        return None;
    }
    slopes.sort_by(|a, b| a.total_cmp(b));
    Some(slopes[slopes.len() / 2])
}

/// What grounding needs to know of the clip besides the animation.
pub struct Footing<'a> {
    /// Each frame's time, seconds.
    pub times: &'a [f64],
    /// Per frame, [left, right]: the foot was clearly in view.
    pub feet_seen: &'a [[bool; 2]],
    /// Per frame, [left, right]: the performer was in view but the foot was not (cut off by
    /// the frame's edge, hidden, or too faint): where it is was the model's guess. Frames
    /// without the performer are neither seen nor out of view: their pose is bridged.
    pub feet_out_of_view: &'a [[bool; 2]],
    /// Per frame, [left, right]: the knee was clearly in view.
    pub knees_seen: &'a [[bool; 2]],
    /// Heel position relative to each ankle in the foot's rest frame, [left, right], cm.
    pub heel_local: [Vec3; 2],
    /// Thigh plus shin, cm: the scale of what counts as low and slow.
    pub leg_len: f32,
}

impl Footing<'_> {
    /// Per frame: the performer was found (each foot is then either seen or out of view).
    fn performer_in_view(&self) -> Vec<bool> {
        (self.feet_seen.iter().zip(self.feet_out_of_view))
            .map(|(seen, out)| seen[0] || seen[1] || out[0] || out[1])
            .collect()
    }
}

/// Levels a floor that slopes along the depth (see [`level_the_floor_in_depth`]), raises a body
/// whose feet are well below the floor, then corrects the root translation so that planted feet
/// stay near where they were put down, on the floor, and pins each planted foot exactly with its
/// leg (with `lock`; without it only the levelling, the raise and the standing of feet out of
/// view, [`stand_unseen_feet`], are made and the floor moves to Y = 0). Returns the contacts.
pub fn ground_and_lock(anim: &mut Animation, footing: &Footing<'_>, lock: bool) -> Vec<[bool; 2]> {
    let times = footing.times;
    let mut soles = sole_points(anim, footing.heel_local);
    level_the_floor_in_depth(anim, &mut soles, footing.feet_seen);
    let floor = floor_of_seen_feet(&soles, footing.feet_seen)
        .unwrap_or_else(|| floor_below_the_hips(anim, &soles, footing));
    let reach = (JUMP_S / 2.0 * anim.fps()).round() as usize;
    let hips = hips_heights(anim);
    let allowed = (
        LEG_LIFT * footing.leg_len,
        LOWEST_STANDING_HIPS * footing.leg_len,
    );
    let lifts = body_lifts(
        &soles,
        footing.feet_out_of_view,
        &hips,
        floor,
        allowed,
        reach,
    );
    for (frame, lift) in anim.frames.iter_mut().zip(lifts) {
        frame.root_translation[1] += lift;
    }
    stand_unseen_feet(anim, footing, floor);
    let feet = foot_ends(anim, footing.heel_local);
    let hips_now = hips_heights(anim);
    let contacts = detect_contacts(&feet, &hips_now, times, floor, footing.leg_len);
    let corrections = if lock {
        let heights = (floor, CONTACT_HEIGHT * footing.leg_len);
        let leg_reach: Vec<[f32; 2]> = (0..feet.len())
            .map(|f| [0, 1].map(|k| leg_ik::reach_down(anim, f, k, STANDING_LEG)))
            .collect();
        let out_of_view = footing.feet_out_of_view;
        root_corrections(&feet, &contacts, out_of_view, heights, &leg_reach, times)
    } else {
        vec![[0.0; 3]; feet.len()]
    };
    for (frame, c) in anim.frames.iter_mut().zip(corrections) {
        frame.root_translation = add(frame.root_translation, c);
        // The floor itself moves to Y = 0.
        frame.root_translation[1] -= floor;
    }
    if lock {
        pin_planted_feet(anim, footing, &contacts);
        lift_feet_out_of_the_floor(anim, footing, &contacts);
    }
    contacts
}

/// How far (a share of the leg's length) a foot may be below the floor and be lifted onto it by
/// its leg. A foot further down means the body itself is below the floor: it landed on lower
/// ground than the clip's floor (sports2d's performer jumps down from a roof 1.8 m high), or the
/// camera tilted. Lifting such a foot with its leg folded the thigh up over the hip (150° and
/// more, spinning as the target moved); the body is raised instead.
const LEG_LIFT: f32 = 0.1;

/// The longest time in the air (s) that a body on lower ground keeps: raised frame by frame
/// just enough, its jumps there would be flattened onto the floor.
const JUMP_S: f64 = 1.0;

/// Per frame, how far (cm) the body is raised: so that its lowest foot is at most `slack` below
/// the floor, and through a stretch of at most `2 * reach + 1` frames where it needs less (a jump
/// on lower ground), by as much as on either side of it. Continuous in time wherever the feet
/// move continuously, so the body never jumps. A foot out of view (`out_of_view`) asks for
/// nothing: the model's guess of a leg keeps its length when the hips come down (a squat seen
/// from the knees up), and the body would be raised out of the squat the picture shows. With
/// both feet out of view, the hips (`hips`, their heights) ask to be as high above the floor as
/// they come in a deep squat (`lowest_hips`): lower, the body is below the floor.
fn body_lifts(
    soles: &[[Vec3; 2]],
    out_of_view: &[[bool; 2]],
    hips: &[f32],
    floor: f32,
    (slack, lowest_hips): (f32, f32),
    reach: usize,
) -> Vec<f32> {
    let needed: Vec<f32> = (soles.iter().zip(out_of_view).zip(hips))
        .map(|((s, out), &hips)| {
            if out[0] && out[1] {
                return (floor + lowest_hips - hips).max(0.0);
            }
            let lowest_in_view = (0..2)
                .filter(|&k| !out[k])
                .map(|k| s[k][1])
                .fold(f32::INFINITY, f32::min);
            (floor - slack - lowest_in_view).max(0.0)
        })
        .collect();
    closing(&needed, reach)
}

/// Morphological closing: the running maximum over ±`reach` frames, then the running minimum of
/// that. Dips narrower than the window are filled; steps, slopes and peaks stay as they are.
fn closing(values: &[f32], reach: usize) -> Vec<f32> {
    let (Some(&first), Some(&last)) = (values.first(), values.last()) else {
        return Vec::new();
    };
    // Beyond the ends the values go on as they end, so a step at an end stays a step.
    let padded: Vec<f32> = std::iter::repeat_n(first, reach)
        .chain(values.iter().copied())
        .chain(std::iter::repeat_n(last, reach))
        .collect();
    let maxima = running(&padded, reach, f32::max);
    running(&maxima, reach, f32::min)[reach..reach + values.len()].to_vec()
}

/// Per value, the `pick` (`f32::max`, `f32::min`) of the values within `reach` either side.
fn running(values: &[f32], reach: usize, pick: fn(f32, f32) -> f32) -> Vec<f32> {
    (0..values.len())
        .map(|i| {
            let window = &values[i.saturating_sub(reach)..(i + reach + 1).min(values.len())];
            window.iter().copied().fold(window[0], pick)
        })
        .collect()
}

/// A foot in the air that dips below the floor (a swing passing low, the model's depth noise)
/// is lifted onto it by its leg, and a foot swinging across the floor clear of it (see
/// [`swing_lifts`]): lifted onto the floor alone, a swing the model put a few centimetres under
/// it slid along it at full speed (pose2sim cam01's left foot, 8 frames in a row).
fn lift_feet_out_of_the_floor(anim: &mut Animation, footing: &Footing<'_>, contacts: &[[bool; 2]]) {
    let feet = foot_ends(anim, footing.heel_local);
    let timing = (footing.times, anim.fps());
    let lifts = swing_lifts(&feet, timing, contacts, footing.leg_len);
    for (f, lift) in lifts.iter().enumerate() {
        for (k, &lift) in lift.iter().enumerate() {
            if lift > 0.0 {
                leg_ik::move_foot(anim, f, k, [0.0, lift, 0.0]);
            }
        }
    }
}

/// How high (a share of the leg's length) a foot swinging at full speed passes over the floor at
/// least: a walker's toes clear it by 1-2 cm.
const SWING_CLEARANCE: f32 = 0.025;

/// The speeds (shares of the leg's length a second) across the floor between which a foot's
/// clearance grows from none to [`SWING_CLEARANCE`]: from a foot still enough to stand to one
/// too fast to be planted (see [`detect_contacts`]).
const CLEARANCE_SPEEDS: (f32, f32) = (0.3, 0.9);

/// Seconds (and frames, at a low frame rate) from a contact over which a foot's lift grows: none
/// while it stands, so that lifting or landing, it leaves and meets the floor where its pin
/// holds it.
const CLEARANCE_FADE_S: f64 = 0.1;
const CLEARANCE_FADE_FRAMES: f64 = 3.0;

/// Seconds over which a swing's lift comes and goes (the reach of its running maximum, and the
/// sigma of its smoothing). Taken frame by frame, a lift on a nearly straight leg bent the knee
/// 17° in three frames and let it go in one (sports2d), where the foot rose through its
/// clearance on its own.
const LIFT_EASE_S: f64 = 0.05;

/// Per frame, how far (cm) each foot is lifted, [left, right]: onto the floor where it is under
/// it, and where it swings, to its clearance over it (see [`swing_clearances`]), eased in time,
/// and not at all where it is planted, growing over [`CLEARANCE_FADE_S`] away from its
/// contacts.
fn swing_lifts(
    feet: &[[FootEnds; 2]],
    (times, fps): (&[f64], f64),
    contacts: &[[bool; 2]],
    leg_len: f32,
) -> Vec<[f32; 2]> {
    let n = feet.len();
    let reach = ((LIFT_EASE_S * fps).round() as usize).max(1);
    let fade = CLEARANCE_FADE_S.max(CLEARANCE_FADE_FRAMES / fps);
    let clearances = swing_clearances(feet, times, leg_len);
    let mut out = vec![[0.0; 2]; n];
    for k in 0..2 {
        let heights: Vec<f32> = feet.iter().map(|f| lowest(&f[k])[1]).collect();
        // Only the clearance is eased: how far a foot is under the floor is its own frame's,
        // and eased, a foot 30 cm under it at 10 fps lifted the frames beside it 42 cm.
        let wanted: Vec<f32> = (heights.iter().zip(&clearances))
            .map(|(&y, clear)| (clear[k] - y.max(0.0)).max(0.0))
            .collect();
        let eased = smooth_scalar(times, &running(&wanted, reach, f32::max), LIFT_EASE_S);
        let since_contact = time_from_contacts(contacts, times, k);
        for (f, lift) in out.iter_mut().enumerate() {
            let away = smoothstep((since_contact[f] / fade) as f32);
            lift[k] = (-heights[f]).max(0.0) + eased[f] * away;
        }
    }
    out
}

/// Per frame, how high (cm) above the floor each foot passes at least, [left, right]: as high as
/// its speed across the floor says it swings, the slower of its two ends (a foot turning about
/// one end stands on it).
fn swing_clearances(feet: &[[FootEnds; 2]], times: &[f64], leg_len: f32) -> Vec<[f32; 2]> {
    let (slow, fast) = CLEARANCE_SPEEDS;
    let mut out = vec![[0.0; 2]; feet.len()];
    for k in 0..2 {
        let across = [0, 1].map(|end| end_speeds(feet, times, k, end, true));
        for (f, clear) in out.iter_mut().enumerate() {
            let speed = across[0][f].min(across[1][f]) / leg_len;
            clear[k] = SWING_CLEARANCE * leg_len * smoothstep((speed - slow) / (fast - slow));
        }
    }
    out
}

/// 0 up to 0, 1 from 1, and between them a curve that leaves 0 and meets 1 level.
fn smoothstep(t: f32) -> f32 {
    let t = t.clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Per frame, the time (s) to the nearest frame where foot `k` is planted, before or after it;
/// infinite where it never is.
fn time_from_contacts(contacts: &[[bool; 2]], times: &[f64], k: usize) -> Vec<f64> {
    let planted: Vec<f64> = (0..contacts.len())
        .filter(|&f| contacts[f][k])
        .map(|f| times[f])
        .collect();
    times
        .iter()
        .map(|&t| {
            let next = planted.partition_point(|&p| p < t);
            let after = planted.get(next).map_or(f64::INFINITY, |&p| p - t);
            let before = next
                .checked_sub(1)
                .map_or(f64::INFINITY, |i| t - planted[i]);
            after.min(before)
        })
        .collect()
}

/// How the root moves so that planted feet stay put: per frame, the mean of what each planted
/// foot needs to return to where it stands (the middle of its contact run, on the floor),
/// interpolated between contacts and smoothed in time, so that the body glides rather than
/// jumps when a foot lands or lifts. Where a foot stands is read from the end it stands on (see
/// [`slips`]), and how high from its lowest end. What is left for each foot its leg takes up.
/// With both feet planted the body comes down as far as the higher foot needs, not the mean of
/// the two: a leg can bend to shorten but not stretch past straight, so at the mean the higher
/// foot's leg fell short of the floor and its foot slid with the hip (up to 1.3 cm short over
/// the synthetic walk's double stance; most of its foot skate). A foot out of view moves
/// nothing: where it is was the model's guess, and the body is where the picture shows it; its
/// leg alone keeps it planted.
fn root_corrections(
    feet: &[[FootEnds; 2]],
    contacts: &[[bool; 2]],
    feet_out_of_view: &[[bool; 2]],
    (floor, height_tol): (f32, f32),
    leg_reach: &[[f32; 2]],
    times: &[f64],
) -> Vec<Vec3> {
    let n = feet.len();
    let mut per_foot: [Vec<Option<Vec3>>; 2] = [vec![None; n], vec![None; n]];
    for (k, foot) in per_foot.iter_mut().enumerate() {
        for run in contact_runs(contacts, k) {
            let slipped = slips(feet, k, run.clone());
            let middle = slipped[slipped.len() / 2];
            // A foot stood on above a contact's height (see [`held_up_still`]) comes down with
            // its leg first (straightened), and the body only as far as the leg falls short:
            // the dance clip's standing leg was the model's bent one, and the body brought down
            // all the way stood 12 cm lower than the picture shows, then rose 12 cm as the
            // contacts after it took over. Decided for the whole run, so that the body's height
            // does not jump where the foot comes below a contact's height within it.
            let stood_on = run
                .clone()
                .any(|f| lowest(&feet[f][k])[1] - floor >= height_tol);
            for (f, slip) in run.zip(slipped).filter(|&(f, _)| !feet_out_of_view[f][k]) {
                let back = sub(middle, slip);
                let down = floor - lowest(&feet[f][k])[1];
                let down = if stood_on {
                    (down + leg_reach[f][k]).min(0.0)
                } else {
                    down
                };
                foot[f] = Some([back[0], down, back[2]]);
            }
        }
    }
    let corrections: Vec<Option<Vec3>> = (0..n)
        .map(|f| match (per_foot[0][f], per_foot[1][f]) {
            (Some(a), Some(b)) => {
                let mut both = scale(add(a, b), 0.5);
                both[1] = a[1].min(b[1]);
                Some(both)
            }
            (Some(a), None) | (None, Some(a)) => Some(a),
            (None, None) => None,
        })
        .collect();
    let filled = fill_gaps(times, corrections).unwrap_or_else(|| vec![[0.0; 3]; n]);
    smooth_points(times, &filled, ROOT_GLIDE_S)
}

/// Gaussian sigma (s) of the root's correction: long enough to hide a landing, short enough to
/// follow a step.
const ROOT_GLIDE_S: f64 = 0.06;

/// Seconds over which a landing foot is lowered onto the floor, and over which a lifting foot
/// lets go of where it was pinned, so that the leg never snaps.
const PIN_FADE_S: f64 = 0.07;

/// How much lower (cm) a planted foot's other end must come before the foot stands on it: a
/// flat foot's ends are level within the noise, and following whichever was lower would move
/// the foot's footing from heel to toe and back from frame to frame.
const ROLL_CM: f32 = 1.5;

/// Per frame of a contact run of foot `k`: how far (cm, across the floor) the foot has slipped
/// since the run began, measured at the end it stands on. That is the end lower at the start
/// until the other comes clearly lower (rolling onto the toes, or down from the heel); from then
/// on the other, from where the foot held still would have put it. Taking the lower end frame by
/// frame instead, a flat foot whose ends are level jumped its length each time they changed
/// places (pose2sim cam03's planted foot, 20 cm); its middle instead drags the body back as a
/// walker rolls from heel to toe.
fn slips(feet: &[[FootEnds; 2]], k: usize, run: std::ops::Range<usize>) -> Vec<Vec3> {
    let mut end = lower_end(&feet[run.start][k]);
    let mut slip = [0.0; 3];
    let mut out = Vec::with_capacity(run.len());
    for f in run.clone() {
        let ends = &feet[f][k];
        if f > run.start {
            // The end the foot stands on moved since the last frame by its own step.
            let step = sub(ends[end], feet[f - 1][k][end]);
            if step.iter().all(|v| v.is_finite()) {
                slip = add(slip, [step[0], 0.0, step[2]]);
            }
        }
        let other = 1 - end;
        if ends[other][1] < ends[end][1] - ROLL_CM {
            // From now on the foot turns about the other end: its slip goes on from here.
            end = other;
        }
        out.push(slip);
    }
    out
}

/// Pins each planted foot where it landed, on the floor, by moving its ankle with the leg.
/// Landing: where the foot touches down is kept (no jump), and its height eases onto the floor.
/// Rolling: the foot turns about the end it stands on (see [`slips`]). Lifting: what the pin
/// still corrected fades out over the first frames of the swing, while the foot is in the air
/// anyway, and before the foot lands again.
fn pin_planted_feet(anim: &mut Animation, footing: &Footing<'_>, contacts: &[[bool; 2]]) {
    let feet = foot_ends(anim, footing.heel_local);
    let fps = anim.fps();
    let n = feet.len();
    for k in 0..2 {
        let runs = contact_runs(contacts, k);
        for (i, run) in runs.iter().enumerate() {
            let slipped = slips(&feet, k, run.clone());
            let landing = -lowest(&feet[run.start][k])[1];
            // A foot planted from the clip's first frame has no landing to ease: nothing came
            // before it (eased, the dance clip's standing foot began 3.9 cm in the air).
            let easing = if run.start == 0 {
                0
            } else {
                ease_frames(landing, fps)
            };
            let land = Ease::within(easing, run.len());
            let mut held = [0.0; 3];
            for (f, slip) in run.clone().zip(slipped) {
                let down = land.at(f - run.start + 1);
                held = [-slip[0], -lowest(&feet[f][k])[1] * down, -slip[2]];
                leg_ik::move_foot(anim, f, k, held);
            }
            let next_landing = runs.get(i + 1).map_or(n, |next| next.start);
            let release = Ease::within(ease_frames(norm(held), fps), next_landing - run.end);
            for step in 1..=release.frames {
                let left = 1.0 - release.at(step);
                leg_ik::move_foot(anim, run.end - 1 + step, k, scale(held, left));
            }
        }
    }
}

/// The fastest (cm/s, on average over the ease) a pin's correction comes on as a foot lands, or
/// goes as it lifts: faster, it shows as a kick of the foot (pose2sim cam01's foot, held 8 cm
/// under where its leg put it, let go in four frames at 60 fps: it rose 2.2 cm in one frame
/// from standing still).
const PIN_EASE_CM_S: f32 = 30.0;

/// Over how many frames a pin's correction of `cm` comes on or goes: [`PIN_FADE_S`] at least,
/// at [`PIN_EASE_CM_S`] at most.
fn ease_frames(cm: f32, fps: f64) -> usize {
    let fade = (PIN_FADE_S * fps).round().max(1.0);
    let at_most_the_speed = (f64::from(cm.abs()) / f64::from(PIN_EASE_CM_S) * fps).ceil();
    fade.max(at_most_the_speed) as usize
}

/// A correction eased in (or out) over some frames.
#[derive(Clone, Copy, Debug)]
struct Ease {
    frames: usize,
    /// Fewer frames than the correction wanted: the next landing (or the run's or the clip's
    /// end) comes first.
    cut_short: bool,
}

impl Ease {
    /// An ease over `wanted` frames, or over `room` where that is fewer.
    fn within(wanted: usize, room: usize) -> Ease {
        Ease {
            frames: wanted.min(room),
            cut_short: room < wanted,
        }
    }

    /// How far the ease has come at its frame `step` (1-based): from 0 at step 0 to 1 at step
    /// `frames + 1`. Over the frames it wanted it starts and ends at rest (smoothstep), so the
    /// foot's speed changes gradually; cut short, it goes in even steps, which move the foot the
    /// least in any one frame (a smoothstep squeezed into two frames shook the ASL clip's unseen
    /// foot more than the step it smooths, and even steps throughout left pose2sim cam01's feet
    /// 2.5% shakier and sliding 0.094 against 0.066 cm/s).
    fn at(self, step: usize) -> f32 {
        let t = (step as f32 / (self.frames + 1) as f32).min(1.0);
        if self.cut_short { t } else { smoothstep(t) }
    }
}

/// The frame ranges where foot `k` is planted.
fn contact_runs(contacts: &[[bool; 2]], k: usize) -> Vec<std::ops::Range<usize>> {
    let planted: Vec<bool> = contacts.iter().map(|c| c[k]).collect();
    runs_of(&planted)
}

/// Mean horizontal speed (cm/s) of planted feet: how much they still slide, by the end of each
/// foot that moves less (a planted foot may turn about its heel or its toes).
pub fn foot_skate(
    anim: &Animation,
    times: &[f64],
    heel_local: [Vec3; 2],
    contacts: &[[bool; 2]],
) -> f32 {
    let feet = foot_ends(anim, heel_local);
    let (mut sum, mut count) = (0.0f32, 0usize);
    for i in 1..feet.len() {
        for k in 0..2 {
            if contacts[i][k] && contacts[i - 1][k] {
                let moved = moved_across(&feet[i][k], &feet[i - 1][k]);
                sum += moved / (times[i] - times[i - 1]).max(1e-6) as f32;
                count += 1;
            }
        }
    }
    if count == 0 { 0.0 } else { sum / count as f32 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::animation::Frame;
    use crate::animation::math::Quat;
    use crate::solve::rig;

    #[test]
    fn the_floor_s_slope_along_the_depth_is_found_past_swinging_feet_and_jumps() {
        // A floor rising 0.3 cm per cm toward the camera over 2 m of depth; every third frame
        // a foot swings or the body jumps, 10-40 cm above it.
        let samples: Vec<(f32, f32)> = (0..300)
            .map(|i| {
                let depth = -100.0 + (i as f32 * 0.7) % 200.0;
                let above = if i % 3 == 0 {
                    10.0 + (i % 31) as f32
                } else {
                    0.0
                };
                (depth, 5.0 + 0.3 * depth + above)
            })
            .collect();
        let slope = depth_slope(&samples).expect("a slope");
        assert!((slope - 0.3).abs() < 0.02, "{slope}");
    }

    #[test]
    fn a_floor_rising_toward_the_camera_is_levelled_and_a_steep_one_left_alone() {
        for (slope, levelled) in [(0.3, true), (-0.2, true), (0.8, false)] {
            // Standing in the rest pose while walking 2 m toward the camera over a floor of that
            // slope: the feet rise with the depth.
            let mut anim = standing(120, |f| -slope * (f as f32 * 2.0 - 120.0));
            for (f, frame) in anim.frames.iter_mut().enumerate() {
                frame.root_translation[2] = f as f32 * 2.0 - 120.0;
            }
            let heel = example_heels();
            let mut soles = sole_points(&anim, heel);
            level_the_floor_in_depth(&mut anim, &mut soles, &vec![[true; 2]; 120]);
            let heights: Vec<f32> = sole_points(&anim, heel)
                .iter()
                .map(|s| s[0][1].min(s[1][1]))
                .collect();
            let rise = heights[119] - heights[0];
            let want = if levelled { 0.0 } else { slope * 238.0 };
            assert!((rise - want).abs() < 0.5, "slope {slope}: rise {rise}");
            // The soles handed back moved with the root.
            let lowest: Vec<f32> = soles.iter().map(|s| s[0][1].min(s[1][1])).collect();
            assert!((lowest[119] - heights[119]).abs() < 1e-3);
        }
    }

    #[test]
    fn a_person_who_stays_at_one_distance_says_nothing_of_the_floor_s_slope() {
        let samples: Vec<(f32, f32)> = (0..300)
            .map(|i| ((i % 20) as f32, 0.5 * (i % 20) as f32))
            .collect();
        assert_eq!(depth_slope(&samples), None);
    }

    /// The example skeleton's heels relative to each ankle, [left, right].
    fn example_heels() -> [Vec3; 2] {
        let heel = rig::BoneLengths::example().heel_local;
        [heel, [-heel[0], heel[1], heel[2]]]
    }

    fn example_leg_len() -> f32 {
        let bones = rig::BoneLengths::example();
        bones.thigh + bones.shin
    }

    /// [`ground_and_lock`] on an animation of the example skeleton at 30 fps, feet always seen.
    fn ground_at_30_fps(anim: &mut Animation, lock: bool) -> Vec<[bool; 2]> {
        let seen = vec![true; anim.frames.len()];
        ground_seen_at_30_fps(anim, &seen, lock)
    }

    /// [`ground_and_lock`] at 30 fps with each frame's feet seen (`true`) or out of view, knees
    /// never seen.
    fn ground_seen_at_30_fps(anim: &mut Animation, seen: &[bool], lock: bool) -> Vec<[bool; 2]> {
        let times: Vec<f64> = (0..seen.len()).map(|f| f as f64 / 30.0).collect();
        let feet_seen: Vec<[bool; 2]> = seen.iter().map(|&s| [s; 2]).collect();
        let out_of_view: Vec<[bool; 2]> = seen.iter().map(|&s| [!s; 2]).collect();
        let footing = Footing {
            times: &times,
            feet_seen: &feet_seen,
            feet_out_of_view: &out_of_view,
            knees_seen: &vec![[false; 2]; seen.len()],
            heel_local: example_heels(),
            leg_len: example_leg_len(),
        };
        ground_and_lock(anim, &footing, lock)
    }

    /// A person standing still in the rest pose for `n` frames at 30 fps, `below(f)` cm lower
    /// than soles on Y = 0 in frame `f`.
    fn standing(n: usize, below: impl Fn(usize) -> f32) -> Animation {
        let skeleton = rig::build_skeleton(&rig::BoneLengths::example());
        let frame = Frame {
            root_translation: [0.0; 3],
            rotations: vec![Quat::IDENTITY; skeleton.joints.len()],
        };
        let mut anim = Animation {
            skeleton,
            frame_time_s: 1.0 / 30.0,
            frames: vec![frame; n],
        };
        let soles = sole_points(&anim, example_heels());
        let on_floor = -soles[0][0][1].min(soles[0][1][1]);
        for (f, frame) in anim.frames.iter_mut().enumerate() {
            frame.root_translation[1] = on_floor - below(f);
        }
        anim
    }

    #[test]
    fn feet_out_of_view_stand_on_the_floor_while_the_hips_squat() {
        // The model's guess of legs out of view keeps them straight: as the hips come down 35 cm
        // into each squat, the feet go through the floor, and a standing body's guessed feet
        // float 5 cm above it.
        let squat = |f: usize| 35.0 * (f as f32 * std::f32::consts::TAU / 60.0).sin().max(0.0);
        let below = |f: usize| squat(f) - 5.0;
        let n = 150;
        let mut anim = standing(n, below);
        let hips_before: Vec<f32> = anim.frames.iter().map(|f| f.root_translation[1]).collect();
        ground_seen_at_30_fps(&mut anim, &vec![false; n], true);
        let soles = sole_points(&anim, example_heels());
        let thigh_len = rig::BoneLengths::example().thigh;
        for (f, frame) in anim.frames.iter().enumerate() {
            // The hips go where the picture put them: nothing raises or lowers them but the
            // floor's own move to Y = 0.
            let moved = frame.root_translation[1] - hips_before[f];
            assert!((moved - (anim.frames[0].root_translation[1] - hips_before[0])).abs() < 1e-3);
            for (k, sole) in soles[f].iter().enumerate() {
                assert!(sole[1].abs() < 0.5, "frame {f}: foot {k} at {} cm", sole[1]);
            }
            // Deep in a squat the knees bend: the thighs turn forward from straight down.
            let p = anim.world_positions(frame);
            let thigh = sub(p[J::LEFT_LEG], p[J::LEFT_UP_LEG]);
            if squat(f) > 30.0 {
                assert!(thigh[1] > -0.8 * thigh_len, "frame {f}: thigh {thigh:?}");
            }
            if squat(f) == 0.0 {
                assert!(thigh[1] < -0.99 * thigh_len, "frame {f}: thigh {thigh:?}");
            }
        }
    }

    #[test]
    fn a_person_seated_with_feet_out_of_view_keeps_the_guessed_legs() {
        // Seated at a desk, filmed from the waist up: the model guesses the thighs level and the
        // shins down to the floor. Straight legs would reach half a metre below it.
        let mut anim = standing(60, |_| 0.0);
        let forward = Quat::from_axis_angle([1.0, 0.0, 0.0], -std::f32::consts::FRAC_PI_2);
        let bent = Quat::from_axis_angle([1.0, 0.0, 0.0], std::f32::consts::FRAC_PI_2);
        for frame in &mut anim.frames {
            for (hip, knee) in [
                (J::LEFT_UP_LEG, J::LEFT_LEG),
                (J::RIGHT_UP_LEG, J::RIGHT_LEG),
            ] {
                frame.rotations[hip] = forward;
                frame.rotations[knee] = bent;
            }
        }
        let soles = sole_points(&anim, example_heels());
        let onto_the_floor = -soles[0][0][1].min(soles[0][1][1]);
        for frame in &mut anim.frames {
            frame.root_translation[1] += onto_the_floor;
        }
        ground_seen_at_30_fps(&mut anim, &[false; 60], true);
        let thigh_len = rig::BoneLengths::example().thigh;
        for (f, frame) in anim.frames.iter().enumerate() {
            let p = anim.world_positions(frame);
            let thigh = sub(p[J::LEFT_LEG], p[J::LEFT_UP_LEG]);
            assert!(
                thigh[1].abs() < 0.05 * thigh_len,
                "frame {f}: thigh {thigh:?}"
            );
        }
        for (f, soles) in sole_points(&anim, example_heels()).iter().enumerate() {
            assert!(
                soles.iter().all(|s| s[1].abs() < 0.5),
                "frame {f}: {soles:?}"
            );
        }
    }

    #[test]
    fn a_body_below_the_floor_with_feet_out_of_view_is_raised_not_folded() {
        // Seen standing for 40 frames, then 100 cm lower (on lower ground) with the feet out of
        // view: the hips are raised to a deep squat's height above the floor at least, and no
        // thigh folds up over its hip to reach it.
        let below = |f: usize| if f < 40 { 0.0 } else { 100.0 };
        let mut anim = standing(80, below);
        let seen: Vec<bool> = (0..80).map(|f| f < 40).collect();
        ground_seen_at_30_fps(&mut anim, &seen, true);
        let lowest_hips = LOWEST_STANDING_HIPS * example_leg_len();
        for (f, frame) in anim.frames.iter().enumerate() {
            let p = anim.world_positions(frame);
            assert!(
                p[J::HIPS][1] > lowest_hips - 0.5,
                "frame {f}: hips {:?}",
                p[J::HIPS]
            );
            for (hip, knee) in [
                (J::LEFT_UP_LEG, J::LEFT_LEG),
                (J::RIGHT_UP_LEG, J::RIGHT_LEG),
            ] {
                let thigh = sub(p[knee], p[hip]);
                assert!(thigh[1] < 0.0, "frame {f}: thigh {thigh:?}");
            }
        }
    }

    #[test]
    fn a_body_below_the_floor_is_raised_and_its_legs_stay_under_it() {
        // Standing for 100 frames, then down 120 cm in 5 (onto lower ground: the clip's floor is
        // the first level, where most frames stand), standing there for 20 with a jump 30 cm high
        // and 0.4 s long in the middle.
        let jump = |f: usize| 30.0 * (1.0 - ((f as f32 - 115.0) / 6.0).powi(2)).max(0.0);
        let below = |f: usize| (f.saturating_sub(100).min(5) as f32) * 24.0 - jump(f);
        let n = 125;
        let anim = standing(n, below);
        let heel = example_heels();
        let thigh_len = rig::BoneLengths::example().thigh;
        // Without locking, the body is raised just enough for its leg to take the rest, and
        // through the jump as much as around it: the jump is kept.
        let mut grounded = anim.clone();
        ground_at_30_fps(&mut grounded, false);
        let slack = LEG_LIFT * example_leg_len();
        for (f, (frame, was)) in grounded.frames.iter().zip(&anim.frames).enumerate() {
            let raised = frame.root_translation[1] - was.root_translation[1];
            let want = (below(f) + jump(f) - slack).max(0.0);
            assert!(
                (raised - want).abs() < 0.01,
                "frame {f}: raised {raised} cm, want {want}"
            );
        }
        // With it, the feet planted on the lower ground stand on the floor and the jump leaves
        // it; no leg ever folds up to reach it, and no foot is left under it.
        let mut locked = anim.clone();
        ground_at_30_fps(&mut locked, true);
        let soles = sole_points(&locked, heel);
        let apex = soles[115][0][1].min(soles[115][1][1]);
        // Flattened onto the floor, the apex was at the floor; with take-off frames counted as
        // planted (by their sideways speed alone), 13.4 cm.
        assert!((apex - 30.0).abs() < 0.5, "the jump's apex at {apex} cm");
        for (f, frame) in locked.frames.iter().enumerate() {
            let standing_below = (106..=108).contains(&f) || f >= 122;
            let lowest = soles[f][0][1].min(soles[f][1][1]);
            assert!(
                !standing_below || lowest.abs() < 0.5,
                "frame {f}: planted at {lowest} cm"
            );
            let p = locked.world_positions(frame);
            for (hip, knee) in [
                (J::LEFT_UP_LEG, J::LEFT_LEG),
                (J::RIGHT_UP_LEG, J::RIGHT_LEG),
            ] {
                let thigh = sub(p[knee], p[hip]);
                // Pinned feet bend the knees a little as the body crouches into the jump;
                // reaching for the floor 1.2 m up, the thighs pointed up over the hips.
                assert!(
                    thigh[1] < -0.8 * thigh_len,
                    "frame {f}: the thigh turned from straight down to {thigh:?}"
                );
            }
            assert!(
                soles[f].iter().all(|s| s[1] > -0.01),
                "frame {f}: a foot under the floor: {:?}",
                soles[f]
            );
        }
    }

    /// A foot pinned 8 cm from where its leg puts it (here above: the body is 8 cm low, and a
    /// straight leg cannot reach further down) lets go of the pin at 30 cm/s on average (45 at
    /// the fastest) as it lifts, and comes onto the floor as gently: in 0.07 s (two frames at
    /// 30 fps) it moved 2.7 cm a frame from standing still (pose2sim cam01's foot at 60 fps rose
    /// 2.2 cm).
    #[test]
    fn a_pin_comes_on_and_goes_no_faster_than_a_foot_eases() {
        let left = pinned_left_sole(|f| (10..30).contains(&f));
        // 30 cm/s at 30 fps on average, 1.5 times that in the middle of a smoothstep, and a
        // little for the leg's arithmetic.
        let max_step = 1.55;
        for f in 1..left.len() {
            let step = (left[f] - left[f - 1]).abs();
            assert!(
                step <= max_step,
                "frame {f}: {step} cm in a frame: {left:?}"
            );
        }
        assert!(
            left[29].abs() < 0.05,
            "on the floor by the run's end: {left:?}"
        );
        assert!(
            (left[9] + 8.0).abs() < 0.05 && (left[59] + 8.0).abs() < 0.05,
            "{left:?}"
        );
    }

    /// A release that the next landing cuts to three frames goes in even steps (2 cm a frame of
    /// the 8): a smoothstep squeezed into them moved the foot 2.75 cm in its middle frames.
    #[test]
    fn a_release_cut_short_by_the_next_landing_goes_in_even_steps() {
        let left = pinned_left_sole(|f| (10..30).contains(&f) || (33..50).contains(&f));
        for f in 31..=33 {
            let step = (left[f] - left[f - 1]).abs();
            assert!(step <= 2.05, "frame {f}: {step} cm in a frame: {left:?}");
        }
    }

    /// The left sole's height per frame after [`pin_planted_feet`] pins the left foot in the
    /// frames where `planted` (60 frames at 30 fps), the body standing 8 cm low.
    fn pinned_left_sole(planted: impl Fn(usize) -> bool) -> Vec<f32> {
        let n = 60;
        let mut anim = standing(n, |_| 8.0);
        let left_planted: Vec<[bool; 2]> = (0..n).map(|f| [planted(f), false]).collect();
        let times: Vec<f64> = (0..n).map(|f| f as f64 / 30.0).collect();
        let footing = Footing {
            times: &times,
            feet_seen: &vec![[true; 2]; n],
            feet_out_of_view: &vec![[false; 2]; n],
            knees_seen: &vec![[false; 2]; n],
            heel_local: example_heels(),
            leg_len: example_leg_len(),
        };
        pin_planted_feet(&mut anim, &footing, &left_planted);
        sole_points(&anim, example_heels())
            .iter()
            .map(|s| s[0][1])
            .collect()
    }

    /// `n` frames of two flat feet 20 cm long along Z, [left, right], their heels where `heels`
    /// puts them in each frame.
    fn flat_feet(n: usize, heels: impl Fn(usize) -> [Vec3; 2]) -> Vec<[FootEnds; 2]> {
        (0..n)
            .map(|f| heels(f).map(|h| [h, [h[0], h[1], h[2] + 20.0]]))
            .collect()
    }

    /// Feet standing still at heights `left` and `right` (cm) per frame, flat, 20 cm apart, at
    /// 30 fps, the hips 90 cm up; the contacts found with an 80 cm leg.
    fn contacts_of_feet_at(n: usize, heights: impl Fn(usize) -> [f32; 2]) -> Vec<[bool; 2]> {
        contacts_of_feet_under_hips_at(90.0, n, heights)
    }

    /// [`contacts_of_feet_at`] with the hips `hips` cm up.
    fn contacts_of_feet_under_hips_at(
        hips: f32,
        n: usize,
        heights: impl Fn(usize) -> [f32; 2],
    ) -> Vec<[bool; 2]> {
        let feet = flat_feet(n, |f| {
            let [l, r] = heights(f);
            [[0.0, l, 0.0], [20.0, r, 0.0]]
        });
        let times: Vec<f64> = (0..n).map(|f| f as f64 / 30.0).collect();
        detect_contacts(&feet, &vec![hips; n], &times, 0.0, 80.0)
    }

    /// A foot that holds still above the contact height (9.6 cm here) is what the body stands
    /// on, the other foot lifted: the dance clip's first half second, whose misjudged distance
    /// floated the whole body 10 cm above the floor.
    #[test]
    fn a_foot_held_still_above_the_floor_is_stood_on() {
        let contacts = contacts_of_feet_at(20, |f| [15.0 + 0.1 * f as f32, 30.0]);
        assert!(contacts.iter().all(|c| c[0] && !c[1]), "{contacts:?}");
    }

    /// Feet held still above the floor by a person seated on a high stool (the hips 45 cm above
    /// them, under 0.7 of the leg) are not stood on: the body does not stand on them.
    #[test]
    fn feet_dangling_from_a_seat_are_not_stood_on() {
        let contacts = contacts_of_feet_under_hips_at(60.0, 20, |_| [15.0, 17.0]);
        assert!(contacts.iter().all(|c| !c[0] && !c[1]), "{contacts:?}");
    }

    /// The top of a hop filmed in slow motion holds as still as a standing foot, but the foot
    /// rose into it and falls out of it: it is not stood on.
    #[test]
    fn the_top_of_a_slow_motion_hop_is_not_stood_on() {
        let left = |f: usize| match f {
            0..10 => 0.0,
            10..15 => 4.0 * (f - 9) as f32,
            15..28 => 20.0 + 0.05 * (f - 15) as f32,
            28..33 => 20.0 - 4.0 * (f - 27) as f32,
            _ => 0.0,
        };
        let contacts = contacts_of_feet_at(45, |f| [left(f), left(f) + 10.0]);
        let at_the_top: Vec<usize> = (15..28).filter(|&f| contacts[f][0]).collect();
        assert!(at_the_top.is_empty(), "stood on at the top: {at_the_top:?}");
        assert!(contacts[5][0] && contacts[40][0], "{contacts:?}");
    }

    /// A foot far under the floor for one frame is lifted onto it in that frame alone: eased
    /// with the clearance, at 10 fps a foot 30 cm under lifted the frames beside it 42 cm.
    #[test]
    fn a_foot_s_dip_under_the_floor_lifts_only_its_own_frame() {
        let n = 12;
        let feet = flat_feet(n, |f| {
            let (x, y) = (15.0 * f as f32, if f == 6 { -30.0 } else { 0.0 });
            [[x, y, 0.0], [x, 0.0, 40.0]]
        });
        let times: Vec<f64> = (0..n).map(|f| f as f64 / 10.0).collect();
        let lifts = swing_lifts(&feet, (&times, 10.0), &vec![[false; 2]; n], 80.0);
        let full = SWING_CLEARANCE * 80.0;
        assert!((lifts[6][0] - 30.0 - full).abs() < 0.01, "{lifts:?}");
        assert!(
            lifts
                .iter()
                .enumerate()
                .all(|(f, l)| f == 6 || l[0] <= full + 0.01),
            "{lifts:?}"
        );
    }

    /// A foot held up still while the other stands on the floor is lifted, not stood on.
    #[test]
    fn a_foot_held_up_beside_a_planted_one_is_not_planted() {
        let contacts = contacts_of_feet_at(20, |_| [0.0, 15.0]);
        assert!(contacts.iter().all(|c| c[0] && !c[1]), "{contacts:?}");
    }

    /// A body in the air is not standing: feet rise and fall 30 cm through half a second, no
    /// stretch of which holds still, though the top of the jump is slow.
    #[test]
    fn feet_in_flight_are_not_planted() {
        let flight = |f: usize| {
            let t = (f as f32 / 30.0 - 0.5).clamp(0.0, 0.5);
            let y = 245.0 * t - 0.5 * 981.0 * t * t;
            [y, y]
        };
        let contacts = contacts_of_feet_at(45, flight);
        let in_the_air: Vec<usize> = (0..45)
            .filter(|&f| flight(f)[0] > 9.6 && (contacts[f][0] || contacts[f][1]))
            .collect();
        assert!(
            in_the_air.is_empty(),
            "planted high in the air: {in_the_air:?}"
        );
        assert!(contacts[5][0] && contacts[40][0], "{contacts:?}");
    }

    /// A foot sweeping across the floor passes over it; standing, or near where it stands, it
    /// does not: lifting or landing, it meets the floor where its pin holds it.
    #[test]
    fn a_swinging_foot_clears_the_floor_and_a_standing_one_does_not() {
        // The left foot stands for 10 frames, then swings at 150 cm/s for 20; the right foot
        // creeps at 15 cm/s throughout, 3 cm under the floor. 30 fps, an 80 cm leg.
        let n = 30;
        let feet = flat_feet(n, |f| {
            let x = 5.0 * f.saturating_sub(10) as f32;
            [[x, 0.0, 0.0], [30.0 + 0.5 * f as f32, -3.0, 0.0]]
        });
        let times: Vec<f64> = (0..n).map(|f| f as f64 / 30.0).collect();
        let contacts: Vec<[bool; 2]> = (0..n).map(|f| [f < 10, false]).collect();
        let lifts = swing_lifts(&feet, (&times, 30.0), &contacts, 80.0);
        let full = SWING_CLEARANCE * 80.0;
        assert!(lifts[..10].iter().all(|l| l[0] == 0.0), "{lifts:?}");
        assert!(lifts[10][0] < 0.5 * full, "{lifts:?}");
        assert!(
            lifts[16..28].iter().all(|l| (l[0] - full).abs() < 0.01),
            "{lifts:?}"
        );
        assert!(lifts.iter().all(|l| (l[1] - 3.0).abs() < 0.01), "{lifts:?}");
        let steps = lifts.windows(2).map(|w| (w[1][0] - w[0][0]).abs());
        assert!(steps.fold(0.0, f32::max) < 0.5 * full, "{lifts:?}");
    }

    #[test]
    fn a_foot_taking_off_straight_up_is_not_planted() {
        // Both feet still for 10 frames at 30 fps, then rising 5 cm a frame (1.5 m/s), within
        // the height a planted foot may have for the first frame.
        let feet: Vec<[FootEnds; 2]> = (0..20)
            .map(|f: usize| {
                let y = 5.0 * f.saturating_sub(10) as f32;
                [
                    [[0.0, y, 0.0], [0.0, y, 20.0]],
                    [[20.0, y, 0.0], [20.0, y, 20.0]],
                ]
            })
            .collect();
        let times: Vec<f64> = (0..20).map(|f| f as f64 / 30.0).collect();
        let contacts = detect_contacts(&feet, &vec![90.0; feet.len()], &times, 0.0, 80.0);
        let planted: Vec<usize> = (0..20).filter(|&f| contacts[f][0]).collect();
        assert_eq!(planted, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn a_flat_foot_whose_lowest_end_flickers_stays_planted() {
        // Both feet still and flat, heel and toe tip level within 2 mm, the lower of the two
        // changing every third frame: as one point, it jumped 20 cm at each change.
        let feet: Vec<[FootEnds; 2]> = (0..30)
            .map(|f: usize| {
                let (heel, tip) = if (f / 3).is_multiple_of(2) {
                    (0.0, 0.2)
                } else {
                    (0.2, 0.0)
                };
                [
                    [[0.0, heel, 0.0], [0.0, tip, 20.0]],
                    [[20.0, heel, 0.0], [20.0, tip, 20.0]],
                ]
            })
            .collect();
        let times: Vec<f64> = (0..30).map(|f| f as f64 / 30.0).collect();
        let contacts = detect_contacts(&feet, &vec![90.0; feet.len()], &times, 0.0, 80.0);
        assert!(contacts.iter().all(|c| c[0] && c[1]), "{contacts:?}");
    }

    /// The frames of foot 0 still planted after [`remove_short_runs`], at `fps`, of a clip of
    /// `n` frames with foot 0 planted over each of `runs`.
    fn kept_contacts(fps: f64, n: usize, runs: &[std::ops::Range<usize>]) -> Vec<usize> {
        let times: Vec<f64> = (0..n).map(|f| f as f64 / fps).collect();
        let mut c = vec![[false; 2]; n];
        for f in runs.iter().cloned().flatten() {
            c[f][0] = true;
        }
        remove_short_runs(&mut c, &times, 0);
        (0..n).filter(|&f| c[f][0]).collect()
    }

    #[test]
    fn the_shortest_contact_is_a_time_whatever_the_frame_rate() {
        // 60 fps: five frames (83 ms) are a foot passing low, six (100 ms) a contact; three
        // frames were the limit at any rate.
        assert_eq!(
            kept_contacts(60.0, 40, &[2..7, 20..26]),
            (20..26).collect::<Vec<_>>()
        );
        // 30 fps: as before, two frames are dropped and three kept, at the clip's ends too.
        assert_eq!(
            kept_contacts(30.0, 20, &[0..2, 8..11, 17..20]),
            [8, 9, 10, 17, 18, 19]
        );
        // 15 fps: two frames (133 ms) are a contact; one low frame alone is not.
        assert_eq!(kept_contacts(15.0, 20, &[3..4, 10..12]), [10, 11]);
    }

    #[test]
    fn a_foot_creeping_while_low_and_slow_steps_away_now_and_then() {
        // The left foot low and moving 1 cm a frame at 10 fps (10 cm/s, slow enough to count as
        // planted) for 100 frames; the right foot still. With a leg 80 cm long, a contact ends
        // at the frame before the foot is more than 24 cm from where the contact began.
        let feet: Vec<[FootEnds; 2]> = (0..100)
            .map(|f: usize| {
                let x = f as f32;
                [
                    [[x, 0.0, 0.0], [x, 0.0, 20.0]],
                    [[40.0, 0.0, 0.0], [40.0, 0.0, 20.0]],
                ]
            })
            .collect();
        let times: Vec<f64> = (0..100).map(|f| f as f64 / 10.0).collect();
        let contacts = detect_contacts(&feet, &vec![90.0; feet.len()], &times, 0.0, 80.0);
        let ended: Vec<usize> = (0..100).filter(|&f| !contacts[f][0]).collect();
        assert_eq!(ended, [24, 49, 74]);
        assert!(contacts.iter().all(|c| c[1]));
    }

    /// The left foot of `anim` turned `deg` about its own X axis in frame `f` (positive: heel
    /// up, toes down).
    fn turn_left_foot(anim: &mut Animation, f: usize, deg: f32) {
        let turn = Quat::from_axis_angle([1.0, 0.0, 0.0], deg.to_radians());
        let rotations = &mut anim.frames[f].rotations;
        rotations[J::LEFT_FOOT] = (rotations[J::LEFT_FOOT] * turn).normalized();
    }

    #[test]
    fn a_planted_foot_rocking_on_its_sole_stays_put_and_one_rolling_turns_about_its_toes() {
        // 20 frames flat, rocking ±0.5° (heel and toe tip take turns being the lower by 2 mm,
        // the heel first), then 15 frames rolling onto the toes, 2° more a frame.
        let n = 35;
        let mut anim = standing(n, |_| 0.0);
        for f in 0..n {
            let deg = if f < 20 {
                if f.is_multiple_of(2) { -0.5 } else { 0.5 }
            } else {
                2.0 * (f - 19) as f32
            };
            turn_left_foot(&mut anim, f, deg);
        }
        let heel = example_heels();
        let rolled = foot_ends(&anim, heel)[n - 1][0];
        assert!(
            rolled[0][1] > rolled[1][1] + 5.0,
            "the heel is up: {rolled:?}"
        );
        let contacts = ground_at_30_fps(&mut anim, true);
        assert!(contacts.iter().all(|c| c[0]), "{contacts:?}");
        let feet = foot_ends(&anim, heel);
        let first = feet[0][0];
        assert!(
            first[0][1] < first[1][1],
            "the heel is the lower end at first"
        );
        // Pinned by whichever end was lower, the foot jumped its length from frame to frame.
        for f in 1..20 {
            let moved = dist_across(feet[f][0][0], feet[0][0][0]);
            assert!(moved < 0.2, "frame {f}: the heel moved {moved} cm");
        }
        // Once the heel is clearly up, the foot turns about its toes, which stay put (held by
        // the heel still, they slid back 3 cm as the foot turned).
        let rolled_from = (20..n)
            .find(|&f| feet[f][0][0][1] > feet[f][0][1][1] + ROLL_CM)
            .expect("the heel rises");
        for f in rolled_from + 1..n {
            let moved = dist_across(feet[f][0][1], feet[rolled_from][0][1]);
            assert!(moved < 0.2, "frame {f}: the toes moved {moved} cm");
        }
    }

    #[test]
    fn a_closing_fills_narrow_dips_and_keeps_steps() {
        let values = [
            0.0, 0.0, 5.0, 5.0, 1.0, 1.0, 5.0, 5.0, 9.0, 9.0, 9.0, 9.0, 2.0,
        ];
        assert_eq!(
            closing(&values, 1),
            [
                0.0, 0.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 9.0, 9.0, 9.0, 9.0, 2.0
            ]
        );
    }

    /// Soles of `n` frames, both feet at height `y`.
    fn soles_at(y: f32, n: usize) -> Vec<[Vec3; 2]> {
        vec![[[0.0, y, 0.0], [10.0, y, 0.0]]; n]
    }

    #[test]
    fn the_floor_comes_from_frames_where_a_foot_was_seen() {
        // A spurious start (feet invented far below) for 40 % of the clip, then the person,
        // feet in view, 90 cm higher.
        let mut soles = soles_at(-90.0, 40);
        soles.extend(soles_at(0.0, 60));
        let mut seen = vec![[false; 2]; 40];
        seen.extend(vec![[true, false]; 60]);
        assert_eq!(floor_of_seen_feet(&soles, &seen), Some(0.0));
        // Without the visibility the invented feet would set the floor.
        assert_eq!(floor_of_seen_feet(&soles, &[[true; 2]; 100]), Some(-90.0));
        // A few wrong frames among seen ones stay below the quartile.
        let mut soles = soles_at(-90.0, 15);
        soles.extend(soles_at(0.0, 85));
        assert_eq!(floor_of_seen_feet(&soles, &[[true; 2]; 100]), Some(0.0));
    }

    #[test]
    fn feet_rarely_seen_do_not_set_the_floor() {
        let soles = soles_at(0.0, 100);
        let mut seen = vec![[false; 2]; 100];
        // Fewer seen frames than a tenth of the clip say too little.
        for s in &mut seen[40..48] {
            *s = [true; 2];
        }
        assert_eq!(floor_of_seen_feet(&soles, &seen), None);
        for s in &mut seen[48..50] {
            *s = [true; 2];
        }
        assert_eq!(floor_of_seen_feet(&soles, &seen), Some(0.0));
    }
}
