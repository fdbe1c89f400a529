//! `landmarks.json` (api-contract §9.5): the per-frame BlazePose landmarks the motion was
//! solved from, written by hand so that key order and number format are exactly the
//! contract's (at most 5 digits after the point).

use std::fmt::Write;

use crate::types::{NUM_LANDMARKS, PoseFrame};

/// BlazePose's 33 landmark names in model order.
pub const LANDMARK_NAMES: [&str; NUM_LANDMARKS] = [
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
];

/// What the file's header says besides the frames.
pub struct LandmarksMeta<'a> {
    /// e.g. `blazepose_full`.
    pub model: &'a str,
    pub fps: f64,
    pub width: u32,
    pub height: u32,
}

/// Renders the file. `scores[i]` is frame i's pose presence score (0 where none was found);
/// `performer[i]` says whether frame i's pose is the performer's (see
/// `Solution::performer_seen`): one set aside (someone else, a table taken for a body) is written
/// as not detected, as a frame without a pose is.
pub fn to_landmarks_json(
    meta: &LandmarksMeta<'_>,
    frames: &[PoseFrame],
    scores: &[f32],
    performer: &[bool],
) -> String {
    let mut s = String::with_capacity(256 + frames.len() * 2600);
    s.push_str("{\"format\":\"motiond.landmarks\",\"version\":1,");
    let _ = write!(
        s,
        "\"model\":{},\"fps\":{},\"frameCount\":{},\"width\":{},\"height\":{},\"landmarkNames\":[",
        serde_json::Value::from(meta.model),
        num(meta.fps),
        frames.len(),
        meta.width,
        meta.height
    );
    for (i, n) in LANDMARK_NAMES.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, "\"{n}\"");
    }
    s.push_str("],\"frames\":[");
    for (i, f) in frames.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        // The contract's time is the frame's place on the analysis grid.
        let time = i as f64 / meta.fps;
        let _ = write!(s, "{{\"index\":{i},\"time\":{},", num(time));
        let solved_from = f
            .pose
            .as_ref()
            .filter(|_| performer.get(i).copied().unwrap_or(true));
        match solved_from {
            None => s.push_str("\"detected\":false,\"score\":0.0,\"image\":null,\"world\":null}"),
            Some(p) => {
                let score = scores.get(i).copied().unwrap_or(1.0) as f64;
                let _ = write!(s, "\"detected\":true,\"score\":{},\"image\":[", num(score));
                for (k, l) in p.image.iter().enumerate() {
                    if k > 0 {
                        s.push(',');
                    }
                    let _ = write!(
                        s,
                        "[{},{},{},{}]",
                        num(l.x as f64),
                        num(l.y as f64),
                        num(l.z as f64),
                        num(l.visibility as f64)
                    );
                }
                s.push_str("],\"world\":[");
                for (k, l) in p.world.iter().enumerate() {
                    if k > 0 {
                        s.push(',');
                    }
                    let _ = write!(
                        s,
                        "[{},{},{}]",
                        num(l.x as f64),
                        num(l.y as f64),
                        num(l.z as f64)
                    );
                }
                s.push_str("]}");
            }
        }
    }
    s.push_str("]}");
    s
}

/// At most 5 digits after the point, trailing zeros trimmed, always a JSON number with a point.
pub fn num(v: f64) -> String {
    let v = if v.is_finite() { v } else { 0.0 };
    let mut s = format!("{v:.5}");
    while s.ends_with('0') && !s.ends_with(".0") {
        s.pop();
    }
    if s == "-0.0" { "0.0".to_string() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_trimmed_to_five_decimals() {
        assert_eq!(num(0.0333333333), "0.03333");
        assert_eq!(num(30.0), "30.0");
        assert_eq!(num(-0.000001), "0.0");
        assert_eq!(num(0.5), "0.5");
    }

    #[test]
    fn a_frame_without_a_person_is_null() {
        let meta = LandmarksMeta {
            model: "blazepose_full",
            fps: 30.0,
            width: 4,
            height: 2,
        };
        let s = to_landmarks_json(
            &meta,
            &[PoseFrame {
                t_us: 0,
                pose: None,
            }],
            &[0.0],
            &[false],
        );
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["frames"][0]["detected"], false);
        assert!(v["frames"][0]["image"].is_null());
        assert_eq!(v["landmarkNames"].as_array().unwrap().len(), 33);
        assert_eq!(v["frameCount"], 1);
    }

    #[test]
    fn a_pose_set_aside_is_not_detected() {
        let meta = LandmarksMeta {
            model: "blazepose_full",
            fps: 10.0,
            width: 4,
            height: 2,
        };
        let pose = crate::types::Pose {
            image: [crate::types::Landmark::default(); NUM_LANDMARKS],
            world: [crate::types::Landmark::default(); NUM_LANDMARKS],
        };
        let frame = |t_us| PoseFrame {
            t_us,
            pose: Some(pose.clone()),
        };
        let s = to_landmarks_json(
            &meta,
            &[frame(0), frame(100_000)],
            &[0.9, 0.8],
            &[false, true],
        );
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["frames"][0]["detected"], false);
        assert_eq!(v["frames"][0]["score"], 0.0);
        assert!(v["frames"][0]["world"].is_null());
        assert_eq!(v["frames"][1]["detected"], true);
        assert_eq!(v["frames"][1]["image"].as_array().unwrap().len(), 33);
    }
}
