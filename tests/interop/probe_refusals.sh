#!/bin/bash
# Never guess an input: images made by qemu-img (qcow v1, qed, parallels; vhdx and vdi are read:
# interop.vdi_read),
# compressed copies of a raw disk (gzip, xz, zstd, bzip2, lz4), an OVA, a tar, a LUKS volume,
# vdconvert's own GCP tarball and truncated/damaged headers of every format vdconvert reads are
# each refused with the right exit code and a one-line message, from a file and from stdin;
# nothing is converted and nothing is left behind. qcow2 (compat 0.10 and 1.1) is read from a
# file (interop.qcow2_read covers it in depth) and refused from stdin, which needs random
# access. `--from raw` forces raw with a note; `info` shows what it recognised and exits 4; a
# fixed VHD on stdin loses its footer.
source "$(dirname "$0")/lib.sh"
need qemu-img gzip xz zstd bzip2 lz4 tar python3 xorriso

V=$VDCONVERT
truncate -s 64M disk.raw
printf 'first data' | dd of=disk.raw conv=notrunc bs=1 seek=1048576 status=none
printf 'more data' | dd of=disk.raw conv=notrunc bs=1 seek=40000000 status=none

qemu-img convert -O qcow2 -o compat=0.10 disk.raw q010.qcow2
qemu-img convert -O qcow2 -o compat=1.1 disk.raw q11.qcow2
qemu-img convert -O qcow disk.raw d.qcow
qemu-img convert -O qed disk.raw d.qed
qemu-img convert -O vhdx disk.raw d.vhdx
qemu-img convert -O parallels disk.raw d.parallels
# qemu-img times its PBKDF first and fails on a loaded machine ("Unable to get accurate CPU
# usage", seen in CI rehearsals): a few tries.
for try in 1 2 3 4 5; do
  qemu-img create -q -f luks --object secret,id=sec0,data=abc -o key-secret=sec0,iter-time=10 \
    d.luks 16M && break
  [ "$try" = 5 ] && { echo "FAIL: qemu-img could not create a LUKS image"; exit 1; }
  sleep 1
done
qemu-img convert -O vmdk -o subformat=streamOptimized disk.raw d.vmdk
qemu-img convert -O vpc -o subformat=fixed disk.raw fixed.vhd
qemu-img convert -O vpc disk.raw dynamic.vhd
gzip -c disk.raw > disk.raw.gz
xz -0 -T2 -c disk.raw > disk.raw.xz
zstd -q -c disk.raw > disk.raw.zst
bzip2 -1 -c disk.raw > disk.raw.bz2
lz4 -q -c disk.raw > disk.raw.lz4
printf '<?xml version="1.0"?>\n<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"/>\n' > d.ovf
tar --format=ustar -cf d.ova d.ovf d.vmdk
tar -cf plain.tar disk.raw.gz
"$V" convert -q --to gcp disk.raw g.tar.gz
cp g.tar.gz g.gz.copy

# name of the file, expected exit, a word the message must hold.
check_refused() {
  local f=$1 want=$2 word=$3 err rc
  for mode in file stdin; do
    rm -f out.img
    set +e
    if [ "$mode" = file ]; then
      err=$("$V" convert --to azure "$f" out.img 2>&1 >/dev/null)
    else
      err=$("$V" convert --to raw - out.img < "$f" 2>&1 >/dev/null)
    fi
    rc=$?
    set -e
    [ "$rc" = "$want" ] || fail "$f ($mode): exit $rc, expected $want: $err"
    [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || fail "$f ($mode): message is not one line: $err"
    case "$err" in *"$word"*) ;; *) fail "$f ($mode): message lacks '$word': $err" ;; esac
    [ ! -e out.img ] || fail "$f ($mode): an output was left"
    ls -a | grep -q vdtmp && fail "$f ($mode): a temporary file was left"
    echo "ok: $f ($mode) exit $rc: $err"
  done
}

# qcow2 v2 and v3 are read now; from stdin they are refused (random access needed).
for f in q010.qcow2 q11.qcow2; do
  "$V" convert -q --to raw "$f" "$f.raw" || fail "$f was not read"
  qemu-img convert -O raw "$f" "$f.q.raw"
  expect_eq "$(sha "$f.raw")" "$(sha "$f.q.raw")" "$f read as qemu-img reads it"
  set +e
  err=$("$V" convert --to raw - out.img < "$f" 2>&1 >/dev/null); rc=$?
  set -e
  expect_eq "$rc" 4 "$f from stdin"
  case "$err" in "vdconvert: error: qcow2: "*"random access"*) echo "ok: $err" ;; *) fail "$f on stdin: $err" ;; esac
  [ ! -e out.img ] || fail "$f (stdin): an output was left"
