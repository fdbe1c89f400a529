//! The exported files checked by independent readers: the BVH by the PyPI `bvh` package
//! (forward kinematics must reproduce the solved joints), the glb by the Khronos glTF
//! Validator (0 errors), the archives for exact contents and byte-identical reruns.

mod solve_common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use motion_capture::export::{self, landmarks::LandmarksMeta};
use motion_capture::solve::{Solution, SolveParams, solve};
use solve_common::*;

const SETUP_HINT: &str =
    "run scripts/test.sh (it installs the Python test tools into .venv and npm ci in tools/js)";

fn workspace() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn solved(name: &str) -> (Golden, Solution) {
    let g = load_golden(name);
    let input = g.input();
    let sol = solve(&input, &SolveParams::default()).expect("solve");
    (g, sol)
}

fn export_to(dir: &Path, g: &Golden, sol: &Solution) -> export::Exported {
    let scores = vec![0.99; g.frames.len()];
    let meta = LandmarksMeta {
        model: "blazepose_full",
        fps: g.fps,
        width: g.width,
        height: g.height,
    };
    export::write_motion_files(dir, sol, &g.frames, &scores, &meta).expect("export")
}

#[test]
fn bvh_read_by_pypi_bvh_reproduces_the_solved_joints() {
    let (g, sol) = solved("synthetic__mh_cmu131_02_walk__video.raw.json");
    let dir = tempfile::tempdir().unwrap();
    let files = export_to(dir.path(), &g, &sol);
    let python = workspace().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} missing: {SETUP_HINT}",
        python.display()
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/export_bvh_fk.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(&files.bvh)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "python bvh reader failed ({SETUP_HINT}): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = v["joints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    let expected: Vec<&str> = sol
        .animation
        .skeleton
        .joints
        .iter()
        .map(|j| j.name.as_str())
        .collect();
    assert_eq!(names, expected);
    let frames = v["frames"].as_array().unwrap();
    assert_eq!(frames.len(), sol.animation.frames.len());
    let mut worst = 0.0f64;
    for (f, frame) in frames.iter().zip(&sol.animation.frames) {
        let ours = sol.animation.world_positions(frame);
        for (j, p) in f.as_array().unwrap().iter().enumerate() {
            for k in 0..3 {
                worst = worst.max((p[k].as_f64().unwrap() - ours[j][k] as f64).abs());
            }
        }
    }
    eprintln!("BVH FK vs solved joints: max {worst:.5} cm");
    assert!(worst < 0.05, "BVH forward kinematics differ by {worst} cm");
    // Contract §9.4 shape: 69 numbers per frame line, Frame Time with 7 decimals.
    let text = std::fs::read_to_string(&files.bvh).unwrap();
    let motion = text.split("MOTION\n").nth(1).unwrap();
    let mut lines = motion.lines();
    assert_eq!(lines.next().unwrap(), format!("Frames: {}", g.frames.len()));
    assert_eq!(lines.next().unwrap(), "Frame Time: 0.0333333");
    for l in lines {
        assert_eq!(l.split(' ').count(), 69);
        assert!(!l.contains('e') && !l.contains('E'));
    }
    // The rest pose is a T-pose facing +Z: arms along ±X, legs down.
    let rest = sol.animation.skeleton.rest_positions();
    let idx = |n: &str| sol.animation.skeleton.index_of(n).unwrap();
    assert!(rest[idx("LeftHand")][0] > rest[idx("LeftArm")][0] + 30.0);
    assert!(rest[idx("RightHand")][0] < rest[idx("RightArm")][0] - 30.0);
    assert!((rest[idx("LeftHand")][1] - rest[idx("LeftArm")][1]).abs() < 1e-3);
    assert!(rest[idx("LeftFoot")][1] < rest[idx("LeftUpLeg")][1] - 60.0);
}

#[test]
fn glb_passes_the_khronos_validator() {
    for name in [
        "synthetic__mh_cmu131_02_walk__video.raw.json",
        "videos__intel_asl_walk_upperbody.smooth.json",
    ] {
        let (g, sol) = solved(name);
        let dir = tempfile::tempdir().unwrap();
        let files = export_to(dir.path(), &g, &sol);
        let tools = workspace().join("tools/js");
        assert!(
            tools.join("node_modules/gltf-validator").exists(),
            "gltf-validator missing: {SETUP_HINT}"
        );
        let out = Command::new("node")
            .arg(tools.join("validate_gltf.mjs"))
            .arg(&files.glb)
            .output()
            .expect("node runs");
        assert!(
            out.status.success(),
            "validator failed to run: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        eprintln!("{name}: {report}");
        assert_eq!(report["numErrors"], 0, "{report}");
    }
}

#[test]
fn archives_hold_exactly_the_contract_entries_and_are_reproducible() {
    let (g, sol) = solved("videos__tfjs_pose_squats.smooth.json");
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let fa = export_to(a.path(), &g, &sol);
    let fb = export_to(b.path(), &g, &sol);
    for (x, y) in [(&fa.bvh_zip, &fb.bvh_zip), (&fa.binary_zip, &fb.binary_zip)] {
        assert_eq!(
            std::fs::read(x).unwrap(),
            std::fs::read(y).unwrap(),
            "{} differs between runs",
            x.display()
        );
    }
    let entries = |p: &Path| {
        let mut z = zip::ZipArchive::new(std::fs::File::open(p).unwrap()).unwrap();
        (0..z.len())
            .map(|i| {
                let mut e = z.by_index(i).unwrap();
                assert_eq!(e.compression(), zip::CompressionMethod::Deflated);
                let mut bytes = Vec::new();
                e.read_to_end(&mut bytes).unwrap();
                (e.name().to_string(), bytes)
            })
            .collect::<Vec<_>>()
    };
    let bvh_zip = entries(&fa.bvh_zip);
    assert_eq!(bvh_zip.len(), 1);
    assert_eq!(bvh_zip[0].0, "motion.bvh");
    assert_eq!(bvh_zip[0].1, std::fs::read(&fa.bvh).unwrap());
    let bin = entries(&fa.binary_zip);
    assert_eq!(
        bin.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
        ["motion.glb", "landmarks.json"]
    );
    assert_eq!(&bin[0].1[..4], b"glTF");
    let lm: serde_json::Value = serde_json::from_slice(&bin[1].1).unwrap();
    assert_eq!(lm["format"], "motiond.landmarks");
    assert_eq!(lm["frameCount"], g.frames.len());
    assert_eq!(lm["frames"][0]["image"].as_array().unwrap().len(), 33);
    assert_eq!(lm["frames"][0]["image"][0].as_array().unwrap().len(), 4);
    assert_eq!(lm["frames"][0]["world"][0].as_array().unwrap().len(), 3);
    let q: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&fa.quality).unwrap()).unwrap();
    eprintln!("squats quality: {q}");
    assert_eq!(q["personFoundRatio"], 1.0);
    assert!(q["reprojectionErrorPx"].as_f64().unwrap() < 40.0, "{q}");
}
