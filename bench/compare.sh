#!/bin/bash
# Times vdconvert against the peer pipelines on the same generated input, in one run, and
# prints a Markdown report (wall time, ratio, peak RSS). Usage:
#   bench/compare.sh [VDCONVERT] [WORKDIR] > report.md
# Defaults: build/tools/vdconvert and a directory under /var/tmp (not tmpfs).
# Each command runs REPS times (default 3) after one warm-up; the best time is reported, with
# the page cache warm for both sides. Knobs: DISK_GIB (virtual size), DATA_MIB (data written).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
VD=$(realpath "${1:-$here/../build/tools/vdconvert}")
WORK=${2:-/var/tmp/vdisk-bench}
REPS=${REPS:-3}
DISK_GIB=${DISK_GIB:-4}
DATA_MIB=${DATA_MIB:-512}
command -v qemu-img >/dev/null || { echo "qemu-img is required" >&2; exit 1; }
[ -x "$VD" ] || { echo "vdconvert not found at $VD" >&2; exit 1; }
mkdir -p "$WORK"; cd "$WORK"

# The input: a sparse raw disk of DISK_GIB GiB holding DATA_MIB MiB of real binaries (about 2:1
# compressible, like an OS disk) in 8 regions spread across the disk, with holes between.
make_input() {
  [ -f disk.raw ] && [ "$(stat -c %s disk.raw)" = $((DISK_GIB << 30)) ] && return
  rm -f disk.raw corpus.bin
  find /usr/lib /usr/bin -type f -size +64k 2>/dev/null | sort | xargs cat 2>/dev/null \
    | head -c $((DATA_MIB << 20)) > corpus.bin || true
  truncate -s $((DISK_GIB << 30)) disk.raw
  local per=$((DATA_MIB / 8)) i
  for i in 0 1 2 3 4 5 6 7; do
    dd if=corpus.bin of=disk.raw bs=1M skip=$((i * per)) count=$per \
       seek=$((i * (DISK_GIB << 10) / 8)) conv=notrunc status=none
  done
  rm -f corpus.bin
}

# measure NAME OUTPUT COMMAND...: best wall time and its peak RSS over REPS runs.
declare -A TIME RSS
measure() {
  local name=$1 out=$2; shift 2
  local best="" rss="" t m i
  rm -f "$out"; "$@" >/dev/null 2>&1  # warm-up
  for ((i = 0; i < REPS; i++)); do
    rm -f "$out"; sync  # no writeback of an earlier run inside this one
    /usr/bin/time -f "%e %M" -o time.txt "$@" >/dev/null 2>&1
    read -r t m < time.txt
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; rss=$m; fi
  done
  TIME[$name]=$best; RSS[$name]=$rss
}
ratio() { awk "BEGIN{printf \"%.2f\", ${TIME[$1]} / ${TIME[$2]}}"; }
row() { printf '| %s | `%s` | %s s | %s MiB |\n' "$1" "$2" "${TIME[$1]}" "$((RSS[$1] / 1024))"; }

make_input
cpus=$(nproc); model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')

# Azure fixed VHD: vdconvert pads to a whole MiB itself; qemu-img needs force_size (and a
# separate resize when the size is not MiB-aligned; this input is aligned, so it is not run).
measure vd_azure out.vhd "$VD" convert --to azure --quiet disk.raw out.vhd
measure vd_azure_nosync out.vhd "$VD" convert --to azure --quiet --no-sync disk.raw out.vhd
measure qemu_vpc q.vhd qemu-img convert -f raw -O vpc -o subformat=fixed,force_size disk.raw q.vhd
measure qemu_vpc_sync q.vhd sh -c \
  'qemu-img convert -f raw -O vpc -o subformat=fixed,force_size disk.raw q.vhd && sync q.vhd'

cat <<EOF2
### Raw sparse disk to Azure fixed VHD

Input: ${DISK_GIB} GiB sparse raw disk with ${DATA_MIB} MiB of data (binaries from /usr, 8 regions).
Machine: ${cpus} cores, ${model}. Best of ${REPS} runs after a warm-up, page cache warm.

| run | command | wall | peak RSS |
|---|---|---|---|
$(row vd_azure "vdconvert convert --to azure disk.raw out.vhd")
$(row vd_azure_nosync "vdconvert convert --to azure --no-sync disk.raw out.vhd")
$(row qemu_vpc "qemu-img convert -f raw -O vpc -o subformat=fixed,force_size disk.raw q.vhd")
$(row qemu_vpc_sync "qemu-img convert ... q.vhd && sync q.vhd")

Speed-up over qemu-img, both flushing to disk (vdconvert's default fsync; qemu-img followed
by \`sync FILE\`): **$(ratio qemu_vpc_sync vd_azure)x**; neither flushing (\`--no-sync\`; qemu-img
does not fsync its output): **$(ratio qemu_vpc vd_azure_nosync)x**.
EOF2
rm -f out.vhd q.vhd

# Dynamic VHD (as Hyper-V and qemu-img make them) to Azure fixed VHD: exercises the BAT reader.
rm -f dyn.vhd; qemu-img convert -f raw -O vpc -o subformat=dynamic disk.raw dyn.vhd
measure vd_dyn out.vhd "$VD" convert --to azure --quiet --no-sync dyn.vhd out.vhd
measure qemu_dyn q.vhd qemu-img convert -f vpc -O vpc -o subformat=fixed,force_size dyn.vhd q.vhd

# Scaling with data, not virtual size: a 64 GiB sparse disk holding 100 MiB.
rm -f big.raw; truncate -s 64G big.raw
head -c $((100 << 20)) disk.raw | dd of=big.raw bs=1M seek=$((32 << 10)) conv=notrunc status=none
measure vd_big out.vhd "$VD" convert --to azure --quiet --no-sync big.raw out.vhd
measure qemu_big q.vhd qemu-img convert -f raw -O vpc -o subformat=fixed,force_size big.raw q.vhd

cat <<EOF2

### Dynamic VHD to Azure fixed VHD, and a 64 GiB sparse disk

| run | command | wall | peak RSS |
|---|---|---|---|
$(row vd_dyn "vdconvert convert --to azure --no-sync dyn.vhd out.vhd")
$(row qemu_dyn "qemu-img convert -f vpc -O vpc -o subformat=fixed,force_size dyn.vhd q.vhd")
$(row vd_big "vdconvert convert --to azure --no-sync big.raw out.vhd")
$(row qemu_big "qemu-img convert -f raw -O vpc -o subformat=fixed,force_size big.raw q.vhd")

Dynamic VHD: **$(ratio qemu_dyn vd_dyn)x**; 64 GiB sparse raw with 100 MiB of data:
**$(ratio qemu_big vd_big)x** (\`dyn.vhd\` is \`disk.raw\` converted by
\`qemu-img convert -O vpc -o subformat=dynamic\`).
EOF2
rm -f out.vhd q.vhd dyn.vhd big.raw
