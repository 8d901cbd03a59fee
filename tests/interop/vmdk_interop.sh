#!/usr/bin/env bash
# VMDK interop: every qemu-img VMDK subformat (and option) converted by vdconvert to raw must
# match qemu-img's own raw conversion byte for byte (streamOptimized also when read from stdin);
# to Azure VHD must compare equal with qemu-img; `check --for vmdk` must pass; vdconvert info
# must agree with vmdkinfo (libvmdk) on size, CID and parent CID.
source "$(dirname "$0")/lib.sh"
need qemu-img qemu-io vmdkinfo python3 sha256sum

# 21 MiB + 1536 bytes: data, holes, a partial last grain.
python3 - <<'PY'
import random
r = random.Random(7)
size = 21 * 1024 * 1024 + 1536
b = bytearray(size)
for start, length in ((0, 3 << 20), (5 << 20, 1 << 20), (9 << 20, 65536 + 512), (20 << 20, size - (20 << 20))):
    b[start:start + length] = r.randbytes(length)
open("in.raw", "wb").write(b)
PY

check_image() {  # check_image NAME IMAGE
  local name=$1 img=$2
  qemu-img convert -O raw "$img" "$name.qemu.raw"
  "$VDCONVERT" convert --to raw "$img" "$name.ours.raw"
  expect_eq "$(sha "$name.ours.raw")" "$(sha "$name.qemu.raw")" "$name: raw sha256 equals qemu-img's"
  "$VDCONVERT" convert --to azure "$img" "$name.vhd"
  qemu-img compare -f raw -F vpc "$name.qemu.raw" "$name.vhd" >/dev/null \
    || fail "$name: qemu-img compare of the Azure VHD with qemu-img's raw"
  echo "ok: $name: azure VHD compares equal"
  local info size cid pcid
  info=$("$VDCONVERT" info --json "$img")
  size=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["virtual_size"])' "$info")
  cid=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("cid",""))' "$info")
  pcid=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("parent_cid",""))' "$info")
  "$VDCONVERT" check --for vmdk "$img" >"$name.check" || { cat "$name.check"; fail "$name: check --for vmdk"; }
  echo "ok: $name: check --for vmdk passes"
  if [ "$(head -c 4 "$img")" = KDMV ] && grep -q streamOptimized <<<"$info"; then
    cat "$img" | "$VDCONVERT" convert --to raw - "$name.stdin.raw"
    expect_eq "$(sha "$name.stdin.raw")" "$(sha "$name.qemu.raw")" "$name: from stdin, raw sha256 equals qemu-img's"
  fi
  local vi
  vi=$(vmdkinfo "$img")
  expect_eq "$size" "$(sed -n 's/.*Media size:.*(\([0-9]*\) bytes).*/\1/p' <<<"$vi" | head -1)" "$name: size vs vmdkinfo"
  expect_eq "0x$cid" "$(sed -n 's/.*Content identifier:[[:space:]]*\(0x[0-9a-f]*\).*/\1/p' <<<"$vi" | head -1)" "$name: CID vs vmdkinfo"
  expect_eq "0x$pcid" "$(sed -n 's/.*Parent content identifier:[[:space:]]*\(0x[0-9a-f]*\).*/\1/p' <<<"$vi" | head -1)" "$name: parentCID vs vmdkinfo"
}

i=0
for opts in subformat=monolithicSparse subformat=streamOptimized subformat=twoGbMaxExtentSparse \
            subformat=twoGbMaxExtentFlat subformat=monolithicFlat compat6 zeroed_grain=on \
            adapter_type=lsilogic adapter_type=buslogic adapter_type=legacyESX \
            subformat=streamOptimized,hwversion=11; do
  i=$((i + 1))
  mkdir -p "v$i"
  qemu-img convert -f raw -O vmdk -o "$opts" in.raw "v$i/disk.vmdk"
  check_image "v$i-$opts" "v$i/disk.vmdk"
done

# A backing chain with a written and a zeroed range in the child.
mkdir chain && cd chain
qemu-img convert -f raw -O vmdk ../in.raw base.vmdk
qemu-img create -q -f vmdk -b base.vmdk -F vmdk child.vmdk
qemu-io -c "write -P 0x5a 1M 64k" -c "write -z 2M 64k" child.vmdk >/dev/null
cd ..
check_image chain chain/child.vmdk
# check --for vmdk fails (exit 5) on a damaged image: a grain table entry past the end.
cp v1/disk.vmdk broken.vmdk
python3 - <<'PY'
import struct
f = bytearray(open("broken.vmdk", "rb").read())
gd = struct.unpack_from("<Q", f, 56)[0]
gt = struct.unpack_from("<I", f, gd * 512)[0]
struct.pack_into("<I", f, gt * 512, len(f) // 512 + 100)
open("broken.vmdk", "wb").write(f)
PY
set +e; "$VDCONVERT" check --for vmdk broken.vmdk >broken.check; rc=$?; set -e
expect_eq "$rc" 5 "check --for vmdk exit code on a grain past the end"
grep -q "FAIL grain table entries point" broken.check || fail "broken.vmdk: rule not reported"
# A non-stream sparse VMDK from stdin is refused with exit 4 (unsupported).
set +e; cat v1/disk.vmdk | "$VDCONVERT" convert --to raw - nope.raw 2>/dev/null; rc=$?; set -e
expect_eq "$rc" 4 "monolithicSparse from stdin refused"
echo "vmdk interop: all checks passed"
