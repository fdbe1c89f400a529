//! Command-line definition and dispatch.
//!
//! Pattern: each subcommand adds ONE variant to [`Command`] and ONE match arm in [`Cli::run`]
//! that calls `your_module::run(args, …)`; the rest of its code stays in its own module.

use std::path::PathBuf;

use std::io::Write;
use std::sync::{Mutex, PoisonError};

use anyhow::Context;
use clap::{Parser, Subcommand};
use indicatif::ProgressBar;
use motion_capture::catalog::CatalogError;
use motion_capture::engine::ExtractError;
use motion_worker::webhook::secrets::SecretError;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::{Config, Sources};

/// The environment variables of the global path options: empty means not set.
pub const PATH_ENV_VARS: [&str; 2] = ["MOTIOND_DATA_DIR", "MOTIOND_CONFIG"];

#[derive(Debug, Parser)]
#[command(
    name = "motiond",
    version,
    about = "Self-hosted motion capture: video in, animation out"
)]
pub struct Cli {
    /// Data directory (database, blobs, models). Defaults to $XDG_DATA_HOME/motiond, else
    /// ~/.local/share/motiond.
    #[arg(long, global = true, env = "MOTIOND_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// Configuration file (TOML); see `motiond config defaults`.
    #[arg(long, global = true, env = "MOTIOND_CONFIG")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API server, the workers and the callback deliverer (the default deployment).
    Serve(crate::serve::ServeArgs),
    /// Scale-out half: the HTTP API only (no extraction); tasks go to `motiond worker`s.
    Api(crate::serve::ServeArgs),
    /// Scale-out half: workers, callback deliverer and janitor, without an HTTP listener.
    Worker(crate::worker_cmd::WorkerArgs),
    /// Create or upgrade the database schema.
    Migrate,
    /// Issue or revoke API tokens.
    Token(crate::admin_cmd::TokenArgs),
    /// Show or rotate a user's webhook signing secret.
    WebhookSecret(crate::admin_cmd::WebhookSecretArgs),
    /// Configuration helpers.
    Config(crate::config_cmd::ConfigArgs),
    /// Model setup: fetch and convert the pinned BlazePose models.
    Models(crate::models_cmd::ModelsArgs),
    /// Extract the motion of the person in a video: BVH, glb, landmarks, preview.
    Extract(crate::extract_cmd::ExtractArgs),
    /// The official motion catalog: import a BVH or a video, list, remove.
    Motions(crate::motions_cmd::MotionsArgs),
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        // Computed before the match so that arms may move their own arguments out of `self`.
        let sources = self.sources();
        match self.command {
            Command::Serve(args) => crate::serve::run(sources, args).await,
            Command::Api(args) => crate::api_cmd::run(sources, args).await,
            Command::Worker(args) => crate::worker_cmd::run(sources, args).await,
            Command::Migrate => crate::admin_cmd::migrate(sources).await,
            Command::Token(args) => crate::admin_cmd::token(sources, args).await,
            Command::WebhookSecret(args) => crate::admin_cmd::webhook_secret(sources, args).await,
            Command::Config(args) => crate::config_cmd::run(args),
            Command::Models(args) => crate::models_cmd::run(args, self.data_dir, self.config).await,
            Command::Extract(args) => crate::extract_cmd::run(args, sources).await,
            Command::Motions(args) => crate::motions_cmd::run(args, sources).await,
        }
    }

    /// The sources every config-reading subcommand starts from: file, env, then `--data-dir`.
    pub fn sources(&self) -> Sources {
        let mut sources = Sources::from_process(self.config.clone());
        if let Some(dir) = &self.data_dir {
            sources = sources.flag("data_dir", dir.display().to_string());
        }
        sources
    }

    /// Loads the layered configuration and logs its warnings.
    pub fn load_config(
        &self,
        extra_flags: Vec<(String, figment::value::Value)>,
    ) -> anyhow::Result<Config> {
        load_config(self.sources(), extra_flags)
    }
}

