//! The whole-clip skeleton solve: pose landmarks of every frame → one [`Animation`].
//!
//! Steps: bodies other than the performer's dropped, short facing flips turned round →
//! zero-phase smoothing of the landmark tracks (gaps and occlusions filled from their
//! neighbours in time) → the person's position under a perspective camera → the camera's pitch
//! taken out (see [`level`]) → bone lengths fixed for the clip → joint rotations (in frames
//! without the performer, turned evenly between the frames either side) → grounding and foot
//! locking → quality measures.

pub mod camera;
pub mod facing;
pub mod ground;
pub mod leg_ik;
pub mod level;
pub mod quality;
pub mod rig;
pub mod segments;
pub mod smooth;
pub mod twist;

use crate::animation::math::{Quat, Vec3, add, lerp, midpoint, sub};
use crate::animation::{Animation, Frame, Skeleton};
use crate::types::{Landmark, NUM_LANDMARKS, PoseFrame};
use rig::lm;

pub use camera::Camera;
pub use level::CameraTilt;
pub use quality::Quality;

/// The exact failure text of the contract (a task failure reason and the CLI's message).
pub const NO_PERSON_MESSAGE: &str = "No person detected in the video (MOTION.PIC_NOT_MATCHED)";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SolveError {
    #[error("No person detected in the video (MOTION.PIC_NOT_MATCHED)")]
    NoPerson,
    #[error("the video has no frames")]
    NoFrames,
}

/// What the solver needs besides the poses.
#[derive(Clone, Copy, Debug)]
pub struct SolveInput<'a> {
    pub frames: &'a [PoseFrame],
    /// Display size of the analysed frames, pixels.
    pub width: u32,
    pub height: u32,
    /// Analysis frame rate (frames are on a regular grid of 1/fps).
    pub fps: f64,
}

/// Tunable constants of the solve (defaults earned on the synthetic walk, see tests).
#[derive(Clone, Copy, Debug)]
pub struct SolveParams {
    /// Gaussian sigma for the world landmarks, seconds.
    pub sigma_world_s: f64,
    /// Gaussian sigma for the image landmarks, seconds.
    pub sigma_image_s: f64,
    /// Gaussian sigma for the camera-space position (depth is the noisiest), seconds.
    pub sigma_root_s: f64,
    /// How far (0..1) each joint is moved sideways onto the camera ray through its 2D
    /// landmark (image positions are more accurate than the model's metric x/y).
    pub image_blend: f32,
    /// Pin planted feet (off only to measure what locking buys).
    pub foot_lock: bool,
    /// Take the camera's pitch out of the motion (off only to measure what levelling buys).
    pub level_camera: bool,
}

impl Default for SolveParams {
    fn default() -> Self {
        SolveParams {
            sigma_world_s: 0.08,
            sigma_image_s: 0.03,
            sigma_root_s: 0.12,
            image_blend: 0.5,
            foot_lock: true,
            level_camera: true,
        }
    }
}

/// The solved motion and what the exporters and the preview need to show it.
#[derive(Clone, Debug)]
pub struct Solution {
    pub animation: Animation,
    pub camera: Camera,
    /// Per frame: adding this to a world position (cm, animation axes) gives its position
    /// relative to the camera, still in the animation's level axes (cm); see
    /// [`Solution::project`]. Per frame because grounding and foot locking move the root, while
    /// the overlay must stay on the person.
    pub world_to_camera: Vec<Vec3>,
    /// The camera's pitch and roll, taken out of the motion (see [`level`]) and put back to
    /// project.
    pub camera_tilt: CameraTilt,
    /// Per frame: [left, right] foot planted.
    pub contacts: Vec<[bool; 2]>,
    /// Per frame: the pose tracked there is the performer's (false where no person was found,
    /// and where the pose was set aside as someone else's or as a spurious body: a table, a
    /// poster). The frames the quality's person-found count counts. The solve may still leave
    /// out a glimpse among these whose facing cannot be told (see [`facing`]): the performer was
    /// found there, only not turned the right way round.
    pub performer_seen: Vec<bool>,
    /// Heel position relative to each ankle in the foot's rest frame, [left, right], cm.
    pub heels: [Vec3; 2],
    pub quality: Quality,
}

