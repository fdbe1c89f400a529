//! Building an official motion from a real BVH clip: the preview is a browser-playable H.264
//! video with the expected frame count and duration (per ffprobe), the figure moves, the cover
//! is a JPEG, and the zips hold exactly the contract's files (§9.4-§9.5), read back by the
//! project's reader, the PyPI `bvh` package and the Khronos glTF Validator.

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
    // The source's Frame Time (0.03333), printed as the engine's exporter prints it.
    check_contract_bvh(&bvh_zip[0].1, 125, "Frame Time: 0.0333300");

    let binary = zip_entries(&built.binary_zip);
    let names: Vec<&str> = binary.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["motion.glb", "landmarks.json"]);
    assert_eq!(&binary[0].1[..4], b"glTF");
    check_landmarks(&binary[1].1, 125, 320);
    check_with_independent_readers(&bvh_zip[0].1, &binary[0].1);
}

/// §9.4: the 22 joints in order, 69 numbers a frame, no exponents; the project's reader reads it
/// back.
fn check_contract_bvh(bytes: &[u8], frames: usize, frame_time_line: &str) {
    let text = std::str::from_utf8(bytes).unwrap();
    let motion = text.split("MOTION\n").nth(1).unwrap();
    let mut lines = motion.lines();
    assert_eq!(lines.next().unwrap(), format!("Frames: {frames}"));
    assert_eq!(lines.next().unwrap(), frame_time_line);
    for l in lines {
        assert_eq!(l.split(' ').count(), 69);
        assert!(!l.contains('e') && !l.contains('E'));
    }
    let parsed = motion_capture::bvh::parse(bytes).unwrap();
    let names: Vec<&str> = parsed.joints.iter().map(|j| j.name.as_str()).collect();
    assert_eq!(names, motion_capture::animation::MIXAMO_JOINTS);
    assert_eq!(parsed.frame_count(), frames);
}

