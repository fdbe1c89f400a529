//! Goldens §11.3 and §11.4, stage by stage on every video frame:
//! - the landmark stage on each frame's golden `roi` (open loop): found/not found identical,
//!   visible image landmarks within 1 px and world landmarks within 5 mm, allowing a few frames
//!   per thousand above (inference differences between ORT and TFLite can tip a heatmap window);
//! - the detector on each `det_ran` frame: keypoints and the ROI built from them within 0.01 px.

mod golden_support;

use golden_support::*;
use motion_capture::pose::roi::roi_from_points;
use motion_capture::pose::{Tracker, TrackerOptions};

#[derive(Default)]
struct Totals {
    frames: usize,
    found_mismatch: usize,
    px: Vec<f32>,
    mm: Vec<f32>,
    det_frames: usize,
    det_kp: Vec<f32>,
    det_roi: Vec<f32>,
    det_mismatch: usize,
}

fn check_video(name: &str, tracker: &mut Tracker<'_>, t: &mut Totals) {
    let g = load(&format!("{name}.raw"));
    let gold = g["frames"].as_array().unwrap();
    let (mut px, mut mm) = (Vec::new(), Vec::new());
    for_each_frame(&source_path(&g), |frame| {
        let gf = &gold[frame.index as usize];
        let (w, h) = (frame.width, frame.height);
        if gf["det_ran"].as_bool().unwrap() {
            t.det_frames += 1;
            let ours = tracker.detect(&frame).unwrap();
            match (ours, gf.get("det")) {
                (Some(d), Some(gd)) => {
                    let kp = d
                        .keypoints
                        .iter()
                        .zip(gd["kp"].as_array().unwrap())
                        .map(|(k, gk)| {
                            let gk = f32s(gk);
                            (((k[0] - gk[0]) * w as f32).powi(2)
                                + ((k[1] - gk[1]) * h as f32).powi(2))
                            .sqrt()
                        })
                        .fold(0f32, f32::max);
                    t.det_kp.push(kp);
                    let r = roi_from_points(d.keypoints[0], d.keypoints[1], w, h);
                    t.det_roi.push(roi_px(&r, &roi(&gf["roi"]).unwrap(), w, h));
                }
                (None, None) => {}
                _ => t.det_mismatch += 1,
            }
        }
        let Some(r) = roi(&gf["roi"]) else { return };
        t.frames += 1;
        let (_, result) = tracker.landmarks_on_roi(&frame, &r).unwrap();
        let found = gf["found"].as_bool().unwrap();
        if result.is_some() != found {
            t.found_mismatch += 1;
            return;
        }
        if let Some(res) = result {
            let gi = lm33(&gf["image"]);
            px.push(max_px(&res.image, &gi, w, h));
            mm.push(max_mm(&res.world, &lm33(&gf["world"]), &gi));
        }
    });
    println!("{name}: image px {}", stats(&px));
    println!("{name}: world mm {}", stats(&mm));
    t.px.extend(px);
    t.mm.extend(mm);
}

#[test]
fn landmark_stage_and_detector_match_per_frame() {
    let mut models = models();
    let mut tracker = Tracker::new(&mut models, TrackerOptions::default());
    let mut t = Totals::default();
    for name in VIDEOS {
        check_video(name, &mut tracker, &mut t);
    }
    let (px, mm) = (stats(&t.px), stats(&t.mm));
    let over_px = t.px.iter().filter(|v| **v > 1.0).count();
    let over_mm = t.mm.iter().filter(|v| **v > 5.0).count();
    println!(
        "open loop, {} frames with a ROI, found mismatches {}",
        t.frames, t.found_mismatch
    );
    println!("open loop image px (vis>0.5, per-frame max): {px}; frames > 1 px: {over_px}");
    println!("open loop world mm (vis>0.5, per-frame max): {mm}; frames > 5 mm: {over_mm}");
    println!(
        "detector: {} det_ran frames, mismatches {}, keypoints px {}, ROI px {}",
        t.det_frames,
        t.det_mismatch,
        stats(&t.det_kp),
        stats(&t.det_roi)
    );
    // "A few frames per thousand": at most 0.5 %.
    let allowance = (t.px.len() as f32 * 0.005).ceil() as usize;
    assert!(
        t.found_mismatch <= allowance,
        "found/not-found differs on {} frames",
        t.found_mismatch
    );
    assert!(
        over_px <= allowance,
        "{over_px} frames above 1 px (allowed {allowance})"
    );
    assert!(
        over_mm <= allowance,
        "{over_mm} frames above 5 mm (allowed {allowance})"
    );
    // Measured here: p99 0.011 px and 0.058 mm (the goldens' 5-decimal rounding is ~0.01 px).
    assert!(px.p99 <= 0.05, "p99 {} px", px.p99);
    assert!(mm.p99 <= 0.3, "p99 {} mm", mm.p99);
    assert_eq!(t.det_mismatch, 0, "detector found/not found differs");
    assert!(
        stats(&t.det_kp).max <= 0.01 && stats(&t.det_roi).max <= 0.01,
        "detector keypoints/ROI beyond 0.01 px"
    );
}