done
check_refused d.qcow 4 "qcow: QEMU copy-on-write image (version 1"
check_refused d.qed 4 "qed: QEMU enhanced disk image"
check_refused d.parallels 4 "parallels: Parallels disk image"
check_refused d.luks 4 "luks: LUKS encrypted volume"
check_refused disk.raw.gz 4 "gzip -dc SRC"
check_refused disk.raw.xz 4 "xz -dc SRC"
check_refused disk.raw.zst 4 "zstd -dc SRC"
check_refused disk.raw.bz2 4 "bzip2 -dc SRC"
check_refused disk.raw.lz4 4 "lz4 -dc SRC"
check_refused d.ova 4 "lists no disk"
check_refused plain.tar 4 "tar archive"
check_refused g.tar.gz 4 "GCP image tarball"

# Virtual sizes the headers state, as qemu-img reads them.
for f in d.qcow d.qed d.parallels; do
  set +e
  json=$("$V" info --json "$f" 2>/dev/null)
  rc=$?
  set -e
  expect_eq "$rc" 4 "info $f exit"
  got=$(printf '%s' "$json" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["format"], d["readable"], d["virtual_size"])')
  want=$(qemu-img info --output=json "$f" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
  case "$got" in *" False $want") echo "ok: info $f: $got" ;; *) fail "info $f: '$got', qemu-img says $want" ;; esac
done
set +e
"$V" info d.vhdx > vhdx-info.txt 2>/dev/null
rc=$?
set -e
expect_eq "$rc" 0 "info d.vhdx exit (vhdx is read now: interop.vhdx_read)"
grep -q '^format: vhdx' vhdx-info.txt || fail "info d.vhdx: $(cat vhdx-info.txt)"
grep -q '^creator: QEMU' vhdx-info.txt || fail "info d.vhdx shows no creator: $(cat vhdx-info.txt)"
set +e
"$V" info --json g.tar.gz > g-info.json 2>/dev/null
set -e
python3 -c 'import json,sys; d=json.load(open("g-info.json")); assert d["format"]=="gcp-tarball" and d["virtual_size"]==1<<30, d'
echo "ok: info g.tar.gz: gcp-tarball of 1 GiB"
# vdconvert's own tarball still passes its check.
"$V" check --for gcp g.tar.gz > /dev/null || fail "check --for gcp on the tarball"

# Damaged headers of the formats vdconvert reads: exit 2 naming the format, never raw.
head -c 300 d.vmdk > trunc.vmdk
check_refused trunc.vmdk 2 "vmdk: sparse header"
python3 - <<'EOF'
data = bytearray(open("d.vmdk", "rb").read(4096))
data[4:8] = (99).to_bytes(4, "little")  # a version that may come: unsupported, named
open("badversion.vmdk", "wb").write(bytes(data))
data = bytearray(open("d.vmdk", "rb").read(4096))
data[20:28] = (0).to_bytes(8, "little")  # grainSize 0: impossible
open("badgrain.vmdk", "wb").write(bytes(data))
EOF
check_refused badversion.vmdk 4 "version 99"
check_refused badgrain.vmdk 2 "vmdk"
head -c 300 dynamic.vhd > trunc.vhd
check_refused trunc.vhd 2 "vhd"
python3 - <<'EOF'
data = bytearray(open("dynamic.vhd", "rb").read(1536))
data[64] ^= 0xff  # footer copy checksum no longer matches
open("badsum.vhd", "wb").write(bytes(data) + bytes(4096))
EOF
set +e
err=$("$V" convert --to raw badsum.vhd out.img 2>&1)
rc=$?
set -e
expect_eq "$rc" 2 "dynamic VHD with a bad footer checksum"
case "$err" in *"vhd: footer"*checksum*) echo "ok: $err" ;; *) fail "bad checksum message: $err" ;; esac
head -c 40 q11.qcow2 > trunc.qcow2
check_refused trunc.qcow2 2 "qcow2: header at offset 0: expected at least 104 bytes, found 40"
head -c 5 disk.raw.gz > trunc.gz
check_refused trunc.gz 2 "gzip: member header"

