#!/usr/bin/env bash
# Builds samples/video/people_cuts.mp4 from the public-domain photos in
# samples/people/ (credits in samples/CREDITS.md), with ffmpeg only, and its
# ground truth samples/video/people_cuts.tsv. Reproducible: fixed sizes,
# rates and encoder settings, one encoder thread, no metadata.
#
#   0-3 s   person A (Barack Obama, official portrait)
#   3-6 s   person B (Joe Biden, official portrait)
#   6-9 s   person A again (another photo: address to Congress)
#   9-15 s  person C (Peggy Whitson aboard the ISS), a slow pan to the right
#           across the photo: her face drifts from the centre to the left edge
#   15-18 s person D (Ron Garan, official portrait)
#
# Usage: scripts/make_sample_video.sh [OUT.mp4]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v ffmpeg >/dev/null || { echo "ffmpeg is missing: install the Debian package ffmpeg (apt-get install ffmpeg)" >&2; exit 2; }

out="${1:-samples/video/people_cuts.mp4}"
p=samples/people
# Each photo fitted into 640x480 on black, 25 frames per second.
fit="scale=640:480:force_original_aspect_ratio=decrease,pad=640:480:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=25"
ffmpeg -nostdin -y -v error \
  -loop 1 -framerate 25 -t 3 -i "$p/obama_portrait_2012.jpg" \
  -loop 1 -framerate 25 -t 3 -i "$p/biden_portrait_2013.jpg" \
  -loop 1 -framerate 25 -t 3 -i "$p/obama_congress_2009.jpg" \
  -loop 1 -framerate 25 -t 6 -i "$p/whitson_iss_2007.jpg" \
  -loop 1 -framerate 25 -t 3 -i "$p/garan_portrait.jpg" \
  -filter_complex "\
[0]$fit[a];[1]$fit[b];[2]$fit[c];\
[3]scale=-2:720,crop=640:480:x='447*t/6':y=0,setsar=1,fps=25[d];\
[4]$fit[e];\
[a][b][c][d][e]concat=n=5:v=1:a=0,format=yuv420p[v]" \
  -map "[v]" -c:v libx264 -preset medium -crf 26 -threads 1 -g 50 \
  -map_metadata -1 -fflags +bitexact -flags:v +bitexact -movflags +faststart \
  "$out"

truth="${out%.mp4}.tsv"
printf 'person\tname\tstart\tend\tphoto\n' > "$truth"
printf 'A\tBarack Obama\t0\t3\tobama_portrait_2012.jpg\n' >> "$truth"
printf 'B\tJoe Biden\t3\t6\tbiden_portrait_2013.jpg\n' >> "$truth"
printf 'A\tBarack Obama\t6\t9\tobama_congress_2009.jpg\n' >> "$truth"
printf 'C\tPeggy Whitson\t9\t15\twhitson_iss_2007.jpg (pan)\n' >> "$truth"
printf 'D\tRon Garan\t15\t18\tgaran_portrait.jpg\n' >> "$truth"
echo "wrote $out ($(stat -c %s "$out") bytes) and $truth"
