#!/bin/bash
# OVA/OVF read: packages built here with python3 tarfile (make_ova.py) and GNU tar around
# streamOptimized VMDKs made by `qemu-img convert -O vmdk -o subformat=streamOptimized` (and a
# monolithicSparse one): manifests with SHA1 and SHA256, before and after the disk, gzip'd
# members (python, GNU gzip + pigz, chunked, in a directory), a chunked member, two disks (--disk), an .ovf directory; each read from the file and
# from stdin and compared by sha256 with `qemu-img convert -O raw` of the VMDK that went in (the
# Azure output by its first virtual-size bytes). A digest that does not match the manifest
# fails with one line and leaves no output (--no-verify reads it); a manifest entry for a file
# the package does not hold is named and warned about (verified: no); info lists the disks.
source "$(dirname "$0")/lib.sh"
need qemu-img python3 tar
V=$VDCONVERT
MK="python3 $(dirname "$0")/make_ova.py"
case $MK in *" /"*) ;; *) MK="python3 $OLDPWD/$(dirname "$0")/make_ova.py" ;; esac

python3 - <<'PY'
import random
r = random.Random(7)
for name, seed in (("a.raw", 1), ("b.raw", 2)):
    d = bytearray(16 << 20)
    for off in (0, 3 << 20, 9 << 20, (16 << 20) - 65536):
        d[off:off + 65536] = bytes(r.getrandbits(8) for _ in range(65536))
    d[5 << 20:(5 << 20) + 100000] = bytes([seed]) * 100000
    open(name, "wb").write(d)
PY
qemu-img convert -O vmdk -o subformat=streamOptimized a.raw a.vmdk
qemu-img convert -O vmdk -o subformat=streamOptimized b.raw b.vmdk
qemu-img convert -O vmdk -o subformat=monolithicSparse a.raw ms.vmdk
qemu-img convert -O raw a.vmdk qa.raw
qemu-img convert -O raw b.vmdk qb.raw
A=$(sha qa.raw)
B=$(sha qb.raw)

# reads SRC (file, then stdin unless FILE_ONLY is set) to raw and to azure and compares with
# WANT; extra args follow.
check_read() {
  local src=$1 want=$2; shift 2
  rm -f o.raw o.vhd
  "$V" convert -q "$@" --to raw "$src" o.raw || fail "$src $*: file convert failed"
  expect_eq "$(sha o.raw)" "$want" "$src $* (file -> raw)"
  if [ "${src%.ova}" != "$src" ] && [ -z "${FILE_ONLY:-}" ]; then
    cat "$src" | "$V" convert -q "$@" --to azure - o.vhd || fail "$src $*: stdin convert failed"
    expect_eq "$(head -c $((16 << 20)) o.vhd | sha256sum | cut -c1-64)" "$want" "$src $* (stdin -> azure)"
  fi
}

# expect_fail RC WORD CMD...: one line on stderr holding WORD, exit RC, no output file left.
expect_fail() {
  local rc_want=$1 word=$2 err rc; shift 2
  rm -f o.raw
  set +e
  err=$("$@" 2>&1 >/dev/null)
  rc=$?
  set -e
  [ "$rc" = "$rc_want" ] || fail "$*: exit $rc, expected $rc_want: $err"
  [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || fail "$*: not one line: $err"
  case "$err" in *"$word"*) ;; *) fail "$*: message lacks '$word': $err" ;; esac
  [ ! -e o.raw ] || fail "$*: output left behind"
  ls | grep -q vdtmp && fail "$*: temporary left behind"
  echo "ok: refused ($rc): $err"
}

$MK one.ova a.vmdk
check_read one.ova "$A"
$MK sha1last.ova --mf SHA1 --mf-last a.vmdk
check_read sha1last.ova "$A"
$MK pax.ova --format pax --mf none a.vmdk
check_read pax.ova "$A"
$MK chunk.ova --chunk 1:1000000 a.vmdk
check_read chunk.ova "$A"
$MK two.ova b.vmdk a.vmdk
check_read two.ova "$B"
check_read two.ova "$A" --disk 2
expect_fail 1 "no disk 3" "$V" convert -q --disk 3 --to raw two.ova o.raw

