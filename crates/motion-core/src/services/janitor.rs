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
