//! `models::fetch` on the real cached wheels: first run converts, second run changes nothing.
//! The pip client is replaced by a program that does not exist, so the test proves that a cached
//! package is never downloaded again. Needs the wheel cache from `scripts/test.sh`.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use motion_capture::models::{
    DETECTOR_FILE, FetchTools, LandmarkModel, MANIFEST_FILE, ModelError, ORT_LIBRARY_FILE,
    PoseModels, fetch_with,
};

const WHEELS: [&str; 2] = [
    "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl",
    "onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl",
];

fn wheel_cache() -> PathBuf {
    let dir = std::env::var_os("MOTIOND_WHEEL_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.data/cache/wheels"));
    for wheel in WHEELS {
        assert!(
            dir.join(wheel).is_file(),
            "models missing: run scripts/test.sh (or `motiond models fetch --data-dir .data`); no {wheel} in {}",
            dir.display()
        );
    }
    dir
}

/// A data dir whose wheel cache holds links to (or copies of) the shared cached wheels.
fn data_dir_with_cached_wheels() -> tempfile::TempDir {
    let data = tempfile::tempdir().unwrap();
    let wheels = data.path().join("cache/wheels");
    std::fs::create_dir_all(&wheels).unwrap();
    let source = wheel_cache();
    for wheel in WHEELS {
        if std::fs::hard_link(source.join(wheel), wheels.join(wheel)).is_err() {
            std::fs::copy(source.join(wheel), wheels.join(wheel)).unwrap();
        }
    }
    data
}

fn no_clients() -> FetchTools {
    FetchTools {
        python: "/nonexistent/python3".into(),
        npm: "/nonexistent/npm".into(),
    }
}

fn mtimes(dir: &Path) -> Vec<(String, SystemTime)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().unwrap().modified().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn fetch_is_idempotent_and_uses_the_cache() {
    let data = data_dir_with_cached_wheels();
    let models = data.path().join("models");
    let cache = data.path().join("cache");
    let mut steps = Vec::new();

    let first = fetch_with(
        &no_clients(),
        &models,
        &cache,
        &[LandmarkModel::Full],
        &mut |p| steps.push(p.message.clone()),
    )
    .unwrap();
    let full = LandmarkModel::Full.file_name();
    assert_eq!(first.written, [ORT_LIBRARY_FILE, DETECTOR_FILE, full]);
    for file in [ORT_LIBRARY_FILE, DETECTOR_FILE, full, MANIFEST_FILE] {
        assert!(models.join(file).is_file(), "{file} missing");
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(models.join(MANIFEST_FILE)).unwrap()).unwrap();
    assert_eq!(manifest["versions"]["mediapipe"], "0.10.21");
    assert_eq!(manifest["versions"]["onnxruntime"], "1.31.1");
    assert_eq!(
        manifest["files"][DETECTOR_FILE]["member_sha256"],
        "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c"
    );
    assert!(steps.iter().any(|s| s.contains("converting")), "{steps:?}");

    let before = mtimes(&models);
    let second = fetch_with(
        &no_clients(),
        &models,
        &cache,
        &[LandmarkModel::Full],
        &mut |_| {},
    )
    .unwrap();
    assert!(
        second.written.is_empty(),
        "second run wrote {:?}",
        second.written
    );
    assert_eq!(second.files, first.files);
    assert_eq!(
        mtimes(&models),
        before,
        "second run must not touch any file"
    );

    // The fetched directory is loadable as is.
    let mut loaded = PoseModels::load(&models, LandmarkModel::Full).unwrap();
    let out = loaded.run_detector(&vec![0.0; 224 * 224 * 3]).unwrap();
    assert_eq!(out.scores.len(), 2254);
}

#[test]
fn a_damaged_file_is_replaced() {
    let data = data_dir_with_cached_wheels();
    let models = data.path().join("models");
    let cache = data.path().join("cache");
    let first = fetch_with(&no_clients(), &models, &cache, &[], &mut |_| {}).unwrap();
    std::fs::write(models.join(DETECTOR_FILE), b"damaged").unwrap();
    let again = fetch_with(&no_clients(), &models, &cache, &[], &mut |_| {}).unwrap();
    assert_eq!(again.written, [DETECTOR_FILE]);
    assert_eq!(
        again.files[DETECTOR_FILE].sha256,
        first.files[DETECTOR_FILE].sha256
    );
}

#[test]
fn a_missing_package_without_a_client_fails_with_the_command() {
    let data = tempfile::tempdir().unwrap();
    let err = fetch_with(
        &no_clients(),
        &data.path().join("models"),
        &data.path().join("cache"),
        &[],
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(err, ModelError::Tool { .. }), "{err}");
    assert!(err.to_string().contains("pip"), "{err}");
}
