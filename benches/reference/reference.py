#!/usr/bin/env python3
"""onlooker's detection (faces with yunet_n_dynamic at onlooker's working
size, objects with YOLOX-Nano on the whole image; no face attributes, no
tiles), written the way a typical Python user would: Pillow to decode and resize, numpy to letterbox, decode and NMS,
ONNX Runtime sessions with their default threading, one image after another.

It is the yardstick for `make bench-compare`: same models, same thresholds,
same images, same timing rule as `onlooker bench` (wall time over every image
after a warm-up, median of --repeat runs, session creation excluded).

With --procs N it is what a Python user who cares about speed writes
instead: a multiprocessing pool of N processes, each opening its own two
sessions once (the pool's initializer) with one intra-op and one inter-op
thread and sequential execution, the images handed out largest file first
(imap_unordered, chunksize 1). One untimed pass over every image warms all
the workers, then --repeat K timed passes run on the same pool. CPU time is
the workers' (each task returns its time.process_time() delta), summed.

Usage: reference.py [PATH ...] [--models DIR] [--repeat K] [--procs N] [--json]
"""

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import time

import numpy as np
import onnxruntime as ort
from PIL import Image, ImageOps

FACE_THRESHOLD = 0.6
FACE_NMS_IOU = 0.3
FACE_MIN_SIDE = 640
FACE_MAX_SIDE = 1920
OBJECT_THRESHOLD = 0.3
OBJECT_NMS_IOU = 0.45
OBJECT_INPUT = 416
STRIDES = (8, 16, 32)
EXTENSIONS = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".tif", ".tiff", ".bmp", ".jfif"}


def find_images(paths):
    out = []
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, files in os.walk(p, followlinks=True):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for f in sorted(files):
                    if not f.startswith(".") and os.path.splitext(f)[1].lower() in EXTENSIONS:
                        out.append(os.path.join(root, f))
        else:
            out.append(p)
    return out


def letterbox(rgb, size, pad):
    """Scale to fit, paste top-left, pad; BGR float32 NCHW, raw 0..255."""
    w, h = rgb.size
    r = min(size / w, size / h)
    nw = min(size, max(1, int(w * r + 0.5)))
    nh = min(size, max(1, int(h * r + 0.5)))
    resized = np.asarray(rgb.resize((nw, nh), Image.BILINEAR))
    canvas = np.full((size, size, 3), pad, dtype=np.uint8)
    canvas[:nh, :nw] = resized
    bgr = canvas[:, :, ::-1]
    return np.ascontiguousarray(bgr.transpose(2, 0, 1)[None].astype(np.float32)), r


def nms(boxes, scores, iou):
    """Classic greedy NMS on [x1, y1, x2, y2] boxes."""
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = (x2 - x1) * (y2 - y1)
    order = scores.argsort()[::-1]
    keep = []
    while order.size > 0:
        i = order[0]
        keep.append(i)
        xx1 = np.maximum(x1[i], x1[order[1:]])
        yy1 = np.maximum(y1[i], y1[order[1:]])
        xx2 = np.minimum(x2[i], x2[order[1:]])
        yy2 = np.minimum(y2[i], y2[order[1:]])
        inter = np.maximum(0.0, xx2 - xx1) * np.maximum(0.0, yy2 - yy1)
        ovr = inter / (areas[i] + areas[order[1:]] - inter + 1e-9)
        order = order[1:][ovr <= iou]
    return keep


