//! The preview: the tracking pass's decoded frames with that frame's tracked 2D landmarks
//! drawn on top (tiny-skia), and the preview size rules of api-contract §9.3.

pub mod downscale;
pub mod jpeg;
pub mod overlay;
pub mod painter;

/// Preview size: the display size scaled down so the longer side is at most `max_side`,
/// aspect kept, both sides even, never upscaled.
pub fn preview_size(width: u32, height: u32, max_side: u32) -> (u32, u32) {
    let long = width.max(height).max(1);
    let s = if long > max_side {
        max_side as f64 / long as f64
    } else {
        1.0
    };
    // Down to even, never up: an odd side rounded up would be a 1 px upscale (§9.3).
    let even = |v: f64| (((v + 1e-6) / 2.0).floor() as u32 * 2).max(2);
    (even(width as f64 * s), even(height as f64 * s))
}

/// ffmpeg's frame-rate syntax for `fps`: an integer when it is one, else thousandths.
pub fn ffmpeg_rate(fps: f64) -> String {
    if (fps - fps.round()).abs() < 1e-6 {
        format!("{}", fps.round() as u64)
    } else {
        format!("{}/1000", (fps * 1000.0).round() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_size_follows_the_contract() {
        assert_eq!(preview_size(1920, 1080, 1280), (1280, 720));
        assert_eq!(preview_size(1080, 1920, 1280), (720, 1280));
        assert_eq!(preview_size(401, 299, 1280), (400, 298));
        assert_eq!(preview_size(1279, 719, 1280), (1278, 718));
        assert_eq!(preview_size(65, 65, 1280), (64, 64));
        assert_eq!(preview_size(3840, 2160, 1280), (1280, 720));
        assert_eq!(preview_size(1281, 721, 1280), (1280, 720));
        assert_eq!(preview_size(640, 480, 1280), (640, 480));
    }

    #[test]
    fn rates() {
        assert_eq!(ffmpeg_rate(30.0), "30");
        assert_eq!(ffmpeg_rate(29.97), "29970/1000");
    }
}
