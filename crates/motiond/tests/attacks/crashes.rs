//! Crash trials of `serve` during extraction (10 of each kind unless MOTIOND_ATTACK_TRIALS
//! says otherwise): kill -9 then restart, SIGSTOP past the lease while a second instance on
//! the same data dir takes the task over (the stale worker's late result must be refused by
//! the lease token), and SIGTERM then restart. After every trial: each accepted task is in
//! exactly one final state and succeeded, has exactly one work row and one motion, and the
//! blob dir holds no file that no row names.

use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::json;

use crate::harness::*;
use crate::support::*;

const EMAIL: &str = "crash@example.com";

/// The janitor sweeps a dead attempt's unpublished result files once they are older than the
/// task timeout plus two leases (no live publish is that old). With the default 600 s timeout
/// that is far past the trials' 60 s wait for "no orphans", so the trials run with a timeout
/// that the tiny clip (about a second of work) never nears. A kill between storing the files and
/// committing the rows is rare, but it happens (a full local run on 2026-12-01 hit it).
const CRASH_ENV: &[(&str, &str)] = &[("MOTIOND_WORKER__TASK_TIMEOUT_S", "20")];

fn trials() -> usize {
    std::env::var("MOTIOND_ATTACK_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10)
}

/// A cheap random delay in [0, max_ms) ms (the nanoseconds of the clock; no RNG dependency).
/// Whether to run another trial: `trials()` of them, and more (up to three times as many) until
/// at least two hit the extraction. How many hit depends on the machine's speed (the tiny clip
/// takes well under a second on a quiet host), and a run without a hit would test nothing.
fn more_trials(done: usize, hits: usize) -> bool {
    done < trials() || (hits < 2 && done < 3 * trials())
}

fn random_ms(max_ms: u64) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    Duration::from_millis(nanos.wrapping_mul(2654435761) % max_ms)
}

/// Account, upload of the tiny clip; returns (resourceUrl, coverUrl).
async fn prepare(c: &Client, server: &Server, tmp: &Path) -> (String, String) {
    create_account(c, server, EMAIL, json!({})).await;
    upload_video(c, server, None, &tiny_clip(tmp)).await
}

async fn submit(c: &Client, server: &Server, clip: &(String, String)) -> i64 {
    let (status, t) = c
        .post_json(
            &server.api("/videos/motion-upload"),
            json!({ "resourceUrl": clip.0, "coverUrl": clip.1 }),
        )
        .await;
    assert_eq!(status, 200, "{t}");
    t["task"]["id"].as_i64().unwrap()
}

/// Waits until the task is running (status 10), then a random moment more; false when the
/// task already ended by then.
async fn random_moment_in_extraction(c: &Client, server: &Server, id: i64) -> bool {
    let t = c
        .wait_until(server, id, None, |t| {
            t["status"] == 10 || t["status_final"] == true
        })
        .await;
    if t["status_final"] == true {
        return false;
    }
    tokio::time::sleep(random_ms(500)).await;
    let (_, t) = c.get(&server.api(&format!("/tasks/{id}"))).await;
    t["status_final"] != true
}

/// The invariants after a trial, over every task submitted so far.
async fn check_all(c: &Client, server: &Server, ids: &[i64]) {
    for &id in ids {
        let done = c.wait_final(server, id, None).await;
        assert_eq!(done["status"], 99, "task {id} did not succeed: {done}");
        let state = sqlite_query(
            &server.data_dir,
            &format!("SELECT state FROM tasks WHERE id = {id}"),
        );
        assert_eq!(state, ["succeeded"], "task {id}");
        let works = sqlite_query(
            &server.data_dir,
            &format!("SELECT count(*) FROM works WHERE task_id = {id}"),
        );
        assert_eq!(works, ["1"], "task {id}: work rows");
    }
    let (st, mine) = c
        .get(&server.api("/videos/motions?mine=true&pageSize=100"))
        .await;
    assert_eq!(st, 200, "{mine}");
    for &id in ids {
        let n = mine
            .to_string()
            .matches(&format!("\"taskId\":{id}"))
            .count();
        assert_eq!(n, 1, "exactly one motion for task {id}: {mine}");
    }
    // Files of an attempt that died before finishing are orphans until the janitor sweeps
    // them; none may stay.
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let orphans = orphan_blobs(&server.data_dir);
        if orphans.is_empty() {
            break;
        }
        assert!(Instant::now() < until, "orphan blobs: {orphans:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn kill_9_at_a_random_moment_of_extraction_then_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut server = Server::start_with(&data, CRASH_ENV);
    let c = Client::new(server.token("kilo"));
    let clip = prepare(&c, &server, tmp.path()).await;
    let (mut ids, mut killed) = (Vec::new(), 0);
    while more_trials(ids.len(), killed) {
        let id = submit(&c, &server, &clip).await;
        ids.push(id);
        if random_moment_in_extraction(&c, &server, id).await {
            server.kill9();
            killed += 1;
            server = Server::start_with(&data, CRASH_ENV);
        }
        check_all(&c, &server, &ids).await;
    }
    eprintln!(
        "kill -9 trials: {}, killed mid-extraction {killed}, all succeeded once, 0 orphans",
        ids.len()
    );
    assert!(killed > 0, "no trial hit the extraction");
}

#[tokio::test]
async fn sigterm_during_extraction_then_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut server = Server::start_with(&data, CRASH_ENV);
    let c = Client::new(server.token("tango"));
    let clip = prepare(&c, &server, tmp.path()).await;
    let (mut ids, mut termed, mut slowest) = (Vec::new(), 0, 0f64);
    while more_trials(ids.len(), termed) {
        let id = submit(&c, &server, &clip).await;
        ids.push(id);
        if random_moment_in_extraction(&c, &server, id).await {
            let t0 = Instant::now();
            let status = server.terminate(Duration::from_secs(60));
            slowest = slowest.max(t0.elapsed().as_secs_f64());
            assert!(
                status.success(),
                "exit after SIGTERM: {status:?}\n{}",
                server.stderr()
            );
            termed += 1;
            server = Server::start_with(&data, CRASH_ENV);
        }
        check_all(&c, &server, &ids).await;
    }
    eprintln!(
        "SIGTERM trials: {}, terminated mid-extraction {termed} (slowest exit {slowest:.1}s), all succeeded once, 0 orphans",
        ids.len()
    );
    assert!(termed > 0, "no trial hit the extraction");
}

