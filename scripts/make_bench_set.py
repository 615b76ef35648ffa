#!/usr/bin/env python3
"""Builds a mixed benchmark set of photos (at least 200) from redistributable
sources, deterministically: `make bench-set` writes it to target/bench-set/.

Usage: make_bench_set.py OUT_DIR [--skimage-wheel-dir DIR]

Sources (licences in samples/CREDITS.md for the first three groups):

* samples/*.jpg, samples/*.png: the 12 sample photos (public domain, CC0;
  dog, eagle, giraffe, horses and person are Debian darknet's, GPL-3.0+ or
  MIT or WTFPL). samples/day_out/ is left out: its pixels are those of
  the darknet photos.
* samples/people/*.jpg: 9 photos, US federal government works (public
  domain in the US); these and samples/solvay_1927.jpg are the group photos.
* samples/text/*.jpg: 5 synthetic text images drawn by the project (the
  project's licence); web, medium and PNG copies only.
* scikit-image 0.26.0 (PyPI wheel, files under skimage/data/; the licences
  are those stated in the wheel's skimage/data/_fetchers.py; each file is
  checked against the sha256 below, which is also in the wheel's RECORD):
  camera.png (CC0, Lav Varshney), rocket.jpg (public domain, SpaceX),
  hubble_deep_field.jpg (NASA, public domain), coins.png (Brooklyn Museum,
  "no known copyright restrictions"), clock_motion.png (public domain,
  Stefan van der Walt), brick.png, grass.png, gravel.png (CC0 textures),
  retina.jpg (CC0, Mikael Häggström). astronaut, chelsea and coffee are
  already among the samples. Used when --skimage-wheel-dir names a folder
  holding the wheel (`make bench-set` downloads it with pip); without it the
  set is built from the samples alone (still over 200 images).

What is written (OUT_DIR/<folder>/<file>; every base name is unique, so
results can be matched by file name):

* phone/: every photo source as a phone-like 12 MP JPEG: centre crop to
  4:3 (3:4 for portrait sources), bicubic upscale to 4000x3000 (3000x4000),
  luminance noise of +/-6 (fixed seed; about 2.5 MB a file), RGB, quality 90.
* web/: every source twice as a small web image, 0.10-0.20 MP (baseline,
  quality 75-85) and 0.20-0.30 MP (progressive, quality 75-85).
* medium/: every source at 2-8 MP, quality 85-92.
* groups/: solvay_1927.jpg byte for byte (native size, 3000x2171), and Solvay
  at 800, 1280, 2048, 4000 and 6000 px on the long side (solvay_6000.jpg;
  greyscale like the original, quality 90); each photo of samples/people at
  1024, 2048 and 3072 px on the long side.
* exif/: every sample photo at its own size stored rotated with EXIF
  Orientation 6 (pixels turned a quarter anticlockwise) and 8 (clockwise),
  so that the upright image is the original (checked after writing).
* grey/: every photo source as a greyscale JPEG at 1-4 MP, quality 88.
* png/: every source as a PNG at 0.5-2 MP, alternately RGB and RGBA (alpha
  opaque in the middle, fading towards the corners).

Sizes, qualities and noise come from random.Random seeded with the output's
path (string seeds are hashed with SHA-512, so PYTHONHASHSEED plays no part);
inputs are taken in sorted order. With the same Pillow (the reference's
pinned one) and Python, every run writes the same bytes. OUT_DIR/MANIFEST.tsv
lists file, source, transform, width, height (as stored), bytes, sha256;
the last line printed summarises the set.
"""

import argparse
import glob
import hashlib
import io
import os
import random
import shutil
import statistics
import sys
import zipfile

