//! Command-line definition and dispatch.
//!
//! Pattern: each subcommand adds ONE variant to [`Command`] and ONE match arm in [`Cli::run`]
//! that calls `your_module::run(args, …)`; the rest of its code stays in its own module.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{Config, Sources};

#[derive(Debug, Parser)]
#[command(name = "motiond", version, about = "Self-hosted motion capture: video in, animation out")]
pub struct Cli {
    /// Data directory (database, blobs, models). Defaults to $XDG_DATA_HOME/motiond.
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
    /// Configuration helpers.
    Config(crate::config_cmd::ConfigArgs),
    /// Model setup: fetch and convert the pinned BlazePose models.
    Models(crate::models_cmd::ModelsArgs),
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Config(args) => crate::config_cmd::run(args),
            Command::Models(args) => crate::models_cmd::run(args, self.data_dir, self.config).await,
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
    pub fn load_config(&self, extra_flags: Vec<(String, figment::value::Value)>) -> anyhow::Result<Config> {
        let mut sources = self.sources();
        sources.flags.extend(extra_flags);
        let loaded = Config::load(&sources)?;
        for w in &loaded.warnings {
            tracing::warn!("{w}");
        }
        Ok(loaded.config)
    }
}

/// Logs go to stderr so that commands like `token create` keep stdout for their result.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MOTIOND_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}
