#!/usr/bin/env bash
# Sets everything up and starts motiond on the embedded default (SQLite + local files) at
# http://127.0.0.1:8080. The first start prints the admin token and seeds the motion catalog.
#
# Settings: MOTIOND_DATA_DIR (default ./.data), MOTIOND_LISTEN (default 127.0.0.1:8080),
# and any MOTIOND_<SECTION>__<KEY> variable (see `motiond config defaults`).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export MOTIOND_DATA_DIR="${MOTIOND_DATA_DIR:-$repo/.data}"
scripts/setup.sh --release
exec target/release/motiond serve --listen "${MOTIOND_LISTEN:-127.0.0.1:8080}"
