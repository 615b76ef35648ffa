#!/usr/bin/env python3
"""Record OpenCV's YuNet detections on the samples, for tests/faces.rs.

OpenCV's cv2.FaceDetectorYN is the upstream reference decoder for YuNet.
This script runs it with the same model file (yunet_n_dynamic.onnx) in the
same configuration as onlooker's face detector, and writes the boxes to
tests/data/yunet_opencv_reference.json, which the test compares onlooker's
boxes against (IoU >= 0.9, one-to-one).

Same configuration means: the same working size (longer side scaled to MIN_SIDE..MAX_SIDE, see
src/face.rs `working_size`), the image pasted at
the top-left of an input padded with zeros to multiples of 32 (OpenCV pads
the same way when the input size is not a multiple of 32), BGR raw 0..255,
score threshold 0.6, NMS at IoU 0.3. The one step that cannot be the same is
the resize: onlooker uses the `image` crate's triangle filter, OpenCV uses
INTER_AREA to shrink and INTER_LINEAR to enlarge; the test's IoU tolerance
absorbs that.

Run from the repository root, in any Python with opencv-python-headless:

    python3 -m venv /tmp/cvenv
    /tmp/cvenv/bin/pip install opencv-python-headless
    /tmp/cvenv/bin/python scripts/opencv_yunet_reference.py
"""

import argparse
import hashlib
import json
import math
import sys
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parent.parent
MAX_SIDE = 1920
MIN_SIDE = 640
SCORE_THRESHOLD = 0.6
NMS_THRESHOLD = 0.3
MODEL_SHA256 = "104ee26c71d5c270ce79a6b3dced91c91013260d29a6bf18f9296c5b8c4c2b12"


def working_size(w, h):
    """onlooker's working size (src/face.rs): scale, resized width, height."""
    long = max(w, h)
    scale = min(max(long, MIN_SIDE), MAX_SIDE) / long
    # Rust's f64::round rounds halves away from zero; Python's round does not.
    rw = max(1, math.floor(w * scale + 0.5))
    rh = max(1, math.floor(h * scale + 0.5))
    return scale, rw, rh


def upright(path):
    # IMREAD_COLOR applies the EXIF orientation, as onlooker does.
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        sys.exit(f"{path}: cannot be read")
    return img


def detect(model, img):
    h, w = img.shape[:2]
    scale, rw, rh = working_size(w, h)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = img if (rw, rh) == (w, h) else cv2.resize(img, (rw, rh), interpolation=interp)
    det = cv2.FaceDetectorYN.create(str(model), "", (rw, rh), SCORE_THRESHOLD, NMS_THRESHOLD, 5000)
    _, faces = det.detect(resized)
    out = []
    for f in [] if faces is None else faces:
        x, y, bw, bh = (float(v) / scale for v in f[:4])
        # onlooker clips boxes to the image.
        x0, y0 = min(max(x, 0.0), w), min(max(y, 0.0), h)
        x1, y1 = min(max(x + bw, 0.0), w), min(max(y + bh, 0.0), h)
        out.append({
            "box": [round(x0, 2), round(y0, 2), round(x1 - x0, 2), round(y1 - y0, 2)],
            "score": round(float(f[14]), 4),
        })
    return {"width": w, "height": h, "working_size": [rw, rh], "faces": out}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=ROOT / "models/weights/yunet_n_dynamic.onnx", type=Path)
    ap.add_argument("--out", default=ROOT / "tests/data/yunet_opencv_reference.json", type=Path)
    args = ap.parse_args()
    digest = hashlib.sha256(args.model.read_bytes()).hexdigest()
    if digest != MODEL_SHA256:
        sys.exit(f"{args.model}: sha256 {digest}, expected {MODEL_SHA256}: run `make models`")
    images = {}
    for path in sorted((ROOT / "samples").iterdir()):
        if path.suffix.lower() in (".jpg", ".jpeg", ".png"):
            images[path.name] = detect(args.model, upright(path))
            print(f"{path.name}: {len(images[path.name]['faces'])} faces", file=sys.stderr)
    doc = {
        "generator": "scripts/opencv_yunet_reference.py",
        "opencv": cv2.__version__,
        "model": {"file": args.model.name, "sha256": digest},
        "config": {
            "max_side": MAX_SIDE,
            "min_side": MIN_SIDE,
            "score_threshold": SCORE_THRESHOLD,
            "nms_threshold": NMS_THRESHOLD,
            "resize": "INTER_AREA to shrink, INTER_LINEAR to enlarge",
        },
        "images": images,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
