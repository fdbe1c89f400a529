//! The one way to run ffmpeg and ffprobe (architecture §5, reliability-goals §3.2).
//!
//! Every call gets the hardened input flags (protocol/format/codec whitelists, a demuxer forced
//! from our own sniffing, no external references for mov, stream/probe/pixel caps), runs with
//! `cwd` = the job's own directory, an empty environment (PATH and [`MALLOC_TUNABLES`] only), its
//! own process group and rlimits, under a wall-clock timeout and a cancellation token (a
//! streaming call whose caller reports [`Progress`] times out only when it stalls). On
//! timeout, cancellation or drop the whole process group is killed with SIGKILL and then reaped,
//! so no zombie or orphaned grandchild survives. stderr is kept only as a bounded tail for logs.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use nix::sys::resource::{Resource, setrlimit};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_util::sync::{CancellationToken, DropGuard};

use super::sniff::Container;

/// glibc's malloc settings for every ffmpeg and ffprobe we start. By default glibc hands a freed
/// block of a few MB back to the kernel (its mmap threshold adapts, its heap is trimmed), so a
/// process that allocates one such buffer per frame, as the preview encoder does for each raw
/// frame it reads from its pipe, faults in and zeroes every page of every frame again. Fixed
/// thresholds keep the freed blocks for reuse: the encoder of a 300-frame 720p preview took
/// 58 000 → 7 000 page faults and about 10 % less CPU. Peak RSS measured with and without:
/// that encoder 68 → 71 MB (one more frame kept), the 1080p decoder 138 → 105 MB; RLIMIT_AS
/// still bounds both. 32 MiB is the largest mmap threshold glibc accepts on 64-bit (a larger
/// value would be ignored).
pub const MALLOC_TUNABLES: &str =
    "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=268435456";

/// How much of stderr is kept for logs and error messages.
pub const STDERR_TAIL_BYTES: usize = 8 * 1024;

/// Which tool to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    Ffmpeg,
    Ffprobe,
}

impl Tool {
    pub fn name(self) -> &'static str {
        match self {
            Tool::Ffmpeg => "ffmpeg",
            Tool::Ffprobe => "ffprobe",
        }
    }
}

impl std::fmt::Display for Tool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How one ffmpeg/ffprobe process ended, for the [`SubprocessObserver`]: the `outcome` label of
/// the service's `motiond_subprocess_duration_seconds` (contract §10.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    /// Exit status 0.
    Ok,
    /// A non-zero exit or a signal, killed on cancellation or drop, or not reaped.
    Error,
    /// Killed at the wall-clock limit.
    Timeout,
}

impl CallOutcome {
    pub fn label(self) -> &'static str {
        match self {
            CallOutcome::Ok => "ok",
            CallOutcome::Error => "error",
            CallOutcome::Timeout => "timeout",
        }
    }
}

/// Told of every process this runner started once it has ended and been reaped: the tool,
/// how it ended and its wall time from spawn. The engine knows nothing of metrics; the
/// service installs one with [`set_subprocess_observer`] to record them.
pub type SubprocessObserver = fn(Tool, CallOutcome, Duration);

static OBSERVER: OnceLock<SubprocessObserver> = OnceLock::new();

/// Installs the process-wide [`SubprocessObserver`]; the first one stays (false if another
/// was installed before).
pub fn set_subprocess_observer(observer: SubprocessObserver) -> bool {
    OBSERVER.set(observer).is_ok()
}

/// Errors of a subprocess call. `BadInput` is the user's fault (the media is not what it
/// claims, or breaks a limit); everything else is ours (500, logged, readiness).
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("{tool} rejected the input: {reason}")]
    BadInput {
        tool: Tool,
        reason: String,
        /// Last bytes of stderr, for logs only (never for clients).
        stderr_tail: String,
    },
    #[error("{tool} failed on our own data ({status}): {stderr_tail}")]
    ToolFailed {
        tool: Tool,
        status: String,
        stderr_tail: String,
    },
    #[error("{tool} could not be started: not found on PATH")]
    ToolMissing { tool: Tool },
    #[error("{tool} timed out after {timeout:?}")]
    Timeout { tool: Tool, timeout: Duration },
    #[error("{tool} was cancelled")]
    Cancelled { tool: Tool },
    #[error("I/O error while running {tool}: {source}")]
    Io {
        tool: Tool,
        #[source]
        source: std::io::Error,
    },
}

