//! Per-stage timing of the BlazePose pipeline on one test video (a benchmark, not a test):
//!
//!   cargo run --release -p motion-capture --example pose_stages -- [VIDEO] [MODELS_DIR]
//!
//! Prints the mean and p95 of: detector crop, landmark crop, detector inference, landmark
//! inference, landmark post-processing, and a whole tracked frame. Defaults: the squats clip of
//! `shared/testdata` and `.data/models`.

use std::path::PathBuf;
use std::time::Instant;

use motion_capture::media::{DecodeOptions, FrameSource, Limits, probe, sniff_file};
use motion_capture::models::{LandmarkModel, PoseModels};
use motion_capture::pose::crop::{
    Border, ImageRef, RectPx, TensorSpec, ValueRange, crop_to_tensor,
};
use motion_capture::pose::{Tracker, TrackerOptions};
use tokio_util::sync::CancellationToken;

fn summary(name: &str, v: &mut [f64]) {
    v.sort_by(f64::total_cmp);
    let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
    let p95 = v
        .get(((v.len() as f64 - 1.0) * 0.95) as usize)
        .copied()
        .unwrap_or(0.0);
    let min = v.first().copied().unwrap_or(0.0);
    println!(
        "{name:<28} mean {mean:>8.3} ms   p95 {p95:>8.3} ms   min {min:>8.3} ms   (n={})",
        v.len()
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut args = std::env::args().skip(1);
    let video = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/testdata/videos/tfjs_pose_squats.mp4"));
    let models_dir = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".data/models"));
    let cancel = CancellationToken::new();
    let info = probe(
        &video,
        sniff_file(&video).unwrap(),
        &Limits::default(),
        &cancel,
    )
    .await
    .unwrap();
    let mut src = FrameSource::open(&video, &info, &DecodeOptions::default(), &cancel).unwrap();
    let mut models = PoseModels::load(&models_dir, LandmarkModel::Full).unwrap();
    let mut tracker = Tracker::new(
        &mut models,
        TrackerOptions {
            smooth_landmarks: true,
            static_image_mode: false,
        },
    );
    let det_spec = TensorSpec {
        n: 224,
        border: Border::Zero,
        range: ValueRange::SIGNED,
    };
    let lm_spec = TensorSpec {
        n: 256,
        border: Border::Replicate,
        range: ValueRange::UNIT,
    };
    let (mut det_buf, mut lm_buf) = (vec![0f32; 224 * 224 * 3], vec![0f32; 256 * 256 * 3]);
    let (mut det_crop, mut lm_crop, mut frame_ms, mut lm_stage) = (vec![], vec![], vec![], vec![]);
    let mut last = None;
    while let Some(frame) = src.next_frame().await {
        let frame = frame.unwrap();
        let img = ImageRef {
            rgb: &frame.data,
            width: frame.width,
            height: frame.height,
        };
        let t = Instant::now();
        crop_to_tensor(
            img,
            RectPx::whole(frame.width, frame.height),
            &det_spec,
            &mut det_buf,
        );
        det_crop.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let dbg = tracker.process_debug(&frame).unwrap();
        frame_ms.push(t.elapsed().as_secs_f64() * 1e3);
        if let Some(roi) = dbg.roi {
            let rect = RectPx::from_roi(&roi, frame.width, frame.height);
            let t = Instant::now();
            crop_to_tensor(img, rect, &lm_spec, &mut lm_buf);
            lm_crop.push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            tracker.landmarks_on_roi(&frame, &roi).unwrap();
            lm_stage.push(t.elapsed().as_secs_f64() * 1e3);
            last = Some((frame.clone(), rect));
        }
    }
    // Steady state: the same crop repeated (frame in cache), the figure the hot path sees.
    let mut hot = Vec::new();
    if let Some((frame, rect)) = last {
        let img = ImageRef {
            rgb: &frame.data,
            width: frame.width,
            height: frame.height,
        };
        for _ in 0..200 {
            let t = Instant::now();
            crop_to_tensor(img, rect, &lm_spec, &mut lm_buf);
            hot.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    // The same crop size from a small (cache-resident) image: compute cost without memory stalls.
    let small = vec![128u8; 300 * 300 * 3];
    let mut cached = Vec::new();
    for _ in 0..200 {
        let img = ImageRef {
            rgb: &small,
            width: 300,
            height: 300,
        };
        let rect = RectPx {
            cx: 150.0,
            cy: 150.0,
            w: 280.0,
            h: 280.0,
            rotation: 0.1,
        };
        let t = Instant::now();
        crop_to_tensor(img, rect, &lm_spec, &mut lm_buf);
        cached.push(t.elapsed().as_secs_f64() * 1e3);
    }
    println!("video {} ({}x{})", video.display(), info.width, info.height);
    summary("landmark crop, 300² source", &mut cached);
    summary("detector crop 224", &mut det_crop);
    summary("landmark crop 256", &mut lm_crop);
    summary("landmark crop 256, repeated", &mut hot);
    summary("landmark stage (crop+model)", &mut lm_stage);
    summary("tracked frame (all stages)", &mut frame_ms);
}
