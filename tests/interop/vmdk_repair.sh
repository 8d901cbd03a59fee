#!/usr/bin/env bash
# VMDK descriptor repair against real tools: qemu-img-made monolithicSparse, streamOptimized,
# monolithicFlat and twoGbMaxExtentFlat disks get VMware-, VirtualBox- and KIWI-style ddb lines
# (via `vdconvert descriptor extract/replace`, the dsfo/dsfi workflow). After `vdconvert repair`:
# the raw view's sha256 (qemu-img) is unchanged, `qemu-img compare` says equal, the file size is
# unchanged, every byte outside the descriptor area is unchanged, vmdkinfo reads the same CID,
# and the backup restores the original byte for byte. qemu's own error texts for the
# descriptor pitfalls are checked against the ones lint reports.
source "$(dirname "$0")/lib.sh"
need qemu-img vmdkinfo python3 sha256sum cmp

python3 - <<'PY'
import random
r = random.Random(11)
size = 8 * 1024 * 1024
b = bytearray(size)
for start, length in ((0, 1 << 20), (3 << 20, 65536 + 512), (6 << 20, 2 << 20)):
    b[start:start + length] = r.randbytes(length)
open("in.raw", "wb").write(b)
PY
RAW_SHA=$(sha in.raw)

raw_sha() { qemu-img convert -O raw "$1" "$1.check.raw" && sha "$1.check.raw" && rm -f "$1.check.raw"; }
cid_of() { vmdkinfo "$1" | sed -n 's/.*Content identifier:[[:space:]]*\(0x[0-9a-f]*\).*/\1/p' | head -1; }

# outside_equal A B OFFSET LENGTH: same size, same bytes outside [OFFSET, OFFSET+LENGTH).
outside_equal() {
  python3 - "$@" <<'PY' || fail "$1 vs $2: bytes outside the descriptor area differ"
import sys
a, b = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
off, n = int(sys.argv[3]), int(sys.argv[4])
assert len(a) == len(b), (len(a), len(b))
assert a[:off] == b[:off]
assert a[off + n:] == b[off + n:]
assert a[off:off + n] != b[off:off + n]
PY
  echo "ok: $2: only the descriptor area differs from $1"
}

# style_descriptor STYLE IN OUT: the descriptor as VMware / VirtualBox / KIWI would leave it.
style_descriptor() {
  python3 - "$@" <<'PY'
import sys
style, src, dst = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(src).read()
if style.startswith("vmware"):
    t = style[len("vmware"):]
    text = text.replace('ddb.toolsVersion = "2147483647"\n',
        'ddb.toolsInstallType = "%s"\nddb.toolsVersion = "10346"\n'
        'ddb.uuid = "60 00 C2 9c 1e 2d 3f 44-5a 6b 7c 8d 9e af b0 c1"\n'
        'ddb.longContentID = "1bd5e2bb1fe0dd5f1b8d0e6ffffffffe"\n' % t)
elif style == "virtualbox":
    text = text.replace('ddb.adapterType = "ide"\n', 'ddb.adapterType="ide"\n'
        'ddb.uuid.image="9f0c2a5e-6d1b-4c3a-8e7f-0a1b2c3d4e5f"\n'
        'ddb.uuid.parent="00000000-0000-0000-0000-000000000000"\n'
        'ddb.uuid.modification="00000000-0000-0000-0000-000000000000"\n'
        'ddb.uuid.parentmodification="00000000-0000-0000-0000-000000000000"\n')
elif style.startswith("kiwi"):
    text += 'ddb.toolsInstallType = "%s"\n' % style[len("kiwi"):]
open(dst, "w").write(text)
PY
}