impl Solution {
    /// Pixel position of a world point (cm, animation axes) in the source frame.
    pub fn project(&self, frame: usize, p: Vec3) -> Option<[f32; 2]> {
        let c = add(
            p,
            self.world_to_camera.get(frame).copied().unwrap_or_default(),
        );
        let c = self
            .camera_tilt
            .to_level()
            .conjugate()
            .rotate(anim_to_mp(c));
        self.camera.project(c)
    }
}

/// MediaPipe axes (x right, y down, z away; metres) → animation axes (x, Y up, z toward the
/// camera; cm). A half turn about X, so handedness is kept.
pub fn mp_to_anim(p: Vec3) -> Vec3 {
    [p[0] * 100.0, -p[1] * 100.0, -p[2] * 100.0]
}

/// Inverse of [`mp_to_anim`].
pub fn anim_to_mp(p: Vec3) -> Vec3 {
    [p[0] / 100.0, -p[1] / 100.0, -p[2] / 100.0]
}

/// Smoothed landmark tracks of the clip.
struct Tracks {
    times: Vec<f64>,
    /// Per frame, hip-centred world landmarks in MediaPipe axes (m): the camera's, until
    /// levelling turns them to level ones.
    world: Vec<[Vec3; NUM_LANDMARKS]>,
    /// Per frame, image landmarks in pixels (z unused); meaningless where `image_known` is
    /// false.
    image: Vec<[Vec3; NUM_LANDMARKS]>,
    /// Per landmark: its image track had enough support to be smoothed. A landmark that was
    /// never seen (the legs of an upper-body clip, weighted at the floor throughout) has no
    /// image position, and must not pull its joint toward pixel (0, 0).
    image_known: [bool; NUM_LANDMARKS],
    /// Per frame, the weight each landmark had (0 where no person was found).
    weights: Vec<[f32; NUM_LANDMARKS]>,
    /// Per frame, how clearly (0..1) each landmark was seen (see [`seen_clearly`]).
    clear: Vec<[f32; NUM_LANDMARKS]>,
}

pub fn solve(input: &SolveInput<'_>, params: &SolveParams) -> Result<Solution, SolveError> {
    let finite = with_finite_poses(input.frames);
    let performer = segments::performer_only(&finite, input.width, input.height);
    let performer_seen: Vec<bool> = performer.iter().map(|f| f.pose.is_some()).collect();
    let found = performer_seen.iter().filter(|&&seen| seen).count();
    let tilt_seen = if params.level_camera {
        level::estimate_tilt_of_poses(&performer, input.fps)
    } else {
        CameraTilt::LEVEL
    };
    let performer = facing::correct_facing_flips(&performer, input.width, input.height, tilt_seen);
    let input = &SolveInput {
        frames: &performer,
        ..*input
    };
    check_person_found(input)?;
    let mut tracks = smooth_tracks(input, params);
    let camera = Camera::assumed(input.width, input.height);
    let mut root_cam = root_positions(&tracks, &camera, params);
    lift_to_rays(&mut tracks, &mut root_cam, &camera, params.image_blend);
    let camera_tilt = if params.level_camera {
        level::estimate_tilt(&tracks.world, &tracks.weights, input.fps)
    } else {
        CameraTilt::LEVEL
    };
    // From here on the world landmarks and `root_cam` are in level axes, not the camera's.
    level::level_tracks(camera_tilt.to_level(), &mut tracks, &mut root_cam);
    let anim_pts: Vec<[Vec3; NUM_LANDMARKS]> = tracks
        .world
        .iter()
        .map(|f| std::array::from_fn(|i| mp_to_anim(f[i])))
        .collect();
    let bones = rig::measure(&anim_pts, &tracks.weights);
    let skeleton = rig::build_skeleton(&bones);
    let seen = (
        tracks.times.as_slice(),
        tracks.clear.as_slice(),
        rig::HintSource::Tracked,
    );
    let mut frames = posed_frames(&anim_pts, seen, &root_cam, &skeleton);
    bridge_unseen(&mut frames, &tracks.times, &person_seen(&tracks.weights));
    let mut animation = Animation {
        skeleton,
        frame_time_s: 1.0 / input.fps,
        frames,
    };
    animation.enforce_quaternion_continuity();
    let before: Vec<Vec3> = animation
        .frames
        .iter()
        .map(|f| f.root_translation)
        .collect();
    let mirror = |v: Vec3| [-v[0], v[1], v[2]];
    let heel = [bones.heel_local, mirror(bones.heel_local)];
    let leg_len = bones.thigh + bones.shin;
    let feet_seen = feet_seen(&tracks.weights);
    let contacts = ground::ground_and_lock(
        &mut animation,
        &ground::Footing {
            times: &tracks.times,
            feet_seen: &feet_seen,
            feet_out_of_view: &feet_out_of_view(&feet_seen, &tracks.weights),
            knees_seen: &knees_seen(&tracks.weights),
            heel_local: heel,
            leg_len,
        },
        params.foot_lock,
    );
    start_at_origin(&mut animation);
    let shift: Vec<Vec3> = before
        .iter()
        .zip(&animation.frames)
        .map(|(b, f)| sub(*b, f.root_translation))
        .collect();
    let mut solution = Solution {
        animation,
        camera,
        world_to_camera: shift,
        camera_tilt,
        contacts,
        performer_seen,
        heels: heel,
        quality: Quality::default(),
    };
    solution.quality = quality::measure(&solution, input, found, &tracks.times, heel);
    Ok(solution)
}

