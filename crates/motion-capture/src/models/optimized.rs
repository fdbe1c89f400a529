//! ONNX Runtime's graph optimisation, done once per machine instead of once per session.
//!
//! Optimising a model's graph (operator fusions, the NCHWc layout for this CPU's vector width)
//! is about two thirds of a session's start-up: ≈ 25 ms of wall time and 50 ms of CPU for each of
//! the two models, and every job loads both. ONNX Runtime can save the optimised graph; a session
//! that loads it with optimisation off runs the very same graph, so its outputs are identical
//! (tested in `tests/models_convert.rs`). The saved graph is only valid for the model file, the
//! ONNX Runtime build and the CPU it was made with, so its name carries a key of all three; a
//! saved graph that does not load is deleted and made again.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::UNIX_EPOCH;

use super::ORT_LIBRARY_FILE;
use super::fetch::sha256_hex;

/// The folder of saved graphs, inside the models folder.
const FOLDER: &str = "optimized";

/// Bumped when what a saved graph depends on changes in a way the key does not see.
const KEY_VERSION: u32 = 1;

/// Where the optimised graph of the model file `model` is kept, or `None` where no key can be
/// trusted (a CPU other than x86-64, whose kernels we have not checked, or unreadable file
/// metadata). The file may not exist yet. Its name is `<model>-<version>-<cpu>.onnx`: the
/// version part follows the model file and the library, the CPU part this machine's CPU (hosts
/// that share a data folder keep one graph each).
pub(super) fn saved_graph_path(models_dir: &Path, model: &Path) -> Option<PathBuf> {
    let features = cpu_features()?;
    let stem = model.file_stem()?.to_str()?;
    let version = format!(
        "{KEY_VERSION}|{}|{}",
        file_identity(model)?,
        file_identity(&models_dir.join(ORT_LIBRARY_FILE))?
    );
    let name = format!(
        "{stem}-{}-{}.onnx",
        short_hash(&version),
        short_hash(&features)
    );
    Some(models_dir.join(FOLDER).join(name))
}

fn short_hash(text: &str) -> String {
    sha256_hex(text.as_bytes())[..12].to_owned()
}

/// A saved graph's name split into (model, version, CPU); `None` for other files.
fn graph_name_parts(name: &str) -> Option<(&str, &str, &str)> {
    let mut parts = name.strip_suffix(".onnx")?.rsplitn(3, '-');
    let cpu = parts.next()?;
    let version = parts.next()?;
    let model = parts.next()?;
    Some((model, version, cpu))
}

/// A fresh name beside `graph` for ONNX Runtime to write the graph to, before it is renamed into
/// place (so that no session ever reads a half-written graph), or `None` when the folder cannot be
/// made (a read-only models folder: sessions then optimise every time, as without this cache).
/// The name ends in `.onnx`: ONNX Runtime picks the saved format from the extension.
pub(super) fn temp_path_for(graph: &Path) -> Option<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    std::fs::create_dir_all(graph.parent()?).ok()?;
    let stem = graph.file_stem()?.to_str()?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    Some(graph.with_file_name(format!("{stem}.tmp-{}-{n}.onnx", std::process::id())))
}