impl MediaError {
    /// True when the failure is caused by the user's media (API 400 / task "could not be decoded").
    pub fn is_bad_input(&self) -> bool {
        matches!(self, MediaError::BadInput { .. })
    }

    pub(crate) fn bad_input(tool: Tool, reason: impl Into<String>) -> Self {
        MediaError::BadInput {
            tool,
            reason: reason.into(),
            stderr_tail: String::new(),
        }
    }
}

/// The decoders' default pixel budget per frame (`-max_pixels`): 8192x8192.
pub const DEFAULT_MAX_PIXELS: u64 = 8192 * 8192;

/// Resource caps of one call. The defaults suit one clip of at most a few hundred MB on the
/// 2-core reference machine; callers tighten them (e.g. probes get a short timeout).
#[derive(Clone, Debug)]
pub struct Limits {
    /// Wall-clock limit for the whole call; for a streaming call whose caller reports
    /// [`Progress`], the longest time without any (a clip streams at the pace of its consumer,
    /// so a long one takes as long as it takes, while a stalled decoder is still cut off).
    pub timeout: Duration,
    /// RLIMIT_AS: virtual memory of the process.
    pub address_space_bytes: u64,
    /// RLIMIT_CPU (seconds of CPU time; SIGXCPU then SIGKILL).
    pub cpu_seconds: u64,
    /// RLIMIT_FSIZE: largest file the process may write.
    pub file_size_bytes: u64,
    /// RLIMIT_NOFILE.
    pub open_files: u64,
    /// `run()` collects at most this much stdout; more is a `BadInput`.
    pub max_stdout_bytes: usize,
    /// `-max_pixels` for decoders (a decompression-bomb guard).
    pub max_pixels: u64,
    /// `-probesize` in bytes.
    pub probe_size_bytes: u64,
    /// `-analyzeduration` in microseconds.
    pub analyze_duration_us: u64,
    /// `-max_streams` for the demuxer.
    pub max_streams: u32,
    /// `-max_alloc` (ffmpeg only): largest single allocation.
    pub max_alloc_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(300),
            address_space_bytes: 4 << 30,
            cpu_seconds: 600,
            file_size_bytes: 2 << 30,
            open_files: 256,
            max_stdout_bytes: 16 << 20,
            max_pixels: DEFAULT_MAX_PIXELS,
            probe_size_bytes: 20 << 20,
            analyze_duration_us: 20_000_000,
            max_streams: 8,
            max_alloc_bytes: 1 << 30,
        }
    }
}

/// Raw frames that we produce ourselves and write to ffmpeg's stdin (e.g. the preview encoder).
#[derive(Clone, Debug)]
pub struct RawVideoInput {
    pub width: u32,
    pub height: u32,
    /// ffmpeg pixel format name, e.g. `rgb24`.
    pub pix_fmt: String,
    /// Frame rate as ffmpeg accepts it, e.g. `30` or `30000/1001`.
    pub frame_rate: String,
}

#[derive(Clone, Debug)]
enum Input {
    File {
        name: String,
        container: Container,
    },
    RawPipe(RawVideoInput),
    /// `-version` only: no media at all.
    Version,
}

/// Builder for one ffmpeg/ffprobe call. Construct with [`FfCommand::ffmpeg`] or
/// [`FfCommand::ffprobe`], set exactly one input, add output/probe arguments, then [`run`] or
/// [`spawn`].
///
/// [`run`]: FfCommand::run
/// [`spawn`]: FfCommand::spawn
#[derive(Clone, Debug)]
pub struct FfCommand {
    tool: Tool,
    program: PathBuf,
    cwd: PathBuf,
    input: Option<Input>,
    input_args: Vec<OsString>,
    args: Vec<OsString>,
    limits: Limits,
}

/// Result of [`FfCommand::run`].
#[derive(Debug)]
pub struct Output {
    pub stdout: Vec<u8>,
    pub stderr_tail: String,
}

/// A per-line hook on stderr. Returning `false` keeps the line out of the stderr tail
/// (used by the frame source to consume its timestamp lines).
pub type StderrHook = Box<dyn FnMut(&str) -> bool + Send + 'static>;

