#!/usr/bin/env bash
# Sets up everything motiond needs on a fresh Debian/Ubuntu machine with Rust and Python 3:
# system packages, the Python tools, the npm packages, the build, and the pose models.
#
#   scripts/setup.sh [--release] [--test]
#
# --release  builds the optimised binary (what `scripts/start.sh` runs)
# --test     also installs what the test suites need (Python and npm test tools, chromium)
#
# Idempotent: every step checks what is already there.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

profile=dev
with_tests=0
for arg in "$@"; do
  case "$arg" in
    --release) profile=release ;;
    --test) with_tests=1 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

step() { printf '\n==> %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_system_packages() {
  local wanted=(ffmpeg unzip ca-certificates)
  [ "$with_tests" -eq 1 ] && wanted+=(chromium sqlite3 curl)
  local missing=()
  for pkg in "${wanted[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
  if [ ${#missing[@]} -gt 0 ]; then
    step "installing system packages: ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

install_python_tools() {
  [ -x .venv/bin/python ] || { step "creating .venv"; python3 -m venv .venv; }
  local stamp=.venv/.requirements.sha256 want
  want=$(sha256sum scripts/requirements-test.txt | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    step "installing Python test tools (scripts/requirements-test.txt)"
    .venv/bin/python -m pip install -q --disable-pip-version-check -r scripts/requirements-test.txt
    echo "$want" > "$stamp"
  fi
}

install_npm_packages() {
  local dir
  for dir in web tools/js; do
    [ -f "$dir/package-lock.json" ] || continue
    if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
      step "npm ci in $dir"
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
  done
  # The studio itself is built by crates/motiond/build.rs into cargo's OUT_DIR and embedded.
}

build_rust() {
  step "cargo build ($profile)"
  if [ "$profile" = release ]; then
    cargo build --release --locked -p motiond
  else
    cargo build --locked -p motiond
  fi
}

fetch_models() {
  local bin="target/debug/motiond"
  [ "$profile" = release ] && bin="target/release/motiond"
  step "fetching the pose models into ${MOTIOND_DATA_DIR:-$repo/.data}/models"
  "$bin" models fetch --data-dir "${MOTIOND_DATA_DIR:-$repo/.data}"
}

install_cargo_tools() {
  if ! cargo nextest --version >/dev/null 2>&1; then
    step "installing cargo-nextest"
    cargo install --locked cargo-nextest
  fi
  if ! cargo fuzz --version >/dev/null 2>&1; then
    step "installing cargo-fuzz"
    cargo install --locked cargo-fuzz
  fi
}

install_system_packages
if [ "$with_tests" -eq 1 ]; then
  install_python_tools
  install_cargo_tools
fi
install_npm_packages
build_rust
fetch_models
step "setup complete"
