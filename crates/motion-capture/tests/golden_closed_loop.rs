//! Goldens §11.7: our tracker over whole videos (closed loop), smoothing off (`*.raw.json`) and
//! on (`*.smooth.json`). Tiny inference differences feed back through the tracking ROI, so this
//! compares distributions: the found/det_ran pattern, and per-frame maximum errors of visible
//! landmarks on frames found by both. Bounds are what we measured here, with margin.

mod golden_support;

use golden_support::*;
use motion_capture::pose::{Tracker, TrackerOptions};

struct Run {
    frames: usize,
    pattern_mismatch: usize,
    px: Vec<f32>,
    mm: Vec<f32>,
}

fn run(name: &str, smooth: bool) -> Run {
    let g = load(&format!("{name}.{}", if smooth { "smooth" } else { "raw" }));
    let gold = g["frames"].as_array().unwrap();
    let mut models = models();
    let mut tracker = Tracker::new(
        &mut models,
        TrackerOptions {
            smooth_landmarks: smooth,
            static_image_mode: false,
        },
    );
    let mut r = Run {
        frames: 0,
        pattern_mismatch: 0,
        px: Vec::new(),
        mm: Vec::new(),
    };
    for_each_frame(&source_path(&g), |frame| {
        let gf = &gold[frame.index as usize];
        let dbg = tracker.process_debug(&frame).unwrap();
        r.frames += 1;
        let found = gf["found"].as_bool().unwrap();
        if dbg.pose.is_some() != found || dbg.det_ran != gf["det_ran"].as_bool().unwrap() {
            r.pattern_mismatch += 1;
        }
        if let (Some(p), true) = (&dbg.pose, found) {
            let gi = lm33(&gf["image"]);
            r.px.push(max_px(&p.image, &gi, frame.width, frame.height));
            r.mm.push(max_mm(&p.world, &lm33(&gf["world"]), &gi));
        }
    });
    let mode = if smooth { "smooth" } else { "raw" };
    println!(
        "closed loop {mode} {name}: {} frames, pattern mismatches {}; image px {}; world mm {}",
        r.frames,
        r.pattern_mismatch,
        stats(&r.px),
        stats(&r.mm)
    );
    r
}

/// (video, allowed pattern mismatches, bounds on the median and p95 of the per-frame max image
/// error in px, bound on the median world error in mm). Measured here (pose-report.md): the
/// largest figures of the raw and smooth runs, rounded up with margin. The Intel clips contain
/// false "table" poses whose presence hovers around 0.5 (golden README), so their found pattern
/// differs on a few percent of frames, as it did for the reference re-implementation.
const BOUNDS: [(&str, usize, f32, f32, f32); 11] = [
    ("videos__tfjs_pose_squats", 0, 4.0, 12.0, 15.0),
    ("videos__tfjs_pose_1_synthetic_dance", 0, 1.0, 3.0, 10.0),
    (
        "videos__mmhuman3d_single_person_basketball",
        0,
        15.0,
        30.0,
        40.0,
    ),
    ("videos__intel_asl_walk_upperbody", 0, 1.0, 3.0, 2.0),
    (
        "videos__intel_one_by_one_walk_in_10s",
        15,
        10.0,
        40.0,
        100.0,
    ),
    (
        "videos__intel_one_by_one_person_detection",
        150,
        6.0,
        40.0,
        25.0,
    ),
    ("videos__pose2sim_singleperson_cam01", 0, 2.0, 10.0, 8.0),
    ("videos__pose2sim_singleperson_cam02", 0, 2.0, 40.0, 8.0),
    ("videos__pose2sim_singleperson_cam03", 0, 2.0, 10.0, 8.0),
    ("videos__pose2sim_singleperson_cam04", 0, 2.0, 10.0, 8.0),
    ("synthetic__mh_cmu131_02_walk__video", 0, 1.5, 10.0, 12.0),
];

fn check(smooth: bool, skip_long: bool) {
    let mut failures = Vec::new();
    for (name, max_mismatch, med, p95, world_med) in BOUNDS {
        if skip_long && name == "videos__intel_one_by_one_person_detection" {
            continue;
        }
        let r = run(name, smooth);
        let s = stats(&r.px);
        if r.pattern_mismatch > max_mismatch || s.median > med || s.p95 > p95 {
            failures.push(format!(
                "{name}: mismatches {} median {} p95 {}",
                r.pattern_mismatch, s.median, s.p95
            ));
        }
        let w = stats(&r.mm);
        if w.median > world_med {
            failures.push(format!("{name}: world median {} mm", w.median));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn closed_loop_tracking_without_smoothing() {
    check(false, false);
}

/// The product runs with smoothing on; the long Intel clip is covered by the raw run.
#[test]
fn closed_loop_tracking_with_smoothing() {
    check(true, true);
}
