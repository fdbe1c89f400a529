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
//! (`worker.poll_interval_ms`), and a cancellation reaches a running job through its next
//! heartbeat (every third of `worker.lease_ms`) rather than at once.

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::app::{Role, build_app_for};
use crate::config::Sources;
use crate::serve::{
    ServeArgs, announce, bind_listener, bootstrap_admin, serve_http, spawn_metrics_listener,
    wait_for_signal,
};

pub async fn run(sources: Sources, args: ServeArgs) -> anyhow::Result<()> {
    let (config, listener, bound) = bind_listener(sources, args).await?;
    let app = build_app_for(config, Role::Api).await?;
    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();
    let metrics_server = spawn_metrics_listener(&app, &shutdown, &tracker).await?;

    announce(&format!("listening on {bound}"));
    tracing::info!(%bound, public_url = %app.public_url, metrics = ?metrics_server, "motiond api is serving");
    bootstrap_admin(&app).await?;

    tokio::spawn(wait_for_signal(shutdown.clone()));
    serve_http(&app, listener, &shutdown).await?;
    app.mark_shutting_down();
    shutdown.cancel();

    tracker.close();
    tracker.wait().await;
    app.close().await;
    tracing::info!("motiond api stopped");
    Ok(())
}
