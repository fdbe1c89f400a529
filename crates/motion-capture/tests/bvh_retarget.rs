//! Retargeting real clips onto the engine's 22-joint skeleton: every clip of the test data and
//! of the bundled catalog (the catalog's are byte-identical copies of test-data clips; both
//! folders are read, duplicates once), the retargeted joints against the source's own forward
//! kinematics, and the contract's shape of the result.

use std::path::PathBuf;

use motion_capture::animation::MIXAMO_JOINTS;
use motion_capture::animation::math::{Vec3, dist, dot, normalize_or};
use motion_capture::bvh::{self, Bvh, Retargeted};

fn workspace() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// Every `.bvh` of the test data and of `catalog/bvh`, sorted by name, each content once.
fn clips() -> Vec<(String, Vec<u8>)> {
    let dirs = [
        workspace().join("../shared/testdata/bvh"),
        workspace().join("catalog/bvh"),
    ];
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for dir in dirs {
        let entries =
            std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{} missing: {e}", dir.display()));
        let mut files: Vec<PathBuf> = entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "bvh"))
            .collect();
        files.sort();
        for path in files {
            let bytes = std::fs::read(&path).unwrap();
            if !out.iter().any(|(_, b)| *b == bytes) {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                out.push((name, bytes));
            }
        }
    }
    assert_eq!(out.len(), 12, "the catalog's clips are the test data's");
    out
}

/// The source joint at each compared engine joint: the first of the names the file has.
const COMPARED: [(&str, &[&str]); 8] = [
    ("LeftForeArm", &["LeftForeArm", "LeftElbow"]),
    ("RightForeArm", &["RightForeArm", "RightElbow"]),
    ("LeftHand", &["LeftWrist", "LeftHand"]),
    ("RightHand", &["RightWrist", "RightHand"]),
    ("LeftLeg", &["LeftLeg", "LeftKnee"]),
    ("RightLeg", &["RightLeg", "RightKnee"]),
    ("LeftFoot", &["LeftAnkle", "LeftFoot"]),
    ("RightFoot", &["RightAnkle", "RightFoot"]),
];

/// Largest and mean distance (cm) between the retargeted joints' forward kinematics and the
/// source's corresponding joints (normalised, then moved as the retargeting moved the clip),
/// over every frame and the [`COMPARED`] joints: (arms, legs).
fn joint_errors(source: &Bvh, r: &Retargeted) -> [(f32, f32); 2] {
    let skeleton = &r.animation.skeleton;
    let pairs: Vec<(usize, usize)> = COMPARED
        .iter()
        .map(|(ours, theirs)| {
            let theirs = theirs.iter().find_map(|n| source.find_joint(n)).unwrap();
            (skeleton.index_of(ours).unwrap(), theirs)
        })
        .collect();
    let mut acc = [(0.0f32, 0.0f32, 0usize); 2];
    for (f, frame) in r.animation.frames.iter().enumerate() {
        let ours = r.animation.world_positions(frame);
        let theirs = source.world_positions(f);
        for (k, &(o, t)) in pairs.iter().enumerate() {
            let p = r.normalization.apply(theirs[t]).map(|v| v as f32);
            let p: Vec3 = [p[0] + r.shift[0], p[1] + r.shift[1], p[2] + r.shift[2]];
            let e = dist(ours[o], p);
            let a = &mut acc[usize::from(k >= 4)];
            a.0 = a.0.max(e);
            a.1 += e;
            a.2 += 1;
        }
    }
    acc.map(|(max, sum, n)| (max, sum / n.max(1) as f32))
}

/// The bounds earned on the 12 clips (worst 6.2 cm on the arms of fair1 jumping, 0.96 cm on the
/// legs of CMU 01_01, as this test prints): the engine's skeleton places the shoulders by its
/// own spine and collar bones, so the arms differ more than the legs, whose bones it takes whole.
const MAX_ARM_ERROR_CM: f32 = 8.0;
const MAX_LEG_ERROR_CM: f32 = 1.5;

