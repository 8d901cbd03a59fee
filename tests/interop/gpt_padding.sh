#!/usr/bin/env bash
# GPT-aware padding: disks partitioned by sfdisk and sgdisk at sizes that are not whole MiB/GiB,
# converted to azure (read back with qemu-img) and gcp (extracted with GNU tar), must hold a GPT
# that `sgdisk -v` and `sfdisk --verify` accept, with the backup at the new end and every
# partition (entry and content) intact. --keep-gpt leaves the old layout; an invalid GPT is
# left alone with a warning. The README's sample disk must give an Azure VHD whose GPT verifies.
source "$(dirname "$0")/lib.sh"
need sgdisk sfdisk qemu-img tar python3 truncate sha256sum cmp
MiB=1048576

# fill_parts DISK: writes distinct non-zero bytes at the start and end of every partition.
fill_parts() {
  python3 - "$1" <<'PY'
import json, subprocess, sys
path = sys.argv[1]
t = json.loads(subprocess.check_output(['sfdisk', '-J', path]))['partitiontable']
with open(path, 'r+b') as f:
    for i, p in enumerate(t['partitions']):
        f.seek(p['start'] * 512); f.write(bytes([0x41 + i]) * 4096)
        f.seek((p['start'] + p['size']) * 512 - 4096); f.write(bytes([0x61 + i]) * 4096)
PY
}

# verify_gpt SRC OUT: OUT (a raw disk) has a valid GPT at its end with SRC's partitions.
verify_gpt() {
  local src=$1 out=$2 what=$3
  sgdisk -v "$out" > sgdisk.txt 2>&1 || true
  grep -q "No problems found" sgdisk.txt || fail "$what: sgdisk -v: $(cat sgdisk.txt)"
  sfdisk --verify "$out" > verify.txt 2>&1 || fail "$what: sfdisk --verify: $(cat verify.txt)"
  grep -qiE "^[0-9]+ errors? detected|mismatch|not on the end" verify.txt && fail "$what: sfdisk --verify: $(cat verify.txt)"
  python3 - "$src" "$out" "$what" <<'PY'
import hashlib, json, struct, subprocess, sys, zlib
src, out, what = sys.argv[1:]
def table(p):
    return json.loads(subprocess.check_output(['sfdisk', '-J', p]))['partitiontable']
a, b = table(src), table(out)
key = lambda t: [(p['start'], p['size'], p['type'], p.get('uuid'), p.get('name')) for p in t['partitions']]
assert key(a) == key(b), f"{what}: partitions differ: {key(a)} vs {key(b)}"
assert a['id'] == b['id'], f"{what}: disk GUID differs"
size = len(open(out, 'rb').read(0)) or __import__('os').path.getsize(out)
lbas = size // 512
with open(out, 'rb') as f:
    f.seek(512); prim = f.read(92)
    f.seek((lbas - 1) * 512); back = f.read(92)
    fields = lambda h: struct.unpack('<8sIIII QQQQ16sQIII', h)
    p, k = fields(prim), fields(back)
    assert k[0] == b'EFI PART' and k[5] == lbas - 1 and k[6] == 1, f"{what}: no backup header at the last LBA"
    assert p[6] == lbas - 1, f"{what}: primary alternate LBA {p[6]} != {lbas - 1}"
    assert b['lastlba'] == lbas - 34, f"{what}: last usable LBA {b['lastlba']} != {lbas - 34}"
    for h in (prim, back):
        z = h[:16] + b'\0' * 4 + h[20:]
        assert zlib.crc32(z) == struct.unpack_from('<I', h, 16)[0], f"{what}: header CRC"
with open(src, 'rb') as s, open(out, 'rb') as o:
    for p in a['partitions']:
        s.seek(p['start'] * 512); o.seek(p['start'] * 512)
        n = p['size'] * 512
        assert hashlib.sha256(s.read(n)).digest() == hashlib.sha256(o.read(n)).digest(), f"{what}: partition content differs"
print(f"ok: {what}: GPT at the new end ({lbas} sectors), {len(a['partitions'])} partitions intact")
PY
  same_as_sgdisk_e "$src" "$out" "$what"
}

