#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for N seconds each (RELIABILITY.md, "Fuzzing").
#
#   scripts/fuzz.sh            # 20 s per target (scripts/test.sh runs 10 s: MOTIOND_FUZZ_SECONDS)
#   scripts/fuzz.sh 1800       # 30 min per target (nightly / by hand)
#   scripts/fuzz.sh 60 bvh_parse probe_json   # only these targets
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). The toolchain is stable, so targets
# are built with `--sanitizer none` (libFuzzer's coverage instrumentation works on stable;
# AddressSanitizer needs nightly `-Zsanitizer`). FUZZ_SANITIZER=address uses it where a
# nightly (or RUSTC_BOOTSTRAP=1) is acceptable.
#
# Seeds come from fuzz/seeds/<target>/ (plain text) and, for the BVH reader, the test clips in
# ../shared/testdata/bvh when present. The working corpus (fuzz/corpus/) and crash artifacts
# (fuzz/artifacts/) are not committed. Exit status: non-zero if any target found a crash, leak
# or timeout; the crashing input is left in fuzz/artifacts/<target>/.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
secs="${1:-20}"
shift || true
sanitizer="${FUZZ_SANITIZER:-none}"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz is missing: run 'cargo install cargo-fuzz --locked' (scripts/setup.sh does)" >&2
  exit 2
fi

cd "$repo/fuzz"
if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi

echo "==> building ${#targets[@]} fuzz targets (sanitizer: $sanitizer)" >&2
cargo fuzz build -s "$sanitizer" >&2

# Seeds for the BVH reader: the real clips, if the shared test data is there.
bvh_clips="$repo/../shared/testdata/bvh"

summary=()
failed=0
for t in "${targets[@]}"; do
  corpus="corpus/$t"
  mkdir -p "$corpus" "artifacts/$t"
  [ -d "seeds/$t" ] && cp -n "seeds/$t"/* "$corpus"/ 2>/dev/null || true
  if [ "$t" = bvh_parse ] && [ -d "$bvh_clips" ]; then
    cp -n "$bvh_clips"/*.bvh "$corpus"/ 2>/dev/null || true
  fi
  log="artifacts/$t/last-run.log"
  echo "==> $t for ${secs}s" >&2
  set +e
  # -timeout: one input taking over 10 s is a finding; -rss_limit_mb bounds memory per input.
  cargo fuzz run -s "$sanitizer" "$t" "$corpus" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="artifacts/$t/" >"$log" 2>&1
  rc=$?
  set -e
  runs="$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)"
  cov="$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')"
  size="$(find "$corpus" -type f | wc -l)"
  if [ "$rc" -eq 0 ]; then
    result=ok
  else
    result="FAILED (exit $rc, see fuzz/$log)"
    failed=1
    tail -40 "$log" >&2
  fi
  summary+=("$t: ${secs}s, ${runs:-?} runs, coverage ${cov:-?} edges, corpus $size, $result")
done

echo "==> fuzz summary" >&2
printf '%s\n' "${summary[@]}"
exit "$failed"
