#!/usr/bin/env bash
# VHD interop: vdconvert's fixed/Azure VHDs read back by qemu-img (-f vpc) and libvhdi
# (vhdiinfo) at the exact (padded) size with identical content, pass `vdconvert check --for
# azure`, and stay sparse; dynamic VHDs written by qemu-img read back by vdconvert identical to
# qemu's own raw view.
source "$(dirname "$0")/lib.sh"
need qemu-img vhdiinfo sfdisk mkfs.ext4 python3 sha256sum du truncate

MiB=1048576

# make_disk NAME SIZE: a sparse raw disk with an MBR partition table, an ext4 filesystem with
# files in the first partition, and pattern data near the end; holes in between.
make_disk() {
  local name=$1 size=$2
  rm -f "$name"
  truncate -s "$size" "$name"
  local part_kib=$(( (size - 2 * MiB) / 1024 ))
  printf 'label: dos\nstart=2048, size=%d, type=83\n' $(( part_kib * 2 )) | sfdisk -q "$name"
  mkdir -p "tree-$name/sub"
  python3 -c "import os,sys; open(sys.argv[1],'wb').write(os.urandom(300000))" "tree-$name/blob.bin"
  echo "libvdisk interop $name" > "tree-$name/sub/hello.txt"
  mkfs.ext4 -q -F -d "tree-$name" -E offset=$MiB "$name" "$part_kib"k >/dev/null 2>&1 ||
    mkfs.ext4 -q -F -d "tree-$name" -E offset=$MiB "$name" "$part_kib" >/dev/null
  # A patterned run in the last MiB, leaving holes around it.
  python3 - "$name" "$size" <<'PY'
import sys
path, size = sys.argv[1], int(sys.argv[2])
with open(path, 'r+b') as f:
    f.seek(size - 700 * 1024)
    f.write(bytes((i * 7 + 3) % 251 for i in range(65536)))
PY
  [ "$(stat -c %s "$name")" == "$size" ] || fail "$name: size changed to $(stat -c %s "$name")"
}

qemu_size() { qemu-img info -f vpc --output=json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])'; }
vhdi_size() { vhdiinfo "$1" | sed -n 's/.*Media size.*(\([0-9]*\) bytes).*/\1/p'; }
alloc_bytes() { du --block-size=1 "$1" | cut -f1; }

azure_case() {
  local name=$1 size=$2
  make_disk "$name.raw" "$size"
  local padded=$(( (size + MiB - 1) / MiB * MiB ))
  [ $padded -lt $((20 * MiB)) ] && padded=$((20 * MiB))
  "$VDCONVERT" convert --to azure "$name.raw" "$name.vhd"
  expect_eq "$(stat -c %s "$name.vhd")" "$((padded + 512))" "$name: azure file size"
  expect_eq "$(qemu_size "$name.vhd")" "$padded" "$name: qemu-img virtual size"
  cp --sparse=always "$name.raw" "$name.padded.raw" && truncate -s "$padded" "$name.padded.raw"
  qemu-img compare -q -f raw -F vpc "$name.padded.raw" "$name.vhd" || fail "$name: qemu-img compare differs"
  echo "ok: $name: qemu-img compare equal"
  expect_eq "$(vhdi_size "$name.vhd")" "$padded" "$name: vhdiinfo media size"
  "$VDCONVERT" check --for azure "$name.vhd" >/dev/null || fail "$name: check --for azure failed"
  echo "ok: $name: check --for azure"
  [ "$(alloc_bytes "$name.vhd")" -lt "$padded" ] || fail "$name: output not sparse ($(alloc_bytes "$name.vhd") allocated)"
  echo "ok: $name: sparse on disk ($(alloc_bytes "$name.vhd") of $((padded + 512)) bytes)"
}

azure_case aligned $((64 * MiB))
azure_case unaligned $((45 * MiB + 3072))
azure_case small $((5 * MiB))

# --to vhd keeps an exact sector-aligned size.
"$VDCONVERT" convert --to vhd unaligned.raw exact.vhd
expect_eq "$(stat -c %s exact.vhd)" "$((45 * MiB + 3072 + 512))" "vhd: exact file size"
expect_eq "$(qemu_size exact.vhd)" "$((45 * MiB + 3072))" "vhd: qemu-img virtual size"
expect_eq "$(vhdi_size exact.vhd)" "$((45 * MiB + 3072))" "vhd: vhdiinfo media size"
qemu-img compare -q -f raw -F vpc unaligned.raw exact.vhd || fail "vhd: qemu-img compare differs"
echo "ok: vhd: qemu-img compare equal"

# Dynamic VHDs written by qemu-img read back identical to qemu's raw view.
for opts in "" "-o subformat=dynamic" "-o subformat=dynamic,force_size"; do
  for src in aligned unaligned small; do
    tag="$src${opts//[^a-z]/_}"
    # shellcheck disable=SC2086
    qemu-img convert -f raw -O vpc $opts "$src.raw" "dyn-$tag.vhd"
    qemu-img convert -f vpc -O raw "dyn-$tag.vhd" "qemu-$tag.raw"
    "$VDCONVERT" convert --to raw "dyn-$tag.vhd" "ours-$tag.raw"
    expect_eq "$(sha "ours-$tag.raw")" "$(sha "qemu-$tag.raw")" "dynamic $tag: sha256 equal to qemu's raw"
    size=$(stat -c %s "ours-$tag.raw")
    [ "$(alloc_bytes "ours-$tag.raw")" -lt "$size" ] || fail "dynamic $tag: raw output not sparse"
  done
done

# A dynamic VHD straight to Azure equals qemu's padded raw view.
"$VDCONVERT" convert --to azure dyn-aligned.vhd dyn-azure.vhd
qemu-img compare -q -f vpc -F vpc dyn-aligned.vhd dyn-azure.vhd || fail "dynamic to azure differs"
"$VDCONVERT" check --for azure dyn-azure.vhd >/dev/null || fail "dynamic to azure: check failed"
echo "ok: dynamic to azure: qemu-img compare equal, check passed"
# A fixed VHD from stdin: the footer is held back and checked; a dynamic one is refused.
"$VDCONVERT" convert --from vhd --to raw - stdin.raw < exact.vhd
expect_eq "$(sha stdin.raw)" "$(sha unaligned.raw)" "fixed VHD from stdin: sha256 equal to the source"
if "$VDCONVERT" convert --from vhd --to raw - stdin-dyn.raw < dyn-small.vhd 2>dyn-stdin.err; then
  fail "dynamic VHD from stdin was accepted"
fi
grep -q "dynamic" dyn-stdin.err || fail "dynamic VHD from stdin: unclear message: $(cat dyn-stdin.err)"
[ ! -e stdin-dyn.raw ] || fail "dynamic VHD from stdin left an output file"
echo "ok: dynamic VHD from stdin refused: $(cat dyn-stdin.err)"
echo "PASS"
