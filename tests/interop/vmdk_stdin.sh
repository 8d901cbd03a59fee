#!/usr/bin/env bash
# streamOptimized VMDK from stdin: qemu-img-made images and an out-of-order image (grains in
# reverse LBA order, GD/GTs rewritten so qemu-img still reads it) piped into vdconvert must give
# sha256-equal disks to `qemu-img convert -O raw` of the same file, for raw and azure file
# outputs, whatever --stream-window; the raw output must be sparse. Outputs that cannot seek
# (stdout pipe, gcp) keep the reorder window: too small a window fails with exit 2, names the
# window and leaves no DST.
source "$(dirname "$0")/lib.sh"
need qemu-img python3 sha256sum stat head cmp

# 48 MiB virtual, ~3.2 MiB of data in scattered runs (most of the disk is holes).
python3 - <<'PY'
import random
r = random.Random(11)
size = 48 * 1024 * 1024
b = bytearray(size)
for start, length in ((0, 1 << 20), (7 << 20, 65536 * 3 + 4096), (19 << 20, 1 << 20),
                      (33 << 20, 512 * 1024), (size - (512 << 10), 512 << 10)):
    b[start:start + length] = r.randbytes(length)
open("in.raw", "wb").write(b)
PY
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized in.raw so.vmdk
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized,hwversion=11 in.raw so11.vmdk

# Reverse the grain order of so.vmdk: walk the markers, write the grains back in reverse, and
# point the grain tables (and the redundant ones) at their new sectors.
python3 - <<'PY'
import struct
f = open("so.vmdk", "rb").read()
magic, ver, flags, cap, grain, dofs, dsz, ngte, rgd, gd, over = struct.unpack_from("<IIIQQQQIQQQ", f, 0)
assert magic == 0x564D444B and gd not in (0, 0xFFFFFFFFFFFFFFFF), "unexpected layout"
pos, grains = over * 512, []
while pos + 12 <= len(f):
    lba, size = struct.unpack_from("<QI", f, pos)
    if size == 0:
        break  # metadata marker (EOS) or padding: the rest is kept as it is
    n = (12 + size + 511) // 512 * 512
    grains.append((lba, f[pos:pos + n]))
    pos += n
assert len(grains) > 8, "too few grains to reorder"
out = bytearray(f[:over * 512])
for lba, blob in reversed(grains):
    sector = len(out) // 512
    g = lba // grain
    for d in {gd, rgd} - {0}:
        gt = struct.unpack_from("<I", out, d * 512 + (g // ngte) * 4)[0]
        struct.pack_into("<I", out, gt * 512 + (g % ngte) * 4, sector)
    out += blob
out += f[pos:]
open("rev.vmdk", "wb").write(out)
print(f"reordered {len(grains)} grains")
PY

size=$(stat -c %s in.raw)
for img in so so11 rev; do
  qemu-img convert -O raw "$img.vmdk" "$img.qemu.raw"
  want=$(sha "$img.qemu.raw")
  expect_eq "$want" "$(sha in.raw)" "$img: qemu-img reads the image as the input disk"
  for window in 64 1; do
    cat "$img.vmdk" | "$VDCONVERT" convert -q --to raw --stream-window "$window" - "$img.$window.raw"
    expect_eq "$(sha "$img.$window.raw")" "$want" "$img, window $window MiB: stdin -> raw sha256 equals qemu-img's"
    alloc=$(( $(stat -c %b "$img.$window.raw") * $(stat -c %B "$img.$window.raw") ))
    [ "$alloc" -lt $((size / 4)) ] || fail "$img: raw output not sparse ($alloc bytes allocated of $size)"
    echo "ok: $img, window $window MiB: raw output sparse ($alloc of $size bytes allocated)"
    cat "$img.vmdk" | "$VDCONVERT" convert -q --to azure --stream-window "$window" - "$img.$window.vhd"
    expect_eq "$(head -c "$size" "$img.$window.vhd" | sha256sum | cut -c1-64)" "$want" "$img, window $window MiB: stdin -> azure disk sha256 equals qemu-img's"
    qemu-img compare -f raw -F vpc "$img.qemu.raw" "$img.$window.vhd" >/dev/null \
      || fail "$img: qemu-img compare of the Azure VHD"
    alloc=$(( $(stat -c %b "$img.$window.vhd") * $(stat -c %B "$img.$window.vhd") ))
    [ "$alloc" -lt $((size / 4)) ] || fail "$img: azure output not sparse ($alloc bytes allocated)"
  done
done

# Outputs that cannot seek: the window decides. In order, a 1 MiB window is enough...
cat so.vmdk | "$VDCONVERT" convert -q --to raw --stream-window 1 - - | cat >so.pipe.raw
expect_eq "$(sha so.pipe.raw)" "$(sha so.qemu.raw)" "so: stdin -> stdout pipe sha256 equals qemu-img's"
# ...out of order it is not: exit 2, the window named, no DST.
set +e
cat rev.vmdk | "$VDCONVERT" convert -q --to raw --stream-window 1 - - 2>rev.pipe.err | cat >/dev/null
rc=${PIPESTATUS[1]}
cat rev.vmdk | "$VDCONVERT" convert -q --to gcp --stream-window 1 - rev.tar.gz 2>rev.gcp.err
rc_gcp=$?
set -e
expect_eq "$rc" 2 "rev: stdin -> stdout with a 1 MiB window fails as corrupt input"
grep -q "reorder window" rev.pipe.err || fail "rev: stdout error does not name the window: $(cat rev.pipe.err)"
expect_eq "$rc_gcp" 2 "rev: stdin -> gcp with a 1 MiB window fails"
grep -q "reorder window" rev.gcp.err || fail "rev: gcp error does not name the window: $(cat rev.gcp.err)"
[ ! -e rev.tar.gz ] && ! ls .rev.tar.gz.vdtmp.* >/dev/null 2>&1 || fail "rev: gcp left an output behind"
echo "ok: rev: no gcp output left behind"
# With the default 64 MiB window the same pipe works.
cat rev.vmdk | "$VDCONVERT" convert -q --to raw - - | cat >rev.pipe.raw
expect_eq "$(sha rev.pipe.raw)" "$(sha rev.qemu.raw)" "rev: stdin -> stdout pipe with the default window"
echo "vmdk stdin: all checks passed"
