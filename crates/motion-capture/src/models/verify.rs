//! Model files checked against their recorded sha256 before ONNX Runtime reads them.
//!
//! A damaged model does not always fail to load: a few zeroed kilobytes in a weight tensor load
//! fine and move every landmark, and nothing would tell the user. So each file is hashed before
//! its first use in the process, and again whenever its identity (size, times, inode: see
//! [`file_identity`]) changes. The service's worker loads the models for every job; hashing the
//! library, the models and their saved graphs (about 80 MB) each time would cost more than
//! loading them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};

use super::fetch::{read_manifest, sha256_file};
use super::optimized::file_identity;
use super::{MANIFEST_FILE, ModelError};

/// The files whose hash matched in this process, with the identity they had then.
static CHECKED: LazyLock<Mutex<HashMap<PathBuf, String>>> = LazyLock::new(Default::default);

/// The sha256 that `motiond models fetch` recorded for `file` in `models_dir`'s manifest.
pub(super) fn recorded_sha256(models_dir: &Path, file: &str) -> Result<String, ModelError> {
    let damaged = |reason: &str| ModelError::Damaged {
        path: models_dir.join(file),
        reason: reason.to_owned(),
    };
    let manifest = read_manifest(&models_dir.join(MANIFEST_FILE))
        .ok_or_else(|| damaged("no readable manifest.json beside it records its sha256"))?;
    manifest
        .files
        .get(file)
        .map(|entry| entry.sha256.clone())
        .ok_or_else(|| damaged("manifest.json does not list it"))
}

/// Checks that `path` hashes to `expected`, unless it already did in this process and has not
/// been replaced or rewritten since.
pub(super) fn check(path: &Path, expected: &str) -> Result<(), ModelError> {
    let identity = file_identity(path);
    let known = |checked: &HashMap<PathBuf, String>| {
        identity.is_some() && checked.get(path) == identity.as_ref()
    };
    if known(&CHECKED.lock().unwrap_or_else(|e| e.into_inner())) {
        return Ok(());
    }
    let actual = sha256_file(path)?;
    if actual != expected {
        return Err(ModelError::Damaged {
            path: path.to_owned(),
            reason: format!("its sha256 is {actual}, {expected} was recorded"),
        });
    }
    if let Some(identity) = identity {
        let mut checked = CHECKED.lock().unwrap_or_else(|e| e.into_inner());
        checked.insert(path.to_owned(), identity);
    }
    Ok(())
}

/// [`check`] against the hash the manifest records for `file` in `models_dir`.
pub(super) fn check_recorded(models_dir: &Path, file: &str) -> Result<PathBuf, ModelError> {
    let path = models_dir.join(file);
    check(&path, &recorded_sha256(models_dir, file)?)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::super::fetch::sha256_hex;
    use super::*;

    #[test]
    fn a_file_is_hashed_again_once_it_is_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("model.onnx");
        std::fs::write(&file, b"weights").unwrap();
        let good = sha256_hex(b"weights");
        check(&file, &good).unwrap();
        check(&file, &good).unwrap();

        // Rewritten in place: the modification time and the size change, so it is hashed again.
        std::fs::write(&file, b"weight").unwrap();
        let err = check(&file, &good).unwrap_err();
        assert!(matches!(err, ModelError::Damaged { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains(&good) && text.contains("motiond models fetch"),
            "{text}"
        );
    }

    #[test]
    fn a_file_the_manifest_does_not_vouch_for_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("model.onnx"), b"weights").unwrap();
        let err = check_recorded(dir.path(), "model.onnx")
            .unwrap_err()
            .to_string();
        assert!(err.contains("no readable manifest.json"), "{err}");

        std::fs::write(
            dir.path().join(MANIFEST_FILE),
            br#"{"converter": "x", "versions": {}, "sources": {}, "files": {}}"#,
        )
        .unwrap();
        let err = check_recorded(dir.path(), "model.onnx")
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not list it"), "{err}");
    }
}
