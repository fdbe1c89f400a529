//! `motiond motions import|list|remove` through the real binary on a temp data dir.

use std::path::Path;
use std::process::{Command, Output};

fn motiond(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_motiond"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("MOTIOND_CONFIG")
        .output()
        .expect("motiond runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn testdata_bvh(name: &str) -> String {
    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/bvh"
    ))
    .join(name);
    assert!(
        path.exists(),
        "test data missing at {}: run scripts/test.sh",
        path.display()
    );
    path.display().to_string()
}

#[test]
fn import_list_replace_and_remove_an_official_motion() {
    let ffmpeg = Command::new("ffmpeg").arg("-version").output();
    assert!(
        ffmpeg.is_ok_and(|o| o.status.success()),
        "ffmpeg missing: run scripts/test.sh"
    );
    let dir = tempfile::tempdir().unwrap();
    let clip = testdata_bvh("bvhtoolbox_test_freebvh_mixamorig.bvh"); // 69 frames, mixamorig: names

    let out = motiond(
        dir.path(),
        &[
            "motions",
            "import",
            &clip,
            "--name",
            "Mixamo clip",
            "--tag",
            "dance",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let work_id = motion_core::ids::official_work_id("mixamo-clip");
    assert!(
        stdout(&out).contains(&work_id.to_string()),
        "{}",
        stdout(&out)
    );

    let list = stdout(&motiond(dir.path(), &["motions", "list"]));
    let line = list
        .lines()
        .find(|l| l.contains("mixamo-clip"))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(
        line.contains("dance") && line.ends_with("Mixamo clip"),
        "{line}"
    );

    // The same key again is refused unless --replace says so (a name that derives the key of
    // another motion must not overwrite it unnoticed).
    let again = [
        "motions",
        "import",
        &clip,
        "--name",
        "Renamed",
        "--tag",
        "gesture",
        "--key",
        "mixamo-clip",
    ];
    let out = motiond(dir.path(), &again);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("pass --replace"), "{stderr}");
    assert!(
        stdout(&motiond(dir.path(), &["motions", "list"])).contains("Mixamo clip"),
        "the refused import changed nothing"
    );
    // With --replace it replaces the motion and keeps its workId; the old files go away.
    let out = motiond(dir.path(), &[&again[..], &["--replace"]].concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = stdout(&motiond(dir.path(), &["motions", "list"]));
    assert_eq!(
        list.lines().filter(|l| l.contains("mixamo-clip")).count(),
        1,
        "{list}"
    );
    assert!(
        list.contains(&format!("{work_id}")) && list.contains("Renamed"),
        "{list}"
    );
    let previews = walk(&dir.path().join("blobs"))
        .into_iter()
        .filter(|p| p.ends_with("motion.mp4"))
        .count();
    assert_eq!(previews, 1, "the replaced motion's files are purged");

    // Bad input: a clear error, nothing stored.
    let not_bvh = dir.path().join("notes.txt");
    std::fs::write(&not_bvh, "hello").unwrap();
    let out = motiond(
        dir.path(),
        &[
            "motions",
            "import",
            not_bvh.to_str().unwrap(),
            "--name",
            "X",
            "--tag",
            "dance",
        ],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("neither a BVH file nor"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = motiond(
        dir.path(),
        &[
            "motions", "import", &clip, "--name", "X", "--tag", "nonsense",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not one of"));

    // Arguments are checked before anything is created: no data dir for a refused import.
    let fresh = dir.path().join("fresh");
    let missing = dir.path().join("missing.bvh");
    for (args, expected) in [
        (vec!["--name", "X", "--tag", "dance"], "No such file"),
        (
            vec!["--name", "Two\nlines", "--tag", "dance"],
            "--name must be",
        ),
        (vec!["--name", "歩く", "--tag", "dance"], "pass --key"),
        (
            vec!["--name", "X", "--tag", "sport", "--key", "Bad Key"],
            "catalog key",
        ),
    ] {
        let file = if expected == "No such file" {
            missing.to_str().unwrap()
        } else {
            clip.as_str()
        };
        let out = motiond(&fresh, &[&["motions", "import", file][..], &args].concat());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!fresh.exists(), "{args:?} created the data dir");
    }

    let out = motiond(dir.path(), &["motions", "remove", "mixamo-clip"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout(&motiond(dir.path(), &["motions", "list"])).contains("mixamo-clip"));
    assert!(
        walk(&dir.path().join("blobs")).is_empty(),
        "no blob left behind"
    );
    let out = motiond(dir.path(), &["motions", "remove", "mixamo-clip"]);
    assert!(!out.status.success(), "removing an unknown key fails");
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Two imports of one key at once: whichever records first wins, the other is refused as if
/// it had come later (the key check and the write are one transaction), and the loser's files
/// are not left behind. Whatever the timing, the outcome is the same.
#[test]
fn two_imports_of_one_key_at_once_never_replace_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let out = motiond(dir.path(), &["migrate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let clip = testdata_bvh("bvhtoolbox_test_freebvh_mixamorig.bvh");
    let import = |name: &'static str| {
        let data_dir = dir.path().to_path_buf();
        let clip = clip.clone();
        std::thread::spawn(move || {
            let args = [
                "motions", "import", &clip, "--name", name, "--tag", "dance", "--key", "same-key",
            ];
            motiond(&data_dir, &args)
        })
    };
    let (first, second) = (import("First"), import("Second"));
    let outs = [first.join().unwrap(), second.join().unwrap()];
    let winners: Vec<&Output> = outs.iter().filter(|o| o.status.success()).collect();
    assert_eq!(winners.len(), 1, "{outs:?}");
    let loser = outs.iter().find(|o| !o.status.success()).unwrap();
    let stderr = String::from_utf8_lossy(&loser.stderr);
    assert_eq!(loser.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("pass --replace"), "{stderr}");

    let list = stdout(&motiond(dir.path(), &["motions", "list"]));
    let lines: Vec<&str> = list.lines().filter(|l| l.contains("same-key")).collect();
    assert_eq!(lines.len(), 1, "{list}");
    let winner_name = if stdout(winners[0]).contains("\"First\"") {
        "First"
    } else {
        "Second"
    };
    assert!(lines[0].ends_with(winner_name), "{list} / {winners:?}");
    let blobs = walk(&dir.path().join("blobs"));
    assert_eq!(
        blobs.len(),
        4,
        "the winner's four files and no orphan: {blobs:?}"
    );
    let versions = std::fs::read_dir(blobs[0].parent().unwrap().parent().unwrap())
        .unwrap()
        .count();
    assert_eq!(versions, 1, "the loser's emptied folder is removed too");
}

/// `motiond motions import` of a video long enough to be stopped while it runs (139 s at 10
/// fps), into `data`, its engine's job folder in `tmp`.
fn importing_a_long_video(data: &Path, tmp: &Path) -> Command {
    let clip = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/videos/intel_one_by_one_person_detection.mp4"
    ));
    let mut command = Command::new(env!("CARGO_BIN_EXE_motiond"));
    command
        .arg("--data-dir")
        .arg(data)
        .args(["motions", "import"])
        .arg(clip)
        .args(["--name", "Long", "--tag", "dance"])
        .env_remove("MOTIOND_CONFIG")
        .env("TMPDIR", tmp);
    command
}

/// Waits until a file appears anywhere under `dir`, failing with `otherwise` after a minute.
fn wait_for_a_file_in(dir: &Path, otherwise: &str) {
    let started = std::time::Instant::now();
    while walk(dir).is_empty() {
        assert!(started.elapsed().as_secs() < 60, "{otherwise}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A kill (SIGTERM) or a closed terminal (SIGHUP) during an import cancels it like Ctrl-C: one
/// line, exit 1, nothing recorded, and no temporary folder (the engine's copy of the video, the
/// build's folder) is left. It used to take only Ctrl-C; a SIGTERM killed it by the default
/// action and left both folders.
#[test]
fn a_terminated_import_records_nothing_and_leaves_no_temporary_files() {
    for signal in ["TERM", "HUP"] {
        let dir = tempfile::tempdir().unwrap();
        let (data, tmp) = (dir.path().join("data"), dir.path().join("tmp"));
        std::fs::create_dir(&tmp).unwrap();
        let child = importing_a_long_video(&data, &tmp)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Signal once the engine has its job folder (the copy of the video is made or decoded).
        wait_for_a_file_in(&tmp, "no job folder appeared");
        let status = Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "SIG{signal}: {stderr}");
        let answer = stderr.trim_end().lines().last().unwrap_or_default();
        assert!(
            answer.starts_with("motiond motions import: ")
                && answer.ends_with("extraction was cancelled"),
            "SIG{signal}: {stderr}"
        );
        assert_eq!(walk(&tmp), Vec::<std::path::PathBuf>::new(), "SIG{signal}");
        assert_eq!(
            walk(&data.join("tmp")),
            Vec::<std::path::PathBuf>::new(),
            "SIG{signal}"
        );
        let listed = stdout(&motiond(&data, &["motions", "list"]));
        assert!(!listed.contains("Long"), "SIG{signal} recorded: {listed}");
    }
}

/// An import killed outright (SIGKILL, the OOM killer) cleans nothing up: its build folder in
/// the data folder's scratch space stays. The next import removes it, without a service's
/// janitor, and leaves nothing of its own.
#[test]
fn what_a_killed_import_left_is_removed_by_the_next_import() {
    let dir = tempfile::tempdir().unwrap();
    let (data, tmp) = (dir.path().join("data"), dir.path().join("tmp"));
    std::fs::create_dir(&tmp).unwrap();
    let builds = data.join("tmp/catalog");
    let mut killed = importing_a_long_video(&data, &tmp)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for_a_file_in(&builds, "no build folder appeared");
    killed.kill().unwrap();
    killed.wait().unwrap();
    assert!(!walk(&builds).is_empty(), "a killed import cleans nothing");

    let clip = testdata_bvh("bvhtoolbox_test_freebvh_mixamorig.bvh");
    let out = motiond(
        &data,
        &[
            "motions", "import", &clip, "--name", "Next", "--tag", "dance",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(walk(&builds), Vec::<std::path::PathBuf>::new());
    assert!(stdout(&motiond(&data, &["motions", "list"])).contains("Next"));
}
