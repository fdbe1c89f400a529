//! In-process API tests: the real composition (`motiond::build_app`, SQLite and a
//! blob folder in a temp dir, real ffprobe/ffmpeg for uploads), driven through the
//! router with `tower::ServiceExt::oneshot`. One module per feature.

mod helpers;

mod accounts;
mod assets;
mod auth;
mod files;
mod isolation;
mod motions;
mod ops;
mod results;
mod routing;
mod scheduler;
mod tasks;
