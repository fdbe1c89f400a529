//! Scaling out: `motiond api` and `motiond worker` as separate processes on one data dir.
//! The API alone admits tasks but never runs them; a worker started later picks them up;
//! a worker killed with -9 mid-task is replaced by another, and the task still succeeds
//! once, with a downloadable bvh.zip.

use std::io::Read as _;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::*;

fn start_api(data: &std::path::Path, no_models: &std::path::Path) -> Server {
    let models = no_models.display().to_string();
    // The API never loads the models: an empty models dir must not matter to it.
    Server::start_args(
        data,
        &["api", "--listen", "127.0.0.1:0"],
        &[("MOTIOND_MODELS_DIR", &models)],
    )
}

fn start_worker(data: &std::path::Path, api: &Server) -> Server {
    // Callback bodies and result URLs of a worker point at the API.
    Server::start_args(
        data,
        &["worker"],
        &[("MOTIOND_SERVER__PUBLIC_URL", &api.base)],
    )
}

async fn submit(c: &Client, api: &Server) -> i64 {
    create_account(c, api, "scale@example.com", json!({})).await;
    let video = testdata("videos/mmhuman3d_single_person_basketball.mp4");
    let (resource, cover) = upload_video(c, api, None, &video).await;
    let (status, submitted) = c
        .post_json(
            &api.api("/videos/motion-upload"),
            json!({ "resourceUrl": resource, "coverUrl": cover, "workName": "split" }),
        )
        .await;
    assert_eq!(status, 200, "{submitted}");
    assert_eq!(submitted["status"], 5);
    submitted["task"]["id"].as_i64().unwrap()
}

fn bvh_in_zip(bytes: &[u8]) -> String {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip archive");
    let mut entry = archive
        .by_name("motion.bvh")
        .expect("motion.bvh in bvh.zip");
    let mut text = String::new();
    entry.read_to_string(&mut text).unwrap();
    text
}

#[tokio::test]
async fn api_and_worker_processes_share_the_queue_and_survive_a_killed_worker() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let no_models = tmp.path().join("no-models");
    std::fs::create_dir_all(&no_models).unwrap();
    let mut api = start_api(&data, &no_models);
    let first = api
        .later_stdout
        .recv_timeout(Duration::from_secs(30))
        .expect("the api's first start prints the admin token");
    assert!(first.starts_with("admin token: "), "{first:?}");
    let (st, ready) = Client::new(String::new())
        .get(&format!("{}/readyz", api.base))
        .await;
    assert_eq!(st, 200, "the API is ready without models: {ready}");

    let c = Client::new(api.token("sam"));
    let task_id = submit(&c, &api).await;
    let task_url = api.api(&format!("/tasks/{task_id}"));

    // Without a worker nobody claims it (bounded: a few worker poll intervals).
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        let (st, t) = c.get(&task_url).await;
        assert_eq!(st, 200, "{t}");
        assert_eq!(
            t["status"], 5,
            "no worker runs, the task stays submitted: {t}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A worker picks it up; kill -9 it mid-processing.
    let mut worker = start_worker(&data, &api);
    c.wait_until(&api, task_id, None, |t| t["status"] == 10)
        .await;
    worker.kill9();

    // Another worker takes it over once the dead one's lease expires.
    let mut worker = start_worker(&data, &api);
    let done = c.wait_final(&api, task_id, None).await;
    assert_eq!(done["status"], 99, "{done}\n{}", worker.stderr());
    let works = done["works"].as_array().unwrap();
    assert_eq!(works.len(), 1, "{done}");
    let (st, mine) = c.get(&api.api("/videos/motions?mine=true")).await;
    assert_eq!(st, 200);
    assert_eq!(
        mine.to_string()
            .matches(&format!("\"taskId\":{task_id}"))
            .count(),
        1,
        "exactly one motion for the task: {mine}"
    );

    // The result is served by the API process, at the API's public URL.
    let bvh_url = works[0]["extData"]["bvh_binary"].as_str().unwrap();
    assert!(bvh_url.starts_with(&api.base), "{bvh_url}");
    let (st, bvh_zip) = c.bytes(bvh_url).await;
    assert_eq!(st, 200);
    let bvh = bvh_in_zip(&bvh_zip);
    assert!(
        bvh.starts_with("HIERARCHY") && bvh.contains("MOTION"),
        "a BVH"
    );

    // Both halves stop gracefully on SIGTERM.
    for (name, p) in [("worker", &mut worker), ("api", &mut api)] {
        let status = p.terminate(Duration::from_secs(60));
        assert!(
            status.success(),
            "{name} after SIGTERM: {status:?}\n{}",
            p.stderr()
        );
    }
}

