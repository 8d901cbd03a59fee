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

source "$here/bench_lib.sh"
make_input() { make_sparse_disk disk.raw || true; }

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
