//! `FsBlobStore`: blobs as plain files under one folder.
//!
//! Keys are checked with `blob_keys::is_safe_key`, so no key can leave the folder. Writes go
//! to a temp file in `<root>/.tmp`, are fsynced, then renamed into place: a reader never
//! sees a half-written blob, and a crash leaves at most a temp file for the janitor.

use std::io::SeekFrom;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use motion_core::blob_keys::is_safe_key;
use motion_core::ports::{BlobRead, BlobStore, StoreError, StoreResult};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

#[derive(Debug, Clone)]
pub struct FsBlobStore {
    root: PathBuf,
    /// Held while folders are made for a blob (see [`FsBlobStore::make_folders`]), so that a
    /// writer of this process never finds a folder another one has made but not yet made
    /// durable. (Another process sharing the folder, `api` beside `worker`, may be found
    /// between its `mkdir` and its fsync: see [`FsBlobStore::make_missing_folders`].)
    making_folders: Arc<tokio::sync::Mutex<()>>,
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Unavailable(format!("{what} {}: {e}", path.display()))
}

/// One entry of a folder walked by `list_keys`.
struct ListedEntry {
    key: String,
    is_dir: bool,
}

/// The order `list_keys` gives keys in: by their `/`-separated parts, each compared as bytes
/// (the order of a walk that visits each folder's entries sorted by name: `a/b` before `a-c`).
fn key_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.split('/').cmp(b.split('/'))
}

/// Whether every key inside the folder `folder` comes before the key `after`.
fn folder_before(folder: &str, after: &str) -> bool {
    let depth = folder.split('/').count();
    folder.split('/').cmp(after.split('/').take(depth)).is_lt()
}

