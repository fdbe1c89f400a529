//! End-to-end tests: the real `motiond` binary on 127.0.0.1:0 with a temp data dir, real
//! ffmpeg, real models (`MOTIOND_MODELS_DIR`) and the videos of `../shared/testdata/videos`.
//! One test binary; one module per story.

mod admin;
mod callbacks;
mod crashes;
mod harness;
mod kept_reads;
mod pipeline;
mod retention;
mod scaleout;
mod tenants;
