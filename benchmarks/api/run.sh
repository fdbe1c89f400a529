#!/usr/bin/env bash
# API speed benchmark (issue 3): reads against /healthz on the same server in the same run, and a
# 50 MB video upload's throughput and server memory growth. Prints a Markdown section and, with
# --write, puts it between the api markers of BENCHMARKS.md.
#
#   benchmarks/api/run.sh [--write]     (builds motiond --release unless MOTIOND_BIN is set)
#
# Needs: wrk (Debian) or oha, sqlite3, curl, ffmpeg; the models in $MOTIOND_MODELS_DIR (default .data/models).
# Env: DURATION (s per read run, default 10), CONNECTIONS (default 16), MOTIONS (default 10000).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
here=$repo/benchmarks/api
cd "$repo"
duration=${DURATION:-10}
conns=${CONNECTIONS:-16}
motions=${MOTIONS:-10000}
if [ -z "${MOTIOND_BIN:-}" ]; then
  cargo build --release --locked -p motiond
  MOTIOND_BIN=$repo/target/release/motiond
fi
if command -v wrk >/dev/null; then tool=wrk
elif command -v oha >/dev/null; then tool=oha
else echo "run.sh: needs wrk (apt-get install -y wrk) or oha (cargo install oha --locked); see scripts/setup.sh" >&2; exit 2
fi

tmp=$(mktemp -d)
pid=
stop() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=; fi; }
trap 'stop; rm -rf "$tmp"' EXIT
data=$tmp/data

start() {
  : >"$tmp/stdout"
  MOTIOND_LIMITS__TOKEN_RPS=0 MOTIOND_CATALOG__SEED=false MOTIOND_LOG=warn \
  MOTIOND_MODELS_DIR=${MOTIOND_MODELS_DIR:-$repo/.data/models} \
    "$MOTIOND_BIN" serve --listen 127.0.0.1:0 --data-dir "$data" >"$tmp/stdout" 2>>"$tmp/server.log" &
  pid=$!
  addr=
  for _ in $(seq 1 600); do
    addr=$(sed -n 's/^listening on //p' "$tmp/stdout" | head -1)
    [ -n "$addr" ] && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$tmp/server.log" >&2; exit 2; }
    sleep 0.1
  done
  echo "run.sh: server did not start" >&2; exit 2
}

# 1. Account and token through the API, then 10,000 motions straight into SQLite (server stopped).
start
token=$("$MOTIOND_BIN" token create --user bench --data-dir "$data")
auth="Authorization: Bearer $token"
curl -fsS -o /dev/null -H "$auth" -H 'Content-Type: application/json' \
  -d '{"email":"bench@example.com","maxJobs":5}' "http://$addr/v1/kling/accounts"
stop
account=$(sqlite3 "$data/motiond.db" "SELECT id FROM accounts WHERE email = 'bench@example.com'")
now_ms=$(($(date +%s) * 1000))
sqlite3 "$data/motiond.db" <<SQL
CREATE TEMP TABLE seed_params (account_id INTEGER, base_id INTEGER, base_time INTEGER, count INTEGER);
INSERT INTO seed_params VALUES ($account, 1000000000000, $now_ms - 100000, $motions);
.read $here/seed.sql
SQL
start
base=http://$addr
page=$(curl -fsS -H "$auth" "$base/v1/kling/videos/motions?mine=true&pageNum=1&pageSize=40")
count=$(printf '%s' "$page" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d))')
task_id=$((1000000000000 + motions / 2))
curl -fsS -o /dev/null -H "$auth" "$base/v1/kling/tasks/$task_id"

# 2. Reads: each a warm-up then a timed run; the same server and settings for all three.
load() { # URL [auth] -> "rps p99_ms"
  local url=$1 hdr=${2:-}
  if [ "$tool" = wrk ]; then
    local args=(-t2 -c"$conns" -s "$here/report.lua")
    [ -n "$hdr" ] && args+=(-H "$hdr")
    wrk "${args[@]}" -d2s "$url" >/dev/null
    wrk "${args[@]}" -d"${duration}s" "$url" | sed -n 's/^RESULT rps=\([0-9.]*\) p99_ms=\([0-9.]*\).*errors=\([0-9]*\)/\1 \2 \3/p'
  else
    local args=(--no-tui -c "$conns" --output-format json)
    [ -n "$hdr" ] && args+=(-H "$hdr")
    oha "${args[@]}" -z 2s "$url" >/dev/null
    oha "${args[@]}" -z "${duration}s" "$url" | python3 -c '
import json, sys
d = json.load(sys.stdin)
codes = d.get("statusCodeDistribution", {})
bad = sum(v for k, v in codes.items() if k != "200")
rps = d["summary"]["requestsPerSec"]
p99 = d["latencyPercentiles"]["p99"] * 1000
print("%.1f %.3f %d" % (rps, p99, bad))'
  fi
}
read -r h_rps h_p99 h_err <<<"$(load "$base/healthz")"
read -r m_rps m_p99 m_err <<<"$(load "$base/v1/kling/videos/motions?mine=true&pageNum=1&pageSize=40" "$auth")"
read -r t_rps t_p99 t_err <<<"$(load "$base/v1/kling/tasks/$task_id" "$auth")"

