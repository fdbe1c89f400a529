//! Facing flips: for a few frames the pose model can take a person who faces the camera for one
//! who faces away (or the reverse). It then labels the left side as the right and turns its 3D
//! guess round with it (the synthetic walk, frames 45–52: the shoulders' image positions
//! exchanged, the body turned about 110°). Smoothing cannot repair that; it would blend the
//! two labellings into a body twisted about itself.
//!
//! A person cannot turn round and back within half a second, and cannot turn round at all in a
//! tenth of one. So a short stretch whose facing is opposite to the frames on both sides, entered
//! and left that abruptly, is the model's mistake, and its frames count as frames without a
//! person (the solve fills them from their neighbours). So is a short first or last stretch of a
//! track, opposite to the rest of it, where the model's 3D guess jumps round (a person coming
//! into view at the frame's edge, only head and shoulders in it). The model's 3D guess must turn
//! with the labels, and jump doing so (faster than 800° a second, beyond a pirouette): a real
//! turn, even a quick one away and back, turns slower and is kept. A clip that alternates (the
//! model unsure for a whole passage) is left as it is, since neither labelling is then the clear
//! majority. Below about 8 frames a second no flip can be told from a turn, and none is dropped
//! inside a track.

use super::rig::lm::{LEFT_HIP, LEFT_SHOULDER, RIGHT_HIP, RIGHT_SHOULDER};
use crate::types::{Pose, PoseFrame};

/// How far apart (torso lengths, mean of shoulders and hips) the left and right landmarks must
/// lie across the image for the body to face one way clearly; closer is side-on, either way.
const SIDE_ON: f32 = 0.2;
/// The longest time in which a facing can turn into the opposite one and count as a flip.
const FLIP_US: i64 = 120_000;
/// The longest stretch (from the last frame facing one way to the first facing it again).
const EXCURSION_US: i64 = 500_000;
/// The facing on each side must have lasted at least this long, and half the excursion: a
/// stretch between two short ones is part of an alternation, not an exception to a rule.
const FLANK_US: i64 = 150_000;
/// The model's own 3D guess must have turned with its labels by more than this (degrees).
const HEADING_TURN_DEG: f32 = 60.0;
/// Going into the flip and out of it, the 3D guess must turn faster than this somewhere
/// (degrees a second): faster than a dancer's pirouette (about 720), so a real quick turn, and
/// a turn away and back, are kept.
const JUMP_DEG_PER_S: f32 = 800.0;
/// The person out of sight for longer than this starts a new track (a missed detection or two
/// does not).
const TRACK_GAP_US: i64 = 250_000;
/// The longest first or last run of a track that can be a flip, and the longest time between
/// it and the opposite facing beside it (a missed detection between them allowed).
const EDGE_US: i64 = 200_000;
const EDGE_FLIP_US: i64 = 250_000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Facing {
    /// The left landmarks lie right of the right ones in the image (a person facing the camera).
    Toward,
    Away,
}

/// A maximal run of frames with the same clear facing (side-on frames and a missed detection
/// inside do not break it).
struct Run {
    facing: Facing,
    first: usize,
    last: usize,
    /// The person was out of sight for a while before this run (or the clip starts with it).
    starts_track: bool,
}

/// The frames with short facing flips removed (set to no person).
pub fn drop_facing_flips(frames: &[PoseFrame], width: u32, height: u32) -> Vec<PoseFrame> {
    let runs = runs(frames, width, height);
    let mut out = frames.to_vec();
    let mut drop = |range: std::ops::Range<usize>| {
        for f in &mut out[range] {
            f.pose = None;
        }
    };
    for w in runs.windows(3) {
        let (before, flip, after) = (&w[0], &w[1], &w[2]);
        if !flip.starts_track && !after.starts_track && is_flip(frames, before, flip, after) {
            drop(before.last + 1..after.first);
        }
    }
    for (i, run) in runs.iter().enumerate() {
        // The next run of the same track, if any.
        let next = runs.get(i + 1).filter(|n| !n.starts_track);
        if run.starts_track {
            if let Some(next) = next
                && is_edge_flip(frames, run, next)
            {
                drop(run.first..next.first);
            }
        } else if let Some(previous) = i.checked_sub(1).map(|p| &runs[p])
            && next.is_none()
            && is_edge_flip(frames, run, previous)
        {
            drop(previous.last + 1..run.last + 1);
        }
    }
    out
}

