#!/bin/bash
# GCP image tarball: times vdconvert --to gcp against the pipelines people run today, on the
# same generated disk in one run, and prints a Markdown report (wall time, peak RSS, output
# size, ratios). Usage:
#   bench/gcp_compare.sh [VDCONVERT] [WORKDIR] > report.md
# Defaults: build/tools/vdconvert and /var/tmp/vdisk-gcp-bench (not tmpfs). Each timed command
# runs REPS times (default 3) after one warm-up; the best time is reported. Knobs: DISK_GIB
# (virtual size, whole GiB as GCP requires), DATA_MIB (data written).
#
# The source is a dynamic VHD made by qemu-img from the same sparse raw disk that
# bench/compare.sh generates, so every pipeline has to convert first:
#   peers:     qemu-img convert -O raw, then GNU tar --format=oldgnu -S with gzip (-z) or pigz
#   vdconvert: one command, default level and --level 9
# Size goals (issue 5): default level <= 1.10 x `pigz -6`; --level 9 <= `gzip -9` (both over
# GNU tar's sparse oldgnu archive of the same disk).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
VD=$(realpath "${1:-$here/../build/tools/vdconvert}")
WORK=${2:-/var/tmp/vdisk-gcp-bench}
REPS=${REPS:-3}
DISK_GIB=${DISK_GIB:-4}
DATA_MIB=${DATA_MIB:-512}
for t in qemu-img tar gzip pigz; do
  command -v $t >/dev/null || { echo "$t is required" >&2; exit 1; }
done
[ -x "$VD" ] || { echo "vdconvert not found at $VD" >&2; exit 1; }
mkdir -p "$WORK"; cd "$WORK"

# The input, as in bench/compare.sh: a sparse raw disk of DISK_GIB GiB holding DATA_MIB MiB of
# real binaries (about 2:1 compressible, like an OS disk) in 8 regions, holes between.
make_input() {
  if ! [ -f disk.raw ] || [ "$(stat -c %s disk.raw)" != $((DISK_GIB << 30)) ]; then
    rm -f disk.raw corpus.bin src.vhd
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
  [ -f src.vhd ] || qemu-img convert -f raw -O vpc -o subformat=dynamic,force_size disk.raw src.vhd
}

declare -A TIME RSS SIZE
# measure NAME OUTPUT COMMAND...: best wall time, its peak RSS, and the output's size.
measure() {
  local name=$1 out=$2; shift 2
  local best="" rss="" t m i
  rm -rf "$out"; "$@" >/dev/null 2>&1  # warm-up
  for ((i = 0; i < REPS; i++)); do
    rm -rf "$out" peer; sync
    /usr/bin/time -f "%e %M" -o time.txt "$@" >/dev/null 2>&1
    read -r t m < time.txt
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; rss=$m; fi
  done
  TIME[$name]=$best; RSS[$name]=$rss; SIZE[$name]=$(stat -c %s "$out")
}
ratio() { awk "BEGIN{printf \"%.2f\", ${TIME[$1]} / ${TIME[$2]}}"; }
size_ratio() { awk "BEGIN{printf \"%.3f\", ${SIZE[$1]} / ${SIZE[$2]}}"; }
mb() { awk "BEGIN{printf \"%.1f\", $1 / 1000000}"; }
row() {
  printf '| %s | `%s` | %s s | %s MiB | %s MB |\n' "$1" "$2" "${TIME[$1]}" \
    "$((RSS[$1] / 1024))" "$(mb "${SIZE[$1]}")"
}

make_input
cpus=$(nproc); model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')

