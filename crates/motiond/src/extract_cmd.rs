//! `motiond extract VIDEO --out DIR [--model full]`: run the engine on one video.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use motion_capture::engine::{Engine, ExtractOptions, Progress, Stage};
use motion_capture::models::LandmarkModel;
use tokio_util::sync::CancellationToken;

use crate::cli::CommandFailed;
use crate::config::{Config, Sources};
use crate::serve::ShutdownSignals;

#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// The video (MP4/QuickTime, Matroska or WebM) of one person.
    pub video: PathBuf,
    /// Output directory: motion.bvh, motion.glb, landmarks.json, quality.json, bvh.zip,
    /// binary.zip, preview.mp4 and cover.jpg are written there.
    #[arg(long)]
    pub out: PathBuf,
    /// Landmark model: lite, full or heavy (lite/heavy need `motiond models fetch --model …`).
    #[arg(long, default_value = "full", value_name = "lite|full|heavy")]
    pub model: LandmarkModel,
    /// Skip preview.mp4 and cover.jpg.
    #[arg(long)]
    pub no_preview: bool,
}

pub async fn run(args: ExtractArgs, sources: Sources) -> anyhow::Result<()> {
    if args.out.exists() && !args.out.is_dir() {
        return Err(CommandFailed::usage(format!(
            "motiond extract: --out {} exists and is not a directory",
            args.out.display()
        ))
        .into());
    }
    let config = Config::load(&sources)?.config;
    // A failed or cancelled run removes the folder it created, so a refused input leaves
    // nothing behind; a folder the user had already is left as it was found otherwise.
    let out_is_ours = !args.out.exists();
    let mut opts = ExtractOptions::new(config.models_dir());
    opts.model = args.model;
    opts.preview = !args.no_preview;
    // Alone on the machine, the landmark model may use two cores (the worker keeps one per job).
    opts.load.landmark_threads = 2;
    // Ctrl-C, a kill or a closed terminal cancel the job, so its temporary folder (a copy of
    // the video) is removed and no ffmpeg outlives it.
    let cancel = CancellationToken::new();
    // The cancel takes milliseconds and cleans up (the job folder, ffmpeg); later signals are
    // absorbed rather than cutting that short.
    let mut signals = ShutdownSignals::install()?;
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        signals.received().await;
        on_signal.cancel();
    });
    // indicatif draws only when stderr is a terminal.
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg:10} {bar:30} {pos}/{len} frames")
            .context("progress style")?,
    );
    let shown = bar.clone();
    let result = Engine::extract(&args.video, &args.out, opts, cancel, move |p: Progress| {
        shown.set_message(stage_name(p.stage));
        shown.set_length(p.total.max(p.done));
        shown.set_position(p.done);
    })
    .await;
    bar.finish_and_clear();
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            if out_is_ours {
                let _ = std::fs::remove_dir_all(&args.out);
            }
            // Exit 2 for input the engine cannot use (not a video, no person), 1 for our faults.
            return Err(CommandFailed {
                message: format!("motiond extract: {e}"),
                exit_code: if e.is_bad_input() { 2 } else { 1 },
            }
            .into());
        }
    };
    println!(
        "{} frames, person found in {} ({:.0}%), {:.1} frames/s -> {}",
        report.frames,
        report.person_found_frames,
        report.person_found_ratio * 100.0,
        report.processing_fps,
        args.out.display()
    );
    Ok(())
}

fn stage_name(s: Stage) -> &'static str {
    match s {
        Stage::Probing => "probing",
        Stage::Tracking => "tracking",
        Stage::Solving => "solving",
        Stage::Exporting => "exporting",
        Stage::Preview => "preview",
    }
}