/// Moves a graph ONNX Runtime has written to `temp` into place at `graph`, and deletes the
/// saved graphs of older versions of the same model (other version parts, any CPU). Failures
/// only cost the next session its shortcut.
pub(super) fn keep(temp: &Path, graph: &Path) {
    if std::fs::rename(temp, graph).is_err() {
        let _ = std::fs::remove_file(temp);
        return;
    }
    let name = graph.file_name().and_then(|n| n.to_str());
    let (Some(dir), Some((model, version, _))) = (graph.parent(), name.and_then(graph_name_parts))
    else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let other = entry.file_name();
        let outdated = other
            .to_str()
            .filter(|n| !n.contains(".tmp-"))
            .and_then(graph_name_parts)
            .is_some_and(|(m, v, _)| m == model && v != version);
        if outdated {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Size and modification time: `models fetch` installs new files by renaming them into place, so
/// a re-converted model or a new library changes the key without reading megabytes to hash them.
fn file_identity(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    let modified = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    Some(format!("{}@{}", meta.len(), modified.as_nanos()))
}

/// The instruction-set extensions ONNX Runtime's CPU kernels choose between (the NCHWc block
/// size and the convolution kernels follow the vector width).
#[cfg(target_arch = "x86_64")]
fn cpu_features() -> Option<String> {
    let detected = [
        ("sse4.1", std::arch::is_x86_feature_detected!("sse4.1")),
        ("avx", std::arch::is_x86_feature_detected!("avx")),
        ("avx2", std::arch::is_x86_feature_detected!("avx2")),
        ("fma", std::arch::is_x86_feature_detected!("fma")),
        ("f16c", std::arch::is_x86_feature_detected!("f16c")),
        ("avx512f", std::arch::is_x86_feature_detected!("avx512f")),
        ("avx512bw", std::arch::is_x86_feature_detected!("avx512bw")),
        ("avx512dq", std::arch::is_x86_feature_detected!("avx512dq")),
        ("avx512vl", std::arch::is_x86_feature_detected!("avx512vl")),
        (
            "avx512vnni",
            std::arch::is_x86_feature_detected!("avx512vnni"),
        ),
    ];
    let present: Vec<&str> = detected
        .iter()
        .filter(|(_, on)| *on)
        .map(|(name, _)| *name)
        .collect();
    Some(format!("x86_64:{}", present.join(",")))
}

#[cfg(not(target_arch = "x86_64"))]
fn cpu_features() -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn models_dir_with(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for f in files {
            std::fs::write(dir.path().join(f), b"model bytes").unwrap();
        }
        dir
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_key_follows_the_model_file_and_the_library() {
        let dir = models_dir_with(&["pose_detection.onnx", ORT_LIBRARY_FILE]);
        let model = dir.path().join("pose_detection.onnx");
        let first = saved_graph_path(dir.path(), &model).unwrap();
        assert_eq!(first, saved_graph_path(dir.path(), &model).unwrap());
        assert!(first.starts_with(dir.path().join(FOLDER)));
        let name = first.file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with("pose_detection-") && name.ends_with(".onnx"),
            "{name}"
        );

        std::fs::write(&model, b"a re-converted model").unwrap();
        let after_model = saved_graph_path(dir.path(), &model).unwrap();
        assert_ne!(first, after_model);
        let cpu_part =
            |p: &Path| graph_name_parts(p.file_name()?.to_str()?).map(|(_, _, c)| c.to_owned());
        assert_eq!(cpu_part(&first), cpu_part(&after_model), "same CPU");
        std::fs::write(dir.path().join(ORT_LIBRARY_FILE), b"another build").unwrap();
        assert_ne!(after_model, saved_graph_path(dir.path(), &model).unwrap());
    }

    #[test]
    fn no_key_without_the_library() {
        let dir = models_dir_with(&["pose_detection.onnx"]);
        let model = dir.path().join("pose_detection.onnx");
        assert_eq!(saved_graph_path(dir.path(), &model), None);
    }

    #[test]
    fn keeping_a_graph_removes_older_versions_of_that_model_only() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join(FOLDER);
        std::fs::create_dir(&folder).unwrap();
        for old in [
            "pose_landmark_full-000000000000-aaaaaaaaaaaa.onnx",
            "pose_landmark_full-000000000000-bbbbbbbbbbbb.onnx",
            "pose_landmark_full-333333333333-bbbbbbbbbbbb.onnx",
            "pose_landmark_lite-111111111111-aaaaaaaaaaaa.onnx",
            "pose_detection-222222222222-aaaaaaaaaaaa.onnx",
        ] {
            std::fs::write(folder.join(old), b"old").unwrap();
        }
        let graph = folder.join("pose_landmark_full-333333333333-aaaaaaaaaaaa.onnx");
        let temp = temp_path_for(&graph).unwrap();
        assert!(temp.to_str().unwrap().ends_with(".onnx"));
        std::fs::write(&temp, b"new").unwrap();
        keep(&temp, &graph);

        let mut left: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "pose_detection-222222222222-aaaaaaaaaaaa.onnx",
                // Another host's CPU, same version: kept.
                "pose_landmark_full-333333333333-aaaaaaaaaaaa.onnx",
                "pose_landmark_full-333333333333-bbbbbbbbbbbb.onnx",
                "pose_landmark_lite-111111111111-aaaaaaaaaaaa.onnx",
            ]
        );
        assert_eq!(std::fs::read(&graph).unwrap(), b"new");
    }

    #[test]
    fn a_models_folder_that_cannot_hold_the_cache_gives_no_temp_path() {
        let dir = tempfile::tempdir().unwrap();
        // A file where the folder would go: create_dir_all fails, as on a read-only folder.
        std::fs::write(dir.path().join(FOLDER), b"not a folder").unwrap();
        let graph = dir.path().join(FOLDER).join("pose_detection-0-0.onnx");
        assert_eq!(temp_path_for(&graph), None);
    }
}
