#!/bin/bash
# Times reading QCOW2 with vdconvert against qemu-img, in one run, from qcow2 images qemu-img
# makes of the same generated disk, and prints a Markdown report. Usage:
#   bench/qcow2_compare.sh [VDCONVERT] [WORKDIR] > report.md
# Defaults: build/tools/vdconvert and a directory under /var/tmp (not tmpfs). Each command runs
# REPS times (default 3) after one warm-up; the best time is reported, page cache warm.
# Knobs: DISK_GIB (virtual size), DATA_MIB (data written).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
VD=$(realpath "${1:-$here/../build/tools/vdconvert}")
WORK=${2:-/var/tmp/vdisk-qcow2-bench}
REPS=${REPS:-3}
DISK_GIB=${DISK_GIB:-4}
DATA_MIB=${DATA_MIB:-512}
command -v qemu-img >/dev/null || { echo "qemu-img is required" >&2; exit 1; }
[ -x "$VD" ] || { echo "vdconvert not found at $VD" >&2; exit 1; }
mkdir -p "$WORK"; cd "$WORK"
source "$here/bench_lib.sh"

# The input (bench_lib.sh) and the qcow2 images qemu-img makes of it.
make_input() {
  make_sparse_disk disk.raw || rm -f plain.qcow2 zlib.qcow2 zstd.qcow2
  [ -f plain.qcow2 ] || qemu-img convert -f raw -O qcow2 disk.raw plain.qcow2
  [ -f zlib.qcow2 ] || qemu-img convert -f raw -O qcow2 -c disk.raw zlib.qcow2
  [ -f zstd.qcow2 ] || qemu-img convert -f raw -O qcow2 -c -o compression_type=zstd disk.raw zstd.qcow2
}

make_input
load=$(cut -d' ' -f1-3 /proc/loadavg)
cpus=$(nproc); model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
mib() { echo $(( $(stat -c %s "$1") >> 20 )); }

for c in zlib zstd; do
  measure vd_$c out.vhd "$VD" convert --to azure --quiet --no-sync $c.qcow2 out.vhd
  measure qemu_$c q.vhd qemu-img convert -O vpc -o subformat=fixed,force_size $c.qcow2 q.vhd
done
measure vd_plain out.raw "$VD" convert --to raw --quiet --no-sync plain.qcow2 out.raw
measure qemu_plain q.raw qemu-img convert -O raw plain.qcow2 q.raw

cat <<EOF2
### QCOW2 inputs (qemu-img made) to Azure VHD and raw

Input: ${DISK_GIB} GiB sparse raw disk with ${DATA_MIB} MiB of data (binaries from /usr, 8
regions), made by qemu-img into plain.qcow2 ($(mib plain.qcow2) MiB), zlib.qcow2 (\`-c\`,
$(mib zlib.qcow2) MiB) and zstd.qcow2 (\`-c -o compression_type=zstd\`, $(mib zstd.qcow2) MiB).
Machine: ${cpus} cores, ${model}. Best of ${REPS} runs after a warm-up, page cache warm;
vdconvert with --no-sync (qemu-img does not fsync either).

Load average at the start: ${load}.

| run | command | wall | CPU (user+sys) | peak RSS |
|---|---|---|---|---|
$(row vd_zlib "vdconvert convert --to azure --no-sync zlib.qcow2 out.vhd")
$(row qemu_zlib "qemu-img convert -O vpc -o subformat=fixed,force_size zlib.qcow2 q.vhd")
$(row vd_zstd "vdconvert convert --to azure --no-sync zstd.qcow2 out.vhd")
$(row qemu_zstd "qemu-img convert -O vpc -o subformat=fixed,force_size zstd.qcow2 q.vhd")
$(row vd_plain "vdconvert convert --to raw --no-sync plain.qcow2 out.raw")
$(row qemu_plain "qemu-img convert -O raw plain.qcow2 q.raw")

Compressed qcow2 -> Azure VHD speed-up over qemu-img: zlib **$(ratio qemu_zlib vd_zlib)x**, zstd
**$(ratio qemu_zstd vd_zstd)x** wall (goal >= 3x). Uncompressed qcow2 -> raw:
**$(ratio qemu_plain vd_plain)x** (goal >= 1x).
EOF2
rm -f out.vhd q.vhd out.raw q.raw