/// The frames with every pose that holds a value that is not finite taken as a frame without
/// a person. The model gives none, but one would spread through the smoothing of its whole
/// track (a NaN visibility made the root's height NaN in every frame).
fn with_finite_poses(frames: &[PoseFrame]) -> Vec<PoseFrame> {
    let finite = |l: &Landmark| {
        [l.x, l.y, l.z, l.visibility, l.presence]
            .iter()
            .all(|v| v.is_finite())
    };
    frames
        .iter()
        .map(|f| PoseFrame {
            t_us: f.t_us,
            pose: f
                .pose
                .clone()
                .filter(|p| p.image.iter().chain(&p.world).all(finite)),
        })
        .collect()
}

/// A clip with no frames, or with a person in too few of them, has no motion to solve.
fn check_person_found(input: &SolveInput<'_>) -> Result<(), SolveError> {
    let n = input.frames.len();
    if n == 0 {
        return Err(SolveError::NoFrames);
    }
    let found = input.frames.iter().filter(|f| f.pose.is_some()).count();
    if found < min_frames_with_person(n, input.fps) {
        return Err(SolveError::NoPerson);
    }
    Ok(())
}

/// How many of a clip's `n` frames must show the performer for it to be a motion. A few stray
/// detections are not a performance: a tenth of the clip, and three frames (every frame of a
/// clip shorter than that). A person in view for half a second always is, however long the
/// rest of the clip: someone who walks in at the end of a 12 s clip is there, and "no person
/// detected" would be false.
fn min_frames_with_person(n: usize, fps: f64) -> usize {
    let half_a_second = if fps.is_finite() && fps > 0.0 {
        (0.5 * fps).ceil() as usize
    } else {
        n
    };
    3.min(n).max(n.div_ceil(10).min(half_a_second))
}

/// The skeleton's pose in each frame: joint rotations from the landmarks, the root at the
/// person's position in front of the camera.
/// `clear` says how clearly each landmark was seen in each frame (see [`Tracks::clear`]), and
/// `source` whether the landmarks are a video's or exact ([`rig::HintSource`]).
pub(crate) fn posed_frames(
    anim_pts: &[[Vec3; NUM_LANDMARKS]],
    (times_s, clear, source): (&[f64], &[[f32; NUM_LANDMARKS]], rig::HintSource),
    root_cam: &[Vec3],
    skeleton: &Skeleton,
) -> Vec<Frame> {
    let hints = rig::smoothed_limb_hints(anim_pts, times_s, clear, source);
    anim_pts
        .iter()
        .zip(root_cam)
        .zip(hints)
        .map(|((p, root), hints)| {
            let hip_c = midpoint(p[lm::LEFT_HIP], p[lm::RIGHT_HIP]);
            let global = rig::global_rotations(p, skeleton, &hints);
            Frame {
                root_translation: add(mp_to_anim(*root), hip_c),
                rotations: rig::to_local(&global),
            }
        })
        .collect()
}

/// Per frame: whether the performer was found in it (a frame without has weight 0 throughout).
fn person_seen(weights: &[[f32; NUM_LANDMARKS]]) -> Vec<bool> {
    weights.iter().map(|w| w.iter().any(|&w| w > 0.0)).collect()
}

