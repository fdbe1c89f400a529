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

/// Zeroes 4 KiB in the middle of `path`, keeping its size: a model damaged this way still loads.
fn zero_the_middle(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle..middle + 4096].fill(0);
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_damaged_file_is_refused_at_load_and_replaced_by_the_next_fetch() {
    let data = data_dir_with_cached_wheels();
    let models = data.path().join("models");
    let cache = data.path().join("cache");
    let full = [LandmarkModel::Full];
    let first = fetch_with(&no_clients(), &models, &cache, &full, &mut |_| {}).unwrap();
    zero_the_middle(&models.join(DETECTOR_FILE));
    let err = PoseModels::load(&models, LandmarkModel::Full)
        .err()
        .expect("a damaged model must not load");
    assert!(matches!(err, ModelError::Damaged { .. }), "{err}");
    assert!(err.to_string().contains("motiond models fetch"), "{err}");

    let again = fetch_with(&no_clients(), &models, &cache, &full, &mut |_| {}).unwrap();
    assert_eq!(again.written, [DETECTOR_FILE]);
    PoseModels::load(&models, LandmarkModel::Full).unwrap();
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

/// A program standing in for `python3 -m pip download … -d DIR …`: it copies the pinned wheels
/// from the shared cache into DIR, as a download would.
fn pip_copying_the_cached_wheels(dir: &Path) -> FetchTools {
    let script = dir.join("fake-python");
    let source = wheel_cache();
    let copies: String = WHEELS
        .iter()
        .map(|w| format!("cp '{}' \"$dest/\"\n", source.join(w).display()))
        .collect();
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nwhile [ $# -gt 0 ]; do [ \"$1\" = -d ] && dest=$2; shift; done\n{copies}"
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    FetchTools {
        python: script.display().to_string(),
        npm: "/nonexistent/npm".into(),
    }
}

#[test]
fn a_cached_package_cut_short_is_downloaded_again() {
    let data = tempfile::tempdir().unwrap();
    let cache = data.path().join("cache");
    let wheels = cache.join("wheels");
    std::fs::create_dir_all(&wheels).unwrap();
    // Copies, not links: the shared cache must stay whole.
    let whole = wheel_cache().join(WHEELS[0]);
    let bytes = std::fs::read(&whole).unwrap();
    std::fs::write(wheels.join(WHEELS[0]), &bytes[..bytes.len() / 2]).unwrap();
    let models = data.path().join("models");
    let mut steps = Vec::new();
    fetch_with(
        &pip_copying_the_cached_wheels(data.path()),
        &models,
        &cache,
        &[LandmarkModel::Full],
        &mut |p| steps.push(p.message.clone()),
    )
    .unwrap();
    assert!(
        steps.iter().any(|s| s.contains("downloading it again")),
        "{steps:?}"
    );
    assert_eq!(
        std::fs::metadata(wheels.join(WHEELS[0])).unwrap().len(),
        bytes.len() as u64
    );
    PoseModels::load(&models, LandmarkModel::Full).unwrap();
}

#[test]
fn what_a_killed_fetch_left_is_cleared_and_what_a_running_one_writes_is_not() {
    let data = data_dir_with_cached_wheels();
    let models = data.path().join("models");
    let cache = data.path().join("cache");
    std::fs::create_dir_all(&models).unwrap();
    // Older than any rule: a file's ten minutes, a folder without a lock's day.
    let long_ago = SystemTime::now() - std::time::Duration::from_secs(3 * 86_400);
    let age = |path: &Path| {
        std::fs::File::open(path)
            .unwrap()
            .set_modified(long_ago)
            .unwrap()
    };
    let left_file = models.join(".partial-dead");
    std::fs::write(&left_file, b"half a model").unwrap();
    age(&left_file);
    let left_download = cache.join("wheels/.wheels-downloadDEAD");
    std::fs::create_dir_all(&left_download).unwrap();
    std::fs::write(left_download.join("x.whl.part"), b"half a wheel").unwrap();
    age(&left_download);
    let busy = models.join(".partial-busy");
    std::fs::write(&busy, b"being written").unwrap();
    // Download folders say whether their fetch lives by a lock on `.held` inside them: one
    // killed a moment ago goes, one running for an hour stays.
    let held_download = |name: &str| {
        let dir = cache.join("npm").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("pkg.tgz.part"), b"half a package").unwrap();
        (
            dir.clone(),
            std::fs::File::create(dir.join(".held")).unwrap(),
        )
    };
    let (just_killed, _) = held_download(".npm-downloadKILLED");
    let (long_running, its_lock) = held_download(".npm-downloadLONG");
    its_lock.try_lock().unwrap();
    age(&long_running);

    fetch_with(&no_clients(), &models, &cache, &[], &mut |_| {}).unwrap();
    assert!(!left_file.exists() && !left_download.exists());
    assert!(!just_killed.exists());
    assert!(busy.exists(), "another fetch may be writing it right now");
    assert!(
        long_running.join("pkg.tgz.part").exists(),
        "a live download is left alone"
    );
}
