//! Command-line definition and dispatch.
//!
//! Pattern: each subcommand adds ONE variant to [`Command`] and ONE match arm in [`Cli::run`]
//! that calls `your_module::run(args, …)`; the rest of its code stays in its own module.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{Config, Sources};

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

    /// Any other error of a command, as one line for a person: its context chain joined by
    /// ": " (a cause already quoted by the message before it is not repeated), never a
    /// backtrace, whatever `RUST_BACKTRACE` says. A configuration the user got wrong is a
    /// usage error (exit 2); the rest are ours or the system's (exit 1).
    pub fn from_error(err: &anyhow::Error) -> CommandFailed {
        if let Some(failed) = err.downcast_ref::<CommandFailed>() {
            return CommandFailed {
                message: failed.message.clone(),
                exit_code: failed.exit_code,
            };
        }
        let mut message = String::from("motiond");
        for cause in err.chain() {
            let text = cause.to_string();
            if !message.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
        }
        let usage = err.chain().any(|c| c.is::<crate::config::ConfigError>());
        CommandFailed {
            message,
            exit_code: if usage { 2 } else { 1 },
        }
    }
}

/// Logs go to stderr so that commands like `token create` keep stdout for their result.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MOTIOND_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: log files and pipes get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .init();
}
