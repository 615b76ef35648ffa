#!/usr/bin/env bash
# Peak resident memory of `onlooker analyze` over 20 and over 2000 images
# (symbolic links to the samples, cycled, in a temporary folder), results
# streamed with --jsonl. Prints both peaks and their ratio: memory must not
# grow with the number of images.
set -euo pipefail
bin="${1:-target/release/onlooker}"
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

mapfile -t samples < <(find "$root/samples" -maxdepth 1 -type f \
    \( -name '*.jpg' -o -name '*.png' \) | sort)
peak() {
    local n="$1" dir="$tmp/set$1"
    mkdir -p "$dir"
    for ((i = 0; i < n; i++)); do
        local s="${samples[i % ${#samples[@]}]}"
        ln -s "$s" "$dir/$(printf '%05d' "$i")_$(basename "$s")"
    done
    # GNU time's %M: maximum resident set size in KiB.
    /usr/bin/time -f '%M' -o "$tmp/rss$n" \
        "$bin" analyze "$dir" --jsonl "$tmp/out$n.jsonl" --no-report --quiet ${THREADS:+--threads $THREADS} || true
    local lines
    lines=$(wc -l < "$tmp/out$n.jsonl")
    [ "$lines" -eq "$n" ] || { echo "expected $n results, got $lines" >&2; exit 1; }
    cat "$tmp/rss$n"
}
small=$(peak 20)
large=$(peak 2000)
awk -v s="$small" -v l="$large" 'BEGIN {
    printf "peak RSS: 20 images %.1f MiB, 2000 images %.1f MiB, ratio %.3f\n", s / 1024, l / 1024, l / s }'
