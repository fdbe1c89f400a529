//! Builds the web studio (`web/`, with vite) into `$OUT_DIR/studio`, where `src/studio.rs`
//! embeds it. The build runs again only when a studio source changes. The setup script runs
//! `npm ci` in `web/` first; without `web/node_modules` this fails with the command that fixes it.

use std::path::PathBuf;
use std::process::Command;

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
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("studio");
    let web = manifest.join("../../web");
    for input in INPUTS {
        println!("cargo:rerun-if-changed={}", web.join(input).display());
    }
    assert!(
        web.join("node_modules").is_dir(),
        "web/node_modules is missing, so the web studio cannot be built: run scripts/setup.sh (or `npm ci` in {})",
        web.display()
    );
    let status = Command::new("npm")
        .args(["run", "build", "--silent", "--", "--outDir"])
        .arg(&out)
        .arg("--emptyOutDir")
        .current_dir(&web)
        .status()
        .unwrap_or_else(|e| {
            panic!(
                "could not run npm in {}: {e} (is Node.js installed? run scripts/setup.sh)",
                web.display()
            )
        });
    assert!(
        status.success(),
        "`npm run build` in {} failed with {status}",
        web.display()
    );
    assert!(
        out.join("index.html").is_file(),
        "the web build wrote no index.html to {}",
        out.display()
    );
}