from PIL import Image, ImageChops, ImageOps, ImageStat

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SKIMAGE = "scikit-image 0.26.0"
SKIMAGE_WHEEL = "scikit_image-0.26.0-*.whl"
SKIMAGE_FILES = {
    "brick.png": "7966caf324f6ba843118d98f7a07746d22f6a343430add0233eca5f6eaaa8fcf",
    "camera.png": "b0793d2adda0fa6ae899c03989482bff9a42d3d5690fc7e3648f2795d730c23a",
    "clock_motion.png": "f029226b28b642e80113d86622e9b215ee067a0966feaf5e60604a1e05733955",
    "coins.png": "f8d773fc9cfa6f4d8e5942dc34d0a0788fcaed2a4fefbbed0aef5398d7ef4cba",
    "grass.png": "b6b6022426b38936c43a4ac09635cd78af074e90f42ffa8227ac8b7452d39f89",
    "gravel.png": "c48615b451bf1e606fbd72c0aa9f8cc0f068ab7111ef7d93bb9b0f2586440c12",
    "hubble_deep_field.jpg": "3a19c5dd8a927a9334bb1229a6d63711b1c0c767fb27e2286e7c84a3e2c2f5f4",
    "retina.jpg": "38a07f36f27f095e818aea7b96d34202c05176d30253c66733f2e00379e9e0e6",
    "rocket.jpg": "c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c",
}
SOLVAY = "samples/solvay_1927.jpg"
ORIENTATION = 0x0112
FOLDERS = ("phone", "web", "medium", "groups", "exif", "grey", "png")


class Source:
    """One input image: a name for outputs, where it came from, its bytes."""

    def __init__(self, stem, origin, data, kind):
        self.stem, self.origin, self.data, self.kind = stem, origin, data, kind

    def open(self):
        im = Image.open(io.BytesIO(self.data))
        im.load()
        return ImageOps.exif_transpose(im)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def sample_sources():
    out = []
    for pattern, kind, prefix in (("samples/*.*", "photo", ""), ("samples/people/*.jpg", "group", ""),
                                  ("samples/text/*.jpg", "text", "text_")):
        for path in sorted(glob.glob(os.path.join(ROOT, pattern))):
            if os.path.splitext(path)[1].lower() not in (".jpg", ".png"):
                continue
            rel = os.path.relpath(path, ROOT)
            with open(path, "rb") as f:
                data = f.read()
            stem = prefix + os.path.splitext(os.path.basename(path))[0]
            out.append(Source(stem, rel, data, "group" if rel == SOLVAY else kind))
    return out


def skimage_sources(wheel_dir):
    wheels = sorted(glob.glob(os.path.join(wheel_dir, SKIMAGE_WHEEL)))
    if not wheels:
        sys.exit(f"no {SKIMAGE_WHEEL} in {wheel_dir} (pip download --no-deps scikit-image==0.26.0 -d {wheel_dir})")
    out = []
    with zipfile.ZipFile(wheels[0]) as z:
        for name, digest in sorted(SKIMAGE_FILES.items()):
            data = z.read(f"skimage/data/{name}")
            if sha256(data) != digest:
                sys.exit(f"{wheels[0]}: skimage/data/{name} has sha256 {sha256(data)}, expected {digest}")
            stem = "skimage_" + os.path.splitext(name)[0]
            out.append(Source(stem, f"{SKIMAGE} wheel, skimage/data/{name}", data, "photo"))
    return out