/// Gives the frames without the performer joint rotations turned evenly (by time) from those of
/// the last frame with the performer before them to those of the first after them; frames
/// before the first or after the last such frame hold its rotations. Their landmark tracks are
/// straight lines between the two sides, drawn for each landmark on its own: between two poses
/// far apart they pass through bodies no one has (the hips crossing, a thigh pointing back),
/// which posed as they are spun limbs about themselves (the person-detection clip's thighs,
/// 169° in a frame between glimpses of a man walking in). The root keeps the straight line.
fn bridge_unseen(frames: &mut [Frame], times_s: &[f64], seen: &[bool]) {
    let seen_at: Vec<usize> = (0..frames.len()).filter(|&i| seen[i]).collect();
    let (Some(&first), Some(&last)) = (seen_at.first(), seen_at.last()) else {
        return;
    };
    for i in 0..first {
        frames[i].rotations = frames[first].rotations.clone();
    }
    for i in last + 1..frames.len() {
        frames[i].rotations = frames[last].rotations.clone();
    }
    for pair in seen_at.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let span = (times_s[b] - times_s[a]).max(f64::EPSILON);
        for i in a + 1..b {
            let t = ((times_s[i] - times_s[a]) / span).clamp(0.0, 1.0) as f32;
            let turned: Vec<Quat> = frames[a]
                .rotations
                .iter()
                .zip(&frames[b].rotations)
                .map(|(qa, qb)| qa.slerp(*qb, t))
                .collect();
            frames[i].rotations = turned;
        }
    }
}

/// Moves the clip so that it starts at the origin in X and Z; Y keeps the floor at 0.
pub(crate) fn start_at_origin(animation: &mut Animation) {
    let start = animation.frames[0].root_translation;
    for f in &mut animation.frames {
        f.root_translation[0] -= start[0];
        f.root_translation[2] -= start[2];
    }
}

fn smooth_tracks(input: &SolveInput<'_>, params: &SolveParams) -> Tracks {
    let n = input.frames.len();
    let times = frame_times(input);
    let mut world = vec![[[0.0f32; 3]; NUM_LANDMARKS]; n];
    let mut image = vec![[[0.0f32; 3]; NUM_LANDMARKS]; n];
    let mut weights = vec![[0.0f32; NUM_LANDMARKS]; n];
    let mut clear = vec![[0.0f32; NUM_LANDMARKS]; n];
    let mut image_known = [false; NUM_LANDMARKS];
    for k in 0..NUM_LANDMARKS {
        let raw = RawTrack::of_landmark(input, k);
        let smoothed = |values: &[Vec3], sigma_s: f64| {
            smooth::smooth_track(
                &smooth::Track {
                    times_s: &times,
                    values,
                    weights: &raw.weights,
                },
                sigma_s,
            )
        };
        // Where the landmark is seen it is followed closely; where it is not, only its trend.
        let clarity = seen_clearly(&times, &raw.visibility);
        let followed = |values: &[Vec3], sigma_s: f64| {
            let seen = smoothed(values, sigma_s)?;
            let hidden = smoothed(values, sigma_s.max(HIDDEN_SIGMA_S))?;
            let mixed = (seen.iter().zip(&hidden).zip(&clarity))
                .map(|((&seen, &hidden), &clear)| lerp(hidden, seen, clear));
            Some(mixed.collect::<Vec<Vec3>>())
        };
        let sw = followed(&raw.world, params.sigma_world_s);
        // A landmark never seen clearly anywhere in the clip (the legs of an upper-body clip)
        // has no image position worth fitting the root to; its image track is the model's
        // guess of a place outside the picture.
        let si = ever_seen(&raw.visibility)
            .then(|| followed(&raw.image, params.sigma_image_s))
            .flatten();
        image_known[k] = si.is_some();
        for i in 0..n {
            world[i][k] = sw.as_ref().map_or([0.0; 3], |v| v[i]);
            image[i][k] = si.as_ref().map_or([0.0; 3], |v| v[i]);
            weights[i][k] = raw.weights[i];
            clear[i][k] = clarity[i];
        }
    }
    Tracks {
        times,
        world,
        image,
        image_known,
        weights,
        clear,
    }
}

