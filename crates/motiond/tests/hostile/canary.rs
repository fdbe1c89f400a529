//! Recognising the canary: its secret string and windows of its encoded bytes (byte leaks),
//! and its picture (a decoded frame of it in a cover or preview).

use std::path::Path;
use std::process::Command;

/// Byte strings that only the canary files contain.
pub fn needles(secret: &str, canary_dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = vec![("secret string".to_string(), secret.as_bytes().to_vec())];
    for name in ["canary.mp4", "canary.ts", "canary.mkv"] {
        let bytes = std::fs::read(canary_dir.join(name)).expect("canary file");
        // The clip is noise: 64 bytes from the middle of the file are sample data, unique to it.
        let mid = bytes.len() / 2;
        out.push((
            format!("{name} sample bytes"),
            bytes[mid..mid + 64].to_vec(),
        ));
    }
    out
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// The first frame of an image or video, as 16×16 rgb24 (trusted ffmpeg on the test side;
/// the files are the server's outputs).
pub fn thumbnail(path: &Path) -> Option<Vec<u8>> {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-i"])
        .arg(path)
        .args([
            "-frames:v",
            "1",
            "-vf",
            "scale=16:16",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ])
        .output()
        .ok()?;
    (out.status.success() && out.stdout.len() == 16 * 16 * 3).then_some(out.stdout)
}

/// Share of pixels that are magenta (the canary's colour).
pub fn magenta_share(rgb: &[u8]) -> f64 {
    let px = rgb.chunks_exact(3);
    let n = px.len().max(1);
    px.filter(|p| p[0] > 150 && p[1] < 110 && p[2] > 150)
        .count() as f64
        / n as f64
}

/// Mean absolute difference per channel value, 0..255.
pub fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    let n = a.len().min(b.len()).max(1);
    a.iter()
        .zip(b)
        .map(|(x, y)| (*x as f64 - *y as f64).abs())
        .sum::<f64>()
        / n as f64
}

/// True when a picture looks like the canary's.
pub fn looks_like_canary(thumb: &[u8], canary: &[u8]) -> bool {
    magenta_share(thumb) > 0.3 || mean_abs_diff(thumb, canary) < 40.0
}

#[test]
fn byte_search_and_colour_tests() {
    assert!(contains(b"xxSECRETyy", b"SECRET") && !contains(b"SECRE", b"SECRET"));
    let magenta: Vec<u8> = std::iter::repeat_n([255u8, 0, 255], 256)
        .flatten()
        .collect();
    let grey = vec![128u8; 768];
    assert!(looks_like_canary(&magenta, &magenta));
    assert!(!looks_like_canary(&grey, &magenta));
    assert_eq!(magenta_share(&magenta), 1.0);
}