/// A file's modification time in ms since the epoch (0 when the system cannot tell).
fn modified_ms(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A write in `.tmp` older than this belongs to a process that died while writing it: writes
/// are single files, copied in seconds.
const ABANDONED_WRITE_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Deletes what processes killed mid-write left in `tmp` (a partial copy of a user's upload
/// would otherwise stay for good; no janitor looks there). Younger files may be another
/// process' writes in progress. Errors are ignored: the next start tries again.
async fn remove_abandoned_writes(tmp: &Path) {
    let Ok(mut entries) = tokio::fs::read_dir(tmp).await else {
        return;
    };
    let now = std::time::SystemTime::now();
    while let Ok(Some(entry)) = entries.next_entry().await {
        let abandoned = entry.metadata().await.is_ok_and(|m| {
            m.is_file()
                && m.modified().is_ok_and(|t| {
                    now.duration_since(t)
                        .is_ok_and(|age| age > ABANDONED_WRITE_AGE)
                })
        });
        if abandoned {
            let _ = tokio::fs::remove_file(entry.path()).await;
        }
    }
}

impl FsBlobStore {
    /// Uses (and creates) `root`.
    pub async fn open(root: &Path) -> StoreResult<Self> {
        let root_was_there = tokio::fs::try_exists(root).await.unwrap_or(true);
        create_private_dir(&root.join(".tmp")).await?;
        if !root_was_there {
            // A root made here must outlast a power cut too, as the folders made under it do.
            let parent = root.parent().filter(|p| !p.as_os_str().is_empty());
            sync_dir(parent.unwrap_or(Path::new("."))).await?;
        }
        remove_abandoned_writes(&root.join(".tmp")).await;
        // A folder made by an earlier version (0755) kept its 0644 files reachable: closing the
        // root to other users closes everything under it.
        // Not ours to change (another owner, sharing through its group): say so and go on.
        if let Err(e) = close_to_others(root) {
            tracing::warn!(error = %e, root = %root.display(), "the blob folder is open to other users");
        }
        Ok(Self {
            root: root.to_path_buf(),
            making_folders: Arc::default(),
        })
    }

    /// Opens from a `file:///abs/path` URL (`storage.url`).
    pub async fn open_url(url: &str) -> StoreResult<Self> {
        let path = url
            .strip_prefix("file://")
            .ok_or_else(|| StoreError::Internal(format!("not a file:// URL: {url}")))?;
        Self::open(Path::new(path)).await
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_of(&self, key: &str) -> StoreResult<PathBuf> {
        if !is_safe_key(key) {
            return Err(StoreError::Internal(format!("unsafe blob key {key:?}")));
        }
        Ok(self.root.join(key))
    }

    /// The folder is there and readable: its `.tmp`, made by [`Self::open`], can be looked at.
    /// With the folder gone (a disk not mounted, the folder moved away for a moment) every key
    /// looks absent; only under a reachable folder does an absent key mean a deleted blob.
    async fn check_root(&self) -> StoreResult<()> {
        let probe = self.root.join(".tmp");
        tokio::fs::metadata(&probe)
            .await
            .map(|_| ())
            .map_err(|e| io_err("stat", &probe, e))
    }

    /// The entries of `dir` as keys (paths relative to the root), sorted by name; none when
    /// the folder is not there (a delete may prune it while a walk passes by). The writes'
    /// `.tmp` holds no keys.
    async fn sorted_entries(&self, dir: &Path) -> StoreResult<Vec<ListedEntry>> {
        let mut read = match tokio::fs::read_dir(dir).await {
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("list", dir, e)),
        };
        let tmp = self.root.join(".tmp");
        let mut entries = Vec::new();
        while let Some(entry) = read
            .next_entry()
            .await
            .map_err(|e| io_err("list", dir, e))?
        {
            let path = entry.path();
            let Ok(kind) = entry.file_type().await else {
                continue; // gone meanwhile
            };
            let Ok(rel) = path.strip_prefix(&self.root) else {
                continue;
            };
            if path != tmp {
                entries.push(ListedEntry {
                    key: rel.to_string_lossy().replace('\\', "/"),
                    is_dir: kind.is_dir(),
                });
            }
        }
        entries.sort_by(|a, b| key_order(&a.key, &b.key));
        Ok(entries)
    }

    fn temp_path(&self) -> PathBuf {
        self.root
            .join(".tmp")
            .join(uuid::Uuid::new_v4().simple().to_string())
    }

    /// Writes `src` into a temp file, fsyncs it, renames it to `key` and syncs the folder.
    async fn write_atomic(&self, key: &str, src: Source<'_>) -> StoreResult<()> {
        let dest = self.path_of(key)?;
        // Making the key's folders with the root away would make an empty root in its place,
        // and the real one could not be moved back.
        self.check_root().await?;
        if let Some(parent) = dest.parent() {
            self.make_folders(parent).await?;
        }
        let tmp = self.temp_path();
        let result = async {
            let mut options = tokio::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            options.mode(0o600);
            let mut out = options
                .open(&tmp)
                .await
                .map_err(|e| io_err("create", &tmp, e))?;
            match src {
                Source::Bytes(b) => out
                    .write_all(b)
                    .await
                    .map_err(|e| io_err("write", &tmp, e))?,
                Source::File(p) => {
                    let mut input = tokio::fs::File::open(p)
                        .await
                        .map_err(|e| io_err("open", p, e))?;
                    tokio::io::copy(&mut input, &mut out)
                        .await
                        .map_err(|e| io_err("copy", p, e))?;
                }
            }
            out.flush().await.map_err(|e| io_err("flush", &tmp, e))?;
            out.sync_all().await.map_err(|e| io_err("fsync", &tmp, e))?;
            self.rename_into_place(&tmp, &dest).await?;
            // The rename is durable only once the directory entry is on disk (the folders
            // above were made durable as they were made); the row that points at this blob is
            // committed right after, with synchronous=FULL.
            if let Some(parent) = dest.parent() {
                sync_dir(parent).await?;
            }
            Ok(())
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        result
    }

    /// Renames a finished temp file to its key. A delete of the folder's last other blob may
    /// prune the folder between its creation and this rename: then it is made again, once.
    async fn rename_into_place(&self, tmp: &Path, dest: &Path) -> StoreResult<()> {
        match tokio::fs::rename(tmp, dest).await {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && tmp.exists() => {
                if let Some(parent) = dest.parent() {
                    self.make_folders(parent).await?;
                }
                tokio::fs::rename(tmp, dest).await
            }
            other => other,
        }
        .map_err(|e| io_err("rename", dest, e))
    }

    /// Makes `dir`, a folder under the root, and those above it that are missing, one at a
    /// time and private (see [`private_dir_builder`]), syncing the folder each is made in right
    /// after: an fsync of a file or of its own folder does not make that folder's entry in its
    /// parent durable on every file system (btrfs logs only the inode synced; ext4 and xfs
    /// happen to journal the `mkdir` with it), and a task's results lie in a folder made for
    /// them. A folder pruned by a delete while this walks down is made again; the root itself
    /// is never made here (see [`Self::check_root`]).
    ///
    /// The work runs to its end even when the caller is dropped (a client gone mid-upload, a
    /// cancelled job): cut between a `mkdir` and its parent's fsync, a folder would stand made
    /// but not durable, and the next writer, finding it made, would trust it.
    async fn make_folders(&self, dir: &Path) -> StoreResult<()> {
        let store = self.clone();
        let dir = dir.to_path_buf();
        tokio::spawn(async move { store.make_folders_to_the_end(&dir).await })
            .await
            .map_err(|e| StoreError::Internal(format!("making folders: {e}")))?
    }

    /// [`Self::make_folders`], on its own task.
    async fn make_folders_to_the_end(&self, dir: &Path) -> StoreResult<()> {
        let _alone = self.making_folders.lock().await;
        for _ in 0..MAKE_FOLDERS_TRIES {
            if self.make_missing_folders(dir).await? {
                return Ok(());
            }
        }
        Err(StoreError::Unavailable(format!(
            "{}: its folders were removed as fast as they were made",
            dir.display()
        )))
    }

    /// One walk of [`Self::make_folders`]: false when a folder vanished under it. A folder
    /// found made by another process is synced into its parent all the same: that process may
    /// not have got to it yet.
    async fn make_missing_folders(&self, dir: &Path) -> StoreResult<bool> {
        let mut missing = Vec::new();
        let mut folder = dir;
        while folder != self.root {
            match tokio::fs::try_exists(folder).await {
                Ok(true) => break,
                Ok(false) => missing.push(folder),
                Err(e) => return Err(io_err("stat", folder, e)),
            }
            folder = match folder.parent() {
                Some(parent) if parent.starts_with(&self.root) => parent,
                _ => {
                    return Err(StoreError::Internal(format!(
                        "{} is outside the store",
                        dir.display()
                    )));
                }
            };
        }
        for folder in missing.into_iter().rev() {
            let parent = folder.parent().unwrap_or(&self.root);
            match make_private_folder(folder).await {
                Ok(()) => {
                    if let Err(e) = sync_dir(parent).await {
                        // Left made, it would be trusted by the next writer: it goes, to be
                        // made (and synced) again then.
                        let _ = tokio::fs::remove_dir(folder).await;
                        return Err(e);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => sync_dir(parent).await?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    self.check_root().await?;
                    return Ok(false);
                }
                Err(e) => return Err(io_err("create", folder, e)),
            }
        }
        Ok(true)
    }

    /// Removes the folders a deleted blob leaves empty (a task's, an upload's, a catalog
    /// version's), up to the top-level folder (`assets`, `results`, `official`) which stays.
    /// Best effort: a folder that is not empty, or is refilled meanwhile, is simply kept.
    async fn prune_empty_parents(&self, deleted: &Path) {
        let mut dir = deleted.parent();
        while let Some(d) = dir {
            let is_top_level = d.parent() == Some(self.root.as_path());
            if is_top_level || !d.starts_with(&self.root) || d == self.root {
                break;
            }
            if tokio::fs::remove_dir(d).await.is_err() {
                break;
            }
            dir = d.parent();
        }
    }
}

/// Makes `dir` and any folder missing above it, readable by this user only (see
/// [`private_dir_builder`]).
async fn create_private_dir(dir: &Path) -> StoreResult<()> {
    private_dir_builder(true)
        .create(dir)
        .await
        .map_err(|e| io_err("create", dir, e))
}

/// Blobs are people's videos and motions: folders and files are readable by this user only
/// (0700/0600), whatever the umask, so other accounts on a shared machine cannot read them.
fn private_dir_builder(recursive: bool) -> tokio::fs::DirBuilder {
    let mut builder = tokio::fs::DirBuilder::new();
    builder.recursive(recursive);
    #[cfg(unix)]
    builder.mode(0o700);
    builder
}

/// Takes other users' access from `path` when it has any, keeping the owner's and the group's
/// (an operator may share the data with a backup group on purpose). Returns whether it changed.
pub fn close_to_others(path: &Path) -> std::io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o007 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o7770))?;
            return Ok(true);
        }
    }
    Ok(false)
}

