//! Who the performer is. The pose model sometimes tracks a small object as a person (a table, a
//! poster) before or after the real performer, and with two people in view it can jump from one
//! to the other and back (the sports2d clip: from the woman walking across to the man doing
//! parkour). Followed, either would become part of the motion: a skeleton lying on its side, the
//! root teleporting metres, the body turning round within a frame. The clip is cut where the
//! tracked body changes size or place abruptly; the performer's stretches are the group that
//! continue one another (where a person could have walked in the time between) with the most
//! presence on screen (frames times size). A stretch of anyone else, or of a body a fraction of
//! the performer's size, counts as frames without a person (the solve fills them from the
//! performer's). Anyone else, that is, where the performer is most of the clip: in a crowd,
//! where the tracker hops from person to person, all of them stay.

use super::rig::lm::{LEFT_HIP, LEFT_SHOULDER, RIGHT_HIP, RIGHT_SHOULDER};
use crate::types::PoseFrame;

/// Consecutive tracked bodies whose torso lengths differ by more than this factor are not the
/// same body.
const SIZE_JUMP: f32 = 2.5;
/// Nor are bodies whose hip centres lie further apart than this many torso lengths (the larger
/// one), plus what a person can walk in the time between them.
const PLACE_JUMP_TORSOS: f32 = 1.5;
const WALK_TORSOS_PER_S: f32 = 3.0;
/// A stretch whose median torso is smaller than this fraction of the main stretch's is dropped.
const SMALLER_THAN_MAIN: f32 = 1.0 / 3.0;

/// One tracked body through consecutive frames: its frame indices and median torso length.
struct Stretch {
    frames: Vec<usize>,
    torso_px: f32,
}

/// The frames with every pose that is not the performer's removed (set to no person).
pub fn performer_only(frames: &[PoseFrame], width: u32, height: u32) -> Vec<PoseFrame> {
    let bodies: Vec<Option<Body>> = frames
        .iter()
        .map(|f| f.pose.as_ref().map(|p| Body::of(p, width, height)))
        .collect();
    let stretches = stretches(frames, &bodies);
    let Some((main, mut performer)) = main_performer(frames, &bodies, &stretches) else {
        return frames.to_vec();
    };
    let main_torso_px = stretches[main].torso_px;
    let full_size = |s: &Stretch| s.torso_px >= SMALLER_THAN_MAIN * main_torso_px;
    // In a crowd the tracker hops between many people and none of them is most of the clip:
    // there is no one performer to keep, and everyone's frames stay (better a motion that jumps
    // than none at all).
    let frames_of = |keep: &dyn Fn(usize) -> bool| -> usize {
        (0..stretches.len())
            .filter(|&k| keep(k) && full_size(&stretches[k]))
            .map(|k| stretches[k].frames.len())
            .sum()
    };
    if 2 * frames_of(&|k| performer[k]) < frames_of(&|_| true) {
        performer = vec![true; stretches.len()];
    }
    let mut out = frames.to_vec();
    for (s, is_performer) in stretches.iter().zip(performer) {
        if !is_performer || !full_size(s) {
            for &i in &s.frames {
                out[i].pose = None;
            }
        }
    }
    out
}

/// The performer's main stretch and, per stretch, whether it is theirs: of the groups of
/// stretches that continue one another, the one with the most presence on screen (frames times
/// torso length), so that neither a poster tracked for long nor someone passing by for a while
/// wins over the performer. `None` without stretches.
fn main_performer(
    frames: &[PoseFrame],
    bodies: &[Option<Body>],
    stretches: &[Stretch],
) -> Option<(usize, Vec<bool>)> {
    let presence = |k: usize| stretches[k].frames.len() as f32 * stretches[k].torso_px;
    // Each candidate costs a pass over the stretches: a clip cut into very many is judged by
    // its most present ones.
    const CANDIDATES: usize = 64;
    let mut candidates: Vec<usize> = (0..stretches.len()).collect();
    candidates.sort_by(|&a, &b| presence(b).total_cmp(&presence(a)));
    candidates.truncate(CANDIDATES);
    candidates
        .into_iter()
        .map(|main| {
            let group = continuing(frames, bodies, stretches, main);
            let total: f32 = (0..stretches.len())
                .filter(|&k| group[k])
                .map(presence)
                .sum();
            (main, group, total)
        })
        .max_by(|a, b| a.2.total_cmp(&b.2))
        .map(|(main, group, _)| (main, group))
}

