//! The process table, from `/proc`: which ffmpeg/ffprobe processes belong to the server under
//! test (its descendants, or anything whose working directory is inside its data directory, so
//! that an orphan re-parented to init is caught too), and a sampler that records how long each
//! of them lived.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Proc {
    pub pid: i32,
    pub ppid: i32,
    pub comm: String,
    pub state: char,
}

/// Every process we can read.
pub fn all() -> Vec<Proc> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(read_stat)
        .collect()
}

fn read_stat(pid: i32) -> Option<Proc> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid ...`; comm may itself contain spaces and parentheses.
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat[open + 1..close].to_string();
    let mut rest = stat[close + 1..].split_whitespace();
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    Some(Proc {
        pid,
        ppid,
        comm,
        state,
    })
}

fn cwd(pid: i32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/cwd")).ok()
}

pub fn is_media_tool(p: &Proc) -> bool {
    p.comm == "ffmpeg" || p.comm == "ffprobe"
}

/// ffmpeg/ffprobe processes of the server `root` (descendants, or working inside `data_dir`).
pub fn media_tools(root: i32, data_dir: &Path) -> Vec<Proc> {
    let procs = all();
    let mut children: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    for p in &procs {
        children.entry(p.ppid).or_default().push(p.pid);
    }
    let mut mine = vec![root];
    let mut i = 0;
    while i < mine.len() {
        if let Some(c) = children.get(&mine[i]) {
            mine.extend(c);
        }
        i += 1;
    }
    procs
        .into_iter()
        .filter(is_media_tool)
        .filter(|p| mine.contains(&p.pid) || cwd(p.pid).is_some_and(|c| c.starts_with(data_dir)))
        .collect()
}

/// Zombie children of `root` (exited but never reaped).
pub fn zombies(root: i32) -> Vec<Proc> {
    all()
        .into_iter()
        .filter(|p| p.ppid == root && p.state == 'Z')
        .collect()
}

/// Lifetime of one observed tool process.
#[derive(Debug, Clone)]
pub struct Lifetime {
    pub pid: i32,
    pub comm: String,
    pub first_seen: Instant,
    pub last_seen: Instant,
}

impl Lifetime {
    pub fn observed(&self) -> Duration {
        self.last_seen - self.first_seen
    }
}

/// Samples the server's tool processes every 20 ms until stopped.
pub struct Watcher {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<BTreeMap<i32, Lifetime>>>,
    handle: Option<JoinHandle<()>>,
}

impl Watcher {
    pub fn start(root: i32, data_dir: PathBuf) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let seen: Arc<Mutex<BTreeMap<i32, Lifetime>>> = Arc::default();
        let (s, m) = (stop.clone(), seen.clone());
        let handle = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let now = Instant::now();
                for p in media_tools(root, &data_dir) {
                    let mut seen = m.lock().unwrap();
                    let entry = seen.entry(p.pid).or_insert_with(|| Lifetime {
                        pid: p.pid,
                        comm: p.comm.clone(),
                        first_seen: now,
                        last_seen: now,
                    });
                    entry.last_seen = now;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Watcher {
            stop,
            seen,
            handle: Some(handle),
        }
    }

    /// Stops sampling and returns every process seen.
    pub fn finish(mut self) -> Vec<Lifetime> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        self.seen.lock().unwrap().values().cloned().collect()
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[test]
fn reads_its_own_process() {
    let me = std::process::id() as i32;
    let p = all()
        .into_iter()
        .find(|p| p.pid == me)
        .expect("own /proc entry");
    assert!(p.ppid > 0 && !p.comm.is_empty());
}