/// How many walks [`FsBlobStore::make_folders`] makes before it gives up on folders that deletes
/// keep pruning.
const MAKE_FOLDERS_TRIES: usize = 3;

/// Makes the one folder `dir` (its parent must exist), readable by this user only.
async fn make_private_folder(dir: &Path) -> std::io::Result<()> {
    private_dir_builder(false).create(dir).await
}

async fn sync_dir(dir: &Path) -> StoreResult<()> {
    let d = tokio::fs::File::open(dir)
        .await
        .map_err(|e| io_err("open", dir, e))?;
    d.sync_all().await.map_err(|e| io_err("fsync", dir, e))
}

enum Source<'a> {
    Bytes(&'a [u8]),
    File(&'a Path),
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn put_file(&self, key: &str, src: &Path) -> StoreResult<()> {
        self.write_atomic(key, Source::File(src)).await
    }

    async fn put_bytes(&self, key: &str, bytes: &[u8]) -> StoreResult<()> {
        self.write_atomic(key, Source::Bytes(bytes)).await
    }

    async fn get(&self, key: &str, range: Option<Range<u64>>) -> StoreResult<Option<BlobRead>> {
        let path = self.path_of(key)?;
        let mut file = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // A blob missing for good fails its task at once; one missing while the whole
                // folder is away is an outage, to be retried.
                self.check_root().await?;
                return Ok(None);
            }
            Err(e) => return Err(io_err("open", &path, e)),
        };
        let total_len = file
            .metadata()
            .await
            .map_err(|e| io_err("stat", &path, e))?
            .len();
        let range = match range {
            Some(r) => r.start.min(total_len)..r.end.min(total_len).max(r.start.min(total_len)),
            None => 0..total_len,
        };
        if range.start > 0 {
            file.seek(SeekFrom::Start(range.start))
                .await
                .map_err(|e| io_err("seek", &path, e))?;
        }
        let reader = Box::pin(file.take(range.end - range.start));
        Ok(Some(BlobRead {
            reader,
            total_len,
            range,
        }))
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        let path = self.path_of(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {}
            // Gone already, unless the whole folder is away: then the blob may come back with
            // it, and the caller keeps the key to delete it later (the trash is confirmed
            // only after a delete succeeded).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => self.check_root().await?,
            Err(e) => return Err(io_err("delete", &path, e)),
        }
        self.prune_empty_parents(&path).await;
        Ok(())
    }

    async fn list_keys(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<(String, i64)>> {
        // Walk the folder that holds the prefix, each folder's entries sorted by name: keys
        // then come in `key_order`, and a page resumes where the last one ended.
        let base = prefix.trim_end_matches('/');
        let start = if base.is_empty() {
            self.root.clone()
        } else {
            self.path_of(base)?
        };
        let mut out = Vec::new();
        let mut levels = vec![self.sorted_entries(&start).await?.into_iter()];
        while out.len() < limit {
            let Some(level) = levels.last_mut() else {
                break;
            };
            let Some(entry) = level.next() else {
                levels.pop();
                continue;
            };
            if entry.is_dir {
                if !after.is_some_and(|a| folder_before(&entry.key, a)) {
                    let below = self.sorted_entries(&self.root.join(&entry.key)).await?;
                    levels.push(below.into_iter());
                }
                continue;
            }
            let past_cursor = after.is_none_or(|a| key_order(&entry.key, a).is_gt());
            if !entry.key.starts_with(prefix) || !past_cursor {
                continue;
            }
            let path = self.root.join(&entry.key);
            // A delete may remove a blob while this walk passes by.
            let meta = match tokio::fs::symlink_metadata(&path).await {
                Ok(meta) => meta,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err("stat", &path, e)),
            };
            out.push((entry.key, modified_ms(&meta)));
        }
        Ok(out)
    }

    async fn ping(&self) -> StoreResult<()> {
        self.check_root().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_folders_of_a_blob_are_made_one_by_one_under_the_root_and_nowhere_else() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(&dir.path().join("blobs")).await.unwrap();
        let task = store.root.join("results").join("7").join("tok");
        store.make_folders(&task).await.unwrap();
        assert!(task.is_dir());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for folder in [task.as_path(), task.parent().unwrap()] {
                let mode = std::fs::metadata(folder).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o700, "{}", folder.display());
            }
        }
        // Made already: nothing to do.
        store.make_folders(&task).await.unwrap();

        // With the root gone nothing is made in its place, nor above it.
        std::fs::rename(&store.root, dir.path().join("moved")).unwrap();
        let err = store.make_folders(&task).await.unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
        assert!(!store.root.exists());
        // And no folder outside the root is ever made for it.
        let outside = dir.path().join("elsewhere");
        assert!(store.make_folders(&outside).await.is_err());
        assert!(!outside.exists());
    }

    #[tokio::test]
    async fn a_new_root_given_as_a_relative_path_opens() {
        // Made in the process's folder (tests run in parallel, so it is not changed): a name
        // of its own, removed after.
        let name = format!("blobs-test-{}", uuid::Uuid::new_v4().simple());
        let opened = FsBlobStore::open(Path::new(&name)).await;
        let _ = std::fs::remove_dir_all(&name);
        opened.unwrap();
    }
}
