//! The YUV frame pipe against real ffmpeg: our 4:2:0 → rgb24 conversion gives ffmpeg's own
//! bytes for every (Y, U, V), every colour matrix and range a stream may state, rotated streams
//! and the engine's early decoder; streams it cannot reproduce keep the rgb24 pipe.

use std::path::{Path, PathBuf};
use std::process::Command;

use motion_capture::media::yuv::{YuvToRgb, yuv420_len};
use motion_capture::media::{DecodeOptions, FrameSource, Limits, probe, sniff_file};
use tokio_util::sync::CancellationToken;

#[test]
fn every_yuv_triple_converts_to_ffmpeg_s_bytes() {
    // 4096 × 4096: 2048² chroma blocks, 64 for each (U, V) pair, whose four luma samples walk
    // through all 256 values.
    const SIDE: usize = 4096;
    let mut yuv = vec![0u8; yuv420_len(SIDE, SIDE)];
    let blocks = SIDE / 2;
    let (luma, chroma) = yuv.split_at_mut(SIDE * SIDE);
    let (u_plane, v_plane) = chroma.split_at_mut(blocks * blocks);
    for block in 0..blocks * blocks {
        let (pair, quartet) = (block / 64, block % 64);
        u_plane[block] = (pair % 256) as u8;
        v_plane[block] = (pair / 256) as u8;
        let (bx, by) = (block % blocks, block / blocks);
        for (k, (dx, dy)) in [(0, 0), (1, 0), (0, 1), (1, 1)].into_iter().enumerate() {
            luma[(2 * by + dy) * SIDE + 2 * bx + dx] = (4 * quartet + k) as u8;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("pattern.yuv");
    std::fs::write(&raw, &yuv).unwrap();
    let theirs = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "yuv420p",
            "-s",
            "4096x4096",
            "-i",
        ])
        .arg(&raw)
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"])
        .output()
        .expect("ffmpeg missing: run scripts/test.sh (it installs ffmpeg)")
        .stdout;
    assert_eq!(
        theirs.len(),
        SIDE * SIDE * 3,
        "ffmpeg's rgb24 of the pattern"
    );
    let mut ours = vec![0u8; SIDE * SIDE * 3];
    YuvToRgb::new(None, false).convert(&yuv, SIDE, SIDE, &mut ours);
    let differing = ours
        .chunks_exact(3)
        .zip(theirs.chunks_exact(3))
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(differing, 0, "pixels that differ from ffmpeg's");
}

#[tokio::test]
async fn every_stated_matrix_and_range_pipes_yuv_with_ffmpeg_s_pixels() {
    let dir = tempfile::tempdir().unwrap();
    for space in [
        None,
        Some("bt709"),
        Some("bt470bg"),
        Some("smpte170m"),
        Some("smpte240m"),
        Some("fcc"),
        Some("bt2020nc"),
    ] {
        for range in ["tv", "pc"] {
            let name = format!("{}-{range}.mp4", space.unwrap_or("unstated"));
            let mut tags = vec!["-color_range", range];
            if let Some(s) = space {
                tags.extend(["-colorspace", s]);
            }
            let clip = lossless_noise_clip(dir.path(), &name, (320, 240), &tags);
            assert_same_pixels_as_rgb24(&clip, true).await;
        }
    }
}

#[tokio::test]
async fn a_full_range_stream_of_plain_yuv420p_pipes_yuv_with_ffmpeg_s_pixels() {
    // VP9 keeps full range as a `pc` tag on `yuv420p` (x264 makes such streams `yuvj420p`).
    let dir = tempfile::tempdir().unwrap();
    let vp9 = noise_clip(
        dir.path(),
        "full.mkv",
        (320, 240),
        3,
        &[
            "-c:v",
            "libvpx-vp9",
            "-deadline",
            "realtime",
            "-color_range",
            "pc",
            "-colorspace",
            "bt709",
        ],
    );
    let cancel = CancellationToken::new();
    let info = probe(&vp9, sniff_file(&vp9).unwrap(), &Limits::default(), &cancel)
        .await
        .unwrap();
    assert_eq!(
        (info.pix_fmt.as_deref(), info.color_range.as_deref()),
        (Some("yuv420p"), Some("pc"))
    );
    assert_same_pixels_as_rgb24(&vp9, true).await;
}

