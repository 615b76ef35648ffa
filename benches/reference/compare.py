#!/usr/bin/env python3
"""Runs `onlooker bench` and the Python reference pipeline, both as a plain
script and as a multiprocessing pool, on the same images, alternating, and
prints the rates and onlooker's ratio to each.

With `--before FLAG`, onlooker also runs with FLAG (say, a lever turned
off) as a fourth side, so a lever's before and after come from one run.

Each round runs every side once, starting with a different one each round,
so that a change in the machine's load hits all of them; the medians over
the rounds are compared. Run it through `make bench-compare`, which prepares
the reference's virtualenv.

Usage: compare.py --onlooker BIN --python PY [--rounds R] [--repeat K]
                  [--procs N] [--before FLAG ...] [--json] [PATH ...]
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


def cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*")
    ap.add_argument("--onlooker", default=os.path.join(ROOT, "target", "release", "onlooker"))
    ap.add_argument("--python", default=sys.executable, help="interpreter with the reference's requirements")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--procs", type=int, default=cores(),
                    help="processes in the reference's pool (default: the cores this process may use)")
    ap.add_argument("--before", action="append", default=[], metavar="FLAG",
                    help="also run onlooker with FLAG (repeatable, e.g. --before=--no-face-survey): "
                         "a fourth side, `before`, for a lever's before/after in the same run")
    ap.add_argument("--json", action="store_true",
                    help="print one JSON summary on stdout (the rounds go to stderr)")
    args = ap.parse_args()
    paths = args.paths or [os.path.join(ROOT, "samples")]
    log = sys.stderr if args.json else sys.stdout

    ref = [args.python, os.path.join(HERE, "reference.py"), "--json", "--repeat", str(args.repeat)]
    # All three find the same things: faces (yunet_n_dynamic, the same
    # working size; onlooker surveys large photos at 960 px first, which
    # `--before=--no-face-survey` turns off) and objects on the whole image;
    # the reference has neither the face attributes, the tiles for crowds,
    # text, tags nor identity, so onlooker runs without them.
    sides = {
        "script": ref + paths,
        "pool": ref + ["--procs", str(args.procs)] + paths,
        "onlooker": [args.onlooker, "bench", "--quick", "--json", "--repeat", str(args.repeat),
                     "--no-attributes", "--no-object-tiles", "--no-text", "--no-tags",
                     "--no-identity", *paths],
    }
    if args.before:
        sides["before"] = sides["onlooker"][:-len(paths)] + args.before + paths
    names = list(sides)
    runs = {name: [] for name in names}
    loads = []
    for r in range(args.rounds):
        loads.append(loadavg())
        for name in names[r % len(names):] + names[:r % len(names)]:
            runs[name].append(run_json(sides[name]))
        cells = ", ".join(
            f"{name} {runs[name][-1]['images_per_second']:.2f} ({runs[name][-1]['cpu_ms_per_image']:.0f})"
            for name in names
        )
        print(f"round {r + 1}, images/s (CPU ms/image): {cells}; load average {loads[-1]:.2f}", file=log, flush=True)

    def median(name, key):
        return statistics.median(run[key] for run in runs[name])

    rate = {name: median(name, "images_per_second") for name in names}
    cpu = {name: median(name, "cpu_ms_per_image") for name in names}
    bound = median("onlooker", "inference_bound_images_per_second")
    last = {name: runs[name][-1] for name in names}
    summary = {
        "paths": paths,
        "images": last["onlooker"]["images"],
        "rounds": args.rounds,
        "repeat": args.repeat,
        "procs": args.procs,
        "onnxruntime": last["script"]["onnxruntime"],
        "onlooker_threads": last["onlooker"]["threads"],
        "onlooker_topology": last["onlooker"]["topology"],
        "load_averages": loads,
        **{f"{name}_images_per_second": rate[name] for name in names},
        **{f"{name}_cpu_ms_per_image": cpu[name] for name in names},
        **{f"{name}_faces": last[name]["faces"] for name in names},
        **{f"{name}_objects": last[name]["objects"] for name in names},
        "onlooker_inference_bound_images_per_second": bound,
        "ratio_onlooker_to_script": rate["onlooker"] / rate["script"],
        "ratio_onlooker_to_pool": rate["onlooker"] / rate["pool"],
    }
    if args.before:
        summary["before_flags"] = args.before
        summary["before_inference_bound_images_per_second"] = median("before", "inference_bound_images_per_second")
        summary["ratio_onlooker_to_before"] = rate["onlooker"] / rate["before"]
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    counts = ", ".join(f"{name} {last[name]['faces']}/{last[name]['objects']}" for name in names)
    print(f"images: {summary['images']} ({', '.join(paths)}); faces/objects: {counts}")
    print("all: faces (yunet_n_dynamic, longer side 640..1920; onlooker surveys large photos at 960 px first) "
          "and objects (YOLOX-Nano, 416), no attributes, no tiles")
    print(f"python script (onnxruntime {summary['onnxruntime']}, default threads, one image after another): "
          f"{rate['script']:.2f} images/s, {cpu['script']:.0f} CPU ms/image")
    print(f"python pool ({args.procs} processes, 1 thread each): "
          f"{rate['pool']:.2f} images/s, {cpu['pool']:.0f} CPU ms/image")
    print(f"onlooker ({summary['onlooker_threads']} threads, {summary['onlooker_topology']}): "
          f"{rate['onlooker']:.2f} images/s, {cpu['onlooker']:.0f} CPU ms/image; "
          f"inference-only bound {bound:.2f} images/s ({rate['onlooker'] / bound:.0%})")
    if args.before:
        b = summary["before_inference_bound_images_per_second"]
        print(f"onlooker before ({' '.join(args.before)}): {rate['before']:.2f} images/s, "
              f"{cpu['before']:.0f} CPU ms/image; inference-only bound {b:.2f} images/s "
              f"({rate['before'] / b:.0%}); onlooker / before: {summary['ratio_onlooker_to_before']:.2f}x")
    print(f"ratio onlooker / script: {summary['ratio_onlooker_to_script']:.2f}x, "
          f"onlooker / pool: {summary['ratio_onlooker_to_pool']:.2f}x "
          f"(medians of {args.rounds} rounds, each the median of {args.repeat} runs)")


if __name__ == "__main__":
    main()
