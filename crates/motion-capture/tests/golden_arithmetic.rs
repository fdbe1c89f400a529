//! Goldens §11.5 and §11.6: the tracking-ROI and smoothing arithmetic, no model involved.

mod golden_support;

use golden_support::*;
use motion_capture::pose::filters::{AUX_FILTER, LandmarksFilter, OutputSmoother};
use motion_capture::pose::roi::{object_scale, roi_from_points};
use motion_capture::types::Landmark;

/// §11.5: unfiltered `aux` + `t_us` → aux one-euro filter → ROI == `roi_next` within 0.001 px.
#[test]
fn tracking_roi_arithmetic_matches_roi_next() {
    let mut all = Vec::new();
    for name in VIDEOS {
        let g = load(&format!("{name}.raw"));
        let (w, h) = (
            g["width"].as_u64().unwrap() as u32,
            g["height"].as_u64().unwrap() as u32,
        );
        let mut filter = LandmarksFilter::<2>::new(AUX_FILTER);
        let mut errs = Vec::new();
        for f in g["frames"].as_array().unwrap() {
            if !f["found"].as_bool().unwrap() {
                filter.reset();
                continue;
            }
            let aux: [Landmark; 2] = landmarks(&f["aux"]).try_into().unwrap();
            let t = f["t_us"].as_i64().unwrap();
            let s = object_scale([aux[0].x, aux[0].y], [aux[1].x, aux[1].y], w, h);
            let a = filter.apply_image(t, s, &aux, w, h);
            let next = roi_from_points([a[0].x, a[0].y], [a[1].x, a[1].y], w, h);
            let gold = roi(&f["roi_next"]).unwrap();
            errs.push(roi_px(&next, &gold, w, h));
        }
        let st = stats(&errs);
        println!("tracking ROI {name}: px {st}");
        assert!(st.max <= 0.001, "{name}: tracking ROI off by {} px", st.max);
        all.extend(errs);
    }
    println!("tracking ROI, all videos: px {}", stats(&all));
}

/// §11.6: raw `image`/`world` (+ `aux` for the object scale) through the output filters ==
/// the smooth file: image ≤ 0.1 px, world ≤ 0.1 mm, visibility ≤ 1e-4.
#[test]
fn smoothing_arithmetic_matches_smooth_files() {
    for name in VIDEOS {
        let raw = load(&format!("{name}.raw"));
        let smooth = load(&format!("{name}.smooth"));
        let (w, h) = (
            raw["width"].as_u64().unwrap() as u32,
            raw["height"].as_u64().unwrap() as u32,
        );
        let mut sm = OutputSmoother::default();
        let (mut px, mut mm, mut vis) = (0f32, 0f32, 0f32);
        let frames = raw["frames"]
            .as_array()
            .unwrap()
            .iter()
            .zip(smooth["frames"].as_array().unwrap());
        for (r, s) in frames {
            assert_eq!(r["found"], s["found"], "{name}: raw and smooth runs differ");
            if !r["found"].as_bool().unwrap() {
                sm.no_pose();
                continue;
            }
            let aux = landmarks(&r["aux"]);
            let s_obj = object_scale([aux[0].x, aux[0].y], [aux[1].x, aux[1].y], w, h);
            let t = r["t_us"].as_i64().unwrap();
            let (img, wld) = sm.apply(t, s_obj, &lm33(&r["image"]), &lm33(&r["world"]), w, h);
            let (gi, gw) = (lm33(&s["image"]), lm33(&s["world"]));
            for k in 0..33 {
                let d = (((img[k].x - gi[k].x) * w as f32).powi(2)
                    + ((img[k].y - gi[k].y) * h as f32).powi(2))
                .sqrt();
                px = px.max(d);
                let dw = ((wld[k].x - gw[k].x).powi(2)
                    + (wld[k].y - gw[k].y).powi(2)
                    + (wld[k].z - gw[k].z).powi(2))
                .sqrt();
                mm = mm.max(dw * 1000.0);
                vis = vis.max((img[k].visibility - gi[k].visibility).abs());
            }
        }
        println!(
            "smoothing {name}: image max {px:.4} px, world max {mm:.4} mm, visibility max {vis:.2e}"
        );
        assert!(
            px <= 0.1 && mm <= 0.1 && vis <= 1e-4,
            "{name}: {px} px, {mm} mm, {vis}"
        );
    }
}
