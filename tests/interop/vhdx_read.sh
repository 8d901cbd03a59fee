#!/bin/bash
# vhdx read: images made here by qemu-img (fixed and dynamic, block sizes 1, 8, 32 and 256 MiB,
# log sizes 1 and 8 MiB, a size that is not a whole block, data written with qemu-io at
# unaligned offsets and zeroed ranges, fixed disks made with block_state_zero=off whose last
# block lies only partly inside the file) are converted by vdconvert to raw, sha256 equal to
# `qemu-img convert -f vhdx -O raw`, and through the azure, gcp and vmdk targets back to the
# same content; `info --json` agrees with `qemu-img info` (virtual size, block size) and with
# libvhdi's `vhdiinfo` (disk type, media size, sector size, identifier); a 2 TiB dynamic
# disk costs reads of its data only; stdin is refused clearly. Differencing disks and log
# replay are covered by unit.vhdx (qemu-img cannot make them).
source "$(dirname "$0")/lib.sh"
need qemu-img qemu-io python3 vhdiinfo

V=$VDCONVERT
python3 - <<'PY'
import random
r = random.Random(29)
disk = bytearray((40 << 20) + 512 * 3)
for off, n in ((0, 70000), (1 << 20, 5000), ((9 << 20) + 777, 300000), (33 << 20, 1 << 20),
               (len(disk) - 4096, 4096)):
    disk[off:off + n] = bytes(r.getrandbits(8) for _ in range(n))
open("disk.raw", "wb").write(disk)
PY

# compare IMG: vdconvert's raw view equals qemu-img's; info's virtual size too.
compare() {
  local img=$1
  rm -f v.raw q.raw
  "$V" convert -q --to raw "$img" v.raw 2> conv.err || fail "$img: vdconvert failed: $(cat conv.err)"
  qemu-img convert -f vhdx -O raw "$img" q.raw
  expect_eq "$(sha v.raw)" "$(sha q.raw)" "$img raw view"
  "$V" info --json "$img" > info.json 2>/dev/null || fail "$img: info failed"
  qemu-img info -f vhdx --output=json "$img" > qinfo.json
  vhdiinfo "$img" > vhdi.txt || fail "$img: vhdiinfo failed"
  python3 - "$img" <<'PY' || fail "$1: info differs from qemu-img info or vhdiinfo"
import json, re, sys
v = json.load(open("info.json")); q = json.load(open("qinfo.json"))
assert v["format"] == "vhdx", v
assert v["virtual_size"] == q["virtual-size"], (v["virtual_size"], q["virtual-size"])
assert v["block_size"] == q["cluster-size"], (v["block_size"], q["cluster-size"])
# libvhdi's view: disk type, media size, bytes per sector, identifier (the data write GUID).
t = open("vhdi.txt").read()
field = lambda name: re.search(r"^\s*" + name + r"\s*:\s*(.*)$", t, re.M).group(1).strip()
assert field("Format").startswith("VHDX"), field("Format")
assert field("Disk type").lower() == v["subformat"], (field("Disk type"), v["subformat"])
assert int(re.search(r"\((\d+) bytes\)", field("Media size")).group(1)) == v["virtual_size"]
assert int(field("Bytes per sector").split()[0]) == v["logical_sector_size"]
assert "{" + field("Identifier") + "}" == v["data_write_guid"], (field("Identifier"), v["data_write_guid"])
print("ok: info", sys.argv[1], v["subformat"], v["virtual_size"], v["block_size"], "(qemu-img, vhdiinfo)")
PY
}

for sub in dynamic fixed; do
  for bs in 1M 8M 32M 256M; do
    [ "$sub" = fixed ] && [ "$bs" = 256M ] && continue  # 256 MiB of zeros on disk: skip
    img=$sub-$bs.vhdx
    qemu-img convert -f raw -O vhdx -o subformat=$sub,block_size=$bs disk.raw "$img"
    compare "$img"
  done
done
qemu-img convert -f raw -O vhdx -o subformat=dynamic,log_size=8M disk.raw log8.vhdx
compare log8.vhdx

