//! The corpus, generated at test time by `scripts/make-hostile-corpus.py` (never committed),
//! and its manifest: per case the file, the declared type, and the contract's expectation.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct Manifest {
    pub secret: String,
    pub canary: CanaryFiles,
    pub plant_in_data_dir: Vec<String>,
    pub cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
pub struct CanaryFiles {
    pub picture: String,
    pub secret_file: String,
}

#[derive(Debug, Deserialize)]
pub struct Case {
    pub name: String,
    pub file: String,
    pub content_type: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub what: String,
    pub expect: Expect,
}

#[derive(Debug, Deserialize)]
pub struct Expect {
    pub status: Statuses,
    /// For a 400: the contract bodies any of which is correct.
    #[serde(default)]
    pub bodies: Vec<String>,
    /// When accepted: submit it to motion-upload as the video (its task must end).
    #[serde(default)]
    pub motion_upload_video: bool,
    /// When accepted: use it as motion-upload's cover image.
    #[serde(default)]
    pub motion_upload_cover: bool,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Statuses {
    One(u16),
    Any(Vec<u16>),
}

impl Statuses {
    pub fn allows(&self, s: u16) -> bool {
        match self {
            Statuses::One(x) => *x == s,
            Statuses::Any(v) => v.contains(&s),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Statuses::One(x) => x.to_string(),
            Statuses::Any(v) => v
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(" or "),
        }
    }
}

impl Expect {
    /// Is `body` (of a 400) one of the contract's bodies? Compared as JSON values.
    pub fn body_matches(&self, body: &[u8]) -> bool {
        let Ok(got) = serde_json::from_slice::<serde_json::Value>(body) else {
            return false;
        };
        self.bodies
            .iter()
            .any(|b| serde_json::from_str::<serde_json::Value>(b).ok().as_ref() == Some(&got))
    }
}

/// Runs the generator into `out`; the playlist-with-URL cases point at `http_url`.
pub fn generate(out: &Path, http_url: &str) -> Manifest {
    let script = super::server::repo_root().join("scripts/make-hostile-corpus.py");
    let res = Command::new("python3")
        .arg(&script)
        .arg(out)
        .args(["--http-url", http_url])
        .output()
        .unwrap_or_else(|e| panic!("python3 {}: {e} (run scripts/test.sh)", script.display()));
    assert!(
        res.status.success(),
        "corpus generator failed (needs python3 and ffmpeg with libx264; run scripts/test.sh):\n{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let text = std::fs::read_to_string(out.join("manifest.json")).expect("manifest.json");
    serde_json::from_str(&text).expect("manifest parses")
}