impl FfCommand {
    /// An ffmpeg call that runs inside `job_dir` (the directory holding only this job's files).
    pub fn ffmpeg(job_dir: impl Into<PathBuf>) -> Self {
        Self::new(Tool::Ffmpeg, job_dir.into())
    }

    /// An ffprobe call that runs inside `job_dir`.
    pub fn ffprobe(job_dir: impl Into<PathBuf>) -> Self {
        Self::new(Tool::Ffprobe, job_dir.into())
    }

    fn new(tool: Tool, cwd: PathBuf) -> Self {
        FfCommand {
            tool,
            program: PathBuf::from(tool.name()),
            cwd,
            input: None,
            input_args: Vec::new(),
            args: Vec::new(),
            limits: Limits::default(),
        }
    }

    /// Use another binary than the one found on PATH (e.g. a configured ffmpeg path).
    pub fn program(mut self, program: impl Into<PathBuf>) -> Self {
        self.program = program.into();
        self
    }

    /// The input is the user's file `file_name` inside the job directory, opened with the
    /// demuxer of `container` (from [`super::sniff`]). `file_name` must be a plain name.
    pub fn input_file(mut self, file_name: &str, container: Container) -> Self {
        self.input = Some(Input::File {
            name: file_name.to_owned(),
            container,
        });
        self
    }

    /// The input is raw video that the caller writes to stdin (trusted: our own frames).
    pub fn input_raw_video(mut self, raw: RawVideoInput) -> Self {
        self.input = Some(Input::RawPipe(raw));
        self
    }

    /// Extra options placed right before `-i` (e.g. `-ss` for fast seeking).
    pub fn input_args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.input_args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Arguments after the input: output options and the output for ffmpeg, `-show_*` for ffprobe.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    pub fn tool(&self) -> Tool {
        self.tool
    }

    fn user_input(&self) -> bool {
        matches!(self.input, Some(Input::File { .. }))
    }

    /// The full argument list (without the program), hardened flags included.
    pub fn build_args(&self) -> Result<Vec<OsString>, MediaError> {
        let (input_options, url) = match &self.input {
            Some(Input::Version) => return Ok(vec!["-version".into()]),
            None => return Err(MediaError::bad_input(self.tool, "no input given")),
            Some(Input::File { name, container }) => self.file_input(name, container)?,
            Some(Input::RawPipe(raw)) => raw_pipe_input(raw),
        };
        let mut a: Vec<OsString> = Vec::new();
        if self.tool == Tool::Ffmpeg {
            a.push("-nostdin".into());
            a.push("-max_alloc".into());
            a.push(self.limits.max_alloc_bytes.to_string().into());
        }
        // `repeat`: ffmpeg folds identical consecutive log lines into "Last message repeated N
        // times"; the decoder reads one printed timestamp per frame, and frames that share a
        // time (a variable-rate recording's repeats) would shift every later frame's.
        a.extend(["-hide_banner", "-v", "repeat+error"].map(OsString::from));
        a.extend(input_options);
        a.extend(self.input_args.iter().cloned());
        a.push("-i".into());
        a.push(url);
        a.extend(self.args.iter().cloned());
        Ok(a)
    }

    /// The whitelists and limits for a file of the sniffed container, and its URL.
    fn file_input(
        &self,
        name: &str,
        container: &Container,
    ) -> Result<(Vec<OsString>, OsString), MediaError> {
        check_plain_name(self.tool, name)?;
        let (Some(demuxer), Some(formats), Some(codecs)) = (
            container.demuxer(),
            container.format_whitelist(),
            container.codec_whitelist(),
        ) else {
            return Err(MediaError::bad_input(self.tool, "unrecognised file format"));
        };
        let l = &self.limits;
        let mut a = option_pairs([
            ("-protocol_whitelist", "file".to_owned()),
            ("-format_whitelist", formats.to_owned()),
            ("-codec_whitelist", codecs.to_owned()),
            ("-max_streams", l.max_streams.to_string()),
            ("-probesize", l.probe_size_bytes.to_string()),
            ("-analyzeduration", l.analyze_duration_us.to_string()),
            ("-max_pixels", l.max_pixels.to_string()),
            ("-f", demuxer.to_owned()),
        ]);
        if *container == Container::Mp4Mov {
            a.extend(["-enable_drefs", "0", "-use_absolute_path", "0"].map(OsString::from));
        }
        // `file:` keeps a name with a colon or a leading dash from meaning anything else.
        Ok((a, format!("file:{name}").into()))
    }

