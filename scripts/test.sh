#!/usr/bin/env bash
# Sets everything up (system packages, Python and npm test tools, models, build) and runs every
# test: formatting, clippy, the Rust suites (unit, storage conformance, API, engine goldens,
# end-to-end with the real binary) and the browser tests of the studio.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

# One clean build, nothing to reuse: incremental state would only add ~1 GB of disk and link time
# (set CARGO_INCREMENTAL=1 when iterating on a change with this script).
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
scripts/setup.sh --test

# Where setup.sh fetched them (it honours MOTIOND_DATA_DIR), unless the caller chose a folder.
export MOTIOND_MODELS_DIR="${MOTIOND_MODELS_DIR:-${MOTIOND_DATA_DIR:-$repo/.data}/models}"
# ONNX Runtime loaded by the test binaries themselves (not through `motiond`) reports nothing either.
export ORT_DISABLE_TELEMETRY=1
export MOTIOND_TEST_PYTHON="$repo/.venv/bin/python"
export PATH="$repo/.venv/bin:$PATH"
export CI="${CI:-true}"

step() { printf '\n==> %s\n' "$*" >&2; }

# A full test build needs about 4 GB of disk (target/), the fuzz build 1.5 GB more: say what is free.
step "disk free: $(df -h --output=avail . | tail -1 | tr -d ' ')"
step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
step "cargo nextest (all crates)"
cargo nextest run --workspace --locked --no-fail-fast
if [ -f web/package.json ]; then
  step "studio browser tests"
  (cd web && MOTIOND_BIN="$repo/target/debug/motiond" npm run --silent test)
fi
step "fuzzing: every cargo-fuzz target briefly (scripts/fuzz.sh 1800 for a long run)"
scripts/fuzz.sh "${MOTIOND_FUZZ_SECONDS:-10}"
step "all tests passed"
