//! Working folders that tell whether the process that made them is still alive, and the one
//! cleaner of what dead processes left.
//!
//! A process killed outright (SIGKILL, the OOM killer, a power cut) runs no clean-up, so its
//! temporary files and folders stay. The next process must tell those from ones a process at
//! work right now is writing, which may take long (a slow download, a long clip) and may run in
//! another PID namespace (a container sharing the folder). Age alone cannot tell: a young folder
//! may be dead and an old one busy. A lock can: a [`HeldDir`] holds an exclusive `flock` on a
//! file inside it for as long as it lives, and the kernel drops that lock when its holder dies,
//! however it dies. Files, and folders made by versions without the lock, fall back to age.

use std::fs::{File, TryLockError};
use std::path::Path;
use std::time::{Duration, SystemTime};

/// The lock file inside a [`HeldDir`].
const LOCK_NAME: &str = ".held";

/// A temporary file older than this was left by a process that died while writing it (a setup
/// killed mid-download, a session killed while saving a graph).
pub const ABANDONED_AFTER: Duration = Duration::from_secs(600);

/// A folder without a lock (made by a version before the locks, or on a file system without
/// them) older than this is abandoned. Much longer than for a file: such a folder's time changes
/// only when an entry comes or goes, and a long job writes none for a while.
pub const UNHELD_FOLDER_ABANDONED_AFTER: Duration = Duration::from_secs(86_400);

/// A temporary folder, removed when dropped, whose owner holds a lock on a file in it while it
/// lives (see the module's note).
#[derive(Debug)]
pub struct HeldDir {
    // Declared first so it is dropped first: the folder goes before the lock is let go, and a
    // cleaner never finds it unlocked while it still holds this run's files.
    dir: tempfile::TempDir,
    _lock: File,
}

impl HeldDir {
    /// A new folder in `parent` whose name starts with `prefix`, already locked.
    pub fn new_in(parent: &Path, prefix: &str) -> std::io::Result<HeldDir> {
        let dir = tempfile::Builder::new().prefix(prefix).tempdir_in(parent)?;
        // Locked under another name and only then named: a cleaner that finds `.held` always
        // finds it locked while this process lives.
        let pending = dir.path().join(".held-pending");
        let lock = File::create(&pending)?;
        match lock.try_lock() {
            Ok(()) => std::fs::rename(&pending, dir.path().join(LOCK_NAME))?,
            // A file system without locks (some network and FUSE mounts): the folder works
            // unheld, and cleaners treat it as one without a lock (by age).
            Err(TryLockError::Error(e)) if is_unsupported(&e) => {
                std::fs::remove_file(&pending)?;
            }
            Err(e) => {
                return Err(std::io::Error::other(format!(
                    "locking {}: {e}",
                    pending.display()
                )));
            }
        }
        Ok(HeldDir { dir, _lock: lock })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// What a process killed outright leaves: the folder, no longer locked.
    #[cfg(test)]
    pub(crate) fn abandon(self) -> std::path::PathBuf {
        self.dir.keep()
    }
}

/// Deletes what dead processes left in `dir` under names starting with `prefix`: a
/// [`HeldDir`] whose lock nobody holds, whatever its age; a file that nothing has written to for
/// [`ABANDONED_AFTER`]; a folder without the lock, for [`UNHELD_FOLDER_ABANDONED_AFTER`].
/// Errors are ignored: what cannot be removed now is tried again the next time.
pub fn remove_abandoned(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(prefix) {
            continue;
        }
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        let path = entry.path();
        if !meta.is_dir() {
            if idle_for(&meta, ABANDONED_AFTER) {
                let _ = std::fs::remove_file(path);
            }
            continue;
        }
        let abandoned = match File::open(path.join(LOCK_NAME)) {
            // Held while it is being removed, so that nothing mistakes the half-removed folder
            // for one of its own.
            Ok(lock) => lock.try_lock().is_ok().then_some(Some(lock)),
            Err(_) => idle_for(&meta, UNHELD_FOLDER_ABANDONED_AFTER).then_some(None),
        };
        if let Some(_held_while_removing) = abandoned {
            let _ = std::fs::remove_dir_all(path);
        }
    }
}

/// Whether a lock error says the file system has no locks at all.
fn is_unsupported(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::Unsupported
        || matches!(
            e.raw_os_error(),
            Some(libc::ENOLCK | libc::EOPNOTSUPP | libc::ENOSYS)
        )
}

/// Whether `dir` is a [`HeldDir`] whose process is alive: what a sweep by age must leave alone.
pub fn is_held(dir: &Path) -> bool {
    File::open(dir.join(LOCK_NAME)).is_ok_and(|lock| lock.try_lock().is_err())
}

/// Whether nothing has written to the entry of `meta` for `age`.
fn idle_for(meta: &std::fs::Metadata, age: Duration) -> bool {
    meta.modified().is_ok_and(|t| {
        SystemTime::now()
            .duration_since(t)
            .is_ok_and(|idle| idle > age)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_files::names_in;

    fn age(path: &Path, by: Duration) {
        File::options()
            .read(true)
            .open(path)
            .unwrap()
            .set_modified(SystemTime::now() - by)
            .unwrap();
    }

    #[test]
    fn a_live_folder_is_kept_however_old_and_a_dead_one_removed_however_young() {
        let parent = tempfile::tempdir().unwrap();
        let live = HeldDir::new_in(parent.path(), ".work-").unwrap();
        std::fs::write(live.path().join("half.bin"), b"busy").unwrap();
        age(live.path(), 2 * ABANDONED_AFTER);
        let dead = HeldDir::new_in(parent.path(), ".work-").unwrap();
        std::fs::write(dead.path().join("half.bin"), b"left").unwrap();
        File::open(dead.path().join(LOCK_NAME))
            .unwrap()
            .try_lock()
            .expect_err("locked while its owner lives");
        let dead_path = dead.abandon();

        remove_abandoned(parent.path(), ".work-");

        assert!(live.path().join("half.bin").is_file());
        assert!(!dead_path.exists());
        let live_name = live
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert_eq!(names_in(parent.path()), [live_name]);
    }

    #[test]
    fn files_and_folders_without_a_lock_go_by_age_and_other_names_stay() {
        let parent = tempfile::tempdir().unwrap();
        let p = parent.path();
        for folder in [".work-old", ".work-quiet", ".work-new", "old-but-other"] {
            std::fs::create_dir(p.join(folder)).unwrap();
        }
        for file in [".work-old.part", ".work-new.part"] {
            std::fs::write(p.join(file), b"x").unwrap();
        }
        for old in [".work-old", "old-but-other"] {
            age(&p.join(old), 2 * UNHELD_FOLDER_ABANDONED_AFTER);
        }
        // A file idle for twenty minutes is abandoned; a folder without a lock may be an older
        // version's job that has written nothing for as long.
        age(&p.join(".work-old.part"), 2 * ABANDONED_AFTER);
        age(&p.join(".work-quiet"), 2 * ABANDONED_AFTER);

        remove_abandoned(p, ".work-");

        assert_eq!(
            names_in(p),
            [
                ".work-new",
                ".work-new.part",
                ".work-quiet",
                "old-but-other"
            ]
        );
    }

    #[test]
    fn a_dropped_folder_leaves_nothing() {
        let parent = tempfile::tempdir().unwrap();
        let dir = HeldDir::new_in(parent.path(), ".work-").unwrap();
        assert_eq!(names_in(dir.path()), [LOCK_NAME]);
        drop(dir);
        assert!(names_in(parent.path()).is_empty());
    }
}
