//! The real `motiond` binary on 127.0.0.1:0 with a temp data dir, and small HTTP helpers.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_motiond");
/// Generous: extraction on a loaded 2-core machine.
pub const TASK_DEADLINE: Duration = Duration::from_secs(600);

pub fn testdata(rel: &str) -> PathBuf {
    let p = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata"
    ))
    .join(rel);
    assert!(
        p.exists(),
        "{} is missing: run scripts/test.sh",
        p.display()
    );
    p
}

/// `MOTIOND_MODELS_DIR`, else `<workspace>/.data/models`; the test fails if they are missing.
pub fn models_dir() -> PathBuf {
    let dir = std::env::var_os("MOTIOND_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.data/models"))
        });
    assert!(
        dir.join("pose_landmark_full.onnx").is_file() && dir.join("pose_detection.onnx").is_file(),
        "models missing in {}: run scripts/test.sh (or `motiond models fetch --data-dir .data`)",
        dir.display()
    );
    dir
}

/// Python with the `standardwebhooks` package (the independent verifier).
pub fn python() -> PathBuf {
    let py = std::env::var_os("MOTIOND_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../.venv/bin/python"
            ))
        });
    let ok = Command::new(&py)
        .args(["-c", "import standardwebhooks"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{} cannot import standardwebhooks: run scripts/test.sh",
        py.display()
    );
    py
}

/// Settings that make crash tests take seconds, and let callbacks reach loopback receivers.
pub fn test_env() -> Vec<(String, String)> {
    [
        ("MOTIOND_MODELS_DIR", models_dir().display().to_string()),
        ("MOTIOND_WEBHOOKS__ALLOW_PRIVATE_TARGETS", "true".into()),
        ("MOTIOND_WEBHOOKS__POLL_INTERVAL_MS", "200".into()),
        ("MOTIOND_WEBHOOKS__RETRY_DELAYS_S", "[1, 1, 2]".into()),
        ("MOTIOND_LIMITS__TOKEN_RPS", "0".into()),
        ("MOTIOND_WORKER__CONCURRENCY", "1".into()),
        ("MOTIOND_WORKER__LEASE_MS", "3000".into()),
        ("MOTIOND_WORKER__POLL_INTERVAL_MS", "200".into()),
        ("MOTIOND_WORKER__JANITOR_INTERVAL_MS", "500".into()),
        ("MOTIOND_WORKER__SHUTDOWN_GRACE_S", "1".into()),
        ("MOTIOND_SERVER__SHUTDOWN_TIMEOUT_S", "3".into()),
        ("MOTIOND_LOG", "info".into()),
        // Rendering the catalog's previews takes half a minute; these tests do not need it.
        ("MOTIOND_CATALOG__SEED", "false".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// A running `motiond serve`.
pub struct Server {
    child: Child,
    pub base: String,
    pub data_dir: PathBuf,
    /// Stdout lines after `listening on` (the admin token line on a first start).
    pub later_stdout: mpsc::Receiver<String>,
    stderr_log: PathBuf,
}

impl Server {
    pub fn start(data_dir: &Path) -> Server {
        Self::start_with(data_dir, &[])
    }

    pub fn start_with(data_dir: &Path, extra_env: &[(&str, &str)]) -> Server {
        Self::start_args(data_dir, &["serve", "--listen", "127.0.0.1:0"], extra_env)
    }

    /// Starts `motiond ARGS --data-dir DIR` and waits for its first stdout line:
    /// `listening on ADDR` (`serve`, `api`; `base` is then its URL) or `worker ready`
    /// (`worker`, which has no listener; `base` stays empty).
    pub fn start_args(data_dir: &Path, args: &[&str], extra_env: &[(&str, &str)]) -> Server {
        // Several processes may share one data dir: each gets its own log.
        static STARTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let stderr_log = data_dir.with_extension(format!("stderr.{}.{n}.log", std::process::id()));
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&stderr_log)
            .expect("stderr log");
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .arg("--data-dir")
            .arg(data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        for (k, v) in test_env() {
            cmd.env(k, v);
        }
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn motiond");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!(
                    "no `listening on` line; stderr: {}",
                    std::fs::read_to_string(&stderr_log).unwrap_or_default()
                )
            });
        let base = match first.strip_prefix("listening on ") {
            Some(addr) => format!("http://{addr}"),
            None if first == "worker ready" => String::new(),
            None => panic!("unexpected first line {first:?}"),
        };
        Server {
            child,
            base,
            data_dir: data_dir.to_owned(),
            later_stdout: rx,
            stderr_log,
        }
    }

    pub fn api(&self, path: &str) -> String {
        format!("{}/v1/kling{path}", self.base)
    }

    /// `motiond token create --user NAME` against this data dir.
    pub fn token(&self, user: &str) -> String {
        admin(&self.data_dir, &["token", "create", "--user", user])
    }

    pub fn kill9(&mut self) {
        nix::sys::signal::kill(self.pid(), nix::sys::signal::Signal::SIGKILL).expect("kill -9");
        let _ = self.child.wait();
    }

    /// SIGTERM, then the exit status (fails after `deadline`).
    pub fn terminate(&mut self, deadline: Duration) -> ExitStatus {
        self.signal(nix::sys::signal::Signal::SIGTERM);
        self.exit_status_within(deadline)
    }

    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        nix::sys::signal::kill(self.pid(), signal).expect("send a signal to motiond");
    }

    /// The exit status once the process has ended (fails after `deadline`); `None` while it runs.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("wait")
    }

    pub fn exit_status_within(&mut self, deadline: Duration) -> ExitStatus {
        let until = Instant::now() + deadline;
        loop {
            if let Some(status) = self.exited() {
                return status;
            }
            assert!(
                Instant::now() < until,
                "motiond did not exit within {deadline:?} after the signal"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Live ffmpeg/ffprobe processes started by this server.
    pub fn media_children(&self) -> Vec<String> {
        self.media_processes()
            .into_iter()
            .map(|(_, comm)| comm)
            .collect()
    }

    /// Live ffmpeg/ffprobe processes started by this server, with their pids.
    pub fn media_processes(&self) -> Vec<(nix::unistd::Pid, String)> {
        let me = self.child.id().to_string();
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // pid (comm) state ppid ...
            let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
                continue;
            };
            let comm = &stat[open + 1..close];
            let ppid = stat[close + 1..]
                .split_whitespace()
                .nth(1)
                .unwrap_or_default();
            let Ok(pid) = stat[..open].trim().parse::<i32>() else {
                continue;
            };
            if ppid == me && (comm == "ffmpeg" || comm == "ffprobe") {
                found.push((nix::unistd::Pid::from_raw(pid), comm.to_owned()));
            }
        }
        found
    }

    fn pid(&self) -> nix::unistd::Pid {
        nix::unistd::Pid::from_raw(self.child.id() as i32)
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_file(&self.stderr_log);
    }
}

