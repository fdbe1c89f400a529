//! Shared helpers for the solver/exporter/engine tests: test data paths, the MediaPipe golden
//! files as `PoseFrame`s, the synthetic clip's ground truth and Procrustes-aligned errors.
#![allow(dead_code)]

use std::path::PathBuf;

use motion_capture::types::{Landmark, Pose, PoseFrame};
use serde_json::Value;

pub fn testdata() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata"
    ))
}

/// A golden video file as the pose stage would deliver it, with its size and frame rate.
pub struct Golden {
    pub frames: Vec<PoseFrame>,
    pub width: u32,
    pub height: u32,
    pub fps: f64,
}

impl Golden {
    /// The clip as the solver's input.
    pub fn input(&self) -> motion_capture::solve::SolveInput<'_> {
        motion_capture::solve::SolveInput {
            frames: &self.frames,
            width: self.width,
            height: self.height,
            fps: self.fps,
        }
    }
}

pub fn load_golden(name: &str) -> Golden {
    let path = testdata().join("golden").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let v: Value = serde_json::from_str(&text).expect("golden json");
    let frames: Vec<PoseFrame> = v["frames"]
        .as_array()
        .expect("frames")
        .iter()
        .map(golden_frame)
        .collect();
    let fps = if frames.len() > 1 {
        let span = (frames.last().unwrap().t_us - frames[0].t_us) as f64 / 1e6;
        ((frames.len() - 1) as f64 / span * 1000.0).round() / 1000.0
    } else {
        30.0
    };
    Golden {
        frames,
        width: v["width"].as_u64().unwrap() as u32,
        height: v["height"].as_u64().unwrap() as u32,
        fps,
    }
}

fn golden_frame(f: &Value) -> PoseFrame {
    let t_us = f["t_us"].as_i64().unwrap();
    if !f["found"].as_bool().unwrap() {
        return PoseFrame { t_us, pose: None };
    }
    let img = f["image"].as_array().unwrap();
    let world = f["world"].as_array().unwrap();
    let num = |a: &Value, i: usize| a[i].as_f64().unwrap() as f32;
    let image: [Landmark; 33] = std::array::from_fn(|k| {
        let a = &img[k];
        Landmark {
            x: num(a, 0),
            y: num(a, 1),
            z: num(a, 2),
            visibility: num(a, 3),
            presence: num(a, 4),
        }
    });
    let world: [Landmark; 33] = std::array::from_fn(|k| {
        let a = &world[k];
        Landmark {
            x: num(a, 0),
            y: num(a, 1),
            z: num(a, 2),
            visibility: image[k].visibility,
            presence: image[k].presence,
        }
    });
    PoseFrame {
        t_us,
        pose: Some(Pose { image, world }),
    }
}

/// Ground-truth joints of the synthetic walk, per frame, in the order of [`GT_JOINTS`], metres.
pub const GT_JOINTS: [&str; 12] = [
    "LeftArm",
    "RightArm",
    "LeftForeArm",
    "RightForeArm",
    "LeftHand",
    "RightHand",
    "LeftUpLeg",
    "RightUpLeg",
    "LeftLeg",
    "RightLeg",
    "LeftFoot",
    "RightFoot",
];

/// The same 12 joints as BlazePose landmark indices.
pub const MP_JOINTS: [usize; 12] = [11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28];

pub fn synthetic_ground_truth() -> Vec<Vec<[f64; 3]>> {
    let path = testdata().join("synthetic/mh_cmu131_02_walk/gt.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            GT_JOINTS
                .iter()
                .map(|j| {
                    let a = &f["j3d"][*j];
                    [
                        a[0].as_f64().unwrap(),
                        a[1].as_f64().unwrap(),
                        a[2].as_f64().unwrap(),
                    ]
                })
                .collect()
        })
        .collect()
}