n=0
for sub in monolithicSparse streamOptimized; do
  for style in vmware0 vmware1 virtualbox kiwi2 kiwi4; do
    n=$((n + 1))
    img="$sub-$style.vmdk"
    qemu-img convert -f raw -O vmdk -o subformat=$sub in.raw "$img"
    cid_before=$(cid_of "$img")
    "$VDCONVERT" descriptor extract "$img" "$img.txt"
    style_descriptor "$style" "$img.txt" "$img.styled.txt"
    "$VDCONVERT" descriptor replace --no-backup "$img" "$img.styled.txt"
    [ ! -e "$img.descriptor-backup" ] || fail "$img: --no-backup left a backup"
    "$VDCONVERT" descriptor show "$img" | cmp - "$img.styled.txt" || fail "$img: show after replace"
    expect_eq "$(raw_sha "$img")" "$RAW_SHA" "$img (styled): qemu-img raw view"
    cp "$img" "$img.orig"
    size_before=$(stat -c %s "$img")

    # Lint names MVMC's message with the value; exit 5.
    set +e; "$VDCONVERT" descriptor lint --for mvmc "$img" >"$img.lint"; rc=$?; set -e
    expect_eq "$rc" "5" "$img: lint exit code"
    case $style in
      vmware0) want='The entry 0 is not a supported disk database entry for the descriptor' ;;
      vmware1) want='The entry 1 is not a supported disk database entry for the descriptor' ;;
      virtualbox) want='The entry 00000000-0000-0000-0000-000000000000 is not a supported disk database entry for the descriptor' ;;
      kiwi2) want='The entry 2 is not a supported disk database entry for the descriptor' ;;
      kiwi4) want='The entry 4 is not a supported disk database entry for the descriptor' ;;
    esac
    grep -qF "$want" "$img.lint" || fail "$img: lint does not quote '$want'"

    # Dry run writes nothing.
    "$VDCONVERT" repair --for mvmc --dry-run "$img" >"$img.plan"
    cmp "$img" "$img.orig" || fail "$img: --dry-run changed the file"
    grep -qF "prevents: $want" "$img.plan" || fail "$img: plan does not name the prevented error"

    # --json: valid JSON (python3 -m json.tool) with the fields the text report has.
    set +e; "$VDCONVERT" descriptor lint --for mvmc --json "$img" >"$img.lint.json"; rc=$?; set -e
    expect_eq "$rc" "5" "$img: lint --json exit code"
    python3 -m json.tool "$img.lint.json" >/dev/null || fail "$img: lint --json is not JSON"
    python3 - "$img.lint.json" "$want" <<'PY' || fail "$img: lint --json fields"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["clean"] is False and d["errors"] >= 1 and d["area"]["embedded"] is True, d
assert d["area"]["offset"] == 512 and d["area"]["size"] == 10240, d["area"]
f = [x for x in d["findings"] if x["message"] == sys.argv[2]]
assert f and f[0]["rule"] == "mvmc-ddb-entry" and f[0]["consumers"] == ["MVMC"], d["findings"]
assert all(k in f[0] for k in ("line", "key", "value", "severity", "detail", "fixable")), f[0]
assert f[0]["line"] > 0 and f[0]["key"].startswith("ddb."), f[0]
PY
    set +e; "$VDCONVERT" repair --for mvmc --dry-run --json "$img" >"$img.plan.json"; rc=$?; set -e
    expect_eq "$rc" "0" "$img: repair --dry-run --json exit code"
    cmp "$img" "$img.orig" || fail "$img: --dry-run --json changed the file"
    python3 -m json.tool "$img.plan.json" >/dev/null || fail "$img: repair --json is not JSON"
    python3 - "$img.plan.json" "$want" <<'PY' || fail "$img: repair --json fields"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["mode"] == "dry-run" and d["written"] is False and d["backup"] == "", d
assert d["edit_count"] == len(d["edits"]) > 0 and d["errors_remaining"] == 0, d
for e in d["edits"]:
    for k in ("key", "value", "line", "reason", "consumers", "action", "before", "after"):
        assert k in e, (k, e)
    assert e["consumers"] == ["MVMC"] and e["action"] == "comment out", e
    assert e["after"] == "#" + e["before"], e