fn is_flip(frames: &[PoseFrame], before: &Run, flip: &Run, after: &Run) -> bool {
    let t = |i: usize| frames[i].t_us;
    let excursion = t(after.first) - t(before.last);
    before.facing == after.facing
        && flip.facing != before.facing
        && t(flip.first) - t(before.last) <= FLIP_US
        && t(after.first) - t(flip.last) <= FLIP_US
        && excursion <= EXCURSION_US
        && duration(frames, before).min(duration(frames, after)) >= FLANK_US.max(excursion / 2)
        && model_turned_away(frames, flip, before.last, after.first)
        && jumped(frames, before.last..=flip.first)
        && jumped(frames, flip.last..=after.first)
}

/// Whether `edge`, the first or last run of a track, is a flip: short, opposite to the run
/// beside it (`rest`, which lasts), and with the model's 3D guess jumping round between them.
/// A person coming into view at the frame's edge, only head and shoulders in it, is easily taken
/// for one facing the other way (the walk-in clip's frame 15).
fn is_edge_flip(frames: &[PoseFrame], edge: &Run, rest: &Run) -> bool {
    let t = |i: usize| frames[i].t_us;
    // The frames of each run next to the change of facing, and the edge's far end.
    let (edge_near, rest_near, edge_far) = if rest.first > edge.last {
        (edge.last, rest.first, edge.first)
    } else {
        (edge.first, rest.last, edge.last)
    };
    let (near_range, far_range) = if edge_near < rest_near {
        (edge_near..=rest_near, edge_far..=rest_near)
    } else {
        (rest_near..=edge_near, rest_near..=edge_far)
    };
    edge.facing != rest.facing
        && duration(frames, edge) <= EDGE_US
        && t(edge_near).abs_diff(t(rest_near)) as i64 <= EDGE_FLIP_US
        && duration(frames, rest)
            >= FLANK_US.max(2 * t(*far_range.start()).abs_diff(t(*far_range.end())) as i64)
        && model_turned_away(frames, edge, rest_near, rest_near)
        && jumped(frames, near_range)
}

/// Time from a run's first frame to its last.
fn duration(frames: &[PoseFrame], run: &Run) -> i64 {
    frames[run.last].t_us - frames[run.first].t_us
}

/// Whether the model's 3D guess inside `flip` faces otherwise (by its median heading) than in
/// the frames `before` and `after` it.
fn model_turned_away(frames: &[PoseFrame], flip: &Run, before: usize, after: usize) -> bool {
    let inside = headings(frames, flip.first..=flip.last);
    let outside = |i: usize| headings(frames, i..=i).first().copied();
    let (Some(h_inside), Some(h_before), Some(h_after)) =
        (circular_median(&inside), outside(before), outside(after))
    else {
        return false;
    };
    angle_between(h_inside, h_before) > HEADING_TURN_DEG
        && angle_between(h_inside, h_after) > HEADING_TURN_DEG
}

/// Whether the model's 3D guess turns faster than a body can between two consecutive frames
/// with a pose in `range`.
fn jumped(frames: &[PoseFrame], range: std::ops::RangeInclusive<usize>) -> bool {
    let posed: Vec<(i64, f32)> = frames[range]
        .iter()
        .filter_map(|f| f.pose.as_ref().map(|p| (f.t_us, world_heading_deg(p))))
        .collect();
    posed.windows(2).any(|w| {
        let dt_s = (w[1].0 - w[0].0).max(1) as f32 / 1e6;
        signed_turn(w[0].1, w[1].1).abs() / dt_s > JUMP_DEG_PER_S
    })
}

/// The model's world heading in each frame of `range` that has a pose.
fn headings(frames: &[PoseFrame], range: std::ops::RangeInclusive<usize>) -> Vec<f32> {
    frames[range]
        .iter()
        .filter_map(|f| f.pose.as_ref().map(world_heading_deg))
        .collect()
}

