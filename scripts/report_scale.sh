#!/usr/bin/env bash
# The report of a large folder: builds a folder of N photos (symbolic links
# to the sample photos, cycled, so the pixels repeat), runs
# `onlooker analyze DIR --out REPORT` on it and prints the time, the peak
# resident memory, the report folder's size and file count, and the size
# of its pages.
#   scripts/report_scale.sh 5000 [target/release/onlooker]
set -euo pipefail
n="${1:?number of photos}"
bin="${2:-target/release/onlooker}"
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

mapfile -t samples < <(find "$root/samples" -type f \
    \( -name '*.jpg' -o -name '*.png' \) | sort)
mkdir -p "$tmp/photos"
for ((i = 0; i < n; i++)); do
    s="${samples[i % ${#samples[@]}]}"
    ln -s "$s" "$tmp/photos/$(printf '%05d' "$i")_$(basename "$s")"
done
# GNU time: %e wall seconds, %M maximum resident set size in KiB.
/usr/bin/time -f '%e %M' -o "$tmp/time" \
    "$bin" analyze "$tmp/photos" --out "$tmp/report" --quiet ${THREADS:+--threads $THREADS} || true
read -r seconds rss < "$tmp/time"
pages=$(find "$tmp/report" -maxdepth 1 -name '*.html' | wc -l)
largest=$(find "$tmp/report" -maxdepth 1 -name '*.html' ! -name index.html -printf '%s\n' | sort -n | tail -1)
echo "photos: $n"
echo "time: $seconds s"
echo "peak memory: $((rss / 1024)) MiB"
echo "report folder: $(du -sb "$tmp/report" | cut -f1) bytes in $(find "$tmp/report" -type f | wc -l) files"
echo "index.html: $(stat -c %s "$tmp/report/index.html") bytes"
echo "other pages: $((pages - 1)), the largest ${largest:-0} bytes"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