assert any(e.get("mvmc_message") == sys.argv[2] for e in d["edits"]), d["edits"]
PY
    echo "ok: $img: lint --json and repair --dry-run --json parse and carry the MVMC message"

    # In place.
    "$VDCONVERT" repair --for mvmc "$img" >"$img.repair"
    [ "$n" = 1 ] && { echo "---- before/after: $img"; cat "$img.repair"; echo "----"; }
    expect_eq "$(stat -c %s "$img")" "$size_before" "$img: file size unchanged"
    outside_equal "$img.orig" "$img" 512 10240
    expect_eq "$(raw_sha "$img")" "$RAW_SHA" "$img: raw sha256 unchanged"
    qemu-img compare -f raw -F vmdk in.raw "$img" >/dev/null || fail "$img: qemu-img compare"
    echo "ok: $img: qemu-img compare equal"
    expect_eq "$(cid_of "$img")" "$cid_before" "$img: CID unchanged (vmdkinfo)"
    "$VDCONVERT" descriptor lint --for mvmc "$img" >/dev/null || fail "$img: MVMC problems remain"
    if "$VDCONVERT" descriptor show "$img" | grep -q '^ddb\.\(toolsInstallType\|uuid\|longContentID\)'; then
      fail "$img: an unknown ddb line is still active"
    fi
    cmp "$img.descriptor-backup" <(head -c 10752 "$img.orig" | tail -c 10240) \
      || fail "$img: the backup is not the original area"

    # The backup restores the original, byte for byte.
    "$VDCONVERT" descriptor replace --no-backup "$img" "$img.descriptor-backup"
    cmp "$img" "$img.orig" || fail "$img: restoring the backup"
    echo "ok: $img: backup restores the original"

    # In place again with --json (once per subformat): what was written, where the backup went.
    if [ "$style" = vmware0 ]; then
      rm -f "$img.descriptor-backup"
      "$VDCONVERT" repair --for mvmc --json "$img" >"$img.repair.json"
      python3 - "$img.repair.json" "$img.descriptor-backup" <<'PY' || fail "$img: repair --json (in place)"
import json, os, sys
d = json.load(open(sys.argv[1]))
assert d["mode"] == "in-place" and d["written"] is True, d
assert d["backup"] == sys.argv[2] and os.path.getsize(d["backup"]) == 10240, d["backup"]
assert d["text_bytes_after"] == d["text_bytes_before"] + d["edit_count"], d
PY
      outside_equal "$img.orig" "$img" 512 10240
      echo "ok: $img: repair --json in place names the backup"
      "$VDCONVERT" descriptor replace --no-backup "$img" "$img.descriptor-backup"
      cmp "$img" "$img.orig" || fail "$img: restoring the backup (after --json)"
    fi


    # A repaired copy (--delete, all consumers): SRC untouched, copy differs only in the area.
    "$VDCONVERT" repair --for all --delete "$img" "$img.fixed.vmdk" >/dev/null
    cmp "$img" "$img.orig" || fail "$img: repair to DST changed SRC"
    outside_equal "$img.orig" "$img.fixed.vmdk" 512 10240
    qemu-img compare -f raw -F vmdk in.raw "$img.fixed.vmdk" >/dev/null || fail "$img copy: compare"
    rm -f "$img.descriptor-backup"
  done
done

# Builder-free hostile case: a descriptor that does not fit is refused, nothing written.
img=monolithicSparse-vmware0.vmdk
python3 -c 'import sys; sys.stdout.write(open(sys.argv[1]).read() + "#" * 11000 + "\n")' "$img.styled.txt" >big.txt
if "$VDCONVERT" descriptor replace "$img" big.txt 2>err.txt; then fail "oversized descriptor accepted"; fi
grep -q "descriptor area holds 10240" err.txt || fail "oversized: message: $(cat err.txt)"
cmp "$img" "$img.orig" || fail "oversized descriptor changed the file"
[ ! -e "$img.descriptor-backup" ] || fail "refused replace left a backup"
echo "ok: oversized descriptor refused"
printf 'version=1\nnot a descriptor line\n' >bad.txt
if "$VDCONVERT" descriptor replace "$img" bad.txt 2>err.txt; then fail "unparsable descriptor accepted"; fi
cmp "$img" "$img.orig" || fail "unparsable descriptor changed the file"
echo "ok: unparsable descriptor refused"
if "$VDCONVERT" descriptor show in.raw 2>err.txt; then fail "raw file accepted as a descriptor"; fi
echo "ok: raw file refused"