# --from raw reads anything as raw and says which signature it ignored.
"$V" convert --from raw --to raw q11.qcow2 forced.raw 2> forced.err
cmp forced.raw q11.qcow2 || fail "--from raw did not copy the bytes"
grep -q "qcow2 signature" forced.err || fail "--from raw gave no note: $(cat forced.err)"
echo "ok: --from raw: $(cat forced.err | head -1)"
"$V" convert -f raw --to raw - forced2.raw < disk.raw.gz 2> forced2.err
cmp forced2.raw disk.raw.gz || fail "-f raw from stdin did not copy the bytes"
grep -q "gzip signature" forced2.err || fail "-f raw on stdin gave no note"

# A fixed VHD on stdin: its footer is recognised and dropped (equal to qemu-img's raw view).
qemu-img convert -f vpc -O raw fixed.vhd fixed-q.raw
"$V" convert --to raw - fixed-s.raw < fixed.vhd 2> fixed.err
cmp fixed-s.raw fixed-q.raw || fail "fixed VHD from stdin: disk differs from qemu-img's raw view"
grep -q "fixed VHD footer" fixed.err || fail "fixed VHD from stdin: no note"
expect_eq "$(sha fixed-s.raw)" "$(sha fixed-q.raw)" "fixed VHD on stdin = qemu-img raw view"
# A raw stream keeps every byte (its end is no footer).
"$V" convert --to raw - plain-s.raw < disk.raw
expect_eq "$(sha plain-s.raw)" "$(sha disk.raw)" "raw stream kept whole"
head -c 100 disk.raw | "$V" convert --to raw - short.raw
expect_eq "$(stat -c %s short.raw)" 100 "100-byte raw stream"

# An ISO stays readable (it is a raw disk with a boot report).
mkdir -p isodir && echo hi > isodir/a.txt
xorriso -as mkisofs -quiet -o t.iso isodir 2>/dev/null
"$V" convert --to raw t.iso t.raw
cmp t.raw t.iso || fail "ISO not copied byte for byte"
head -c $(( $(stat -c %s t.iso) / 2 )) t.iso > half.iso
set +e
err=$("$V" convert --to raw half.iso half.raw 2>&1)
rc=$?
set -e
expect_eq "$rc" 2 "ISO cut in half"
case "$err" in *"iso9660: primary volume descriptor"*truncated*) echo "ok: $err" ;; *) fail "half ISO: $err" ;; esac
[ ! -e half.raw ] || fail "half ISO was converted"
head -c 33000 t.iso > pvd.iso
set +e
"$V" convert --to raw pvd.iso pvd.raw 2>/dev/null
rc=$?
set -e
expect_eq "$rc" 2 "ISO cut inside its descriptor set"

# The destination is checked before the input is read or any note is printed.
dst_case() {
  local want=$1 word=$2 err rc; shift 2
  set +e
  err=$("$V" "$@" 2>&1 >/dev/null)
  rc=$?
  set -e
  [ "$rc" = "$want" ] || fail "$*: exit $rc, expected $want: $err"
  [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || fail "$*: not one line: $err"
  case "$err" in *"$word"*) echo "ok: $* -> exit $rc: $err" ;; *) fail "$*: '$err' lacks '$word'" ;; esac
}
touch exists.vhd
mkdir -p adir ro
dst_case 1 "exists" convert --to azure q11.qcow2 exists.vhd         # before the refusal
dst_case 1 "is a directory" convert --to azure disk.raw adir
dst_case 3 "does not exist" convert --to azure disk.raw nodir/x.vhd
dst_case 1 "output is the input" convert --to raw disk.raw disk.raw
dst_case 1 "*.tar.gz" convert --to gcp disk.raw disk.tgz
[ ! -e disk.tgz ] || fail "a gcp output named disk.tgz was written"
"$V" convert -q --to gcp --force-name disk.raw named.tgz
set +e
"$V" check --for gcp named.tgz > named-check.txt
rc=$?
set -e
expect_eq "$rc" 5 "check of a *.tgz tarball"
expect_eq "$(grep -c '^FAIL' named-check.txt)" 1 "failing rules of named.tgz"
grep -q '^FAIL file name ends in .tar.gz' named-check.txt || fail "named.tgz: $(cat named-check.txt)"
echo "ok: --force-name writes named.tgz; check names the one rule it breaks"
# No note (padding) before a destination error.
set +e
err=$("$V" convert --to azure disk.raw exists.vhd 2>&1)
set -e
case "$err" in *note*) fail "a note came before the destination error: $err" ;; esac
echo "probe_refusals: all passed"
