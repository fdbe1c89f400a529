//! Hostile media against the real `motiond serve` (issue 4 item 1; reliability-goals M1, M4;
//! contract §4.1 "Media inspection is a security boundary").
//!
//! A corpus made at test time by `scripts/make-hostile-corpus.py` (playlists and concat scripts
//! disguised as MP4 that point at a canary on disk or at a loopback URL, decompression bombs,
//! 100,000 frames, zero bytes, truncated boxes, polyglots, type confusion, an external data
//! reference, ...) is POSTed to `/v1/kling/assets`, one file per request, on a server with its
//! own data directory. Every case must get the contract's answer; what passes ingest goes on to
//! motion-upload and its task must end with a stated reason. Throughout:
//! - the canary's secret string and encoded bytes appear in no response, stored file or log,
//!   and no cover or preview shows the canary's picture;
//! - the loopback listener named by the playlists is never connected to;
//! - no ffmpeg/ffprobe process is left once a request is answered or a task is final, none
//!   lives longer than the longest subprocess timeout, and no child is left unreaped;
//! - a rejected upload leaves nothing in the ingest and inspection scratch directories.
//!
//! The per-case table is written to `test-artifacts/hostile/report.md` (RELIABILITY.md quotes it).

mod canary;
mod corpus;
mod http;
mod procs;
mod server;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use corpus::{Case, Manifest};
use http::{Response, path_of};
use server::{HitCounter, Server};

const EMAIL: &str = "hostile@example.com";
const EMAIL_QUERY: &str = "hostile%40example.com";
/// The longest wall-clock limit of any ffmpeg/ffprobe call the upload path makes (the cover,
/// 60 s, in motion-worker's inspector), plus the sampler's resolution.
const TOOL_LIFETIME_BOUND: Duration = Duration::from_secs(61);
/// How long a task of the suite may take to become final.
const TASK_DEADLINE: Duration = Duration::from_secs(600);
/// Contract §6.1: the only messages of a failed task (plus the duration sentence).
const FAILURE_MESSAGES: &[&str] = &[
    "No person detected in the video (MOTION.PIC_NOT_MATCHED)",
    "Video could not be decoded",
    "Processing timed out",
    "Processing was interrupted too many times",
    "Task was canceled",
    "Internal error",
];

/// One line of the report.
struct Row {
    name: String,
    declared: String,
    what: String,
    expected: String,
    observed: String,
    ok: bool,
}

/// A file that passed ingest.
struct Accepted {
    case: String,
    upload: PathBuf,
    video: bool,
    /// `resourceUrl` of a video, `url` of an image.
    url: String,
    cover_url: Option<String>,
    as_video: bool,
    as_cover: bool,
}

struct Suite {
    addr: SocketAddr,
    bearer: String,
    pid: i32,
    data_dir: PathBuf,
    /// Where downloaded covers and previews are written for decoding.
    scratch: PathBuf,
    needles: Vec<(String, Vec<u8>)>,
    canary_thumb: Vec<u8>,
    rows: Vec<Row>,
    failures: Vec<String>,
    /// Every response body, searched for canary bytes at the end.
    bodies: Vec<(String, Vec<u8>)>,
}

impl Suite {
    fn fail(&mut self, what: String) {
        eprintln!("FAIL: {what}");
        self.failures.push(what);
    }

    fn call(
        &mut self,
        label: &str,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        let mut all: Vec<(&str, &str)> = vec![("Authorization", self.bearer.as_str())];
        all.extend_from_slice(headers);
        let r = http::request(self.addr, method, target, &all, body)
            .unwrap_or_else(|e| panic!("{label}: {method} {target}: {e}"));
        self.bodies
            .push((format!("{label}: {method} {target}"), r.body.clone()));
        r
    }

    fn get_file(&mut self, label: &str, url: &str) -> Response {
        // Result files are capability URLs; no token needed, none sent.
        let r = http::request(self.addr, "GET", &path_of(url), &[], b"")
            .unwrap_or_else(|e| panic!("{label}: GET {url}: {e}"));
        self.bodies
            .push((format!("{label}: GET {url}"), r.body.clone()));
        r
    }