# The peers: convert to raw, then a sparse oldgnu tar compressed by gzip (-z, level 6) or pigz.
PEER_Z='mkdir peer && qemu-img convert -f vpc -O raw src.vhd peer/disk.raw && tar --format=oldgnu -Sczf peer_z.tar.gz -C peer disk.raw && rm -rf peer'
PEER_PIGZ='mkdir peer && qemu-img convert -f vpc -O raw src.vhd peer/disk.raw && tar --format=oldgnu -S -I pigz -cf peer_pigz.tar.gz -C peer disk.raw && rm -rf peer'
measure vd_default vd.tar.gz "$VD" convert --to gcp --quiet --no-sync src.vhd vd.tar.gz
measure vd_level9 vd9.tar.gz "$VD" convert --to gcp --quiet --no-sync --level 9 src.vhd vd9.tar.gz
measure peer_z peer_z.tar.gz sh -c "$PEER_Z"
measure peer_pigz peer_pigz.tar.gz sh -c "$PEER_PIGZ"
# Size references over GNU tar's sparse archive of the same disk (timed once each, not goals;
# directory p survives measure(), which only clears "peer").
rm -rf p && mkdir p && qemu-img convert -f vpc -O raw src.vhd p/disk.raw
REPS=1 measure pigz6 pigz6.tar.gz sh -c 'tar --format=oldgnu -Scf - -C p disk.raw | pigz -6 > pigz6.tar.gz'
REPS=1 measure gzip9 gzip9.tar.gz sh -c 'tar --format=oldgnu -Scf - -C p disk.raw | gzip -9 > gzip9.tar.gz'
rm -rf p
# Every vdconvert archive passes its own check and restores the same disk as the peers'.
"$VD" check --for gcp vd.tar.gz >/dev/null && "$VD" check --for gcp vd9.tar.gz >/dev/null
want=$(tar -xzOf peer_z.tar.gz disk.raw | sha256sum | cut -c1-64)
for f in vd.tar.gz vd9.tar.gz; do
  [ "$(tar -xzOf $f disk.raw | sha256sum | cut -c1-64)" = "$want" ] \
    || { echo "$f does not restore the peer's disk" >&2; exit 1; }
done

cat <<EOF2
### VHD to GCP image tarball

Input: ${DISK_GIB} GiB dynamic VHD (\`qemu-img convert -O vpc -o subformat=dynamic\` of a sparse
raw disk with ${DATA_MIB} MiB of data: binaries from /usr, 8 regions). Machine: ${cpus} cores,
${model}. Best of ${REPS} runs after a warm-up, page cache warm; outputs not fsynced by either
side. Every vdconvert archive passes \`vdconvert check --for gcp\` and restores (GNU tar) the
same disk.raw as the peers'.

| run | command | wall | peak RSS | output |
|---|---|---|---|---|
$(row vd_default "vdconvert convert --to gcp --no-sync src.vhd vd.tar.gz")
$(row vd_level9 "vdconvert convert --to gcp --no-sync --level 9 src.vhd vd9.tar.gz")
$(row peer_z "qemu-img convert -f vpc -O raw src.vhd peer/disk.raw && tar --format=oldgnu -Sczf peer_z.tar.gz -C peer disk.raw")
$(row peer_pigz "qemu-img convert ... && tar --format=oldgnu -S -I pigz -cf peer_pigz.tar.gz -C peer disk.raw")
$(row pigz6 "tar --format=oldgnu -Scf - -C p disk.raw \\| pigz -6 (size reference)")
$(row gzip9 "tar --format=oldgnu -Scf - -C p disk.raw \\| gzip -9 (size reference)")

Speed-up of the default level over qemu-img + \`tar -Sczf\`: **$(ratio peer_z vd_default)x** (goal >= 4);
over qemu-img + \`tar -I pigz\`: **$(ratio peer_pigz vd_default)x** (goal >= 1.5).
\`--level 9\` over qemu-img + \`tar -Sczf\`: $(ratio peer_z vd_level9)x.
Size of the default level / \`pigz -6\`: **$(size_ratio vd_default pigz6)** (goal <= 1.10);
\`--level 9\` / \`gzip -9\`: **$(size_ratio vd_level9 gzip9)** (goal <= 1.000).
EOF2
rm -f vd.tar.gz vd9.tar.gz peer_z.tar.gz peer_pigz.tar.gz pigz6.tar.gz gzip9.tar.gz time.txt
