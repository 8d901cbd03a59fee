#!/bin/bash
# Cost and benefit of `vdconvert convert --to gcp --detect-zeroes` (the zero-scan pre-pass), on
# the same generated inputs in one run. Prints a Markdown table: wall time, peak RSS, .tar.gz
# size, and the uncompressed tar size (what GCP unpacks: header + the member's stored regions).
#   bench/gcp_detect_zeroes.sh [VDCONVERT] [WORKDIR] > report.md
# Inputs (DISK_MIB virtual size, DATA_MIB of real binaries in 8 regions):
#   allocated.raw  every byte written (the zero regions are written zeros, as after `dd` of a
#                  disk or a VM image copied without sparseness): the case --detect-zeroes is for;
#   sparse.raw     the same content with holes where the zeros are: the map is already exact,
#                  so the scan is pure cost.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
VD=$(realpath "${1:-$here/../build/tools/vdconvert}")
WORK=${2:-/var/tmp/vdisk-bench-dz}
REPS=${REPS:-3}
DISK_MIB=${DISK_MIB:-2048}
DATA_MIB=${DATA_MIB:-256}
[ -x "$VD" ] || { echo "vdconvert not found at $VD" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "/usr/bin/time is required (package time)" >&2; exit 1; }
mkdir -p "$WORK"; cd "$WORK"

if [ ! -f sparse.raw ] || [ "$(stat -c %s sparse.raw)" != $((DISK_MIB << 20)) ]; then
  rm -f sparse.raw allocated.raw corpus.bin
  find /usr/lib /usr/bin -type f -size +64k 2>/dev/null | sort | xargs cat 2>/dev/null \
    | head -c $((DATA_MIB << 20)) > corpus.bin || true
  truncate -s $((DISK_MIB << 20)) sparse.raw
  per=$((DATA_MIB / 8))
  for i in 0 1 2 3 4 5 6 7; do
    dd if=corpus.bin of=sparse.raw bs=1M skip=$((i * per)) count=$per \
       seek=$((i * DISK_MIB / 8)) conv=notrunc status=none
  done
  cp --sparse=never sparse.raw allocated.raw
  rm -f corpus.bin
fi

# run NAME OUT ARGS...: best wall time over REPS (after one warm-up), peak RSS, sizes.
run() {
  local name=$1 out=$2; shift 2
  local best="" rss="" t m i
  "$VD" convert --to gcp -q --no-sync --force "$@" "$out" >/dev/null
  for ((i = 0; i < REPS; i++)); do
    /usr/bin/time -f '%e %M' -o time.txt "$VD" convert --to gcp -q --no-sync --force --json "$@" "$out" > report.json
    read -r t m < time.txt
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; rss=$m; fi
  done
  local stored
  stored=$(gzip -dc "$out" | wc -c)
  printf '| %s | %s | %d | %d | %.1f |\n' "$name" "$best" "$((rss / 1024))" "$(stat -c %s "$out")" \
    "$(awk "BEGIN{print $stored / 1048576}")"
}

echo "Disk: ${DISK_MIB} MiB virtual, ${DATA_MIB} MiB of binaries in 8 regions; $(nproc) CPUs; best of $REPS."
echo
echo "| input, options | wall s | peak RSS MiB | .tar.gz bytes | uncompressed tar MiB |"
echo "|---|---:|---:|---:|---:|"
run "allocated.raw" out.tar.gz allocated.raw
run "allocated.raw --detect-zeroes" out.tar.gz --detect-zeroes allocated.raw
run "sparse.raw" out.tar.gz sparse.raw
run "sparse.raw --detect-zeroes" out.tar.gz --detect-zeroes sparse.raw
