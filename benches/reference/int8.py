#!/usr/bin/env python3
"""Static int8 versions of the detectors, measured against the fp32 models
onlooker runs (issue #20, "int8 (static, calibrated) versions of the
detectors ... with the accuracy guard").

For YOLOX-Nano, yunet_n_dynamic and the PP-OCR text detector it builds an
int8 model with ONNX Runtime's static quantizer (a model older than opset
13 first converted to it, which per-channel QDQ needs; QDQ format, int8 weights per
channel, uint8 activations), calibrated on the images of --calibrate
(default samples/) with each --method, then prints for each:

- CPU milliseconds of one inference, fp32 and int8, alone on one thread
  (median of 7 after a warm-up) on the largest evaluated file, with the
  session option onlooker sets (`session.x64quantprecision`);
- for the two detectors, how many of the fp32 model's detections over the
  evaluated images the int8 model keeps (IoU >= 0.5, same class), decoded
  and suppressed by benches/reference/reference.py as in `make
  bench-compare`, and how many it adds;
- for the text detector, the mean IoU of the two probability maps
  thresholded at 0.3 (DB's binarisation), per image.

Needs the reference virtualenv (`make bench-compare` builds it) and onnx:
`benches/reference/.venv/bin/pip install -r benches/reference/requirements-int8.txt`.

Usage: int8.py IMAGES [--models DIR] [--calibrate DIR] [--model NAME ...]
       [--method minmax|percentile|entropy ...] [--out DIR]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import version_converter
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
import reference as R  # noqa: E402
from accuracy_guard import match  # noqa: E402

METHODS = {
    "minmax": CalibrationMethod.MinMax,
    "percentile": CalibrationMethod.Percentile,
    "entropy": CalibrationMethod.Entropy,
}
TEXT_SIDE = 960  # onlooker's text::DET_MAX_SIDE
TEXT_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
TEXT_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def yolox_feed(rgb):
    return {"images": R.letterbox(rgb, R.OBJECT_INPUT, 114)[0]}


def yunet_feed(rgb):
    return {"input": R.face_tensor(rgb)[0]}


def text_feed(rgb):
    w, h = rgb.size
    s = min(1.0, TEXT_SIDE / max(w, h))
    tw, th = max(32, round(w * s / 32) * 32), max(32, round(h * s / 32) * 32)
    a = (np.asarray(rgb.resize((tw, th), Image.BILINEAR), dtype=np.float32) / 255 - TEXT_MEAN) / TEXT_STD
    return {"x": np.ascontiguousarray(a.transpose(2, 0, 1)[None].astype(np.float32))}


class Calibration(CalibrationDataReader):
    def __init__(self, paths, feed):
        self.it = iter(paths)
        self.feed = feed

    def get_next(self):
        path = next(self.it, None)
        return None if path is None else self.feed(R.load_upright(path))


def session(path):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    # As onlooker's runtime sets it (ARCHITECTURE.md, "Tags"): without VNNI,
    # ORT's 8-bit products otherwise saturate in 16-bit intermediate sums.
    opts.add_session_config_entry("session.x64quantprecision", "1")
    return ort.InferenceSession(path, opts)


def cpu_ms(path, feed):
    s = session(path)
    s.run(None, feed)
    times = []
    for _ in range(7):
        t = time.process_time()
        s.run(None, feed)
        times.append(time.process_time() - t)
    return statistics.median(times) * 1000


def kept(fp32, int8, images, detect):
    """Detections of fp32 that int8 keeps, matched as the accuracy guard
    does (scripts/accuracy_guard.py: IoU >= 0.5, same class); all; added."""
    a, b = session(fp32), session(int8)
    keep = total = added = 0
    for path in images:
        rgb = R.load_upright(path)
        base, cand = detect(a, rgb), detect(b, rgb)
        found = match(base, cand, same_label=True)
        keep += found
        total += len(base)
        added += len(cand) - found
    return keep, total, added


def guard_box(label, score, box):
    """A detection as the accuracy guard reads it ([x, y, w, h] box)."""
    x1, y1, x2, y2 = (float(v) for v in box)
    return {"label": label, "score": float(score), "box": [x1, y1, x2 - x1, y2 - y1]}


def objects(s, rgb):
    return [guard_box(c, score, box) for c, score, box in R.detect_objects(s, rgb)]


def faces(s, rgb):
    return [guard_box(0, score, box) for box, score, _ in R.detect_faces(s, rgb)]


def map_iou(fp32, int8, images):
    a, b = session(fp32), session(int8)
    ious = []
    for path in images:
        feed = text_feed(R.load_upright(path))
        ma = a.run(None, feed)[0] > 0.3
        mb = b.run(None, feed)[0] > 0.3
        union = np.logical_or(ma, mb).sum()
        if union:
            ious.append(np.logical_and(ma, mb).sum() / union)
    return float(np.mean(ious)) if ious else float("nan"), len(ious)


# name, input, detections (None: the text map), input shape fixed. The
# histogram calibrations (percentile, entropy) stack every calibration
# activation, so they need one input shape.
MODELS = [
    ("yolox_nano", yolox_feed, objects, True),
    ("yunet_n_dynamic", yunet_feed, faces, False),
    ("ppocrv6_tiny_det", text_feed, None, False),
]


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("images")
    ap.add_argument("--models", default=os.path.join(root, "models", "weights"))
    ap.add_argument("--calibrate", default=os.path.join(root, "samples"))
    ap.add_argument("--method", action="append", choices=sorted(METHODS))
    ap.add_argument("--model", action="append", choices=[m[0] for m in MODELS])
    ap.add_argument("--out", help="keep the int8 models here (default: a temporary folder)")
    args = ap.parse_args()
    images = [os.path.abspath(p) for p in R.find_images([args.images])]
    calibration = [os.path.abspath(p) for p in R.find_images([args.calibrate])]
    args.models = os.path.abspath(args.models)
    overlap = set(map(os.path.realpath, images)) & set(map(os.path.realpath, calibration))
    if overlap:
        sys.exit(f"{len(overlap)} calibration images are also evaluated; calibrate on another folder")
    out = os.path.abspath(args.out or tempfile.mkdtemp(prefix="onlooker-int8-"))
    os.makedirs(out, exist_ok=True)
    os.chdir(out)  # the quantizer leaves temporary files in the working folder
    probe = max(images, key=os.path.getsize)
    print(f"{len(images)} images evaluated, {len(calibration)} for calibration; "
          f"times on {os.path.basename(probe)}; onnxruntime {ort.__version__}")
    for name, feed, detect, fixed in MODELS:
        if args.model and name not in args.model:
            continue
        fp32 = os.path.join(args.models, name + ".onnx")
        opset13 = os.path.join(out, name + "_opset13.onnx")
        model = onnx.load(fp32)
        if max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) < 13:
            model = version_converter.convert_version(model, 13)
        onnx.save(model, opset13)
        prepared = os.path.join(out, name + "_prepared.onnx")
        quant_pre_process(opset13, prepared, skip_symbolic_shape=True)
        probe_feed = feed(R.load_upright(probe))
        print(f"{name}: fp32 {cpu_ms(fp32, probe_feed):.1f} ms", flush=True)
        for method in args.method or ["minmax", "percentile"]:
            if method != "minmax" and not fixed:
                print(f"  int8 {method}: not built (the input shape varies by image)")
                continue
            int8 = os.path.join(out, f"{name}_int8_{method}.onnx")
            quantize_static(prepared, int8, Calibration(calibration, feed),
                            quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            calibrate_method=METHODS[method])
            line = f"  int8 {method}: {cpu_ms(int8, probe_feed):.1f} ms"
            if detect:
                k, t, a = kept(fp32, int8, images, detect)
                line += f", keeps {k}/{t} ({100 * k / max(t, 1):.1f} %), adds {a}"
            else:
                m, n = map_iou(fp32, int8, images)
                line += f", text map IoU {m:.3f} (mean over {n} images with text)"
            print(line, flush=True)


if __name__ == "__main__":
    main()
