"""The inference floor: time of one landmark-model run (ONNX Runtime 1.31.1, the same converted
model and the same session settings as the engine: 1 intra-op and 1 inter-op thread, all graph
optimisations), so that floor = time per frame × frames.

Usage: landmark_floor.py MODEL.onnx  ->  JSON {"ms_per_frame": ...}
"""
import json
import sys
import time

import numpy as np
import onnxruntime as ort


def main():
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
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
    print(json.dumps({"ms_per_frame": ms}))


main()