/// The worker alone: no listener, and the processes agree on the database when they start
/// together (each opens and migrates under the same lock). Several rounds, because the first
/// open of a fresh file is a race (CI once saw "database is locked" here).
#[tokio::test]
async fn a_worker_and_an_api_starting_together_on_a_fresh_data_dir() {
    for _round in 0..4 {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let spawn_worker = {
            let data = data.clone();
            std::thread::spawn(move || {
                Server::start_args(&data, &["worker"], &[("MOTIOND_WORKER__ENABLED", "false")])
            })
        };
        let no_models = tmp.path().join("no-models");
        std::fs::create_dir_all(&no_models).unwrap();
        let mut api = start_api(&data, &no_models);
        let mut worker = spawn_worker.join().expect("the worker started");
        assert!(worker.base.is_empty(), "a worker has no listener");
        let (st, body): (u16, Value) = Client::new(String::new())
            .get(&format!("{}/healthz", api.base))
            .await;
        assert_eq!(st, 200, "{body}");
        for p in [&mut worker, &mut api] {
            let status = p.terminate(Duration::from_secs(30));
            assert!(status.success(), "{status:?}\n{}", p.stderr());
        }
    }
}

/// A SIGTERM sent the moment a process says it is ready stops it gracefully (exit 0): the signal
/// listeners exist before the ready line. They used to be installed after it, and a quick SIGTERM
/// met the default action (6 of 30 workers died of the signal in a loop).
#[test]
fn a_sigterm_right_after_the_ready_line_is_a_graceful_stop() {
    let tmp = tempfile::tempdir().unwrap();
    let no_models = tmp.path().join("no-models");
    std::fs::create_dir_all(&no_models).unwrap();
    for round in 0..10 {
        let data = tmp.path().join(format!("data-{round}"));
        let worker =
            Server::start_args(&data, &["worker"], &[("MOTIOND_WORKER__ENABLED", "false")]);
        let api = start_api(&data, &no_models);
        for mut p in [worker, api] {
            let status = p.terminate(Duration::from_secs(30));
            assert!(
                status.success(),
                "round {round}: {status:?}\n{}",
                p.stderr()
            );
        }
    }
}

