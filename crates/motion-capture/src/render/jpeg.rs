//! Cover images as baseline JPEG, encoded in process.
//!
//! Covers are frames we painted ourselves (a scaled preview frame, a rendered stick figure),
//! never the user's bytes, so they need no sandboxed ffmpeg: encoding here saves a process
//! start (tens of milliseconds of CPU, much of a short clip's budget) per job.

use std::path::Path;

use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

/// Quality of covers: about what ffmpeg's `-q:v 3` gives.
const COVER_QUALITY: u8 = 90;

/// A cover that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("writing the JPEG {path}: {reason}")]
pub struct JpegError {
    path: String,
    reason: String,
}

/// Writes `rgb` (packed rgb24, `width × height`) to `path` as a 4:2:0 JPEG.
pub fn write_rgb_jpeg(path: &Path, width: u32, height: u32, rgb: &[u8]) -> Result<(), JpegError> {
    let fail = |reason: String| JpegError {
        path: path.display().to_string(),
        reason,
    };
    let side =
        |v: u32| u16::try_from(v).map_err(|_| fail(format!("{width}x{height} is too large")));
    let (w, h) = (side(width)?, side(height)?);
    if rgb.len() != width as usize * height as usize * 3 {
        return Err(fail(format!(
            "{} bytes is not a {width}x{height} rgb24 image",
            rgb.len()
        )));
    }
    let mut bytes = Vec::with_capacity(rgb.len() / 8);
    let mut encoder = Encoder::new(&mut bytes, COVER_QUALITY);
    encoder.set_sampling_factor(SamplingFactor::F_2_2);
    encoder
        .encode(rgb, w, h, ColorType::Rgb)
        .map_err(|e| fail(e.to_string()))?;
    std::fs::write(path, &bytes).map_err(|e| fail(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_baseline_jpeg_of_the_image_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cover.jpg");
        let (w, h) = (64u32, 48u32);
        let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i % 251) as u8).collect();
        write_rgb_jpeg(&path, w, h, &rgb).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..2], &[0xFF, 0xD8], "SOI");
        assert_eq!(&bytes[bytes.len() - 2..], &[0xFF, 0xD9], "EOI");
        // The baseline frame header (SOF0) carries height then width.
        let sof = bytes
            .windows(2)
            .position(|m| m == [0xFF, 0xC0])
            .expect("SOF0");
        let size = |at: usize| u16::from_be_bytes([bytes[at], bytes[at + 1]]) as u32;
        assert_eq!((size(sof + 7), size(sof + 5)), (w, h));
    }

    #[test]
    fn a_buffer_of_the_wrong_size_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_rgb_jpeg(&dir.path().join("c.jpg"), 4, 4, &[0; 47]).unwrap_err();
        assert!(err.to_string().contains("not a 4x4 rgb24 image"), "{err}");
    }
}