# same_as_sgdisk_e SRC OUT: the protective MBR (size and ending CHS), the primary header and
# array (LBAs 0-33) and the relocated backup (last 33 LBAs) of OUT are byte for byte what
# `sgdisk -e` writes on SRC grown to OUT's size, except the headers' last usable LBA (and so
# their CRCs and the backup array's LBA): sgdisk sets it to (disk sectors - first usable LBA)
# and puts the backup array right after it, vdconvert uses all the space up to the array at
# the end (verify_gpt checks that). sgdisk leaves the old backup's bytes
# mid-disk; vdconvert zeroes them, so that range is not compared.
same_as_sgdisk_e() {
  local src=$1 out=$2 what=$3 size
  size=$(stat -c %s "$out")
  cp --sparse=always "$src" sgdisk-e.raw
  truncate -s "$size" sgdisk-e.raw
  sgdisk -e sgdisk-e.raw >/dev/null 2>&1 || fail "$what: sgdisk -e failed on the reference"
  python3 - "$out" sgdisk-e.raw "$what" <<'PY'
import os, sys
out, ref, what = sys.argv[1:]
lbas = os.path.getsize(out) // 512
def regions(p):
    with open(p, 'rb') as f:
        head = f.read(34 * 512)
        f.seek((lbas - 1) * 512); back = f.read(512)
        f.seek(int.from_bytes(back[72:80], 'little') * 512); array = f.read(32 * 512)
    blank = lambda h: h[:16] + b'\0' * 4 + h[20:48] + b'\0' * 8 + h[56:72] + b'\0' * 8 + h[80:]
    return {'protective MBR': head[:512], 'primary header': blank(head[512:1024]),
            'primary array': head[1024:], 'backup array': array, 'backup header': blank(back)}
a, b = regions(out), regions(ref)
for k in a:
    assert a[k] == b[k], f"{what}: {k} differs from sgdisk -e's"
PY
  rm -f sgdisk-e.raw
  echo "ok: $what: MBR, primary and backup GPT equal sgdisk -e's (but the last usable LBA)"
}

# to_azure SRC OUT.raw [options]: converts, and reads the VHD back with qemu-img.
to_azure() {
  local src=$1 out=$2; shift 2
  "$VDCONVERT" convert --to azure "$@" "$src" "$out.vhd" 2> "$out.log"
  qemu-img convert -f vpc -O raw "$out.vhd" "$out"
}
to_gcp() {
  local src=$1 out=$2
  "$VDCONVERT" convert --to gcp "$src" "$out.tar.gz" 2> "$out.log"
  rm -rf "x-$out" && mkdir "x-$out" && tar -xzf "$out.tar.gz" -C "x-$out" && mv "x-$out/disk.raw" "$out"
}

# 1. sfdisk: 37 MiB + 5 sectors + 100 bytes (not even a whole sector), three partitions, the
#    last one up to the end.
SF_SIZE=$(( 37 * MiB + 5 * 512 + 100 ))
truncate -s $SF_SIZE sf.raw
sfdisk -q sf.raw <<'EOT'
label: gpt
start=2048, size=8192, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI"
start=10240, size=20000, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="root"
start=30240, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F, name="swap"
EOT
fill_parts sf.raw
sfdisk --verify sf.raw >/dev/null || fail "the sfdisk source itself does not verify"
to_azure sf.raw sf-az.raw
grep -q "note: gpt: backup GPT moved from LBA $(( 37 * 2048 + 4 )) to the new last LBA $(( 38 * 2048 - 1 ))" sf-az.raw.log ||
  fail "azure: no relocation note: $(cat sf-az.raw.log)"
expect_eq "$(stat -c %s sf-az.raw)" "$(( 38 * MiB ))" "azure pads sfdisk's disk to 38 MiB"
verify_gpt sf.raw sf-az.raw "azure, sfdisk disk"
to_gcp sf.raw sf-gcp.raw
expect_eq "$(stat -c %s sf-gcp.raw)" "1073741824" "gcp pads to 1 GiB"
verify_gpt sf.raw sf-gcp.raw "gcp, sfdisk disk"

# 2. sgdisk (which wants whole sectors): 23 MiB + 3 sectors, 1 MiB-aligned partitions.
truncate -s $(( 23 * MiB + 3 * 512 )) sg.raw
sgdisk -n 1:2048:+4M -t 1:ef00 -c 1:esp -n 2:0:+10M -t 2:8300 -c 2:data -n 3:0:0 -t 3:8200 sg.raw >/dev/null
fill_parts sg.raw
to_azure sg.raw sg-az.raw
verify_gpt sg.raw sg-az.raw "azure, sgdisk disk"
to_gcp sg.raw sg-gcp.raw
verify_gpt sg.raw sg-gcp.raw "gcp, sgdisk disk"

