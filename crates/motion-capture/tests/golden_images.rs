//! Goldens §11.2: static image mode on the six test images, real models, real ffmpeg decode.
//! Detector score within 1e-4, keypoints and ROI within 0.01 px, visible image landmarks within
//! 1 px (spec measured ≤ 0.34 px), world landmarks within 5 mm (spec measured ≤ 0.7 mm).

mod golden_support;

use golden_support::*;
use motion_capture::pose::{Tracker, TrackerOptions};

#[test]
fn static_images_match_mediapipe() {
    let mut models = models();
    let mut tracker = Tracker::new(
        &mut models,
        TrackerOptions {
            smooth_landmarks: false,
            static_image_mode: true,
        },
    );
    for name in IMAGES {
        let g = load(name);
        let frame = decode_image_frame(&source_path(&g));
        let (w, h) = (frame.width, frame.height);
        let dbg = tracker.process_debug(&frame).unwrap();
        assert!(dbg.det_ran);
        let found = g["found"].as_bool().unwrap();
        assert_eq!(dbg.pose.is_some(), found, "{name}: found");
        match (&dbg.detection, g.get("det")) {
            (Some(d), Some(gd)) => {
                let score_err = (d.score - gd["score"].as_f64().unwrap() as f32).abs();
                let kp_err = d
                    .keypoints
                    .iter()
                    .zip(gd["kp"].as_array().unwrap())
                    .map(|(k, gk)| {
                        let gk = f32s(gk);
                        (((k[0] - gk[0]) * w as f32).powi(2) + ((k[1] - gk[1]) * h as f32).powi(2))
                            .sqrt()
                    })
                    .fold(0f32, f32::max);
                let roi_err = roi_px(&dbg.roi.unwrap(), &roi(&g["roi"]).unwrap(), w, h);
                println!(
                    "{name}: detector score err {score_err:.2e}, keypoints {kp_err:.5} px, ROI {roi_err:.5} px"
                );
                assert!(
                    score_err <= 1e-4 && kp_err <= 0.01 && roi_err <= 0.01,
                    "{name}"
                );
            }
            (None, None) => println!("{name}: no detection, as in the golden"),
            (ours, gold) => panic!("{name}: detection ours {ours:?} vs golden {gold:?}"),
        }
        if let Some(pose) = &dbg.pose {
            let gi = lm33(&g["image"]);
            let px = max_px(&pose.image, &gi, w, h);
            let mm = max_mm(&pose.world, &lm33(&g["world"]), &gi);
            let score = (dbg.pose_score.unwrap() - g["pose_score"].as_f64().unwrap() as f32).abs();
            println!(
                "{name}: image landmarks (vis>0.5) max {px:.4} px, world max {mm:.4} mm, presence err {score:.2e}"
            );
            assert!(px <= 1.0, "{name}: image landmarks off by {px} px");
            assert!(mm <= 5.0, "{name}: world landmarks off by {mm} mm");
        }
    }
}