/// Each frame's time (s): its timestamp, else its index at the clip's rate.
fn frame_times(input: &SolveInput<'_>) -> Vec<f64> {
    input
        .frames
        .iter()
        .enumerate()
        .map(|(i, f)| {
            if f.t_us >= 0 {
                f.t_us as f64 / 1e6
            } else {
                i as f64 / input.fps
            }
        })
        .collect()
}

/// Gaussian sigma (s) for a landmark the model does not see (a hand behind the body, an arm out
/// of the picture): its guess jumps about from frame to frame, and only its slow trend is worth
/// following. Followed as closely as a seen one, the synthetic walk's hidden right forearm
/// swung 54° in a frame where the truth turns it at most 14°.
const HIDDEN_SIGMA_S: f64 = 0.2;

/// Visibilities at and below which a landmark counts as not seen, and at and above which as
/// seen clearly; in between it is followed partly as either.
const UNSEEN_VISIBILITY: f32 = 0.3;
const SEEN_VISIBILITY: f32 = 0.7;

/// Gaussian sigma (s) of a landmark's clarity: a landmark that comes into view is followed
/// closely over a few frames rather than from one frame to the next.
const CLARITY_SIGMA_S: f64 = 0.1;

/// Per frame, how clearly (0..1) a landmark of these visibilities is seen, smoothed in time.
/// Frames without the person count as not seen: a glimpse between gaps (the person-detection
/// clip's man walking in, seen in every other frame) is followed only in its trend, where
/// followed closely its limbs spun up to 78° a frame; the price is that a landmark seen clearly
/// as the person comes into view is followed partly in its trend for a tenth of a second.
fn seen_clearly(times: &[f64], visibility: &[Option<f32>]) -> Vec<f32> {
    let span = SEEN_VISIBILITY - UNSEEN_VISIBILITY;
    let clear: Vec<f32> = visibility
        .iter()
        .map(|v| ((v.unwrap_or(0.0) - UNSEEN_VISIBILITY) / span).clamp(0.0, 1.0))
        .collect();
    smooth::smooth_scalar(times, &clear, CLARITY_SIGMA_S)
}

/// Whether a landmark is seen clearly enough in some frame to say where it is
/// (visibility at least [`UNSEEN_VISIBILITY`]).
fn ever_seen(visibility: &[Option<f32>]) -> bool {
    visibility
        .iter()
        .any(|v| v.is_some_and(|v| v >= UNSEEN_VISIBILITY))
}

/// One landmark through the clip as tracked: world (m) and image (px) positions and their
/// weights (0 where no person was found).
struct RawTrack {
    world: Vec<Vec3>,
    image: Vec<Vec3>,
    weights: Vec<f32>,
    /// The model's visibility of the landmark; None where no person was found.
    visibility: Vec<Option<f32>>,
}

impl RawTrack {
    fn of_landmark(input: &SolveInput<'_>, k: usize) -> RawTrack {
        let (w, h) = (input.width as f32, input.height as f32);
        let n = input.frames.len();
        let mut t = RawTrack {
            world: Vec::with_capacity(n),
            image: Vec::with_capacity(n),
            weights: Vec::with_capacity(n),
            visibility: Vec::with_capacity(n),
        };
        for f in input.frames {
            match &f.pose {
                Some(p) => {
                    let (a, b) = (p.world[k], p.image[k]);
                    t.world.push([a.x, a.y, a.z]);
                    t.image.push([b.x * w, b.y * h, 0.0]);
                    let visibility = visibility_in_view(&b);
                    t.weights.push(landmark_weight(visibility));
                    t.visibility.push(Some(visibility));
                }
                None => {
                    t.world.push([0.0; 3]);
                    t.image.push([0.0; 3]);
                    t.weights.push(0.0);
                    t.visibility.push(None);
                }
            }
        }
        t
    }
}

/// How far (a share of the picture's width or height) outside the picture an image landmark may
/// lie and keep the visibility the model gives it; from there it fades to unseen over as much
/// again. A point just past the edge (a heel at the bottom of the frame) is still placed well.
const OUT_OF_VIEW_MARGIN: f32 = 0.02;

