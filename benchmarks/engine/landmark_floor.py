"""The inference floor: time of one landmark-model run (ONNX Runtime 1.31.1, the same converted
model and the same session settings as the engine: THREADS intra-op threads (default 1; the
engine's `LoadOptions.landmark_threads`), intra-op spinning off, 1 inter-op thread, all graph
optimisations), so that floor = time per frame x frames.

Usage: landmark_floor.py MODEL.onnx [THREADS]  ->  JSON {"ms_per_frame": ..., "threads": ...}
"""
import json
import sys
import time

import numpy as np
import onnxruntime as ort


def main():
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    # motiond's sessions never spin (models/runtime.rs); with one thread it makes no difference.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(sys.argv[1], opts, providers=["CPUExecutionProvider"])
    inp = session.get_inputs()[0]
    shape = [d if isinstance(d, int) else 1 for d in inp.shape]
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    for _ in range(10):
        session.run(None, {inp.name: x})
    runs = 100
    started = time.perf_counter()
    for _ in range(runs):
        session.run(None, {inp.name: x})
    ms = (time.perf_counter() - started) / runs * 1000.0
    print(json.dumps({"ms_per_frame": ms, "threads": threads}))


main()
