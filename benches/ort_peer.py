#!/usr/bin/env python3
"""The side-by-side baseline of `vidt bench model --peer onnxruntime`: the official ViDT nano
exported to ONNX (../shared/peers), run by onnxruntime on the CPU with the same thread count
and the same input as ours, in the same run.

Reads the input as raw little-endian f32 (`--input`, shape `--shape B,3,H,W`), times
`session.run` (median of `--runs` after one warm-up), writes the outputs as raw f32
(`--outputs DIR/pred_logits.f32`, `pred_boxes.f32`) so the caller can compare them with its own,
and prints one JSON object.
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

try:
    import onnxruntime as ort
except ImportError:
    sys.exit("onnxruntime is not installed (python3 -m pip install onnxruntime)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--shape", required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--outputs")
    a = ap.parse_args()
    shape = [int(x) for x in a.shape.split(",")]
    x = np.fromfile(a.input, dtype="<f4").reshape(shape)
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
    want = sess.get_inputs()[0].shape
    if [int(d) for d in want if isinstance(d, int)] != shape[: len(want)]:
        sys.exit(f"the peer model takes {want}, the input is {shape}")
    feed = {sess.get_inputs()[0].name: x}
    names = [o.name for o in sess.get_outputs()]
    start = time.perf_counter()
    out = sess.run(None, feed)
    first = (time.perf_counter() - start) * 1e3
    times = []
    for _ in range(max(1, a.runs)):
        start = time.perf_counter()
        out = sess.run(None, feed)
        times.append((time.perf_counter() - start) * 1e3)
    if a.outputs:
        for name, t in zip(names, out):
            np.asarray(t, dtype="<f4").tofile(os.path.join(a.outputs, f"{name}.f32"))
    print(json.dumps({
        "runtime": f"onnxruntime {ort.__version__}",
        "threads": a.threads,
        "first_ms": first,
        "median_ms": statistics.median(times),
        "outputs": {n: list(t.shape) for n, t in zip(names, out)},
    }))


if __name__ == "__main__":
    main()