#[tokio::test]
async fn a_rotated_stream_pipes_yuv_upright_with_ffmpeg_s_pixels() {
    let dir = tempfile::tempdir().unwrap();
    let clip = lossless_noise_clip(dir.path(), "plain.mp4", (320, 240), &[]);
    for degrees in [90, 180, 270] {
        let rotated = dir.path().join(format!("rotated{degrees}.mp4"));
        ffmpeg(&[
            "-i",
            clip.to_str().unwrap(),
            "-c",
            "copy",
            "-metadata:s:v",
            &format!("rotate={degrees}"),
            rotated.to_str().unwrap(),
        ]);
        let frames = assert_same_pixels_as_rgb24(&rotated, true).await;
        assert_eq!(frames, 3);
    }
}

#[tokio::test]
async fn streams_the_conversion_does_not_cover_keep_the_rgb24_pipe() {
    let dir = tempfile::tempdir().unwrap();
    // x264 codes no odd 4:2:0 sizes; MPEG-4 part 2 does.
    let odd = noise_clip(dir.path(), "odd.mkv", (321, 241), 3, &["-c:v", "mpeg4"]);
    assert_same_pixels_as_rgb24(&odd, false).await;
    let full_chroma = lossless_noise_clip(
        dir.path(),
        "yuv444.mp4",
        (320, 240),
        &["-pix_fmt", "yuv444p"],
    );
    assert_same_pixels_as_rgb24(&full_chroma, false).await;
    let anamorphic = lossless_noise_clip(dir.path(), "sar.mp4", (320, 240), &["-aspect", "16:9"]);
    assert_same_pixels_as_rgb24(&anamorphic, false).await;
}

#[tokio::test]
async fn the_early_decoder_pipes_4_2_0_and_is_replaced_for_other_streams() {
    let dir = tempfile::tempdir().unwrap();
    let size = (320, 240);
    let plain = noise_clip(dir.path(), "plain.mp4", size, 3, &[]);
    let full_range = noise_clip(dir.path(), "full.mp4", size, 3, &["-pix_fmt", "yuvj420p"]);
    let ten_bit = noise_clip(
        dir.path(),
        "10bit.mp4",
        size,
        3,
        &["-pix_fmt", "yuv420p10le"],
    );
    let full_chroma = noise_clip(dir.path(), "444.mp4", size, 3, &["-pix_fmt", "yuv444p"]);
    // Squaring its pixels scales it: ffmpeg's rgb24 of that is not a conversion of its YUV.
    let anamorphic = noise_clip(dir.path(), "sar.mp4", size, 3, &["-aspect", "16:9"]);
    let cancel = CancellationToken::new();
    for (path, pipes_yuv) in [
        (&plain, true),
        (&full_range, true),
        (&ten_bit, false),
        (&full_chroma, false),
        (&anamorphic, false),
    ] {
        let container = sniff_file(path).unwrap();
        let probed = probe(path, container, &Limits::default(), &cancel)
            .await
            .unwrap();
        // As probed, and as the engine holds it afterwards (square pixels): the same choice.
        for info in [probed.clone(), probed.clone().with_square_pixels()] {
            let opts = DecodeOptions::default();
            let early = FrameSource::open_early(path, container, &opts, &cancel).unwrap();
            let mut source = early.begin(&info).await.unwrap();
            assert_eq!(source.pipes_yuv(), pipes_yuv, "{}", path.display());
            let (w, h) = (source.width() as usize, source.height() as usize);
            let reference = ffmpeg_rgb24_frames(path, w, h);
            let mut n = 0;
            while let Some(frame) = source.next_frame().await {
                assert!(
                    frame.unwrap().data == reference[n],
                    "{} frame {n}",
                    path.display()
                );
                n += 1;
            }
            assert_eq!(n, reference.len(), "{}", path.display());
        }
    }
}

