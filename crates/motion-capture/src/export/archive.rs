//! `bvh.zip` and `binary.zip` (api-contract §9.4, §9.5): deflate entries with a fixed
//! timestamp and fixed permissions, so the same inputs always give the same bytes.

use std::io::{Cursor, Read, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

#[derive(Debug, thiserror::Error)]
#[error("the zip archive: {0}")]
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

/// The bytes of entry `name` of the zip `archive`, refused past `max_bytes` (read without
/// trusting the size the archive states).
pub fn read_entry(archive: &[u8], name: &str, max_bytes: u64) -> Result<Vec<u8>, ZipError> {
    let mut zip =
        zip::ZipArchive::new(Cursor::new(archive)).map_err(|e| ZipError(e.to_string()))?;
    let entry = zip
        .by_name(name)
        .map_err(|e| ZipError(format!("{name}: {e}")))?;
    let mut bytes = Vec::new();
    entry
        .take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ZipError(format!("{name}: {e}")))?;
    if bytes.len() as u64 > max_bytes {
        return Err(ZipError(format!("{name} is larger than {max_bytes} bytes")));
    }
    Ok(bytes)
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

    #[test]
    fn an_entry_reads_back_within_its_limit() {
        let a = zip_entries(&[("motion.bvh", b"HIERARCHY")]).unwrap();
        assert_eq!(read_entry(&a, "motion.bvh", 9).unwrap(), b"HIERARCHY");
        assert!(read_entry(&a, "motion.bvh", 8).is_err());
        assert!(read_entry(&a, "joints.json", 100).is_err());
    }
}
