#!/bin/bash
# Times reading an OVA: the bench disk as a streamOptimized VMDK packed in an OVA (descriptor,
# SHA-256 manifest, disk; tests/interop/make_ova.py), converted to Azure from stdin and from the
# file, against the plain VMDK from stdin, and prints a Markdown report. Usage:
#   bench/ova_compare.sh [VDCONVERT] [WORKDIR] > report.md
# Each command runs REPS times (default 3) after one warm-up; the median is reported. The last
# output of each command is checked: the Azure VHD's first virtual-size bytes hash as the raw disk does.
# Knobs: DISK_GIB (virtual size), DATA_MIB (data written).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
VD=$(realpath "${1:-$here/../build/tools/vdconvert}")
WORK=${2:-/var/tmp/vdisk-ova-bench}
REPS=${REPS:-3}
DISK_GIB=${DISK_GIB:-4}
DATA_MIB=${DATA_MIB:-512}
[ -x "$VD" ] || { echo "vdconvert not found at $VD" >&2; exit 1; }
mkdir -p "$WORK"; cd "$WORK"
source "$here/bench_lib.sh"
export SOURCE_DATE_EPOCH=0

make_sparse_disk disk.raw || rm -f disk.vmdk disk.ova disk.sha
[ -f disk.vmdk ] || "$VD" convert --quiet --no-sync --to vmdk disk.raw disk.vmdk
[ -f disk.ova ] || python3 "$here/../tests/interop/make_ova.py" disk.ova disk.vmdk
[ -f disk.sha ] || sha256sum < disk.raw | cut -c1-64 > disk.sha
want=$(cat disk.sha)
load=$(cut -d' ' -f1-3 /proc/loadavg)
cpus=$(nproc); model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')

# median NAME COMMAND: median wall time (and its CPU time) of REPS runs after a warm-up; the
# last run's out.vhd is verified against the disk.
declare -A MED MCPU
median() {
  local name=$1; shift
  local rows=() i t m u s
  rm -f out.vhd; "$@" >/dev/null 2>&1
  for ((i = 0; i < REPS; i++)); do
    rm -f out.vhd
    /usr/bin/time -f "%e %M %U %S" -o time.txt "$@" >/dev/null 2>&1
    read -r t m u s < time.txt
    rows+=("$t $(awk "BEGIN{printf \"%.2f\", $u + $s}")")
  done
  got=$(head -c $((DISK_GIB << 30)) out.vhd | sha256sum | cut -c1-64)
  [ "$got" = "$want" ] || { echo "$name: output differs from the disk" >&2; exit 1; }
  read -r MED[$name] MCPU[$name] < <(printf '%s\n' "${rows[@]}" | sort -n | sed -n "$(((REPS + 1) / 2))p")
}
median vmdk_stdin sh -c "cat disk.vmdk | '$VD' convert --quiet --no-sync --to azure - out.vhd"
median ova_stdin sh -c "cat disk.ova | '$VD' convert --quiet --no-sync --to azure - out.vhd"
median ova_file "$VD" convert --quiet --no-sync --to azure disk.ova out.vhd
median ova_file_noverify "$VD" convert --quiet --no-sync --no-verify --to azure disk.ova out.vhd
r() { awk "BEGIN{printf \"%.2f\", ${MED[$1]} / ${MED[$2]}}"; }
line() { printf '| %s | `%s` | %s s | %s s | %sx |\n' "$1" "$2" "${MED[$1]}" "${MCPU[$1]}" "$(r "$1" vmdk_stdin)"; }

cat <<EOF2
### OVA (streamOptimized VMDK inside) to Azure

Input: ${DISK_GIB} GiB sparse raw disk with ${DATA_MIB} MiB of data (binaries from /usr, 8
regions), written as a streamOptimized VMDK by vdconvert ($(stat -c %s disk.vmdk) bytes) and
packed in an OVA with a SHA-256 manifest ($(stat -c %s disk.ova) bytes). Machine: ${cpus} cores,
${model}. Median of ${REPS} runs after a warm-up, page cache warm, --no-sync; the last output of each
command verified by sha256 against the raw disk. Load average at the start: ${load}.

| run | command | wall | CPU (user+sys) | vs plain VMDK stdin |
|---|---|---|---|---|
$(line vmdk_stdin "cat disk.vmdk | vdconvert convert --to azure - out.vhd")
$(line ova_stdin "cat disk.ova | vdconvert convert --to azure - out.vhd")
$(line ova_file "vdconvert convert --to azure disk.ova out.vhd")
$(line ova_file_noverify "vdconvert convert --no-verify --to azure disk.ova out.vhd")

OVA from stdin vs the plain VMDK from stdin: **$(r ova_stdin vmdk_stdin)x** (goal <= 1.1x).
EOF2
rm -f out.vhd time.txt
