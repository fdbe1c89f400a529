//! ONNX Runtime's graph optimisation, done once per machine instead of once per session.
//!
//! Optimising a model's graph (operator fusions, the NCHWc layout for this CPU's vector width)
//! is about two thirds of a session's start-up: ≈ 25 ms of wall time and 50 ms of CPU for each of
//! the two models, and every job loads both. ONNX Runtime can save the optimised graph; a session
//! that loads it with optimisation off runs the very same graph, so its outputs are identical
//! (tested in `tests/models_convert.rs`). The saved graph is only valid for the model file, the
//! ONNX Runtime library and the CPU it was made with, so its name carries a key of all three; a
//! saved graph that does not load is deleted and made again. Beside each graph a file
//! `<graph>.sha256` holds its hash, checked before the graph is loaded (a damaged graph may well
//! load, and then give other landmarks): written before the graph is renamed into place, so a
//! graph never stands without it. Two processes saving the same graph at once may leave one's
//! graph beside the other's hash; the next load then finds them apart and makes the graph again.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use super::fetch::{PARTIAL_PREFIX, sha256_file, sha256_hex, write_atomically};
use super::{ModelError, verify};
use crate::held_dir::remove_abandoned;

/// The folder of saved graphs, inside the models folder.
const FOLDER: &str = "optimized";

/// The suffix of the file beside a saved graph that holds the graph's sha256.
const HASH_SUFFIX: &str = ".sha256";

/// Graphs (and their hash files) being written start with this (and are never taken for saved ones).
const PENDING_PREFIX: &str = ".pending-";

/// Bumped when what a saved graph depends on changes in a way the key does not see: the session
/// settings that shape the graph (`runtime::build_session`: the optimisation level).
const KEY_VERSION: u32 = 1;

/// Where the optimised graph of the model file `model` is kept for the ONNX Runtime library whose
/// [`file_identity`] is `library`, or `None` where no key can be trusted (a CPU other than
/// x86-64, whose kernels we have not checked, or unreadable file metadata). The file may not exist
/// yet. Its name is `<model>-<version>-<cpu>.onnx`: the version part follows the model file and
/// the library, the CPU part this machine's CPU (hosts that share a data folder keep one graph
/// each).
pub(super) fn saved_graph_path(models_dir: &Path, model: &Path, library: &str) -> Option<PathBuf> {
    let features = cpu_features()?;
    let stem = model.file_stem()?.to_str()?;
    let version = format!("{KEY_VERSION}|{}|{library}", file_identity(model)?);
    let name = format!(
        "{stem}-{}-{}.onnx",
        short_hash(&version),
        short_hash(&features)
    );
    Some(models_dir.join(FOLDER).join(name))
}

