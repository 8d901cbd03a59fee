# Sourced by the bench/*_compare.sh scripts that time vdconvert against qemu-img: the generated
# input disk and the timing helpers.

# make_sparse_disk FILE: a sparse raw disk of DISK_GIB GiB holding DATA_MIB MiB of real binaries
# (about 2:1 compressible, like an OS disk) in 8 regions spread across the disk, with holes
# between. Kept when it already has the size asked for; returns 1 when it was (re)made.
make_sparse_disk() {
  local out=$1
  if [ -f "$out" ] && [ "$(stat -c %s "$out")" == $((DISK_GIB << 30)) ]; then return 0; fi
  rm -f "$out" corpus.bin
  find /usr/lib /usr/bin -type f -size +64k 2>/dev/null | sort | xargs cat 2>/dev/null \
    | head -c $((DATA_MIB << 20)) > corpus.bin || true
  truncate -s $((DISK_GIB << 30)) "$out"
  local per=$((DATA_MIB / 8)) i
  for i in 0 1 2 3 4 5 6 7; do
    dd if=corpus.bin of="$out" bs=1M skip=$((i * per)) count=$per \
       seek=$((i * (DISK_GIB << 10) / 8)) conv=notrunc status=none
  done
  rm -f corpus.bin
  return 1
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

