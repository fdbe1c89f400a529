//! The real `motiond` binary on 127.0.0.1:0 with a temp data dir, and raw-socket HTTP helpers
//! (raw sockets because these tests send bodies that lie about their length, or stop half-way).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_motiond");

/// A running `motiond serve`, killed on drop.
pub struct Server {
    child: Child,
    pub addr: String,
    pub data_dir: PathBuf,
    pub log: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Server {
    /// Starts the server with `extra_env` on top of settings that keep the test quick.
    pub fn start(extra_env: &[(&str, &str)]) -> Server {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data_dir = tmp.path().join("data");
        let log = tmp.path().join("server.log");
        let stderr = std::fs::File::create(&log).expect("log file");
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&data_dir)
            .env("MOTIOND_CATALOG__SEED", "false")
            .env("MOTIOND_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        if let Some(models) = std::env::var_os("MOTIOND_MODELS_DIR") {
            cmd.env("MOTIOND_MODELS_DIR", models);
        } else {
            cmd.env(
                "MOTIOND_MODELS_DIR",
                concat!(env!("CARGO_MANIFEST_DIR"), "/../../.data/models"),
            );
        }
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn motiond serve");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .expect("read stdout");
        let Some(addr) = first.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            panic!(
                "no `listening on` line ({first:?}); log: {}; run scripts/test.sh if setup is missing",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        Server {
            addr: addr.to_owned(),
            child,
            data_dir,
            log,
            _tmp: tmp,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `motiond token create --user NAME` against this data dir.
    pub fn token(&self, user: &str) -> String {
        admin(&self.data_dir, &["token", "create", "--user", user])
    }

    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(&self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
        s
    }

    /// One request with a complete body; returns (status, headers lowercased, body).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        token: &str,
        ctype: &str,
        body: &[u8],
    ) -> Response {
        let mut s = self.connect();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.addr,
            body.len()
        );
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(body).unwrap();
        read_response(&mut s)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn admin(data_dir: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .expect("run motiond admin command");
    assert!(
        out.status.success(),
        "motiond {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one HTTP/1.1 response (Content-Length or read-to-close bodies).
pub fn read_response(s: &mut TcpStream) -> Response {
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).expect("status line");
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {line:?}"));
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).expect("header line");
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').expect("header colon");
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
    }
    let len = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map(|(_, v)| v.parse::<usize>().unwrap());
    let mut body = Vec::new();
    match len {
        Some(n) => {
            body.resize(n, 0);
            r.read_exact(&mut body).expect("body");
        }
        None => {
            let _ = r.read_to_end(&mut body);
        }
    }
    Response {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// A `/proc/<pid>/status` field in kB (VmRSS, VmHWM).
pub fn proc_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("{field} missing in /proc/{pid}/status"))
}
