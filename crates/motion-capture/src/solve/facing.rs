//! Facing flips: for a few frames the pose model can take a person who faces the camera for one
//! who faces away (or the reverse). It then labels the left side as the right and turns its 3D
//! guess round with it: the synthetic walk, frames 45–52, has the shoulders' image positions
//! exchanged and the body turned about 110°; pose2sim cam02 turns its man round in one sixtieth
//! of a second and keeps alternating for 0.7 s while he faces the camera throughout. Smoothing
//! cannot repair that; it would blend the two labellings into a body twisted about itself.
//!
//! A person cannot turn round in a tenth of a second. So a change of facing in the image that
//! quick, with the model's 3D guess jumping round with it (faster than 800° a second, beyond a
//! pirouette), is a change of labelling, not of the body; a slower change is a real turn. How quick
//! is read from the 3D guess: side-on frames between the two facings count on the side their guess
//! is on. A side-on frame whose guess alone swung round, between frames that agree, is set aside as
//! a glitch (no body turns round and back in two frames). Along a track (the person in sight, short
//! misses allowed) every stretch between two changes gets a labelling: the same as its neighbour's
//! across a turn, the other one across a jump. A change hidden by missed detections cannot be told,
//! and cuts the track: the labellings on either side are decided apart. The labelling held by
//! clearly most of the frames within 1.5 s around a stretch is the right one there. A stretch of at
//! most half a second with the other one, between runs that face alike in the model's 3D guess (a
//! spin's do not), is turned round: left and right exchanged, in the image and in 3D, and its depth
//! mirrored, which undoes what the model's mistake did (the legs' depth is kept where the frames
//! around show the model got it right; see [`legs_keep_their_depth`]). Its motion is kept. A
//! stretch of at most a fifth of a second at either end of the track (the person coming into view
//! or leaving it, partly seen) is set aside instead. A passage where neither labelling clearly
//! holds, or a long one, is left as it is. Below about 8 frames a second every change is hidden
//! between two frames, and nothing inside a track is turned round.

use std::ops::RangeInclusive;

use super::level::CameraTilt;
use super::rig::lm::{self, LEFT_HIP, LEFT_SHOULDER, RIGHT_HIP, RIGHT_SHOULDER};
use super::segments::Body;
use crate::animation::math::{Quat, Vec3};
use crate::types::{Landmark, NUM_LANDMARKS, Pose, PoseFrame};

/// How far apart (torso lengths, mean of shoulders and hips) the left and right landmarks must
/// lie across the image for the body to face one way clearly; closer is side-on, either way.
const SIDE_ON: f32 = 0.2;
/// The longest time in which the model's 3D guess can turn round and count as a flip (from its
/// last frame facing one way to its first facing the other); the runs of clear facing in the
/// image either side may be one such step further apart (a side-on frame between them).
const FLIP_US: i64 = 120_000;
/// The longest stretch inside a track that is turned round.
const EXCURSION_US: i64 = 500_000;
/// Across a flip the model's 3D guess must turn by more than this (degrees, between the
/// headings of the frames on each side).
const HEADING_TURN_DEG: f32 = 60.0;
/// Across a flip the 3D guess must turn faster than this between two frames (degrees a second):
/// faster than a dancer's pirouette (about 720), so a real quick turn, and a turn away and back,
/// are kept. The step must also be larger than the model's frame-to-frame noise, and than
/// twice the typical step within the runs either side (a spin turns in like steps throughout).
const JUMP_DEG_PER_S: f32 = 800.0;
const JUMP_MIN_DEG: f32 = 30.0;
const JUMP_OVER_STEADY: f32 = 2.0;
/// The person out of sight for longer than this starts a new track (a missed detection or two
/// does not).
const TRACK_GAP_US: i64 = 250_000;
/// The longest first or last stretch of a track that is set aside as a flip (measured over
/// its clear runs), and the longest time between it and the opposite facing beside it (a missed
/// detection between them allowed).
const EDGE_US: i64 = 200_000;
const EDGE_FLIP_US: i64 = 250_000;
/// The right labelling must hold for at least this many times as many frames as the other,
/// within this long (µs) either side of the stretch in question: a flip is judged by its
/// surroundings, not by a real turn far away that was taken for one.
const MAJORITY: f32 = 1.5;
const AROUND_US: i64 = 1_500_000;
/// A frame turned round whose heading still differs this much (degrees) from its neighbours'
/// is a frame the model was caught half-way round in.
const HALF_WAY_DEG: f32 = 45.0;
/// Frames at a run's end whose median heading is the run's heading there.
const NEAR_FRAMES: usize = 3;
/// A side-on frame whose 3D guess is turned further than this (degrees) from the frames either
/// side, within a flip's time and agreeing within `NEIGHBOURS_AGREE_DEG`, is a glitch of the
/// model's.
const SPIKE_DEG: f32 = 90.0;
const NEIGHBOURS_AGREE_DEG: f32 = 45.0;
/// Once the flips are turned round, a frame that faces clearly one way in the image, and whose
/// 3D guess is turned further than this (degrees) from the frames either side (within a flip's
/// time, agreeing within `NEIGHBOURS_AGREE_DEG`), is a glitch of the model's too: the image
/// shows the body facing as before, where a body turned that far would be seen side-on.
const CLEAR_FACING_SPIKE_DEG: f32 = 60.0;
/// The most frames in a row set aside as a spike.
const LONGEST_SPIKE_FRAMES: usize = 2;

/// Which frames a heading spike is looked for in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Spikes {
    /// Side-on frames only: before the flips are found, a frame that faces clearly the other
    /// way with its guess turned round is a flip's, which is turned round, not set aside.
    SideOn,
    /// Every frame: after the flips are turned round, what still swings alone is a glitch.
    Any,
}

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

/// A stretch of frames whose labels the model flipped: its runs of clear facing, and the
/// side-on frames and missed detections between them and their neighbours.
#[derive(Clone, Debug, PartialEq)]
pub struct Flip {
    pub frames: RangeInclusive<usize>,
    /// The model's heading (degrees) at the ends of the runs on either side of the stretch,
    /// which face alike; `None` for a stretch at either end of its track (the person coming
    /// into view or leaving it, partly seen), which is set aside rather than turned round.
    pub between: Option<(f32, f32)>,
}

impl Flip {
    pub fn at_track_edge(&self) -> bool {
        self.between.is_none()
    }
}

