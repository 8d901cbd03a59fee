#!/bin/bash
# vdi read: images made here by qemu-img (dynamic and static, from raws with data at block
# starts, across block boundaries, at the end and in a last partial block; written by qemu-io in
# reverse block order so slots run backwards; a sparse 64 GiB image) are converted by vdconvert
# to raw, azure, gcp and vmdk, and each output read back (qemu-img, tar) equals `qemu-img convert
# -f vdi -O raw` by sha256; `info` agrees with `qemu-img info`; stdin is refused in one line;
# damaged images are exit 2 naming the structure, differencing images exit 4 saying what to do.
source "$(dirname "$0")/lib.sh"
need qemu-img qemu-io python3 tar jq

V=$VDCONVERT
# Raws: 13 MiB + 300 KiB + 512 B (not a whole number of 1 MiB blocks), data at offset 0, across
# the 1 MiB boundary, a full random block at 5 MiB, at 9.5 MiB, and in the last partial block.
python3 - <<'PY'
import random
r = random.Random(7)
size = (13 << 20) + 300 * 1024 + 512
disk = bytearray(size)
for off, n in ((0, 3000), ((1 << 20) - 100, 700), (5 << 20, 1 << 20), ((9 << 20) + (1 << 19), 4096),
               (size - 5000, 5000)):
    disk[off:off + n] = bytes(r.getrandbits(8) for _ in range(n))
open("a.raw", "wb").write(disk)
small = bytearray(3 << 20)
small[(2 << 20) + 17:(2 << 20) + 30] = b"second block!"
open("b.raw", "wb").write(small)
PY

# zero_after FILE N: the bytes of FILE after its first N are all zero.
zero_after() { cmp -s -i "$2:0" -n $(( $(stat -c %s "$1") - $2 )) "$1" /dev/zero; }

# jfield FILE KEY: a top-level member of a JSON document.
jfield() { jq -r ".$2" "$1"; }

# check IMG: every target's output read back equals qemu-img's raw view; info agrees.
check() {
  local img=$1 n
  rm -f q.raw v.raw v.vhd v.tar.gz v.vmdk disk.raw back.raw
  qemu-img convert -f vdi -O raw "$img" q.raw
  n=$(stat -c %s q.raw)
  "$V" convert -q --no-sync --to raw "$img" v.raw || fail "$img: convert --to raw"
  expect_eq "$(sha v.raw)" "$(sha q.raw)" "$img -> raw"
  "$V" convert -q --no-sync --to azure "$img" v.vhd || fail "$img: convert --to azure"
  qemu-img convert -f vpc -O raw v.vhd back.raw
  expect_eq "$(head -c "$n" back.raw | sha256sum | cut -c1-64)" "$(sha q.raw)" "$img -> azure (first $n bytes)"
  zero_after back.raw "$n" || fail "$img -> azure: padding is not zero"
  qemu-img compare -f vpc -F vdi v.vhd "$img" > /dev/null || fail "$img -> azure: qemu-img compare"
  "$V" convert -q --no-sync --to gcp "$img" v.tar.gz || fail "$img: convert --to gcp"
  tar -xzf v.tar.gz disk.raw
  expect_eq "$(head -c "$n" disk.raw | sha256sum | cut -c1-64)" "$(sha q.raw)" "$img -> gcp disk.raw (first $n bytes)"
  zero_after disk.raw "$n" || fail "$img -> gcp: padding is not zero"
  "$V" convert -q --no-sync --to vmdk "$img" v.vmdk || fail "$img: convert --to vmdk"
  rm -f back.raw && qemu-img convert -f vmdk -O raw v.vmdk back.raw
  expect_eq "$(sha back.raw)" "$(sha q.raw)" "$img -> vmdk"
  "$V" info --json "$img" > info.json || fail "$img: info"
  qemu-img info --output=json "$img" > qinfo.json
  expect_eq "$(jfield info.json format)" vdi "$img: info format"
  expect_eq "$(jfield info.json virtual_size)" "$(jfield qinfo.json '"virtual-size"')" "$img: info virtual size = qemu-img's"
  expect_eq "$(jfield info.json block_size)" "$(jfield qinfo.json '"cluster-size"')" "$img: info block size = qemu-img's cluster size"
}

for raw in a.raw b.raw; do
  qemu-img convert -f raw -O vdi "$raw" "${raw%.raw}-dyn.vdi"
  check "${raw%.raw}-dyn.vdi"
  qemu-img convert -f raw -O vdi -o static=on "$raw" "${raw%.raw}-static.vdi"
  check "${raw%.raw}-static.vdi"