/// Runs one statement with the `sqlite3` shell on the database of `data_dir`, beside the
/// running server (WAL, with a busy timeout for its checkpoints): a commit from another process.
pub fn sqlite_exec(data_dir: &Path, statement: &str) {
    run_sqlite3(data_dir, &[], statement);
}

/// Runs a read-only query with the `sqlite3` shell on the database of `data_dir` and returns its
/// output lines.
#[allow(dead_code)] // the attack suites' reads; the e2e binary only writes
pub fn sqlite_query(data_dir: &Path, query: &str) -> Vec<String> {
    run_sqlite3(data_dir, &["-readonly"], query)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `sqlite3 [OPTIONS] DB STATEMENT`; its stdout. A busy timeout: a concurrent checkpoint of the
/// server can briefly lock the file, and sqlite3's default (0) would fail at once.
fn run_sqlite3(data_dir: &Path, options: &[&str], statement: &str) -> String {
    let out = Command::new("sqlite3")
        .args(["-cmd", ".timeout 5000"])
        .args(options)
        .arg(data_dir.join("motiond.db"))
        .arg(statement)
        .output()
        .expect("sqlite3 on PATH (run scripts/test.sh)");
    assert!(
        out.status.success(),
        "sqlite3 {statement}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs an admin subcommand; returns its trimmed stdout.
pub fn admin(data_dir: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .envs(test_env())
        .output()
        .expect("run motiond");
    assert!(
        out.status.success(),
        "motiond {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

/// A client for one token.
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub token: String,
}

/// Status and parsed JSON body.
pub type Reply = (u16, Value);

impl Client {
    pub fn new(token: String) -> Self {
        Self {
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            token,
        }
    }

    async fn reply(r: reqwest::RequestBuilder) -> Reply {
        let res = r.send().await.expect("request");
        let status = res.status().as_u16();
        let text = res.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text));
        (status, body)
    }

    pub async fn get(&self, url: &str) -> Reply {
        Self::reply(self.http.get(url).bearer_auth(&self.token)).await
    }

    pub async fn delete(&self, url: &str) -> Reply {
        Self::reply(self.http.delete(url).bearer_auth(&self.token)).await
    }

    pub async fn post_json(&self, url: &str, body: Value) -> Reply {
        Self::reply(self.http.post(url).bearer_auth(&self.token).json(&body)).await
    }

    /// A `multipart/form-data` body of text parts.
    pub async fn post_multipart(&self, url: &str, fields: &[(&str, &str)]) -> Reply {
        let boundary = "motiond-e2e-boundary-7f3a";
        let mut body = String::new();
        for (name, value) in fields {
            body.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            ));
        }
        body.push_str(&format!("--{boundary}--\r\n"));
        let r = self
            .http
            .post(url)
            .bearer_auth(&self.token)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        Self::reply(r).await
    }

    /// `POST /assets` with the raw file as body.
    pub async fn upload(
        &self,
        server: &Server,
        email: Option<&str>,
        file: &Path,
        content_type: &str,
    ) -> Reply {
        let bytes = std::fs::read(file).expect("read upload");
        let url = match email {
            Some(e) => format!("{}?email={}", server.api("/assets"), e.replace('+', "%2B")),
            None => server.api("/assets"),
        };
        Self::reply(
            self.http
                .post(url)
                .bearer_auth(&self.token)
                .header("content-type", content_type)
                .body(bytes),
        )
        .await
    }

    /// Polls `GET /tasks/{id}` until `status_final`; returns the envelope.
    pub async fn wait_final(&self, server: &Server, task_id: i64, email: Option<&str>) -> Value {
        self.wait_until(server, task_id, email, |t| t["status_final"] == true)
            .await
    }

    /// Polls the task until `done` holds.
    pub async fn wait_until(
        &self,
        server: &Server,
        task_id: i64,
        email: Option<&str>,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let url = match email {
            Some(e) => format!("{}?email={e}", server.api(&format!("/tasks/{task_id}"))),
            None => server.api(&format!("/tasks/{task_id}")),
        };
        let until = Instant::now() + TASK_DEADLINE;
        loop {
            let (status, body) = self.get(&url).await;
            assert_eq!(status, 200, "GET task: {body}");
            if done(&body) {
                return body;
            }
            assert!(
                Instant::now() < until,
                "task {task_id} did not get there in time: {body}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    pub async fn bytes(&self, url: &str) -> (u16, Vec<u8>) {
        let res = self.http.get(url).send().await.expect("GET file");
        (
            res.status().as_u16(),
            res.bytes().await.expect("file body").to_vec(),
        )
    }
}

/// Creates an account; asserts 201.
pub async fn create_account(c: &Client, server: &Server, email: &str, extra: Value) -> Value {
    let mut body = serde_json::json!({ "email": email, "maxJobs": 5 });
    if let (Some(b), Some(x)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(x.clone());
    }
    let (status, reply) = c.post_json(&server.api("/accounts"), body).await;
    assert_eq!(status, 201, "create account: {reply}");
    reply
}

/// Uploads a video and returns (resourceUrl, coverUrl).
pub async fn upload_video(
    c: &Client,
    server: &Server,
    email: Option<&str>,
    file: &Path,
) -> (String, String) {
    let (status, body) = c.upload(server, email, file, "video/mp4").await;
    assert_eq!(status, 200, "upload {}: {body}", file.display());
    (
        body["resourceUrl"].as_str().unwrap().to_owned(),
        body["coverUrl"].as_str().unwrap().to_owned(),
    )
}

/// Uploads `video` and starts its extraction (`POST /videos/motion-upload`, the account
/// selected implicitly); asserts the 200 in status 5 and returns the task id.
pub async fn submit_video(c: &Client, server: &Server, video: &Path) -> i64 {
    let (resource, cover) = upload_video(c, server, None, video).await;
    let (status, submitted) = c
        .post_json(
            &server.api("/videos/motion-upload"),
            serde_json::json!({ "resourceUrl": resource, "coverUrl": cover }),
        )
        .await;
    assert_eq!(status, 200, "{submitted}");
    assert_eq!(submitted["status"], 5, "{submitted}");
    submitted["task"]["id"].as_i64().unwrap()
}

/// A video of moving test patterns and no person, made with ffmpeg.
pub fn no_person_video(dir: &Path) -> PathBuf {
    let out = dir.join("no_person.mp4");
    let status = Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=480x360:rate=10",
            "-t",
            "3",
        ])
        .args(["-pix_fmt", "yuv420p", "-c:v", "libx264"])
        .arg(&out)
        .status()
        .expect("ffmpeg on PATH (run scripts/test.sh)");
    assert!(
        status.success(),
        "ffmpeg could not make the no-person video"
    );
    out
}
