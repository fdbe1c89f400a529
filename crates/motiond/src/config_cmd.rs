//! `motiond config defaults`: print the commented default configuration.

use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub action: ConfigAction,
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print the commented defaults (the content of `motiond.example.toml`).
    Defaults,
}

pub fn run(args: ConfigArgs) -> anyhow::Result<()> {
    match args.action {
        ConfigAction::Defaults => {
            // `motiond config defaults | head` stops reading early: no error then.
            crate::cli::print_report(crate::config::DEFAULTS_TOML)
        }
    }
}
