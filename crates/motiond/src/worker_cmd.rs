//! `motiond worker`: the extraction workers, the callback deliverer and the janitor, with no
//! public HTTP listener, for scaling out beside `motiond api` processes on one database and
//! blob store.
//!
//! Start-up: migrate the database (under a lock, like every process), load the pose models,
//! seed the official catalog (`catalog.seed`; idempotent, and one process at a time),
//! start the background loops, then print exactly one stdout line `worker ready` (tests wait
//! for it). `/metrics` is served only when `metrics.listen` is set.
//!
//! Unlike `serve`, a worker does not take back at start the tasks that other boots left
//! running: they may belong to live workers. A dead worker's task returns to the queue when
//! its lease expires (`worker.lease_ms`) and the next janitor pass of any worker reaps it.
//!
//! Shutdown (SIGTERM or Ctrl-C): the workers stop claiming, running jobs get
//! `worker.shutdown_grace_s` and are then cancelled and handed back, the deliverer finishes
//! its attempt, and the process exits 0.

use clap::Args;
use tokio_util::task::TaskTracker;

use crate::app::{Role, build_app_for};
use crate::cli::load_config;
use crate::config::Sources;
use crate::serve::{
    announce, app_unless_stopped, prepare_workers, seed_catalog, spawn_metrics_listener,
    stopped_during_start, watch_signals,
};

/// The stdout line printed once the worker runs.
pub const READY_LINE: &str = "worker ready";

#[derive(Debug, Args)]
pub struct WorkerArgs {}

pub async fn run(sources: Sources, _args: WorkerArgs) -> anyhow::Result<()> {
    let config = load_config(sources, Vec::new())?;
    if config.server.public_url.is_empty() && config.webhooks.enabled {
        // Callback bodies carry result URLs, and a worker has no listener of its own.
        tracing::warn!(
            listen = %config.server.listen,
            "server.public_url is empty: callback bodies will use URLs built from server.listen; \
             set server.public_url to the address clients use for the API"
        );
    }
    // Signals are watched from here on: a stop while this process waits for another's
    // migrations or seeds the catalog is as graceful as later.
    let shutdown = watch_signals()?;
    let built = build_app_for(config, Role::Worker, &shutdown).await;
    let Some(app) = app_unless_stopped(built, &shutdown)? else {
        return Ok(());
    };
    prepare_workers(&app).await?;
    if stopped_during_start(seed_catalog(&app, &shutdown).await, &shutdown)? {
        app.close().await;
        tracing::info!("motiond worker stopped before it ran");
        return Ok(());
    }
    let tracker = TaskTracker::new();
    app.start_background(&shutdown, &tracker).await?;
    let metrics_server = spawn_metrics_listener(&app, &shutdown, &tracker).await?;

    announce(READY_LINE);
    tracing::info!(
        slots = app.config.worker.slots(),
        public_url = %app.public_url,
        metrics = ?metrics_server,
        "motiond worker is running"
    );

    shutdown.cancelled().await;
    app.mark_shutting_down();
    tracker.close();
    tracker.wait().await;
    app.close().await;
    tracing::info!("motiond worker stopped");
    Ok(())
}
