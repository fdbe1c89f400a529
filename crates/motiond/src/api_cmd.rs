//! `motiond api`: the HTTP API alone, for scaling out beside `motiond worker` processes on
//! one database and blob store.
//!
//! It accepts uploads (inspected here with ffprobe, and covers made with ffmpeg) and
//! admits tasks into the queue, which is rows in the database: a `worker` process claims
//! them. It runs no extraction, no callback delivery and no janitor, and does not need the
//! pose models (`/readyz` does not ask for them). Like `serve` it migrates the database on
//! start (under a lock, so processes may start together), prints `listening on <addr>`,
//! creates the admin user on the very first start, and drains on SIGTERM or Ctrl-C.
//!
//! Across processes, a submission reaches an idle worker through its poll
//! (`worker.poll_interval_ms`), and a cancellation reaches a running job through the worker's
//! lease check (every 0.4 s) rather than at once.

use tokio_util::task::TaskTracker;

use crate::app::{Role, build_app_for};
use crate::config::Sources;
use crate::serve::{
    ServeArgs, app_unless_stopped, bind_listener, serve_until_signal, watch_signals,
};

pub async fn run(sources: Sources, args: ServeArgs) -> anyhow::Result<()> {
    let (config, socket, bound) = bind_listener(sources, args).await?;
    let shutdown = watch_signals()?;
    let built = build_app_for(config, Role::Api, &shutdown).await;
    let Some(app) = app_unless_stopped(built, &shutdown)? else {
        return Ok(());
    };
    let tracker = TaskTracker::new();
    serve_until_signal(app, (socket, bound), shutdown, tracker, "motiond api").await
}
