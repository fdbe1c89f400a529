//! Model files checked against their recorded sha256 before ONNX Runtime reads them.
//!
//! A damaged model does not always fail to load: a few zeroed kilobytes in a weight tensor load
//! fine and move every landmark, and nothing would tell the user. So each file is hashed before
//! it is first used, and again whenever its identity (size, times, inode: see
//! [`file_identity`]) changes, as any write or replacement changes it. Hashing the library, the
//! models and their saved graphs (about 80 MB) takes a tenth of a second, as long as a short
//! clip's whole extraction; so a file found intact is remembered, with its identity, in this
//! process and in a record beside it ([`RECORD_FILE`]) for the processes after it (each
//! `motiond extract` is one). A folder where the record cannot be written only costs the hashing.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};

use super::fetch::{read_manifest, sha256_file, write_atomically};
use super::optimized::file_identity;
use super::{MANIFEST_FILE, ModelError};

/// The record of the files found intact in a folder: one line per file, its name, identity
/// and sha256 separated by tabs.
const RECORD_FILE: &str = ".verified";

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

/// Checks that `path` hashes to `expected`, unless it was found to, in this process or by an
/// earlier one, and has not been replaced or rewritten since.
pub(super) fn check(path: &Path, expected: &str) -> Result<(), ModelError> {
    let identity = file_identity(path);
    let checked = || CHECKED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(identity) = &identity {
        if checked().get(path) == Some(identity) {
            return Ok(());
        }
        if Record::of_folder_of(path).vouches_for(path, identity, expected) {
            checked().insert(path.to_owned(), identity.clone());
            return Ok(());
        }
    }
    let actual = sha256_file(path)?;
    if actual != expected {
        return Err(ModelError::Damaged {
            path: path.to_owned(),
            reason: format!("its sha256 is {actual}, {expected} was recorded"),
        });
    }
    if let Some(identity) = identity {
        Record::of_folder_of(path).remember(path, &identity, expected);
        checked().insert(path.to_owned(), identity);
    }
    Ok(())
}

/// [`check`] against the hash the manifest records for `file` in `models_dir`.
pub(super) fn check_recorded(models_dir: &Path, file: &str) -> Result<PathBuf, ModelError> {
    let path = models_dir.join(file);
    check(&path, &recorded_sha256(models_dir, file)?)?;
    Ok(path)
}

/// A folder's [`RECORD_FILE`]: file name → (identity, sha256).
struct Record {
    path: PathBuf,
    entries: BTreeMap<String, (String, String)>,
}

impl Record {
    /// The record of the folder holding `file` (empty where there is none or it is unreadable).
    fn of_folder_of(file: &Path) -> Record {
        let path = file.with_file_name(RECORD_FILE);
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let entries = text
            .lines()
            .filter_map(|line| {
                let mut fields = line.split('\t');
                let (name, identity, sha256) = (fields.next()?, fields.next()?, fields.next()?);
                Some((name.to_owned(), (identity.to_owned(), sha256.to_owned())))
            })
            .collect();
        Record { path, entries }
    }

    fn name(file: &Path) -> String {
        file.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    fn vouches_for(&self, file: &Path, identity: &str, sha256: &str) -> bool {
        self.entries.get(&Self::name(file)) == Some(&(identity.to_owned(), sha256.to_owned()))
    }

    /// Adds `file` and writes the record through a temporary file renamed into place. Two
    /// processes doing so at once may lose one's line: the next process hashes that file again.
    fn remember(mut self, file: &Path, identity: &str, sha256: &str) {
        self.entries
            .insert(Self::name(file), (identity.to_owned(), sha256.to_owned()));
        let text: String = self
            .entries
            .iter()
            .map(|(name, (identity, sha256))| format!("{name}\t{identity}\t{sha256}\n"))
            .collect();
        if let Err(error) = write_atomically(&self.path, text.as_bytes()) {
            tracing::debug!(record = %self.path.display(), %error, "cannot record verified model files");
        }
    }
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
    fn a_later_process_takes_the_record_s_word_for_an_unchanged_file_only() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("model.onnx");
        std::fs::write(&file, b"weights").unwrap();
        let good = sha256_hex(b"weights");
        check(&file, &good).unwrap();
        let identity = file_identity(&file).unwrap();
        assert!(Record::of_folder_of(&file).vouches_for(&file, &identity, &good));
        // The record speaks for that identity and that hash only.
        assert!(!Record::of_folder_of(&file).vouches_for(&file, &identity, "00"));
        std::fs::write(&file, b"weight").unwrap();
        let changed = file_identity(&file).unwrap();
        assert!(!Record::of_folder_of(&file).vouches_for(&file, &changed, &good));
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