# Written in place by qemu-io: partial blocks, unaligned data, zeroed ranges.
qemu-img create -q -f vhdx -o subformat=dynamic,block_size=1M io.vhdx 20M
qemu-io -f vhdx -c 'write -P 0xab 0 64k' -c 'write -P 1 1536k 512' -c 'write -P 2 3000k 3k' \
        -c 'write -z 0 4k' -c 'write -P 3 19M 1M' -c 'write -z 19M 512k' io.vhdx > /dev/null
compare io.vhdx

# Fixed disks as qemu-img creates them with block_state_zero=off: every block present and the
# file ending where the disk ends, so a size that is not a whole block leaves the last block
# only partly inside the file (100 MiB in 8 MiB blocks; 33 MiB in 32 MiB blocks). Sparse files.
qemu-img create -q -f vhdx -o subformat=fixed,block_state_zero=off bsz-off.vhdx 100M
qemu-io -f vhdx -c 'write -P 0x5c 0 64k' -c 'write -P 0x3d 100348k 4k' bsz-off.vhdx > /dev/null
compare bsz-off.vhdx
qemu-img create -q -f vhdx -o subformat=fixed,block_state_zero=off,block_size=32M bsz-off32.vhdx 33M
qemu-io -f vhdx -c 'write -P 0x11 32M 1k' -c 'write -P 0x22 33791k 1k' bsz-off32.vhdx > /dev/null
compare bsz-off32.vhdx

# Every target carries the same content.
for to in azure gcp vmdk; do
  case $to in gcp) out=o.tar.gz ;; vmdk) out=o.vmdk ;; *) out=o.vhd ;; esac
  rm -f "$out" t.raw
  "$V" convert -q --to $to dynamic-8M.vhdx "$out" || fail "convert --to $to"
  if [ $to = gcp ]; then tar -xzf o.tar.gz disk.raw && mv disk.raw t.raw
  else qemu-img convert -O raw "$out" t.raw; fi
  qemu-img convert -f vhdx -O raw dynamic-8M.vhdx q.raw
  truncate -s "$(stat -c %s q.raw)" t.raw  # azure and gcp pad to whole MiB / GiB
  expect_eq "$(sha t.raw)" "$(sha q.raw)" "dynamic-8M.vhdx --to $to content"
done

# A 2 TiB dynamic disk with 1 MiB of data: the map reports the rest as zeros, nothing is read.
qemu-img create -q -f vhdx -o subformat=dynamic,block_size=32M big.vhdx 2T
qemu-io -f vhdx -c 'write -P 7 1T 1M' big.vhdx > /dev/null
"$V" convert -q --to vmdk big.vhdx big.vmdk
qemu-img compare -q -f vhdx -F vmdk big.vhdx big.vmdk || fail "big.vhdx and its vmdk differ"
expect_eq "$(python3 -c 'import os; print(os.stat("big.vmdk").st_size < (64 << 20))')" True "2 TiB vmdk stays small"

# No stream reader: stdin is refused with the reason.
set +e
err=$("$V" convert --to raw - out.img < dynamic-1M.vhdx 2>&1 >/dev/null); rc=$?
set -e
expect_eq "$rc" 4 "vhdx from stdin"
case "$err" in "vdconvert: error: vhdx: "*"random access"*) echo "ok: $err" ;; *) fail "stdin: $err" ;; esac
[ ! -e out.img ] || fail "stdin: an output was left"

# A damaged header copy: read through the other one; both damaged: exit 2 naming the header.
cp dynamic-1M.vhdx h1.vhdx
python3 -c "
f=open('h1.vhdx','r+b'); f.seek(65536+300); b=f.read(1); f.seek(65536+300); f.write(bytes([b[0]^1]))"
"$V" convert -q --to raw h1.vhdx h1.raw 2> h1.err || fail "one damaged header: $(cat h1.err)"
qemu-img convert -f vhdx -O raw dynamic-1M.vhdx r1.raw
expect_eq "$(sha h1.raw)" "$(sha r1.raw)" "one damaged header"
python3 -c "
f=open('h1.vhdx','r+b'); f.seek(131072+300); b=f.read(1); f.seek(131072+300); f.write(bytes([b[0]^1]))"
set +e
err=$("$V" convert --to raw h1.vhdx h2.raw 2>&1 >/dev/null); rc=$?
set -e
expect_eq "$rc" 2 "both headers damaged"
case "$err" in *"vhdx: header"*"CRC-32C"*) echo "ok: $err" ;; *) fail "both headers: $err" ;; esac