    fn create_account(&mut self) {
        let body = format!(r#"{{"email":"{EMAIL}","maxJobs":10}}"#);
        let r = self.call(
            "account",
            "POST",
            "/v1/kling/accounts",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        );
        assert!(
            r.status == 201 || r.status == 200,
            "create account: {} {}",
            r.status,
            r.text()
        );
    }

    /// After an answer: no tool process of the server may still run, no child may be a zombie,
    /// and the scratch directories must be empty (a short grace lets removal finish).
    fn check_aftermath(&mut self, label: &str, accepted: bool) {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let tools = procs::media_tools(self.pid, &self.data_dir);
            let zombies = procs::zombies(self.pid);
            let leftovers = self.scratch_leftovers();
            if tools.is_empty() && zombies.is_empty() && leftovers.is_empty() {
                return;
            }
            if Instant::now() > deadline {
                if !tools.is_empty() {
                    self.fail(format!(
                        "{label}: ffmpeg/ffprobe still running after the answer: {tools:?}"
                    ));
                }
                if !zombies.is_empty() {
                    self.fail(format!("{label}: unreaped children: {zombies:?}"));
                }
                if !leftovers.is_empty() {
                    let kind = if accepted { "accepted" } else { "rejected" };
                    self.fail(format!(
                        "{label}: {kind} upload left scratch files: {leftovers:?}"
                    ));
                }
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn scratch_leftovers(&self) -> Vec<PathBuf> {
        ["tmp/ingest", "tmp/inspect"]
            .iter()
            .flat_map(|d| {
                std::fs::read_dir(self.data_dir.join(d))
                    .into_iter()
                    .flatten()
            })
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect()
    }

    fn upload_case(&mut self, root: &Path, case: &Case) -> Option<Accepted> {
        let path = root.join(&case.file);
        let body = std::fs::read(&path).expect("corpus file");
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if case.content_type != "none" {
            headers.push(("Content-Type", case.content_type.as_str()));
        }
        for (k, v) in &case.headers {
            headers.push((k.as_str(), v.as_str()));
        }
        let started = Instant::now();
        let r = self.call(
            &case.name,
            "POST",
            &format!("/v1/kling/assets?email={EMAIL_QUERY}"),
            &headers,
            &body,
        );
        let took = started.elapsed();
        let e = &case.expect;
        let mut ok = e.status.allows(r.status);
        if r.status == 400 && !e.bodies.is_empty() && !e.body_matches(&r.body) {
            ok = false;
        }
        let mut expected = e.status.describe();
        if !e.bodies.is_empty() {
            let shown: Vec<String> = e.bodies.iter().map(|b| format!("`{b}`")).collect();
            let _ = write!(expected, " {}", shown.join(" or "));
        }
        if !ok {
            self.fail(format!(
                "{}: expected {expected}, got {} {}",
                case.name,
                r.status,
                r.text()
            ));
        }
        self.rows.push(Row {
            name: case.name.clone(),
            declared: if case.headers.is_empty() {
                case.content_type.clone()
            } else {
                format!("{} + {:?}", case.content_type, case.headers)
            },
            what: case.what.clone(),
            expected,
            observed: format!("{} `{}` ({} ms)", r.status, r.text(), took.as_millis()),
            ok,
        });
        self.check_aftermath(&case.name, r.status == 200);
        if r.status != 200 {
            return None;
        }
        let j = r.json();
        let s = |k: &str| j.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let video = j.get("resourceUrl").is_some();
        let url = if video { s("resourceUrl") } else { s("url") };
        Some(Accepted {
            case: case.name.clone(),
            upload: path,
            video,
            url: url.unwrap_or_else(|| panic!("{}: 200 without a URL: {j}", case.name)),
            cover_url: s("coverUrl"),
            as_video: e.motion_upload_video,
            as_cover: e.motion_upload_cover,
        })
    }

    /// Stored byte-for-byte, served with a media type, and no cover shows the canary.
    fn check_accepted(&mut self, a: &Accepted) {
        let r = self.get_file(&a.case, &a.url);
        let original = std::fs::read(&a.upload).unwrap();
        if r.status != 200 || r.body != original {
            self.fail(format!(
                "{}: stored file differs from the upload (status {}, {} bytes vs {})",
                a.case,
                r.status,
                r.body.len(),
                original.len()
            ));
        }
        let ct = r.header("content-type").unwrap_or("").to_string();
        // Served from the studio's origin: a browser must never sniff an upload (a polyglot,
        // trailing HTML) into a document.
        if r.header("x-content-type-options") != Some("nosniff") {
            self.fail(format!(
                "{}: served without X-Content-Type-Options: nosniff",
                a.case
            ));
        }
        if !(ct.starts_with("image/") || ct.starts_with("video/")) {
            self.fail(format!(
                "{}: served as {ct:?}, not as the media type",
                a.case
            ));
        }
        if let Some(cover) = a.cover_url.clone() {
            self.check_picture(&a.case, "upload cover", &cover);
        }
    }

    /// Downloads a cover or preview and checks it is not the canary's picture.
    fn check_picture(&mut self, label: &str, kind: &str, url: &str) {
        let r = self.get_file(label, url);
        if r.status != 200 {
            self.fail(format!("{label}: {kind} {url} answered {}", r.status));
            return;
        }
        let file = self
            .scratch
            .join(format!("{label}-{kind}.bin").replace(' ', "_"));
        std::fs::write(&file, &r.body).unwrap();
        match canary::thumbnail(&file) {
            None => self.fail(format!("{label}: {kind} is not decodable")),
            Some(t) if canary::looks_like_canary(&t, &self.canary_thumb) => {
                self.fail(format!("{label}: {kind} shows the canary's picture"))
            }
            Some(_) => {}
        }
    }

    fn motion_upload(&mut self, label: &str, video_url: &str, cover_url: &str) -> Option<String> {
        let body =
            serde_json::json!({ "email": EMAIL, "resourceUrl": video_url, "coverUrl": cover_url })
                .to_string();
        let r = self.call(
            label,
            "POST",
            "/v1/kling/videos/motion-upload",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        );
        let observed = format!(
            "{} `{}`",
            r.status,
            r.text().chars().take(160).collect::<String>()
        );
        let (ok, id) = match r.status {
            200 => {
                let id = r.json().pointer("/task/id").map(|v| v.to_string());
                (id.is_some(), id)
            }
            // The contract's own refusals of an asset (duration outside 2..10 s, …).
            400 => (r.json().get("error").is_some(), None),
            _ => (false, None),
        };
        if !ok {
            self.fail(format!("{label}: motion-upload answered {observed}"));
        }
        self.rows.push(Row {
            name: format!("{label} → motion-upload"),
            declared: "application/json".into(),
            what: "accepted upload used in POST /videos/motion-upload".into(),
            expected: "200 (task) or a contract 400".into(),
            observed,
            ok,
        });
        id
    }

    /// Polls a task until it is final; a failure must carry a contract reason.
    fn follow_task(&mut self, label: &str, id: &str) {
        let deadline = Instant::now() + TASK_DEADLINE;
        let started = Instant::now();
        let final_env = loop {
            let r = self.call(
                label,
                "GET",
                &format!("/v1/kling/tasks/{id}?email={EMAIL_QUERY}"),
                &[],
                b"",
            );
            if r.status != 200 {
                self.fail(format!(
                    "{label}: GET task {id} answered {} {}",
                    r.status,
                    r.text()
                ));
                return;
            }
            let j = r.json();
            if j.get("status_final").and_then(|v| v.as_bool()) == Some(true) {
                break j;
            }
            if Instant::now() > deadline {
                self.fail(format!(
                    "{label}: task {id} not final after {TASK_DEADLINE:?}"
                ));
                return;
            }
            std::thread::sleep(Duration::from_millis(500));
        };
        let status = final_env
            .get("status")
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        let message = final_env
            .get("message")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        let stated = FAILURE_MESSAGES.contains(&message.as_str())
            || message.starts_with("Video must be between 2 and 10 seconds long (got ");
        let ok = match status {
            50 => stated,
            99 => true,
            _ => false,
        };
        if !ok {
            self.fail(format!(
                "{label}: task {id} ended {status} with message {message:?}"
            ));
        }
        if status == 99 {
            for (kind, ptr) in [
                ("preview", "/works/0/resource/resource"),
                ("motion cover", "/works/0/cover/resource"),
            ] {
                match final_env
                    .pointer(ptr)
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
                {
                    Some(url) => self.check_picture(label, kind, &url),
                    None => self.fail(format!("{label}: succeeded task without {kind}")),
                }
            }
        }
        self.rows.push(Row {
            name: format!("{label} → task"),
            declared: "-".into(),
            what: "the task of that motion-upload".into(),
            expected: "final: 50 with a §6.1 reason, or 99 without canary content".into(),
            observed: format!("{status} `{message}` ({} s)", started.elapsed().as_secs()),
            ok,
        });
    }

    /// No canary bytes in any stored file (planted copies aside), the log or any answer.
    fn scan_for_leaks(&mut self, planted: &[PathBuf], log: &Path) -> usize {
        let mut scanned = 0;
        let mut files = Vec::new();
        walk(&self.data_dir, &mut files);
        for f in files.iter().filter(|f| !planted.contains(f)) {
            let Ok(bytes) = std::fs::read(f) else {
                continue;
            };
            scanned += 1;
            for (what, needle) in self.needles.clone() {
                if canary::contains(&bytes, &needle) {
                    self.fail(format!("{what} found in stored file {}", f.display()));
                }
            }
        }
        let log_bytes = std::fs::read(log).unwrap_or_default();
        for (what, needle) in self.needles.clone() {
            if canary::contains(&log_bytes, &needle) {
                self.fail(format!("{what} found in the server log"));
            }
            for (label, body) in self.bodies.clone() {
                if canary::contains(&body, &needle) {
                    self.fail(format!("{what} found in the answer to {label}"));
                }
            }
        }
        scanned
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn hostile_media_is_refused_and_nothing_leaks() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let corpus_dir = tmp.path().join("corpus");
    std::fs::create_dir_all(&data_dir).unwrap();
    let hits = HitCounter::start();
    let manifest: Manifest = corpus::generate(&corpus_dir, &format!("http://{}", hits.addr));
    assert!(
        manifest.cases.len() >= 15,
        "the corpus has at least 15 files"
    );
    let canary_dir = corpus_dir.join("canary");
    assert!(
        std::fs::read_to_string(corpus_dir.join(&manifest.canary.secret_file))
            .unwrap()
            .contains(&manifest.secret),
        "the text canary holds the secret"
    );
    // Copies where relative climbs from `<data>/tmp/inspect/<id>/` would land.
    let planted: Vec<PathBuf> = manifest
        .plant_in_data_dir
        .iter()
        .map(|n| {
            let to = data_dir.join(n);
            std::fs::copy(canary_dir.join(n), &to).unwrap();
            to
        })
        .collect();
    let canary_thumb =
        canary::thumbnail(&corpus_dir.join(&manifest.canary.picture)).expect("canary picture");
    assert!(
        canary::magenta_share(&canary_thumb) > 0.9,
        "the canary picture is recognisable"
    );

    let log = tmp.path().join("server.log");
    let mut server = Server::start(&data_dir, &log);
    // Start-up work of the server's own (catalog previews are rendered with ffmpeg) must be
    // over before "no decoder after an answer" means anything.
    let quiet_by = Instant::now() + Duration::from_secs(600);
    while !procs::media_tools(server.pid, &data_dir).is_empty() {
        assert!(
            Instant::now() < quiet_by,
            "the server's start-up decoders never finished"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let watcher = procs::Watcher::start(server.pid, data_dir.clone());
    let mut suite = Suite {
        addr: server.addr,
        bearer: format!("Bearer {}", server.token),
        pid: server.pid,
        data_dir: data_dir.clone(),
        scratch: tmp.path().to_path_buf(),
        needles: canary::needles(&manifest.secret, &canary_dir),
        canary_thumb,
        rows: Vec::new(),
        failures: Vec::new(),
        bodies: Vec::new(),
    };
    suite.create_account();

    let mut accepted = Vec::new();
    for case in &manifest.cases {
        if let Some(a) = suite.upload_case(&corpus_dir, case) {
            accepted.push(a);
        }
    }
    for a in &accepted {
        suite.check_accepted(a);
    }
    let rejected = manifest.cases.len() - accepted.len();

    // What passed ingest goes through motion-upload: videos with their own cover, images as
    // the cover of the control video.
    let control = accepted
        .iter()
        .find(|a| a.case == "control_video.mp4")
        .map(|a| a.url.clone());
    let mut jobs: Vec<(String, String, String)> = Vec::new();
    for a in &accepted {
        if a.as_video && a.video {
            jobs.push((
                a.case.clone(),
                a.url.clone(),
                a.cover_url.clone().expect("video cover"),
            ));
        }
        if a.as_cover && !a.video {
            let video = control.clone().expect("the control video is accepted");
            jobs.push((format!("{} (as cover)", a.case), video, a.url.clone()));
        }
    }
    let mut submitted = Vec::new();
    for (label, video, cover) in &jobs {
        if let Some(id) = suite.motion_upload(label, video, cover) {
            submitted.push((label.clone(), id));
        }
    }
    for (label, id) in &submitted {
        suite.follow_task(label, id);
    }
    // Tasks run one after another (one worker), so only once all are final must the server
    // have no decoder left.
    suite.check_aftermath("after the last task", true);

    assert!(server.is_running(), "the server survived the corpus");
    let lifetimes = watcher.finish();
    let scanned = suite.scan_for_leaks(&planted, &log);
    if hits.hits() != 0 {
        suite.fail(format!(
            "the loopback listener named in playlists was connected to {} times",
            hits.hits()
        ));
    }
    let longest = lifetimes
        .iter()
        .map(procs::Lifetime::observed)
        .max()
        .unwrap_or_default();
    for l in &lifetimes {
        if l.observed() > TOOL_LIFETIME_BOUND {
            suite.fail(format!(
                "{} (pid {}) ran for {:?}, over {TOOL_LIFETIME_BOUND:?}",
                l.comm,
                l.pid,
                l.observed()
            ));
        }
    }

    let report = render_report(
        &suite,
        &manifest,
        accepted.len(),
        rejected,
        submitted.len(),
        &lifetimes,
        longest,
        scanned,
        hits.hits(),
    );
    println!("{report}");
    let dir = server::repo_root().join("test-artifacts/hostile");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join("report.md"), &report);
    drop(server);
    assert!(
        suite.failures.is_empty(),
        "{} failures:\n{}",
        suite.failures.len(),
        suite.failures.join("\n")
    );
}

#[allow(clippy::too_many_arguments)]
fn render_report(
    s: &Suite,
    m: &Manifest,
    accepted: usize,
    rejected: usize,
    tasks: usize,
    lifetimes: &[procs::Lifetime],
    longest: Duration,
    scanned: usize,
    hits: usize,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| case | declared type | attack | expected | observed | held |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for r in &s.rows {
        let esc = |t: &str| t.replace('|', "\\|").replace('\n', " ");
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            esc(&r.name),
            esc(&r.declared),
            esc(&r.what),
            esc(&r.expected),
            esc(&r.observed),
            if r.ok { "yes" } else { "**NO**" }
        );
    }
    let probes = lifetimes.iter().filter(|l| l.comm == "ffprobe").count();
    let ffmpegs = lifetimes.iter().filter(|l| l.comm == "ffmpeg").count();
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Totals: {} corpus files; {rejected} refused at ingest, {accepted} accepted; {tasks} motion-upload tasks followed to a final state. \
         {} rows held, {} did not. Canary: {} needles searched in {scanned} stored files, the server log and {} answers. \
         Loopback listener connections: {hits}. ffmpeg/ffprobe processes observed: {ffmpegs} ffmpeg, {probes} ffprobe; \
         longest observed lifetime {} ms (bound {} s). Failures: {}.",
        m.cases.len(),
        s.rows.iter().filter(|r| r.ok).count(),
        s.rows.iter().filter(|r| !r.ok).count(),
        s.needles.len(),
        s.bodies.len(),
        longest.as_millis(),
        TOOL_LIFETIME_BOUND.as_secs(),
        s.failures.len(),
    );
    out
}
