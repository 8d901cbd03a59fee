#!/bin/bash
# Times vdconvert against qemu-img on VMDK inputs made by qemu-img from the same generated disk,
# in one run, and prints a Markdown report (wall time, ratio, peak RSS). Usage:
#   bench/vmdk_compare.sh [VDCONVERT] [WORKDIR] > report.md
# Defaults: build/tools/vdconvert and a directory under /var/tmp (not tmpfs).
# Each command runs REPS times (default 3) after one warm-up; the best time is reported, with
# the page cache warm for both sides. Knobs: DISK_GIB (virtual size), DATA_MIB (data written).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
VD=$(realpath "${1:-$here/../build/tools/vdconvert}")
WORK=${2:-/var/tmp/vdisk-vmdk-bench}
REPS=${REPS:-3}
DISK_GIB=${DISK_GIB:-4}
DATA_MIB=${DATA_MIB:-512}
command -v qemu-img >/dev/null || { echo "qemu-img is required" >&2; exit 1; }
[ -x "$VD" ] || { echo "vdconvert not found at $VD" >&2; exit 1; }
mkdir -p "$WORK"; cd "$WORK"

source "$here/bench_lib.sh"

# The input (bench_lib.sh) and the two VMDKs qemu-img makes of it.
make_input() {
  make_sparse_disk disk.raw || rm -f stream.vmdk sparse.vmdk
  [ -f stream.vmdk ] || qemu-img convert -f raw -O vmdk -o subformat=streamOptimized disk.raw stream.vmdk
  [ -f sparse.vmdk ] || qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse disk.raw sparse.vmdk
}

make_input
load=$(cut -d' ' -f1-3 /proc/loadavg)
cpus=$(nproc); model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
stream_mib=$(( $(stat -c %s stream.vmdk) >> 20 )); sparse_mib=$(( $(stat -c %s sparse.vmdk) >> 20 ))

# streamOptimized -> Azure fixed VHD (the disk size is a whole MiB, so force_size is enough).
measure vd_azure out.vhd "$VD" convert --to azure --quiet --no-sync stream.vmdk out.vhd
measure qemu_vpc q.vhd qemu-img convert -O vpc -o subformat=fixed,force_size stream.vmdk q.vhd
# monolithicSparse -> raw.
measure vd_raw out.raw "$VD" convert --to raw --quiet --no-sync sparse.vmdk out.raw
measure qemu_raw q.raw qemu-img convert -O raw sparse.vmdk q.raw

cat <<EOF2
### VMDK inputs (qemu-img made) to Azure VHD and raw

Input: ${DISK_GIB} GiB sparse raw disk with ${DATA_MIB} MiB of data (binaries from /usr, 8 regions),
made into stream.vmdk (streamOptimized, ${stream_mib} MiB) and sparse.vmdk (monolithicSparse,
${sparse_mib} MiB) by qemu-img. Machine: ${cpus} cores, ${model}. Best of ${REPS} runs after a
warm-up, page cache warm. vdconvert runs with --no-sync (qemu-img does not fsync either).

Load average at the start: ${load}.

| run | command | wall | CPU (user+sys) | peak RSS |
|---|---|---|---|---|
$(row vd_azure "vdconvert convert --to azure --no-sync stream.vmdk out.vhd")
$(row qemu_vpc "qemu-img convert -O vpc -o subformat=fixed,force_size stream.vmdk q.vhd")
$(row vd_raw "vdconvert convert --to raw --no-sync sparse.vmdk out.raw")
$(row qemu_raw "qemu-img convert -O raw sparse.vmdk q.raw")

streamOptimized -> Azure VHD speed-up over qemu-img: **$(ratio qemu_vpc vd_azure)x** wall,
$(cpu_ratio qemu_vpc vd_azure)x CPU (goal >= 1.8x wall).
monolithicSparse -> raw speed-up over qemu-img: **$(ratio qemu_raw vd_raw)x** wall,
$(cpu_ratio qemu_raw vd_raw)x CPU (goal >= 1x wall).
EOF2
rm -f out.vhd q.vhd out.raw q.raw
