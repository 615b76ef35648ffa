#!/usr/bin/env python3
"""Compare two `onlooker analyze --json` documents (or an analyze and a merge).

    scripts/compare_results.py single.json merged.json

The timing fields that legitimately differ between runs (summary.elapsed_seconds,
summary.images_per_second) are dropped; everything else must be equal. Prints
the first differing JSON paths and exits 1 on a difference; exits 2 when a file
cannot be read. Python 3 standard library only.
"""

import json
import sys

# Fields that measure the run rather than describe the inputs.
TIMING_FIELDS = {("summary", "elapsed_seconds"), ("summary", "images_per_second")}
MAX_SHOWN = 20


def drop_timing(doc):
    if isinstance(doc, dict):
        for parent, field in TIMING_FIELDS:
            if isinstance(doc.get(parent), dict):
                doc[parent].pop(field, None)
    return doc


def show(value, limit=120):
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def diff(a, b, path, out):
    """Append (path, a, b) for each difference, depth first, in document order."""
    if len(out) >= MAX_SHOWN:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            sub = f"{path}.{key}" if path else key
            if key not in b:
                out.append((sub, a[key], "<missing>"))
            elif key not in a:
                out.append((sub, "<missing>", b[key]))
            else:
                diff(a[key], b[key], sub, out)
            if len(out) >= MAX_SHOWN:
                return
    elif isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, f"{path}[{i}]", out)
            if len(out) >= MAX_SHOWN:
                return
        if len(a) != len(b):
            out.append((f"{path}.length", len(a), len(b)))
    elif type(a) is not type(b) or a != b:
        # 1 and 1.0 are the same JSON number.
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) \
                and not isinstance(a, bool) and not isinstance(b, bool) and a == b:
            return
        out.append((path or "<root>", a, b))


def count(doc, key):
    value = doc.get(key) if isinstance(doc, dict) else None
    return len(value) if isinstance(value, list) else 0


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    docs = []
    for name in argv[1:]:
        try:
            with open(name, encoding="utf-8") as f:
                docs.append(drop_timing(json.load(f)))
        except (OSError, ValueError) as e:
            print(f"cannot read {name}: {e}", file=sys.stderr)
            return 2
    a, b = docs
    out = []
    diff(a, b, "", out)
    if out:
        print(f"different: {argv[1]} vs {argv[2]} (first {len(out)} differing paths)")
        for path, x, y in out:
            print(f"  {path}: {show(x)} != {show(y)}")
        return 1
    print(f"identical (timing fields ignored): {count(a, 'images')} images, {count(a, 'videos')} videos")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
