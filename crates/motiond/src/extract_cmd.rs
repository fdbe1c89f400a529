//! `motiond extract VIDEO --out DIR [--model full]`: run the engine on one video.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use motion_capture::engine::{Engine, ExtractOptions, Progress, Stage};
use motion_capture::models::LandmarkModel;

use crate::cli::{CommandFailed, print_report};
use crate::config::{Config, Sources};
use crate::serve::cancel_on_signals;

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
    /// Skip preview.mp4 and cover.jpg (an earlier run's in --out are removed: they would not
    /// show this motion).
    #[arg(long)]
    pub no_preview: bool,
}

pub async fn run(args: ExtractArgs, sources: Sources) -> anyhow::Result<()> {
    // Not followed: a link to nowhere is no folder to write into (nor one to remove).
    if std::fs::symlink_metadata(&args.out).is_ok() && !args.out.is_dir() {
        return Err(CommandFailed::usage(format!(
            "motiond extract: --out {} exists and is not a directory",
            args.out.display()
        ))
        .into());
    }
    let config = Config::load(&sources)?.config;
    // A failed or cancelled run removes the folders it created (`--out` and any missing
    // parents), so a refused input leaves nothing behind; folders the user had already are
    // left as they were found.
    let created = first_missing(&args.out);
    let mut opts = ExtractOptions::new(config.models_dir());
    opts.model = args.model;
    opts.preview = !args.no_preview;
    // Alone on the machine, the landmark model may use two cores (the worker keeps one per job).
    opts.load.landmark_threads = 2;
    // Ctrl-C, a kill or a closed terminal cancel the job, so its temporary folder (a copy of
    // the video) is removed and no ffmpeg outlives it.
    let cancel = cancel_on_signals()?;
    // indicatif draws only when stderr is a terminal.
    let bar = StageBar::new(ProgressBar::new(0))?;
    if !bar.bar.is_hidden() {
        // The spinner of a stage without counts turns while the stage takes its time.
        bar.bar.enable_steady_tick(Duration::from_millis(120));
    }
    let logs = crate::cli::logs_above(&bar.bar);
    let result = Engine::extract(&args.video, &args.out, opts, cancel, |p: Progress| {
        bar.show(p)
    })
    .await;
    bar.bar.finish_and_clear();
    drop(logs);
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            if let Some(top) = created {
                remove_created(&args.out, &top);
            }
            // Exit 2 for input the engine cannot use (not a video, no person), 1 for our faults.
            return Err(CommandFailed {
                message: format!("motiond extract: {e}"),
                exit_code: crate::cli::exit_code(&e),
            }
            .into());
        }
    };
    print_report(&format!(
        "{} frames, person found in {} ({:.0}%), {:.1} frames/s -> {}\n",
        report.frames,
        report.person_found_frames,
        report.person_found_ratio * 100.0,
        report.processing_fps,
        args.out.display()
    ))
}

/// The topmost folder of `out` that does not exist yet (`out` itself, or a missing parent of
/// it), which the run will create; `None` when `out` is there already, be it a link.
fn first_missing(out: &Path) -> Option<PathBuf> {
    let mut missing = None;
    let mut path = out;
    // A link, even one to nowhere, exists: nothing is created in its place, nor removed. So
    // does what cannot be looked at (no permission): it is not ours to remove either.
    let absent = |path: &Path| {
        std::fs::symlink_metadata(path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
    };
    while absent(path) {
        missing = Some(path.to_path_buf());
        match path.parent() {
            // A relative path's last parent is "": the current folder, which exists.
            Some(parent) if !parent.as_os_str().is_empty() => path = parent,
            _ => break,
        }
    }
    missing
}

/// Removes the folders this run created, `out` up to `top`: `out` with what is inside (a
/// failed run leaves nothing of its own there), its parents only while they are empty (another
/// run started beside this one, `--out res/b` beside `--out res/a`, may have put its results
/// in them). A link found in a folder's place (made by someone else meanwhile) is left alone,
/// and so is what it points to. Best effort: the run's own error is the one to report.
fn remove_created(out: &Path, top: &Path) {
    let is_folder = |path: &Path| std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir());
    if is_folder(out) {
        let _ = std::fs::remove_dir_all(out);
    }
    let mut parent = out.parent();
    while let Some(folder) = parent.filter(|p| p.starts_with(top)) {
        if !is_folder(folder) || std::fs::remove_dir(folder).is_err() {
            break;
        }
        parent = folder.parent();
    }
}

