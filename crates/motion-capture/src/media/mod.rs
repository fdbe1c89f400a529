//! Media I/O. Untrusted media is only ever touched by ffmpeg/ffprobe subprocesses started
//! through [`runner::FfCommand`], with the input format chosen by [`sniff`].
//!
//! - [`runner`]: the hardened subprocess runner (the only place that spawns ffmpeg/ffprobe).
//! - [`sniff`]: magic bytes → container family → forced demuxer.
//! - [`probe`]: ffprobe → [`probe::MediaInfo`]; cover frames.
//! - [`integrity`]: the rest of a probed file read through, so a truncated one is refused.
//! - [`decode`]: the rgb24 frame source with per-frame presentation times.
//! - [`yuv`]: ffmpeg's 4:2:0 → rgb24 arithmetic, so that frames can cross the pipe at half size.
//! - [`explain`]: plain words for a tool's refusal of a user's file.
//! - [`grid`]: source frames → frames of the analysis grid (§9.4).

pub mod decode;
pub mod encode;
pub mod explain;
pub mod grid;
pub mod integrity;
pub mod probe;
pub mod runner;
pub mod sniff;
pub mod yuv;

pub use decode::{DecodeOptions, EarlySource, FramePool, FrameSource};
pub use grid::{FrameGrid, Placement};
pub use integrity::check_complete;
pub use probe::{MediaInfo, extract_frame_jpeg, probe};
pub use runner::{FfCommand, Limits, MediaError, Progress, RawVideoInput, Running, Tool};
pub use sniff::{Container, sniff_file};
