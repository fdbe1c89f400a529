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

/// Keys the orphan sweep reads from the blob store at a time.
pub const ORPHAN_SWEEP_PAGE: usize = 10_000;

/// Deletes blobs under `prefix` that no file row points at and that are older than
/// `min_age_ms` (a publish in progress stores its blobs before its row commits, so young
/// blobs are left alone: use more than the task timeout). Such blobs come from attempts
/// that crashed between storing results and finishing. Every blob under `prefix` is looked at,
/// `page` keys at a time. Returns how many were deleted.
pub async fn sweep_orphans(
    files: &dyn FileStore,
    blobs: &dyn BlobStore,
    prefix: &str,
    now_ms: i64,
    min_age_ms: i64,
    page: usize,
) -> StoreResult<usize> {
    let mut deleted = 0;
    let mut after: Option<String> = None;
    loop {
        let listed = blobs.list_keys(prefix, after.as_deref(), page).await?;
        let last_page = listed.len() < page;
        after = listed.last().map(|(key, _)| key.clone());
        let old: Vec<String> = listed
            .into_iter()
            .filter(|(_, modified)| now_ms - modified > min_age_ms)
            .map(|(key, _)| key)
            .collect();
        for chunk in old.chunks(256) {
            for key in files.unreferenced_keys(chunk).await? {
                blobs.delete(&key).await?;
                deleted += 1;
            }
        }
        if last_page || after.is_none() {
            return Ok(deleted);
        }
    }
}
