//! Builds the web studio (`web/` → `web/dist`) when it is missing or older than its sources, so
//! that `src/studio.rs` can embed it. The setup script runs `npm ci` in `web/` first; without
//! `web/node_modules` the build cannot run and fails with the command that fixes it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// Inputs of the web build, relative to `web/`.
const INPUTS: [&str; 6] = [
    "src",
    "public",
    "index.html",
    "vite.config.js",
    "package.json",
    "package-lock.json",
];

fn main() {
    let manifest =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let web = manifest.join("../../web");
    for input in INPUTS {
        println!("cargo:rerun-if-changed={}", web.join(input).display());
    }
    println!(
        "cargo:rerun-if-changed={}",
        web.join("dist/index.html").display()
    );
    println!("cargo:rerun-if-env-changed=MOTIOND_SKIP_WEB_BUILD");

    let index = web.join("dist/index.html");
    let built = modified(&index);
    let newest_input = INPUTS.iter().filter_map(|i| newest(&web.join(i))).max();
    let stale = match (built, newest_input) {
        (None, _) => true,
        (Some(built), Some(input)) => input > built,
        (Some(_), None) => false,
    };
    if !stale {
        return;
    }
    if std::env::var_os("MOTIOND_SKIP_WEB_BUILD").is_some() && built.is_some() {
        println!(
            "cargo:warning=web/dist is older than web/ sources (MOTIOND_SKIP_WEB_BUILD is set)"
        );
        return;
    }
    if !web.join("node_modules").is_dir() {
        if built.is_some() {
            println!(
                "cargo:warning=web/dist is stale and web/node_modules is missing: run `npm ci` in web/ (scripts/setup.sh)"
            );
            return;
        }
        panic!(
            "the web studio is not built and web/node_modules is missing: run scripts/setup.sh (or `npm ci && npm run build` in web/)"
        );
    }
    let status = Command::new("npm")
        .args(["run", "build", "--silent"])
        .current_dir(&web)
        .status()
        .unwrap_or_else(|e| panic!("could not run `npm run build` in {}: {e} (is Node.js installed? run scripts/setup.sh)", web.display()));
    assert!(
        status.success(),
        "`npm run build` in {} failed with {status}",
        web.display()
    );
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The newest modification time of a file, or of any file below a directory.
fn newest(path: &Path) -> Option<SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    std::fs::read_dir(path)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| newest(&entry.path()))
        .max()
}