/// Per stretch: whether it continues the main one, directly or through other such stretches
/// (its first body where the performer's last one before it could have gone, or its last body
/// where the performer's first one after it could have come from).
fn continuing(
    frames: &[PoseFrame],
    bodies: &[Option<Body>],
    stretches: &[Stretch],
    main: usize,
) -> Vec<bool> {
    let body = |i: usize| bodies[i].expect("a stretch holds frames with a body");
    let dt_s = |a: usize, b: usize| (frames[b].t_us - frames[a].t_us).max(0) as f32 / 1e6;
    let mut performer = vec![false; stretches.len()];
    performer[main] = true;
    // Later stretches, against the performer's last frame so far.
    let mut last = *stretches[main]
        .frames
        .last()
        .expect("stretches are not empty");
    for (k, s) in stretches.iter().enumerate().skip(main + 1) {
        let first = s.frames[0];
        if body(last).continues_as(&body(first), dt_s(last, first)) {
            performer[k] = true;
            last = *s.frames.last().expect("stretches are not empty");
        }
    }
    // Earlier stretches, against the performer's first frame so far.
    let mut first = stretches[main].frames[0];
    for (k, s) in stretches.iter().enumerate().take(main).rev() {
        let end = *s.frames.last().expect("stretches are not empty");
        if body(end).continues_as(&body(first), dt_s(end, first)) {
            performer[k] = true;
            first = s.frames[0];
        }
    }
    performer
}

/// Where a tracked body is in the image, pixels.
#[derive(Clone, Copy)]
pub(super) struct Body {
    hips: [f32; 2],
    /// From the hips' midpoint to the shoulders'.
    pub(super) torso_px: f32,
}

impl Body {
    pub(super) fn of(pose: &crate::types::Pose, width: u32, height: u32) -> Body {
        let (w, h) = (width as f32, height as f32);
        let px = |k: usize| [pose.image[k].x * w, pose.image[k].y * h];
        let mid = |a: [f32; 2], b: [f32; 2]| [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0];
        let hips = mid(px(LEFT_HIP), px(RIGHT_HIP));
        let shoulders = mid(px(LEFT_SHOULDER), px(RIGHT_SHOULDER));
        Body {
            hips,
            torso_px: (hips[0] - shoulders[0]).hypot(hips[1] - shoulders[1]),
        }
    }

    /// Whether `next`, `dt_s` later, can be the same body.
    fn continues_as(&self, next: &Body, dt_s: f32) -> bool {
        let (small, large) = if self.torso_px < next.torso_px {
            (self.torso_px, next.torso_px)
        } else {
            (next.torso_px, self.torso_px)
        };
        let moved = (self.hips[0] - next.hips[0]).hypot(self.hips[1] - next.hips[1]);
        large <= SIZE_JUMP * small.max(1.0)
            && moved <= large * (PLACE_JUMP_TORSOS + WALK_TORSOS_PER_S * dt_s)
    }
}

/// Maximal runs of frames whose tracked body continues from one to the next (frames without a
/// person in between do not break a run).
fn stretches(frames: &[PoseFrame], bodies: &[Option<Body>]) -> Vec<Stretch> {
    let mut out: Vec<Stretch> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut last: Option<(usize, Body)> = None;
    for (i, body) in bodies.iter().enumerate() {
        let Some(body) = body else { continue };
        if let Some((j, prev)) = last {
            let dt_s = (frames[i].t_us - frames[j].t_us).max(0) as f32 / 1e6;
            if !prev.continues_as(body, dt_s) {
                out.push(close(std::mem::take(&mut current), bodies));
            }
        }
        current.push(i);
        last = Some((i, *body));
    }
    if !current.is_empty() {
        out.push(close(current, bodies));
    }
    out
}