/// The progress bar of a run: one line that shows each stage as it comes.
struct StageBar {
    bar: ProgressBar,
    /// How the line is drawn now, changed with the stage.
    shown: Mutex<Option<Kind>>,
    styles: [ProgressStyle; 3],
}

/// The three ways the line is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A stage without frames to count: a spinner and its name.
    Stage,
    /// Frames against a known total: a bar, `done/total frames`.
    Counted,
    /// Frames of a video whose frame count is not known (a WebM without a duration): a
    /// spinner and `done frames`.
    Uncounted,
}

impl Kind {
    fn template(self) -> &'static str {
        match self {
            Kind::Stage => "{spinner} {msg}",
            Kind::Counted => "{spinner} {msg:10} {bar:30} {pos}/{len} frames",
            Kind::Uncounted => "{spinner} {msg:10} {pos} frames",
        }
    }
}

/// What the line shows for one progress report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct View {
    kind: Kind,
    stage: &'static str,
    done: u64,
    /// The bar's length, for [`Kind::Counted`].
    total: u64,
}

impl View {
    fn of(p: Progress) -> View {
        let stage = stage_name(p.stage);
        let kind = match (p.stage, p.total) {
            (Stage::Tracking, 0) => Kind::Uncounted,
            (Stage::Tracking, _) => Kind::Counted,
            _ => Kind::Stage,
        };
        View {
            kind,
            stage,
            done: p.done,
            // The total is the probe's estimate: a video may have a few frames more.
            total: p.total.max(p.done),
        }
    }
}

impl StageBar {
    fn new(bar: ProgressBar) -> anyhow::Result<StageBar> {
        let style =
            |kind: Kind| ProgressStyle::with_template(kind.template()).context("progress style");
        let styles = [
            style(Kind::Stage)?,
            style(Kind::Counted)?,
            style(Kind::Uncounted)?,
        ];
        let stage_bar = StageBar {
            bar,
            shown: Mutex::new(None),
            styles,
        };
        // Drawn before the engine's first report: the video is being looked at.
        stage_bar.show(Progress {
            stage: Stage::Probing,
            done: 0,
            total: 0,
        });
        Ok(stage_bar)
    }

    fn show(&self, p: Progress) {
        let view = View::of(p);
        let mut shown = self.shown.lock().unwrap_or_else(PoisonError::into_inner);
        let changes = *shown != Some(view.kind);
        if changes && shown.is_some() {
            // The line as the last stage left it (its final count) is drawn before it changes,
            // whatever the refresh rate skipped.
            self.bar.force_draw();
        }
        *shown = Some(view.kind);
        // Every update draws (at the refresh rate), so each draw on the way must be true: a
        // line without counts gets its name first, a line with counts gets them first.
        if view.kind == Kind::Stage {
            self.restyle(changes, view);
            self.set_counts(view);
        } else {
            self.set_counts(view);
            self.restyle(changes, view);
        }
    }

    fn restyle(&self, changes: bool, view: View) {
        if changes {
            let index = match view.kind {
                Kind::Stage => 0,
                Kind::Counted => 1,
                Kind::Uncounted => 2,
            };
            self.bar.set_style(self.styles[index].clone());
        }
        self.bar.set_message(view.stage);
    }

