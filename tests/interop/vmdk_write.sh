#!/usr/bin/env bash
# `vdconvert convert --to vmdk` against the tools that read VMDKs. Inputs made by qemu-img 7.2 in
# every format libvdisk reads (raw, fixed and dynamic VHD, streamOptimized and monolithicSparse
# VMDK, qcow2 when the reader is built in) and sizes that exercise the grain tables (one sector,
# a grain plus a sector, a partial last grain, two grain tables); each output must be:
#   - equal to the source by `qemu-img compare`, clean by `qemu-img check`, read by vmdkinfo;
#   - read back byte-exact by libvdisk from the file and from stdin (sha256 of qemu-img's raw
#     view of the source);
#   - passed by `check --for vmdk` and `--for esxi`, and lint-clean for every consumer.
# Also: monolithicSparse, stdout, SOURCE_DATE_EPOCH determinism across thread counts, and a
# source that fails mid-way leaving no DST.
source "$(dirname "$0")/lib.sh"
need qemu-img qemu-io vmdkinfo sha256sum python3
VD=$VDCONVERT

# qfmt IMAGE: the format qemu-img must be told (it reads a fixed VHD, footer only, as raw).
qfmt() { case $1 in *.vhd) echo vpc ;; *.raw) echo raw ;; *.qcow2) echo qcow2 ;; *) echo vmdk ;; esac; }
# raw_sha IMAGE: sha256 of qemu-img's raw view.
raw_sha() { qemu-img convert -f "$(qfmt "$1")" -O raw "$1" "$1.qraw" && sha "$1.qraw" && rm -f "$1.qraw"; }

# verify NAME SRC OUT: every consumer check of one written VMDK against its source.
verify() {
  local name=$1 src=$2 out=$3 want
  want=$(raw_sha "$src")
  qemu-img compare -q -f "$(qfmt "$src")" -F vmdk "$src" "$out" || fail "$name: qemu-img compare differs"
  qemu-img check -q "$out" || fail "$name: qemu-img check"
  vmdkinfo "$out" >"$out.info" 2>&1 || fail "$name: vmdkinfo: $(tail -1 "$out.info")"
  grep -q "Media size" "$out.info" || fail "$name: vmdkinfo shows no media size"
  expect_eq "$(raw_sha "$out")" "$want" "$name: qemu-img's raw view of the VMDK"
  "$VD" convert -q --to raw "$out" "$out.raw"
  expect_eq "$(sha "$out.raw")" "$want" "$name: libvdisk reads it from the file"
  if ! head -c 4096 "$out" | grep -aq 'createType="monolithicSparse"'; then
    "$VD" convert -q --to raw - "$out.sraw" <"$out"
    expect_eq "$(sha "$out.sraw")" "$want" "$name: libvdisk reads it from stdin"
  fi
  "$VD" check -q --for vmdk "$out" >/dev/null || fail "$name: check --for vmdk"
  "$VD" check -q --for esxi "$out" >/dev/null || fail "$name: check --for esxi"
  "$VD" descriptor lint --for all "$out" | grep -q "0 problem(s)" || fail "$name: lint"
  rm -f "$out.raw" "$out.sraw" "$out.info"
}