fn close(frames: Vec<usize>, bodies: &[Option<Body>]) -> Stretch {
    let mut torsos: Vec<f32> = frames
        .iter()
        .filter_map(|&i| bodies[i].map(|b| b.torso_px))
        .collect();
    torsos.sort_by(|a, b| a.total_cmp(b));
    let torso_px = torsos.get(torsos.len() / 2).copied().unwrap_or(0.0);
    Stretch { frames, torso_px }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Landmark, NUM_LANDMARKS, Pose};

    /// A body in a 1000×1000 image: hips centred at (`x`, 600) px, a torso `torso_px` long.
    fn body_at(x: f32, torso_px: f32) -> Option<Pose> {
        let mut pose = Pose {
            image: [Landmark::default(); NUM_LANDMARKS],
            world: [Landmark::default(); NUM_LANDMARKS],
        };
        for (k, dx, y) in [
            (LEFT_SHOULDER, 0.3, 600.0 - torso_px),
            (RIGHT_SHOULDER, -0.3, 600.0 - torso_px),
            (LEFT_HIP, 0.2, 600.0),
            (RIGHT_HIP, -0.2, 600.0),
        ] {
            pose.image[k].x = (x + dx * torso_px) / 1000.0;
            pose.image[k].y = y / 1000.0;
        }
        Some(pose)
    }

    fn clip(bodies: impl Iterator<Item = Option<Pose>>) -> Vec<PoseFrame> {
        bodies
            .enumerate()
            .map(|(i, pose)| PoseFrame {
                t_us: i as i64 * 33_333,
                pose,
            })
            .collect()
    }

    fn set_aside(frames: &[PoseFrame]) -> Vec<usize> {
        let out = performer_only(frames, 1000, 1000);
        (0..frames.len())
            .filter(|&i| frames[i].pose.is_some() && out[i].pose.is_none())
            .collect()
    }

    #[test]
    fn someone_else_tracked_for_a_while_is_set_aside() {
        // The performer walks right at 3 px a frame; for frames 60-89 the tracker follows a
        // person of the same size 500 px away, then comes back to the performer.
        let frames = clip((0..150).map(|i| match i {
            60..90 => body_at(800.0, 120.0),
            _ => body_at(200.0 + 3.0 * i as f32, 120.0),
        }));
        assert_eq!(set_aside(&frames), (60..90).collect::<Vec<_>>());
    }

    #[test]
    fn the_performer_coming_back_after_a_while_out_of_view_is_kept() {
        // Out of view for 2 s, back 300 px (2.5 torsos) further on: a walk, not someone else.
        let frames = clip((0..150).map(|i| match i {
            0..50 => body_at(200.0, 120.0),
            50..110 => None,
            _ => body_at(500.0, 120.0),
        }));
        assert!(set_aside(&frames).is_empty());
    }

    #[test]
    fn neither_a_long_tracked_poster_nor_a_passer_by_is_the_performer() {
        // A poster (30 px) tracked for 4 s, then the performer (120 px) for 3 s.
        let frames = clip((0..210).map(|i| match i {
            0..120 => body_at(800.0, 30.0),
            _ => body_at(300.0, 120.0),
        }));
        assert_eq!(set_aside(&frames), (0..120).collect::<Vec<_>>());
        // The performer in frames 0-40 and 101-150, someone else for the 60 frames between.
        let frames = clip((0..151).map(|i| match i {
            41..101 => body_at(800.0, 120.0),
            _ => body_at(300.0, 120.0),
        }));
        assert_eq!(set_aside(&frames), (41..101).collect::<Vec<_>>());
    }

    #[test]
    fn in_a_crowd_nobody_is_set_aside() {
        // Five people 300 px apart, the tracker on each for 20-30 frames.
        let frames = clip((0..130).map(|i| body_at(100.0 + 300.0 * (i / 26) as f32, 120.0)));
        assert!(set_aside(&frames).is_empty());
    }

    #[test]
    fn a_tiny_body_is_set_aside_even_where_it_continues() {
        let frames = clip((0..90).map(|i| match i {
            0..20 => body_at(500.0, 10.0),
            20..30 => None,
            _ => body_at(520.0, 120.0),
        }));
        assert_eq!(set_aside(&frames), (0..20).collect::<Vec<_>>());
    }
}
