#!/usr/bin/env python3
"""Checks that a candidate `onlooker analyze --json` document still finds what
a baseline document found: the share of the baseline's faces and objects
that the candidate finds too, overall and for the worst images.

Usage: accuracy_guard.py BASELINE.json CANDIDATE.json [--min 0.98]
                         [--require NAME=COUNT ...] [--worst N]
                         [--verdicts FILE.csv]

Images are paired by `path`. In each image, the baseline's detections are
taken highest score first, and each is matched to the candidate's unmatched
detection that overlaps it most, if that overlap (IoU of the [x, y, w, h]
boxes) is at least 0.5; objects must also have the same label. A baseline
image missing from the candidate, or failed there, loses all its
detections. Detections the candidate adds are counted and printed, not
judged.

The baseline is not ground truth: at its working size a face detector also
fires on coins, cats and wallpaper, and on parts of a face too large for
it. `--verdicts` names a CSV file (columns image, x, y, w, h, verdict, why)
of baseline faces someone has looked at and judged not to be a face
(verdict `not-a-face`, or `fragment` for part of a larger face). Baseline
faces matching an entry (same file name, IoU >= 0.5) are set apart: the
share is then taken over the remaining faces, and both figures are printed.
Entries that match no baseline face are counted, so a stale file shows.

Exits 1 when the share of faces or of objects found is below --min, or when
an image named by --require (its file name; every image of that name) has
fewer than COUNT faces in the candidate or is not there; 2 on bad input.
Python 3 standard library only.
"""

import argparse
import copy
import csv
import json
import os
import sys

IOU = 0.5


