//! Small tools of the attack suites: a canary listener, a scripted raw-HTTP receiver, a tiny
//! clip, the blob/row orphan check and the independent signature verifier.

use std::collections::{BTreeSet, HashMap};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{python, sqlite_query};

/// Counts every TCP connection made to 127.0.0.1:port (and [::1]:port when that port is free
/// on v6 too). Anything the guard lets through to loopback lands here.
pub struct Canary {
    pub port: u16,
    hits: Arc<AtomicUsize>,
}

impl Canary {
    pub fn start() -> Canary {
        let v4 = TcpListener::bind("127.0.0.1:0").expect("bind canary");
        let port = v4.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let mut listeners = vec![v4];
        if let Ok(v6) = TcpListener::bind(SocketAddr::from(([0u16, 0, 0, 0, 0, 0, 0, 1], port))) {
            listeners.push(v6);
        }
        for l in listeners {
            let hits = hits.clone();
            std::thread::spawn(move || {
                for conn in l.incoming().flatten() {
                    hits.fetch_add(1, Ordering::SeqCst);
                    drop(conn);
                }
            });
        }
        Canary { port, hits }
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// What the receiver does with the n-th attempt of one webhook-id.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Answer {
    Status(u16),
    /// Reads the request, then holds the connection open without answering for this long.
    Hang(Duration),
    /// Reads only the head, then closes with the body unread: the kernel sends a RST.
    Reset,
}

#[derive(Debug, Clone)]
pub struct Seen {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
    pub at: Instant,
    pub answer: Answer,
}

/// A raw HTTP/1.1 receiver on 127.0.0.1:0; the n-th attempt of each webhook-id gets
/// `script[n]` (then 204).
pub struct Receiver {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Receiver {
    pub fn start(script: Vec<Answer>) -> Receiver {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind receiver");
        let url = format!("http://{}/hook", l.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let counts = Arc::new(Mutex::new(HashMap::<String, usize>::new()));
        let s = seen.clone();
        std::thread::spawn(move || {
            for conn in l.incoming().flatten() {
                let (s, counts, script) = (s.clone(), counts.clone(), script.clone());
                std::thread::spawn(move || serve_one(conn, &s, &counts, &script));
            }
        });
        Receiver { url, seen }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve_one(
    mut conn: TcpStream,
    seen: &Mutex<Vec<Seen>>,
    counts: &Mutex<HashMap<String, usize>>,
    script: &[Answer],
) {
    let at = Instant::now();
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    // The head byte by byte, so that nothing of the body is consumed before we decide.
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match conn.read(&mut b) {
            Ok(1) => head.push(b[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let header = |name: &str| {
        head.lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_owned())
            })
            .unwrap_or_default()
    };
    let id = header("webhook-id");
    let n = {
        let mut c = counts.lock().unwrap();
        let e = c.entry(id.clone()).or_insert(0);
        *e += 1;
        *e - 1
    };
    let answer = script.get(n).copied().unwrap_or(Answer::Status(204));
    let mut body = vec![0u8; header("content-length").parse().unwrap_or(0)];
    if answer != Answer::Reset && conn.read_exact(&mut body).is_err() {
        return;
    }
    seen.lock().unwrap().push(Seen {
        id,
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: String::from_utf8_lossy(&body).to_string(),
        at,
        answer,
    });
    match answer {
        Answer::Status(code) => {
            let _ = write!(
                conn,
                "HTTP/1.1 {code} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
        Answer::Hang(d) => std::thread::sleep(d),
        Answer::Reset => {} // dropped with unread bytes → RST
    }
}

/// A 2 s, 320 px clip of a person, cut from the test videos (keeps each crash trial short).
pub fn tiny_clip(dir: &Path) -> PathBuf {
    let out = dir.join("tiny.mp4");
    let src = crate::harness::testdata("videos/tfjs_pose_squats.mp4");
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-i"])
        .arg(&src)
        .args([
            "-t",
            "2.2",
            "-vf",
            "scale=320:-2",
            "-an",
            "-pix_fmt",
            "yuv420p",
        ])
        .args(["-c:v", "libx264"])
        .arg(&out)
        .status()
        .expect("ffmpeg on PATH (run scripts/test.sh)");
    assert!(status.success(), "ffmpeg could not cut the tiny clip");
    out
}

/// Blob files on disk (outside `.tmp`) that no `files` row and no pending trash entry names.
pub fn orphan_blobs(data: &Path) -> Vec<String> {
    let root = data.join("blobs");
    let mut on_disk = BTreeSet::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                if p != root.join(".tmp") {
                    stack.push(p);
                }
            } else {
                on_disk.insert(p.strip_prefix(&root).unwrap().to_string_lossy().to_string());
            }
        }
    }
    let known: BTreeSet<String> = sqlite_query(
        data,
        "SELECT blob_key FROM files UNION SELECT blob_key FROM blob_trash",
    )
    .into_iter()
    .collect();
    on_disk.difference(&known).cloned().collect()
}

/// Every delivery verifies with the PyPI `standardwebhooks` package; a tampered body and an
/// hour-old timestamp do not (see verify_webhook.py). Returns how many verified.
pub fn verify_independently(dir: &Path, secret: &str, seen: &[Seen]) -> usize {
    let cases: Vec<Value> = seen
        .iter()
        .map(|d| json!({ "id": d.id, "timestamp": d.timestamp, "signature": d.signature, "body": d.body }))
        .collect();
    let path = dir.join("deliveries.json");
    std::fs::write(&path, serde_json::to_vec(&cases).unwrap()).unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/attacks/verify_webhook.py"
    );
    let out = Command::new(python())
        .arg(script)
        .arg(secret)
        .arg(&path)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "standardwebhooks refused: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("verified {}", seen.len())
    );
    seen.len()
}