/// Size, modification and change times and inode: `models fetch` installs new files by renaming
/// them into place, so a re-converted model or a new library changes this without reading
/// megabytes to hash them (and a copy that keeps the modification time still gets a new inode
/// and change time).
pub(super) fn file_identity(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    Some(format!(
        "{}|{}.{}|{}.{}|{}",
        meta.len(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec(),
        meta.ino()
    ))
}

/// The file that holds the sha256 of the saved graph `graph`.
fn hash_file(graph: &Path) -> PathBuf {
    let mut name = graph.as_os_str().to_owned();
    name.push(HASH_SUFFIX);
    PathBuf::from(name)
}

/// Checks the saved graph `graph` against the hash saved beside it.
pub(super) fn check_saved(graph: &Path) -> Result<(), ModelError> {
    let hash_file = hash_file(graph);
    let expected = std::fs::read_to_string(&hash_file)
        .map_err(ModelError::io(format!("reading {}", hash_file.display())))?;
    verify::check(graph, expected.trim())
}

/// Deletes the saved graph `graph` and its hash.
pub(super) fn remove_saved(graph: &Path) {
    let _ = std::fs::remove_file(graph);
    let _ = std::fs::remove_file(hash_file(graph));
}

fn short_hash(text: &str) -> String {
    sha256_hex(text.as_bytes())[..12].to_owned()
}

/// A saved graph's name (or its hash file's) split into (model, version, CPU); `None` for other
/// files.
fn graph_name_parts(name: &str) -> Option<(&str, &str, &str)> {
    if name.starts_with(PENDING_PREFIX) {
        return None;
    }
    let graph = name.strip_suffix(HASH_SUFFIX).unwrap_or(name);
    let mut parts = graph.strip_suffix(".onnx")?.rsplitn(3, '-');
    let cpu = parts.next()?;
    let version = parts.next()?;
    let model = parts.next()?;
    Some((model, version, cpu))
}

/// Whether saving graphs has failed in this process (a read-only or full models folder): later
/// sessions then stop trying, rather than optimising twice each time.
pub(super) struct SavingState(AtomicBool);

/// The process's [`SavingState`].
pub(super) static SAVING: SavingState = SavingState(AtomicBool::new(false));

impl SavingState {
    /// A fresh file beside `graph` for ONNX Runtime to write the optimised graph to, or `None`
    /// when saving has failed before or the folder cannot be made.
    pub(super) fn begin(&self, graph: &Path) -> Option<PendingGraph> {
        if self.0.load(Ordering::Relaxed) {
            return None;
        }
        let dir = graph.parent()?;
        let made = std::fs::create_dir_all(dir).and_then(|()| {
            // A random name: hosts sharing the folder may run under the same process id. It ends
            // in `.onnx` because ONNX Runtime picks the saved format from the extension.
            tempfile::Builder::new()
                .prefix(PENDING_PREFIX)
                .suffix(".onnx")
                .tempfile_in(dir)
        });
        match made {
            Ok(file) => Some(PendingGraph(file.into_temp_path())),
            Err(e) => {
                self.failed(&e);
                None
            }
        }
    }

    /// Records that saving failed (logged once per process).
    pub(super) fn failed(&self, error: &dyn std::fmt::Display) {
        if !self.0.swap(true, Ordering::Relaxed) {
            tracing::warn!(%error, "cannot save optimised model graphs; every session optimises its own");
        }
    }
}

/// A graph file being written by ONNX Runtime; deleted when dropped unless kept.
pub(super) struct PendingGraph(tempfile::TempPath);

impl PendingGraph {
    pub(super) fn path(&self) -> &Path {
        &self.0
    }

    /// Makes the written graph durable, saves its hash beside `graph` and renames it into place
    /// at `graph` (so that no session ever reads a half-written one), then deletes older versions
    /// of the same model's graph and pending files abandoned by dead processes. Failures only
    /// cost later sessions the shortcut.
    pub(super) fn keep(self, graph: &Path) {
        if make_durable(&self.0).is_err() {
            return;
        }
        let Ok(hash) = sha256_file(&self.0) else {
            return;
        };
        if write_atomically(&hash_file(graph), hash.as_bytes()).is_err()
            || self.0.persist(graph).is_err()
        {
            return;
        }
        if let (Some(dir), Some(name)) = (graph.parent(), graph.file_name()) {
            remove_outdated(dir, &name.to_string_lossy());
        }
    }
}

/// Makes a pending file readable like the models beside it (pending files are owner-only), for
/// services that run as another user than the one whose session saved it, and durable.
fn make_durable(path: &Path) -> std::io::Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))?;
    std::fs::File::open(path)?.sync_all()
}

