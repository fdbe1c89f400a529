//! `bvh.zip` and `binary.zip` (api-contract §9.4, §9.5): deflate entries with a fixed
//! timestamp and fixed permissions, so the same inputs always give the same bytes.

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

#[derive(Debug, thiserror::Error)]
#[error("writing the zip archive: {0}")]
pub struct ZipError(String);

/// A zip with the given `(name, bytes)` entries, in that order.
pub fn zip_entries(entries: &[(&str, &[u8])]) -> Result<Vec<u8>, ZipError> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    // 1980-01-01 00:00:00, the earliest DOS time: no clock leaks into the archive.
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644);
    for (name, bytes) in entries {
        zip.start_file(*name, options)
            .map_err(|e| ZipError(e.to_string()))?;
        zip.write_all(bytes).map_err(|e| ZipError(e.to_string()))?;
    }
    let cursor = zip.finish().map_err(|e| ZipError(e.to_string()))?;
    Ok(cursor.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_input_same_bytes_and_entries_in_order() {
        let a = zip_entries(&[("motion.glb", b"abc"), ("landmarks.json", b"{}")]).unwrap();
        let b = zip_entries(&[("motion.glb", b"abc"), ("landmarks.json", b"{}")]).unwrap();
        assert_eq!(a, b);
        let mut r = zip::ZipArchive::new(Cursor::new(a)).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r.by_index(0).unwrap().name(), "motion.glb");
        assert_eq!(r.by_index(1).unwrap().name(), "landmarks.json");
    }
}