/// The model's visibility of image landmark `l`, taken as unseen where the landmark lies outside
/// the picture (see [`OUT_OF_VIEW_MARGIN`]). The model rates what it cannot see there as visible
/// all the same: the dance clip cut off above the feet has its left ankle guessed a tenth of the
/// picture below the bottom edge at visibility 0.7 and presence 0.64; counted as seen, that
/// guess set the floor and pulled the body toward itself.
pub(crate) fn visibility_in_view(l: &Landmark) -> f32 {
    let outside = [-l.x, l.x - 1.0, -l.y, l.y - 1.0]
        .into_iter()
        .fold(0.0f32, f32::max);
    let kept = (2.0 - outside / OUT_OF_VIEW_MARGIN).clamp(0.0, 1.0);
    l.visibility * kept
}

/// How much a tracked landmark counts in the smoothing and the fits. Occluded points still
/// count a little, so long occlusions stay defined.
fn landmark_weight(visibility: f32) -> f32 {
    0.02 + visibility * visibility
}

/// Each foot's landmarks, [left, right]: ankle, heel, toe tip.
const FEET: [[usize; 3]; 2] = [
    [lm::LEFT_ANKLE, lm::LEFT_HEEL, lm::LEFT_FOOT_INDEX],
    [lm::RIGHT_ANKLE, lm::RIGHT_HEEL, lm::RIGHT_FOOT_INDEX],
];

/// Per frame, [left, right]: whether the foot was clearly in view (its ankle, heel and toe
/// visible on average), so that where it is says something about the floor. Frames without a
/// person have weight 0 and so no foot in view.
fn feet_seen(weights: &[[f32; NUM_LANDMARKS]]) -> Vec<[bool; 2]> {
    let seen = landmark_weight(0.5);
    weights
        .iter()
        .map(|w| FEET.map(|points| points.iter().map(|&k| w[k]).sum::<f32>() / 3.0 >= seen))
        .collect()
}

/// Per frame, [left, right]: the knee was clearly in view (visibility 0.5 or more).
fn knees_seen(weights: &[[f32; NUM_LANDMARKS]]) -> Vec<[bool; 2]> {
    let seen = landmark_weight(0.5);
    (weights.iter())
        .map(|w| [lm::LEFT_KNEE, lm::RIGHT_KNEE].map(|k| w[k] >= seen))
        .collect()
}

/// Per frame, [left, right]: the performer was found but the foot was not seen (see
/// [`feet_seen`]).
fn feet_out_of_view(feet_seen: &[[bool; 2]], weights: &[[f32; NUM_LANDMARKS]]) -> Vec<[bool; 2]> {
    (feet_seen.iter().zip(person_seen(weights)))
        .map(|(seen, person)| seen.map(|foot| person && !foot))
        .collect()
}

/// Moves each world landmark part of the way onto the camera ray through its image landmark,
/// keeping its depth, so the 3D pose agrees with what the camera saw: as far as `blend` where
/// the landmark was seen clearly, less where less so, not at all where it was not seen. The
/// hip centre stays at the origin, as the rest of the solve expects: where the hips move, the
/// root in `root_cam` moves with them, so every landmark keeps the place it was lifted to.
fn lift_to_rays(tracks: &mut Tracks, root_cam: &mut [Vec3], camera: &Camera, blend: f32) {
    if blend <= 0.0 {
        return;
    }
    for (i, root) in root_cam.iter_mut().enumerate() {
        for k in 0..NUM_LANDMARKS {
            let w = tracks.world[i][k];
            let z = root[2] + w[2];
            if z <= 0.3 || !tracks.image_known[k] {
                continue;
            }
            let px = tracks.image[i][k];
            let on_ray = [
                (px[0] - camera.cx) / camera.focal_px * z - root[0],
                (px[1] - camera.cy) / camera.focal_px * z - root[1],
            ];
            // A hidden landmark's image position is a guess too: it does not pull its joint.
            let blend = blend * tracks.clear[i][k];
            tracks.world[i][k][0] = w[0] + blend * (on_ray[0] - w[0]);
            tracks.world[i][k][1] = w[1] + blend * (on_ray[1] - w[1]);
        }
        // Re-centred without moving: an upper-body clip's hips, off their rays where the fit
        // of the root followed the face and shoulders, were lifted with the rest, and taking
        // that lift off every landmark put the whole body 21 px above the person.
        let hc = midpoint(tracks.world[i][23], tracks.world[i][24]);
        for k in 0..NUM_LANDMARKS {
            tracks.world[i][k] = sub(tracks.world[i][k], hc);
        }
        *root = add(*root, hc);
    }
}

