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

/// `motiond --data-dir WORK/data motions import INPUT --name NAME --tag dance`.
fn import(work: &Path, input: &Path, name: &str) -> Command {
    let mut cmd = motiond();
    cmd.arg("--data-dir")
        .arg(work.join("data"))
        .args(["motions", "import"])
        .arg(input)
        .args(["--name", name, "--tag", "dance"]);
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

/// A kill (SIGTERM) or a closed terminal (SIGHUP) cancels the job like Ctrl-C: one line, exit 1,
/// and the job's temporary folder, which holds a copy of the user's video, is gone.
#[test]
fn a_terminated_extraction_leaves_no_temporary_files() {
    let long = testdata().join("videos/intel_one_by_one_person_detection.mp4");
    for signal in ["TERM", "HUP", "INT"] {
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join("tmp");
        std::fs::create_dir(&tmp).unwrap();
        let child = extract(dir.path(), &long, &dir.path().join("out"))
            .env("TMPDIR", &tmp)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Signal once the job has its folder (the copy of the video is being made or decoded).
        let started = std::time::Instant::now();
        while job_dirs(&tmp) == 0 {
            assert!(started.elapsed().as_secs() < 60, "no job folder appeared");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let status = Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "SIG{signal}: {stderr}");
        assert_eq!(
            stderr.trim_end(),
            "motiond extract: extraction was cancelled",
            "SIG{signal}"
        );
        assert_eq!(job_dirs(&tmp), 0, "SIG{signal} left the job folder");
    }
}

/// A run killed outright (SIGKILL, the OOM killer) cleans nothing up: its job folder (a copy of
/// the user's video) and its hidden folder in `--out` stay, and the next run in the same places
/// removes them.
#[test]
fn what_a_killed_extraction_left_is_removed_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let (tmp, out) = (dir.path().join("tmp"), dir.path().join("out"));
    std::fs::create_dir(&tmp).unwrap();
    let long = testdata().join("videos/intel_one_by_one_person_detection.mp4");
    let mut killed = extract(dir.path(), &long, &out)
        .env("TMPDIR", &tmp)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while job_dirs(&tmp) == 0 || hidden_in(&out) == 0 {
        assert!(started.elapsed().as_secs() < 60, "the run made no folders");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    killed.kill().unwrap();
    killed.wait().unwrap();
    assert_eq!(
        (job_dirs(&tmp), hidden_in(&out)),
        (1, 1),
        "a killed run cleans nothing"
    );

    let video = testdata().join("synthetic/mh_cmu131_02_walk/video.mp4");
    let output = extract(dir.path(), &video, &out)
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!((job_dirs(&tmp), hidden_in(&out)), (0, 0));
    assert!(out.join("motion.bvh").is_file());
}

/// How many hidden entries `dir` holds (none if it does not exist).
fn hidden_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with('.')
            })
            .count()
    })
}

fn job_dirs(tmp: &Path) -> usize {
    std::fs::read_dir(tmp)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("motiond-job-")
        })
        .count()
}

#[test]
fn an_out_path_that_is_a_file_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("taken");
    std::fs::write(&file, "mine").unwrap();
    let input = testdata().join("synthetic/mh_cmu131_02_walk/video.mp4");
    let output = extract(dir.path(), &input, &file).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        format!(
            "motiond extract: --out {} exists and is not a directory",
            file.display()
        )
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
}

