//! Durability: a task accepted with 200 survives kill -9 and SIGTERM of `serve`.

use serde_json::{Value, json};

use crate::harness::*;

async fn submit(c: &Client, server: &Server) -> i64 {
    create_account(c, server, "crash@example.com", json!({})).await;
    let video = testdata("videos/mmhuman3d_single_person_basketball.mp4");
    submit_video(c, server, &video).await
}

async fn assert_one_motion(c: &Client, server: &Server, done: &Value) {
    assert_eq!(done["status"], 99, "{done}");
    assert_eq!(done["works"].as_array().unwrap().len(), 1);
    let (st, mine) = c.get(&server.api("/videos/motions?mine=true")).await;
    assert_eq!(st, 200);
    let n = mine
        .to_string()
        .matches(&format!("\"taskId\":{}", done["task"]["id"]))
        .count();
    assert_eq!(n, 1, "exactly one motion for the task: {mine}");
}

/// ... and leaves no copy of the user's video outside the data directory, where nothing would
/// ever clean it.
#[tokio::test]
async fn kill_9_during_processing_then_restart_still_succeeds() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let system_tmp = tmp.path().join("system-tmp");
    std::fs::create_dir(&system_tmp).unwrap();
    let env = [("TMPDIR", system_tmp.to_str().unwrap())];
    let mut server = Server::start_with(&data, &env);
    let c = Client::new(server.token("frank"));
    let task_id = submit(&c, &server).await;
    c.wait_until(&server, task_id, None, |t| t["status"] == 10)
        .await;
    // Kill it while the engine decodes (its scratch folder exists then).
    let until = std::time::Instant::now() + TASK_DEADLINE;
    while !server.media_children().iter().any(|p| p == "ffmpeg") {
        assert!(std::time::Instant::now() < until, "no ffmpeg child seen");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    server.kill9();

    let server = Server::start_with(&data, &env);
    let done = c.wait_final(&server, task_id, None).await;
    assert_one_motion(&c, &server, &done).await;
    let left: Vec<_> = std::fs::read_dir(&system_tmp)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with("motiond-job-"))
        .collect();
    assert!(left.is_empty(), "job folders left in TMPDIR: {left:?}");
}

#[tokio::test]
async fn sigterm_is_graceful_and_the_task_finishes_after_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut server = Server::start(&data);
    let c = Client::new(server.token("gina"));
    let task_id = submit(&c, &server).await;
    c.wait_until(&server, task_id, None, |t| t["status"] == 10)
        .await;
    let status = server.terminate(std::time::Duration::from_secs(60));
    assert!(
        status.success(),
        "exit status after SIGTERM: {status:?}\n{}",
        server.stderr()
    );

    let server = Server::start(&data);
    let done = c.wait_final(&server, task_id, None).await;
    assert_one_motion(&c, &server, &done).await;
}

