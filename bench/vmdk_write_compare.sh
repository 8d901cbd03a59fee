#!/bin/bash
# Times writing a streamOptimized VMDK: vdconvert against qemu-img from the same raw disk, in
# one run, with the hardware floor (reading the disk) beside them, and prints a Markdown report
# (wall, CPU, peak RSS, output size). Usage:
#   bench/vmdk_write_compare.sh [VDCONVERT] [WORKDIR] > report.md
# Defaults: build/tools/vdconvert and a directory under /var/tmp (not tmpfs).
# Each command runs REPS times (default 3) after one warm-up; the best time is reported, with
# the page cache warm for both sides. Knobs: DISK_GIB (virtual size), DATA_MIB (data written).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
VD=$(realpath "${1:-$here/../build/tools/vdconvert}")
WORK=${2:-/var/tmp/vdisk-vmdk-write-bench}
REPS=${REPS:-3}
DISK_GIB=${DISK_GIB:-4}
DATA_MIB=${DATA_MIB:-512}
command -v qemu-img >/dev/null || { echo "qemu-img is required" >&2; exit 1; }
[ -x "$VD" ] || { echo "vdconvert not found at $VD" >&2; exit 1; }
mkdir -p "$WORK"; cd "$WORK"

# The input: a sparse raw disk of DISK_GIB GiB holding DATA_MIB MiB of real binaries (about 2:1
# compressible, like an OS disk) in 8 regions spread across the disk, with holes between; then
# nothing else (the VMDKs are what this benchmark writes).
make_input() {
  if [ ! -f disk.raw ] || [ "$(stat -c %s disk.raw)" != $((DISK_GIB << 30)) ]; then
    rm -f disk.raw corpus.bin stream.vmdk sparse.vmdk
    find /usr/lib /usr/bin -type f -size +64k 2>/dev/null | sort | xargs cat 2>/dev/null \
      | head -c $((DATA_MIB << 20)) > corpus.bin || true
    truncate -s $((DISK_GIB << 30)) disk.raw
    local per=$((DATA_MIB / 8)) i
    for i in 0 1 2 3 4 5 6 7; do
      dd if=corpus.bin of=disk.raw bs=1M skip=$((i * per)) count=$per \
         seek=$((i * (DISK_GIB << 10) / 8)) conv=notrunc status=none
    done
    rm -f corpus.bin
  fi
}

# measure NAME OUTPUT COMMAND...: best wall time, its CPU time (user + sys) and peak RSS over
# REPS runs. The CPU time shows the work done when the machine is shared (wall time then
# depends on the other load).
declare -A TIME RSS CPU
measure() {
  local name=$1 out=$2; shift 2
  local best="" rss="" cpu="" t m u s i
  rm -f "$out"; "$@" >/dev/null 2>&1  # warm-up
  for ((i = 0; i < REPS; i++)); do
    rm -f "$out"
    /usr/bin/time -f "%e %M %U %S" -o time.txt "$@" >/dev/null 2>&1
    read -r t m u s < time.txt
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then
      best=$t; rss=$m; cpu=$(awk "BEGIN{printf \"%.2f\", $u + $s}")
    fi
  done
  TIME[$name]=$best; RSS[$name]=$rss; CPU[$name]=$cpu
}
ratio() { awk "BEGIN{printf \"%.2f\", ${TIME[$1]} / ${TIME[$2]}}"; }
cpu_ratio() { awk "BEGIN{printf \"%.2f\", ${CPU[$1]} / ${CPU[$2]}}"; }
row() { printf '| %s | `%s` | %s s | %s s | %s MiB |\n' "$1" "$2" "${TIME[$1]}" "${CPU[$1]}" "$((RSS[$1] / 1024))"; }

make_input
load=$(cut -d' ' -f1-3 /proc/loadavg)
cpus=$(nproc); model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')

# The floor: reading the disk's data once (holes read as zeros from the page cache).
measure floor /dev/null cat disk.raw
measure vd_stream out.vmdk "$VD" convert --to vmdk --quiet --no-sync disk.raw out.vmdk
vd_bytes=$(stat -c %s out.vmdk)
measure qemu_stream q.vmdk qemu-img convert -f raw -O vmdk -o subformat=streamOptimized disk.raw q.vmdk
qemu_bytes=$(stat -c %s q.vmdk)
measure vd_level9 out9.vmdk "$VD" convert --to vmdk --level 9 --quiet --no-sync disk.raw out9.vmdk
vd9_bytes=$(stat -c %s out9.vmdk)
same=$(qemu-img compare -q out.vmdk q.vmdk && echo "identical" || echo "DIFFERENT")

cat <<EOF2
### Raw to streamOptimized VMDK

Input: ${DISK_GIB} GiB sparse raw disk with ${DATA_MIB} MiB of data (binaries from /usr, 8
regions). Machine: ${cpus} cores, ${model}. Best of ${REPS} runs after a warm-up, page cache
warm; vdconvert with --no-sync (qemu-img does not fsync either). \`qemu-img compare\` of the two
outputs: ${same}.

Load average at the start: ${load}.

| run | command | wall | CPU (user+sys) | peak RSS |
|---|---|---|---|---|
$(row floor "cat disk.raw > /dev/null")
$(row vd_stream "vdconvert convert --to vmdk --no-sync disk.raw out.vmdk")
$(row qemu_stream "qemu-img convert -f raw -O vmdk -o subformat=streamOptimized disk.raw q.vmdk")
$(row vd_level9 "vdconvert convert --to vmdk --level 9 --no-sync disk.raw out9.vmdk")

| output | bytes | vs qemu-img |
|---|---|---|
| vdconvert (default level 6) | ${vd_bytes} | $(awk "BEGIN{printf \"%.3f\", ${vd_bytes} / ${qemu_bytes}}") |
| vdconvert --level 9 | ${vd9_bytes} | $(awk "BEGIN{printf \"%.3f\", ${vd9_bytes} / ${qemu_bytes}}") |
| qemu-img | ${qemu_bytes} | 1.000 |

Speed-up over qemu-img at the default level: **$(ratio qemu_stream vd_stream)x** wall,
$(cpu_ratio qemu_stream vd_stream)x CPU (goal >= 6x wall, size <= 1.05x).
EOF2
rm -f out.vmdk q.vmdk out9.vmdk