#[test]
fn every_clip_retargets_close_to_its_source_joints() {
    for (name, bytes) in clips() {
        let source = bvh::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let r = source.retarget().unwrap_or_else(|e| panic!("{name}: {e}"));
        let names: Vec<&str> = (r.animation.skeleton.joints.iter())
            .map(|j| j.name.as_str())
            .collect();
        assert_eq!(names, MIXAMO_JOINTS, "{name}");
        assert_eq!(r.animation.frames.len(), source.frame_count(), "{name}");
        assert_eq!(r.animation.frame_time_s, source.frame_time_s, "{name}");
        let [(arm_max, arm_mean), (leg_max, leg_mean)] = joint_errors(&source, &r);
        eprintln!(
            "{name}: elbows/wrists max {arm_max:.2} cm (mean {arm_mean:.2}), knees/ankles max \
             {leg_max:.2} cm (mean {leg_mean:.2})"
        );
        assert!(
            arm_max < MAX_ARM_ERROR_CM,
            "{name}: arms off by {arm_max} cm"
        );
        assert!(
            leg_max < MAX_LEG_ERROR_CM,
            "{name}: legs off by {leg_max} cm"
        );
        let first = r.animation.world_positions(&r.animation.frames[0]);
        assert!(
            first[0][0].abs() < 1e-3 && first[0][2].abs() < 1e-3,
            "{name}: {:?}",
            first[0]
        );
        // The floor: where the frames have their lowest point, all but the lowest tenth.
        let mut lowest = r.animation.lowest_points();
        lowest.sort_by(f32::total_cmp);
        let (n, floor) = (lowest.len(), lowest[lowest.len() / 10]);
        let (deepest, middle) = (lowest[0], lowest[n / 2]);
        eprintln!("{name}: lowest points: deepest {deepest:.2} cm, median {middle:.2} cm");
        assert!(floor.abs() < 1e-3, "{name}: the floor is at {floor} cm");
        // Measured: medians 0.1-2.4 cm, but 9.4 cm for the Rokoko dance (a video-made clip
        // that leaves the ground often); the deepest -0.1 to -8.9 cm (CMU 131_02's toe dipping
        // through its floor in frame 178). With the floor at the deepest point, 131_02's feet
        // stood 10.8 cm up in half its frames.
        assert!(middle < 10.0, "{name}: half the frames are {middle} cm up");
        assert!(deepest > -10.0, "{name}: a frame goes {deepest} cm under");
    }
}

#[test]
fn the_rest_pose_is_a_t_pose_facing_plus_z_whatever_the_source() {
    for (name, bytes) in clips() {
        let r = bvh::parse(&bytes).unwrap().retarget().unwrap();
        let sk = &r.animation.skeleton;
        let rest = sk.rest_positions();
        let at = |n: &str| rest[sk.index_of(n).unwrap()];
        assert!(at("LeftHand")[0] > at("LeftArm")[0] + 30.0, "{name}");
        assert!(at("RightHand")[0] < at("RightArm")[0] - 30.0, "{name}");
        assert!(at("Head")[1] > at("Hips")[1] + 40.0, "{name}");
        assert!(at("LeftFoot")[1] < at("LeftUpLeg")[1] - 60.0, "{name}");
        // The toes point forward (+Z) at rest.
        assert!(at("LeftToeBase")[2] > at("LeftFoot")[2], "{name}");
    }
}

#[test]
fn head_hands_and_feet_turn_as_the_sources_do() {
    // The landmarks on the face, hands and feet ride on their joints: the engine's head, hands
    // and feet turn from the first frame as the source's do, frame after frame.
    for (name, bytes) in clips() {
        let source = bvh::parse(&bytes).unwrap();
        let r = source.retarget().unwrap();
        let a = &r.animation;
        let (_, ours0) = a.world_pose(&a.frames[0]);
        let (_, theirs0) = source.world_pose(0);
        let mut worst = [0.0f32; 3];
        for (f, frame) in a.frames.iter().enumerate().step_by(5) {
            let (_, ours) = a.world_pose(frame);
            let (_, theirs) = source.world_pose(f);
            let parts = [
                ("Head", "Head"),
                ("LeftHand", "LeftWrist"),
                ("RightFoot", "RightAnkle"),
            ];
            for (k, (o, t)) in parts.into_iter().enumerate() {
                let t = [t, o].iter().find_map(|n| source.find_joint(n)).unwrap();
                let o = a.skeleton.index_of(o).unwrap();
                let turned = ours0[o].angle_to(ours[o]).to_degrees();
                let want = angle_between(&theirs0[t], &theirs[t]);
                worst[k] = worst[k].max((turned - want).abs());
            }
        }
        eprintln!("{name}: head, hand, foot turns differ by at most {worst:.1?}°");
        assert!(worst[0] < MAX_TURN_ERROR_DEG[0], "{name}: head {worst:?}°");
        assert!(worst[1] < MAX_TURN_ERROR_DEG[1], "{name}: hand {worst:?}°");
        assert!(worst[2] < MAX_TURN_ERROR_DEG[2], "{name}: foot {worst:?}°");
    }
}

