//! The real `motiond serve` on port 0 with its own data directory, and a loopback listener that
//! counts every connection it is offered (the target of the playlist-with-URL cases).

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

pub fn repo_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The models the worker loads at start, or a failure naming the setup command.
pub fn models_dir() -> PathBuf {
    let dir = std::env::var_os("MOTIOND_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".data/models"));
    assert!(
        dir.join("pose_detection.onnx").is_file(),
        "models missing: run scripts/test.sh (or `motiond models fetch --data-dir .data`); looked in {}",
        dir.display()
    );
    dir
}

pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub token: String,
    pub pid: i32,
}

impl Server {
    /// Starts `motiond serve` and waits (bounded) for its `listening on` and admin-token lines.
    pub fn start(data_dir: &Path, log: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_motiond"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env("MOTIOND_MODELS_DIR", models_dir())
            // The suite fires requests back to back; rate limits are tested elsewhere.
            .env("MOTIOND_LIMITS__TOKEN_RPS", "0")
            .env("MOTIOND_WORKER__CONCURRENCY", "1")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(std::fs::File::create(log).expect("server log")))
            .spawn()
            .expect("start motiond serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (mut addr, mut token) = (None, None);
        while addr.is_none() || token.is_none() {
            match rx.recv_timeout(Duration::from_secs(180)) {
                Ok(line) => {
                    if let Some(a) = line.strip_prefix("listening on ") {
                        addr = Some(a.trim().parse().expect("listen address"));
                    } else if let Some(t) = line.strip_prefix("admin token: ") {
                        token = Some(t.trim().to_string());
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let log = std::fs::read_to_string(log).unwrap_or_default();
                    panic!("motiond serve did not come up within 180 s; its log:\n{log}");
                }
            }
        }
        let pid = child.id() as i32;
        Server {
            child,
            addr: addr.unwrap(),
            token: token.unwrap(),
            pid,
        }
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Accepts and counts connections on a loopback port; answers nothing.
pub struct HitCounter {
    pub addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl HitCounter {
    pub fn start() -> HitCounter {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind hit counter");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, s) = (hits.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok(_) => {
                        h.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        HitCounter { addr, hits, stop }
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for HitCounter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