/// Decodes `clip` through the frame source, checks which pipe it took, and compares every frame
/// with ffmpeg's own rgb24 of the clip. Returns the frame count.
async fn assert_same_pixels_as_rgb24(clip: &Path, pipes_yuv: bool) -> usize {
    let cancel = CancellationToken::new();
    let container = sniff_file(clip).unwrap();
    let info = probe(clip, container, &Limits::default(), &cancel)
        .await
        .unwrap();
    let mut source = FrameSource::open(clip, &info, &DecodeOptions::default(), &cancel).unwrap();
    assert_eq!(source.pipes_yuv(), pipes_yuv, "{}", clip.display());
    let (w, h) = (source.width() as usize, source.height() as usize);
    let reference = ffmpeg_rgb24_frames(clip, w, h);
    let mut n = 0;
    while let Some(frame) = source.next_frame().await {
        let frame = frame.unwrap();
        let differing = frame
            .data
            .chunks_exact(3)
            .zip(reference[n].chunks_exact(3))
            .filter(|(a, b)| a != b)
            .count();
        assert_eq!(differing, 0, "{} frame {n}", clip.display());
        n += 1;
    }
    assert_eq!(n, reference.len(), "{}", clip.display());
    n
}

/// Every frame of `clip` as the plain ffmpeg CLI converts it to rgb24 (the path the goldens
/// were made with), with the frame source's filters.
fn ffmpeg_rgb24_frames(clip: &Path, width: usize, height: usize) -> Vec<Vec<u8>> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-threads", "1", "-i"])
        .arg(clip)
        .args([
            "-an",
            "-vf",
            "scale=w='trunc(iw*sar)':h=ih,setsar=1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "pipe:1",
        ])
        .output()
        .expect("run ffmpeg");
    assert!(out.status.success(), "ffmpeg rgb24 of {}", clip.display());
    out.stdout
        .chunks_exact(width * height * 3)
        .map(<[u8]>::to_vec)
        .collect()
}

/// Three frames of random 4:2:0 pixels, losslessly encoded (so every YUV value reaches the
/// decoder), with `extra` encoder options (tags, another pixel format).
fn lossless_noise_clip(dir: &Path, name: &str, size: (usize, usize), extra: &[&str]) -> PathBuf {
    let mut args = vec!["-qp", "0"];
    args.extend(extra);
    noise_clip(dir, name, size, 3, &args)
}

fn noise_clip(
    dir: &Path,
    name: &str,
    (w, h): (usize, usize),
    frames: usize,
    extra: &[&str],
) -> PathBuf {
    let raw = dir.join(format!("{name}.yuv"));
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let bytes: Vec<u8> = (0..yuv420_len(w, h) * frames)
        .map(|_| {
            // xorshift64*: deterministic noise without a dependency.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
        })
        .collect();
    std::fs::write(&raw, bytes).unwrap();
    let out = dir.join(name);
    let size = format!("{w}x{h}");
    let mut args = vec![
        "-f",
        "rawvideo",
        "-pix_fmt",
        "yuv420p",
        "-s",
        &size,
        "-r",
        "30",
        "-i",
        raw.to_str().unwrap(),
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
    ];
    args.extend(extra);
    args.push(out.to_str().unwrap());
    ffmpeg(&args);
    out
}

/// Runs the system ffmpeg on trusted generator input (not user media).
fn ffmpeg(args: &[&str]) {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .status()
        .expect("ffmpeg missing: run scripts/test.sh (it installs ffmpeg)");
    assert!(status.success(), "ffmpeg {args:?}");
}