    fn command(&self, stdin_piped: bool) -> Result<Command, MediaError> {
        let args = self.build_args()?;
        let mut cmd = Command::new(&self.program);
        cmd.args(args)
            .current_dir(&self.cwd)
            .env_clear()
            .stdin(if stdin_piped {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        if let Some(path) = std::env::var_os("PATH") {
            cmd.env("PATH", path);
        }
        cmd.env("GLIBC_TUNABLES", MALLOC_TUNABLES);
        let l = self.limits.clone();
        // SAFETY: the closure runs between fork and exec and only calls setrlimit (a plain
        // system call, async-signal-safe); it allocates nothing.
        unsafe {
            cmd.pre_exec(move || {
                let set = |r, v: u64| setrlimit(r, v, v).map_err(std::io::Error::from);
                set(Resource::RLIMIT_AS, l.address_space_bytes)?;
                set(Resource::RLIMIT_CPU, l.cpu_seconds)?;
                set(Resource::RLIMIT_FSIZE, l.file_size_bytes)?;
                set(Resource::RLIMIT_NOFILE, l.open_files)?;
                Ok(())
            });
        }
        Ok(cmd)
    }

    /// Runs to completion and returns stdout (at most `limits.max_stdout_bytes`).
    pub async fn run(self, cancel: &CancellationToken) -> Result<Output, MediaError> {
        let tool = self.tool;
        let max = self.limits.max_stdout_bytes;
        let mut running = self.spawn(cancel)?;
        let mut stdout = running.stdout.take().expect("stdout is piped");
        let mut buf = Vec::new();
        let read = (&mut stdout)
            .take(max as u64 + 1)
            .read_to_end(&mut buf)
            .await;
        if let Err(source) = read {
            drop(running);
            return Err(MediaError::Io { tool, source });
        }
        if buf.len() > max {
            drop(running);
            return Err(MediaError::bad_input(
                tool,
                format!("output exceeds {max} bytes"),
            ));
        }
        drop(stdout);
        let stderr_tail = running.wait().await?;
        Ok(Output {
            stdout: buf,
            stderr_tail,
        })
    }

    /// Starts the process with piped stdout (and piped stdin for a raw-video input) for
    /// streaming. The timeout and `cancel` apply from now on, whether or not the caller is
    /// reading; dropping the [`Running`] kills the process group.
    pub fn spawn(self, cancel: &CancellationToken) -> Result<Running, MediaError> {
        self.spawn_with_stderr_hook(cancel, None)
    }

    /// Like [`spawn`](Self::spawn), with a hook that sees every stderr line.
    pub fn spawn_with_stderr_hook(
        self,
        cancel: &CancellationToken,
        hook: Option<StderrHook>,
    ) -> Result<Running, MediaError> {
        let tool = self.tool;
        let stdin_piped = matches!(self.input, Some(Input::RawPipe(_)));
        let mut cmd = self.command(stdin_piped)?;
        let started = Instant::now();
        let mut child = cmd.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => MediaError::ToolMissing { tool },
            _ => MediaError::Io { tool, source: e },
        })?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take().expect("stderr is piped");
        let stderr_task = tokio::spawn(read_stderr_tail(stderr, hook));
        let dropped = CancellationToken::new();
        let (tx, rx) = oneshot::channel();
        let progress = Progress::since(started);
        tokio::spawn(watch(
            child,
            Watched { tool, started },
            Deadline {
                timeout: self.limits.timeout,
                progress: progress.clone(),
            },
            cancel.clone(),
            dropped.clone(),
            tx,
        ));
        Ok(Running {
            tool,
            user_input: self.user_input(),
            timeout: self.limits.timeout,
            progress,
            stdin,
            stdout,
            done: Some(rx),
            stderr_task: Some(stderr_task),
            _kill_on_drop: dropped.drop_guard(),
        })
    }
}

