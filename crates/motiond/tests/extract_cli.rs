//! `motiond extract` as a user runs it: the real binary, the real models and ffmpeg.

use std::path::{Path, PathBuf};
use std::process::Command;

fn testdata() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata"
    ))
}

fn motiond() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_motiond"));
    // The models of the workspace (scripts/test.sh fetches them), unless the environment says.
    let models = motion_capture::models::test_models_dir();
    cmd.env("MOTIOND_MODELS_DIR", models)
        .env("RUST_BACKTRACE", "0");
    cmd
}

/// `motiond --data-dir WORK/data extract INPUT --out OUT`.
fn extract(work: &Path, input: &Path, out: &Path) -> Command {
    let mut cmd = motiond();
    cmd.arg("--data-dir")
        .arg(work.join("data"))
        .arg("extract")
        .arg(input)
        .arg("--out")
        .arg(out);
    cmd
}

#[test]
fn extract_writes_every_file_and_prints_a_one_line_summary() {
    let out = tempfile::tempdir().unwrap();
    let home = out.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let output = extract(
        out.path(),
        &testdata().join("synthetic/mh_cmu131_02_walk/video.mp4"),
        &out.path().join("result"),
    )
    // ONNX Runtime's telemetry would leave its database under $HOME/.cache.
    .env("HOME", &home)
    .env_remove("XDG_CACHE_HOME")
    .env_remove(motion_capture::models::ORT_TELEMETRY_OFF_VAR)
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let left_in_home: Vec<_> = std::fs::read_dir(&home).unwrap().collect();
    assert!(left_in_home.is_empty(), "written to HOME: {left_in_home:?}");
    assert!(
        stdout.starts_with("60 frames, person found in 60 (100%), "),
        "{stdout}"
    );
    for f in [
        "motion.bvh",
        "motion.glb",
        "landmarks.json",
        "quality.json",
        "bvh.zip",
        "binary.zip",
        "preview.mp4",
        "cover.jpg",
    ] {
        assert!(out.path().join("result").join(f).is_file(), "{f} missing");
    }
}

/// Each refused file gets one line and exit code 2, every time: the engine fails these while
/// the models are still loading, and exiting under that thread crashed 7 runs in 40 (a
/// segfault inside ONNX Runtime), so each case runs repeatedly.
#[test]
fn a_file_that_is_not_a_video_gives_one_line_and_a_failure_exit() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("clip.mp4");
    std::fs::write(&text, "not a video").unwrap();
    // MP4 magic bytes, then nothing ffprobe can read: refused by the probe, not the sniff.
    let broken = dir.path().join("broken.mp4");
    let mut bytes = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2".to_vec();
    bytes.extend(std::iter::repeat_n(0xa5u8, 4096));
    std::fs::write(&broken, bytes).unwrap();
    for (input, answer) in [
        (&text, "motiond extract: not a video file"),
        (&broken, "motiond extract: not a readable video"),
    ] {
        for _ in 0..15 {
            let output = extract(dir.path(), input, &dir.path().join("out"))
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(
                output.status.code(),
                Some(2),
                "{:?}: {stderr}",
                output.status
            );
            assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
            assert!(stderr.starts_with(answer), "{stderr}");
        }
    }
}
