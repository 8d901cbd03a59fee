#!/usr/bin/env bash
# Conversion-time checksums (--checksums, --checksums-file) against sha256sum, md5sum, Python's
# hashlib/base64 and a small CRC-32C reference; the disk digest against qemu-img's and GNU tar's
# view of the output. --detect-zeroes (gcp) against GNU tar: same disk.raw, smaller tar.
source "$(dirname "$0")/lib.sh"
need qemu-img tar gzip python3 sha256sum md5sum truncate
MiB=1048576

# A fully allocated 3 MiB + 1000 bytes disk: random data with written zeros between.
python3 - <<'PY'
import os
with open('in.raw', 'wb') as f:
    for i in range(3):
        f.write(os.urandom(256 * 1024) + bytes(768 * 1024))
    f.write(os.urandom(1000))
PY

# check_json FILE ARTIFACT DISK: FILE's digests match ARTIFACT (a file) and DISK (a raw disk).
check_json() {
  python3 - "$@" <<'PY'
import base64, hashlib, json, sys
j, art, disk = sys.argv[1:]
c = json.load(open(j))
c = c.get('checksums', c)
data = open(art, 'rb').read()
t = []
for i in range(256):
    v = i
    for _ in range(8): v = (v >> 1) ^ 0x82F63B78 if v & 1 else v >> 1
    t.append(v)
crc = 0xFFFFFFFF
for b in data: crc = (crc >> 8) ^ t[(crc ^ b) & 0xFF]
crc ^= 0xFFFFFFFF
a = c['artifact']
md5 = hashlib.md5(data).digest()
assert a['bytes'] == len(data), (a['bytes'], len(data))
assert a['sha256'] == hashlib.sha256(data).hexdigest(), 'artifact sha256'
assert a['md5'] == md5.hex() and a['md5_base64'] == base64.b64encode(md5).decode(), 'md5'
assert a['crc32c'] == f'{crc:08x}', (a['crc32c'], f'{crc:08x}')
assert a['crc32c_base64'] == base64.b64encode(crc.to_bytes(4, 'big')).decode(), 'crc32c base64'
h = hashlib.sha256()
n = 0
with open(disk, 'rb') as f:
    for b in iter(lambda: f.read(1 << 20), b''): h.update(b); n += len(b)
assert c['disk']['bytes'] == n and c['disk']['sha256'] == h.hexdigest(), 'disk sha256'
print(f'ok: {j}: artifact sha256/md5/crc32c ({a["crc32c_base64"]}) and disk sha256 agree')
PY
}

# Plain fixed VHD: disk = qemu-img's raw view; the CRC-32C reference runs over the whole VHD.
"$VDCONVERT" convert --to vhd -q --checksums-file vhd.json in.raw out.vhd
qemu-img convert -f vpc -O raw out.vhd vhd.raw
check_json vhd.json out.vhd vhd.raw
expect_eq "$(python3 -c 'import json; print(json.load(open("vhd.json"))["artifact"]["sha256"])')" \
  "$(sha out.vhd)" "sha256sum agrees"
expect_eq "$(python3 -c 'import json; print(json.load(open("vhd.json"))["artifact"]["md5"])')" \
  "$(md5sum out.vhd | cut -c1-32)" "md5sum agrees"

# Azure (padded to 20 MiB), text output on stdout.
"$VDCONVERT" convert --to azure -q --checksums in.raw out-az.vhd > az.txt
qemu-img convert -f vpc -O raw out-az.vhd az.raw
grep -q "^sha256 (virtual disk, $(( 20 * MiB )) bytes): $(sha az.raw)$" az.txt || fail "azure disk line: $(cat az.txt)"
grep -q "^sha256 (out-az.vhd): $(sha out-az.vhd)$" az.txt || fail "azure artifact line: $(cat az.txt)"
grep -q "^md5 (out-az.vhd): $(md5sum out-az.vhd | cut -c1-32) (base64 " az.txt || fail "azure md5 line: $(cat az.txt)"
echo "ok: --checksums text lines"

# gcp, in the --json report: disk = GNU tar's disk.raw.
"$VDCONVERT" convert --to gcp -q --json --checksums in.raw out.tar.gz > gcp.json
mkdir x && tar -xzf out.tar.gz -C x
check_json gcp.json out.tar.gz x/disk.raw

# --detect-zeroes: same disk.raw, fewer stored bytes, same disk digest.
"$VDCONVERT" convert --to gcp -q --json --checksums --detect-zeroes in.raw dz.tar.gz > dz.json
mkdir y && tar -xzf dz.tar.gz -C y
expect_eq "$(sha y/disk.raw)" "$(sha x/disk.raw)" "--detect-zeroes keeps disk.raw"
check_json dz.json dz.tar.gz y/disk.raw
plain=$(gzip -dc out.tar.gz | wc -c)
scanned=$(gzip -dc dz.tar.gz | wc -c)
[ "$scanned" -lt "$plain" ] || fail "--detect-zeroes tar is not smaller ($scanned vs $plain)"
echo "ok: --detect-zeroes stores $scanned instead of $plain tar bytes"
python3 - <<'PY' || fail "zero_scan report"
import json
z = json.load(open('dz.json'))['zero_scan']
assert z['read_bytes'] == 3 * 2**20 + 1000 and z['data_bytes'] == 3 * 256 * 1024 + 1000, z
PY

# Usage rules: an existing checksums file needs --force; --detect-zeroes is for gcp only.
set +e
"$VDCONVERT" convert --to vhd -q --checksums-file vhd.json in.raw other.vhd 2>err.txt; rc=$?
expect_eq "$rc" "1" "existing --checksums-file refused"
[ -e other.vhd ] && fail "output written although the checksums file exists"
"$VDCONVERT" convert --to azure -q --detect-zeroes in.raw dz.vhd 2>err.txt; rc=$?
set -e
expect_eq "$rc" "1" "--detect-zeroes with azure refused"
