//! Command-line definition and dispatch.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "motiond", version, about = "Self-hosted motion capture: video in, animation out")]
pub struct Cli {
    /// Data directory (database, blobs, models). Defaults to $XDG_DATA_HOME/motiond.
    #[arg(long, global = true, env = "MOTIOND_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    // Subcommands are added here by the modules that implement them.
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        match self.command {}
    }
}

/// Logs go to stderr so that commands like `token create` keep stdout for their result.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MOTIOND_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}