# gzip'd members (python's gzip module; GNU gzip and pigz, several members back to back): read
# in place (inflated once, then through restart points) and from stdin, chunked too; a
# monolithicSparse VMDK inside needs real random access (its grain tables first).
$MK gz.ova --gzip 1 a.vmdk
check_read gz.ova "$A"
$MK gzchunk.ova --gzip 1 --chunk 1:300000 b.vmdk
check_read gzchunk.ova "$B"
$MK gzms.ova --gzip 1 ms.vmdk
FILE_ONLY=1 check_read gzms.ova "$A"
expect_fail 4 "not streamOptimized" sh -c "'$V' convert -q --to raw - o.raw < gzms.ova"
$MK gzdir --dir --gzip 2 b.vmdk ms.vmdk
check_read gzdir "$B"
check_read gzdir "$A" --disk 2
"$V" info gz.ova | grep -q 'gzip' || fail "info gz.ova does not name the compression"
# A member that is two gzip members (GNU gzip, then pigz), with its manifest.
half=$(( $(stat -c %s a.vmdk) / 2 ))
mkdir -p gnugz && (cd gnugz && head -c $half ../a.vmdk | gzip -6 > m.gz &&
  tail -c +$((half + 1)) ../a.vmdk | pigz -p 2 >> m.gz && cp ../a.vmdk d.vmdk)
python3 - gnugz <<'PY'
import hashlib, os, sys
d = sys.argv[1]
cap = os.path.getsize(os.path.join(d, "d.vmdk"))
gz = os.path.join(d, "m.gz")
ovf = f"""<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
 <References><File ovf:id="f1" ovf:href="d.vmdk" ovf:size="{os.path.getsize(gz)}" ovf:compression="gzip"/></References>
 <DiskSection><Info>disks</Info><Disk ovf:diskId="d1" ovf:fileRef="f1" ovf:capacity="{16 << 20}"
  ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/></DiskSection>
</Envelope>
"""
open(os.path.join(d, "g.ovf"), "w").write(ovf)
os.replace(gz, os.path.join(d, "d.vmdk"))
with open(os.path.join(d, "g.mf"), "w") as mf:
    for n in ("g.ovf", "d.vmdk"):
        mf.write(f"SHA256({n})= {hashlib.sha256(open(os.path.join(d, n), 'rb').read()).hexdigest()}\n")
PY
(cd gnugz && tar --format=gnu -cf ../gnugz.ova g.ovf g.mf d.vmdk)
check_read gnugz.ova "$A"
check_read gnugz/g.ovf "$A"
# A gzip'd member that is corrupt: one line, no output, file and stdin alike (a stream may
# meet the damage in the VMDK before the gzip CRC).
python3 - <<'PY'
d = bytearray(open("gz.ova", "rb").read())
i = d.find(b"\x1f\x8b\x08")
d[i + 5000] ^= 0x55
open("gzbad.ova", "wb").write(d)
PY
expect_fail 2 "gzip" "$V" convert -q --no-verify --to raw gzbad.ova o.raw
expect_fail 2 "error" sh -c "'$V' convert -q --no-verify --to raw - o.raw < gzbad.ova"

# monolithicSparse member in place (a stream reads only streamOptimized VMDKs).
$MK ms.ova ms.vmdk
rm -f o.raw && "$V" convert -q --to raw ms.ova o.raw
expect_eq "$(sha o.raw)" "$A" "ms.ova (monolithicSparse, file)"

# GNU tar, manifest by openssl-style lines.
mkdir -p gnu && cp a.vmdk gnu/ && $MK gnu/g.ova --dir --mf none a.vmdk >/dev/null
cp a.vmdk gnu/g.ova/
(cd gnu/g.ova && printf 'SHA256(g.ovf)= %s\nSHA256(a.vmdk)= %s\n' "$(sha g.ovf)" "$(sha a.vmdk)" > g.mf &&
 tar --format=gnu -cf ../../gnu.ova g.ovf g.mf a.vmdk)
check_read gnu.ova "$A"