/// Across processes a delete reaches the running job through the worker's lease check
/// (every 0.4 s) instead of the in-process registry: the worker's ffmpeg stops within the
/// contract's second (plus a loaded machine's scheduling), and the job publishes nothing.
#[tokio::test]
async fn deleting_a_task_in_the_api_stops_its_job_in_the_worker() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let no_models = tmp.path().join("no-models");
    std::fs::create_dir_all(&no_models).unwrap();
    let api = start_api(&data, &no_models);
    let worker = start_worker(&data, &api);
    let c = Client::new(api.token("dora"));
    create_account(&c, &api, "dora@example.com", json!({})).await;
    let video = testdata("videos/intel_one_by_one_walk_in_10s.mp4");
    let task_id = submit_video(&c, &api, &video).await;
    let task_url = api.api(&format!("/tasks/{task_id}"));

    // Wait until the worker decodes (an ffmpeg child of the worker process).
    let until = Instant::now() + TASK_DEADLINE;
    while !worker.media_children().iter().any(|p| p == "ffmpeg") {
        assert!(Instant::now() < until, "no ffmpeg child of the worker seen");
        let (_, t) = c.get(&task_url).await;
        assert_ne!(t["status_final"], true, "ended before the delete: {t}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let asked = Instant::now();
    let (status, body) = c.delete(&task_url).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({ "deleted": 0, "workIds": [] }));
    assert_eq!(c.get(&task_url).await.0, 404);
    // One lease check (0.4 s), the kill, and a loaded machine's scheduling.
    let limit = Duration::from_millis(2500);
    while !worker.media_children().is_empty() {
        assert!(
            asked.elapsed() < limit,
            "the worker's ffmpeg still runs {:?} after DELETE",
            asked.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    while !worker.stderr().contains("end=Abandoned") {
        assert!(
            asked.elapsed() < limit + Duration::from_secs(5),
            "the job did not end: {}",
            worker.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (st, mine) = c.get(&api.api("/videos/motions?mine=true")).await;
    assert_eq!(st, 200);
    assert!(
        !mine.to_string().contains(&format!("\"taskId\":{task_id}")),
        "nothing was published: {mine}"
    );
}

/// Two workers and one API: the workers share the queue (each runs some of the tasks) and
/// every task succeeds exactly once.
#[tokio::test]
async fn two_workers_share_the_queue_and_each_task_succeeds_once() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let no_models = tmp.path().join("no-models");
    std::fs::create_dir_all(&no_models).unwrap();
    let api = start_api(&data, &no_models);
    let workers = [start_worker(&data, &api), start_worker(&data, &api)];
    let c = Client::new(api.token("wes"));
    create_account(&c, &api, "wes@example.com", json!({})).await;
    let video = testdata("videos/mmhuman3d_single_person_basketball.mp4");
    let (resource, cover) = upload_video(&c, &api, None, &video).await;
    let mut ids = Vec::new();
    for _ in 0..4 {
        let (status, submitted) = c
            .post_json(
                &api.api("/videos/motion-upload"),
                json!({ "resourceUrl": resource, "coverUrl": cover }),
            )
            .await;
        assert_eq!(status, 200, "{submitted}");
        ids.push(submitted["task"]["id"].as_i64().unwrap());
    }
    for id in &ids {
        let done = c.wait_final(&api, *id, None).await;
        assert_eq!(done["status"], 99, "{done}");
    }
    let (st, mine) = c.get(&api.api("/videos/motions?mine=true")).await;
    assert_eq!(st, 200);
    let listed = mine.to_string();
    for id in &ids {
        assert_eq!(
            listed.matches(&format!("\"taskId\":{id}")).count(),
            1,
            "one motion for task {id}: {listed}"
        );
    }
    for (n, w) in workers.iter().enumerate() {
        let log = w.stderr();
        assert!(
            log.lines()
                .any(|l| l.contains("job ended") && l.contains("end=Succeeded")),
            "worker {n} ran none of the tasks:\n{log}"
        );
    }
}

/// Two API processes started together on a fresh data directory: one admin user, one token
/// printed between them (each printed its own, now and then).
#[test]
fn two_apis_starting_together_print_one_admin_token() {
    for _ in 0..3 {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let no_models = tmp.path().join("no-models");
        std::fs::create_dir_all(&no_models).unwrap();
        let starts: Vec<_> = (0..2)
            .map(|_| {
                let (data, no_models) = (data.clone(), no_models.clone());
                std::thread::spawn(move || start_api(&data, &no_models))
            })
            .collect();
        let servers: Vec<Server> = starts.into_iter().map(|s| s.join().unwrap()).collect();
        let tokens = servers
            .iter()
            .filter_map(|s| s.later_stdout.recv_timeout(Duration::from_secs(2)).ok())
            .filter(|line| line.starts_with("admin token: "))
            .count();
        assert_eq!(tokens, 1);
        let admins = sqlite_query(&data, "SELECT COUNT(*) FROM tokens");
        assert_eq!(admins, ["1"]);
    }
}