# 3. Upload: a 50 MB, 9 s H.264 clip (noise at a constant bitrate, so the size is what we ask).
video=$tmp/upload.mp4
ffmpeg -v error -f lavfi -i "nullsrc=s=1280x720:r=25,geq=random(1)*255:128:128" -t 9 \
  -c:v libx264 -preset ultrafast -b:v 45M -minrate 45M -maxrate 45M -bufsize 8M \
  -x264-params nal-hrd=cbr -pix_fmt yuv420p -movflags +faststart "$video"
size=$(stat -c %s "$video")
rss() { sed -n "s/^$1:\s*\([0-9]*\) kB/\1/p" "/proc/$pid/status"; }
curl -fsS -o /dev/null -H "$auth" -H 'Content-Type: video/mp4' --data-binary @"$video" "$base/v1/kling/assets" # warm-up
best_mbs=0; max_growth_kb=0; up_status=
for _ in 1 2 3; do
  before=$(rss VmRSS); peak=$before
  ( while kill -0 "$pid" 2>/dev/null; do rss VmRSS; sleep 0.02; done ) >"$tmp/rss" &
  sampler=$!
  out=$(curl -sS -o "$tmp/up.json" -w '%{http_code} %{time_total}' -H "$auth" -H 'Content-Type: video/mp4' \
    --data-binary @"$video" "$base/v1/kling/assets")
  kill "$sampler"; wait "$sampler" 2>/dev/null || true
  read -r up_status secs <<<"$out"
  [ "$up_status" = 200 ] || { echo "upload answered $up_status: $(cat "$tmp/up.json")" >&2; exit 1; }
  peak=$(sort -n "$tmp/rss" | tail -1); peak=${peak:-$before}
  growth=$((peak - before)); [ "$growth" -gt "$max_growth_kb" ] && max_growth_kb=$growth
  mbs=$(python3 -c "print(f'{$size / 1e6 / $secs:.1f}')")
  best_mbs=$(python3 -c "print(max($best_mbs, $mbs))")
done
hwm=$(rss VmHWM)

ratio() { python3 -c "print(f'{$1 / $2 * 100:.0f}')"; }
cpu=$(nproc)
section=$(cat <<MD
<!-- api:start -->
## API (benchmarks/api/run.sh)

Run $(date -u +%Y-%m-%dT%H:%MZ) on this $cpu-core machine; release build; load tool \`$tool\` ($conns connections,
${duration} s after a 2 s warm-up) on the same host, so client and server share the CPUs. Server with
\`limits.token_rps=0\`; one account holding $motions motions seeded in SQLite (benchmarks/api/seed.sql).

| request | req/s | % of /healthz | p99 (ms) | non-200 | goal |
|---|---:|---:|---:|---:|---|
| \`GET /healthz\` | $h_rps | 100 | $h_p99 | $h_err | reference |
| \`GET /v1/kling/videos/motions?mine=true\` (page of 40 of $motions; $count returned) | $m_rps | $(ratio "$m_rps" "$h_rps") | $m_p99 | $m_err | ≥ 50 %, p99 < 10 ms |
| \`GET /v1/kling/tasks/{id}\` (finished task) | $t_rps | $(ratio "$t_rps" "$h_rps") | $t_p99 | $t_err | ≥ 50 %, p99 < 10 ms |

| upload | value | goal |
|---|---:|---|
| \`POST /v1/kling/assets\`, $(python3 -c "print(f'{$size/1e6:.1f}')") MB H.264 9 s clip, best of 3 (includes ffprobe and the cover frame) | $best_mbs MB/s | — |
| server VmRSS growth during an upload (max of 3, sampled every 20 ms) | $(python3 -c "print(f'{$max_growth_kb/1024:.1f}')") MB | < 32 MB |
| server VmHWM at the end | $(python3 -c "print(f'{$hwm/1024:.0f}')") MB | — |
<!-- api:end -->
MD
)
printf '%s\n' "$section"
if [ "${1:-}" = --write ]; then
  python3 - "$repo/BENCHMARKS.md" "$section" <<'PY'
import sys, re
path, section = sys.argv[1], sys.argv[2]
try:
    text = open(path).read()
except FileNotFoundError:
    text = "# Benchmarks\n"
if "<!-- api:start -->" in text:
    text = re.sub(r"<!-- api:start -->.*?<!-- api:end -->", lambda _: section, text, flags=re.S)
else:
    text = text.rstrip("\n") + "\n\n" + section + "\n"
open(path, "w").write(text)
PY
fi