/// Loads the layered configuration (`extra_flags` win over everything) and logs its warnings.
pub fn load_config(
    mut sources: Sources,
    extra_flags: Vec<(String, figment::value::Value)>,
) -> anyhow::Result<Config> {
    sources.flags.extend(extra_flags);
    let loaded = Config::load(&sources)?;
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    Ok(loaded.config)
}

/// A command's failure that is the user's answer, not a crash report: `main` prints the message
/// as one line and exits with the code (after the runtime has stopped every thread it started).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CommandFailed {
    pub message: String,
    pub exit_code: u8,
}

impl CommandFailed {
    /// Something the user can fix in the command line (a bad argument, a refused input):
    /// exit 2, like clap's own usage errors.
    pub fn usage(message: impl Into<String>) -> CommandFailed {
        CommandFailed {
            message: message.into(),
            exit_code: 2,
        }
    }

    /// Any other error of a command, as one line for a person: see [`CommandFailed::of`].
    pub fn from_error(err: &anyhow::Error) -> CommandFailed {
        CommandFailed::of("motiond", err)
    }

    /// A command's error as one line for a person, after `prefix`: its context chain joined
    /// by ": " (a cause already quoted by the message before it is not repeated), never a
    /// backtrace, whatever `RUST_BACKTRACE` says. Exit 2 when the user can fix the cause (see
    /// [`users_fault`]), 1 for failures of ours or the system's. A [`CommandFailed`] is
    /// passed on as it is.
    pub fn of(prefix: &str, err: &anyhow::Error) -> CommandFailed {
        if let Some(failed) = err.downcast_ref::<CommandFailed>() {
            return CommandFailed {
                message: failed.message.clone(),
                exit_code: failed.exit_code,
            };
        }
        let mut message = String::from(prefix);
        for cause in err.chain() {
            let text = cause.to_string();
            if !message.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
        }
        CommandFailed {
            message,
            exit_code: exit_code(&**err),
        }
    }
}

/// An input a command refuses (a file that is neither of the kinds it takes): the user's to fix.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RefusedInput(pub String);