/// Head, hand, foot: earned on the 12 clips (as the test prints). The head is exact (the solver
/// reads it from the ears and nose alone). The hands follow their sources to 0-16° in ten
/// clips, to 27° in fair1 dab (its hands turn up to 78° in a frame at 30 fps) and to 41° in CMU
/// 01_01, whose first frame is a reference pose the next frame leaves with a half turn of the
/// hand: the engine's first frame is a frame's average into that turn, and every later frame
/// is compared with it. Before the hints of exact landmarks were read as exact
/// (`rig::HintSource::Exact`: averaged over a frame either side, the forearm twisting as far as
/// the palm says), as a video's: 2-32° in nine clips, dab 61°, mocapbank 101°, 01_01 118°.
const MAX_TURN_ERROR_DEG: [f32; 3] = [0.5, 45.0, 20.0];

/// A hand of a retargeted clip never turns in a frame further than its source's does around that
/// frame (two frames either side, for the one-frame average of the hints), by more than a few
/// degrees: followed frame by frame, a punch's straight arm, whose bend plane is undefined, spun
/// the boxing clip's right hand 60° in one frame where the source's turned 8° (the hints of a
/// quarter-frame average); averaged over a tenth of a second, as a video's, no hand ever turned as
/// fast as its source's.
#[test]
fn a_retargeted_hand_turns_no_faster_than_its_source() {
    for (name, bytes) in clips() {
        let source = bvh::parse(&bytes).unwrap();
        let a = source.retarget().unwrap().animation;
        let hands = [("LeftHand", "LeftWrist"), ("RightHand", "RightWrist")].map(|(o, t)| {
            let t = [t, o].iter().find_map(|n| source.find_joint(n)).unwrap();
            (a.skeleton.index_of(o).unwrap(), t)
        });
        let ours: Vec<Vec<_>> = (a.frames.iter()).map(|f| a.world_pose(f).1).collect();
        let theirs: Vec<Vec<_>> = (0..a.frames.len())
            .map(|f| source.world_pose(f).1)
            .collect();
        let mut worst = 0.0f32;
        for f in 1..a.frames.len() {
            for &(o, t) in &hands {
                let ours_turn = ours[f - 1][o].angle_to(ours[f][o]).to_degrees();
                let around = f.saturating_sub(2).max(1)..(f + 3).min(a.frames.len());
                let theirs_turn = around
                    .map(|g| angle_between(&theirs[g - 1][t], &theirs[g][t]))
                    .fold(0.0f32, f32::max);
                worst = worst.max(ours_turn - theirs_turn);
            }
        }
        eprintln!("{name}: a hand turns at most {worst:.1}° a frame more than its source's");
        assert!(worst < 10.0, "{name}: {worst:.1}°");
    }
}