/// The frames with short facing flips corrected (see the module's doc). A flip inside a track
/// is turned round; one at a track's edge counts as frames without a person, since the model's
/// guess of a body only partly in view is poor however it is labelled (the walk-in clip's frame
/// 15, head and shoulders at the frame's edge: turned round, it swung the hips 46° in a frame).
///
/// `camera_tilt` says where the world's vertical is in the camera's axes, which the model's
/// world landmarks are in: a stretch is turned to meet its
/// neighbours' heading about that vertical. About the camera's, it tilted the stretch against
/// its neighbours (2·asin(sin pitch · sin(turn/2)): 14° for a turn of 25° seen 33° from above).
pub fn correct_facing_flips(
    frames: &[PoseFrame],
    width: u32,
    height: u32,
    camera_tilt: CameraTilt,
) -> Vec<PoseFrame> {
    let frames = &without_heading_spikes(frames, width, height, Spikes::SideOn);
    let flips = flips_in(frames, width, height);
    let mut turned = frames.to_vec();
    for flip in &flips {
        let keep_leg_depth = legs_keep_their_depth(frames, flip.frames.clone());
        for frame in &mut turned[flip.frames.clone()] {
            frame.pose = frame
                .pose
                .as_ref()
                .filter(|_| !flip.at_track_edge())
                .map(|pose| turned_round(pose, keep_leg_depth));
        }
    }
    let mut out = turned.clone();
    let vertical = world_vertical(camera_tilt);
    for flip in flips {
        if let Some(between) = flip.between {
            meet_neighbours_heading(&turned, &mut out, flip.frames, between, vertical);
        }
    }
    without_heading_spikes(&out, width, height, Spikes::Any)
}

/// The world's vertical (down, as MediaPipe's y) in the axes of a camera tilted by `tilt`.
fn world_vertical(tilt: CameraTilt) -> Vec3 {
    tilt.to_level().conjugate().rotate([0.0, 1.0, 0.0])
}

/// The frames with those whose 3D guess alone swung round for a frame or two set aside (no
/// person): with the model's heading further from those of the frames either side, each step
/// within `FLIP_US`, which agree with each other, than any body turns and back so quickly.
/// `Spikes::SideOn` looks only at frames side-on in the image, which cannot tell the facing,
/// turned more than `SPIKE_DEG`: left as it was, such a frame would break the runs of facing
/// around it (the person-detection clip's frame 75, a woman walking away from the camera at
/// 10 fps: turned 130° from the frames either side, which had their steps count as the
/// track's steady ones and hid the flip before it). `Spikes::Any` also looks at frames facing
/// clearly one way, turned more than `CLEAR_FACING_SPIKE_DEG` (the same clip's frames 72-73:
/// labelled the other way round, then turned 93° and 120° from the frames either side while
/// the image shows her back throughout; the arms swung 170° and back). At most
/// `LONGEST_SPIKE_FRAMES` in a row are set aside: in a longer stretch where the guess
/// alternates, which side is right cannot be told. A clip without timestamps is left as it is.
fn without_heading_spikes(
    frames: &[PoseFrame],
    width: u32,
    height: u32,
    spikes: Spikes,
) -> Vec<PoseFrame> {
    let mut out = frames.to_vec();
    if frames.iter().any(|f| f.t_us < 0) {
        return out;
    }
    let posed: Vec<usize> = (0..frames.len())
        .filter(|&i| frames[i].pose.is_some())
        .collect();
    let mut swung = vec![false; posed.len()];
    for len in 1..=LONGEST_SPIKE_FRAMES {
        for start in 1..posed.len().saturating_sub(len) {
            let with_neighbours = &posed[start - 1..=start + len];
            if swung_alone(frames, with_neighbours, (width, height), spikes) {
                swung[start..start + len].fill(true);
            }
        }
    }
    let mut start = 0;
    while start < posed.len() {
        let end = (start..posed.len())
            .find(|&k| !swung[k])
            .unwrap_or(posed.len());
        if end - start <= LONGEST_SPIKE_FRAMES {
            for &i in &posed[start..end] {
                out[i].pose = None;
            }
        }
        start = end + 1;
    }
    out
}

/// Whether the posed frames strictly inside `with_neighbours` (whose first and last are the
/// posed frames either side), each of a kind `spikes` looks at, have 3D headings further than
/// their kind allows from those of both neighbours, which agree within
/// `NEIGHBOURS_AGREE_DEG`, with every step between them within `FLIP_US`.
fn swung_alone(
    frames: &[PoseFrame],
    with_neighbours: &[usize],
    (w, h): (u32, u32),
    spikes: Spikes,
) -> bool {
    let heading = |k: usize| frames[k].pose.as_ref().map_or(f32::NAN, world_heading_deg);
    let [before, inside @ .., after] = with_neighbours else {
        return false;
    };
    let (before, after) = (heading(*before), heading(*after));
    let quick = with_neighbours
        .windows(2)
        .all(|step| frames[step[1]].t_us - frames[step[0]].t_us <= FLIP_US);
    let far = |i: usize| {
        let Some(pose) = frames[i].pose.as_ref() else {
            return false;
        };
        let limit = match (facing(pose, w, h), spikes) {
            (None, _) => SPIKE_DEG,
            (Some(_), Spikes::Any) => CLEAR_FACING_SPIKE_DEG,
            (Some(_), Spikes::SideOn) => return false,
        };
        angle_between(heading(i), before) > limit && angle_between(heading(i), after) > limit
    };
    quick
        && !inside.is_empty()
        && angle_between(before, after) <= NEIGHBOURS_AGREE_DEG
        && inside.iter().all(|&i| far(i))
}

