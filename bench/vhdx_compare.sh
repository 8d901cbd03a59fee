#!/bin/bash
# Times reading VHDX with vdconvert against qemu-img: an uncompressed dynamic VHDX that qemu-img
# makes of the generated bench disk, converted to raw by both; prints a Markdown report. Usage:
#   bench/vhdx_compare.sh [VDCONVERT] [WORKDIR] > report.md
# Defaults: build/tools/vdconvert and a directory under /var/tmp (not tmpfs). Each command runs
# REPS times (default 3) after one warm-up; the median time is reported, page cache warm; both
# outputs are checked sha256-equal. Knobs: DISK_GIB (virtual size, default 8), DATA_MIB (data
# written, default 1536), BLOCK (VHDX block size, default qemu-img's choice).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
VD=$(realpath "${1:-$here/../build/tools/vdconvert}")
WORK=${2:-/var/tmp/vdisk-vhdx-bench}
REPS=${REPS:-3}
DISK_GIB=${DISK_GIB:-8}
DATA_MIB=${DATA_MIB:-1536}
BLOCK=${BLOCK:-}
command -v qemu-img >/dev/null || { echo "qemu-img is required" >&2; exit 1; }
[ -x "$VD" ] || { echo "vdconvert not found at $VD" >&2; exit 1; }
mkdir -p "$WORK"; cd "$WORK"
source "$here/bench_lib.sh"

opts=subformat=dynamic${BLOCK:+,block_size=$BLOCK}
make_sparse_disk disk.raw || rm -f dyn.vhdx
[ -f dyn.vhdx ] || qemu-img convert -f raw -O vhdx -o "$opts" disk.raw dyn.vhdx

# measure_median NAME OUTPUT COMMAND...: median wall time over REPS runs (after a warm-up),
# with that run's CPU time and peak RSS, into bench_lib.sh's TIME / CPU / RSS.
measure_median() {
  local name=$1 out=$2; shift 2
  local i rows=()
  rm -f "$out"; "$@" >/dev/null 2>&1
  for ((i = 0; i < REPS; i++)); do
    rm -f "$out"
    /usr/bin/time -f "%e %M %U %S" -o time.txt "$@" >/dev/null 2>&1
    rows+=("$(cat time.txt)")
  done
  local mid
  mid=$(printf '%s\n' "${rows[@]}" | sort -n | sed -n "$(( (REPS + 1) / 2 ))p")
  read -r t m u s <<< "$mid"
  TIME[$name]=$t; RSS[$name]=$m; CPU[$name]=$(awk "BEGIN{printf \"%.2f\", $u + $s}")
}

load=$(cut -d' ' -f1-3 /proc/loadavg)
cpus=$(nproc); model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
mib() { echo $(( $(stat -c %s "$1") >> 20 )); }
block=$("$VD" info --json dyn.vhdx | python3 -c 'import json,sys; print(json.load(sys.stdin)["block_size"] >> 20)')

measure_median vd out.raw "$VD" convert --to raw --quiet --no-sync dyn.vhdx out.raw
vd_sha=$(sha256sum out.raw | cut -c1-64)
measure_median qemu q.raw qemu-img convert -f vhdx -O raw dyn.vhdx q.raw
q_sha=$(sha256sum q.raw | cut -c1-64)
[ "$vd_sha" = "$q_sha" ] || { echo "outputs differ: vdconvert $vd_sha, qemu-img $q_sha" >&2; exit 1; }

cat <<EOF2
### VHDX (qemu-img made, dynamic) to raw

Input: ${DISK_GIB} GiB sparse raw disk with ${DATA_MIB} MiB of data (binaries from /usr, 8
regions), made by \`qemu-img convert -O vhdx -o ${opts}\` into dyn.vhdx ($(mib dyn.vhdx) MiB,
${block} MiB blocks). Machine: ${cpus} cores, ${model}. Median of ${REPS} runs after a warm-up,
page cache warm; vdconvert with --no-sync (qemu-img does not fsync either); both raw outputs
sha256 ${vd_sha:0:16}...

Load average at the start: ${load}.

| run | command | wall | CPU (user+sys) | peak RSS |
|---|---|---|---|---|
$(row vd "vdconvert convert --to raw --no-sync dyn.vhdx out.raw")
$(row qemu "qemu-img convert -f vhdx -O raw dyn.vhdx q.raw")

Dynamic VHDX -> raw speed-up over qemu-img: **$(ratio qemu vd)x** wall, $(cpu_ratio qemu vd)x CPU
(goal >= 1x).
EOF2
rm -f out.raw q.raw
