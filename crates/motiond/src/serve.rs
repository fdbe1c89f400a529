//! `motiond serve`: the API, the workers, the callback deliverer and the janitor in one
//! process.
//!
//! Start-up: bind, build the app (migrations), load the models, seed the catalog
//! (`catalog.seed`), start the
//! background loops, then print exactly one stdout line `listening on <addr>` (tests read the
//! port from it) and start answering. On the very first start an admin user is created and
//! its token printed once.
//!
//! Shutdown (SIGTERM or Ctrl-C) is one `CancellationToken` fanned out to everything:
//! `/readyz` turns to `shutting_down`; the HTTP server drains (bounded by
//! `server.shutdown_timeout_s`); the workers stop claiming and running jobs get
//! `worker.shutdown_grace_s` before they are cancelled and handed back; the deliverer finishes
//! its attempt; once the tracker is empty the pool closes and the process exits 0.
//!
//! `motiond api` and `motiond worker` (`api_cmd.rs`, `worker_cmd.rs`) are the two halves of
//! this process for scaling out; they share the helpers below.

use std::future::IntoFuture as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use motion_core::ports::UserStore;
use tokio::net::{TcpListener, TcpSocket};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::admin_cmd::create_token;
use crate::app::{App, Role, build_app_for};
use crate::cli::load_config;
use crate::config::{Config, Sources};

/// The user created on the first start.
pub const ADMIN_USER: &str = "admin";

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Listen address, ADDR:PORT (port 0 picks a free one). Overrides `server.listen`.
    #[arg(long)]
    pub listen: Option<String>,
}

pub async fn run(sources: Sources, args: ServeArgs) -> anyhow::Result<()> {
    let (config, socket, bound) = bind_listener(sources, args).await?;
    let shutdown = watch_signals()?;
    let built = build_app_for(config, Role::All, &shutdown).await;
    let Some(app) = app_unless_stopped(built, &shutdown)? else {
        return Ok(());
    };
    prepare_workers(&app).await?;
    if stopped_during_start(seed_catalog(&app, &shutdown).await, &shutdown)? {
        app.close().await;
        tracing::info!("motiond stopped before it served");
        return Ok(());
    }
    let tracker = TaskTracker::new();
    app.start_background(&shutdown, &tracker).await?;
    serve_until_signal(app, (socket, bound), shutdown, tracker, "motiond").await
}

/// Installs the signal handlers and returns the token their first signal cancels. Installed
/// before the start-up's work: a first start seeds the catalog for a minute, and a stop then
/// must be as graceful as later (the default action of SIGTERM is death, leaving the build's
/// temporary files).
pub(crate) fn watch_signals() -> anyhow::Result<CancellationToken> {
    let shutdown = CancellationToken::new();
    tokio::spawn(ShutdownSignals::install()?.wait(shutdown.clone()));
    Ok(shutdown)
}