/// An operator who will not wait for the graceful stop signals again: the process ends at once
/// (exit 130), and the task it was running is not lost: the next start finishes it.
#[tokio::test]
async fn a_second_signal_stops_at_once_and_the_task_survives() {
    use nix::sys::signal::Signal;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // A long grace, so that only the second signal can end the process quickly.
    let grace = [("MOTIOND_WORKER__SHUTDOWN_GRACE_S", "120")];
    let mut server = Server::start_with(&data, &grace);
    let c = Client::new(server.token("ivan"));
    create_account(&c, &server, "second@example.com", json!({})).await;
    let video = testdata("videos/sports2d_demo.mp4");
    let task_id = submit_video(&c, &server, &video).await;
    c.wait_until(&server, task_id, None, |t| t["status"] == 10)
        .await;
    // Freeze the job's ffmpeg (the decoder starves inference) so that it cannot finish
    // during the wait below, however fast this machine is.
    let frozen = freeze_ffmpeg_children(&server, task_id, &c).await;
    server.signal(Signal::SIGINT);
    // A second signal within a second is the same stop arriving twice (a process manager
    // forwarding the terminal's SIGINT as SIGTERM): the graceful stop goes on.
    server.signal(Signal::SIGTERM);
    // Past that second, a second signal is the operator's.
    std::thread::sleep(std::time::Duration::from_millis(1300));
    assert!(
        server.exited().is_none(),
        "the first signals wait for the running job\n{}",
        server.stderr()
    );
    // Meanwhile it answers new connections: alive, and not ready (contract §10.1, §10.2).
    let fresh = Client::new(String::new());
    let (healthz, readyz) = (
        fresh.get(&format!("{}/healthz", server.base)).await,
        fresh.get(&format!("{}/readyz", server.base)).await,
    );
    assert_eq!(healthz.0, 200, "{healthz:?}");
    assert_eq!(readyz, (503, json!({"error": "Not ready: shutting_down"})));
    server.signal(Signal::SIGINT);
    let status = server.exit_status_within(std::time::Duration::from_secs(5));
    assert_eq!(status.code(), Some(130), "{}", server.stderr());
    assert!(
        server
            .stderr()
            .contains("motiond: second signal, stopping now"),
        "{}",
        server.stderr()
    );

    // The frozen ffmpeg lost its parent; end it (its output has nowhere to go anyway).
    for pid in frozen {
        let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
    }

    let server = Server::start_with(&data, &grace);
    let done = c.wait_final(&server, task_id, None).await;
    assert_one_motion(&c, &server, &done).await;
}