# A disk of $1 bytes with data in its first, middle and last bytes and a zero hole.
make_raw() {
  python3 - "$1" "$2" <<'EOF'
import os, sys
size, path = int(sys.argv[1]), sys.argv[2]
with open(path, "wb") as f:
    f.truncate(size)
    rnd = os.urandom(min(size, 200000))
    f.seek(0); f.write(rnd[: min(size, 70000)])
    if size > 1 << 20:
        f.seek(size // 2); f.write(rnd[:100000])
        f.seek(size - 4096); f.write(rnd[:4096])
EOF
}

# Sizes: one sector, a grain + a sector, a partial last grain, two grain tables + a bit.
for size in 512 $((65536 + 512)) $((3 * 1048576 + 7 * 512)) $((64 * 1048576 + 65536 + 1024)); do
  make_raw "$size" "s$size.raw"
  "$VD" convert -q --to vmdk "s$size.raw" "s$size.vmdk"
  verify "raw $size B" "s$size.raw" "s$size.vmdk"
done

# Every readable input format, made by qemu-img from one 40 MiB disk.
make_raw $((40 * 1048576)) base.raw
qemu-io -f raw -c 'write -P 0x5a 8M 3M' -c 'write -z 20M 1M' base.raw >/dev/null
qemu-img convert -f raw -O vpc -o subformat=fixed,force_size base.raw fixed.vhd
qemu-img convert -f raw -O vpc -o subformat=dynamic base.raw dynamic.vhd
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized base.raw stream.vmdk
qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse base.raw sparse.vmdk
inputs="base.raw fixed.vhd dynamic.vhd stream.vmdk sparse.vmdk"
qemu-img convert -f raw -O qcow2 -c base.raw in.qcow2
"$VD" info -q in.qcow2 >/dev/null 2>&1 && inputs="$inputs in.qcow2"
for in in $inputs; do
  "$VD" convert -q --to vmdk "$in" "from-$in.vmdk"
  verify "$in -> vmdk" "$in" "from-$in.vmdk"
done

# monolithicSparse, and what it refuses.
"$VD" convert -q --to vmdk --subformat monolithicSparse base.raw ws.vmdk
verify "monolithicSparse" base.raw ws.vmdk
grep -q 'createType="monolithicSparse"' <(head -c 2048 ws.vmdk) || fail "ws.vmdk createType"
if "$VD" convert -q --to vmdk --subformat monolithicSparse base.raw - 2>err.txt | cat >/dev/null; then
  fail "monolithicSparse to a pipe should be refused"
fi
grep -q "seekable" err.txt || fail "monolithicSparse to a pipe: message: $(cat err.txt)"
echo "ok: monolithicSparse to a pipe is refused ($(cat err.txt))"

# Descriptor options and the streamOptimized layout (header version 3, GD at the end).
"$VD" convert -q --to vmdk --adapter ide --hw-version 21 base.raw ide.vmdk
head -c 4096 ide.vmdk | grep -aq 'ddb.adapterType = "ide"' || fail "--adapter ide"
head -c 4096 ide.vmdk | grep -aq 'ddb.virtualHWVersion = "21"' || fail "--hw-version 21"
head -c 4096 ide.vmdk | grep -aq 'createType="streamOptimized"' || fail "createType"
python3 - ide.vmdk <<'EOF' || fail "header fields"
import struct, sys
h = open(sys.argv[1], "rb").read(512)
magic, version, flags = struct.unpack_from("<4sII", h, 0)
gd = struct.unpack_from("<Q", h, 56)[0]
algo = struct.unpack_from("<H", h, 77)[0]
assert magic == b"KDMV" and version == 3 and flags == 0x30001 and algo == 1, (version, hex(flags))
assert gd == 0xFFFFFFFFFFFFFFFF, hex(gd)
print("ok: header version 3, flags 0x30001, deflate, gdOffset GD_AT_END")
EOF
verify "ide, hw 21" base.raw ide.vmdk

# Streams: to stdout, and from a VMDK on stdin (a stream that states its size).
"$VD" convert -q --to vmdk base.raw - >piped.vmdk
verify "stdout" base.raw piped.vmdk
"$VD" convert -q --to vmdk - restream.vmdk <stream.vmdk
verify "stdin streamOptimized -> vmdk" base.raw restream.vmdk

# Deterministic: SOURCE_DATE_EPOCH pins the ids; 1 and 2 threads give the same bytes (same
# file name: the descriptor's extent line records it).
mkdir -p j1 j2
SOURCE_DATE_EPOCH=1700000000 "$VD" convert -q --to vmdk -j1 base.raw j1/d.vmdk
SOURCE_DATE_EPOCH=1700000000 "$VD" convert -q --to vmdk -j2 base.raw j2/d.vmdk
cmp -s j1/d.vmdk j2/d.vmdk || fail "the same input and SOURCE_DATE_EPOCH gave different bytes"
echo "ok: SOURCE_DATE_EPOCH + -j1/-j2: identical ($(stat -c %s j1/d.vmdk) bytes)"

# A source that fails mid-way (a dynamic VHD whose BAT points past its end) leaves no DST.
cp dynamic.vhd broken.vhd
python3 - broken.vhd <<'EOF'
import struct, sys
p = sys.argv[1]
d = bytearray(open(p, "rb").read())
table = struct.unpack_from(">Q", d, 512 + 16)[0]
entries = struct.unpack_from(">I", d, 512 + 28)[0]
# The last allocated block now lies far past the end of the file.
for i in reversed(range(entries)):
    if struct.unpack_from(">I", d, table + 4 * i)[0] != 0xFFFFFFFF:
        struct.pack_into(">I", d, table + 4 * i, 0x7FFFFFF0)
        break
open(p, "wb").write(d)
EOF
if "$VD" convert -q --to vmdk broken.vhd broken.vmdk 2>err.txt; then fail "broken.vhd converted"; fi
[ ! -e broken.vmdk ] || fail "a failed conversion left broken.vmdk"
ls -a | grep -q '^\.broken\.vmdk' && fail "a failed conversion left a temporary"
echo "ok: a failing source leaves no DST ($(head -1 err.txt))"
echo "PASS"
