//! Building an official motion from a real BVH clip: the preview is a browser-playable H.264
//! video with the expected frame count and duration (per ffprobe), the figure moves, the cover
//! is a JPEG, and the zips hold exactly the contract's entries.

use std::io::Read;
use std::path::{Path, PathBuf};

use motion_capture::catalog::{self, BuildOptions, PreviewTiming};
use motion_capture::media::{self, Container, DecodeOptions, FrameSource};
use tokio_util::sync::CancellationToken;

fn clip(name: &str) -> Vec<u8> {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/bvh"
    ))
    .join(name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "test data missing at {}: {e}; run scripts/test.sh",
            path.display()
        )
    })
}

fn ffmpeg_present() {
    let ok = std::process::Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "ffmpeg missing: run scripts/test.sh (it installs ffmpeg)"
    );
}

fn zip_entries(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            assert_eq!(f.compression(), zip::CompressionMethod::Deflated);
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes).unwrap();
            (f.name().to_string(), bytes)
        })
        .collect()
}

/// Decodes frames `a` and `b` of the preview (through the hardened frame source).
async fn two_frames(
    preview: &Path,
    info: &media::MediaInfo,
    a: usize,
    b: usize,
) -> (Vec<u8>, Vec<u8>) {
    let cancel = CancellationToken::new();
    let mut source = FrameSource::open(preview, info, &DecodeOptions::default(), &cancel).unwrap();
    let (mut fa, mut fb) = (None, None);
    let mut i = 0;
    while let Some(frame) = source.next_frame().await {
        let frame = frame.unwrap();
        if i == a {
            fa = Some(frame.data.clone());
        }
        if i == b {
            fb = Some(frame.data);
        }
        i += 1;
    }
    (fa.expect("frame a"), fb.expect("frame b"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_cover_and_archives_of_a_30_fps_clip() {
    ffmpeg_present();
    let bytes = clip("animated_drawings_cmu1_jumping_jacks.bvh"); // 125 frames at 30 fps
    let dir = tempfile::tempdir().unwrap();
    let options = BuildOptions {
        width: 320,
        height: 320,
        ..BuildOptions::default()
    };
    let cancel = CancellationToken::new();
    let built = catalog::build_from_bvh(&bytes, dir.path(), &options, &cancel)
        .await
        .unwrap();
    assert_eq!(
        (built.preview_frames, built.source_frames, built.preview_fps),
        (125, 125, 30.0)
    );

    let info = media::probe(
        &built.preview,
        Container::Mp4Mov,
        &media::Limits::default(),
        &cancel,
    )
    .await
    .unwrap();
    assert_eq!(info.codec, "h264");
    assert_eq!(info.pix_fmt.as_deref(), Some("yuv420p"));
    assert_eq!((info.width, info.height), (320, 320));
    assert_eq!(info.frame_count, Some(125));
    assert!(
        !info.frame_count_estimated,
        "the MP4 states its frame count"
    );
    assert!((info.fps - 30.0).abs() < 1e-6, "{}", info.fps);
    let duration = info.duration_s.unwrap();
    assert!(
        (duration - 125.0 / 30.0).abs() < 0.05,
        "duration {duration}"
    );
    assert_eq!(info.stream_count, 1, "no audio");

    // faststart: the index (moov) comes before the media data (mdat).
    let mp4 = std::fs::read(&built.preview).unwrap();
    let find = |tag: &[u8]| mp4.windows(4).position(|w| w == tag).unwrap();
    assert!(find(b"moov") < find(b"mdat"), "moov must precede mdat");

    // The figure moves: frames 0 and 60 differ in many pixels.
    let (a, b) = two_frames(&built.preview, &info, 0, 60).await;
    let changed = a
        .chunks_exact(3)
        .zip(b.chunks_exact(3))
        .filter(|(p, q)| p.iter().zip(*q).any(|(x, y)| x.abs_diff(*y) > 40))
        .count();
    assert!(
        changed > 500,
        "only {changed} pixels changed between frames 0 and 60"
    );

    let cover = std::fs::read(&built.cover).unwrap();
    assert_eq!(&cover[..3], &[0xff, 0xd8, 0xff], "cover is a JPEG");

    let bvh_zip = zip_entries(&built.bvh_zip);
    assert_eq!(bvh_zip.len(), 1);
    assert_eq!(bvh_zip[0].0, "motion.bvh");
    assert_eq!(bvh_zip[0].1, bytes, "the original file, unchanged");

    let binary = zip_entries(&built.binary_zip);
    let names: Vec<&str> = binary.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["motion.glb", "joints.json"]);
    assert_eq!(&binary[0].1[..4], b"glTF");
    let joints: serde_json::Value = serde_json::from_slice(&binary[1].1).unwrap();
    assert_eq!(joints["frameCount"], 125);
    assert_eq!(joints["frames"].as_array().unwrap().len(), 125);
    assert_eq!(joints["jointNames"].as_array().unwrap().len(), 31);
    assert_eq!(joints["frames"][0].as_array().unwrap().len(), 31);
    // Metres, floor at 0: every height between 0 and 2.2 m.
    for frame in joints["frames"].as_array().unwrap() {
        for p in frame.as_array().unwrap() {
            let y = p[1].as_f64().unwrap();
            assert!((-0.01..2.2).contains(&y), "{y}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_120_fps_clip_is_resampled_to_30() {
    ffmpeg_present();
    let bytes = clip("animated_drawings_fair1_jumping.bvh"); // 654 frames at 119.9 fps, Z up
    let dir = tempfile::tempdir().unwrap();
    let options = BuildOptions {
        width: 240,
        height: 240,
        ..BuildOptions::default()
    };
    let cancel = CancellationToken::new();
    let built = catalog::build_from_bvh(&bytes, dir.path(), &options, &cancel)
        .await
        .unwrap();
    let expected = PreviewTiming::new(0.008342, 654, 30.0);
    assert_eq!(built.preview_frames, expected.frames);
    assert_eq!(
        built.preview_frames,
        (654.0f64 * 0.008342 * 30.0).round() as usize
    );
    let info = media::probe(
        &built.preview,
        Container::Mp4Mov,
        &media::Limits::default(),
        &cancel,
    )
    .await
    .unwrap();
    assert_eq!(info.frame_count, Some(expected.frames as u64));
    let duration = info.duration_s.unwrap();
    assert!(
        (duration - expected.frames as f64 / 30.0).abs() < 0.05,
        "duration {duration}"
    );
}

#[tokio::test]
async fn a_broken_bvh_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let cancel = CancellationToken::new();
    let err = catalog::build_from_bvh(
        b"HIERARCHY\nROOT Hips\n{\n",
        dir.path(),
        &BuildOptions::default(),
        &cancel,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("ends early"), "{err}");
}

#[tokio::test]
async fn an_overlong_clip_is_refused_before_rendering() {
    let dir = tempfile::tempdir().unwrap();
    let cancel = CancellationToken::new();
    let bytes = clip("animated_drawings_cmu1_jumping_jacks.bvh"); // 125 frames × 31 joints
    let options = BuildOptions {
        max_points: 125 * 31 - 1,
        ..BuildOptions::default()
    };
    let err = catalog::build_from_bvh(&bytes, dir.path(), &options, &cancel)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("too long for the catalog"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing written"
    );
}