/// Stops (SIGSTOP) the ffmpeg processes of the server's running job once the decoder runs.
async fn freeze_ffmpeg_children(
    server: &Server,
    task_id: i64,
    c: &Client,
) -> Vec<nix::unistd::Pid> {
    let until = std::time::Instant::now() + TASK_DEADLINE;
    loop {
        let ffmpeg: Vec<_> = server
            .media_processes()
            .into_iter()
            .filter(|(_, comm)| comm == "ffmpeg")
            .map(|(pid, _)| pid)
            .collect();
        if !ffmpeg.is_empty() {
            for &pid in &ffmpeg {
                nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).unwrap();
            }
            return ffmpeg;
        }
        assert!(std::time::Instant::now() < until, "no ffmpeg child seen");
        let (_, t) = c.get(&server.api(&format!("/tasks/{task_id}"))).await;
        assert_ne!(t["status_final"], true, "the task ended first: {t}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn deleting_a_running_task_stops_its_ffmpeg_within_a_second() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"));
    let c = Client::new(server.token("ivan"));
    create_account(&c, &server, "ivan@example.com", json!({})).await;
    let video = testdata("videos/intel_one_by_one_walk_in_10s.mp4");
    let task_id = submit_video(&c, &server, &video).await;

    // Wait until the job decodes (an ffmpeg child, not just a probe), then delete the task.
    let until = std::time::Instant::now() + TASK_DEADLINE;
    while !server.media_children().iter().any(|p| p == "ffmpeg") {
        assert!(std::time::Instant::now() < until, "no ffmpeg child seen");
        let (_, t) = c.get(&server.api(&format!("/tasks/{task_id}"))).await;
        assert_ne!(
            t["status_final"], true,
            "the task ended before it could be deleted: {t}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let asked = std::time::Instant::now();
    let (status, body) = c.delete(&server.api(&format!("/tasks/{task_id}"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({ "deleted": 0, "workIds": [] }));
    while !server.media_children().is_empty() {
        assert!(
            asked.elapsed() < std::time::Duration::from_secs(1),
            "ffmpeg still running {:?} after DELETE",
            asked.elapsed()
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let (status, _) = c.get(&server.api(&format!("/tasks/{task_id}"))).await;
    assert_eq!(status, 404);
    // The job itself ended without publishing (inference stopped too).
    let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !server.stderr().contains("end=Abandoned") {
        assert!(
            std::time::Instant::now() < until,
            "the job did not end: {}",
            server.stderr()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The listener opens once the start-up is over (contract §10): a first start seeds the catalog
/// for a while, and meanwhile a connection is refused at once, not accepted and left hanging.
/// A SIGTERM then stops the start as gracefully as a running server: exit 0, and the catalog
/// build under way leaves no folder.
#[test]
fn during_the_start_up_the_port_refuses_and_a_sigterm_stops_it_cleanly() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(&data)
        .envs(test_env())
        .env("MOTIOND_CATALOG__SEED", "true")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        stdout
            .lines()
            .map_while(Result::ok)
            .for_each(|l| drop(tx.send(l)))
    });

    let builds = data.join("tmp/catalog");
    let building = || std::fs::read_dir(&builds).is_ok_and(|mut d| d.next().is_some());
    let started = Instant::now();
    while !building() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no catalog build began"
        );
        assert!(
            lines.try_recv().is_err(),
            "listening before the catalog was seeded"
        );
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
            other => panic!("a connection during the start-up: {other:?}"),
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    match std::net::TcpStream::connect(("127.0.0.1", port)) {
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
        other => panic!("a connection while the catalog is seeded: {other:?}"),
    }

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{:?}\n{stderr}", output.status);
    assert!(!building(), "the build's folder is left:\n{stderr}");
}

/// A stop asked for while the start-up waits for another process' migration lock ends the
/// start at once: the process neither listens nor announces itself nor makes the admin, and
/// exits 0 while the lock is still held (it used to wait with the lock's holder, a minute when
/// that one migrates a large database; before that, it announced itself after the signal).
/// `serve`, `api` and `worker` alike (the worker took its signals only once it had started).
#[test]
fn a_stop_during_the_start_up_is_carried_out_without_serving() {
    for command in [
        &["serve", "--listen", "127.0.0.1:0"][..],
        &["api", "--listen", "127.0.0.1:0"],
        &["worker"],
    ] {
        let output = stop_while_waiting_for("motiond.db.migrate.lock", command);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "{command:?}: {:?}\n{stderr}",
            output.status
        );
        assert_eq!(output.stdout, b"", "{command:?}: {stderr}");
    }
}

/// `motiond motions seed`, told to stop while another process holds the database's migration
/// lock or the catalog's, ends at once with its one-line answer and exit status 1 (the seeding
/// was not done); it used to take only Ctrl-C, and a SIGTERM killed it by the default action.
#[test]
fn a_seeding_stopped_while_it_waits_for_a_lock_says_so() {
    for lock in ["motiond.db.migrate.lock", "motiond.db.catalog.lock"] {
        let output = stop_while_waiting_for(lock, &["motions", "seed"]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{lock}: {stderr}");
        assert!(
            stderr.trim_end().lines().last().is_some_and(|line| line
                .starts_with("motiond: stopped while waiting for")
                && line.contains(lock)),
            "{lock}: {stderr}"
        );
        assert_eq!(output.stdout, b"", "{lock}: {stderr}");
    }
}

/// Runs `motiond COMMAND` on a fresh data directory while this process holds the lock file
/// `lock_name` in it, sends SIGTERM once the command waits for that lock (has the file open),
/// and returns its output: it must have ended within 20 s of the signal, the lock still held.
fn stop_while_waiting_for(lock_name: &str, command: &[&str]) -> std::process::Output {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let lock_path = data.join(lock_name);
    let lock = std::fs::File::create(&lock_path).unwrap();
    lock.lock().unwrap();
    let mut child = Command::new(BIN)
        .args(command)
        .arg("--data-dir")
        .arg(&data)
        .envs(test_env())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let fds = format!("/proc/{}/fd", child.id());
    let started = Instant::now();
    while !std::fs::read_dir(&fds)
        .unwrap()
        .flatten()
        .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == lock_path))
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{command:?} never waited for {lock_name}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let signalled = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            signalled.elapsed() < Duration::from_secs(20),
            "{command:?} still waits for {lock_name} after the stop"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = child.wait_with_output().unwrap();
    drop(lock);
    output
}
