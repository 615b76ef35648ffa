#!/usr/bin/env python3
"""Shows the faces a candidate `onlooker analyze --json` document loses
against a baseline, so someone can look at them before trusting a share.

Usage: lost_faces.py BASELINE.json CANDIDATE.json SHEET.png [--csv FILE.csv]
                     [--added]

Matching is the accuracy guard's (IoU >= 0.5, baseline highest score first).
SHEET.png is a contact sheet: one numbered tile per lost face, cut from the
image with a margin and scaled to the tile, captioned with its file, score and width in pixels.
--csv writes the same faces as rows for scripts/accuracy_guard.py
--verdicts, with the verdict left for the person who looked to fill in.
--added shows the faces the candidate adds instead.
Needs Pillow (benches/reference/.venv has it).
"""

import argparse
import csv
import os
import sys

from PIL import Image, ImageDraw, ImageOps

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from accuracy_guard import IOU, detections, iou, load  # noqa: E402

TILE, CAPTION, COLUMNS = 160, 30, 8


def unmatched(base, cand):
    """The faces of `base` no face of `cand` matches."""
    free, lost = list(cand), []
    for b in sorted(base, key=lambda d: -d.get("score", 0.0)):
        best, best_iou = None, IOU
        for i, c in enumerate(free):
            o = iou(b["box"], c["box"])
            if o >= best_iou:
                best, best_iou = i, o
        if best is None:
            lost.append(b)
        else:
            free.pop(best)
    return lost


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("baseline")
    ap.add_argument("candidate")
    ap.add_argument("sheet")
    ap.add_argument("--csv", metavar="FILE.csv")
    ap.add_argument("--added", action="store_true")
    args = ap.parse_args(argv)
    baseline, candidate = load(args.baseline), load(args.candidate)
    if args.added:
        baseline, candidate = candidate, baseline

    lost = []
    for path in sorted(baseline):
        faces = unmatched(detections(baseline[path], "faces"), detections(candidate.get(path), "faces"))
        lost += [(path, f) for f in faces]
    print(f"{len(lost)} faces {'added' if args.added else 'lost'}")
    if not lost:
        return 0

    rows = (len(lost) + COLUMNS - 1) // COLUMNS
    sheet = Image.new("RGB", (COLUMNS * TILE, rows * (TILE + CAPTION)), "white")
    draw = ImageDraw.Draw(sheet)
    opened = {}
    for n, (path, face) in enumerate(lost):
        if path not in opened:
            opened.clear()
            opened[path] = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
        x, y, w, h = face["box"]
        m = 0.3 * max(w, h)
        tile = opened[path].crop((int(x - m), int(y - m), int(x + w + m), int(y + h + m)))
        scale = (TILE - 4) / max(tile.size)
        tile = tile.resize((max(1, round(tile.width * scale)), max(1, round(tile.height * scale))))
        left, top = (n % COLUMNS) * TILE, (n // COLUMNS) * (TILE + CAPTION)
        sheet.paste(tile, (left + 2, top + 2))
        draw.text((left + 2, top + TILE), f"{n} {os.path.basename(path)}"[:26], fill="black")
        draw.text((left + 2, top + TILE + 12), f"score {face['score']:.2f} w {w:.0f}", fill="black")
    sheet.save(args.sheet)
    print(f"wrote {args.sheet}")

    if args.csv:
        with open(args.csv, "w", newline="") as f:
            out = csv.writer(f)
            out.writerow(["image", "x", "y", "w", "h", "verdict", "why"])
            for n, (path, face) in enumerate(lost):
                out.writerow([os.path.basename(path), *(round(v, 1) for v in face["box"]), "", f"tile {n}"])
        print(f"wrote {args.csv}: fill in each verdict (not-a-face or fragment) after looking")
    return 0


if __name__ == "__main__":
    sys.exit(main())