/// The heading among `headings` closest to all the others (None if empty).
fn circular_median(headings: &[f32]) -> Option<f32> {
    let spread = |c: f32| headings.iter().map(|&h| angle_between(c, h)).sum::<f32>();
    headings
        .iter()
        .map(|&h| (h, spread(h)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(h, _)| h)
}

/// The turn from heading `a` to `b` the short way round, degrees in -180..180.
fn signed_turn(a_deg: f32, b_deg: f32) -> f32 {
    (b_deg - a_deg + 180.0).rem_euclid(360.0) - 180.0
}

/// Direction (degrees about the vertical) of the body's left-to-right axis in world space.
fn world_heading_deg(pose: &Pose) -> f32 {
    let w = &pose.world;
    let x = (w[RIGHT_HIP].x - w[LEFT_HIP].x) + (w[RIGHT_SHOULDER].x - w[LEFT_SHOULDER].x);
    let z = (w[RIGHT_HIP].z - w[LEFT_HIP].z) + (w[RIGHT_SHOULDER].z - w[LEFT_SHOULDER].z);
    z.atan2(x).to_degrees()
}

/// The angle between two headings, degrees in 0..=180.
fn angle_between(a_deg: f32, b_deg: f32) -> f32 {
    let d = (a_deg - b_deg).rem_euclid(360.0);
    d.min(360.0 - d)
}

/// The clear facing of a pose in the image, if it is not side-on.
fn facing(pose: &Pose, width: u32, height: u32) -> Option<Facing> {
    let (w, h) = (width as f32, height as f32);
    let px = |k: usize| [pose.image[k].x * w, pose.image[k].y * h];
    let mid = |a: [f32; 2], b: [f32; 2]| [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0];
    let shoulders = mid(px(LEFT_SHOULDER), px(RIGHT_SHOULDER));
    let hips = mid(px(LEFT_HIP), px(RIGHT_HIP));
    let torso = (shoulders[0] - hips[0])
        .hypot(shoulders[1] - hips[1])
        .max(1.0);
    let across = (px(LEFT_SHOULDER)[0] - px(RIGHT_SHOULDER)[0] + px(LEFT_HIP)[0]
        - px(RIGHT_HIP)[0])
        / 2.0
        / torso;
    if across > SIDE_ON {
        Some(Facing::Toward)
    } else if across < -SIDE_ON {
        Some(Facing::Away)
    } else {
        None
    }
}

fn runs(frames: &[PoseFrame], width: u32, height: u32) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    let mut last_seen_us: Option<i64> = None;
    // Whether the track started since the last run (its first frames may be side-on).
    let mut new_track = false;
    for (i, frame) in frames.iter().enumerate() {
        let Some(pose) = &frame.pose else { continue };
        new_track |= last_seen_us.is_none_or(|t| frame.t_us - t > TRACK_GAP_US);
        last_seen_us = Some(frame.t_us);
        let Some(facing) = facing(pose, width, height) else {
            continue;
        };
        match runs.last_mut() {
            Some(run) if run.facing == facing && !new_track => run.last = i,
            _ => runs.push(Run {
                facing,
                first: i,
                last: i,
                starts_track: new_track,
            }),
        }
        new_track = false;
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Landmark, NUM_LANDMARKS};

    const FPS: i64 = 30;

    /// A torso in a 100×100 image turned `heading_deg` about the vertical from facing the
    /// camera (0°: its left side on the image's right), with world landmarks to match.
    fn torso(heading_deg: f32) -> Pose {
        let (s, c) = heading_deg.to_radians().sin_cos();
        let mut pose = Pose {
            image: [Landmark::default(); NUM_LANDMARKS],
            world: [Landmark::default(); NUM_LANDMARKS],
        };
        for (k, side, y) in [
            (LEFT_SHOULDER, 1.0, 0.3),
            (RIGHT_SHOULDER, -1.0, 0.3),
            (LEFT_HIP, 1.0, 0.7),
            (RIGHT_HIP, -1.0, 0.7),
        ] {
            // Half-width 0.15 (shoulders and hips alike) on a torso 0.4 long.
            let (x, z) = (0.15 * side * c, 0.15 * side * s);
            pose.image[k] = Landmark {
                x: 0.5 + x,
                y,
                z,
                visibility: 1.0,
                presence: 1.0,
            };
            pose.world[k] = Landmark {
                x,
                y: y - 0.5,
                z,
                visibility: 1.0,
                presence: 1.0,
            };
        }
        pose
    }

    /// Left and right exchanged, as the model does when it takes the front for the back.
    fn mirrored(mut pose: Pose) -> Pose {
        pose.image.swap(LEFT_SHOULDER, RIGHT_SHOULDER);
        pose.image.swap(LEFT_HIP, RIGHT_HIP);
        pose.world.swap(LEFT_SHOULDER, RIGHT_SHOULDER);
        pose.world.swap(LEFT_HIP, RIGHT_HIP);
        pose
    }

    fn clip(poses: Vec<Option<Pose>>) -> Vec<PoseFrame> {
        poses
            .into_iter()
            .enumerate()
            .map(|(i, pose)| PoseFrame {
                t_us: i as i64 * 1_000_000 / FPS,
                pose,
            })
            .collect()
    }

    fn dropped(frames: &[PoseFrame]) -> Vec<usize> {
        let out = drop_facing_flips(frames, 100, 100);
        (0..frames.len())
            .filter(|&i| frames[i].pose.is_some() && out[i].pose.is_none())
            .collect()
    }

    #[test]
    fn a_short_flip_is_dropped() {
        let poses = (0..60)
            .map(|i| {
                let p = torso(10.0);
                Some(if (45..53).contains(&i) {
                    mirrored(p)
                } else {
                    p
                })
            })
            .collect();
        assert_eq!(dropped(&clip(poses)), (45..53).collect::<Vec<_>>());
    }

    #[test]
    fn a_flip_through_a_side_on_frame_is_dropped_with_it() {
        let poses = (0..40)
            .map(|i| {
                Some(match i {
                    19 => torso(85.0),
                    20..=25 => mirrored(torso(0.0)),
                    _ => torso(0.0),
                })
            })
            .collect();
        assert_eq!(dropped(&clip(poses)), (19..26).collect::<Vec<_>>());
    }

    #[test]
    fn real_turns_are_kept() {
        // Round in 0.6 s and staying round; then a full spin in 0.5 s (15 frames, 24° a frame).
        let turn = (0..60).map(|i| Some(torso((i as f32 - 20.0).clamp(0.0, 18.0) * 10.0)));
        assert!(dropped(&clip(turn.collect())).is_empty());
        let spin = (0..60).map(|i| Some(torso((i as f32 - 20.0).clamp(0.0, 15.0) * 24.0)));
        assert!(dropped(&clip(spin.collect())).is_empty());
        // Round in 0.25 s (720 degrees a second), a beat facing away, and back as quickly.
        let away_and_back = (0..60).map(|i| {
            let i = i as f32;
            let out = ((i - 20.0) * 24.0).clamp(0.0, 180.0);
            let back = ((i - 32.0) * 24.0).clamp(0.0, 180.0);
            Some(torso(out - back))
        });
        assert!(dropped(&clip(away_and_back.collect())).is_empty());
    }

    #[test]
    fn a_long_or_alternating_passage_is_kept() {
        // Flipped for 0.7 s: longer than anyone's mistake we can tell from a turn.
        let long = (0..80).map(|i| {
            let p = torso(0.0);
            Some(if (30..51).contains(&i) {
                mirrored(p)
            } else {
                p
            })
        });
        assert!(dropped(&clip(long.collect())).is_empty());
        // Alternating every 3 frames: neither labelling is the rule.
        let alternating = (0..60).map(|i| {
            let p = torso(0.0);
            Some(if (i / 3) % 2 == 1 { mirrored(p) } else { p })
        });
        assert!(dropped(&clip(alternating.collect())).is_empty());
    }

    #[test]
    fn a_flip_the_model_did_not_turn_with_is_kept() {
        // Image labels exchanged, but the 3D guess kept facing the same way: not this mistake.
        let poses = (0..60)
            .map(|i| {
                let p = torso(0.0);
                Some(if (45..53).contains(&i) {
                    Pose {
                        image: mirrored(p.clone()).image,
                        world: p.world,
                    }
                } else {
                    p
                })
            })
            .collect();
        assert!(dropped(&clip(poses)).is_empty());
    }

    #[test]
    fn a_flip_at_the_start_of_a_track_is_dropped_a_turn_is_not() {
        // No person for 0.5 s, then a flipped 0.17 s, then the rest.
        let flipped = (0..60).map(|i| match i {
            0..15 => None,
            15..21 => Some(mirrored(torso(0.0))),
            _ => Some(torso(0.0)),
        });
        assert_eq!(
            dropped(&clip(flipped.collect())),
            (15..21).collect::<Vec<_>>()
        );
        // Coming into view facing away and turning round at 450 degrees a second.
        let turning = (0..60).map(|i| match i {
            0..15 => None,
            _ => Some(torso((150.0 - (i - 15) as f32 * 15.0).max(0.0))),
        });
        assert!(dropped(&clip(turning.collect())).is_empty());
    }
}
