//! The ffprobe JSON parser (`motion_capture::media::probe::parse_probe_json`): ffprobe's
//! output describes hostile media, so any JSON must end in a `MediaInfo` that respects the
//! parser's own guarantees, or a bad-input error; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use motion_capture::media::Container;
use motion_capture::media::probe::{MAX_SIDE, parse_probe_json};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, json)) = data.split_first() else {
        return;
    };
    let container = [
        Container::Mp4Mov,
        Container::Matroska,
        Container::Png,
        Container::Jpeg,
    ][sel as usize % 4];
    match parse_probe_json(json, container) {
        Ok(m) => {
            assert!(m.coded_width >= 1 && m.coded_height >= 1);
            // Sizes are the callers' to judge; what decodes refuses those over the side limit.
            let within = m.coded_width <= MAX_SIDE && m.coded_height <= MAX_SIDE;
            assert_eq!(m.check_side_limit().is_ok(), within);
            assert_eq!(
                u64::from(m.width) * u64::from(m.height),
                u64::from(m.coded_width) * u64::from(m.coded_height),
                "rotation only swaps"
            );
            if within {
                let (square_w, square_h) = m.square_pixel_size();
                assert!((1..=MAX_SIDE).contains(&square_w) && square_h == m.height);
            }
            assert!(matches!(m.rotation_deg, 0 | 90 | 180 | 270));
            assert!(m.fps.is_finite(), "fps {}", m.fps);
            if let Some(d) = m.duration_s {
                assert!(d.is_finite() && d >= 0.0);
            }
            if container.is_image() {
                assert_eq!((m.frame_count, m.duration_s), (Some(1), None));
            }
            assert!(m.stream_count >= 1);
        }
        Err(e) => assert!(e.is_bad_input(), "{e}"),
    }
});