# Text descriptors: qemu's pitfalls, with qemu's own error texts.
for sub in monolithicFlat twoGbMaxExtentFlat; do
  d=$sub.vmdk
  qemu-img convert -f raw -O vmdk -o subformat=$sub in.raw "$d"
  cp "$d" "$d.qemu"
  python3 - "$d" <<'PY'
import sys, re
p = sys.argv[1]
t = open(p).read().rstrip("\0")   # qemu-img pads text descriptors with NULs to 512 bytes
t = t.replace('createType="', 'createType = "')                        # spaces around '='
t = re.sub(r'(CID=[0-9a-f]+\n)(parentCID=[0-9a-f]+\n)', r'\2\1', t)    # CID after parentCID
t = re.sub(r'(FLAT "[^"]+") 0\n', r'\1\n', t)                           # FLAT without offset
t += 'ddb.toolsInstallType = "1"\n'
open(p, "w").write(t)
PY
  set +e; qemu_err=$(qemu-img info "$d" 2>&1); set -e
  set +e; "$VDCONVERT" descriptor lint --for qemu "$d" >"$d.lint"; rc=$?; set -e
  expect_eq "$rc" "5" "$d: lint exit code"
  msg=$(sed -n "s/.*Unsupported image type '\(.*\)'.*/\1/p" <<<"$qemu_err" | head -1)
  grep -qF "error text: Unsupported image type '$msg'" "$d.lint" \
    || fail "$d: lint does not quote qemu's message ($qemu_err)"
  echo "ok: $d: lint quotes qemu's own error: Unsupported image type '$msg'"
  "$VDCONVERT" repair --for all "$d" >"$d.repair"
  cat "$d.repair"
  qemu-img info "$d" >/dev/null || fail "$d: qemu-img still refuses the repaired descriptor"
  qemu-img compare -f raw -F vmdk in.raw "$d" >/dev/null || fail "$d: qemu-img compare"
  echo "ok: $d: qemu-img opens the repaired descriptor and compares equal"
  expect_eq "$(raw_sha "$d")" "$RAW_SHA" "$d: raw sha256"
  # Same lines as qemu wrote them, except the ddb line now commented out.
  diff <(tr -d '\0' <"$d.qemu" | grep -v '^#' | sort) <(tr -d '\0' <"$d" | grep -v '^#' | sort) \
    || fail "$d: lines differ from qemu's"
  echo "ok: $d: repaired descriptor has qemu's original lines"
done
# Before/after on a real-looking image: a qemu-img streamOptimized disk whose descriptor is
# replaced by one as VMware Workstation writes it (encoding, toolsInstallType "4", longContentID,
# hardware version 19, lsilogic geometry) after VirtualBox has opened it once (ddb.uuid.image).
# The log shows lint before (MVMC's own message), the repair's edit report and lint after.
demo=workstation-stream.vmdk
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized in.raw "$demo"
"$VDCONVERT" descriptor extract "$demo" "$demo.qemu.txt"
cid=$(sed -n 's/^CID=\([0-9a-f]*\)$/\1/p' "$demo.qemu.txt")
extent=$(grep '^RW ' "$demo.qemu.txt")
[ -n "$cid" ] && [ -n "$extent" ] || fail "$demo: qemu's descriptor has no CID or extent line"
cat >"$demo.workstation.txt" <<EOF
# Disk DescriptorFile
version=1
encoding="UTF-8"
CID=$cid
parentCID=ffffffff
createType="streamOptimized"

# Extent description
$extent

# The Disk Data Base 
#DDB

ddb.adapterType = "lsilogic"
ddb.geometry.cylinders = "1"
ddb.geometry.heads = "255"
ddb.geometry.sectors = "63"
ddb.longContentID = "5c1e0f3a9b7d42e8a6f0c3d2${cid}"
ddb.toolsInstallType = "4"
ddb.toolsVersion = "12352"
ddb.uuid.image = "6c3f2b1a-8e4d-4f7a-9b0c-1d2e3f4a5b6c"
ddb.virtualHWVersion = "19"
EOF
"$VDCONVERT" descriptor replace --no-backup "$demo" "$demo.workstation.txt"
cp "$demo" "$demo.orig"
size_before=$(stat -c %s "$demo")
cid_before=$(cid_of "$demo")