/// The tool's version as (major, minor), from the first line of `-version` (e.g.
/// `ffmpeg version 5.1.9-0+deb12u1 …` → (5, 1)); for start-up and readiness checks.
pub async fn tool_version(
    tool: Tool,
    program: Option<&Path>,
    cancel: &CancellationToken,
) -> Result<(u32, u32), MediaError> {
    let mut cmd = FfCommand::new(tool, std::env::temp_dir());
    if let Some(p) = program {
        cmd = cmd.program(p);
    }
    cmd.input = Some(Input::Version);
    cmd.limits.timeout = std::time::Duration::from_secs(20);
    let out = cmd.run(cancel).await?;
    parse_version(&String::from_utf8_lossy(&out.stdout)).ok_or_else(|| MediaError::ToolFailed {
        tool,
        status: "unreadable -version output".into(),
        stderr_tail: out.stderr_tail,
    })
}

/// Parses `<tool> version N.M…`; a leading `n` (git builds: `n5.1.2`) is accepted.
pub fn parse_version(text: &str) -> Option<(u32, u32)> {
    let rest = text.lines().next()?.split(" version ").nth(1)?;
    let v = rest.trim_start_matches('n');
    let mut parts = v.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

/// Raw frames of a known size and rate on stdin (the preview encoder's input).
fn raw_pipe_input(raw: &RawVideoInput) -> (Vec<OsString>, OsString) {
    let options = option_pairs([
        ("-protocol_whitelist", "pipe".to_owned()),
        ("-format_whitelist", "rawvideo".to_owned()),
        ("-f", "rawvideo".to_owned()),
        ("-pix_fmt", raw.pix_fmt.clone()),
        ("-s", format!("{}x{}", raw.width, raw.height)),
        ("-framerate", raw.frame_rate.clone()),
    ]);
    (options, "pipe:0".into())
}

fn option_pairs<const N: usize>(pairs: [(&str, String); N]) -> Vec<OsString> {
    pairs
        .into_iter()
        .flat_map(|(k, v)| [OsString::from(k), OsString::from(v)])
        .collect()
}

fn check_plain_name(tool: Tool, name: &str) -> Result<(), MediaError> {
    let plain = !name.is_empty()
        && !name.contains('/')
        && !name.contains('\0')
        && name != "."
        && name != "..";
    if plain {
        Ok(())
    } else {
        Err(MediaError::bad_input(
            tool,
            format!("input must be a plain file name in the job directory, got {name:?}"),
        ))
    }
}

/// How the process ended, as seen by the watchdog.
#[derive(Debug)]
enum Ended {
    Exited(ExitStatus),
    TimedOut,
    Cancelled,
    Dropped,
    WaitFailed(std::io::Error),
}

impl Ended {
    fn outcome(&self) -> CallOutcome {
        match self {
            Ended::Exited(status) if status.success() => CallOutcome::Ok,
            Ended::TimedOut => CallOutcome::Timeout,
            _ => CallOutcome::Error,
        }
    }
}

/// What the watchdog tells the [`SubprocessObserver`] besides the outcome.
struct Watched {
    tool: Tool,
    started: Instant,
}

/// When the watchdog gives up on a process: `timeout` after its last [`Progress`] (its start,
/// when none is reported).
struct Deadline {
    timeout: Duration,
    progress: Progress,
}

impl Deadline {
    fn at(&self) -> Instant {
        let last = self.progress.last();
        // A timeout too long to add is no timeout: a year is as good.
        let year = Duration::from_secs(365 * 86_400);
        last.checked_add(self.timeout).unwrap_or(last + year)
    }
}

/// When a streaming call last moved (a frame read from its stdout, one written to its stdin),
/// as its caller reports it with [`Progress::made`]. Cheap to clone and to report.
#[derive(Clone, Debug)]
pub struct Progress {
    started: Instant,
    /// Milliseconds from `started` to the last report.
    last_ms: Arc<AtomicU64>,
}

impl Progress {
    fn since(started: Instant) -> Progress {
        Progress {
            started,
            last_ms: Arc::default(),
        }
    }

    /// Reports progress now: the call's timeout counts again from here.
    pub fn made(&self) {
        let ms = self.started.elapsed().as_millis() as u64;
        self.last_ms.fetch_max(ms, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.started + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }
}

/// Owns the child: waits for it, or kills its process group on timeout/cancel/drop, and always
/// reaps it; then tells the observer.
async fn watch(
    mut child: Child,
    watched: Watched,
    deadline: Deadline,
    cancel: CancellationToken,
    dropped: CancellationToken,
    tx: oneshot::Sender<Ended>,
) {
    let ended = {
        let exited = child.wait();
        tokio::pin!(exited);
        loop {
            tokio::select! {
                status = &mut exited => break match status {
                    Ok(s) => Ended::Exited(s),
                    Err(e) => Ended::WaitFailed(e),
                },
                // Progress made while asleep moves the deadline on: sleep again.
                _ = tokio::time::sleep_until(deadline.at().into()) => {
                    if deadline.at() <= Instant::now() {
                        break Ended::TimedOut;
                    }
                }
                _ = cancel.cancelled() => break Ended::Cancelled,
                _ = dropped.cancelled() => break Ended::Dropped,
            }
        }
    };
    if !matches!(ended, Ended::Exited(_)) {
        kill_group(&mut child).await;
    }
    if let Some(observe) = OBSERVER.get() {
        observe(watched.tool, ended.outcome(), watched.started.elapsed());
    }
    let _ = tx.send(ended);
}

async fn kill_group(child: &mut Child) {
    if let Some(pid) = child.id() {
        // The child is the leader of its own group (process_group(0)), so pgid == pid.
        let _ = killpg(Pid::from_raw(pid as i32), Signal::SIGKILL);
    }
    let _ = child.start_kill();
    let _ = child.wait().await;
}

async fn read_stderr_tail(stderr: ChildStderr, mut hook: Option<StderrHook>) -> String {
    let mut lines = BufReader::new(stderr);
    let mut tail = String::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        // Lines are bounded too: a hostile decoder message cannot grow memory without limit.
        match read_line_bounded(&mut lines, &mut line, STDERR_TAIL_BYTES).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\n', '\r']);
        let keep = hook.as_mut().is_none_or(|h| h(text));
        if keep {
            tail.push_str(text);
            tail.push('\n');
            if tail.len() > 2 * STDERR_TAIL_BYTES {
                tail = keep_tail(&tail, STDERR_TAIL_BYTES);
            }
        }
    }
    keep_tail(&tail, STDERR_TAIL_BYTES)
}

/// Reads one line, keeping at most `max` bytes of it (the rest of the line is discarded).
async fn read_line_bounded(
    r: &mut BufReader<ChildStderr>,
    out: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<usize> {
    let mut total = 0;
    loop {
        let buf = r.fill_buf().await?;
        if buf.is_empty() {
            return Ok(total);
        }
        let (chunk, found) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..=i], true),
            None => (buf, false),
        };
        let n = chunk.len();
        let room = max.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..n.min(room)]);
        r.consume(n);
        total += n;
        if found {
            return Ok(total);
        }
    }
}

