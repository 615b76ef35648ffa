#!/usr/bin/env python3
"""Runs the Python reference pipeline and `onlooker bench` on the same
images, alternating, and prints both rates and their ratio.

Rounds alternate the two sides so that a change in the machine's load hits
both; the medians over the rounds are compared. Run it through
`make bench-compare`, which prepares the reference's virtualenv.

Usage: compare.py --onlooker BIN --python PY [--rounds R] [--repeat K] [PATH ...]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def run_json(cmd):
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, cwd=ROOT)
    return json.loads(out.stdout)


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except OSError:
        return float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*")
    ap.add_argument("--onlooker", default=os.path.join(ROOT, "target", "release", "onlooker"))
    ap.add_argument("--python", default=sys.executable, help="interpreter with the reference's requirements")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    paths = args.paths or [os.path.join(ROOT, "samples")]

    py_cmd = [args.python, os.path.join(HERE, "reference.py"), "--json", "--repeat", str(args.repeat), *paths]
    # Both sides do the same work: faces (yunet_n_dynamic at the same working
    # size) and objects on the whole image; the reference has neither the
    # face attributes nor the tiles for crowds, so onlooker runs without.
    rs_cmd = [args.onlooker, "bench", "--quick", "--json", "--repeat", str(args.repeat),
              "--no-attributes", "--no-object-tiles", *paths]
    py, rs = [], []
    for r in range(args.rounds):
        load = loadavg()
        p = run_json(py_cmd)
        o = run_json(rs_cmd)
        py.append(p)
        rs.append(o)
        print(
            f"round {r + 1}: python {p['images_per_second']:.2f} images/s "
            f"({p['cpu_ms_per_image']:.0f} CPU ms/image), onlooker {o['images_per_second']:.2f} images/s "
            f"({o['cpu_ms_per_image']:.0f} CPU ms/image), load average {load:.2f}",
            flush=True,
        )
    py_rate = statistics.median(p["images_per_second"] for p in py)
    rs_rate = statistics.median(o["images_per_second"] for o in rs)
    bound = statistics.median(o["inference_bound_images_per_second"] for o in rs)
    print(f"images: {rs[0]['images']} ({', '.join(paths)}); faces/objects: python {py[-1]['faces']}/{py[-1]['objects']}, onlooker {rs[-1]['faces']}/{rs[-1]['objects']}")
    print(f"python reference (onnxruntime {py[-1]['onnxruntime']}, default threads, sequential): {py_rate:.2f} images/s")
    print(f"onlooker ({rs[-1]['threads']} threads, {rs[-1]['topology']}): {rs_rate:.2f} images/s; inference-only bound {bound:.2f} images/s ({rs_rate / bound:.0%})")
    print("both: faces (yunet_n_dynamic, longer side 640..1920) and objects (YOLOX-Nano, 416), no attributes, no tiles")
    print(f"ratio onlooker / python: {rs_rate / py_rate:.2f}x (median of {args.rounds} rounds, each the median of {args.repeat} runs)")


if __name__ == "__main__":
    main()
