//! Adapters from `motion-capture` to core's media ports.

pub mod extractor;
pub mod inspector;

pub use extractor::EngineExtractor;
pub use inspector::CaptureInspector;

/// Records every ffmpeg/ffprobe process of this program in
/// `motiond_subprocess_duration_seconds`, labelled `program` and `outcome` (contract §10.3),
/// through the capture runner's observer. Call it when composing the service; the first call
/// installs it, later ones change nothing.
pub fn record_subprocess_metrics() {
    motion_capture::media::runner::set_subprocess_observer(|tool, outcome, took| {
        metrics::histogram!(
            "motiond_subprocess_duration_seconds",
            "program" => tool.name(),
            "outcome" => outcome.label()
        )
        .record(took.as_secs_f64());
    });
}