fn keep_tail(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    s[start..].to_owned()
}

/// A started ffmpeg/ffprobe process. Take `stdin`/`stdout` to stream, then [`wait`](Self::wait).
/// Dropping it kills the process group.
pub struct Running {
    tool: Tool,
    user_input: bool,
    timeout: Duration,
    progress: Progress,
    pub stdin: Option<ChildStdin>,
    pub stdout: Option<ChildStdout>,
    done: Option<oneshot::Receiver<Ended>>,
    stderr_task: Option<JoinHandle<String>>,
    _kill_on_drop: DropGuard,
}

impl Running {
    pub fn tool(&self) -> Tool {
        self.tool
    }

    /// Where the streaming caller reports progress, so that the timeout bounds a stall rather
    /// than the whole stream (see [`Limits::timeout`]).
    pub fn progress(&self) -> Progress {
        self.progress.clone()
    }

    /// Waits for the process to end (closing stdin first) and classifies the outcome.
    /// Returns the stderr tail on success.
    pub async fn wait(mut self) -> Result<String, MediaError> {
        drop(self.stdin.take());
        let tool = self.tool;
        let ended = self
            .done
            .take()
            .expect("wait once")
            .await
            .unwrap_or(Ended::Dropped);
        let stderr_tail = match self.stderr_task.take() {
            Some(t) => t.await.unwrap_or_default(),
            None => String::new(),
        };
        match ended {
            Ended::Exited(status) if status.success() => Ok(stderr_tail),
            Ended::Exited(status) => {
                let status = describe(status);
                if self.user_input {
                    Err(MediaError::BadInput {
                        tool,
                        reason: status,
                        stderr_tail,
                    })
                } else {
                    Err(MediaError::ToolFailed {
                        tool,
                        status,
                        stderr_tail,
                    })
                }
            }
            Ended::TimedOut => Err(MediaError::Timeout {
                tool,
                timeout: self.timeout,
            }),
            Ended::Cancelled | Ended::Dropped => Err(MediaError::Cancelled { tool }),
            Ended::WaitFailed(source) => Err(MediaError::Io { tool, source }),
        }
    }
}

fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => "unknown exit".to_owned(),
    }
}

/// The directory a user file lives in and its plain name, for [`FfCommand::input_file`].
pub fn split_job_path(tool: Tool, path: &Path) -> Result<(PathBuf, String), MediaError> {
    let name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
        MediaError::bad_input(tool, format!("not a file path: {}", path.display()))
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((dir, name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(v: Vec<OsString>) -> Vec<String> {
        v.into_iter().map(|s| s.into_string().unwrap()).collect()
    }

    #[test]
    fn user_file_gets_every_hardening_flag() {
        let a = strs(
            FfCommand::ffmpeg("/tmp")
                .input_file("in.mp4", Container::Mp4Mov)
                .args(["-f", "null", "-"])
                .build_args()
                .unwrap(),
        );
        let joined = a.join(" ");
        for flag in [
            "-nostdin",
            "-hide_banner",
            "-v repeat+error",
            "-protocol_whitelist file",
            "-format_whitelist mov,mp4,m4a,3gp,3g2,mj2",
            "-f mov",
            "-enable_drefs 0",
            "-use_absolute_path 0",
            "-max_streams 8",
            "-probesize",
            "-analyzeduration",
            "-max_pixels",
            "-codec_whitelist",
            "-i file:in.mp4",
        ] {
            assert!(joined.contains(flag), "{flag} missing in {joined}");
        }
        // Input options come before -i, output options after.
        let i = a.iter().position(|s| s == "-i").unwrap();
        assert!(a.iter().position(|s| s == "-protocol_whitelist").unwrap() < i);
        assert_eq!(&a[a.len() - 3..], ["-f", "null", "-"]);
    }

    #[test]
    fn children_get_only_path_and_the_malloc_tunables() {
        let cmd = FfCommand::ffmpeg("/tmp")
            .input_file("in.mp4", Container::Mp4Mov)
            .args(["-f", "null", "-"])
            .command(false)
            .unwrap();
        let mut envs: Vec<_> = cmd
            .as_std()
            .get_envs()
            .filter_map(|(k, v)| Some((k.to_str()?.to_owned(), v?.to_str()?.to_owned())))
            .collect();
        envs.sort();
        let mut expected = vec![("GLIBC_TUNABLES".to_owned(), MALLOC_TUNABLES.to_owned())];
        if let Ok(path) = std::env::var("PATH") {
            expected.push(("PATH".to_owned(), path));
        }
        assert_eq!(envs, expected);
    }

    #[test]
    fn ffprobe_gets_no_nostdin_and_matroska_no_mov_flags() {
        let a = strs(
            FfCommand::ffprobe("/tmp")
                .input_file("x.mkv", Container::Matroska)
                .build_args()
                .unwrap(),
        );
        assert!(!a.contains(&"-nostdin".to_owned()));
        assert!(!a.contains(&"-enable_drefs".to_owned()));
        assert!(a.join(" ").contains("-f matroska"));
    }

    #[test]
    fn refuses_unknown_containers_and_paths() {
        assert!(
            FfCommand::ffprobe("/tmp")
                .input_file("x", Container::Unknown)
                .build_args()
                .unwrap_err()
                .is_bad_input()
        );
        assert!(
            FfCommand::ffprobe("/tmp")
                .input_file("../x.mp4", Container::Mp4Mov)
                .build_args()
                .is_err()
        );
        assert!(
            FfCommand::ffprobe("/tmp")
                .input_file("/etc/passwd", Container::Mp4Mov)
                .build_args()
                .is_err()
        );
        assert!(FfCommand::ffprobe("/tmp").build_args().is_err());
    }

    #[test]
    fn raw_pipe_input_only_allows_pipe_rawvideo() {
        let raw = RawVideoInput {
            width: 4,
            height: 2,
            pix_fmt: "rgb24".into(),
            frame_rate: "30".into(),
        };
        let a = strs(
            FfCommand::ffmpeg("/tmp")
                .input_raw_video(raw)
                .args(["out.mp4"])
                .build_args()
                .unwrap(),
        )
        .join(" ");
        assert!(a.contains("-protocol_whitelist pipe -format_whitelist rawvideo -f rawvideo -pix_fmt rgb24 -s 4x2 -framerate 30"));
        assert!(a.ends_with("-i pipe:0 out.mp4"));
    }

    #[test]
    fn versions_parse() {
        assert_eq!(
            parse_version("ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026"),
            Some((5, 1))
        );
        assert_eq!(
            parse_version("ffprobe version n6.0 Copyright"),
            Some((6, 0))
        );
        assert_eq!(parse_version("ffmpeg version 7 x"), Some((7, 0)));
        assert_eq!(parse_version("garbage"), None);
    }

    /// Every process reaches the observer once it has ended, with its tool, outcome and wall
    /// time (the service's `motiond_subprocess_duration_seconds`, contract §10.3).
    #[tokio::test]
    async fn the_observer_sees_ok_error_and_timeout() {
        static SEEN: std::sync::Mutex<Vec<(Tool, CallOutcome, Duration)>> =
            std::sync::Mutex::new(Vec::new());
        fn observe(tool: Tool, outcome: CallOutcome, took: Duration) {
            SEEN.lock().unwrap().push((tool, outcome, took));
        }
        assert!(set_subprocess_observer(observe));
        assert!(
            !set_subprocess_observer(observe),
            "the first observer stays"
        );
        let seen = |tool, outcome| {
            SEEN.lock()
                .unwrap()
                .iter()
                .filter(|(t, o, _)| (*t, *o) == (tool, outcome))
                .map(|(_, _, took)| *took)
                .collect::<Vec<_>>()
        };
        let cancel = CancellationToken::new();
        let dir = tempfile::tempdir().unwrap();

        tool_version(Tool::Ffprobe, None, &cancel)
            .await
            .expect("ffprobe on PATH");
        assert_eq!(seen(Tool::Ffprobe, CallOutcome::Ok).len(), 1);

        std::fs::write(dir.path().join("bad.mp4"), b"\0\0\0\x20ftypisom garbage").unwrap();
        let bad = FfCommand::ffmpeg(dir.path())
            .input_file("bad.mp4", Container::Mp4Mov)
            .args(["-f", "null", "-"])
            .run(&cancel)
            .await;
        assert!(matches!(bad, Err(MediaError::BadInput { .. })), "{bad:?}");
        assert_eq!(seen(Tool::Ffmpeg, CallOutcome::Error).len(), 1);

        // Raw frames that never come: killed at the limit.
        let raw = RawVideoInput {
            width: 4,
            height: 2,
            pix_fmt: "rgb24".into(),
            frame_rate: "30".into(),
        };
        let running = FfCommand::ffmpeg(dir.path())
            .input_raw_video(raw)
            .args(["-f", "null", "-"])
            .limits(Limits {
                timeout: Duration::from_millis(300),
                ..Limits::default()
            })
            .spawn(&cancel)
            .unwrap();
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert!(matches!(
            running.wait().await,
            Err(MediaError::Timeout { .. })
        ));
        let timed_out = seen(Tool::Ffmpeg, CallOutcome::Timeout);
        assert_eq!(timed_out.len(), 1);
        assert!(timed_out[0] >= Duration::from_millis(300), "{timed_out:?}");
    }

    #[test]
    fn tail_is_bounded_and_char_safe() {
        let s = "é".repeat(10_000);
        let t = keep_tail(&s, 101);
        assert!(t.len() <= 101);
        assert!(s.ends_with(&t));
    }
}
