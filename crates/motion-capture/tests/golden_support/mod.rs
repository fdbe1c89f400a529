//! Shared helpers of the golden tests: reading `shared/testdata/golden/*.json`, decoding their
//! sources through our own frame source, loading the models, and summarising error figures.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use motion_capture::media::decode::decode_image;
use motion_capture::media::{DecodeOptions, FrameSource, Limits, probe, sniff_file};
use motion_capture::models::{LandmarkModel, PoseModels, test_models_dir};
use motion_capture::pose::Roi;
use motion_capture::types::{Landmark, NUM_LANDMARKS, RgbFrame};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

pub fn testdata() -> PathBuf {
    let p = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata"
    ));
    assert!(
        p.join("golden").is_dir(),
        "test data missing at {}: run scripts/test.sh",
        p.display()
    );
    p.to_path_buf()
}

/// Golden video files (base names without `.raw.json` / `.smooth.json`).
pub const VIDEOS: [&str; 11] = [
    "videos__tfjs_pose_squats",
    "videos__tfjs_pose_1_synthetic_dance",
    "videos__mmhuman3d_single_person_basketball",
    "videos__intel_asl_walk_upperbody",
    "videos__intel_one_by_one_walk_in_10s",
    "videos__intel_one_by_one_person_detection",
    "videos__pose2sim_singleperson_cam01",
    "videos__pose2sim_singleperson_cam02",
    "videos__pose2sim_singleperson_cam03",
    "videos__pose2sim_singleperson_cam04",
    "synthetic__mh_cmu131_02_walk__video",
];

pub const IMAGES: [&str; 6] = [
    "images__skimage_astronaut",
    "images__skimage_camera",
    "images__tfjs_pose_yoga",
    "images__tfjs_three_people",
    "images__ultralytics_bus",
    "images__ultralytics_zidane",
];

pub fn load(name: &str) -> Value {
    let path = testdata().join("golden").join(format!("{name}.json"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap()
}

pub fn source_path(golden: &Value) -> PathBuf {
    testdata().join(golden["source"].as_str().unwrap())
}

pub fn f32s(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

pub fn roi(v: &Value) -> Option<Roi> {
    let a = f32s(v.as_array().map(|_| v)?);
    Some(Roi {
        cx: a[0],
        cy: a[1],
        w: a[2],
        h: a[3],
        rotation: a[4],
    })
}

/// `image` rows `[x, y, z, vis, presence]` or `world`/`aux` rows `[x, y, z]`.
pub fn landmarks(v: &Value) -> Vec<Landmark> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let a = f32s(r);
            Landmark {
                x: a[0],
                y: a[1],
                z: a[2],
                visibility: a.get(3).copied().unwrap_or(0.0),
                presence: a.get(4).copied().unwrap_or(0.0),
            }
        })
        .collect()
}

pub fn lm33(v: &Value) -> [Landmark; NUM_LANDMARKS] {
    landmarks(v).try_into().unwrap()
}

pub fn md5_hex(data: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Decodes the golden's source with our frame source (video or one image) and hands each frame
/// to `f` as it arrives (never the whole clip in memory).
pub fn for_each_frame(src: &Path, mut f: impl FnMut(RgbFrame)) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let cancel = CancellationToken::new();
        let container = sniff_file(src).unwrap();
        let info = probe(src, container, &Limits::default(), &cancel)
            .await
            .unwrap();
        if container.is_image() {
            f(decode_image(src, &info, &Limits::default(), &cancel)
                .await
                .unwrap());
            return;
        }
        // Every golden video is 8-bit 4:2:0: its frames cross the pipe as YUV, so the goldens'
        // pixel hashes check our conversion against what MediaPipe was fed.
        let mut s = FrameSource::open(src, &info, &DecodeOptions::default(), &cancel).unwrap();
        assert!(s.pipes_yuv(), "{}: not piped as YUV", src.display());
        while let Some(frame) = s.next_frame().await {
            f(frame.unwrap());
        }
    })
}

/// The single frame of an image.
pub fn decode_image_frame(src: &Path) -> RgbFrame {
    let mut out = None;
    for_each_frame(src, |f| out = Some(f));
    out.unwrap()
}

pub fn models() -> PoseModels {
    PoseModels::load(&test_models_dir(), LandmarkModel::Full).expect("load models")
}

/// Maximum pixel distance between two sets of normalised landmarks, over those whose golden
/// visibility is above 0.5.
pub fn max_px(ours: &[Landmark], gold: &[Landmark], w: u32, h: u32) -> f32 {
    ours.iter()
        .zip(gold)
        .filter(|(_, g)| g.visibility > 0.5)
        .map(|(o, g)| (((o.x - g.x) * w as f32).powi(2) + ((o.y - g.y) * h as f32).powi(2)).sqrt())
        .fold(0.0, f32::max)
}

/// Maximum world distance in millimetres over landmarks whose golden visibility is above 0.5.
pub fn max_mm(ours: &[Landmark], gold: &[Landmark], gold_vis: &[Landmark]) -> f32 {
    ours.iter()
        .zip(gold)
        .zip(gold_vis)
        .filter(|(_, v)| v.visibility > 0.5)
        .map(|((o, g), _)| {
            1000.0 * ((o.x - g.x).powi(2) + (o.y - g.y).powi(2) + (o.z - g.z).powi(2)).sqrt()
        })
        .fold(0.0, f32::max)
}

/// Distance of two ROIs in pixels: centre, size, and the rotation as the arc at half the side.
pub fn roi_px(a: &Roi, b: &Roi, w: u32, h: u32) -> f32 {
    let (wf, hf) = (w as f32, h as f32);
    let centre = (((a.cx - b.cx) * wf).powi(2) + ((a.cy - b.cy) * hf).powi(2)).sqrt();
    let size = ((a.w - b.w) * wf).abs().max(((a.h - b.h) * hf).abs());
    let mut dr = (a.rotation - b.rotation).abs();
    if dr > std::f32::consts::PI {
        dr = 2.0 * std::f32::consts::PI - dr;
    }
    centre.max(size).max(dr * 0.5 * (a.w * wf).max(a.h * hf))
}

/// Summary of a list of per-frame figures.
pub struct Stats {
    pub n: usize,
    pub median: f32,
    pub p95: f32,
    pub p99: f32,
    pub max: f32,
}

pub fn stats(v: &[f32]) -> Stats {
    let mut s = v.to_vec();
    s.sort_by(f32::total_cmp);
    let q = |p: f32| {
        if s.is_empty() {
            0.0
        } else {
            s[((s.len() - 1) as f32 * p).round() as usize]
        }
    };
    Stats {
        n: s.len(),
        median: q(0.5),
        p95: q(0.95),
        p99: q(0.99),
        max: q(1.0),
    }
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "n={} median={:.4} p95={:.4} p99={:.4} max={:.4}",
            self.n, self.median, self.p95, self.p99, self.max
        )
    }
}
