//! Pixel size from the header of a PNG or JPEG that was already validated at upload.
//! Used for the motion cover's `width`/`height` (a copy of the submitted cover image).

/// `(width, height)` of a PNG or baseline/progressive JPEG, or `None` if the header is not
/// understood.
pub fn image_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return png_size(bytes);
    }
    if bytes.starts_with(&[0xFF, 0xD8]) {
        return jpeg_size(bytes);
    }
    None
}

fn be16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
    ])))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

/// The IHDR chunk is always first: width at byte 16, height at byte 20.
fn png_size(b: &[u8]) -> Option<(u32, u32)> {
    (b.get(12..16)? == b"IHDR").then_some(())?;
    Some((be32(b, 16)?, be32(b, 20)?))
}

/// Walks the marker segments to the first start-of-frame (SOF0–SOF15 except DHT, JPG and
/// DAC), whose payload holds height then width.
fn jpeg_size(b: &[u8]) -> Option<(u32, u32)> {
    let mut i = 2;
    while i + 4 <= b.len() {
        if b[i] != 0xFF {
            return None;
        }
        let marker = b[i + 1];
        if marker == 0xFF {
            i += 1; // fill byte
            continue;
        }
        let len = be16(b, i + 2)? as usize;
        let is_sof = (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            return Some((be16(b, i + 7)?, be16(b, i + 5)?));
        }
        if marker == 0xDA || len < 2 {
            return None; // start of scan before any frame header
        }
        i += 2 + len;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_png_and_jpeg_headers() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&400u32.to_be_bytes());
        png.extend_from_slice(&300u32.to_be_bytes());
        assert_eq!(image_size(&png), Some((400, 300)));
        // SOI, APP0 (length 4), SOF0: length, precision, height 720, width 1280
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x02,
            0xD0, 0x05, 0x00,
        ];
        assert_eq!(image_size(&jpeg), Some((1280, 720)));
        assert_eq!(image_size(b"GIF89a"), None);
        assert_eq!(image_size(&[0xFF, 0xD8, 0xFF, 0xDA, 0, 2]), None);
        assert_eq!(image_size(&[0xFF, 0xD8, 0xFF]), None);
    }

    #[test]
    fn reads_real_test_images() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/testdata/images"
        );
        for (name, size) in [
            ("tfjs_pose_yoga.jpg", (1000, 667)),
            ("tfjs_three_people.jpg", (1049, 861)),
            ("ultralytics_bus.jpg", (810, 1080)),
            ("ultralytics_zidane.jpg", (1280, 720)),
            ("skimage_astronaut.png", (512, 512)),
            ("skimage_camera.png", (512, 512)),
        ] {
            let path = format!("{dir}/{name}");
            let bytes = std::fs::read(&path)
                .unwrap_or_else(|e| panic!("{path}: {e} (test data: run scripts/test.sh)"));
            assert_eq!(image_size(&bytes), Some(size), "{name}");
        }
    }
}