/// Deletes, in the folder of saved graphs, the other versions of the model that `kept` (a saved
/// graph's file name) belongs to, whatever their CPU, and abandoned pending files.
fn remove_outdated(dir: &Path, kept: &str) {
    let Some((model, version, _)) = graph_name_parts(kept) else {
        return;
    };
    remove_abandoned(dir, PENDING_PREFIX);
    remove_abandoned(dir, PARTIAL_PREFIX);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if graph_name_parts(&name).is_some_and(|(m, v, _)| m == model && v != version) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
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
    use crate::test_files::names_in;

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_key_follows_the_model_file_and_the_library() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("pose_detection.onnx");
        std::fs::write(&model, b"model bytes").unwrap();
        let first = saved_graph_path(dir.path(), &model, "library 1").unwrap();
        assert_eq!(
            first,
            saved_graph_path(dir.path(), &model, "library 1").unwrap()
        );
        assert!(first.starts_with(dir.path().join(FOLDER)));
        let parts = |p: &Path| {
            let (m, v, c) = graph_name_parts(p.file_name().unwrap().to_str().unwrap()).unwrap();
            (m.to_owned(), v.to_owned(), c.to_owned())
        };
        let (model_name, version, cpu) = parts(&first);
        assert_eq!(
            (model_name.as_str(), version.len(), cpu.len()),
            ("pose_detection", 12, 12)
        );

        let other_library = saved_graph_path(dir.path(), &model, "library 2").unwrap();
        assert_ne!(parts(&other_library).1, version);
        // Replaced the way `models fetch` does it: a new file renamed into place.
        let new = dir.path().join("new.onnx");
        std::fs::write(&new, b"model bytes").unwrap();
        std::fs::rename(&new, &model).unwrap();
        let reconverted = parts(&saved_graph_path(dir.path(), &model, "library 1").unwrap());
        assert_ne!(reconverted.1, version, "same bytes, but another file");
        assert_eq!(reconverted.2, cpu, "same CPU");
    }

    #[test]
    fn no_identity_without_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("pose_detection.onnx");
        assert_eq!(file_identity(&model), None);
        assert_eq!(saved_graph_path(dir.path(), &model, "library"), None);
    }

    #[test]
    fn keeping_a_graph_removes_older_versions_of_that_model_only() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join(FOLDER);
        std::fs::create_dir(&folder).unwrap();
        for old in [
            "pose_landmark_full-000000000000-aaaaaaaaaaaa.onnx",
            "pose_landmark_full-000000000000-aaaaaaaaaaaa.onnx.sha256",
            "pose_landmark_full-000000000000-bbbbbbbbbbbb.onnx",
            "pose_landmark_full-333333333333-bbbbbbbbbbbb.onnx",
            "pose_landmark_lite-111111111111-aaaaaaaaaaaa.onnx",
            "pose_detection-222222222222-aaaaaaaaaaaa.onnx",
        ] {
            std::fs::write(folder.join(old), b"old").unwrap();
        }
        let abandoned = folder.join(format!("{PENDING_PREFIX}dead.onnx"));
        std::fs::write(&abandoned, b"half").unwrap();
        let long_ago = std::time::SystemTime::now() - 2 * crate::held_dir::ABANDONED_AFTER;
        std::fs::File::options()
            .write(true)
            .open(&abandoned)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
        let state = SavingState(AtomicBool::new(false));
        let graph = folder.join("pose_landmark_full-333333333333-aaaaaaaaaaaa.onnx");
        // Another process writing its graph right now: left alone.
        let busy = state.begin(&graph).unwrap();
        let pending = state.begin(&graph).unwrap();
        std::fs::write(pending.path(), b"new").unwrap();
        pending.keep(&graph);

        let busy_name = busy
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let mut expected = vec![
            busy_name,
            "pose_detection-222222222222-aaaaaaaaaaaa.onnx".to_owned(),
            "pose_landmark_full-333333333333-aaaaaaaaaaaa.onnx".to_owned(),
            "pose_landmark_full-333333333333-aaaaaaaaaaaa.onnx.sha256".to_owned(),
            // Another host's CPU, same version: kept.
            "pose_landmark_full-333333333333-bbbbbbbbbbbb.onnx".to_owned(),
            "pose_landmark_lite-111111111111-aaaaaaaaaaaa.onnx".to_owned(),
        ];
        expected.sort();
        assert_eq!(names_in(&folder), expected);
        assert_eq!(std::fs::read(&graph).unwrap(), b"new");
        check_saved(&graph).unwrap();
        std::fs::write(&graph, b"newer").unwrap();
        let err = check_saved(&graph).unwrap_err();
        assert!(matches!(err, ModelError::Damaged { .. }), "{err}");
        let mode = std::fs::metadata(&graph).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o644,
            "readable by every user, like the models"
        );
        drop(busy);
        assert!(
            !names_in(&folder)
                .iter()
                .any(|n| n.starts_with(PENDING_PREFIX))
        );
    }

    #[test]
    fn after_a_failure_or_where_the_folder_cannot_be_made_nothing_is_saved() {
        let dir = tempfile::tempdir().unwrap();
        // A file where the folder would go: create_dir_all fails, as in a read-only folder.
        std::fs::write(dir.path().join(FOLDER), b"not a folder").unwrap();
        let graph = dir.path().join(FOLDER).join("pose_detection-0-0.onnx");
        let state = SavingState(AtomicBool::new(false));
        assert!(state.begin(&graph).is_none());
        assert!(state.0.load(Ordering::Relaxed), "the failure is remembered");

        let writable = tempfile::tempdir().unwrap();
        let graph = writable.path().join(FOLDER).join("pose_detection-0-0.onnx");
        assert!(
            state.begin(&graph).is_none(),
            "no more attempts in this process"
        );
        assert!(SavingState(AtomicBool::new(false)).begin(&graph).is_some());
    }
}