/// Turns the 3D guess of a stretch turned round about the vertical to meet the headings `between`
/// of the runs on either side, by an angle that goes linearly from what the first frames need to
/// what the last need. The model's guess of a body it took for its back keeps the limbs' motion but
/// its heading is loose (the synthetic walk's is about 25° off), and a person's heading does not
/// jump. A frame still far from the heading of its neighbours caught the model half-way round (the
/// synthetic walk's frame 45), or was a side-on frame labelled right before it was turned round; it
/// counts as a frame without a person (the solve fills it from its neighbours).
fn meet_neighbours_heading(
    turned: &[PoseFrame],
    out: &mut [PoseFrame],
    stretch: RangeInclusive<usize>,
    (before, after): (f32, f32),
    vertical: Vec3,
) {
    let (first, last) = (*stretch.start(), *stretch.end());
    let t = |i: usize| turned[i].t_us;
    let heading_of = |frames: &mut dyn Iterator<Item = usize>| {
        let near: Vec<f32> = frames
            .filter_map(|i| turned[i].pose.as_ref().map(world_heading_deg))
            .take(NEAR_FRAMES)
            .collect();
        circular_median(&near)
    };
    let inside_first = heading_of(&mut (first..=last));
    let inside_last = heading_of(&mut (first..=last).rev());
    let (Some(inside_first), Some(inside_last)) = (inside_first, inside_last) else {
        return;
    };
    let (at_first, at_last) = (
        signed_turn(inside_first, before),
        signed_turn(inside_last, after),
    );
    let span = (t(last) - t(first)).max(1) as f32;
    for i in stretch {
        let Some(pose) = out[i].pose.as_mut() else {
            continue;
        };
        let along = (t(i) - t(first)) as f32 / span;
        let lerp = |a: f32, b: f32| a + signed_turn(a, b) * along;
        turn_about_vertical(&mut pose.world, lerp(at_first, at_last), vertical);
        let off = angle_between(world_heading_deg(pose), lerp(before, after));
        if off.is_nan() || off > HALF_WAY_DEG {
            out[i].pose = None;
        }
    }
}

/// Turns hip-centred world landmarks about the world's vertical `vertical` (a unit vector in
/// the camera's axes, pointing down), raising their heading by `deg` (for a level camera, from
/// x toward z).
fn turn_about_vertical(points: &mut [Landmark; NUM_LANDMARKS], deg: f32, vertical: Vec3) {
    let turn = Quat::from_axis_angle(vertical, -deg.to_radians());
    for p in points {
        [p.x, p.y, p.z] = turn.rotate([p.x, p.y, p.z]);
    }
}

/// The stretches of frames whose labels the model flipped, in order. A clip without
/// timestamps has none: without a clock no flip can be told from a turn.
pub fn facing_flips(frames: &[PoseFrame], width: u32, height: u32) -> Vec<Flip> {
    flips_in(
        &without_heading_spikes(frames, width, height, Spikes::SideOn),
        width,
        height,
    )
}

/// [`facing_flips`] of frames whose heading spikes are already set aside.
fn flips_in(frames: &[PoseFrame], width: u32, height: u32) -> Vec<Flip> {
    if frames.iter().any(|f| f.t_us < 0) {
        return Vec::new();
    }
    let runs = runs(frames, width, height);
    let mut flips = Vec::new();
    for track in runs.chunk_by(|_, next| !next.starts_track) {
        let changes: Vec<Change> = (1..track.len()).map(|k| change(frames, track, k)).collect();
        // A hidden change cuts the track: the labellings on either side are decided apart.
        let mut first = 0;
        for k in 1..=track.len() {
            if k == track.len() || changes[k - 1] == Change::Hidden {
                let segment = Segment {
                    runs: &track[first..k],
                    changes: &changes[first..k - 1],
                    starts_track: first == 0,
                    ends_track: k == track.len(),
                };
                flips.extend(segment.flips(frames));
                first = k;
            }
        }
    }
    flips
}

/// What happened between two consecutive runs of opposite facing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Change {
    /// The body turned.
    Turn,
    /// The model's labels flipped.
    Flip,
    /// Missed detections hide the change (the person out of sight for longer than a flip
    /// takes): it cannot be told, and a wrong guess would carry over to every run after it.
    Hidden,
}

/// The change from run `k - 1` to run `k` of a track.
fn change(frames: &[PoseFrame], track: &[Run], k: usize) -> Change {
    let (before, after) = (&track[k - 1], &track[k]);
    // A short first or last run of the track may be a person coming into view or leaving it,
    // with a missed detection between it and the rest allowed.
    let short = |run: &Run| duration(frames, run) <= EDGE_US;
    let edge = (k == 1 && short(before)) || (k + 1 == track.len() && short(after));
    let limit = if edge { EDGE_FLIP_US } else { FLIP_US };
    let posed: Vec<i64> = frames[before.last..=after.first]
        .iter()
        .filter(|f| f.pose.is_some())
        .map(|f| f.t_us)
        .collect();
    if is_flip(frames, before, after, limit) {
        Change::Flip
    } else if posed.windows(2).any(|w| w[1] - w[0] > limit) {
        Change::Hidden
    } else {
        Change::Turn
    }
}

/// Runs of one track with no hidden change between them, and the changes between them.
struct Segment<'a> {
    runs: &'a [Run],
    changes: &'a [Change],
    /// Whether the segment's first run starts its track (else a hidden change is before it),
    /// and whether its last run ends the track.
    starts_track: bool,
    ends_track: bool,
}

impl Segment<'_> {
    /// The segment's flipped stretches: short stretches of the labelling that is the clear
    /// minority around them, between runs facing alike (a spin's runs do not).
    fn flips(&self, frames: &[PoseFrame]) -> Vec<Flip> {
        let labelling = self.labellings();
        let t = |i: usize| frames[i].t_us;
        let mut flips = Vec::new();
        let mut start = 0;
        while start < self.runs.len() {
            let same = labelling[start..]
                .iter()
                .take_while(|l| **l == labelling[start])
                .count();
            let end = start + same - 1;
            let lasts = t(self.runs[end].last) - t(self.runs[start].first);
            let (at_first, at_last) = (start == 0, end + 1 == self.runs.len());
            let next_to_hidden = (at_first && !self.starts_track) || (at_last && !self.ends_track);
            let around = t(self.runs[start].first) - AROUND_US..=t(self.runs[end].last) + AROUND_US;
            let minority =
                clear_minority(frames, self.runs, &labelling, around) == Some(labelling[start]);
            // Next to a hidden change the segment's end is not its track's: nothing is known.
            let flipped = if !minority || next_to_hidden {
                None
            } else if at_first || at_last {
                (lasts <= EDGE_US).then_some(None)
            } else if lasts <= EXCURSION_US {
                facing_alike(frames, &self.runs[start - 1], &self.runs[end + 1]).map(Some)
            } else {
                None
            };
            if let Some(between) = flipped {
                flips.push(Flip {
                    frames: stretch(self.runs, start, end),
                    between,
                });
            }
            start = end + 1;
        }
        flips
    }

    /// Per run, which of the two labellings it has: the first run's is `false`; a flip between
    /// two runs changes it, a turn keeps it.
    fn labellings(&self) -> Vec<bool> {
        let flips = self.changes.iter().map(|c| *c == Change::Flip);
        std::iter::once(false)
            .chain(flips.scan(false, |labelling, flip| {
                *labelling ^= flip;
                Some(*labelling)
            }))
            .collect()
    }
}