done
expect_eq "$(jq -r '"\(.image_type) \(.allocated_blocks == .blocks)"' info.json)" "static true" "b-static.vdi: every block allocated"

# Blocks written in reverse order, so slots run backwards (qemu-io's zeroed write allocates one).
qemu-img create -q -f vdi rev.vdi 10M
args=()
for b in 9 7 5 3 1 0; do args+=(-c "write -P $((b + 1)) $((b * 1048576 + 4096)) 8k"); done
qemu-io -f vdi "${args[@]}" -c 'write -z 4M 1M' rev.vdi > /dev/null
check rev.vdi
python3 - <<'PY' || fail "rev.vdi: slots do not run backwards"
import struct
d = open("rev.vdi", "rb").read()
off, n = struct.unpack_from("<I", d, 0x154)[0], struct.unpack_from("<I", d, 0x180)[0]
m = struct.unpack_from("<%dI" % n, d, off)
assert m[9] == 0 and m[0] == 5, m
print("ok: rev.vdi map", m)
PY

# A sparse 64 GiB image: the map alone says where data is; only that is read.
qemu-img create -q -f vdi big.vdi 64G
qemu-io -f vdi -c 'write -P 7 0 1M' -c 'write -P 8 40G 64k' -c 'write -P 9 64511M 1M' big.vdi > /dev/null
"$V" measure --json --to raw big.vdi > m.json
expect_eq "$(jq -r '.measurements[0].allocated_bytes' m.json)" $((3 << 20)) "big.vdi: allocated bytes from the map"
"$V" convert -q --no-sync --to vmdk big.vdi big.vmdk
qemu-img compare -f vmdk -F vdi big.vmdk big.vdi > /dev/null || fail "big.vdi -> vmdk differs"
echo "ok: big.vdi -> vmdk = the vdi (qemu-img compare)"

# stdin: vdi needs random access; one line, exit 4, no output.
set +e
err=$("$V" convert --to raw - stdin.raw < a-dyn.vdi 2>&1); rc=$?
set -e
expect_eq "$rc" 4 "vdi from stdin"
case "$err" in "vdconvert: error: vdi: this format cannot be read from a stream (it needs random access); save it to a file first") echo "ok: $err" ;; *) fail "stdin message: $err" ;; esac
[ ! -e stdin.raw ] || fail "stdin: an output was left"

# refused IMG EXIT WORDS: one line, that exit code, no output.
refused() {
  local img=$1 want=$2 word=$3 err rc
  rm -f out.raw
  set +e
  err=$("$V" convert --to raw "$img" out.raw 2>&1); rc=$?
  set -e
  [ "$rc" = "$want" ] || fail "$img: exit $rc, expected $want: $err"
  [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || fail "$img: not one line: $err"
  case "$err" in *"$word"*) echo "ok: $img exit $rc: $err" ;; *) fail "$img: '$err' lacks '$word'" ;; esac
  [ ! -e out.raw ] || fail "$img: an output was left"
}
head -c 300 a-dyn.vdi > trunc.vdi
refused trunc.vdi 2 "vdi: header at offset 0: expected at least 456 bytes, found 300 (truncated)"
head -c $(( $(stat -c %s a-dyn.vdi) - 1048576 )) a-dyn.vdi > short.vdi  # the last slot is cut
refused short.vdi 2 "vdi: block map at offset"
python3 - <<'PY'
import struct
d = bytearray(open("a-dyn.vdi", "rb").read())
off = struct.unpack_from("<I", d, 0x154)[0]
first = struct.unpack_from("<I", d, off)[0]
struct.pack_into("<I", d, off + 4 * 5, first)  # block 5 shares block 0's slot
open("dup.vdi", "wb").write(d)
d = bytearray(open("b-dyn.vdi", "rb").read())
struct.pack_into("<I", d, 0x4C, 4)  # differencing, with a parent UUID
d[0x1A8:0x1B8] = bytes(range(1, 17))
open("diff.vdi", "wb").write(d)
PY
refused dup.vdi 2 "expected to be used once"
refused diff.vdi 4 "vdi: a differencing image (parent UUID 04030201-0605-0807-090a-0b0c0d0e0f10)"
refused diff.vdi 4 "VBoxManage clonemedium disk SRC merged.vdi"
echo "vdi_read: all passed"