/// `motiond serve` processes of this test binary on `data`.
fn serve_pids(data: &Path) -> Vec<i32> {
    let me = std::process::id().to_string();
    let needle = data.to_string_lossy().to_string();
    let mut pids = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let ppid = stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().nth(1).map(str::to_owned))
            .unwrap_or_default();
        if ppid == me && cmd.contains(" serve ") && cmd.contains(&needle) {
            pids.push(pid);
        }
    }
    pids
}

#[tokio::test]
async fn sigstop_past_the_lease_a_second_instance_finishes_and_the_stale_result_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let first = Server::start_with(&data, CRASH_ENV);
    let c = Client::new(first.token("sierra"));
    let clip = prepare(&c, &first, tmp.path()).await;
    drop(first);
    let (mut ids, mut stopped, mut abandoned, mut locked) = (Vec::new(), 0, 0, 0);
    while more_trials(ids.len(), stopped) {
        let a = Server::start_with(&data, CRASH_ENV);
        let a_pid = Pid::from_raw(*serve_pids(&data).first().expect("pid of A"));
        let id = submit(&c, &a, &clip).await;
        ids.push(id);
        if !random_moment_in_extraction(&c, &a, id).await {
            check_all(&c, &a, &ids).await;
            continue;
        }
        kill(a_pid, Signal::SIGSTOP).expect("SIGSTOP");
        // A may have finished the task between the check above and the stop (the tiny clip
        // takes about a second): then nothing is stale, and the trial is an ordinary one.
        let state = sqlite_query(&data, &format!("SELECT state FROM tasks WHERE id = {id}"));
        if state != ["running"] {
            kill(a_pid, Signal::SIGCONT).expect("SIGCONT");
            check_all(&c, &a, &ids).await;
            continue;
        }
        let token = sqlite_query(
            &data,
            &format!("SELECT lease_token FROM tasks WHERE id = {id}"),
        );
        let a_attempt = sqlite_query(&data, &format!("SELECT attempt FROM tasks WHERE id = {id}"));
        stopped += 1;
        // B requeues the task once A's lease (3 s) ran out, and finishes it. If A froze
        // inside a SQLite write transaction, B cannot start (`database is locked`: SQLite has
        // one writer and a stopped process keeps its lock); that is counted, A is resumed,
        // and the task must still end succeeded exactly once.
        let started = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Server::start_with(&data, CRASH_ENV)
        }));
        let Ok(b) = started else {
            locked += 1;
            kill(a_pid, Signal::SIGCONT).expect("SIGCONT");
            check_all(&c, &a, &ids).await;
            continue;
        };
        let done = c.wait_final(&b, id, None).await;
        assert_eq!(done["status"], 99, "{done}");
        let attempt = sqlite_query(&data, &format!("SELECT attempt FROM tasks WHERE id = {id}"));
        assert_ne!(attempt, a_attempt, "B ran the task under a new attempt");
        kill(a_pid, Signal::SIGCONT).expect("SIGCONT");
        // A wakes up holding a stale lease: its job (span `attempt=<A's attempt>`; A and B
        // share one stderr log) must end without publishing.
        let a_job = format!("task_id={id} ");
        let a_span = format!("attempt={}}}", a_attempt[0]);
        let until = Instant::now() + Duration::from_secs(30);
        let a_end = loop {
            let log = a.stderr();
            let end = log
                .lines()
                .find(|l| l.contains(&a_job) && l.contains(&a_span) && l.contains("job ended"))
                .map(str::to_owned);
            if let Some(end) = end {
                break end;
            }
            assert!(Instant::now() < until, "A's stale job never ended\n{log}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert!(
            a_end.contains("end=Abandoned"),
            "A's stale job published: {a_end}"
        );
        abandoned += 1;
        assert_eq!(
            sqlite_query(&data, &format!("SELECT attempt FROM tasks WHERE id = {id}")),
            attempt,
            "A changed the task after B finished it (old lease {token:?})"
        );
        check_all(&c, &b, &ids).await;
        drop(a);
        drop(b);
    }
    eprintln!(
        "SIGSTOP trials: {}, stopped mid-extraction {stopped}, A's stale job ended Abandoned {abandoned} times (never published), B could not start while A held the SQLite write lock {locked} times, all succeeded once, 0 orphans",
        ids.len()
    );
    assert!(stopped > 0, "no trial hit the extraction");
}