echo "==== before: vdconvert descriptor lint --for mvmc $demo"
set +e; "$VDCONVERT" descriptor lint --for mvmc "$demo" >"$demo.before"; rc=$?; set -e
cat "$demo.before"
expect_eq "$rc" "5" "$demo: lint before exits 5"
for v in 4 "5c1e0f3a9b7d42e8a6f0c3d2${cid}" 6c3f2b1a-8e4d-4f7a-9b0c-1d2e3f4a5b6c; do
  grep -qF "error text: The entry $v is not a supported disk database entry for the descriptor" \
    "$demo.before" || fail "$demo: lint before does not quote MVMC's message for '$v'"
done
echo "ok: $demo: lint names MVMC's 'The entry 4 is not a supported disk database entry for the descriptor'"

echo "==== repair: vdconvert repair --for mvmc $demo"
"$VDCONVERT" repair --for mvmc "$demo" >"$demo.repair"
cat "$demo.repair"
grep -qF 'line 19: comment out ddb.toolsInstallType = "4" [mvmc-ddb-entry; MVMC]' "$demo.repair" \
  || fail "$demo: the report does not name the toolsInstallType edit"
grep -qF '    prevents: The entry 4 is not a supported disk database entry for the descriptor' \
  "$demo.repair" || fail "$demo: the report does not name the error it prevents"
expect_eq "$(grep -c '^line [0-9]*: comment out ddb\.' "$demo.repair")" "3" "$demo: lines commented out"
grep -qF "original descriptor saved to $demo.descriptor-backup" "$demo.repair" \
  || fail "$demo: the report does not name the backup"

echo "==== after: vdconvert descriptor lint --for mvmc $demo"
"$VDCONVERT" descriptor lint --for mvmc "$demo" >"$demo.after" || fail "$demo: lint after is not clean"
cat "$demo.after"
grep -qF "$demo: 0 problem(s), 0 error(s) for MVMC" "$demo.after" || fail "$demo: lint after"
echo "==== descriptor after repair"
"$VDCONVERT" descriptor show "$demo"
echo "===="
expect_eq "$(stat -c %s "$demo")" "$size_before" "$demo: file size unchanged"
outside_equal "$demo.orig" "$demo" 512 10240
expect_eq "$(raw_sha "$demo")" "$RAW_SHA" "$demo: raw sha256 unchanged"
qemu-img compare -f raw -F vmdk in.raw "$demo" >/dev/null || fail "$demo: qemu-img compare"
echo "ok: $demo: qemu-img compare equal"
expect_eq "$(cid_of "$demo")" "$cid_before" "$demo: CID unchanged (vmdkinfo)"

# VirtualBox problems on qemu-made images, fixed in place: the first line missing, an adapter
# line above the extents, a header entry appended after the ddb lines, a double-spaced extent.
for sub in monolithicSparse streamOptimized; do
  img="vbox-$sub.vmdk"
  qemu-img convert -f raw -O vmdk -o subformat=$sub in.raw "$img"
  "$VDCONVERT" descriptor extract "$img" "$img.qemu.txt"
  python3 - "$img.qemu.txt" "$img.styled.txt" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
