//! motiond: the composition root of the service.
//!
//! The binary (`main.rs`) only parses the command line and calls [`cli::Cli::run`]. Everything
//! else lives in this library so that in-process tests can build the very same application
//! with [`build_app`] that `motiond serve` runs.
//!
//! Subcommand modules are declared here (one `pub mod` line each) and dispatched from `cli.rs`.

pub mod admin_cmd;
pub mod api_cmd;
pub mod app;
pub mod cli;
pub mod config;
pub mod config_cmd;
pub mod extract_cmd;
pub mod models_cmd;
pub mod motions_cmd;
pub mod serve;
pub mod studio;
pub mod worker_cmd;

pub use app::{App, build_app};
pub use config::Config;