/// Hip-centre position in camera space (MediaPipe axes, metres) for every frame, smoothed.
fn root_positions(tracks: &Tracks, camera: &Camera, params: &SolveParams) -> Vec<Vec3> {
    let fits: Vec<Option<Vec3>> = (0..tracks.times.len())
        .map(|i| {
            let img: Vec<[f32; 2]> = tracks.image[i].iter().map(|p| [p[0], p[1]]).collect();
            // Frames without a pose still get a fit, from the tracks drawn across the gap;
            // a landmark with no image track gives none. Weighting a frame's landmarks alike
            // leaves its fit as it is: such a fit counts like any other in the smoothing
            // below, which keeps the frames either side of a short gap centred (a third of a
            // pixel nearer a clip without the gap than with those fits weighted 0.1).
            let w: Vec<f32> = tracks.weights[i]
                .iter()
                .zip(&tracks.image_known)
                .map(|(&w, &known)| match (known, w > 0.0) {
                    (false, _) => 0.0,
                    (true, true) => w,
                    (true, false) => 0.1,
                })
                .collect();
            camera.solve_translation(&tracks.world[i], &img, &w)
        })
        .collect();
    let weights: Vec<f32> = fits
        .iter()
        .map(|f| if f.is_some() { 1.0 } else { 0.0 })
        .collect();
    let values: Vec<Vec3> = fits.iter().map(|f| f.unwrap_or_default()).collect();
    let track = smooth::Track {
        times_s: &tracks.times,
        values: &values,
        weights: &weights,
    };
    let observed = person_seen(&tracks.weights);
    smooth::smooth_track_observed(&track, params.sigma_root_s, &observed)
        .unwrap_or_else(|| vec![[0.0, 0.0, 3.0]; values.len()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_landmark_outside_the_picture_is_not_seen() {
        let at = |x: f32, y: f32| Landmark {
            x,
            y,
            visibility: 0.8,
            ..Landmark::default()
        };
        // Inside, and just past an edge (a heel at the bottom of the frame): as the model says.
        for (x, y) in [(0.5, 0.5), (0.0, 1.0), (1.015, 0.5), (0.5, -0.02)] {
            assert_eq!(visibility_in_view(&at(x, y)), 0.8, "({x}, {y})");
        }
        // Fading out over as much again, then not seen at all.
        assert!((visibility_in_view(&at(0.5, 1.03)) - 0.4).abs() < 1e-4);
        assert!((visibility_in_view(&at(-0.03, 0.5)) - 0.4).abs() < 1e-4);
        for (x, y) in [(0.5, 1.045), (0.5, 1.11), (1.5, 0.5), (0.5, -0.3)] {
            assert_eq!(visibility_in_view(&at(x, y)), 0.0, "({x}, {y})");
        }
    }

    #[test]
    fn frames_without_the_performer_turn_evenly_from_one_side_to_the_other() {
        let turned = |deg: f32| Quat::from_axis_angle([0.0, 1.0, 0.0], deg.to_radians());
        // Seen in frames 1 and 5 (at 0° and 120°), lost in 0, 2-4 and 6; what was posed in the
        // lost frames is thrown away.
        let seen = [false, true, false, false, false, true, false];
        let posed = [170.0, 0.0, -90.0, 45.0, 180.0, 120.0, 10.0];
        let mut frames: Vec<Frame> = posed
            .iter()
            .map(|&deg| Frame {
                root_translation: [0.0; 3],
                rotations: vec![turned(deg), Quat::IDENTITY],
            })
            .collect();
        let times: Vec<f64> = (0..7).map(|i| i as f64 / 30.0).collect();
        bridge_unseen(&mut frames, &times, &seen);
        for (i, want) in [0.0, 0.0, 30.0, 60.0, 90.0, 120.0, 120.0]
            .into_iter()
            .enumerate()
        {
            let got = frames[i].rotations[0];
            assert!(
                got.angle_to(turned(want)).to_degrees() < 0.01,
                "frame {i}: {got:?}, want {want}°"
            );
            assert_eq!(frames[i].rotations[1], Quat::IDENTITY);
        }
    }
}