def iou(a, b):
    """Intersection over union of two [x, y, w, h] boxes."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def match(base, cand, same_label):
    """How many of `base` are found in `cand`: greedy by the baseline's
    score, each to the unmatched candidate of highest IoU >= 0.5."""
    free = list(cand)
    found = 0
    for b in sorted(base, key=lambda d: -d.get("score", 0.0)):
        best, best_iou = None, IOU
        for i, c in enumerate(free):
            if same_label and c.get("label") != b.get("label"):
                continue
            o = iou(b["box"], c["box"])
            if o >= best_iou:
                best, best_iou = i, o
        if best is not None:
            free.pop(best)
            found += 1
    return found


def load(path):
    try:
        with open(path) as f:
            doc = json.load(f)
        images = doc["images"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"{path}: not an `onlooker analyze --json` document ({e})", file=sys.stderr)
        sys.exit(2)
    return {im["path"]: im for im in images}


VERDICTS = ("not-a-face", "fragment")


def load_verdicts(path):
    """{file name: [(box, verdict)]} from a verdicts CSV file."""
    out = {}
    try:
        with open(path, newline="") as f:
            for n, row in enumerate(csv.DictReader(f), start=2):
                try:
                    box = [float(row[k]) for k in ("x", "y", "w", "h")]
                    verdict = row["verdict"]
                    name = row["image"]
                except (KeyError, TypeError, ValueError) as e:
                    raise ValueError(f"line {n}: {e}") from None
                if verdict not in VERDICTS:
                    raise ValueError(f"line {n}: verdict {verdict!r} is not one of {', '.join(VERDICTS)}")
                out.setdefault(name, []).append((box, verdict))
    except (OSError, ValueError) as e:
        print(f"{path}: not a verdicts file ({e})", file=sys.stderr)
        sys.exit(2)
    return out


def set_apart(baseline, verdicts):
    """Removes from the baseline's faces those a verdict names; returns how
    many were removed and how many verdict entries matched nothing."""
    removed, used = 0, set()
    for path, image in baseline.items():
        entries = verdicts.get(os.path.basename(path), [])
        if not entries or image.get("error"):
            continue
        kept = []
        for face in image.get("faces") or []:
            hit = next((i for i, (box, _) in enumerate(entries) if iou(face["box"], box) >= IOU), None)
            if hit is None:
                kept.append(face)
            else:
                used.add((os.path.basename(path), hit))
                removed += 1
        image["faces"] = kept
    unused = sum(len(v) for v in verdicts.values()) - len({k for k in used})
    return removed, unused


def detections(image, key):
    if image is None or image.get("error"):
        return []
    return image.get(key) or []


def compare(baseline, candidate):
    """Per image: (path, faces found, faces, objects found, objects,
    candidate's extra faces, candidate's extra objects)."""
    rows = []
    for path in sorted(baseline):
        b, c = baseline[path], candidate.get(path)
        bf, cf = detections(b, "faces"), detections(c, "faces")
        bo, co = detections(b, "objects"), detections(c, "objects")
        ff, of = match(bf, cf, False), match(bo, co, True)
        rows.append((path, ff, len(bf), of, len(bo), len(cf) - ff, len(co) - of))
    return rows


def share(found, total):
    return found / total if total else 1.0


def pct(found, total):
    return f"{found}/{total} ({100 * share(found, total):.1f} %)"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("baseline")
    ap.add_argument("candidate")
    ap.add_argument("--min", type=float, default=0.98, help="least share of faces and of objects found (default 0.98)")
    ap.add_argument("--require", action="append", default=[], metavar="NAME=COUNT",
                    help="the image(s) of file name NAME must have at least COUNT faces in the candidate")
    ap.add_argument("--worst", type=int, default=5, help="worst images printed (default 5)")
    ap.add_argument("--verdicts", metavar="FILE.csv",
                    help="baseline faces judged by eye not to be faces, set apart from the share")
    args = ap.parse_args(argv)

    requires = []
    for item in args.require:
        name, sep, count = item.rpartition("=")
        if not sep or not name or not count.isdigit():
            ap.error(f"--require takes NAME=COUNT, not {item!r}")
        requires.append((name, int(count)))

    baseline, candidate = load(args.baseline), load(args.candidate)
    if args.verdicts:
        raw = compare(baseline, candidate)
        raw_faces = (sum(r[1] for r in raw), sum(r[2] for r in raw))
        baseline = copy.deepcopy(baseline)
        removed, unused = set_apart(baseline, load_verdicts(args.verdicts))
        print(f"verdicts: {removed} baseline faces set apart as judged not faces ({args.verdicts}); "
              f"{unused} entries match no baseline face; before setting apart, faces found {pct(*raw_faces)}")
    rows = compare(baseline, candidate)
    faces = [sum(r[1] for r in rows), sum(r[2] for r in rows)]
    objects = [sum(r[3] for r in rows), sum(r[4] for r in rows)]
    missing = sum(1 for path in baseline if path not in candidate)
    print(f"accuracy guard: {len(rows)} images ({missing} missing from the candidate); "
          f"faces found {pct(*faces)}, objects found {pct(*objects)}; the candidate adds "
          f"{sum(r[5] for r in rows)} faces, {sum(r[6] for r in rows)} objects")

    lossy = [r for r in rows if r[1] < r[2] or r[3] < r[4]]
    lossy.sort(key=lambda r: (min(share(r[1], r[2]), share(r[3], r[4])), r[1] + r[3] - r[2] - r[4], r[0]))
    for r in lossy[: args.worst]:
        print(f"  {r[0]}: faces {pct(r[1], r[2])}, objects {pct(r[3], r[4])}")
    if len(lossy) > args.worst:
        print(f"  ... and {len(lossy) - args.worst} more images with losses")

    failures = []
    for what, (found, total) in (("faces", faces), ("objects", objects)):
        if share(found, total) < args.min:
            failures.append(f"{what} found {100 * share(found, total):.1f} % < {100 * args.min:.1f} %")
    for name, count in requires:
        images = [im for path, im in sorted(candidate.items()) if os.path.basename(path) == name]
        if not images:
            failures.append(f"{name}: not in the candidate")
        for im in images:
            n = len(detections(im, "faces"))
            print(f"  require {name} ({im['path']}) >= {count} faces: {n}")
            if n < count:
                failures.append(f"{im['path']}: {n} faces < {count}")
    if failures:
        print("FAIL: " + "; ".join(failures))
        return 1
    print(f"PASS (at least {100 * args.min:.1f} % of faces and objects found)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
