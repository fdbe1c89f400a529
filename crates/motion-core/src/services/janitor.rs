//! Blob garbage collection: stores move the keys of deleted rows to a trash list in the
//! same transaction as the delete; this drains it. Deleting a blob twice is harmless.

use crate::ports::{BlobStore, FileStore, StoreResult};

/// Batch size of one purge pass.
pub const PURGE_BATCH: u32 = 256;

/// Deletes up to one batch of trashed blobs; returns how many were purged.
pub async fn purge_trash(files: &dyn FileStore, blobs: &dyn BlobStore) -> StoreResult<usize> {
    let items = files.take_trash(PURGE_BATCH).await?;
    let mut done = Vec::with_capacity(items.len());
    for item in &items {
        blobs.delete(&item.blob_key).await?;
        done.push(item.id);
    }
    files.confirm_trash(&done).await?;
    Ok(done.len())
}

/// [`purge_trash`] where failure is not the caller's problem (the janitor retries later).
pub async fn purge_trash_best_effort(files: &dyn FileStore, blobs: &dyn BlobStore) {
    let _ = purge_trash(files, blobs).await;
}

/// Deletes blobs under `prefix` that no file row points at and that are older than
/// `min_age_ms` (a publish in progress stores its blobs before its row commits, so young
/// blobs are left alone: use more than the task timeout). Such blobs come from attempts
/// that crashed between storing results and finishing. Returns how many were deleted.
pub async fn sweep_orphans(
    files: &dyn FileStore,
    blobs: &dyn BlobStore,
    prefix: &str,
    now_ms: i64,
    min_age_ms: i64,
) -> StoreResult<usize> {
    let old: Vec<String> = blobs
        .list_keys(prefix, 10_000)
        .await?
        .into_iter()
        .filter(|(_, modified)| now_ms - modified > min_age_ms)
        .map(|(key, _)| key)
        .collect();
    let mut deleted = 0;
    for chunk in old.chunks(256) {
        for key in files.unreferenced_keys(chunk).await? {
            blobs.delete(&key).await?;
            deleted += 1;
        }
    }
    Ok(deleted)
}