# 2b. Streamed inputs: a streamOptimized VMDK on stdin states its size up front, so the GPT is
#     relocated exactly as for the file (same bytes); a raw stream states none, so the GPT stays
#     stale and the conversion says so.
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized sg.raw sg.vmdk
cat sg.vmdk | "$VDCONVERT" convert --to azure - sg-st.vhd 2> sg-st.log
grep -q "note: gpt: backup GPT moved" sg-st.log || fail "stdin vmdk: no relocation note: $(cat sg-st.log)"
qemu-img convert -f vpc -O raw sg-st.vhd sg-st.raw
verify_gpt sg.raw sg-st.raw "azure, sgdisk disk as a streamOptimized VMDK on stdin"
cmp sg-st.raw sg-az.raw || fail "stdin vmdk: disk differs from the file conversion"
cat sg.vmdk | "$VDCONVERT" convert --to gcp - sg-st.tar.gz 2> sg-st-gcp.log
rm -rf x-st && mkdir x-st && tar -xzf sg-st.tar.gz -C x-st
verify_gpt sg.raw x-st/disk.raw "gcp, sgdisk disk as a streamOptimized VMDK on stdin"
cmp x-st/disk.raw sg-gcp.raw || fail "stdin vmdk to gcp: disk differs from the file conversion"
rm -rf x-st
cat sg.raw | "$VDCONVERT" convert --to azure -q --json - sg-raw-st.vhd > raw-st.json 2> raw-st.log || fail "raw stdin to azure failed"
grep -q "warning: gpt: .*NOT moved" raw-st.log || fail "raw stdin: no stale-GPT warning: $(cat raw-st.log)"
grep -q '"action": *"stale"' raw-st.json || fail "raw stdin: JSON action: $(cat raw-st.json)"
echo "ok: streamed inputs: relocated when the size is stated, reported stale when not"

# 3. JSON report.
"$VDCONVERT" convert --to azure -q --json --force sf.raw sf-az.raw.vhd > report.json 2>/dev/null
python3 - <<'PY' || fail "convert --json gpt report"
import json
g = json.load(open('report.json'))['gpt']
assert g['action'] == 'relocated' and g['new_backup_lba'] == 38 * 2048 - 1 and g['partitions'] == 3, g
assert g['old_backup_lba'] == 37 * 2048 + 4 and g['lba_size'] == 512, g
PY
echo "ok: convert --json reports the relocation"

# 4. --keep-gpt: the old layout stays, and sgdisk sees the backup mid-disk.
to_azure sf.raw keep.raw --keep-gpt
cmp -n $SF_SIZE sf.raw keep.raw || fail "--keep-gpt changed the source bytes"
sgdisk -v keep.raw > keep.txt 2>&1 || true
grep -q "doesn't reside" keep.txt || fail "--keep-gpt: sgdisk sees no misplaced backup: $(cat keep.txt)"
if grep -q "gpt:" keep.raw.log; then fail "--keep-gpt still reported a GPT action"; fi
"$VDCONVERT" convert --to gcp -q --keep-gpt --json sf.raw keep.tar.gz > keep.json 2>/dev/null
grep -q '"action": *"kept"' keep.json || fail "--keep-gpt JSON: $(cat keep.json)"
echo "ok: --keep-gpt leaves the old layout"

# 5. An invalid GPT (primary header CRC broken) is left as it is, with a warning.
cp sf.raw bad.raw
printf '\x01' | dd of=bad.raw bs=1 seek=$(( 512 + 60 )) conv=notrunc status=none
to_azure bad.raw bad-az.raw
grep -q "warning: gpt: header at offset 512: header CRC32" bad-az.raw.log ||
  fail "invalid GPT: no warning: $(cat bad-az.raw.log)"
cmp -n $SF_SIZE bad.raw bad-az.raw || fail "invalid GPT: bytes changed"
echo "ok: invalid GPT left alone with a warning"

# 6. A disk without a partition table converts as before.
truncate -s $(( 21 * MiB + 512 )) blank.raw
to_azure blank.raw blank-az.raw
if grep -q "gpt" blank-az.raw.log; then fail "no GPT: unexpected output: $(cat blank-az.raw.log)"; fi
cmp -n $(( 21 * MiB + 512 )) blank.raw blank-az.raw || fail "no GPT: bytes changed"
echo "ok: no GPT, no change"

# 7. The README's sample disk (100 MiB + 7 sectors).
if command -v mkfs.ext4 >/dev/null && command -v mkfs.vfat >/dev/null && command -v mcopy >/dev/null; then
  bash "${VDISK_SOURCE_DIR:?}/tools/sample/make-sample-disk.sh" sample.raw >/dev/null
  to_azure sample.raw sample-az.raw
  verify_gpt sample.raw sample-az.raw "azure, sample disk"
else
  fail "the sample disk needs mkfs.ext4, mkfs.vfat and mcopy"
fi