/// A refused file gets the reason in plain words, read from ffmpeg's diagnostics, not the
/// tool's exit status.
#[test]
fn a_refused_video_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let walk = testdata().join("synthetic/mh_cmu131_02_walk/video.mp4");
    let ffv1 = dir.path().join("lossless.mkv");
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(&walk)
        .args(["-t", "0.5", "-c:v", "ffv1"])
        .arg(&ffv1)
        .status()
        .unwrap();
    assert!(status.success());
    // The first 30 % of an MP4 whose index is at its end.
    let bytes = std::fs::read(&walk).unwrap();
    let truncated = dir.path().join("truncated.mp4");
    std::fs::write(&truncated, &bytes[..bytes.len() * 3 / 10]).unwrap();
    // Wider than anything we decode (x264 stops at 16384 px; x265 makes it in under a second).
    let wide = dir.path().join("wide.mp4");
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-f", "lavfi", "-i"])
        .args([
            "testsrc=size=16400x240:rate=1",
            "-t",
            "2",
            "-c:v",
            "libx265",
        ])
        .args(["-preset", "ultrafast", "-x265-params", "log-level=error"])
        .arg(&wide)
        .status()
        .unwrap();
    assert!(status.success());
    for (input, answer) in [
        (&ffv1, "the video codec ffv1 is not supported"),
        (
            &wide,
            "its frames (16400x240) are larger than the limit of 16384 pixels a side",
        ),
        (
            &truncated,
            "the file is incomplete or damaged (its MP4 index is missing)",
        ),
    ] {
        let output = extract(dir.path(), input, &dir.path().join("out"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert_eq!(
            stderr.trim_end(),
            format!("motiond extract: not a readable video: {answer}")
        );
        assert!(
            !dir.path().join("out").exists(),
            "a refused input leaves no output folder behind"
        );
    }
    // A folder that was there before is left in place.
    let existing = dir.path().join("existing");
    std::fs::create_dir(&existing).unwrap();
    let output = extract(dir.path(), &ffv1, &existing).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(existing.is_dir());
}

/// A video in which nobody is found: a grey picture, one second of it.
fn grey_video(dir: &Path) -> PathBuf {
    let grey = dir.join("grey.mp4");
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-f", "lavfi", "-i"])
        .args(["color=c=gray:size=320x240:rate=10", "-t", "1"])
        .args(["-c:v", "libx264", "-pix_fmt", "yuv420p"])
        .arg(&grey)
        .status()
        .unwrap();
    assert!(status.success());
    grey
}

/// A failed run removes every folder it created for `--out` (its missing parents too), and
/// none that was there before; a link is never removed, nor followed to what it points to.
#[test]
fn a_failed_run_removes_the_folders_it_created_and_no_other() {
    let dir = tempfile::tempdir().unwrap();
    let grey = grey_video(dir.path());
    let no_person = |out: &Path| {
        let output = extract(dir.path(), &grey, out).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        stderr.into_owned()
    };

    // Every folder of nest/a/b/c is the run's own.
    let stderr = no_person(&dir.path().join("nest/a/b/c"));
    assert!(stderr.contains("No person detected"), "{stderr}");
    assert!(!dir.path().join("nest").exists(), "nest/a/b left behind");

    // nest was the user's: it stays, with what was in it.
    let nest = dir.path().join("nest");
    std::fs::create_dir(&nest).unwrap();
    std::fs::write(nest.join("mine"), "mine").unwrap();
    no_person(&nest.join("a/b/c"));
    assert!(!nest.join("a").exists(), "nest/a left behind");
    assert_eq!(std::fs::read_to_string(nest.join("mine")).unwrap(), "mine");

    // Through a link to a folder of the user's: only what the run made inside is removed.
    let real = dir.path().join("real");
    std::fs::create_dir(&real).unwrap();
    let linked = dir.path().join("linked");
    std::os::unix::fs::symlink(&real, &linked).unwrap();
    no_person(&linked.join("x/y"));
    assert!(real.is_dir() && linked.is_symlink());
    assert!(!real.join("x").exists(), "real/x left behind");

    // A link to nowhere as --out is no folder: refused, and left as it was.
    let dangling = dir.path().join("dangling");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
    no_person(&dangling);
    assert!(dangling.is_symlink(), "the user's link was removed");
    assert!(!dir.path().join("nowhere").exists());
}

/// The summary's reader may be gone (`motiond extract … | true`): the outputs are written,
/// so that is no failure, and nothing panics.
#[test]
fn a_closed_stdout_does_not_fail_a_finished_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("result");
    let mut child = extract(
        dir.path(),
        &testdata().join("synthetic/mh_cmu131_02_walk/video.mp4"),
        &out,
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    // Closed long before the summary is printed: the extraction takes seconds.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.join("motion.bvh").is_file());
}

/// `motions import` answers the inputs that `extract` refuses as `extract` does: exit 2, one
/// line.
/// A video import uses the landmark model the service is configured for, as the workers do:
/// here one not fetched, which it names (it ran `full` whatever the setting).
#[test]
fn motions_import_uses_the_configured_landmark_model() {
    let dir = tempfile::tempdir().unwrap();
    let video = testdata().join("synthetic/mh_cmu131_02_walk/video.mp4");
    let output = import(dir.path(), &video, "Walk heavy")
        .env("MOTIOND_MODELS__LANDMARK", "heavy")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("heavy"), "{stderr}");
}

#[test]
fn motions_import_refuses_bad_input_with_the_exit_code_of_extract() {
    let dir = tempfile::tempdir().unwrap();
    let grey = grey_video(dir.path());
    let output = extract(dir.path(), &grey, &dir.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "hello").unwrap();
    let no_frames = dir.path().join("empty.bvh");
    std::fs::write(
        &no_frames,
        "HIERARCHY\nROOT Hips\n{\n  OFFSET 0 0 0\n  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation\n  \
         End Site\n  {\n    OFFSET 0 10 0\n  }\n}\nMOTION\nFrames: 0\nFrame Time: 0.033333\n",
    )
    .unwrap();
    for (input, answer) in [
        (&grey, "No person detected"),
        (&notes, "is neither a BVH file nor"),
        (&no_frames, "BVH has no frames"),
    ] {
        let output = import(dir.path(), input, "Refused").output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{}: {stderr}",
            input.display()
        );
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("motiond motions import: ") && stderr.contains(answer),
            "{stderr}"
        );
    }
}