assert t.startswith("# Disk DescriptorFile\n")
t = t[len("# Disk DescriptorFile\n"):]                                   # no first line
m = re.search(r'ddb\.adapterType = "[a-z]+"\n', t)
t = t.replace(m.group(0), "")
t = t.replace("\n# Extent description\n", "\n" + m.group(0) + "\n# Extent description\n")
t = re.sub(r'^RW (\d+) SPARSE', r'RW  \1  SPARSE', t, flags=re.M)       # double spaces
t += 'isNativeSnapshot="no"\n'                                          # header entry at the end
open(sys.argv[2], "w").write(t)
PY
  "$VDCONVERT" descriptor replace --no-backup "$img" "$img.styled.txt"
  expect_eq "$(raw_sha "$img")" "$RAW_SHA" "$img (styled): qemu-img raw view"
  cp "$img" "$img.orig"
  size_before=$(stat -c %s "$img")
  cid_before=$(printf '0x%08x' "0x$(sed -n 's/^CID=\([0-9a-f]*\)$/\1/p' "$img.styled.txt")")
  # libvmdk also wants the first line; it reads the disk again once repaired (cid_of below).
  if vmdkinfo "$img" >/dev/null 2>&1; then echo "note: vmdkinfo reads $img before repair"
  else echo "ok: $img: vmdkinfo (libvmdk) refuses it before repair as well"; fi
  set +e; "$VDCONVERT" descriptor lint --for virtualbox "$img" >"$img.lint"; rc=$?; set -e
  expect_eq "$rc" "5" "$img: VirtualBox lint exit code"
  for want in "VMDK: descriptor does not start as expected in '<file>'" \
              "VMDK: incorrect ordering of entries in descriptor in '<file>'" \
              "VMDK: parse error in extent description in '<file>'"; do
    grep -qF "error text: $want" "$img.lint" || fail "$img: lint does not name '$want'"
  done
  "$VDCONVERT" repair --for virtualbox "$img" >"$img.repair"
  [ "$sub" = monolithicSparse ] && { echo "---- VirtualBox repair: $img"; cat "$img.repair"; echo "----"; }
  expect_eq "$(grep -c '^line [0-9]*: move\|^new line: insert\|^line [0-9]*: rewrite' "$img.repair")" "4" \
    "$img: edits (first line, adapter line, header entry, extent)"
  "$VDCONVERT" descriptor lint --for virtualbox "$img" >/dev/null || fail "$img: VirtualBox problems remain"
  expect_eq "$(stat -c %s "$img")" "$size_before" "$img: file size unchanged"
  outside_equal "$img.orig" "$img" 512 10240
  expect_eq "$(raw_sha "$img")" "$RAW_SHA" "$img: raw sha256 unchanged"
  qemu-img compare -f raw -F vmdk in.raw "$img" >/dev/null || fail "$img: qemu-img compare"
  echo "ok: $img: qemu-img compare equal"
  expect_eq "$(cid_of "$img")" "$cid_before" "$img: CID unchanged (vmdkinfo)"
  # Every line is still there: qemu's lines plus the appended header entry (and the blank line
  # the styling added above the moved adapter line).
  diff <( (cat "$img.qemu.txt"; echo 'isNativeSnapshot="no"') | grep -v '^$' | sort) \
       <("$VDCONVERT" descriptor show "$img" | grep -v '^$' | sort) || fail "$img: lines lost or changed"
  echo "ok: $img: qemu's lines and the extra header entry, in VirtualBox's order"
done

# Room: a monolithicSparse disk whose descriptor area is two sectors (descriptorSize patched to
# 2; qemu and vmdkinfo still read it), nearly full with lines an earlier MVMC repair commented
# out. VirtualBox would add 237 bytes of ddb.uuid.* keys; repair drops commented-out lines.
img=room.vmdk
qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse in.raw "$img"
"$VDCONVERT" descriptor extract "$img" "$img.qemu.txt"
python3 - "$img" "$img.qemu.txt" "$img.styled.txt" "$img.full.txt" <<'PY'
import struct, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(28)
    off, size = struct.unpack("<QQ", f.read(16))
    assert (off, size) == (1, 20), (off, size)
    f.seek(36)
    f.write(struct.pack("<Q", 2))
t = open(sys.argv[2]).read()
styled, k = t, 0
while 1024 - len(styled) >= 237:   # commented-out lines of earlier repairs fill the area
    styled += ('#ddb.toolsInstallType = "%d"\n' % k if k % 2 else
               '#ddb.longContentID = "1bd5e2bb1fe0dd5f1b8d0e6f%07x"\n' % k)
    k += 1
