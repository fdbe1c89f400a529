#!/usr/bin/env bash
# Engine speed benchmark: `motiond extract` vs Python MediaPipe 0.10.21 on the same clips, plus
# the landmark-model inference floor and peak RSS; writes the engine section of BENCHMARKS.md.
#
#   benchmarks/engine/run.sh            (builds motiond --release unless MOTIOND_BIN is set)
#
# Needs: ffmpeg, the models in $MOTIOND_DATA_DIR/models (default .data; `motiond models fetch`),
# and Python 3.11 with pip (a private venv in .cache/engine-bench-venv is made on first run from
# the mediapipe wheel that `models fetch` cached, plus its runtime dependencies from PyPI).
set -euo pipefail
# The floor script loads ONNX Runtime in Python: no usage telemetry there either (motiond sets it itself).
export ORT_DISABLE_TELEMETRY=1
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
data_dir=${MOTIOND_DATA_DIR:-$repo/.data}
venv=$repo/.cache/engine-bench-venv
testdata=$repo/../shared/testdata

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import mediapipe, onnxruntime' 2>/dev/null; then
  python3 -m venv "$venv"
  wheel=$(ls "$data_dir"/cache/wheels/mediapipe-0.10.21-*.whl 2>/dev/null | head -1 || true)
  "$venv/bin/pip" install -q --disable-pip-version-check --no-deps "${wheel:-mediapipe==0.10.21}"
  # mediapipe's own pins (numpy 1.x, protobuf 4) and what `solutions.pose` imports; the
  # video/audio extras it declares are not needed here.
  "$venv/bin/pip" install -q --disable-pip-version-check "numpy==1.26.4" "protobuf>=4.25.3,<5" absl-py attrs \
    flatbuffers opencv-python-headless matplotlib "onnxruntime==1.31.1"
fi

profile=release
if [ -z "${MOTIOND_BIN:-}" ]; then
  cargo build --release --locked -p motiond
  MOTIOND_BIN=$repo/target/release/motiond
else
  case "$MOTIOND_BIN" in *debug*) profile=dev ;; esac
fi

clips_dir=$(mktemp -d)
trap 'rm -rf "$clips_dir"' EXIT
# A 10 s 1080p30 clip: the walk-in clip scaled to 1920x1080 and resampled to 30 fps.
ffmpeg -nostdin -v error -i "$testdata/videos/intel_one_by_one_walk_in_10s.mp4" \
  -vf "scale=1920:1080,fps=30" -c:v libx264 -preset veryfast -crf 20 -pix_fmt yuv420p -an \
  "$clips_dir/walk_in_10s_1080p30.mp4"

"$venv/bin/python" benchmarks/engine/bench.py \
  --motiond "$MOTIOND_BIN" --data-dir "$data_dir" --python "$venv/bin/python" \
  --model "$data_dir/models/pose_landmark_full.onnx" --out "$repo/BENCHMARKS.md" --profile "$profile" \
  "$testdata/synthetic/mh_cmu131_02_walk/video.mp4" \
  "$testdata/videos/tfjs_pose_1_synthetic_dance.mp4" \
  "$testdata/videos/tfjs_pose_squats.mp4" \
  "$testdata/videos/intel_one_by_one_walk_in_10s.mp4" \
  "$clips_dir/walk_in_10s_1080p30.mp4"