/// Time from a run's first frame to its last.
fn duration(frames: &[PoseFrame], run: &Run) -> i64 {
    frames[run.last].t_us - frames[run.first].t_us
}

/// The model's headings at the ends of the runs on either side of a stretch, if they face
/// alike, as they do around the model's mistake (the body did not turn).
fn facing_alike(frames: &[PoseFrame], before: &Run, after: &Run) -> Option<(f32, f32)> {
    let b = near_heading(frames, before, End::Last)?;
    let a = near_heading(frames, after, End::First)?;
    (angle_between(b, a) <= HEADING_TURN_DEG).then_some((b, a))
}

/// The pose with left and right exchanged and its depth mirrored, but for the legs' with
/// `keep_leg_depth`: the body the model would have seen had it not taken the front for the back
/// (both give the same image).
fn turned_round(pose: &Pose, keep_leg_depth: bool) -> Pose {
    let mirrored = |points: &[Landmark; NUM_LANDMARKS]| -> [Landmark; NUM_LANDMARKS] {
        std::array::from_fn(|k| {
            let from = points[lm::opposite(k)];
            let keep = keep_leg_depth && LEGS.contains(&k);
            let z = if keep { from.z } else { -from.z };
            Landmark { z, ..from }
        })
    };
    Pose {
        image: mirrored(&pose.image),
        world: mirrored(&pose.world),
    }
}

/// The legs (knees to toes), judged as one: both legs together say more than one, which a kick
/// can move far in a frame.
const LEGS: RangeInclusive<usize> = lm::LEFT_KNEE..=lm::RIGHT_FOOT_INDEX;

/// The legs keep the depth the model gave them only if that meets the frames either side
/// clearly better than the mirrored depth does (its distance below this share of the other's).
const KEEP_DEPTH_BELOW: f32 = 0.75;

/// Whether the legs of a turned-round stretch keep the depth the model gave them. Taking the front
/// for the back, the model mirrors the head's and the trunk's depth with the facing (the nose
/// behind the ears), but its depth of the legs can stay what the image shows: pose2sim cam02's
/// thrower keeps his planted foot 40 cm behind his hips through the flip, as he does before and
/// after it and as the other three calibrated views put it; mirrored, it stood 40 cm in front of
/// them, and the solved foot rose up to 23 cm off the floor for a third of a second. The synthetic
/// walk's legs are mirrored with the rest. So the legs are mirrored unless their depth as the model
/// gave it (hip-centred, left and right exchanged) is clearly nearer that of the nearest frames
/// with a person either side of the stretch (in a prototype over cam02's flipped stretches,
/// 0.09-0.32 of the mirrored depth's distance; over the synthetic walk's, 1.9 times it). The arms
/// are always mirrored: on cam02 the kept depth suits the elbows and wrists but not the hand
/// points, and the throwing hand then twisted 75° in a frame at the flip. Mirroring and keeping
/// agree at the hips because MediaPipe's world landmarks are centred there (depth 0 is the hips'
/// centre).
fn legs_keep_their_depth(frames: &[PoseFrame], stretch: RangeInclusive<usize>) -> bool {
    let pose = |i: usize| frames[i].pose.as_ref();
    let (first, last) = (*stretch.start(), *stretch.end());
    let inside = (stretch.clone().find_map(pose), stretch.rev().find_map(pose));
    let outside = (
        (0..first).rev().find_map(pose),
        (last + 1..frames.len()).find_map(pose),
    );
    let meetings = [(inside.0, outside.0), (inside.1, outside.1)];
    let meetings: Vec<(&Pose, &Pose)> = meetings
        .into_iter()
        .filter_map(|pair| Some((pair.0?, pair.1?)))
        .collect();
    let miss = |sign: f32| -> f32 {
        let per_meeting = meetings.iter().map(|(inside, outside)| {
            LEGS.map(|k| (sign * depth(inside, lm::opposite(k)) - depth(outside, k)).abs())
                .sum::<f32>()
        });
        per_meeting.sum()
    };
    miss(1.0) < KEEP_DEPTH_BELOW * miss(-1.0)
}

/// A world landmark's depth from the hips' centre (m, away from the camera).
fn depth(pose: &Pose, k: usize) -> f32 {
    pose.world[k].z - (pose.world[LEFT_HIP].z + pose.world[RIGHT_HIP].z) / 2.0
}

/// The labelling held by clearly fewer of the frames of `runs` within the time `around` than
/// the other, if one is.
fn clear_minority(
    frames: &[PoseFrame],
    runs: &[Run],
    labelling: &[bool],
    around: RangeInclusive<i64>,
) -> Option<bool> {
    let mut posed = [0usize; 2];
    for (run, &l) in runs.iter().zip(labelling) {
        posed[usize::from(l)] += frames[run.first..=run.last]
            .iter()
            .filter(|f| f.pose.is_some() && around.contains(&f.t_us))
            .count();
    }
    let minority = posed[1] < posed[0];
    let (few, many) = (posed[usize::from(minority)], posed[usize::from(!minority)]);
    (few > 0 && few as f32 * MAJORITY <= many as f32).then_some(minority)
}

/// Whether the change of facing from run `before` to the next run `after` is the model's
/// labels flipping: within `limit`, with its 3D guess turning round and jumping as it does.
fn is_flip(frames: &[PoseFrame], before: &Run, after: &Run, limit: i64) -> bool {
    let (Some(h_before), Some(h_after)) = (
        near_heading(frames, before, End::Last),
        near_heading(frames, after, End::First),
    ) else {
        return false;
    };
    // A flip is one step out of line with the steady ones either side; a spin or a quick
    // real turn is a string of like steps.
    let steady = steady_step(frames, before, End::Last).max(steady_step(frames, after, End::First));
    let crossing = crossing_us(frames, before, after, (h_before, h_after));
    let run_to_run = frames[after.first].t_us - frames[before.last].t_us;
    crossing <= limit
        && run_to_run <= limit + crossing
        && angle_between(h_before, h_after) > HEADING_TURN_DEG
        && jumped(
            frames,
            before.last..=after.first,
            JUMP_MIN_DEG.max(JUMP_OVER_STEADY * steady),
        )
}

