//! The `motiond` binary: one CLI for the service, the engine and the admin tasks.
//!
//! Each subcommand lives in its own module of the `motiond` library with its own `Args` and `run`.

use std::process::ExitCode;

use clap::Parser;

/// The API's reads build and drop many small strings and vectors per request (URLs, rows, JSON),
/// where glibc's malloc spent a third of the CPU time in its free-list upkeep; mimalloc's
/// thread-local pages make those allocations cheap.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<ExitCode> {
    // Errors are printed by us, as one line: no backtrace capture either.
    // SAFETY: as below, before any other thread exists.
    unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    // motiond runs offline and reports nothing: ONNX Runtime's telemetry is off before it loads.
    // SAFETY: set before the runtime starts, while this is the only thread, so nothing reads the
    // environment concurrently.
    unsafe { std::env::set_var(motion_capture::models::ORT_TELEMETRY_OFF_VAR, "1") };
    // An empty MOTIOND_CONFIG or MOTIOND_DATA_DIR means "not set", as the example file says
    // of every setting; clap took it for a value missing and refused to start.
    for var in motiond::cli::PATH_ENV_VARS {
        if std::env::var_os(var).is_some_and(|v| v.is_empty()) {
            // SAFETY: as above, before any other thread exists.
            unsafe { std::env::remove_var(var) };
        }
    }
    let cli = motiond::cli::Cli::parse();
    motiond::cli::init_tracing();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(cli.run());
    // Dropping the runtime waits for its blocking threads (model loading, trackers): the process
    // must not exit, and run native libraries' teardown, while one of them is still inside them.
    drop(runtime);
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            let failed = motiond::cli::CommandFailed::from_error(&e);
            eprintln!("{failed}");
            Ok(ExitCode::from(failed.exit_code))
        }
    }
}
