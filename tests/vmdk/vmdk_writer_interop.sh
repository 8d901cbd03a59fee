#!/bin/bash
# Interop for the VMDK writer: raw disks written as streamOptimized and monolithicSparse by
# vmdk_write_tool, then read by qemu-img (check, compare, and convert back to raw with the
# sha256 compared to the input's) and libvmdk's vmdkinfo. Fails (does not skip) when a tool is
# missing.
#   vmdk_writer_interop.sh VMDK_WRITE_TOOL WORKDIR
set -euo pipefail
tool=$(realpath "$1")
work=$2
for t in qemu-img vmdkinfo sha256sum; do
  command -v "$t" > /dev/null || { echo "FAIL: $t is not installed" >&2; exit 1; }
done
rm -rf "$work"
mkdir -p "$work"
cd "$work"

# Inputs: a short last grain (64 KiB + 512 B); 1 MiB + 1536 B with a hole; 40 MiB of random
# data, zeros (more than one grain table's 32 MiB range) and text.
head -c $((65536 + 512)) /dev/urandom > short.raw
{ head -c 300000 /dev/urandom; head -c 400000 /dev/zero; head -c $((1048576 + 1536 - 700000)) /dev/urandom; } > holes.raw
{ head -c 3145728 /dev/urandom; head -c 35651584 /dev/zero; head -c 2097152 < <(yes "libvdisk vmdk writer"); head -c 1048576 /dev/urandom; } > big.raw

check() {  # check IN VMDK KIND
  local in=$1 out=$2 kind=$3
  qemu-img check -f vmdk "$out" > /dev/null
  qemu-img compare -q -f raw -F vmdk "$in" "$out"
  qemu-img convert -f vmdk -O raw "$out" back.raw
  [ "$(sha256sum < back.raw)" = "$(sha256sum < "$in")" ] ||
    { echo "FAIL: $out: qemu-img's raw view differs from $in" >&2; exit 1; }
  vmdkinfo "$out" > info.txt || { echo "FAIL: vmdkinfo $out" >&2; cat info.txt >&2; exit 1; }
  grep -q "Disk type:.*$kind" info.txt ||
    { echo "FAIL: vmdkinfo $out: not '$kind'" >&2; cat info.txt >&2; exit 1; }
  grep -q "Media size:.*($(stat -c %s "$in") bytes)" info.txt ||
    { echo "FAIL: vmdkinfo $out: wrong media size" >&2; cat info.txt >&2; exit 1; }
  grep -q "Filename:.*$(basename "$out")" info.txt || [ "$out" = pipe.vmdk ] ||
    { echo "FAIL: vmdkinfo $out: extent not named after the file" >&2; cat info.txt >&2; exit 1; }
  echo "ok: $out ($kind, $(stat -c %s "$out") bytes)"
}

for in in short.raw holes.raw big.raw; do
  base=${in%.raw}
  "$tool" "$in" "$base-s.vmdk" 2> /dev/null
  check "$in" "$base-s.vmdk" "Stream optimized"
  "$tool" --subformat monolithicSparse "$in" "$base-m.vmdk" 2> /dev/null
  check "$in" "$base-m.vmdk" "Monolithic sparse"
done

# Levels and thread counts: valid, and the bytes do not depend on the thread count.
for level in 0 1 6 9; do
  "$tool" --name "l$level-t1.vmdk" --level "$level" --threads 1 big.raw "l$level-t1.vmdk" 2> /dev/null
  "$tool" --name "l$level-t1.vmdk" --level "$level" --threads 3 --chunk 12345 big.raw "l$level-t3.vmdk" 2> /dev/null
  cmp "l$level-t1.vmdk" "l$level-t3.vmdk"
  check big.raw "l$level-t1.vmdk" "Stream optimized"
done
# IDE adapter geometry is accepted too.
"$tool" --adapter ide holes.raw ide.vmdk 2> /dev/null
check holes.raw ide.vmdk "Stream optimized"

# streamOptimized to a pipe; monolithicSparse to a pipe is refused.
"$tool" --name holes-s.vmdk holes.raw - 2> /dev/null | cat > pipe.vmdk
cmp pipe.vmdk holes-s.vmdk
check holes.raw pipe.vmdk "Stream optimized"
if "$tool" --subformat monolithicSparse holes.raw - 2> err.txt | cat > /dev/null; then
  echo "FAIL: monolithicSparse to a pipe was not refused" >&2
  exit 1
fi
grep -q "needs a seekable output file" err.txt
echo "all interop checks passed"
