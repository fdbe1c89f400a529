//! Spurious detections: the pose model sometimes tracks a small object as a person (a table, a
//! poster) before or after the real performer, and its invented body would become part of the
//! motion: a skeleton lying on its side, the root teleporting metres when the real person
//! appears. The clip is cut where the tracked body changes size or place abruptly; a stretch
//! whose body is a fraction of the size of the clip's main stretch is not the performer, and its
//! frames count as frames without a person (the solve fills them from the performer's).

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

/// The frames with poses from spurious small bodies removed (set to no person).
pub fn drop_spurious_bodies(frames: &[PoseFrame], width: u32, height: u32) -> Vec<PoseFrame> {
    let bodies: Vec<Option<Body>> = frames
        .iter()
        .map(|f| f.pose.as_ref().map(|p| Body::of(p, width, height)))
        .collect();
    let stretches = stretches(frames, &bodies);
    let Some(main) = stretches.iter().max_by_key(|s| s.frames.len()) else {
        return frames.to_vec();
    };
    let mut out = frames.to_vec();
    for s in &stretches {
        if s.torso_px < SMALLER_THAN_MAIN * main.torso_px {
            for &i in &s.frames {
                out[i].pose = None;
            }
        }
    }
    out
}

/// Where a tracked body is in the image, pixels.
#[derive(Clone, Copy)]
struct Body {
    hips: [f32; 2],
    torso_px: f32,
}

impl Body {
    fn of(pose: &crate::types::Pose, width: u32, height: u32) -> Body {
        let (w, h) = (width as f32, height as f32);
        let px = |k: usize| [pose.image[k].x * w, pose.image[k].y * h];
        let mid = |a: [f32; 2], b: [f32; 2]| [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0];
        let hips = mid(px(23), px(24));
        let shoulders = mid(px(11), px(12));
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