def working_size(w, h):
    """onlooker's face working size: the longer side scaled into 640..1920,
    the model input padded to multiples of 32 (yunet_n_dynamic)."""
    long = max(w, h, 1)
    scale = min(max(long, FACE_MIN_SIDE), FACE_MAX_SIDE) / long
    rw, rh = max(1, round(w * scale)), max(1, round(h * scale))
    return scale, rw, rh, -(-rw // 32) * 32, -(-rh // 32) * 32


def face_tensor(rgb):
    """The face model's input: the image at the working size, padded
    bottom-right with black; BGR float32 NCHW, raw 0..255. Also the scale
    and the input width."""
    r, rw, rh, iw, ih = working_size(*rgb.size)
    canvas = np.zeros((ih, iw, 3), dtype=np.uint8)
    canvas[:rh, :rw] = np.asarray(rgb.resize((rw, rh), Image.BILINEAR))
    return np.ascontiguousarray(canvas[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32)), r, iw


def detect_faces(session, rgb):
    tensor, r, iw = face_tensor(rgb)
    names = [o.name for o in session.get_outputs()]
    outs = dict(zip(names, session.run(None, {"input": tensor})))
    boxes, scores, landmarks = [], [], []
    for s in STRIDES:
        cols = iw // s
        cls = outs[f"cls_{s}"].reshape(-1)
        obj = outs[f"obj_{s}"].reshape(-1)
        bbox = outs[f"bbox_{s}"].reshape(-1, 4)
        kps = outs[f"kps_{s}"].reshape(-1, 10)
        score = np.sqrt(np.clip(cls, 0, 1) * np.clip(obj, 0, 1))
        idx = np.nonzero(score >= FACE_THRESHOLD)[0]
        col = (idx % cols).astype(np.float32)
        row = (idx // cols).astype(np.float32)
        b = bbox[idx]
        cx, cy = (col + b[:, 0]) * s, (row + b[:, 1]) * s
        w, h = np.exp(b[:, 2]) * s, np.exp(b[:, 3]) * s
        boxes.append(np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1))
        k = kps[idx].reshape(-1, 5, 2)
        landmarks.append((k + np.stack([col, row], 1)[:, None, :]) * s)
        scores.append(score[idx])
    boxes = np.concatenate(boxes) / r
    scores = np.concatenate(scores)
    landmarks = np.concatenate(landmarks) / r
    keep = nms(boxes, scores, FACE_NMS_IOU)
    return [(boxes[i], scores[i], landmarks[i]) for i in keep]


_grids = {}


def grid(size):
    """Cell offsets and strides of YOLOX's concatenated output, computed once."""
    if size not in _grids:
        xs, ss = [], []
        for s in STRIDES:
            n = size // s
            yv, xv = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
            xs.append(np.stack([xv, yv], 2).reshape(-1, 2))
            ss.append(np.full((n * n, 1), s))
        _grids[size] = (np.concatenate(xs).astype(np.float32), np.concatenate(ss).astype(np.float32))
    return _grids[size]


def detect_objects(session, rgb):
    tensor, r = letterbox(rgb, OBJECT_INPUT, 114)
    out = session.run(None, {"images": tensor})[0][0]
    cells, strides = grid(OBJECT_INPUT)
    xy = (out[:, :2] + cells) * strides
    wh = np.exp(out[:, 2:4]) * strides
    cls = out[:, 5:].argmax(1)
    score = out[:, 4] * out[np.arange(len(out)), 5 + cls]
    m = score >= OBJECT_THRESHOLD
    xy, wh, cls, score = xy[m], wh[m], cls[m], score[m]
    boxes = np.concatenate([xy - wh / 2, xy + wh / 2], 1) / r
    found = []
    for c in np.unique(cls):
        idx = np.nonzero(cls == c)[0]
        for i in nms(boxes[idx], score[idx], OBJECT_NMS_IOU):
            found.append((int(c), float(score[idx][i]), boxes[idx][i]))
    return found


def load_upright(path):
    """An image file as upright RGB (EXIF orientation applied)."""
    with Image.open(path) as im:
        return ImageOps.exif_transpose(im).convert("RGB")


def analyse(face_session, object_session, path):
    rgb = load_upright(path)
    faces = detect_faces(face_session, rgb)
    objects = detect_objects(object_session, rgb)
    return len(faces), len(objects)


# Pool mode: each worker process's own sessions, opened once by init_worker.
_worker_sessions = None


def init_worker(models):
    """Pool initializer: one thread per session, sequential execution, so N
    processes use N cores without oversubscribing them."""
    global _worker_sessions
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    _worker_sessions = (
        ort.InferenceSession(os.path.join(models, "yunet_n_dynamic.onnx"), opts),
        ort.InferenceSession(os.path.join(models, "yolox_nano.onnx"), opts),
    )


def pool_task(path):
    """One image in a worker: its path, counts and the worker's CPU seconds."""
    start_cpu = time.process_time()
    faces, objects = analyse(*_worker_sessions, path)
    return path, faces, objects, time.process_time() - start_cpu


def run_pool(images, models, procs, repeat):
    """Rates, CPU ms per image and per-path counts of --repeat timed passes
    over `images` on one pool of `procs` processes, after one warm-up pass."""
    # Largest file first, so that no big image is left for the end of a pass.
    order = sorted(images, key=lambda p: (-os.path.getsize(p), p))
    rates, cpu_ms, counts = [], [], {}
    with multiprocessing.Pool(procs, initializer=init_worker, initargs=(models,)) as pool:
        for _ in pool.imap_unordered(pool_task, order, chunksize=1):  # warm-up pass
            pass
        for _ in range(max(1, repeat)):
            start, cpu = time.perf_counter(), 0.0
            counts = {}
            for path, faces, objects, task_cpu in pool.imap_unordered(pool_task, order, chunksize=1):
                counts[path] = (faces, objects)
                cpu += task_cpu
            rates.append(len(images) / (time.perf_counter() - start))
            cpu_ms.append(cpu * 1000 / len(images))
    return rates, cpu_ms, [counts[p] for p in images]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", default=[os.path.join(root, "samples")])
    ap.add_argument("--models", default=os.path.join(root, "models", "weights"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--procs", type=int, metavar="N",
                    help="a pool of N processes, one thread each (default: one process, sequential)")
    args = ap.parse_args()

    images = find_images(args.paths)
    if not images:
        sys.exit(f"no images found in {', '.join(args.paths)}")
    for model in ("yunet_n_dynamic.onnx", "yolox_nano.onnx"):
        if not os.path.isfile(os.path.join(args.models, model)):
            # Checked here: a pool whose initializer fails respawns it forever.
            sys.exit(f"{model} not found in {args.models} (make models, or --models DIR)")
    if args.procs is not None:
        if args.procs < 1:
            sys.exit("--procs needs at least 1")
        rates, cpu_ms, counts = run_pool(images, args.models, args.procs, args.repeat)
        report(args, root, images, rates, cpu_ms, counts, {"procs": args.procs})
        return
    # Default SessionOptions: ONNX Runtime picks its own thread count.
    faces_s = ort.InferenceSession(os.path.join(args.models, "yunet_n_dynamic.onnx"))
    objects_s = ort.InferenceSession(os.path.join(args.models, "yolox_nano.onnx"))

    analyse(faces_s, objects_s, images[0])  # warm-up
    rates, cpu_ms, counts = [], [], []
    for _ in range(max(1, args.repeat)):
        start, start_cpu = time.perf_counter(), time.process_time()
        counts = [analyse(faces_s, objects_s, p) for p in images]
        rates.append(len(images) / (time.perf_counter() - start))
        cpu_ms.append((time.process_time() - start_cpu) * 1000 / len(images))
    report(args, root, images, rates, cpu_ms, counts, {})


def report(args, root, images, rates, cpu_ms, counts, extra):
    result = {
        "images": len(images),
        "images_per_second": statistics.median(rates),
        "runs_images_per_second": rates,
        # Sequential: every thread of the process, ONNX Runtime's spinning
        # pool included. Pool: the workers' CPU time in their tasks, summed.
        "cpu_ms_per_image": statistics.median(cpu_ms),
        "faces": sum(c[0] for c in counts),
        "objects": sum(c[1] for c in counts),
        "per_image": {os.path.relpath(p, root): {"faces": f, "objects": o} for p, (f, o) in zip(images, counts)},
        "onnxruntime": ort.__version__,
        "numpy": np.__version__,
        **extra,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        mode = f" ({extra['procs']} processes)" if "procs" in extra else ""
        print(
            f"python reference{mode}: {result['images']} images, {result['faces']} faces, "
            f"{result['objects']} objects, {result['images_per_second']:.2f} images/s "
            f"(median of {len(rates)})"
        )


if __name__ == "__main__":
    main()