/// How long the model's 3D guess took to turn from heading `from` (at the end of run `before`)
/// to `to` (at the start of the next run `after`): from its last frame nearer `from` to the next
/// frame with a pose. A side-on frame between the runs, whose image cannot tell the facing,
/// counts on the side its 3D guess is on: at 10 frames a second a flip with one such frame
/// between the runs spans 0.2 s from run to run, while the guess turned in 0.1 s. Without a
/// frame nearer `from`, the time from run to run.
fn crossing_us(frames: &[PoseFrame], before: &Run, after: &Run, (from, to): (f32, f32)) -> i64 {
    let posed: Vec<(i64, f32)> = frames[before.last..=after.first]
        .iter()
        .filter_map(|f| f.pose.as_ref().map(|p| (f.t_us, world_heading_deg(p))))
        .collect();
    let nearer_from = |&(_, h): &(i64, f32)| angle_between(h, from) < angle_between(h, to);
    match posed.iter().rposition(nearer_from) {
        Some(k) if k + 1 < posed.len() => posed[k + 1].0 - posed[k].0,
        _ => frames[after.first].t_us - frames[before.last].t_us,
    }
}

/// The typical turn (degrees, the lower median) of the model's 3D guess between consecutive
/// frames of a run at one end (its last or first `NEAR_FRAMES` steps). A median, since the
/// frame next to a flip may be caught half-way round (the synthetic walk's frame 45).
fn steady_step(frames: &[PoseFrame], run: &Run, end: End) -> f32 {
    let mut steps: Vec<f32> = headings_at(frames, run, end, NEAR_FRAMES + 1)
        .windows(2)
        .map(|w| signed_turn(w[0], w[1]).abs())
        .collect();
    steps.sort_by(f32::total_cmp);
    steps
        .get(steps.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or(0.0)
}

#[derive(Clone, Copy)]
enum End {
    First,
    Last,
}

/// The model's heading at one end of a run (the circular median of its frames there).
fn near_heading(frames: &[PoseFrame], run: &Run, end: End) -> Option<f32> {
    circular_median(&headings_at(frames, run, end, NEAR_FRAMES))
}

/// The model's headings in the first or last `count` frames with a pose of a run.
fn headings_at(frames: &[PoseFrame], run: &Run, end: End, count: usize) -> Vec<f32> {
    let mut all = headings(frames, run.first..=run.last);
    match end {
        End::First => all.truncate(count),
        End::Last => {
            all.drain(..all.len().saturating_sub(count));
        }
    }
    all
}

/// The frames of the flipped runs `start..=end` of a track, with the side-on frames between
/// them and their neighbours (caught turning either way; see [`meet_neighbours_heading`]).
fn stretch(track: &[Run], start: usize, end: usize) -> RangeInclusive<usize> {
    let first = match start.checked_sub(1) {
        Some(before) => track[before].last + 1,
        None => track[start].first,
    };
    let last = match track.get(end + 1) {
        Some(after) => after.first - 1,
        None => track[end].last,
    };
    first..=last
}

/// Whether the model's 3D guess turns faster than a body can, and by more than `min_deg`,
/// between two consecutive frames with a pose in `range`.
fn jumped(frames: &[PoseFrame], range: RangeInclusive<usize>, min_deg: f32) -> bool {
    let posed: Vec<(i64, f32)> = frames[range]
        .iter()
        .filter_map(|f| f.pose.as_ref().map(|p| (f.t_us, world_heading_deg(p))))
        .collect();
    posed.windows(2).any(|w| {
        let dt_s = (w[1].0 - w[0].0).max(1) as f32 / 1e6;
        let turn = signed_turn(w[0].1, w[1].1).abs();
        turn > min_deg && turn / dt_s > JUMP_DEG_PER_S
    })
}

/// The model's world heading in each frame of `range` that has a pose.
fn headings(frames: &[PoseFrame], range: RangeInclusive<usize>) -> Vec<f32> {
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
    let x = |k: usize| pose.image[k].x * width as f32;
    let torso = Body::of(pose, width, height).torso_px.max(1.0);
    let across = (x(LEFT_SHOULDER) - x(RIGHT_SHOULDER) + x(LEFT_HIP) - x(RIGHT_HIP)) / 2.0 / torso;
    if across > SIDE_ON {
        Some(Facing::Toward)
    } else if across < -SIDE_ON {
        Some(Facing::Away)
    } else {
        None
    }
}

/// The runs of clear facing, in order.
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

    #[test]
    fn a_turn_about_the_world_s_vertical_keeps_each_point_s_height() {
        let point = |x, y, z| Landmark {
            x,
            y,
            z,
            visibility: 1.0,
            presence: 1.0,
        };
        let mut level = [point(0.0, 0.0, 0.0); NUM_LANDMARKS];
        level[0] = point(1.0, 0.0, 0.0);
        turn_about_vertical(&mut level, 90.0, world_vertical(CameraTilt::LEVEL));
        let [x, y, z] = [level[0].x, level[0].y, level[0].z];
        assert!(
            x.abs() < 1e-6 && y.abs() < 1e-6 && (z - 1.0).abs() < 1e-6,
            "{x} {y} {z}"
        );
        // Seen from 30° above, the world's vertical leans toward the camera; a turn about it
        // keeps every point's height along it, where one about the camera's y would not.
        let vertical = world_vertical(CameraTilt {
            pitch: 30f32.to_radians(),
            roll: 0.0,
        });
        let mut pitched = [point(0.0, 0.0, 0.0); NUM_LANDMARKS];
        pitched[0] = point(0.3, -0.5, 0.2);
        let height = |l: &Landmark| l.x * vertical[0] + l.y * vertical[1] + l.z * vertical[2];
        let before = height(&pitched[0]);
        turn_about_vertical(&mut pitched, 70.0, vertical);
        assert!((height(&pitched[0]) - before).abs() < 1e-5);
    }

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
            place(&mut pose, k, [0.15 * side * c, y, 0.15 * side * s]);
        }
        pose
    }

    /// Puts landmark `k` of `pose` at `x` across from the image's middle, `y` down its height and
    /// `z` deep, seen clearly, with world landmarks to match (the hips' centre at y 0.5).
    fn place(pose: &mut Pose, k: usize, [x, y, z]: [f32; 3]) {
        let seen = |x, y| Landmark {
            x,
            y,
            z,
            visibility: 1.0,
            presence: 1.0,
        };
        pose.image[k] = seen(0.5 + x, y);
        pose.world[k] = seen(x, y - 0.5);
    }

    /// Left and right exchanged and the depth mirrored, as the model does when it takes the
    /// front for the back.
    fn mirrored(mut pose: Pose) -> Pose {
        pose.image.swap(LEFT_SHOULDER, RIGHT_SHOULDER);
        pose.image.swap(LEFT_HIP, RIGHT_HIP);
        pose.world.swap(LEFT_SHOULDER, RIGHT_SHOULDER);
        pose.world.swap(LEFT_HIP, RIGHT_HIP);
        for point in pose.image.iter_mut().chain(&mut pose.world) {
            point.z = -point.z;
        }
        pose
    }

    /// `pose` with legs: the left foot 0.3 m behind the hips (away from the camera), the right
    /// 0.1 m in front of them.
    fn with_legs(mut pose: Pose) -> Pose {
        for k in LEGS {
            let (side, z) = if k % 2 == 1 { (1.0, 0.3) } else { (-1.0, -0.1) };
            let y = 0.75 + 0.05 * ((k - LEGS.start()) / 2) as f32;
            place(&mut pose, k, [0.1 * side, y, z]);
        }
        pose
    }

    /// What the model gives for `pose` taken for its back: every landmark's label exchanged with
    /// its opposite's, the depth mirrored, the legs' only with `legs_mirrored`.
    fn taken_for_its_back(pose: &Pose, legs_mirrored: bool) -> Pose {
        let exchange = |points: &[Landmark; NUM_LANDMARKS]| -> [Landmark; NUM_LANDMARKS] {
            std::array::from_fn(|k| {
                let mut point = points[lm::opposite(k)];
                if legs_mirrored || !LEGS.contains(&k) {
                    point.z = -point.z;
                }
                point
            })
        };
        Pose {
            image: exchange(&pose.image),
            world: exchange(&pose.world),
        }
    }

    /// `truth` as the model sees it when it takes the body round (`model`) in frames 45-52.
    fn taken_round_in_45_to_52(
        truth: &[Option<Pose>],
        model: impl Fn(&Pose) -> Pose,
    ) -> Vec<Option<Pose>> {
        truth
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let p = p.as_ref()?;
                Some(if (45..53).contains(&i) {
                    model(p)
                } else {
                    p.clone()
                })
            })
            .collect()
    }

    fn clip(poses: Vec<Option<Pose>>) -> Vec<PoseFrame> {
        clip_at(FPS, poses)
    }

    fn clip_at(fps: i64, poses: Vec<Option<Pose>>) -> Vec<PoseFrame> {
        poses
            .into_iter()
            .enumerate()
            .map(|(i, pose)| PoseFrame {
                t_us: i as i64 * 1_000_000 / fps,
                pose,
            })
            .collect()
    }

    /// The frames with a pose that are turned round.
    fn flipped(frames: &[PoseFrame]) -> Vec<usize> {
        facing_flips(frames, 100, 100)
            .into_iter()
            .flat_map(|f| f.frames)
            .filter(|&i| frames[i].pose.is_some())
            .collect()
    }

    #[test]
    fn a_short_flip_is_turned_round() {
        let truth: Vec<_> = (0..60).map(|_| Some(torso(10.0))).collect();
        let seen = clip(taken_round_in_45_to_52(&truth, |p| mirrored(p.clone())));
        assert_eq!(flipped(&seen), (45..53).collect::<Vec<_>>());
        assert_eq!(
            correct_facing_flips(&seen, 100, 100, CameraTilt::LEVEL),
            clip(truth)
        );
    }

    /// The model mirrors the legs' depth with the facing (the synthetic walk) or keeps it
    /// (pose2sim cam02, a planted foot behind the hips throughout): either way the stretch
    /// turned round has the legs where the frames around it have them.
    #[test]
    fn a_flip_s_legs_keep_the_depth_the_frames_around_show() {
        for legs_mirrored in [true, false] {
            let truth: Vec<_> = (0..60).map(|_| Some(with_legs(torso(10.0)))).collect();
            let seen = taken_round_in_45_to_52(&truth, |p| taken_for_its_back(p, legs_mirrored));
            let corrected = correct_facing_flips(&clip(seen), 100, 100, CameraTilt::LEVEL);
            assert_eq!(corrected, clip(truth), "legs mirrored: {legs_mirrored}");
        }
    }

    #[test]
    fn a_flip_through_a_side_on_frame_is_turned_round_with_it() {
        let poses = (0..40)
            .map(|i| {
                Some(match i {
                    // Side-on in the image, and the 3D guess already turned with the flip.
                    19 => mirrored(torso(80.0)),
                    20..=25 => mirrored(torso(0.0)),
                    _ => torso(0.0),
                })
            })
            .collect();
        assert_eq!(flipped(&clip(poses)), (19..26).collect::<Vec<_>>());
    }

    #[test]
    fn a_flip_through_a_side_on_frame_at_10_fps_is_turned_round() {
        // The person-detection clip's frames 71-74: a woman walking away, taken for someone
        // facing the camera in one frame, then side-on in the image with the 3D guess still
        // turned: 0.2 s from run to run, while the guess turned back in 0.1 s.
        let poses = (0..40)
            .map(|i| {
                Some(match i {
                    20 => mirrored(torso(0.0)),
                    21 => mirrored(torso(80.0)),
                    _ => torso(0.0),
                })
            })
            .collect();
        assert_eq!(flipped(&clip_at(10, poses)), vec![20, 21]);
        // A real turn at 10 frames a second, round in 0.3 s (600 degrees a second), is kept.
        let turn = (0..40).map(|i| Some(torso((i as f32 - 20.0).clamp(0.0, 3.0) * 60.0)));
        assert!(flipped(&clip_at(10, turn.collect())).is_empty());
    }

    #[test]
    fn a_side_on_frame_whose_guess_alone_swung_round_is_set_aside() {
        // Side-on in the image, the 3D guess turned 130° from the frames either side, which
        // face alike: no body turns that far and back in 0.2 s.
        let swung = |h: f32| Pose {
            image: torso(85.0).image,
            world: torso(h).world,
        };
        let poses = (0..40)
            .map(|i| Some(if i == 25 { swung(130.0) } else { torso(0.0) }))
            .collect();
        let corrected = correct_facing_flips(&clip_at(10, poses), 100, 100, CameraTilt::LEVEL);
        let missing: Vec<usize> = (0..40).filter(|&i| corrected[i].pose.is_none()).collect();
        assert_eq!(missing, vec![25]);
        // Turned less far, or between frames that do not agree (a turn), it is kept.
        for (spike, after) in [(80.0, 0.0), (130.0, 170.0)] {
            let poses = (0..40)
                .map(|i| {
                    Some(match i {
                        25 => swung(spike),
                        26.. => torso(after),
                        _ => torso(0.0),
                    })
                })
                .collect();
            let corrected = correct_facing_flips(&clip_at(10, poses), 100, 100, CameraTilt::LEVEL);
            assert!(corrected[25].pose.is_some(), "{spike}° then {after}°");
        }
        // Nor is it set aside in a clip without timestamps, next to a missed frame (the
        // neighbours further than a flip's time), or in a side-on stretch whose guess alternates
        // (which side is right cannot be told).
        let lone = |i: usize| Some(if i == 25 { swung(130.0) } else { torso(0.0) });
        let mut untimed = clip_at(10, (0..40).map(lone).collect());
        for f in &mut untimed {
            f.t_us = -1;
        }
        let next_to_a_miss = (0..40).map(|i| if i == 26 { None } else { lone(i) });
        let alternating = (0..40).map(|i| {
            Some(if (20..30).contains(&i) {
                swung(180.0 * (i % 2) as f32)
            } else {
                torso(0.0)
            })
        });
        for (what, frames) in [
            ("untimed", untimed),
            ("next to a miss", clip_at(10, next_to_a_miss.collect())),
            ("alternating", clip_at(10, alternating.collect())),
        ] {
            let kept = without_heading_spikes(&frames, 100, 100, Spikes::Any);
            assert_eq!(kept, frames, "{what}");
        }
    }

    #[test]
    fn frames_facing_clearly_whose_guess_alone_swung_are_set_aside() {
        // The person-detection clip's frames 72-73 at 10 fps: a frame labelled the other way
        // round, then one the image shows facing as before while its 3D guess turned 100°.
        let swung = |h: f32| Pose {
            image: torso(0.0).image,
            world: torso(h).world,
        };
        let clip_with = |spike: &dyn Fn(usize) -> Option<Pose>| {
            let poses = (0..40).map(|i| spike(i).or_else(|| Some(torso(0.0))));
            clip_at(10, poses.collect())
        };
        let set_aside = |frames: &[PoseFrame]| -> Vec<usize> {
            let corrected = correct_facing_flips(frames, 100, 100, CameraTilt::LEVEL);
            (0..40).filter(|&i| corrected[i].pose.is_none()).collect()
        };
        let flip_then_swing = clip_with(&|i| match i {
            20 => Some(mirrored(torso(0.0))),
            21 => Some(swung(100.0)),
            _ => None,
        });
        assert_eq!(set_aside(&flip_then_swing), vec![20, 21]);
        let lone = clip_with(&|i| (i == 21).then(|| swung(-70.0)));
        assert_eq!(set_aside(&lone), vec![21]);
        // Kept: turned less far; three frames in a row (a quick turn away and back); a spin
        // (its neighbours do not agree).
        let less = clip_with(&|i| (i == 21).then(|| swung(50.0)));
        let three = clip_with(&|i| (20..23).contains(&i).then(|| swung(100.0)));
        let spin = clip_with(&|i| (i > 20).then(|| torso((i as f32 - 20.0).min(2.0) * 70.0)));
        for (what, frames) in [("less", less), ("three", three), ("spin", spin)] {
            assert_eq!(set_aside(&frames), Vec::<usize>::new(), "{what}");
        }
    }

    #[test]
    fn a_turn_away_and_back_through_side_on_frames_is_kept() {
        // At 30 fps: 0.3 s side-on each way (the 3D guess snapping round in one frame of it) and
        // 0.4 s away: each change takes longer from run to run than a flip can.
        // The guess snaps round at frames 24 and 45.
        let heading = |i: usize| if (24..45).contains(&i) { 180.0 } else { 0.0 };
        let poses = (0..80)
            .map(|i| {
                let side_on = (20..=28).contains(&i) || (41..=49).contains(&i);
                Some(if side_on {
                    Pose {
                        image: torso(90.0).image,
                        world: torso(heading(i)).world,
                    }
                } else {
                    torso(heading(i))
                })
            })
            .collect();
        assert!(flipped(&clip(poses)).is_empty());
    }

    #[test]
    fn an_alternating_passage_in_a_track_that_faces_one_way_is_turned_round() {
        // pose2sim cam02: the model flips, alternates, and settles back (the man faces the
        // camera throughout).
        let wrong = |i: usize| matches!(i, 41..=49 | 51..=53 | 55..=56);
        let poses = (0..90)
            .map(|i| {
                Some(if wrong(i) {
                    mirrored(torso(0.0))
                } else {
                    torso(0.0)
                })
            })
            .collect();
        let expected: Vec<usize> = (0..90).filter(|&i| wrong(i)).collect();
        assert_eq!(flipped(&clip(poses)), expected);
    }

    #[test]
    fn every_landmark_has_its_opposite() {
        for k in 0..NUM_LANDMARKS {
            assert_eq!(lm::opposite(lm::opposite(k)), k);
        }
        assert_eq!(lm::opposite(lm::NOSE), lm::NOSE);
        assert_eq!(lm::opposite(1), 4);
        assert_eq!(lm::opposite(6), 3);
        assert_eq!(lm::opposite(lm::LEFT_EAR), lm::RIGHT_EAR);
        assert_eq!(lm::opposite(lm::RIGHT_FOOT_INDEX), lm::LEFT_FOOT_INDEX);
    }

    #[test]
    fn real_turns_are_kept() {
        // Round in 0.6 s and staying round; then a full spin in 0.5 s (15 frames, 24° a frame).
        let turn = (0..60).map(|i| Some(torso((i as f32 - 20.0).clamp(0.0, 18.0) * 10.0)));
        assert!(flipped(&clip(turn.collect())).is_empty());
        let spin = (0..60).map(|i| Some(torso((i as f32 - 20.0).clamp(0.0, 15.0) * 24.0)));
        assert!(flipped(&clip(spin.collect())).is_empty());
        // Round in 0.25 s (720 degrees a second), a beat facing away, and back as quickly.
        let away_and_back = (0..60).map(|i| {
            let i = i as f32;
            let out = ((i - 20.0) * 24.0).clamp(0.0, 180.0);
            let back = ((i - 32.0) * 24.0).clamp(0.0, 180.0);
            Some(torso(out - back))
        });
        assert!(flipped(&clip(away_and_back.collect())).is_empty());
    }

    /// The model's frame-to-frame wobble of its heading: up to `amplitude` degrees either way.
    fn wobble(i: usize, amplitude: f32) -> f32 {
        ((i * 7919 % 13) as f32 / 6.0 - 1.0) * amplitude
    }

    #[test]
    fn fast_spins_are_kept() {
        // One and two full turns at 1000 to 1800 degrees a second, the heading wobbling 3
        // degrees: every change of facing is quick, but each step is like the ones around it.
        for per_frame in [33.3, 34.0, 45.0, 60.0] {
            for turns in [1.0, 2.0] {
                let frames = (360.0 * turns / per_frame) as usize;
                let spin = (0..frames + 60).map(|i| {
                    let along = (i as f32 - 20.0).clamp(0.0, frames as f32);
                    Some(torso(along * per_frame + wobble(i, 3.0)))
                });
                let flipped = flipped(&clip(spin.collect()));
                assert!(
                    flipped.is_empty(),
                    "{per_frame}/frame, {turns} turns: {flipped:?}"
                );
            }
        }
    }

    #[test]
    fn a_quick_real_turn_away_and_back_is_kept_despite_the_wobble() {
        // Round in 0.25 s (720 degrees a second), 0.1 s away, and back as quickly, the heading
        // wobbling 5 degrees.
        for amplitude in [0.0, 5.0] {
            let away_and_back = (0..60).map(|i| {
                let f = i as f32;
                let out = ((f - 20.0) * 24.0).clamp(0.0, 180.0);
                let back = ((f - 30.0) * 24.0).clamp(0.0, 180.0);
                Some(torso(out - back + wobble(i, amplitude)))
            });
            assert!(
                flipped(&clip(away_and_back.collect())).is_empty(),
                "{amplitude}"
            );
        }
    }

    #[test]
    fn a_flip_before_a_pivot_too_quick_to_tell_from_one_is_judged_by_its_surroundings() {
        // Facing the camera, a flip of 0.2 s, 0.4 s facing the camera, a real pivot in 0.1 s (as
        // quick as a flip), 4 s facing away, a slow turn back and 3 s facing the camera. Over
        // the track, the pivot's labelling holds most frames; around the flip, the camera's.
        let heading = |i: usize| match i {
            108..=110 => 60.0 * (i - 107) as f32,
            111..=230 => 180.0,
            231..=260 => 180.0 - 6.0 * (i - 230) as f32,
            _ => 0.0,
        };
        let poses = (0..351)
            .map(|i| {
                let p = torso(heading(i));
                Some(if (90..96).contains(&i) {
                    mirrored(p)
                } else {
                    p
                })
            })
            .collect();
        assert_eq!(flipped(&clip(poses)), (90..96).collect::<Vec<_>>());
    }

    #[test]
    fn a_change_hidden_by_missed_detections_is_not_guessed() {
        // A flip, then the person missed for 0.17 s, and the track goes on facing the camera with
        // another flip: the frames the model labelled right are never turned round.
        let poses = (0..90)
            .map(|i| match i {
                41..=44 | 50..=53 => Some(mirrored(torso(0.0))),
                45..=48 => None,
                _ => Some(torso(0.0)),
            })
            .collect();
        let frames = clip(poses);
        assert_eq!(flipped(&frames), (50..=53).collect::<Vec<_>>());
        // And turned round to face as the runs either side do (not toward the stretch left as
        // it was across the hidden change).
        let corrected = correct_facing_flips(&frames, 100, 100, CameraTilt::LEVEL);
        for (i, frame) in corrected.iter().enumerate().take(54).skip(50) {
            assert_eq!(frame.pose, Some(torso(0.0)), "{i}");
        }
    }

    #[test]
    fn a_clip_without_timestamps_is_left_as_it_is() {
        let poses = (0..60).map(|i| {
            Some(if (45..53).contains(&i) {
                mirrored(torso(0.0))
            } else {
                torso(0.0)
            })
        });
        let mut frames = clip(poses.collect());
        for f in &mut frames {
            f.t_us = -1;
        }
        assert!(flipped(&frames).is_empty());
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
        assert!(flipped(&clip(long.collect())).is_empty());
        // Alternating every 3 frames: neither labelling is the rule.
        let alternating = (0..60).map(|i| {
            let p = torso(0.0);
            Some(if (i / 3) % 2 == 1 { mirrored(p) } else { p })
        });
        assert!(flipped(&clip(alternating.collect())).is_empty());
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
        assert!(flipped(&clip(poses)).is_empty());
    }

    #[test]
    fn a_flip_at_the_start_of_a_track_is_set_aside_a_turn_is_not() {
        // No person for 0.5 s, then a flipped 0.17 s, then the rest.
        let flipped_start = clip(
            (0..60)
                .map(|i| match i {
                    0..15 => None,
                    15..21 => Some(mirrored(torso(0.0))),
                    _ => Some(torso(0.0)),
                })
                .collect(),
        );
        assert_eq!(flipped(&flipped_start), (15..21).collect::<Vec<_>>());
        let corrected = correct_facing_flips(&flipped_start, 100, 100, CameraTilt::LEVEL);
        let posed: Vec<usize> = (0..60).filter(|&i| corrected[i].pose.is_some()).collect();
        assert_eq!(posed, (21..60).collect::<Vec<_>>());
        // Coming into view facing away and turning round at 450 degrees a second.
        let turning = (0..60).map(|i| match i {
            0..15 => None,
            _ => Some(torso((150.0 - (i - 15) as f32 * 15.0).max(0.0))),
        });
        assert!(flipped(&clip(turning.collect())).is_empty());
    }
}