/// A forearm twists about itself, from its upper arm, no further than a forearm turns (about a
/// quarter turn either way from the rest's palm-down): a skinned forearm twisted further
/// collapses like a wrapped sweet. When the knuckles put every first frame's thumb toward the
/// body's front, the mocapbank clip's left forearm, held across the belly there, twisted up to
/// 174°, and the boxing clip's right one to 92°; now at most 85° (boxing; mocapbank 58°).
#[test]
fn a_retargeted_forearm_twists_no_further_than_a_forearm_turns() {
    for (name, bytes) in clips() {
        let a = bvh::parse(&bytes).unwrap().retarget().unwrap().animation;
        let joint = |n: &str| a.skeleton.index_of(n).unwrap();
        let mut worst = 0.0f32;
        for (fore, hand) in [("LeftForeArm", "LeftHand"), ("RightForeArm", "RightHand")] {
            let bone = normalize_or(a.skeleton.joints[joint(hand)].offset, [1.0, 0.0, 0.0]);
            for frame in &a.frames {
                let q = frame.rotations[joint(fore)];
                let about_the_bone = dot([q.x, q.y, q.z], bone);
                let twist = (2.0 * about_the_bone.atan2(q.w)).to_degrees();
                worst = worst.max(((twist + 180.0).rem_euclid(360.0) - 180.0).abs());
            }
        }
        eprintln!("{name}: a forearm twists at most {worst:.1}°");
        assert!(worst < 90.0, "{name}: {worst:.1}°");
    }
}

/// The angle (degrees) of the rotation from `a` to `b`: of aᵀ·b, from its trace.
fn angle_between(a: &bvh::Mat3, b: &bvh::Mat3) -> f32 {
    let trace: f64 = (0..3)
        .map(|i| (0..3).map(|k| a[k][i] * b[k][i]).sum::<f64>())
        .sum();
    ((trace - 1.0) / 2.0).clamp(-1.0, 1.0).acos().to_degrees() as f32
}

/// The dab clip with its joints renamed as `rename` says (every `ROOT`/`JOINT` line whose name
/// it knows).
fn renamed_dab(rename: impl Fn(&str) -> Option<String>) -> Vec<u8> {
    let path = workspace().join("../shared/testdata/bvh/animated_drawings_fair1_dab.bvh");
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            let trimmed = line.trim_start();
            let indent = &line[..line.len() - trimmed.len()];
            match trimmed.split_once(' ') {
                Some((kw @ ("ROOT" | "JOINT"), name)) => match rename(name.trim()) {
                    Some(new) => format!("{indent}{kw} {new}"),
                    None => line.to_string(),
                },
                _ => line.to_string(),
            }
        })
        .collect();
    (lines.join("\n") + "\n").into_bytes()
}

/// Rigs named by other tools (Daz/Poser's `lShldr`…, 3ds Max Biped's `Bip01 L Calf`…) are
/// matched as well as Mixamo's, to the same motion.
#[test]
fn daz_and_biped_names_are_matched_too() {
    let part = |name: &str| -> Option<(usize, String)> {
        let (k, rest) = if let Some(rest) = name.strip_prefix("Left") {
            (0, rest)
        } else {
            (1, name.strip_prefix("Right")?)
        };
        Some((k, rest.to_string()))
    };
    let daz = |name: &str| {
        let (k, rest) = part(name)?;
        let new = match rest.as_str() {
            "Shoulder" => "Collar",
            "Arm" => "Shldr",
            "UpLeg" => "Thigh",
            "Leg" => "Shin",
            "ToeBase" => "Toe",
            other => other,
        };
        Some(format!("{}{new}", ["l", "r"][k]))
    };
    let biped = |name: &str| {
        if name == "Head" {
            return Some("Bip01 Head".to_string());
        }
        let (k, rest) = part(name)?;
        let new = match rest.as_str() {
            "Shoulder" => "Clavicle",
            "Arm" => "UpperArm",
            "ForeArm" => "Forearm",
            "UpLeg" => "Thigh",
            "Leg" => "Calf",
            "ToeBase" => "Toe0",
            other => other,
        };
        Some(format!("Bip01 {} {new}", ["L", "R"][k]))
    };
    let original = bvh::parse(&renamed_dab(|_| None))
        .unwrap()
        .retarget()
        .unwrap();
    let biped_2009 = |name: &str| biped(name).map(|n| n.replace("Bip01", "Bip001"));
    let rigs = [
        ("daz", renamed_dab(daz)),
        ("biped", renamed_dab(biped)),
        ("biped 2009", renamed_dab(biped_2009)),
    ];
    for (rig, bytes) in rigs {
        let source = bvh::parse(&bytes).unwrap();
        assert!(source.find_joint("LeftArm").is_none(), "{rig}: renamed");
        let r = source.retarget().unwrap_or_else(|e| panic!("{rig}: {e}"));
        assert_eq!(r.animation, original.animation, "{rig}");
    }
}