# A manifest that lists a file the package does not hold (GNU tar): the entry cannot be
# checked, so info says verified: no and names it under unchecked, and every command warns
# about it (file and stdin); the files that are there are still checked.
(cd gnu/g.ova && printf 'SHA256(g.ovf)= %s\nSHA256(a.vmdk)= %s\nSHA256(gone.vmdk)= %s\n' \
   "$(sha g.ovf)" "$(sha a.vmdk)" "$(printf x | sha256sum | cut -c1-64)" > g.mf &&
 tar --format=gnu -cf ../../gone.ova g.ovf g.mf a.vmdk)
warn="warning: ova: manifest g.mf lists gone.vmdk, which is not in the package"
"$V" info gone.ova > info.txt 2> info.err || fail "info gone.ova: $(cat info.err)"
grep -q "^  verified: no$" info.txt || fail "info gone.ova does not say verified: no: $(cat info.txt)"
grep -q "^    - gone.vmdk$" info.txt || fail "info gone.ova does not list gone.vmdk: $(cat info.txt)"
grep -q "$warn" info.err || fail "info gone.ova: no warning: $(cat info.err)"
"$V" info --json gone.ova 2> info.err > info.json
python3 - <<'PY' || fail "info --json gone.ova"
import json
m = json.load(open("info.json"))["manifest"]
assert m == {"file": "g.mf", "algorithm": "SHA256", "verified": False, "unchecked": ["gone.vmdk"]}, m
print("ok: info --json gone.ova", m)
PY
rm -f o.raw && "$V" convert -q --to raw gone.ova o.raw 2> conv.err || fail "convert gone.ova: $(cat conv.err)"
expect_eq "$(sha o.raw)" "$A" "gone.ova (file) still reads"
grep -q "$warn gone.ova" conv.err || fail "convert gone.ova: no warning: $(cat conv.err)"
rm -f o.raw && "$V" convert -q --to raw - o.raw < gone.ova 2> conv.err || fail "stdin gone.ova: $(cat conv.err)"
expect_eq "$(sha o.raw)" "$A" "gone.ova (stdin) still reads"
grep -q "$warn" conv.err || fail "stdin gone.ova: no warning: $(cat conv.err)"
echo "ok: gone.ova warns: $(head -1 conv.err)"

# An .ovf directory and the path of its descriptor.
$MK pkgdir --dir b.vmdk a.vmdk
check_read pkgdir "$B"
check_read pkgdir/pkgdir.ovf "$A" --disk 2

# Manifest mismatch: fails from the file and the stream, --no-verify reads it.
$MK bad.ova --bad-digest a.vmdk
expect_fail 2 "does not match manifest" "$V" convert -q --to raw bad.ova o.raw
expect_fail 2 "does not match manifest" sh -c "cat bad.ova | '$V' convert -q --to raw - o.raw"
$MK badlast.ova --bad-digest --mf-last a.vmdk
expect_fail 2 "does not match manifest" sh -c "cat badlast.ova | '$V' convert -q --to azure - o.raw"
check_read bad.ova "$A" --no-verify

# Sizes that lie: ovf:size, a member cut short.
python3 - <<'PY'
d = open("one.ova", "rb").read()
open("cut.ova", "wb").write(d[:len(d) // 2])
i = d.index(b'ovf:size="')
j = d.index(b'"', i + 10)
open("size.ovf.txt", "w").write(d[i:j].decode())
PY
expect_fail 2 "runs past the end" "$V" convert -q --to raw cut.ova o.raw
expect_fail 2 "archive ends" sh -c "cat cut.ova | '$V' convert -q --to raw - o.raw"

# info lists the disks with the numbers --disk takes.
"$V" info --json two.ova > info.json
python3 - <<'PY' || fail "info two.ova"
import json
i = json.load(open("info.json"))
assert i["format"] == "ova", i
assert [d["number"] for d in i["disks"]] == [1, 2], i["disks"]
assert [d["file"] for d in i["disks"]] == ["b.vmdk", "a.vmdk"], i["disks"]
assert all(d["capacity"] == 16 << 20 for d in i["disks"]), i["disks"]
assert i["disks"][0]["format"] == "streamOptimized"
assert i["manifest"] == {"file": "two.mf", "algorithm": "SHA256", "verified": True}, i["manifest"]
assert i["disk_image"]["format"] == "vmdk" and i["virtual_size"] == 16 << 20
print("ok: info two.ova")
PY
"$V" info two.ova | grep -q "a.vmdk" || fail "info text lacks the second disk"
echo "PASS"