assert 1024 - len(styled) < 237 <= 1024 - len(t), (len(t), len(styled))
open(sys.argv[3], "w").write(styled)
full = t + "# " + "x" * (1024 - len(t) - 150) + "\n"   # room that cannot be made
open(sys.argv[4], "w").write(full)
PY
"$VDCONVERT" descriptor replace --no-backup "$img" "$img.styled.txt"
vmdkinfo "$img" >/dev/null || fail "$img: vmdkinfo refuses the two-sector descriptor"
expect_eq "$(raw_sha "$img")" "$RAW_SHA" "$img (two-sector area): qemu-img raw view"
cp "$img" "$img.orig"
cid_before=$(cid_of "$img")
"$VDCONVERT" descriptor lint --for virtualbox "$img" >"$img.lint"
grep -qF '[vbox-room] warning' "$img.lint" || fail "$img: lint does not report the room"
"$VDCONVERT" repair --for virtualbox "$img" >"$img.repair"
echo "---- VirtualBox room repair: $img"; cat "$img.repair"; echo "----"
grep -c '^line [0-9]*: delete' "$img.repair" >/dev/null || fail "$img: nothing dropped"
"$VDCONVERT" descriptor lint --for virtualbox "$img" >"$img.after"
grep -qF "0 problem(s)" "$img.after" || fail "$img: room still short: $(cat "$img.after")"
free=$("$VDCONVERT" descriptor lint --json --for virtualbox "$img" | python3 -c 'import json,sys; print(json.load(sys.stdin)["area"]["free_bytes"])')
[ "$free" -ge 237 ] || fail "$img: only $free bytes free"
echo "ok: $img: $free of 1024 descriptor bytes free for VirtualBox's 237"
expect_eq "$(stat -c %s "$img")" "$(stat -c %s "$img.orig")" "$img: file size unchanged"
outside_equal "$img.orig" "$img" 512 1024
expect_eq "$(raw_sha "$img")" "$RAW_SHA" "$img: raw sha256 unchanged"
qemu-img compare -f raw -F vmdk in.raw "$img" >/dev/null || fail "$img: qemu-img compare"
expect_eq "$(cid_of "$img")" "$cid_before" "$img: CID unchanged (vmdkinfo)"
# Room that cannot be made: reported with the remedies, nothing written.
"$VDCONVERT" descriptor replace --no-backup "$img" "$img.full.txt"
cp "$img" "$img.full"
"$VDCONVERT" repair --for virtualbox "$img" >"$img.repair2"
cat "$img.repair2"
grep -qF 'remains: descriptor [vbox-room] warning' "$img.repair2" || fail "$img: room not reported"
grep -qF 'remedy:' "$img.repair2" || fail "$img: no remedy given"
cmp "$img" "$img.full" || fail "$img: a repair that cannot make room changed the file"
expect_eq "$(stat -c %s "$img.descriptor-backup")" "1024" "$img: the backup holds the whole area"
echo "ok: $img: room that cannot be made is reported with its remedy, file untouched"

# --add-uuids: VirtualBox's keys written now, within the area; content untouched.
img=vbox-streamOptimized.vmdk
cp "$img.orig" "$img"
"$VDCONVERT" repair --for virtualbox --add-uuids --no-backup "$img" >"$img.uuids"
"$VDCONVERT" descriptor show "$img" | grep -qE '^ddb\.uuid\.image="[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"$' \
  || fail "$img: no fresh ddb.uuid.image"
"$VDCONVERT" descriptor show "$img" | grep -qx 'ddb.uuid.parent="00000000-0000-0000-0000-000000000000"' \
  || fail "$img: ddb.uuid.parent"
outside_equal "$img.orig" "$img" 512 10240
qemu-img compare -f raw -F vmdk in.raw "$img" >/dev/null || fail "$img: qemu-img compare (uuids)"
if "$VDCONVERT" repair --for all --add-uuids "$img" 2>err.txt; then fail "--add-uuids with MVMC accepted"; fi
echo "ok: $img: --add-uuids writes VirtualBox's keys in place; refused together with MVMC"
echo "PASS: vmdk_repair"