    fn set_counts(&self, view: View) {
        match view.kind {
            Kind::Counted => self.bar.set_length(view.total),
            Kind::Stage | Kind::Uncounted => self.bar.unset_length(),
        }
        self.bar.set_position(view.done);
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::tests::Recorder;

    /// `--out res/a` failed while a run beside it (`--out res/b`, started while `res` was
    /// missing, so both count `res` as their own) has put its results in `res`.
    #[test]
    fn a_failed_run_leaves_a_created_parent_that_another_run_has_filled() {
        let dir = tempfile::tempdir().unwrap();
        let (res, out) = (dir.path().join("res"), dir.path().join("res/a"));
        std::fs::create_dir_all(&out).unwrap();
        std::fs::create_dir_all(res.join("b")).unwrap();
        std::fs::write(res.join("b/motion.bvh"), "the other run's").unwrap();
        remove_created(&out, &res);
        assert!(!out.exists());
        assert!(res.join("b/motion.bvh").is_file());

        std::fs::remove_dir_all(res.join("b")).unwrap();
        std::fs::create_dir_all(&out).unwrap();
        remove_created(&out, &res);
        assert!(!res.exists(), "an empty folder of the run's own is removed");
    }

    fn progress(stage: Stage, done: u64, total: u64) -> Progress {
        Progress { stage, done, total }
    }

    /// A WebM read from a pipe has no duration, so no frame total: a spinner counts its frames
    /// rather than a bar that is always full (`13/13`, `14/14`…).
    #[test]
    fn an_unknown_total_counts_frames_without_a_bar() {
        let view = View::of(progress(Stage::Tracking, 13, 0));
        assert_eq!(view.kind, Kind::Uncounted);
        let template = view.kind.template();
        assert!(template.contains("{pos} frames"), "{template}");
        assert!(
            !template.contains("{len}") && !template.contains("{bar"),
            "{template}"
        );
        // A known total gets the bar; an estimate that falls short is stretched.
        let view = View::of(progress(Stage::Tracking, 13, 65));
        assert_eq!((view.kind, view.done, view.total), (Kind::Counted, 13, 65));
        assert_eq!(View::of(progress(Stage::Tracking, 70, 65)).total, 70);
    }

    /// The stages that count no frames show their name only, never `0/1 frames`.
    #[test]
    fn stages_without_frames_show_no_counts() {
        for stage in [
            Stage::Probing,
            Stage::Solving,
            Stage::Exporting,
            Stage::Preview,
        ] {
            let view = View::of(progress(stage, 0, 1));
            assert_eq!(view.kind, Kind::Stage, "{stage:?}");
            assert!(!view.kind.template().contains("{pos}"), "{stage:?}");
        }
    }

    /// What a whole run draws: the first draw is the probe's name (no `0/0 frames`), and the
    /// last frame count is drawn before the next stage replaces it, however quickly the
    /// reports came (the refresh rate skips most of them).
    #[test]
    fn the_final_frame_count_is_drawn_and_no_stage_shows_a_false_count() {
        let term = Recorder::default();
        let bar = StageBar::new(ProgressBar::with_draw_target(Some(0), term.target())).unwrap();
        for done in 0..=60 {
            bar.show(progress(Stage::Tracking, done, 60));
        }
        bar.show(progress(Stage::Solving, 0, 1));
        bar.show(progress(Stage::Exporting, 0, 1));
        bar.bar.force_draw();
        let drawn: Vec<String> = term
            .events()
            .into_iter()
            .filter(|e| e.strip_prefix("bar ").is_some_and(|l| !l.trim().is_empty()))
            .collect();
        assert!(drawn[0].contains("probing"), "{drawn:?}");
        assert!(
            drawn.iter().any(|e| e.contains("60/60 frames")),
            "{drawn:?}"
        );
        for line in &drawn {
            assert!(
                !line.contains("0/0") && !line.contains("/1 frames"),
                "{line:?} in {drawn:?}"
            );
        }
        let last = drawn.last().unwrap();
        assert!(
            last.contains("exporting") && !last.contains("frames"),
            "{last}"
        );
    }
}