/// Whether the user can fix what made a command fail, judged by every error of the chain: a
/// configuration they got wrong, an input that is refused (not a readable video, no person in
/// it, a BVH that does not parse or is too long, a [`RefusedInput`]), or an output folder that
/// cannot take the outputs. The one rule for
/// every command, so that `extract` and `motions import` answer the same input alike.
pub fn users_fault(err: &(dyn std::error::Error + 'static)) -> bool {
    std::iter::successors(Some(err), |e| e.source()).any(|e| {
        e.is::<crate::config::ConfigError>()
            || e.is::<RefusedInput>()
            || matches!(
                e.downcast_ref::<SecretError>(),
                Some(SecretError::NoSuchUser(_))
            )
            || e.downcast_ref::<ExtractError>()
                .is_some_and(ExtractError::is_callers_fault)
            || matches!(
                e.downcast_ref::<CatalogError>(),
                Some(
                    CatalogError::Bvh(_) | CatalogError::Retarget(_) | CatalogError::TooLong { .. }
                )
            )
    })
}

/// The exit code of a failed command: 2 for what the user can fix ([`users_fault`]), like
/// clap's own usage errors, 1 for the rest.
pub fn exit_code(err: &(dyn std::error::Error + 'static)) -> u8 {
    if users_fault(err) { 2 } else { 1 }
}

/// Writes a command's report (a summary, a listing) to stdout. A reader that has gone (`|
/// head -1`, a closed pipe) is no failure: the work is done and its results are where they
/// belong; only the report goes unread. Any other write error is one.
pub fn print_report(text: &str) -> anyhow::Result<()> {
    report_to(&mut std::io::stdout().lock(), text)
}

fn report_to(out: &mut impl Write, text: &str) -> anyhow::Result<()> {
    match write_out(out, text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        written => written.context("writing to stdout"),
    }
}

/// Writes a result that exists nowhere else (a new token, a secret) to stdout: a reader that
/// has gone is a failure then, reported as one line rather than a panic.
pub fn print_result(text: &str) -> anyhow::Result<()> {
    write_out(&mut std::io::stdout().lock(), text.as_bytes())
        .context("writing the result to stdout")
}

fn write_out(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    out.write_all(bytes)?;
    out.flush()
}

/// The progress bar on the terminal while a command shows one: log lines are written above
/// it rather than across it.
static SHOWN_BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Shows log lines above `bar` (and the bar below them, redrawn) until the guard is dropped.
#[must_use = "log lines go above the bar only while the guard lives"]
pub fn logs_above(bar: &ProgressBar) -> LogsAbove {
    *shown_bar() = Some(bar.clone());
    LogsAbove(())
}

/// Returned by [`logs_above`]; log lines go straight to stderr again once it is dropped.
pub struct LogsAbove(());

impl Drop for LogsAbove {
    fn drop(&mut self) {
        *shown_bar() = None;
    }
}

fn shown_bar() -> std::sync::MutexGuard<'static, Option<ProgressBar>> {
    SHOWN_BAR.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Writes `line` (one formatted log event) to `out`, with `bar`, if any, cleared from the
/// terminal meanwhile and drawn again below it.
fn write_log(bar: Option<&ProgressBar>, out: &mut impl Write, line: &[u8]) -> std::io::Result<()> {
    match bar {
        Some(bar) => bar.suspend(|| write_out(out, line)),
        None => write_out(out, line),
    }
}

/// tracing's writer: stderr, with the shown progress bar (if any) out of the way.
#[derive(Clone, Copy, Debug, Default)]
struct StderrAboveBar;

impl<'a> MakeWriter<'a> for StderrAboveBar {
    type Writer = StderrAboveBar;

    fn make_writer(&'a self) -> Self::Writer {
        *self
    }
}

impl Write for StderrAboveBar {
    /// tracing's formatter hands over each event whole, in one write.
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // Cloned out of the lock: a log line written while the bar is being replaced waits
        // for neither. stderr is locked only inside the bar's suspend, in the order the bar's
        // own drawing takes the two locks.
        let bar = shown_bar().clone();
        write_log(bar.as_ref(), &mut std::io::stderr(), buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Logs go to stderr so that commands like `token create` keep stdout for their result; above
/// the progress bar of `extract` while it is shown.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MOTIOND_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: log files and pipes get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(StderrAboveBar)
        .init();
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::{Arc, Mutex};

    use indicatif::{ProgressDrawTarget, ProgressStyle, TermLike};

    use super::*;

    /// A terminal that records what is drawn on it, in order, in a log shared with the test.
    #[derive(Debug, Clone, Default)]
    pub(crate) struct Recorder(pub(crate) Arc<Mutex<Vec<String>>>);

    impl Recorder {
        pub(crate) fn push(&self, event: String) {
            self.0.lock().unwrap().push(event);
        }

        pub(crate) fn events(&self) -> Vec<String> {
            self.0.lock().unwrap().clone()
        }

        /// A draw target onto this recorder, at stderr's refresh rate.
        pub(crate) fn target(&self) -> ProgressDrawTarget {
            ProgressDrawTarget::term_like_with_hz(Box::new(self.clone()), 20)
        }
    }

    impl TermLike for Recorder {
        fn width(&self) -> u16 {
            100
        }
        fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
            self.push(format!("up {n}"));
            Ok(())
        }
        fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
            self.push(format!("down {n}"));
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.push(format!("bar {s}"));
            Ok(())
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            self.push(format!("bar {s}"));
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            self.push("clear".into());
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Write for Recorder {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.push(format!("log {}", String::from_utf8_lossy(buf).trim_end()));
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A log line is written with the bar cleared off its line, and the bar is drawn again
    /// below it: no warning lands in the middle of the bar.
    #[test]
    fn a_log_line_goes_above_the_progress_bar() {
        let term = Recorder::default();
        let bar = ProgressBar::with_draw_target(Some(10), term.target());
        bar.set_style(ProgressStyle::with_template("{msg} {pos}/{len}").unwrap());
        bar.set_message("tracking");
        bar.force_draw();
        write_log(Some(&bar), &mut term.clone(), b"WARN model loaded slowly\n").unwrap();
        let events = term.events();
        let log = events
            .iter()
            .position(|e| e == "log WARN model loaded slowly")
            .expect("the line is written");
        let drawn_before = events[..log]
            .iter()
            .rposition(|e| e.starts_with("bar tracking"))
            .expect("the bar was drawn");
        assert!(
            events[drawn_before..log].iter().any(|e| e == "clear"),
            "the bar is cleared before the line: {events:?}"
        );
        assert!(
            events[log..].iter().any(|e| e.starts_with("bar tracking")),
            "the bar is drawn again below the line: {events:?}"
        );
        // With no bar shown, the line is simply written.
        let plain = Recorder::default();
        write_log(None, &mut plain.clone(), b"INFO x\n").unwrap();
        assert_eq!(plain.events(), ["log INFO x"]);
    }

    /// A reader that went away (`motiond extract … | true`) does not fail a report; another
    /// write error does.
    #[test]
    fn a_closed_stdout_does_not_fail_a_report() {
        struct Failing(std::io::ErrorKind);
        impl Write for Failing {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(self.0.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        report_to(&mut Failing(std::io::ErrorKind::BrokenPipe), "summary\n").unwrap();
        let full = report_to(&mut Failing(std::io::ErrorKind::StorageFull), "summary\n");
        assert!(full.is_err());
    }

    /// `extract` and `motions import` answer a refused input alike: the exit code comes from
    /// the error's chain, whatever context was added on the way.
    #[test]
    fn refused_inputs_exit_2_and_our_failures_1() {
        let no_person =
            anyhow::Error::from(ExtractError::NoPerson).context("extracting the motion");
        assert_eq!(
            CommandFailed::of("motiond motions import", &no_person).exit_code,
            2
        );
        let bad = anyhow::Error::from(ExtractError::BadInput("not a video file".into()));
        assert_eq!(CommandFailed::from_error(&bad).exit_code, 2);
        let bvh = anyhow::Error::from(CatalogError::Bvh(motion_capture::bvh::BvhError::NoFrames));
        assert_eq!(CommandFailed::from_error(&bvh).exit_code, 2);
        let unmatched = anyhow::Error::from(CatalogError::Retarget(
            motion_capture::bvh::UnmatchedSkeleton {
                missing: vec!["head (Head)".into()],
            },
        ));
        assert_eq!(CommandFailed::from_error(&unmatched).exit_code, 2);
        let refused = anyhow::Error::from(RefusedInput("neither".into()));
        assert_eq!(CommandFailed::from_error(&refused).exit_code, 2);
        for ours in [
            anyhow::Error::from(ExtractError::Internal("disk".into())),
            anyhow::Error::from(ExtractError::Cancelled),
            anyhow::anyhow!("listing official motions"),
        ] {
            assert_eq!(CommandFailed::from_error(&ours).exit_code, 1, "{ours}");
        }
        assert_eq!(exit_code(&ExtractError::NoPerson), 2);
        assert_eq!(exit_code(&ExtractError::Output("out: read-only".into())), 2);
        let failed = CommandFailed::of("motiond motions import", &no_person);
        assert_eq!(
            failed.message,
            "motiond motions import: extracting the motion: No person detected in the video (MOTION.PIC_NOT_MATCHED)"
        );
    }
}