/// §9.5: 33 landmarks a frame, world in metres about the hips, image within the picture.
fn check_landmarks(bytes: &[u8], frames: usize, width: u32) {
    let lm: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    assert_eq!(lm["format"], "motiond.landmarks");
    assert_eq!(lm["model"], catalog::MOCAP_LANDMARKS_MODEL);
    assert_eq!(lm["frameCount"], frames);
    assert_eq!(lm["width"], width);
    assert_eq!(lm["landmarkNames"].as_array().unwrap().len(), 33);
    let all = lm["frames"].as_array().unwrap();
    assert_eq!(all.len(), frames);
    let mut nose_y = 0.0;
    for f in all {
        assert_eq!(f["detected"], true);
        let (image, world) = (
            f["image"].as_array().unwrap(),
            f["world"].as_array().unwrap(),
        );
        assert_eq!((image.len(), world.len()), (33, 33));
        for p in image {
            let (x, y) = (p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
            assert!((0.0..=1.0).contains(&x) && (0.0..=1.0).contains(&y), "{p}");
            assert_eq!(p[3], 1.0);
        }
        // The hips' midpoint is the origin, y points down: the nose is above it on average (a
        // kick, a bow, a crouch take it lower for a while).
        let hips: Vec<f64> = (0..3)
            .map(|k| (world[23][k].as_f64().unwrap() + world[24][k].as_f64().unwrap()) / 2.0)
            .collect();
        assert!(hips.iter().all(|v| v.abs() < 1e-4), "{hips:?}");
        nose_y += world[0][1].as_f64().unwrap() / frames as f64;
    }
    assert!(
        nose_y < -0.2,
        "the nose is {nose_y} m below the hips on average"
    );
}

/// The PyPI `bvh` package reads the BVH (the python helper of `export_formats.rs`), and the
/// Khronos glTF Validator finds no error in the glb.
fn check_with_independent_readers(bvh: &[u8], glb: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let (bvh_path, glb_path) = (dir.path().join("motion.bvh"), dir.path().join("motion.glb"));
    std::fs::write(&bvh_path, bvh).unwrap();
    std::fs::write(&glb_path, glb).unwrap();
    let workspace = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let python = std::env::var_os("MOTIOND_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join(".venv/bin/python"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/export_bvh_fk.py");
    let out = std::process::Command::new(&python)
        .arg(&script)
        .arg(&bvh_path)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["joints"].as_array().unwrap().len(), 22);
    let tools = workspace.join("tools/js");
    let out = std::process::Command::new("node")
        .arg(tools.join("validate_gltf.mjs"))
        .arg(&glb_path)
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["numErrors"], 0, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_test_clip_builds_into_contract_files() {
    ffmpeg_present();
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/bvh"
    ));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".bvh"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 12);
    // Small previews: this is about the archives, which do not depend on the picture's size.
    let options = BuildOptions {
        width: 64,
        height: 64,
        max_fps: 10.0,
        ..BuildOptions::default()
    };
    for name in names {
        let bytes = clip(&name);
        let out = tempfile::tempdir().unwrap();
        let built =
            catalog::build_from_bvh(&bytes, out.path(), &options, &CancellationToken::new())
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        let frames = motion_capture::bvh::parse(&bytes).unwrap().frame_count();
        let bvh_zip = zip_entries(&built.bvh_zip);
        let frame_time = format!(
            "Frame Time: {:.7}",
            motion_capture::bvh::parse(&bytes).unwrap().frame_time_s
        );
        check_contract_bvh(&bvh_zip[0].1, frames, &frame_time);
        let binary = zip_entries(&built.binary_zip);
        assert_eq!(binary.len(), 2, "{name}");
        check_landmarks(&binary[1].1, frames, 64);
        eprintln!("{name}: built");
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

/// A stored motion is known as format 2's or 3's build of a clip only when it is that build byte
/// for byte: the same clip with its hands turned (an operator's mend), the clip as retargeting
/// makes it now or as the other format made it, another clip, a motion cut short or a file that
/// is not a BVH is not.
#[test]
fn a_stored_motion_is_known_as_an_earlier_format_s_build_of_its_clip_only_when_it_is_that_file() {
    use motion_capture::animation::{joint, math::Quat};
    let walk = clip("cmu_131_02_bvh11.bvh");
    let parsed = motion_capture::bvh::parse(&walk).unwrap();
    let written = |a: &motion_capture::animation::Animation| {
        motion_capture::export::bvh::to_bvh(a).into_bytes()
    };
    let build_in = |format: u32| {
        let reading = catalog::reading_of_format(format).unwrap();
        parsed.retarget_reading(reading).unwrap().animation
    };
    let now = written(&parsed.retarget().unwrap().animation);
    for (format, other) in [(2, 3), (3, 2)] {
        let built = build_in(format);
        let stored = written(&built);
        assert!(catalog::is_build_in_format(&stored, &walk, format));
        assert_ne!(
            stored, now,
            "format {format} differs from the current build"
        );
        assert!(!catalog::is_build_in_format(&now, &walk, format));
        let by_the_other = written(&build_in(other));
        assert!(!catalog::is_build_in_format(&by_the_other, &walk, format));
        let mut hands_mended = built.clone();
        let about_the_bone = Quat::from_axis_angle([1.0, 0.0, 0.0], 20f32.to_radians());
        for f in &mut hands_mended.frames {
            f.rotations[joint::LEFT_HAND] = f.rotations[joint::LEFT_HAND].compose(about_the_bone);
        }
        assert!(!catalog::is_build_in_format(
            &written(&hands_mended),
            &walk,
            format
        ));
        let mut cut_short = built.clone();
        cut_short.frames.pop();
        assert!(!catalog::is_build_in_format(
            &written(&cut_short),
            &walk,
            format
        ));
        let hop = clip("cmu_131_03_bvh11.bvh");
        assert!(!catalog::is_build_in_format(&stored, &hop, format));
        assert!(!catalog::is_build_in_format(b"not a bvh", &walk, format));
        assert!(!catalog::is_build_in_format(&stored, b"not a bvh", format));
    }
    for no_reading in [0, 1, catalog::BUILD_FORMAT] {
        assert!(!catalog::is_build_in_format(&now, &walk, no_reading));
    }
}