/// Mean per-joint error after the best similarity transform (rotation, uniform scale,
/// translation) of `pred` onto `gt`, in the units of `gt`.
pub fn pa_mpjpe(pred: &[[f64; 3]], gt: &[[f64; 3]]) -> f64 {
    let n = pred.len() as f64;
    let mean = |p: &[[f64; 3]]| {
        let mut m = [0.0; 3];
        for q in p {
            for k in 0..3 {
                m[k] += q[k] / n;
            }
        }
        m
    };
    let (mp, mg) = (mean(pred), mean(gt));
    let a: Vec<[f64; 3]> = pred
        .iter()
        .map(|p| [p[0] - mp[0], p[1] - mp[1], p[2] - mp[2]])
        .collect();
    let b: Vec<[f64; 3]> = gt
        .iter()
        .map(|p| [p[0] - mg[0], p[1] - mg[1], p[2] - mg[2]])
        .collect();
    // Cross-covariance H = Σ a bᵀ; the optimal rotation from its SVD (via Horn's quaternion
    // method, which needs only a symmetric 4×4 eigenvector: power iteration on a shifted matrix).
    let mut h = [[0.0f64; 3]; 3];
    for (p, q) in a.iter().zip(&b) {
        for r in 0..3 {
            for c in 0..3 {
                h[r][c] += p[r] * q[c];
            }
        }
    }
    let (sxx, sxy, sxz) = (h[0][0], h[0][1], h[0][2]);
    let (syx, syy, syz) = (h[1][0], h[1][1], h[1][2]);
    let (szx, szy, szz) = (h[2][0], h[2][1], h[2][2]);
    let k = [
        [sxx + syy + szz, syz - szy, szx - sxz, sxy - syx],
        [syz - szy, sxx - syy - szz, sxy + syx, szx + sxz],
        [szx - sxz, sxy + syx, -sxx + syy - szz, syz + szy],
        [sxy - syx, szx + sxz, syz + szy, -sxx - syy + szz],
    ];
    let shift: f64 = k
        .iter()
        .map(|r| r.iter().map(|x| x.abs()).sum::<f64>())
        .fold(0.0, f64::max);
    let mut q = [1.0, 0.1, 0.1, 0.1];
    for _ in 0..2000 {
        let mut nq = [0.0; 4];
        for r in 0..4 {
            nq[r] = shift * q[r] + (0..4).map(|c| k[r][c] * q[c]).sum::<f64>();
        }
        let nn = nq.iter().map(|x| x * x).sum::<f64>().sqrt();
        q = nq.map(|x| x / nn);
    }
    let (w, x, y, z) = (q[0], q[1], q[2], q[3]);
    let rot = [
        [
            w * w + x * x - y * y - z * z,
            2.0 * (x * y - w * z),
            2.0 * (x * z + w * y),
        ],
        [
            2.0 * (x * y + w * z),
            w * w - x * x + y * y - z * z,
            2.0 * (y * z - w * x),
        ],
        [
            2.0 * (x * z - w * y),
            2.0 * (y * z + w * x),
            w * w - x * x - y * y + z * z,
        ],
    ];
    let rotated: Vec<[f64; 3]> = a
        .iter()
        .map(|p| std::array::from_fn(|r| (0..3).map(|c| rot[r][c] * p[c]).sum::<f64>()))
        .collect();
    let num: f64 = rotated
        .iter()
        .zip(&b)
        .map(|(p, q)| (0..3).map(|k| p[k] * q[k]).sum::<f64>())
        .sum();
    let den: f64 = rotated
        .iter()
        .map(|p| p.iter().map(|x| x * x).sum::<f64>())
        .sum();
    let s = num / den;
    rotated
        .iter()
        .zip(&b)
        .map(|(p, q)| {
            (0..3)
                .map(|k| (s * p[k] - q[k]).powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .sum::<f64>()
        / n
}

/// Mean joint acceleration (second difference / dt²) of per-frame joint sets, in units/s².
pub fn mean_acceleration(frames: &[Vec<[f64; 3]>], dt: f64) -> f64 {
    let (mut sum, mut count) = (0.0, 0usize);
    for t in 1..frames.len() - 1 {
        for ((next, cur), prev) in frames[t + 1].iter().zip(&frames[t]).zip(&frames[t - 1]) {
            let d: f64 = (0..3)
                .map(|k| (next[k] - 2.0 * cur[k] + prev[k]).powi(2))
                .sum::<f64>()
                .sqrt();
            sum += d;
            count += 1;
        }
    }
    sum / count as f64 / (dt * dt)
}