def resize_long(im, long_side):
    w, h = im.size
    scale = long_side / max(w, h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return resize(im, size)


def resize_mp(im, megapixels):
    w, h = im.size
    scale = (megapixels * 1e6 / (w * h)) ** 0.5
    return resize(im, (max(1, round(w * scale)), max(1, round(h * scale))))


def resize(im, size):
    if size == im.size:
        return im.copy()
    grows = size[0] * size[1] > im.size[0] * im.size[1]
    return im.resize(size, Image.BICUBIC if grows else Image.LANCZOS)


def crop_aspect(im, aw, ah):
    """The largest centred crop of aspect aw:ah."""
    w, h = im.size
    if w * ah > h * aw:
        cw, ch = h * aw // ah, h
    else:
        cw, ch = w, w * ah // aw
    left, top = (w - cw) // 2, (h - ch) // 2
    return im.crop((left, top, left + cw, top + ch))


def add_noise(rgb, rng, amplitude):
    """Luminance noise, uniform in -amplitude..amplitude, from rng."""
    levels = 2 * amplitude + 1
    noise = Image.frombytes("L", rgb.size, rng.randbytes(rgb.size[0] * rgb.size[1]))
    noise = noise.point([v % levels for v in range(256)])
    return ImageChops.add(rgb, Image.merge("RGB", (noise, noise, noise)), 1.0, -amplitude)


def alpha_vignette(size):
    """Opaque in the middle, fading towards the corners (never fully clear)."""
    grad = Image.radial_gradient("L").resize(size, Image.BILINEAR)
    return grad.point([255 if v < 128 else max(32, 255 - (v - 128) * 2) for v in range(256)])


def encode(im, fmt, **opts):
    buf = io.BytesIO()
    im.save(buf, fmt, **opts)
    return buf.getvalue()


def jpeg(im, quality, **opts):
    return encode(im, "JPEG", quality=quality, **opts)


def build(sources):
    """Yields (relative path, Source, transform, image as stored, file bytes)."""
    photos = [s for s in sources if s.kind in ("photo", "group")]
    samples_photos = [s for s in photos if s.origin.startswith("samples/")]

    for s in photos:
        name = f"phone/{s.stem}_phone.jpg"
        rng = random.Random(name)
        im = s.open().convert("RGB")
        portrait = im.size[1] > im.size[0]
        size = (3000, 4000) if portrait else (4000, 3000)
        im = add_noise(resize(crop_aspect(im, *size), size), rng, 6)
        yield name, s, f"crop {'3:4' if portrait else '4:3'}, bicubic to {size[0]}x{size[1]}, noise +/-6, JPEG q90", im, jpeg(im, 90)

    for s in sources:
        for variant, lo, hi, progressive in (("a", 0.10, 0.20, False), ("b", 0.20, 0.30, True)):
            name = f"web/{s.stem}_web_{variant}.jpg"
            rng = random.Random(name)
            mp, q = rng.uniform(lo, hi), rng.randint(75, 85)
            im = resize_mp(s.open().convert("RGB"), mp)
            kind = "progressive" if progressive else "baseline"
            yield name, s, f"{mp:.3f} MP, {kind} JPEG q{q}", im, jpeg(im, q, progressive=progressive)

    for s in sources:
        name = f"medium/{s.stem}_medium.jpg"
        rng = random.Random(name)
        mp, q = rng.uniform(2.0, 8.0), rng.randint(85, 92)
        im = resize_mp(s.open().convert("RGB"), mp)
        yield name, s, f"{mp:.2f} MP, JPEG q{q}", im, jpeg(im, q)

    for s in sources:
        if s.origin == SOLVAY:
            im = s.open()
            yield "groups/solvay_1927.jpg", s, "byte copy (native size)", im, s.data
            for long_side in (800, 1280, 2048, 4000, 6000):
                out = resize_long(im, long_side)
                yield f"groups/solvay_{long_side}.jpg", s, f"long side {long_side}, greyscale JPEG q90", out, jpeg(out, 90)
        elif s.kind == "group":
            for long_side in (1024, 2048, 3072):
                out = resize_long(s.open().convert("RGB"), long_side)
                yield f"groups/{s.stem}_{long_side}.jpg", s, f"long side {long_side}, JPEG q90", out, jpeg(out, 90)

    for s in samples_photos:
        upright = s.open()
        upright = upright.convert("L" if upright.mode == "L" else "RGB")
        # Orientation 6: the viewer turns the stored pixels a quarter
        # clockwise, so they are stored a quarter anticlockwise (and 8 the
        # other way round).
        for orientation, turn, words in ((6, Image.Transpose.ROTATE_90, "anticlockwise"),
                                         (8, Image.Transpose.ROTATE_270, "clockwise")):
            name = f"exif/{s.stem}_exif{orientation}.jpg"
            stored = upright.transpose(turn)
            exif = Image.Exif()
            exif[ORIENTATION] = orientation
            data = jpeg(stored, 92, exif=exif.tobytes())
            check_upright(name, data, upright)
            yield name, s, f"stored a quarter {words}, EXIF Orientation {orientation}, JPEG q92", stored, data

    for s in photos:
        name = f"grey/{s.stem}_grey.jpg"
        rng = random.Random(name)
        mp = rng.uniform(1.0, 4.0)
        im = resize_mp(s.open().convert("L"), mp)
        yield name, s, f"{mp:.2f} MP, greyscale JPEG q88", im, jpeg(im, 88)

    for i, s in enumerate(sources):
        mode = "RGBA" if i % 2 else "RGB"
        name = f"png/{s.stem}_{mode.lower()}.png"
        rng = random.Random(name)
        mp = rng.uniform(0.5, 2.0)
        im = resize_mp(s.open().convert("RGB"), mp)
        if mode == "RGBA":
            im.putalpha(alpha_vignette(im.size))
        yield name, s, f"{mp:.2f} MP, {mode} PNG" + (" (alpha vignette)" if mode == "RGBA" else ""), im, encode(im, "PNG")


def check_upright(name, data, upright):
    """The EXIF-rotated file, turned upright as a viewer does, is the original:
    it differs from it no more than the original saved the same way does
    (JPEG's loss), where a wrong turn would differ far more."""
    def difference(encoded):
        with Image.open(io.BytesIO(encoded)) as im:
            shown = ImageOps.exif_transpose(im).convert(upright.mode)
        if shown.size != upright.size:
            sys.exit(f"{name}: upright size {shown.size}, expected {upright.size}")
        return max(ImageStat.Stat(ImageChops.difference(shown, upright)).mean)

    diff, loss = difference(data), difference(jpeg(upright, 92))
    if diff > loss + 2:
        sys.exit(f"{name}: the upright image differs from the original (mean difference {diff:.1f}, JPEG's {loss:.1f})")


def pinned_pillow():
    try:
        with open(os.path.join(ROOT, "benches", "reference", "requirements.txt")) as f:
            for line in f:
                if line.lower().startswith("pillow=="):
                    return line.split("==", 1)[1].strip()
    except OSError:
        pass
    return None


def clear(out_dir):
    """Removes what an earlier run wrote (the files its manifest lists, then
    its folders if empty) and says whether out_dir is now free to take the
    new set (absent or empty)."""
    manifest = os.path.join(out_dir, "MANIFEST.tsv")
    if os.path.exists(manifest):
        with open(manifest) as f:
            next(f, None)
            for line in f:
                path = os.path.join(out_dir, line.split("\t", 1)[0])
                if os.path.isfile(path):
                    os.remove(path)
        os.remove(manifest)
        for folder in FOLDERS:
            try:
                os.rmdir(os.path.join(out_dir, folder))
            except OSError:
                pass
    return not os.path.exists(out_dir) or not os.listdir(out_dir)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("--skimage-wheel-dir", help=f"folder holding the {SKIMAGE} wheel (adds its data images)")
    args = ap.parse_args()

    pinned = pinned_pillow()
    if pinned and Image.__version__ != pinned:
        print(f"warning: Pillow {Image.__version__}, the reference pins {pinned}: the bytes will differ "
              "from a set built with the pinned one", file=sys.stderr)
    sources = sample_sources()
    if args.skimage_wheel_dir:
        sources += skimage_sources(args.skimage_wheel_dir)

    out_dir = os.path.normpath(args.out_dir)
    if os.path.exists(out_dir) and os.listdir(out_dir) and not os.path.exists(os.path.join(out_dir, "MANIFEST.tsv")):
        sys.exit(f"{out_dir} is not empty and holds no MANIFEST.tsv: choose an empty or new folder")
    # Written beside it first, so that a failed run leaves the last set whole.
    partial = out_dir + ".partial"
    if os.path.isdir(partial):
        shutil.rmtree(partial)
    for folder in FOLDERS:
        os.makedirs(os.path.join(partial, folder))
    rows, names = [], set()
    for name, source, transform, im, data in build(sources):
        base = os.path.basename(name)
        if base in names:
            sys.exit(f"two outputs named {base}")
        names.add(base)
        with open(os.path.join(partial, name), "wb") as f:
            f.write(data)
        rows.append((name, source.origin, transform, im.size[0], im.size[1], len(data), sha256(data)))
    rows.sort()
    with open(os.path.join(partial, "MANIFEST.tsv"), "w") as f:
        f.write("file\tsource\ttransform\twidth\theight\tbytes\tsha256\n")
        for row in rows:
            f.write("\t".join(str(v) for v in row) + "\n")
    if not clear(out_dir):
        sys.exit(f"{out_dir} holds files of its own besides an earlier set: the new set is in {partial}")
    if os.path.isdir(out_dir):
        os.rmdir(out_dir)
    os.rename(partial, out_dir)

    mp = [w * h / 1e6 for _, _, _, w, h, _, _ in rows]
    total = sum(r[5] for r in rows)
    print(f"bench set: {len(rows)} images from {len(sources)} sources in {out_dir}; megapixels "
          f"min {min(mp):.2f} / median {statistics.median(mp):.2f} / max {max(mp):.2f}; "
          f"{total / 1e6:.1f} MB (Pillow {Image.__version__})")


if __name__ == "__main__":
    main()