/// The application built, or None when a signal stopped the start while it waited for another
/// process' migrations (see [`crate::app::open_store_unless_stopped`]); as in
/// [`stopped_during_start`], an error after the stop is the stop.
pub(crate) fn app_unless_stopped(
    built: anyhow::Result<App>,
    shutdown: &CancellationToken,
) -> anyhow::Result<Option<App>> {
    match built {
        Ok(app) => Ok(Some(app)),
        Err(e) if shutdown.is_cancelled() => {
            tracing::info!("stopped before it served: {e:#}");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Whether a start-up step ended because a signal stopped the start: then its error is the
/// stop, not a failure.
pub(crate) fn stopped_during_start(
    step: anyhow::Result<()>,
    shutdown: &CancellationToken,
) -> anyhow::Result<bool> {
    match step {
        Ok(()) => Ok(shutdown.is_cancelled()),
        Err(_) if shutdown.is_cancelled() => Ok(true),
        Err(e) => Err(e),
    }
}

/// The HTTP half shared by `serve` and `api`: metrics listener, the `listening on` line, the
/// first start's admin token, then requests until SIGINT/SIGTERM, a graceful drain, and the
/// wait for `tracker`'s background tasks.
/// `socket` starts listening here, once the start-up is over: until then a client is refused
/// at once rather than left waiting, and a TCP health check does not call it up (contract §10).
pub(crate) async fn serve_until_signal(
    app: App,
    (socket, bound): (TcpSocket, SocketAddr),
    shutdown: CancellationToken,
    tracker: TaskTracker,
    name: &str,
) -> anyhow::Result<()> {
    // Stopped during the start-up: never listen, announce or make the admin.
    if shutdown.is_cancelled() {
        app.close().await;
        tracing::info!("{name} stopped before it served");
        return Ok(());
    }
    let listener = socket
        .listen(LISTEN_BACKLOG)
        .with_context(|| format!("listen on {bound}"))?;
    let metrics_server = spawn_metrics_listener(&app, &shutdown, &tracker).await?;

    announce(&format!("listening on {bound}"));
    tracing::info!(%bound, public_url = %app.public_url, metrics = ?metrics_server, "{name} is serving");
    // A stop while it waits for the lock: the stop goes on below, as it would while serving.
    stopped_during_start(bootstrap_admin(&app, &shutdown).await, &shutdown)?;

    serve_http(&app, listener, &shutdown, &tracker).await?;
    app.mark_shutting_down();
    shutdown.cancel();

    tracker.close();
    tracker.wait().await;
    app.close().await;
    tracing::info!("{name} stopped");
    Ok(())
}

/// Pending connections the kernel queues for the listener (the usual `SOMAXCONN`).
const LISTEN_BACKLOG: u32 = 4096;

/// Loads the configuration (`--listen` wins) and binds the HTTP socket, without listening yet
/// ([`serve_until_signal`] does once the start-up is over): a taken address still fails at
/// once. The returned config's `server.listen` is the bound address, so that the public URL
/// follows the real port when port 0 was asked for.
pub(crate) async fn bind_listener(
    sources: Sources,
    args: ServeArgs,
) -> anyhow::Result<(Config, TcpSocket, SocketAddr)> {
    let mut flags = Vec::new();
    if let Some(listen) = args.listen {
        flags.push(("server.listen".to_owned(), listen.into()));
    }
    let mut config = load_config(sources, flags)?;
    let bind = || -> std::io::Result<TcpSocket> {
        // `server.listen` was checked to be ADDR:PORT when the configuration loaded.
        let addr: SocketAddr = config
            .server
            .listen
            .parse()
            .map_err(std::io::Error::other)?;
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        // As `TcpListener::bind` does: a restart need not wait out the last run's TIME_WAIT.
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        Ok(socket)
    };
    let socket = bind().with_context(|| format!("bind {}", config.server.listen))?;
    let bound = socket.local_addr()?;
    config.server.listen = bound.to_string();
    Ok((config, socket, bound))
}

/// Loads the pose models once, when this process runs workers: a missing or broken model
/// stops the start with a clear message instead of failing every task.
pub(crate) async fn prepare_workers(app: &App) -> anyhow::Result<()> {
    if app.config.worker.enabled {
        app.extractor
            .preload()
            .await
            .context("load the pose models")?;
    }
    Ok(())
}

/// `catalog.seed`: adds the bundled official motions that are missing; and, seeding or not,
/// rebuilds those an older version built in an older format (idempotent).
pub(crate) async fn seed_catalog(app: &App, shutdown: &CancellationToken) -> anyhow::Result<()> {
    let report = crate::motions_cmd::seed_app_catalog(app, shutdown)
        .await
        .context("seed the motion catalog")?;
    if !report.added.is_empty() || !report.rebuilt.is_empty() {
        tracing::info!(
            added = report.added.len(),
            present = report.present,
            rebuilt = report.rebuilt.len(),
            "seeded the official motion catalog"
        );
    }
    Ok(())
}

/// One line on stdout, flushed at once (stdout is a pipe under tests).
pub(crate) fn announce(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// First start: create the admin user and print its token, once.
pub(crate) async fn bootstrap_admin(app: &App, stop: &CancellationToken) -> anyhow::Result<()> {
    if !app.config.server.bootstrap_admin {
        return Ok(());
    }
    // Two processes starting together on a fresh data directory each found no admin and each
    // printed a token: the look and the creation are one step under the start-up lock.
    let _one_at_a_time = crate::app::start_up_lock(&app.config, stop).await?;
    if app
        .store
        .user_by_name(ADMIN_USER)
        .await
        .context("look up the admin user")?
        .is_some()
    {
        return Ok(());
    }
    let token = create_token(&app.config, &app.store, ADMIN_USER).await?;
    announce(&format!("admin token: {token}"));
    eprintln!(
        "created user \"{ADMIN_USER}\"; its token was printed once on stdout (motiond token create makes more)"
    );
    Ok(())
}

/// Serves until `shutdown` and the background work on `tracker` (the workers handing their
/// jobs back, the deliverer) has ended, so that `/healthz` answers and `/readyz` says
/// `shutting_down` for the whole stop, as load balancers and process managers expect
/// (contract §10.1, §10.2); then drains open requests for at most `server.shutdown_timeout_s`.
pub(crate) async fn serve_http(
    app: &App,
    listener: TcpListener,
    shutdown: &CancellationToken,
    tracker: &TaskTracker,
) -> anyhow::Result<()> {
    let service = app
        .router
        .clone()
        .into_make_service_with_connect_info::<SocketAddr>();
    let stop_accepting = CancellationToken::new();
    let stop = stop_accepting.clone();
    let server = axum::serve(listener, service)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .into_future();
    tokio::pin!(server);
    tokio::select! {
        r = &mut server => return r.context("HTTP server"),
        _ = shutdown.cancelled() => app.mark_shutting_down(),
    }
    tracker.close();
    tokio::select! {
        r = &mut server => return r.context("HTTP server"),
        () = tracker.wait() => stop_accepting.cancel(),
    }
    let drain_limit = Duration::from_secs(app.config.server.shutdown_timeout_s);
    match tokio::time::timeout(drain_limit, server).await {
        Ok(r) => r.context("HTTP server"),
        Err(_) => {
            tracing::warn!(
                ?drain_limit,
                "requests still open after the drain limit; closing them"
            );
            Ok(())
        }
    }
}

/// A token cancelled by the first SIGINT, SIGTERM or SIGHUP, for a command that does one job and
/// ends (`extract`, `motions import`, `motions seed`): the job's cancel cleans up in
/// milliseconds (its temporary folder, ffmpeg), and later signals are absorbed rather than
/// cutting that short. Without it a SIGTERM killed the command by the default action, leaving
/// the job's folder.
pub(crate) fn cancel_on_signals() -> anyhow::Result<CancellationToken> {
    let mut signals = ShutdownSignals::install()?;
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        signals.received().await;
        on_signal.cancel();
    });
    Ok(cancel)
}

/// The SIGINT, SIGTERM and SIGHUP listeners of a long-running subcommand. They are installed
/// when made, so make them before announcing readiness: a signal sent right after the ready line
/// must find them (until then the default action applies, and that is death, not a graceful
/// stop: no clean-up of temporary files, no drain).
pub(crate) struct ShutdownSignals {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    /// The terminal went away (a closed SSH session): stop as gracefully as on the others.
    #[cfg(unix)]
    hangup: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    pub(crate) fn install() -> anyhow::Result<ShutdownSignals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(ShutdownSignals {
                terminate: signal(SignalKind::terminate()).context("listen for SIGTERM")?,
                interrupt: signal(SignalKind::interrupt()).context("listen for SIGINT")?,
                hangup: signal(SignalKind::hangup()).context("listen for SIGHUP")?,
            })
        }
        #[cfg(not(unix))]
        Ok(ShutdownSignals {})
    }

    /// Waits for the first signal, then cancels `shutdown`. A second SIGINT or SIGTERM while the
    /// graceful stop runs (an operator who will not wait for running jobs) ends the process at
    /// once: accepted tasks are safe in the database and their leases lapse, so the next start
    /// (or another worker) picks them up. SIGHUP never does, and neither does a signal within
    /// [`SECOND_SIGNAL_AFTER`] of the first: one stop often arrives as two (a closed terminal
    /// sends SIGHUP to the job and again through the shell; a process manager forwards the
    /// terminal's SIGINT as a SIGTERM).
    pub(crate) async fn wait(mut self, shutdown: CancellationToken) {
        self.received().await;
        let first = std::time::Instant::now();
        tracing::info!("shutdown requested (SIGINT or SIGTERM again stops at once)");
        shutdown.cancel();
        tokio::spawn(async move {
            loop {
                self.stop_requested().await;
                if first.elapsed() >= SECOND_SIGNAL_AFTER {
                    exit_at_once();
                }
            }
        });
    }

    /// Waits for the next SIGINT or SIGTERM (not SIGHUP).
    async fn stop_requested(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.terminate.recv() => {}
            _ = self.interrupt.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }

    /// Waits for the next signal.
    pub(crate) async fn received(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.terminate.recv() => {}
            _ = self.interrupt.recv() => {}
            _ = self.hangup.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// How long after the first signal another one counts as a second request to stop.
pub(crate) const SECOND_SIGNAL_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// The second signal's way out: no drain, no clean-up, exit status 130 (interrupted). `_exit`,
/// not `exit`: the native libraries' static destructors (ONNX Runtime) must not run while their
/// threads are still busy. The media subprocesses end on their own when their pipes close.
fn exit_at_once() -> ! {
    eprintln!("motiond: second signal, stopping now without waiting for running work");
    // SAFETY: `_exit` only ends the process; nothing of this process runs after it.
    unsafe { libc::_exit(130) }
}

/// `/metrics` on its own listener when `metrics.listen` is set.
pub(crate) async fn spawn_metrics_listener(
    app: &App,
    shutdown: &CancellationToken,
    tracker: &TaskTracker,
) -> anyhow::Result<Option<SocketAddr>> {
    let m = &app.config.metrics;
    if !m.enabled || m.listen.is_empty() {
        return Ok(None);
    }
    let listener = TcpListener::bind(&m.listen)
        .await
        .with_context(|| format!("bind metrics.listen {}", m.listen))?;
    let addr = listener.local_addr()?;
    let handle = motion_api::observe::prometheus_handle();
    let router = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let handle = handle.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    handle.render(),
                )
            }
        }),
    );
    let sd = shutdown.clone();
    tracker.spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async move { sd.cancelled().await })
            .await;
    });
    Ok(Some(addr))
}
