//! Capability file lookup and reads (§9.1). Range parsing and headers are the API's; this
//! resolves `fid` + exact name to a servable file and opens (a range of) its blob.

use std::ops::Range;
use std::sync::Arc;

use crate::domain::StoredFile;
use crate::error::{ErrorCode, ServiceError};
use crate::ids::is_fid;
use crate::ports::{BlobRead, BlobStore, FileStore};

pub struct FileService {
    files: Arc<dyn FileStore>,
    blobs: Arc<dyn BlobStore>,
}

impl FileService {
    pub fn new(files: Arc<dyn FileStore>, blobs: Arc<dyn BlobStore>) -> Self {
        Self { files, blobs }
    }

    /// The file behind `/files/{fid}/{name}`; 404 "Not found" when the fid is unknown, its
    /// owner is gone, or the name differs.
    pub async fn lookup(&self, fid: &str, name: &str) -> Result<StoredFile, ServiceError> {
        if !is_fid(fid) {
            return Err(ErrorCode::NotFound.into());
        }
        match self.files.file_by_fid(fid).await? {
            Some(f) if f.name == name => Ok(f),
            _ => Err(ErrorCode::NotFound.into()),
        }
    }

    /// Opens the file's blob, or `range` of it (already validated against `file.size`). A
    /// store that cannot be reached is `Unavailable` (503). A blob gone from a reachable store
    /// is a file deleted since [`Self::lookup`] (a `DELETE /tasks` racing this read removes the
    /// rows, then the blobs): "Not found", as the lookup now answers. Only a row still there
    /// without its blob is an internal error (logged by the caller).
    pub async fn open(
        &self,
        file: &StoredFile,
        range: Option<Range<u64>>,
    ) -> Result<BlobRead, ServiceError> {
        if let Some(read) = self.blobs.get(&file.blob_key, range).await? {
            return Ok(read);
        }
        match self.files.file_by_fid(&file.fid).await? {
            None => Err(ErrorCode::NotFound.into()),
            Some(_) => Err(ServiceError::internal(format!(
                "blob missing for file row {}",
                file.blob_key
            ))),
        }
    }
}
