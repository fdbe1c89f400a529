//! Goldens §11.1: our frame source (hardened ffmpeg, rgb24, passthrough) gives exactly the
//! pixels and presentation times MediaPipe was fed: md5 of every frame and `t_us` of every frame.

mod golden_support;

use golden_support::*;

#[test]
fn decoded_frames_and_timestamps_match_the_goldens() {
    let mut frames_checked = 0;
    for name in VIDEOS {
        let g = load(&format!("{name}.raw"));
        let gold = g["frames"].as_array().unwrap();
        let mut n = 0;
        for_each_frame(&source_path(&g), |f| {
            let gf = gold
                .get(n)
                .unwrap_or_else(|| panic!("{name}: more frames than the golden"));
            assert_eq!(
                (f.width as u64, f.height as u64),
                (g["width"].as_u64().unwrap(), g["height"].as_u64().unwrap())
            );
            assert_eq!(
                f.t_us,
                gf["t_us"].as_i64().unwrap(),
                "{name} frame {}: t_us",
                f.index
            );
            assert_eq!(
                md5_hex(&f.data),
                gf["rgb_md5"].as_str().unwrap(),
                "{name} frame {}: pixels",
                f.index
            );
            n += 1;
        });
        assert_eq!(n, gold.len(), "{name}: frame count");
        println!("{name}: {n} frames, pixels and timestamps identical");
        frames_checked += n;
    }
    for name in IMAGES {
        let g = load(name);
        let frame = decode_image_frame(&source_path(&g));
        assert_eq!(
            md5_hex(&frame.data),
            g["rgb_md5"].as_str().unwrap(),
            "{name}: pixels"
        );
        frames_checked += 1;
    }
    println!("{frames_checked} frames/images identical to the goldens' decode");
}
